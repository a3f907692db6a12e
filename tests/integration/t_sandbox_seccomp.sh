# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # commands for the image's shell
# The RUN sandbox's seccomp filter (docker's default profile) and resource limits, tested as the
# attacks they stop: a key in the host root's keyring, new user namespaces, mounts, a memory hog,
# a fork bomb. sandbox_attack.c (built static here) makes the raw system calls.

# attack_context DIR: the busybox rootfs plus /bin/attack; the Dockerfile comes from stdin.
attack_context() {
    write_context "$1"
    command -v cc >/dev/null || fail "no C compiler for sandbox_attack.c"
    cc -static -O -o "$1/rootfs/bin/attack" "$INTEG_DIR/sandbox_attack.c" ||
        fail "cannot build sandbox_attack.c statically (libc6-dev)"
}

# add_host_key: a "user" key in root's user keyring (shared by every process of uid 0 that
# can call keyctl), removed when the case ends; sets KEY.
add_host_key() {
    command -v keyctl >/dev/null || fail "no keyctl (install keyutils)"
    KEY=$(keyctl add user "lade-test-$$" "host-secret-$$" @u) || skip "cannot add a key to root's keyring"
    # shellcheck disable=SC2064  # KEY is known now
    trap "keyctl unlink $KEY @u >/dev/null 2>&1" EXIT
    # The attack works on the host: without the filter it would work in RUN too.
    keyctl print "$KEY" | grep -q "host-secret-$$" || fail "the host cannot read its own key"
}

# limits_or_skip FLAGS...: skips when this host cannot give lade cgroup limits.
limits_or_skip() {
    assert_exit "!0" lade build "$@" "$WORK/no-such-context" # the limits are checked first
    if printf '%s' "$ERR" | grep -q "need cgroups"; then
        skip "no usable cgroups here: $ERR"
    fi
}

t_sandbox_seccomp_attacks_refused() {
    add_host_key
    attack_context "$WORK/ctx" <<EOF
FROM scratch
COPY rootfs/ /
RUN attack keyctl-read=$KEY add_key request_key unshare-user unshare-mount clone-newuser \
    clone-plain clone3 mount umount2 bpf perf_event_open kexec_load open_by_handle_at \
    init_module ptrace-init ptrace-child socket-alg; \
    grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; \
    unshare -U -r true && echo unshare-cmd: ok || echo unshare-cmd: refused; \
    mount -t tmpfs none /mnt && echo mount-cmd: ok || echo mount-cmd: refused
EOF
    run_ok lade build --progress plain --no-cache -t attacks:1 "$WORK/ctx"
    local out="$OUT$ERR" name
    assert_not_contains "$out" "host-secret-$$" "the host's key read from RUN"
    for name in keyctl-read add_key request_key unshare-user unshare-mount clone-newuser mount \
        umount2 bpf perf_event_open kexec_load open_by_handle_at init_module socket-alg; do
        assert_contains "$out" "$name: EPERM" "$name is refused with EPERM, as docker refuses it"
    done
    # clone3 fails with ENOSYS (docker's choice: C libraries fall back to clone, whose flags the
    # filter checks); a plain clone (fork) works.
    assert_contains "$out" "clone3: ENOSYS"
    assert_contains "$out" "clone-plain: ok"
    # ptrace is allowed by docker's profile (kernel >= 4.8); without CAP_SYS_PTRACE the kernel
    # still refuses pid 1 (lade's init, not dumpable) but allows the RUN's own child.
    assert_contains "$out" "ptrace-init: EPERM"
    assert_contains "$out" "ptrace-child: ok"
    assert_contains "$out" "Seccomp:	2"
    assert_contains "$out" "NoNewPrivs:	0" "docker does not set no_new_privs"
    assert_contains "$out" "unshare-cmd: refused"
    assert_contains "$out" "mount-cmd: refused"
}

t_sandbox_seccomp_insecure_unconfined() {
    add_host_key
    attack_context "$WORK/ctx" <<EOF
FROM scratch
COPY rootfs/ /
RUN --security=insecure attack keyctl-read=$KEY clone3; grep '^Seccomp:' /proc/self/status; \
    unshare -U -r true && echo unshare-cmd: ok
EOF
    assert_exit "!0" lade build --progress plain "$WORK/ctx"
    assert_contains "$ERR" "security.insecure"
    run_ok lade build --progress plain --allow security.insecure "$WORK/ctx"
    assert_contains "$OUT$ERR" "key content: host-secret-$$" "an insecure RUN has no filter"
    assert_contains "$OUT$ERR" "clone3: ok"
    assert_contains "$OUT$ERR" "Seccomp:	0"
    assert_contains "$OUT$ERR" "unshare-cmd: ok"
}

# Docker sets no no_new_privs: a setuid-root program still raises a USER's privileges in RUN,
# and a file capability (ping's cap_net_raw) still works for it.
t_sandbox_seccomp_setuid_works() {
    attack_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN cp /bin/attack /bin/attack-suid && chmod 4755 /bin/attack-suid && \
    cp /bin/attack /bin/attack-raw && attack setcap-net-raw=/bin/attack-raw
USER app
RUN attack euid raw-socket; attack-suid euid; attack-raw raw-socket | sed 's/^/file-cap /'
EOF
    run_ok lade build --progress plain "$WORK/ctx"
    assert_contains "$OUT$ERR" "setcap-net-raw: ok" "root may set a file capability (CAP_SETFCAP)"
    assert_contains "$OUT$ERR" "euid: 1000"
    assert_contains "$OUT$ERR" "euid: 0" "a setuid-root program runs as root for USER app"
    assert_contains "$OUT$ERR" "raw-socket: EPERM" "USER app has no CAP_NET_RAW of its own"
    assert_contains "$OUT$ERR" "file-cap raw-socket: ok" "cap_net_raw+ep works for USER app"
}

t_sandbox_memory_limit_kills() {
    limits_or_skip --memory 32m
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN echo small
RUN awk 'BEGIN { s = "x"; for (i = 0; i < 30; i++) s = s s; print length(s) }'
EOF
    assert_exit 4 lade build --progress plain --memory 32m "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:4" "the error names the step"
    assert_contains "$ERR" "memory limit" "the error says why the step died"
}

t_sandbox_pids_limit_bounds_fork_bomb() {
    limits_or_skip --pids-limit 32
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN (for i in $(seq 200); do sleep 60 & done) 2>/dev/null || echo "fork failed"; \
    set -- /proc/[0-9]*; echo "procs=$#"
EOF
    local start=$SECONDS n
    run_ok lade build --progress plain --pids-limit 32 "$WORK/ctx"
    n=$(printf '%s\n' "$OUT$ERR" | sed -n 's/.*procs=\([0-9]*\).*/\1/p')
    [ -n "$n" ] || fail "no process count in the output" "$(_tail "$OUT$ERR")"
    [ "$n" -le 32 ] || fail "$n processes in a RUN limited to 32"
    [ "$n" -ge 8 ] || fail "only $n processes: the loop did not run"
    assert_contains "$OUT$ERR" "fork failed"
    # The sleeps were killed with the step, not waited for.
    [ $((SECONDS - start)) -lt 50 ] || fail "the build waited for the step's background processes"
    # A step that fails at the limit says so.
    write_context "$WORK/ctx2" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN for i in $(seq 100); do sleep 60 & done
EOF
    assert_exit 4 lade build --progress plain --pids-limit 16 "$WORK/ctx2"
    assert_contains "$ERR" "limit of 16 processes and threads (--pids-limit"
}

# The default pids limit (4096) is in place while a step runs; the step's cgroup goes after it.
t_sandbox_cgroup_default_pids_and_cleanup() {
    limits_or_skip --pids-limit 4096
    start_run_build sleeper:1 3
    local k path max=""
    for k in $BUILD_KIDS; do
        path=$(sed -n 's/^[0-9]*:pids:\(.*\)$/\1/p; s/^0::\(.*\)$/\1/p' "/proc/$k/cgroup" 2>/dev/null | head -n1)
        case $path in */lade-*)
            max=$(cat "/sys/fs/cgroup/pids$path/pids.max" 2>/dev/null || cat "/sys/fs/cgroup$path/pids.max")
            break
            ;;
        esac
    done
    wait "$BUILD_PID" || fail "the build failed" "$(cat "$WORK/build.log")"
    assert_eq "4096" "$max" "pids.max of the RUN step's cgroup"
    if [ -d "/sys/fs/cgroup/pids$path" ] || [ -d "/sys/fs/cgroup$path" ]; then
        fail "the step's cgroup $path was not removed"
    fi
}

# No usable cgroups (an empty tmpfs over /sys/fs/cgroup in a private mount namespace): a build
# without limit flags runs; one with them is a usage error naming what is missing.
t_sandbox_cgroup_unavailable() {
    command -v unshare >/dev/null || fail "no unshare (util-linux)"
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN echo ran-without-cgroups
EOF
    local wrap=(unshare -m --propagation private sh -c 'mount -t tmpfs none /sys/fs/cgroup && exec "$@"' sh)
    run_ok "${wrap[@]}" "$LADE" --root "$ROOT" build --progress plain "$WORK/ctx"
    assert_contains "$OUT$ERR" "ran-without-cgroups"
    assert_exit 2 "${wrap[@]}" "$LADE" --root "$ROOT" build --memory 64m "$WORK/ctx"
    assert_contains "$ERR" "need cgroups"
    assert_exit 2 "${wrap[@]}" "$LADE" --root "$ROOT" build --cpus 1 "$WORK/ctx"
    # cgroup2 without the memory controller (on this project's hybrid test hosts, memory is a
    # v1 controller): the same.
    if grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null ||
        [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        say "cgroup2 has the memory controller here: its absence is not tested"
    else
        wrap=(unshare -m --propagation private sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' sh)
        run_ok "${wrap[@]}" "$LADE" --root "$ROOT" build --no-cache "$WORK/ctx"
        assert_exit 2 "${wrap[@]}" "$LADE" --root "$ROOT" build --memory 64m "$WORK/ctx"
        assert_contains "$ERR" "the memory controller cannot be enabled"
    fi
    assert_exit 2 lade build --memory 12x "$WORK/ctx"
    assert_contains "$ERR" "invalid size"
}

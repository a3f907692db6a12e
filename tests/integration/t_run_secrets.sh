# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # commands for the image's shell
# RUN --mount=type=secret and --mount=type=ssh with `lade build --secret` and `--ssh`
# (BuildKit's dockerfile2llb convert_secrets.go / convert_ssh.go, buildx's flags).

# secret_file NAME VALUE: $WORK/NAME holds VALUE without a newline; prints the path.
secret_file() {
    printf '%s' "$2" >"$WORK/$1"
    printf '%s' "$WORK/$1"
}

# sha_of TEXT: the sha256 of TEXT (no newline added), as sha256sum prints it for stdin.
sha_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

t_run_secrets_file_default_target() {
    local src
    src=$(secret_file tok.txt "s3cr3t-value")
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /sum && \
    stat -c '%a %u:%g' /run/secrets/tok > /stat && \
    grep " /run/secrets/tok " /proc/self/mountinfo | sed "s/.* - //" | cut -d" " -f1 > /fstype && \
    if touch /run/secrets/tok 2>/dev/null; then echo writable > /ro; fi
EOF
    run_ok lade build --progress plain --secret "id=tok,src=$src" -t sec:1 "$WORK/ctx"
    run_ok lade run --rm sec:1 cat /sum /stat
    assert_eq "$(sha_of "s3cr3t-value")
400 0:0" "$OUT" "the RUN read the secret at /run/secrets/tok, 0400 root:root"
    run_ok lade run --rm sec:1 cat /fstype
    assert_eq "tmpfs" "$OUT" "the secret file is on a tmpfs, never on the store's disk"
    run_ok lade run --rm sec:1 sh -c 'ls /ro /run 2>&1; exit 0'
    assert_not_contains "$OUT" "writable" "the secret file is read-only"
    assert_contains "$OUT" "/run: No such file" "the mount target (and /run made for it) left in the image"
    assert_no_mounts "$ROOT"
}

t_run_secrets_target_mode_owner_env() {
    local src
    src=$(secret_file tok.txt "v4lue")
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=secret,id=tok,target=/etc/app/token,mode=0440,uid=1000,gid=1000 \
    stat -c '%a %u:%g' /etc/app/token > /stat && cat /etc/app/token > /copy
RUN --mount=type=secret,id=tok,env=TOK sh -c 'echo "env=$TOK"; ls /run/secrets 2>&1; true' > /env-only
RUN --mount=type=secret,id=tok,env=TOK,target=/t sh -c 'echo "env=$TOK file=$(cat /t)"' > /both
RUN --mount=type=secret,source=tok cat /run/secrets/tok > /by-source
RUN --mount=type=secret,target=/tok cat /tok > /by-target
RUN --mount=type=tmpfs,target=/run/sub --mount=type=secret,id=tok --mount=type=tmpfs,target=/run \
    sh -c 'cat /run/secrets/tok; test -d /run/sub && echo " sub"' > /in-tmpfs
EOF
    run_ok lade build --progress plain --secret "id=tok,src=$src" -t sec:2 "$WORK/ctx"
    run_ok lade run --rm sec:2 cat /stat /copy
    assert_eq "440 1000:1000
v4lue" "$OUT" "target=, mode=, uid=, gid="
    run_ok lade run --rm sec:2 cat /env-only
    assert_contains "$OUT" "env=v4lue" "env= sets the variable"
    assert_contains "$OUT" "No such file" "env= alone mounts no file (BuildKit)"
    run_ok lade run --rm sec:2 cat /both /by-source /by-target
    assert_eq "env=v4lue file=v4lue
v4luev4lue" "$OUT" "env= with target=, source= as the id, the id from the target's name"
    run_ok lade run --rm sec:2 cat /in-tmpfs
    assert_eq "v4lue sub" "$OUT" "a secret under a tmpfs mount's target: mounts ordered by target"
    run_ok lade run --rm sec:2 env
    assert_not_contains "$OUT" "TOK=" "the variable is not in the image's Env"
}

t_run_secrets_from_env_and_cli_errors() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /got
EOF
    LADE_TEST_TOK=from-env run_ok lade build --secret id=tok,env=LADE_TEST_TOK -t sec:3 "$WORK/ctx"
    run_ok lade run --rm sec:3 cat /got
    assert_eq "from-env" "$OUT" "--secret id=tok,env=VAR"
    assert_exit 2 lade build --secret "id=tok,src=$WORK/missing" "$WORK/ctx"
    assert_contains "$ERR" "--secret id=tok: cannot read '$WORK/missing'"
    assert_exit 2 env -u LADE_TEST_UNSET "$LADE" --root "$ROOT" build --secret id=tok,env=LADE_TEST_UNSET "$WORK/ctx"
    assert_contains "$ERR" "LADE_TEST_UNSET is not set"
    assert_exit 2 lade build --secret src=/etc/hostname "$WORK/ctx"
    assert_contains "$ERR" "secret missing ID"
    assert_exit 2 lade build --secret id=tok,bogus=1 "$WORK/ctx"
    assert_contains "$ERR" "unexpected key 'bogus'"
}

t_run_secrets_required_and_optional() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=secret,id=absent,env=ABSENT sh -c 'ls /run/secrets 2>&1; echo "set=${ABSENT+yes} value=$ABSENT"' > /optional
RUN --mount=type=secret,id=needed,required=true cat /run/secrets/needed
EOF
    assert_exit 2 lade build --progress plain -t sec:4 "$WORK/ctx"
    assert_contains "$ERR" "secret needed: not found"
    assert_contains "$ERR" "--secret id=needed"
    # Not required and missing: no file; the variable is set, empty (BuildKit's exec op).
    sed -i '$d' "$WORK/ctx/Dockerfile"
    run_ok lade build --progress plain -t sec:4 "$WORK/ctx"
    run_ok lade run --rm sec:4 cat /optional
    assert_contains "$OUT" "No such file"
    assert_contains "$OUT" "set=yes value="
}

t_run_secrets_cache_key_sees_the_id_only() {
    local src
    src=$(secret_file tok.txt "first")
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=secret,id=tok,env=T sh -c 'echo "$T" > /seen'
EOF
    run_ok lade build --progress plain --secret "id=tok,src=$src" -t sec:5 "$WORK/ctx"
    secret_file tok.txt "second" >/dev/null
    run_ok lade build --progress plain --secret "id=tok,src=$src" -t sec:5 "$WORK/ctx"
    assert_match "$ERR" "#3 CACHED" "another value of the same secret id is a cache hit (DESIGN.md)"
    run_ok lade run --rm sec:5 cat /seen
    assert_eq "first" "$OUT"
    sed -i 's/id=tok,env=T/id=other,env=T/' "$WORK/ctx/Dockerfile"
    run_ok lade build --progress plain --secret "id=other,src=$src" -t sec:5 "$WORK/ctx"
    assert_not_contains "$ERR" "#3 CACHED" "another id is another key"
}

# Every file under the given paths, gzip blobs decompressed and tar archives opened (the OCI
# export holds gzip blobs), searched for the bytes of $1; prints "path" for each hit.
scan_for_bytes() {
    python3 - "$@" <<'EOF'
import gzip, io, os, sys, tarfile
needle = sys.argv[1].encode()
def check(name, data, depth=0):
    if needle in data:
        print(name)
    if depth > 3:
        return
    if data[:2] == b"\x1f\x8b":
        try:
            check(name + "!gunzip", gzip.decompress(data), depth + 1)
        except Exception:
            pass
    if len(data) > 512 and data[257:262] == b"ustar":
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as t:
                for m in t.getmembers():
                    if m.isfile():
                        check(name + "!" + m.name, t.extractfile(m).read(), depth + 1)
        except Exception:
            pass
for top in sys.argv[2:]:
    if os.path.isfile(top):
        with open(top, "rb") as fh:
            check(top, fh.read())
    for d, _, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as fh:
                    check(p, fh.read())
EOF
}

t_run_secrets_never_leak() {
    local value src hits
    value="lade-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    src=$(secret_file tok.txt "$value")
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
ARG A=1
RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /sum
RUN --mount=type=secret,id=tok,env=TOK,target=/etc/tok sh -c 'test -n "$TOK" && cp /etc/tok /tmp/x && rm /tmp/x && echo used'
RUN --mount=type=secret,id=tok,env=TOK sh -c 'test "$TOK" = "$(cat /proc/self/environ | tr "\0" "\n" | sed -n "s/^TOK=//p")" && echo env-ok'
EOF
    lade build --progress plain --secret "id=tok,src=$src" -t leak:1 \
        -o "type=oci,dest=$WORK/leak.tar" "$WORK/ctx" >"$WORK/build.out" 2>"$WORK/build.err" ||
        fail "build failed" "$(cat "$WORK/build.err")"
    # and once more from the cache, with the secret from the environment
    TOK_SRC="$value" lade build --progress plain --secret id=tok,env=TOK_SRC -t leak:1 "$WORK/ctx" \
        >>"$WORK/build.out" 2>>"$WORK/build.err" || fail "second build failed" "$(cat "$WORK/build.err")"
    assert_contains "$(cat "$WORK/build.err")" "used"
    assert_contains "$(cat "$WORK/build.err")" "env-ok"
    run_ok lade run --rm leak:1 cat /sum
    assert_eq "$(sha_of "$value")" "$OUT" "the RUN saw the secret"
    lade save leak:1 -o "$WORK/leak-docker.tar" >/dev/null 2>&1 || fail "lade save failed"
    [ -d "$ROOT/cache" ] || fail "no cache records to search in $ROOT/cache"
    [ -s "$WORK/leak.tar" ] || fail "no OCI export to search"
    # the scan finds what it looks for: the secret's source itself is a hit
    hits=$(scan_for_bytes "$value" "$WORK/tok.txt")
    assert_contains "$hits" "tok.txt" "the scan finds the secret in its source"
    hits=$(scan_for_bytes "$(sha_of "$value")" "$ROOT")
    [ -n "$hits" ] || fail "the scan finds nothing in the store, not even the /sum the RUN wrote"
    hits=$(scan_for_bytes "$value" "$ROOT" "$WORK/leak.tar" "$WORK/leak-docker.tar" \
        "$WORK/build.out" "$WORK/build.err" "$WORK/.assert_exit.out" "$WORK/.assert_exit.err")
    [ -z "$hits" ] || fail "the secret's bytes were found" "$hits"
    assert_no_mounts "$ROOT"
}

# ---- ssh ----

# make_tools_context DIR PROGRAM...: the busybox context plus host programs and the shared
# libraries they load (ldd), at their host paths, so a RUN can use OpenSSH's and git's.
make_tools_context() {
    local dir=$1 p lib
    shift
    make_busybox_context "$dir"
    for p in "$@"; do
        p=$(command -v "$p") || fail "$p is not installed (make deps installs openssh-client and git)"
        cp -L --parents "$p" "$dir/rootfs/"
        for lib in $(ldd "$p" | grep -o '/[^ ]*'); do
            cp -L --parents "$lib" "$dir/rootfs/"
        done
    done
}

# A key pair for the tests: $WORK/id (no passphrase) and its fingerprint in KEY_FP.
make_key() {
    ssh-keygen -q -t ed25519 -N '' -C lade-test -f "$WORK/id" || fail "ssh-keygen failed"
    KEY_FP=$(ssh-keygen -lf "$WORK/id.pub" | cut -d' ' -f2)
}

t_run_ssh_key_file() {
    make_key
    make_tools_context "$WORK/ctx" ssh-add
    cat >"$WORK/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=ssh sh -c 'ssh-add -l; echo "sock=$SSH_AUTH_SOCK"; stat -c "%a %u:%g" $SSH_AUTH_SOCK' > /default
RUN --mount=type=ssh,id=deploy,target=/agent.sock,mode=0660,uid=1000,gid=1000 \
    sh -c 'ssh-add -l; echo "sock=$SSH_AUTH_SOCK"; stat -c "%a %u:%g" /agent.sock; if ssh-add -D 2>/dev/null; then echo removed; fi' > /deploy
EOF
    run_ok lade build --progress plain --ssh "default=$WORK/id" --ssh "deploy=$WORK/id" -t ssh:1 "$WORK/ctx"
    run_ok lade run --rm ssh:1 cat /default
    assert_contains "$OUT" "$KEY_FP" "ssh-add -l lists the key in the RUN"
    assert_contains "$OUT" "sock=/run/buildkit/ssh_agent.0" "SSH_AUTH_SOCK at BuildKit's default target"
    assert_contains "$OUT" "600 0:0"
    run_ok lade run --rm ssh:1 cat /deploy
    assert_contains "$OUT" "$KEY_FP"
    assert_contains "$OUT" "sock=/agent.sock"
    assert_contains "$OUT" "660 1000:1000" "mode=, uid=, gid= on the socket"
    assert_not_contains "$OUT" "removed" "the agent is read-only inside (BuildKit's readOnlyAgent)"
    # the agent lade started is gone with the build
    if pgrep -f "ssh-agent -D -a .*/lade-ssh-" >/dev/null; then
        fail "an ssh-agent started by lade is still running" "$(pgrep -af ssh-agent)"
    fi
    assert_no_mounts "$ROOT"
}

t_run_ssh_default_agent_and_required() {
    make_key
    make_tools_context "$WORK/ctx" ssh-add
    cat >"$WORK/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=ssh,required=true ssh-add -l > /keys
EOF
    assert_exit 2 env -u SSH_AUTH_SOCK "$LADE" --root "$ROOT" build "$WORK/ctx"
    assert_contains "$ERR" 'no SSH key "default" forwarded'
    eval "$(ssh-agent -s -a "$WORK/agent.sock")" >/dev/null
    AGENT_PID=$SSH_AGENT_PID
    trap 'kill "$AGENT_PID" 2>/dev/null || true' EXIT
    ssh-add -q "$WORK/id" 2>/dev/null || fail "ssh-add failed"
    RC=0
    lade build --progress plain --ssh default -t ssh:2 "$WORK/ctx" >"$WORK/out" 2>&1 || RC=$?
    local keys_after
    keys_after=$(ssh-add -l 2>&1 || true)
    kill "$AGENT_PID"
    [ "$RC" -eq 0 ] || fail "build with --ssh default failed" "$(cat "$WORK/out")"
    run_ok lade run --rm ssh:2 cat /keys
    assert_contains "$OUT" "$KEY_FP" "the caller's agent (\$SSH_AUTH_SOCK) in the RUN"
    assert_contains "$keys_after" "$KEY_FP" "the caller's agent still has its key"
    # not required and not given: the RUN runs without it
    sed -i 's/,required=true//; s|ssh-add -l > /keys|sh -c "ssh-add -l; echo rc=\\$?" > /keys|' "$WORK/ctx/Dockerfile"
    SSH_AUTH_SOCK='' run_ok lade build --progress plain -t ssh:3 "$WORK/ctx"
    run_ok lade run --rm ssh:3 cat /keys
    assert_contains "$OUT" "rc=2" "no agent: ssh-add cannot connect"
}

# start_sshd: an sshd of the test on a free loopback port (in SSHD_PORT), with its own host key,
# accepting $WORK/id.pub for root; killed when the case ends.
start_sshd() {
    local sshd
    sshd=$(command -v sshd || echo /usr/sbin/sshd)
    [ -x "$sshd" ] || fail "sshd not installed (make deps installs openssh-server)"
    mkdir -p "$WORK/sshd" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$WORK/sshd/host_key"
    cp "$WORK/id.pub" "$WORK/sshd/authorized_keys"
    SSHD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$WORK/sshd/config" <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $WORK/sshd/host_key
AuthorizedKeysFile $WORK/sshd/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $WORK/sshd/pid
EOF
    "$sshd" -D -e -f "$WORK/sshd/config" 2>"$WORK/sshd/log" &
    SSHD_PID=$!
    trap 'kill "$SSHD_PID" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do
        if python3 -c "import socket; socket.create_connection(('127.0.0.1', $SSHD_PORT), 1)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    fail "sshd did not start" "$(cat "$WORK/sshd/log")"
}

t_run_ssh_git_clone() {
    make_key
    start_sshd
    git init -q --bare "$WORK/repo.git"
    git clone -q "$WORK/repo.git" "$WORK/checkout" 2>/dev/null
    echo "cloned over ssh" >"$WORK/checkout/README"
    git -C "$WORK/checkout" add README
    git -C "$WORK/checkout" -c user.name=t -c user.email=t@t.invalid commit -qm init
    git -C "$WORK/checkout" push -q origin HEAD
    make_tools_context "$WORK/ctx" git ssh
    cat >"$WORK/ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV GIT_SSH_COMMAND="ssh -p $SSHD_PORT -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
RUN --network=host --mount=type=ssh git clone -q root@127.0.0.1:$WORK/repo.git /src
EOF
    run_ok lade build --progress plain --ssh "default=$WORK/id" -t clone:1 "$WORK/ctx"
    run_ok lade run --rm clone:1 cat /src/README
    assert_eq "cloned over ssh" "$OUT" "git clone over ssh in a RUN"
    # without the key the server refuses
    assert_exit 4 lade build --progress plain --no-cache "$WORK/ctx"
}

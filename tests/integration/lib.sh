# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # single quotes inside double-quoted messages
# Helpers for lade's integration tests. Sourced by tests/integration/run (once per case, in the
# case's own bash process) and by tests/demo.sh; sourcing it only defines functions and variables.
#
# A case is a function `t_NAME` in a file tests/integration/t_*.sh. The runner calls it in a fresh
# bash with `set -euo pipefail`, inside a fresh work directory $WORK, with a fresh lade store
# $ROOT (not yet created) and a timeout. A case fails when it (or an assertion) exits non-zero,
# and is skipped when it calls `skip REASON`.
#
# Variables a case can use:
#   LADE   absolute path of the lade binary     TOP   the repository top
#   WORK   the case's temp directory (cwd)      ROOT  the case's store ($WORK/root)
#   OUT / ERR / RC   stdout, stderr and exit status of the last assert_exit / run_ok

INTEG_DIR=${INTEG_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
TOP=${TOP:-$(cd "$INTEG_DIR/../.." && pwd)}
BUSYBOX=${LADE_TEST_BUSYBOX:-/bin/busybox}
OCITOOL="$INTEG_DIR/ocitool.py"
# Applets linked in test images (as /bin/NAME -> busybox). Tree listings leave these links out.
BUSYBOX_APPLETS="sh ash echo cat ls id mkdir rmdir rm touch chmod chown stat find sort wc test [ true
false env hostname printf grep sed head tail uname ln cp mv pwd sleep tr cut expr basename dirname
readlink xargs seq awk date md5sum sha256sum du df ps kill mount umask whoami"

# ---- output and failure ----

# Prints a message on the case's log: fd $LOG_FD (the runner opens fd 3 on the log, so commands
# whose stderr an assertion captures do not capture these lines), else stderr.
say() { printf '%s\n' "$*" >&"${LOG_FD:-2}"; }

# The test file and line that called the assertion that failed.
_where() {
    local i
    for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
        case ${BASH_SOURCE[$i]} in
        */lib.sh) ;;
        *)
            printf '%s:%s' "${BASH_SOURCE[$i]##*/}" "${BASH_LINENO[$((i - 1))]}"
            return
            ;;
        esac
    done
    printf '%s:%s' "${BASH_SOURCE[1]##*/}" "${BASH_LINENO[0]}"
}

# fail MESSAGE [DETAIL...]: prints where and why, then ends the case.
fail() {
    local msg=$1
    shift
    {
        printf 'FAIL at %s: %s\n' "$(_where)" "$msg"
        local d
        for d in "$@"; do printf '%s\n' "$d" | sed 's/^/    /'; done
    } >&"${LOG_FD:-2}"
    exit 1
}

# skip REASON: ends the case as skipped; the runner counts it and prints REASON. For a missing
# kernel feature or privilege only: a missing tool the tests check against is a failure.
skip() {
    printf '%s\n' "$*" >"$WORK/.skipped"
    printf 'SKIP at %s: %s\n' "$(_where)" "$*" >&"${LOG_FD:-2}"
    exit 77
}

# Indents a text for a failure detail, keeping the last N (default 40) lines.
_tail() { printf '%s\n' "$1" | tail -n "${2:-40}"; }

# ---- running commands ----

# lade with the case's store. Logged on stderr so a failing case shows what ran.
lade() {
    say "+ lade $*"
    "$LADE" --root "$ROOT" "$@"
}

# assert_exit CODE CMD [ARG...]: runs CMD, keeps its stdout in OUT, stderr in ERR, status in RC, and
# fails unless the status is CODE. CODE "!0" accepts any non-zero status.
assert_exit() {
    local want=$1
    shift
    local o="$WORK/.assert_exit.out" e="$WORK/.assert_exit.err"
    RC=0
    "$@" >"$o" 2>"$e" || RC=$?
    OUT=$(cat "$o")
    ERR=$(cat "$e")
    local ok=0
    if [ "$want" = "!0" ]; then
        [ "$RC" -ne 0 ] && ok=1
    elif [ "$RC" -eq "$want" ]; then
        ok=1
    fi
    if [ "$ok" -eq 0 ]; then
        fail "exit status $RC, expected $want: $*" "stdout:" "$(_tail "$OUT")" "stderr:" "$(_tail "$ERR")"
    fi
}

# run_ok CMD [ARG...]: assert_exit 0.
run_ok() { assert_exit 0 "$@"; }

# ---- assertions ----

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
    [ "$1" = "$2" ] && return 0
    if [ "$(printf '%s\n' "$1" | wc -l)" -gt 1 ] || [ "$(printf '%s\n' "$2" | wc -l)" -gt 1 ]; then
        fail "${3:-values differ}" "--- expected / +++ actual:" \
            "$({ diff -u <(printf '%s\n' "$1") <(printf '%s\n' "$2") || true; } | tail -n +3)"
    fi
    fail "${3:-values differ}" "expected: '$1'" "actual:   '$2'"
}

# assert_ne UNEXPECTED ACTUAL [WHAT]
assert_ne() {
    [ "$1" != "$2" ] && return 0
    fail "${3:-values are equal}" "both: '$2'"
}

# assert_contains TEXT NEEDLE [WHAT]: NEEDLE is a fixed string.
assert_contains() {
    case $1 in *"$2"*) return 0 ;; esac
    fail "${3:-text does not contain '$2'}" "looked for: '$2'" "in:" "$(_tail "$1")"
}

# assert_not_contains TEXT NEEDLE [WHAT]
assert_not_contains() {
    case $1 in *"$2"*) fail "${3:-text contains '$2'}" "found: '$2'" "in:" "$(_tail "$1")" ;; esac
    return 0
}

# assert_match TEXT ERE [WHAT]: some line of TEXT matches the extended regular expression.
# Not "printf | grep -q": grep exits at the first match, printf gets SIGPIPE and, under
# pipefail, a match would read as a failure.
assert_match() {
    grep -Eq -- "$2" <<<"$1" && return 0
    fail "${3:-no line matches /$2/}" "pattern: /$2/" "in:" "$(_tail "$1")"
}

# assert_exists PATH / assert_not_exists PATH (a dangling symlink exists)
assert_exists() { [ -e "$1" ] || [ -L "$1" ] || fail "${2:-missing: $1}"; }
assert_not_exists() { { [ ! -e "$1" ] && [ ! -L "$1" ]; } || fail "${2:-should not exist: $1}" "$(ls -ld "$1")"; }

# assert_file_mode PATH OCTAL (e.g. 755, 1777; symlinks are not followed)
assert_file_mode() {
    local m
    m=$(stat -c %a -- "$1") || fail "cannot stat $1"
    [ "$m" = "${2#0}" ] || fail "${3:-mode of $1}" "expected: ${2#0}" "actual:   $m"
}

# assert_owner PATH UID:GID (numeric; symlinks are not followed)
assert_owner() {
    local o
    o=$(stat -c %u:%g -- "$1") || fail "cannot stat $1"
    [ "$o" = "$2" ] || fail "${3:-owner of $1}" "expected: $2" "actual:   $o"
}

# assert_file_content PATH TEXT: the file holds TEXT (plus the final newline $(cat) drops).
assert_file_content() {
    [ -f "$1" ] || fail "not a regular file: $1"
    assert_eq "$2" "$(cat -- "$1")" "content of ${1#"$WORK"/}"
}

# assert_same_file A B: byte-identical files.
assert_same_file() {
    cmp -s -- "$1" "$2" && return 0
    fail "${3:-files differ: $1 $2}" "$(cmp -- "$1" "$2" 2>&1)" \
        "sizes: $(stat -c %s -- "$1") $(stat -c %s -- "$2")"
}

# assert_digest TEXT: TEXT is sha256:<64 lowercase hex>.
assert_digest() {
    [[ $1 =~ ^sha256:[0-9a-f]{64}$ ]] || fail "${2:-not a sha256 digest}" "value: '$1'"
}

# ---- JSON and OCI (python3; tests/integration/ocitool.py) ----

# json_get FILE PYEXPR: prints the value of PYEXPR over the parsed file `j` (strings bare, the rest
# as JSON). FILE "-" reads stdin.
json_get() { python3 "$OCITOOL" json-get "$1" "$2"; }

# assert_json FILE PYEXPR [WHAT]: PYEXPR over the parsed file `j` is true.
assert_json() {
    local out rc=0
    out=$(python3 "$OCITOOL" json-assert "$1" "$2" 2>&1) || rc=$?
    [ "$rc" -eq 0 ] || fail "${3:-JSON check failed: $2}" "$out"
}

# assert_store_valid ROOT: the store's oci/ is a valid OCI layout and every blob referenced from
# index.json (manifests, configs, layers, nested indexes) exists with the right size and digest.
# A store that was never created (no ROOT/oci) passes.
assert_store_valid() {
    local out rc=0
    if [ ! -e "$1/oci" ]; then
        say "no store at $1 (nothing was written)"
        return 0
    fi
    out=$(python3 "$OCITOOL" check-layout "$1/oci" 2>&1) || rc=$?
    [ "$rc" -eq 0 ] || fail "store $1 is not valid" "$out"
    say "$out"
}

# assert_no_mounts DIR: nothing is mounted at or under DIR.
assert_no_mounts() {
    local m
    m=$(mounts_under "$1")
    [ -z "$m" ] || fail "mounts left under $1" "$m"
}

# store_refs ROOT: the tags in the store, one a line (none when there is no store).
store_refs() { if [ -e "$1/oci" ]; then python3 "$OCITOOL" refs "$1/oci"; fi; }

# store_digest ROOT NAME: the manifest digest the store's index.json gives for NAME (full name).
store_digest() { python3 "$OCITOOL" ref-digest "$1/oci" "$2"; }

# step_status PROGRESS TEXT: how the step whose title ends in TEXT ended: CACHED, DONE or ERROR
# (its "#N cache miss:" and output lines skipped).
step_status() {
    printf '%s\n' "$1" | awk -v t="] $2" '
        n == "" && index($0, t) > 0 && substr($0, length($0) - length(t) + 1) == t { n = $1; next }
        n != "" && $1 == n && ($2 == "CACHED" || $2 == "DONE" || $2 ~ /^ERROR/) { sub(/:$/, "", $2); print $2; exit }'
}

# ---- contexts ----

# make_busybox_context DIR: DIR/rootfs/ is a minimal root (static busybox with applet links,
# /etc/passwd and /etc/group with root and app (1000:1000), /tmp) for `COPY rootfs/ /` FROM scratch.
make_busybox_context() {
    local r="$1/rootfs" a
    [ -x "$BUSYBOX" ] || fail "no $BUSYBOX (install busybox-static)"
    if command -v python3 >/dev/null 2>&1; then
        python3 "$OCITOOL" elf-static "$BUSYBOX" || fail "$BUSYBOX must be static: install busybox-static"
    fi
    mkdir -p "$r/bin" "$r/etc" "$r/tmp"
    cp -- "$BUSYBOX" "$r/bin/busybox"
    for a in $BUSYBOX_APPLETS; do ln -sfn busybox "$r/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$r/etc/passwd"
    printf 'root:x:0:\napp:x:1000:\n' >"$r/etc/group"
    chmod 0755 "$r" "$r/bin" "$r/etc" "$r/bin/busybox"
    chmod 0644 "$r/etc/passwd" "$r/etc/group"
    chmod 1777 "$r/tmp"
}

# copy_context SRC DEST: copies a context from the repository, with modes normalised (0644, 0755
# for executables and directories) whatever the checkout's umask was, so COPY results are known.
copy_context() {
    mkdir -p "$2"
    cp -R -- "$1/." "$2/"
    chmod -R u=rwX,go=rX "$2"
}

# make_testdata_context NAME DEST: testdata/integration/NAME plus the busybox rootfs.
make_testdata_context() {
    copy_context "$TOP/testdata/integration/$1" "$2"
    make_busybox_context "$2"
}

# make_demo_context DEST: testdata/demo plus the busybox rootfs (what tests/demo.sh builds).
make_demo_context() {
    copy_context "$TOP/testdata/demo" "$1"
    make_busybox_context "$1"
}

# write_context DIR: the busybox rootfs plus a Dockerfile read from stdin.
write_context() {
    make_busybox_context "$1"
    cat >"$1/Dockerfile"
}

# tree_listing DIR: "PATH MODE UID:GID[ -> TARGET]" for everything under DIR, sorted, without the
# busybox applet links in bin/.
tree_listing() {
    (cd "$1" && find . -mindepth 1 ! \( -path './bin/*' -type l -lname busybox \) \
        \( -type l -printf '%P %M %U:%G -> %l\n' -o -printf '%P %M %U:%G\n' \) | LC_ALL=C sort)
}

# descendants PID: the pids of PID's children, grandchildren, ...
descendants() {
    local c
    for c in $(pgrep -P "$1" || true); do
        echo "$c"
        descendants "$c"
    done
}

# start_run_build TAG SECONDS: starts `lade build` of a Dockerfile whose RUN sleeps SECONDS in the
# background; sets BUILD_PID and, once the RUN runs, BUILD_KIDS (its sandbox processes).
start_run_build() {
    write_context "$WORK/ctx" <<EOF2
FROM scratch
COPY rootfs/ /
RUN sleep $2
EOF2
    "$LADE" --root "$ROOT" build -t "$1" "$WORK/ctx" >"$WORK/build.log" 2>&1 &
    BUILD_PID=$!
    local i
    for i in $(seq 300); do
        BUILD_KIDS=$(descendants "$BUILD_PID")
        grep -qx "sleep $2" <(for k in $BUILD_KIDS; do tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null | sed 's/ $//'; echo; done) &&
            return 0
        sleep 0.1
    done
    fail "the RUN never started" "$(cat "$WORK/build.log")"
}

# ---- images used by several files ----

# shellcheck disable=SC2034  # used by the t_*.sh files
MULTISTEP=docker.io/library/multistep:1

# build_multistep [BUILD FLAGS...]: builds testdata/integration/multistep (in $WORK/ctx) as
# multistep:1 into $ROOT.
build_multistep() {
    [ -d "$WORK/ctx" ] || make_testdata_context multistep "$WORK/ctx"
    run_ok lade build --progress plain -t multistep:1 "$@" "$WORK/ctx"
}

# The expected output of the multistep image's ENTRYPOINT + CMD.
multistep_output() { cat "$TOP/testdata/integration/multistep/expected-output"; }

# host_arch: the OCI architecture name of this machine.
host_arch() {
    case $(uname -m) in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    armv7l | armv6l) echo arm ;;
    i?86) echo 386 ;;
    *) uname -m ;;
    esac
}

# ---- podman, isolated per case ----

# podman with its own storage for the case (vfs: no mounts to leak). podman refuses a runroot
# path longer than 50 characters, so that one lives in a short directory under /tmp.
podman_() {
    if [ -z "${PODMAN_RUNROOT:-}" ]; then
        PODMAN_RUNROOT=$(mktemp -d /tmp/lade-pr.XXXXXX)
        register_cleanup "$PODMAN_RUNROOT"
    fi
    say "+ podman $*"
    podman --root "$WORK/podman/storage" --runroot "$PODMAN_RUNROOT" --tmpdir "$WORK/podman/tmp" \
        --storage-driver vfs --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}

# register_cleanup DIR: the runner removes DIR (unmounting what is left in it) after the case,
# even when the case timed out.
register_cleanup() { printf '%s\n' "$1" >>"$WORK/.cleanup"; }

# ---- mounts and cleanup (used by the runner) ----

# mounts_under DIR: mount points at or under DIR, deepest first.
mounts_under() {
    local d
    d=$(realpath -m -- "$1")
    awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
        awk '{ print length($0), $0 }' | sort -rn | cut -d' ' -f2-
}

# remove_tree DIR: unmounts whatever is left under DIR, then removes it (never crossing into
# another file system), with the directories registered in DIR/.cleanup.
remove_tree() {
    local m extra
    [ -e "$1" ] || return 0
    if [ -f "$1/.cleanup" ]; then
        while IFS= read -r extra; do
            case $extra in /?*) remove_tree "$extra" ;; esac
        done <"$1/.cleanup"
    fi
    while IFS= read -r m; do
        [ -n "$m" ] && umount -l -- "$m" 2>/dev/null
    done < <(mounts_under "$1")
    rm -rf --one-file-system -- "$1"
}

# ---- the runner's side of a case ----

# lib_run_case FILE NAME WORKDIR: the body of one case's bash process.
lib_run_case() {
    local file=$1 name=$2
    WORK=$3
    ROOT="$WORK/root"
    export WORK ROOT
    unset SOURCE_DATE_EPOCH LADE_ROOT
    exec 3>&2
    LOG_FD=3
    cd "$WORK"
    [ -x "$LADE" ] || fail "lade binary not found or not executable: $LADE (run make)"
    # shellcheck source=/dev/null
    source "$file"
    set -Eeuo pipefail
    trap '_on_err "$?" "$BASH_COMMAND" "${BASH_SOURCE[0]##*/}" "$LINENO"' ERR
    "$name"
}

# A command failed outside an assertion: say which, where (set -e then ends the case).
_on_err() {
    printf 'FAIL at %s:%s: command exited %s: %s\n' "$3" "$4" "$1" "$2" >&"${LOG_FD:-2}"
}

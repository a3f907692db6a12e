# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The context's content digests kept by file metadata (builder/digest_cache.c, issue 12 goal
# 8): a rebuild reads only the files whose metadata moved to hash COPY's sources; a change that
# keeps the size and mtime still misses (its ctime moved); a file changed less than a second
# before it was hashed, or a damaged record file, is never trusted.

# hashes_context N [big]: $WORK/ctx with d/f1..fN (and with big, d/f0 of 100 KiB, which COPY
# hashes on its worker threads) and a Dockerfile copying d, its files changed more than a
# second before the build (younger ones are not recorded: racily clean; a file's ctime cannot
# be set back, so this waits).
hashes_context() {
    mkdir -p "$WORK/ctx/d"
    local i
    for i in $(seq "$1"); do echo "$i" >"$WORK/ctx/d/f$i"; done
    [ "${2:-}" != big ] || head -c 102400 /dev/zero >"$WORK/ctx/d/f0"
    printf 'FROM scratch\nCOPY d /c/\n' >"$WORK/ctx/Dockerfile"
    sleep 1.2
}

# opened_context_files: how many of the context's files the last traced build opened.
opened_context_files() { grep -c 'openat([0-9]*, "f[0-9]*"' "$WORK/strace.txt" || true; }

# traced_build: builds with strace, leaving the status of the COPY in STATUS.
traced_build() {
    command -v strace >/dev/null || fail "strace is missing (make deps installs DEB_TEST)"
    run_ok strace -f -e trace=openat -o "$WORK/strace.txt" "$LADE" --root "$ROOT" build \
        --progress plain -t h:1 "$WORK/ctx"
    STATUS=$(step_status "$ERR" "COPY d /c/")
}

t_context_hashes_touched_file_is_the_only_one_read() {
    hashes_context 50 big
    run_ok lade build -q -t h:1 "$WORK/ctx"
    touch "$WORK/ctx/d/f7"
    traced_build
    assert_eq CACHED "$STATUS" "a touch keeps the content: the key is the same"
    assert_eq 1 "$(opened_context_files)" "only the touched file is read again"
}

t_context_hashes_same_size_and_mtime_still_misses() {
    hashes_context 20
    run_ok lade build -q -t h:1 "$WORK/ctx"
    local old
    old=$(stat -c %Y "$WORK/ctx/d/f12")
    echo 99 >"$WORK/ctx/d/f12" # same size as "12\n"
    touch -d "@$old" "$WORK/ctx/d/f12"
    traced_build
    assert_eq DONE "$STATUS" "the content changed: its ctime tells"
    assert_eq 99 "$(lade_file_in_image h:1 c/f12)"
}

t_context_hashes_fresh_files_are_read_again() {
    hashes_context 10
    touch "$WORK/ctx/d"/* # changed now: racily clean until a second has passed
    run_ok lade build -q -t h:1 "$WORK/ctx"
    traced_build
    assert_eq CACHED "$STATUS"
    assert_eq 10 "$(opened_context_files)" "files changed just before the first build are read"
}

t_context_hashes_damaged_record_file_is_ignored() {
    hashes_context 10
    run_ok lade build -q -t h:1 "$WORK/ctx"
    local f
    f=$(find "$ROOT/cache/.context" -type f)
    [ -n "$f" ] || fail "no record file under cache/.context"
    # a wrong digest in the first record, then the file cut short: neither is trusted
    python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.index(b"sha256:") + 10
b[i] = ord("0") if b[i] != ord("0") else ord("1")
open(p, "wb").write(bytes(b))
PY
    # trusted, the wrong digest would change the key: the COPY would run again
    traced_build
    assert_eq CACHED "$STATUS" "a damaged record must not give a digest"
    assert_eq 10 "$(opened_context_files)" "a damaged record file is not used"
    truncate -s 100 "$f"
    traced_build
    assert_eq CACHED "$STATUS"
    assert_eq 10 "$(opened_context_files)" "a record file cut short is not used"
}

# lade_file_in_image IMAGE PATH: the content of PATH in IMAGE's filesystem (-o local).
lade_file_in_image() {
    rm -rf "$WORK/out"
    printf 'FROM %s\n' "$1" >"$WORK/Dockerfile.out"
    "$LADE" --root "$ROOT" build -q -f "$WORK/Dockerfile.out" -o "type=local,dest=$WORK/out" \
        "$WORK" >/dev/null || fail "cannot export $1"
    cat "$WORK/out/$2"
}

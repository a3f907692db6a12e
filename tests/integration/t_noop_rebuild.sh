# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Fixed costs of a no-op rebuild (issue 12, goal 3), counted in system calls, not timed.

# index_writes LOG: how many times a traced lade renamed a file onto oci/index.json.
index_writes() { grep -c 'rename[a-z0-9]*(.*"index.json"' "$1"; }

t_noop_rebuild_does_not_rewrite_the_index() {
    command -v strace >/dev/null 2>&1 || skip "strace not installed"
    write_context "$WORK/ctx" <<'DF'
FROM scratch
COPY rootfs/ /
RUN echo one > /one
DF
    run_ok lade build -t noop:1 "$WORK/ctx"
    local before
    before=$(store_digest "$ROOT" docker.io/library/noop:1)
    # Every step cached, the tag already names this manifest: index.json is left alone.
    run_ok strace -f -qq -e trace=rename,renameat,renameat2,fsync,fdatasync -o "$WORK/noop.trace" \
        "$LADE" --root "$ROOT" build -t noop:1 "$WORK/ctx"
    assert_contains "$ERR" "CACHED" "the rebuild is cached"
    assert_eq 0 "$(index_writes "$WORK/noop.trace")" "a no-op rebuild renames nothing onto index.json"
    assert_eq 0 "$(grep -c 'fsync\|fdatasync' "$WORK/noop.trace")" "a no-op rebuild calls no fsync" \
        "$(cat "$WORK/noop.trace")"
    assert_eq "$before" "$(store_digest "$ROOT" docker.io/library/noop:1)" "the tag is unchanged"
    # A second name for the same manifest, and a tag that moves, are still written.
    run_ok strace -f -qq -e trace=rename,renameat,renameat2 -o "$WORK/tag2.trace" \
        "$LADE" --root "$ROOT" build -t noop:2 "$WORK/ctx"
    assert_eq 1 "$(index_writes "$WORK/tag2.trace")" "a new tag writes index.json once"
    assert_eq "$before" "$(store_digest "$ROOT" docker.io/library/noop:2)" "noop:2 names the image"
    echo 'RUN echo two > /two' >>"$WORK/ctx/Dockerfile"
    run_ok lade build -t noop:1 "$WORK/ctx"
    assert_ne "$before" "$(store_digest "$ROOT" docker.io/library/noop:1)" "the moved tag is written"
    assert_store_valid "$ROOT"
}

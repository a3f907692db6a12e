# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# --compression-level: the layer blob is compressed at that level (and is still the same tar),
# the default level is the level named, and the level is a cache input.

# top_blob NAME: the path of the image's last layer blob in the case's store.
top_blob() {
    local d
    d=$(python3 "$OCITOOL" manifest "$ROOT/oci" "$1" | json_get - 'j["layers"][-1]["digest"]')
    printf '%s\n' "$ROOT/oci/blobs/sha256/${d#sha256:}"
}

t_compression_level_changes_the_blob_not_the_tar() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY text /text
EOF2
    seq 1 200000 >"$WORK/ctx/text"
    run_ok lade build -t c:default "$WORK/ctx"
    run_ok lade build --progress plain --compression-level 1 -t c:1 "$WORK/ctx"
    assert_eq CACHED "$(step_status "$ERR" "COPY text /text")" "level 1 is the default: same key"
    assert_eq "$(store_digest "$ROOT" docker.io/library/c:default)" \
        "$(store_digest "$ROOT" docker.io/library/c:1)" "the default level is level 1"
    run_ok lade build --progress plain --compression-level 9 -t c:9 "$WORK/ctx"
    assert_eq DONE "$(step_status "$ERR" "COPY text /text")" "another level: another key"
    local b1 b9
    b1=$(top_blob docker.io/library/c:1)
    b9=$(top_blob docker.io/library/c:9)
    run_ok gzip -t "$b9"
    [ "$(stat -c %s "$b9")" -lt "$(stat -c %s "$b1")" ] ||
        fail "level 9 blob ($(stat -c %s "$b9") B) not smaller than level 1 ($(stat -c %s "$b1") B)"
    assert_eq "$(gzip -dc "$b1" | sha256sum)" "$(gzip -dc "$b9" | sha256sum)" "the tar inside"
    run_ok lade build --compression zstd --compression-level 19 -t c:z19 "$WORK/ctx"
    run_ok zstd -t -q "$(top_blob docker.io/library/c:z19)"
    assert_exit 2 lade build --compression-level 10 "$WORK/ctx"
    assert_contains "$ERR" "gzip takes 1 to 9"
    assert_exit 2 lade build --compression none --compression-level 1 "$WORK/ctx"
    assert_exit 2 lade build --compression-level x "$WORK/ctx"
}

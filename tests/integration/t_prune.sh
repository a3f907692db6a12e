# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# lade prune, lade system df, and rmi freeing blobs: what is removed, that it is what was said,
# and that nothing in use goes.

# build_two: a base image and two images on it, each with a 4 MB layer of its own.
build_two() {
    write_context "$WORK/ctx" <<'DF'
FROM scratch
COPY rootfs/ /
ARG N=1
RUN head -c 4000000 /dev/urandom > /big-$N
DF
    run_ok lade build -t big:1 "$WORK/ctx"
    run_ok lade build --build-arg N=2 -t big:2 "$WORK/ctx"
}

store_kb() { du -sk "$ROOT" | cut -f1; }

t_prune_rmi_frees_blobs_only_when_unused() {
    build_two
    run_ok lade prune --all
    local before after
    before=$(store_kb)
    run_ok lade rmi big:2
    assert_match "$OUT" "Deleted: [0-9]+ blobs" "rmi of the last reference frees its blobs"
    after=$(store_kb)
    [ $((before - after)) -ge 3500 ] || fail "rmi freed $((before - after)) kB, expected the 4 MB layer"
    run_ok lade run --rm big:1 ls /big-1
    assert_store_valid "$ROOT"
    # a tag that another name shares: nothing freed
    run_ok lade tag big:1 big:same
    run_ok lade rmi big:same
    assert_not_contains "$OUT" "Deleted:" "the image is still tagged big:1"
    run_ok lade run --rm big:1 ls /big-1
}

t_prune_all_frees_what_it_says() {
    build_two
    run_ok lade rmi big:2
    run_ok lade system df
    assert_match "$OUT" "Build cache records +[0-9]+" "system df lists the cache records"
    local before after reported
    before=$(store_kb)
    run_ok lade prune --all
    assert_match "$OUT" "Deleted build cache records: [1-9]" "the records go"
    assert_match "$OUT" "Total reclaimed space: " "a total"
    after=$(store_kb)
    # the second image's layer was kept by its cache record until now
    [ $((before - after)) -ge 3500 ] || fail "prune --all freed $((before - after)) kB" "$OUT"
    reported=$(sed -n 's/^Total reclaimed space: \([0-9.]*\)MB$/\1/p' <<<"$OUT")
    [ -n "$reported" ] || fail "no MB total reported" "$OUT"
    python3 -c "import sys; r=float(sys.argv[1])*1e6/1024; d=float(sys.argv[2]); sys.exit(0 if abs(r-d) <= 0.25*d + 64 else 1)" \
        "$reported" "$((before - after))" || fail "reported ${reported}MB, du says $((before - after)) kB"
    assert_store_valid "$ROOT"
    run_ok lade run --rm big:1 ls /big-1
    run_ok lade build --progress plain -t big:1 "$WORK/ctx"
    assert_not_contains "$ERR" "CACHED" "no cache record is left"
}

t_prune_filter_and_keep_storage() {
    build_two
    run_ok lade prune --filter until=1h
    assert_not_contains "$OUT" "Deleted build cache records" "records used just now stay"
    touch -d '3 days ago' "$ROOT"/cache/*
    run_ok lade prune --filter until=48h
    assert_match "$OUT" "Deleted build cache records: [1-9]" "records unused for 3 days go"
    build_two
    run_ok lade prune --keep-storage 10GB
    assert_not_contains "$OUT" "Deleted build cache records" "the store is under 10GB"
    run_ok lade rmi big:2
    run_ok lade prune --keep-storage 0
    assert_match "$OUT" "Deleted build cache records: [1-9]" "--keep-storage 0 takes every record"
    run_ok lade run --rm big:1 ls /big-1
    assert_store_valid "$ROOT"
}

# prune waits for a running build (its RUN is running), which then finishes with a valid image.
t_prune_waits_for_running_commands() {
    start_run_build slow:1 3
    run_ok lade prune --all
    assert_contains "$ERR" "waiting for the other lade commands" "prune says it waits"
    wait "$BUILD_PID" || fail "the build failed while prune waited" "$(cat "$WORK/build.log")"
    run_ok lade run --rm slow:1 true
    assert_store_valid "$ROOT"
}

t_prune_bad_options() {
    assert_exit 2 lade prune --filter label=x
    assert_contains "$ERR" "until=" "the filters supported are named"
    assert_exit 2 lade prune --filter until=soon
    assert_exit 2 lade prune --keep-storage lots
    assert_contains "$ERR" "--keep-storage" "the option is named"
    assert_exit 2 lade prune extra
    assert_exit 2 lade system frobnicate
}

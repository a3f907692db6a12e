# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Reproducibility (DESIGN.md "Layers: the reproducibility contract"): the same inputs give the
# same image, in another store, from another copy of the context with other mtimes.

t_demo_reproducible() {
    make_demo_context "$WORK/ctx1"
    make_demo_context "$WORK/ctx2"
    # Other mtimes and owners in the second copy: COPY without --chown must not carry either.
    find "$WORK/ctx2" -exec touch -h -d '2001-02-03 04:05:06' {} +
    chown -hR 1234:1234 "$WORK/ctx2"
    local r1="$WORK/root1" r2="$WORK/root2" i
    for i in 1 2; do
        local r="$WORK/root$i"
        say "+ lade --root $r build -t lade-demo:latest -o type=oci,dest=demo$i.tar --iidfile iid$i ctx$i"
        run_ok "$LADE" --root "$r" build --progress plain -t lade-demo:latest \
            -o "type=oci,dest=$WORK/demo$i.tar" --iidfile "$WORK/iid$i" "$WORK/ctx$i"
    done
    local iid1 iid2 d1 d2
    iid1=$(cat "$WORK/iid1")
    iid2=$(cat "$WORK/iid2")
    assert_digest "$iid1" "--iidfile"
    assert_eq "$iid1" "$iid2" "--iidfile of two builds into two empty stores"
    d1=$(store_digest "$r1" docker.io/library/lade-demo:latest)
    d2=$(store_digest "$r2" docker.io/library/lade-demo:latest)
    assert_digest "$d1" "manifest digest in store 1"
    assert_eq "$d1" "$d2" "manifest digests in the two stores"
    run_ok "$LADE" --root "$r1" inspect lade-demo:latest
    assert_json - "j['Digest'] == '$d1'" "lade inspect Digest" <<<"$OUT"
    assert_same_file "$WORK/demo1.tar" "$WORK/demo2.tar" "-o type=oci archives of the two builds"
    # The layers keep the contract: numeric ids, no atime/ctime, mtimes at the epoch (0).
    run_ok python3 "$OCITOOL" check-image "$r1/oci" docker.io/library/lade-demo:latest 0
    run_ok python3 "$OCITOOL" config "$r1/oci" docker.io/library/lade-demo:latest
    assert_json - 'j["created"] == "1970-01-01T00:00:00Z"' "created at the default epoch" <<<"$OUT"
    assert_store_valid "$r1"
    assert_store_valid "$r2"
}

t_demo_runs() {
    make_demo_context "$WORK/ctx"
    run_ok lade build -t lade-demo:latest "$WORK/ctx"
    run_ok lade run --rm lade-demo:latest
    assert_contains "$OUT" "hello from lade!"
    assert_contains "$OUT" "built FROM scratch on $(uname -m)"
    assert_match "$OUT" 'counted [0-9]+ files and directories and [0-9]+ programs in /bin'
    # And tests/demo.sh (make demo) prints the same, with its own store.
    LADE_ROOT="$WORK/demo-root" run_ok "$TOP/tests/demo.sh" "$LADE"
    assert_contains "$OUT" "hello from lade!"
    assert_exists "$WORK/demo-root/oci/index.json"
}

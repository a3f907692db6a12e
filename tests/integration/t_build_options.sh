# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Build flags: --build-arg, --target, -f, --iidfile, several -t, --no-cache; a long Dockerfile.

t_build_arg() {
    make_testdata_context args "$WORK/ctx"
    run_ok lade build -t args:default --iidfile "$WORK/iid.default" "$WORK/ctx"
    run_ok lade run --rm args:default
    assert_eq "greeting=default-greeting from_env=none unset=none" "$OUT" "ARG defaults"

    FROM_ENV=taken-from-env run_ok lade build -t args:given --iidfile "$WORK/iid.given" \
        --build-arg GREETING=hi-from-flag --build-arg FROM_ENV --build-arg BASE=scratch "$WORK/ctx"
    run_ok lade run --rm args:given
    assert_eq "greeting=hi-from-flag from_env=taken-from-env unset=none" "$OUT" \
        "--build-arg K=V, and K alone taking the value from the environment"
    run_ok lade inspect args:given
    assert_contains "$OUT" "SEEN=hi-from-flag" "ENV from an ARG"
    run_ok skopeo inspect "oci:$ROOT/oci:docker.io/library/args:given"
    assert_json - 'j["Labels"]["greeting"] == "hi-from-flag"' "LABEL from an ARG" <<<"$OUT"
    assert_json - 'not any(e.startswith(("GREETING=", "FROM_ENV=", "UNSET=")) for e in j["Env"])' \
        "build args are not in the image's Env" <<<"$OUT"

    local a b
    a=$(cat "$WORK/iid.default")
    b=$(cat "$WORK/iid.given")
    assert_digest "$a" "--iidfile"
    assert_digest "$b" "--iidfile"
    assert_ne "$a" "$b" "different build args give different images"
}

t_target_skips_unneeded_stage() {
    make_testdata_context stages "$WORK/ctx"
    run_ok lade build --progress plain --target wanted -t stages:wanted "$WORK/ctx"
    assert_not_contains "$OUT$ERR" "stage broken ran: 7" "--target wanted built stage broken"
    run_ok lade run --rm stages:wanted
    assert_eq "$(printf 'base\nwanted')" "$OUT" "the target stage's image"
    assert_exit "!0" lade build --target no-such-stage -t stages:x "$WORK/ctx"
    assert_contains "$ERR" "no-such-stage" "the error names the unknown target"
}

t_default_target_is_last_stage() {
    make_testdata_context stages "$WORK/ctx"
    # Without --target the last stage is built, and it fails: what --target wanted avoided.
    assert_exit 4 lade build --progress plain -t stages:last "$WORK/ctx"
    assert_contains "$OUT$ERR" "stage broken ran: 7"
    assert_contains "$ERR" "exit status 7"
    assert_store_valid "$ROOT"
    assert_not_contains "$(store_refs "$ROOT")" "stages:last" "a failed build tagged its image"
}

t_dockerfile_flag_and_unused_stage() {
    make_testdata_context stages "$WORK/ctx"
    # -f names a file that is not called Dockerfile, here outside the context directory too.
    mv "$WORK/ctx/other.Dockerfile" "$WORK/elsewhere.Dockerfile"
    run_ok lade build --progress plain -f "$WORK/elsewhere.Dockerfile" -t stages:other "$WORK/ctx"
    assert_not_contains "$OUT$ERR" "stage broken ran: 7" "an unused stage was built"
    run_ok lade run --rm stages:other
    assert_eq "$(printf 'base\nfinal\nbase')" "$OUT" "the last stage's image"
    # A relative -f is relative to the working directory, as with docker build.
    cp "$WORK/elsewhere.Dockerfile" "$WORK/rel.Dockerfile"
    run_ok lade build -f rel.Dockerfile -t stages:rel "$WORK/ctx"
    assert_eq "$(store_digest "$ROOT" docker.io/library/stages:other)" \
        "$(store_digest "$ROOT" docker.io/library/stages:rel)" "the same Dockerfile gives the same image"
}

t_no_cache_same_image() {
    make_testdata_context args "$WORK/ctx"
    run_ok lade build -t a:1 --iidfile "$WORK/iid1" "$WORK/ctx"
    run_ok lade build -t a:2 --iidfile "$WORK/iid2" "$WORK/ctx"
    run_ok lade build --no-cache -t a:3 --iidfile "$WORK/iid3" "$WORK/ctx"
    assert_digest "$(cat "$WORK/iid1")" "--iidfile"
    assert_eq "$(cat "$WORK/iid1")" "$(cat "$WORK/iid2")" "a cached rebuild"
    assert_eq "$(cat "$WORK/iid1")" "$(cat "$WORK/iid3")" "a --no-cache rebuild"
    assert_eq "$(store_digest "$ROOT" docker.io/library/a:1)" "$(store_digest "$ROOT" docker.io/library/a:3)" \
        "manifest digests of the cached and uncached builds"
    assert_store_valid "$ROOT"
}

# 20,000 ENV lines (issue 7, bug 7): 10,000 took minutes when every ENV rebuilt the whole Env.
t_many_env_lines() {
    mkdir -p "$WORK/ctx"
    {
        echo 'FROM scratch'
        seq 1 20000 | sed 's/.*/ENV V&=&/'
    } >"$WORK/ctx/Dockerfile"
    run_ok timeout 60 "$LADE" --root "$ROOT" build -t manyenv:1 "$WORK/ctx"
    run_ok skopeo inspect --config "oci:$ROOT/oci:docker.io/library/manyenv:1"
    assert_json - 'len(j["config"]["Env"]) == 20001 and j["config"]["Env"][-1] == "V20000=20000"' \
        "every ENV in the image's Env, in order" <<<"$OUT"
}

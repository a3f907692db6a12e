# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# lade diff A B (files added, removed and changed, with the fields; config fields) and
# lade build --verify (rebuild without the cache, name the first step and file that differ).

t_diff_names_files_and_fields() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN mkdir -p /d/e && echo 1 > /d/e/x && echo same > /same && echo a > /f
ARG V=1
ENV V=$V
EOF
    run_ok lade build -t d:1 "$WORK/ctx"
    cat >"$WORK/ctx/Dockerfile.2" <<'EOF'
FROM d:1
RUN rm -rf /d && mkdir /new && chmod 700 /tmp && echo bb > /f && chown 1000:1000 /same
EOF
    run_ok lade build -f "$WORK/ctx/Dockerfile.2" -t d:2 "$WORK/ctx"
    assert_exit 1 lade diff d:1 d:2
    assert_contains "$OUT" "D /d"
    assert_contains "$OUT" "D /d/e/x"
    assert_contains "$OUT" "A /new"
    assert_contains "$OUT" "C /tmp: mode 1777 -> 0700"
    assert_contains "$OUT" "C /f: content, size 2 -> 3"
    assert_contains "$OUT" "C /same: owner 0:0 -> 1000:1000"
    assert_not_contains "$OUT" "/bin/busybox"
    assert_contains "$OUT" 'config .history[4]: (absent) -> {'
    assert_eq "" "$ERR" "stderr of lade diff"

    run_ok lade build --build-arg V=2 -t d:3 "$WORK/ctx"
    assert_exit 1 lade diff d:1 d:3
    assert_eq 'config .config.Env[1]: "V=1" -> "V=2"' "$(grep Env <<<"$OUT")" "Env line"
    assert_not_contains "$OUT" "C /"

    run_ok lade diff d:1 d:1
    assert_match "$OUT" '^identical: sha256:[0-9a-f]{64}$'
    assert_exit 1 lade diff -q d:1 d:2
    assert_eq "" "$OUT" "lade diff -q prints nothing"
    assert_exit 2 lade diff d:1
    assert_exit 1 lade diff d:1 nosuch:image
}

t_diff_archive_is_not_tagged() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV A=1
EOF
    run_ok lade build -t arch:1 -o "type=docker,dest=$WORK/one.tar" "$WORK/ctx"
    sed -i 's/A=1/A=2/' "$WORK/ctx/Dockerfile"
    run_ok lade build -t arch:1 "$WORK/ctx"
    local before
    before=$(store_refs "$ROOT")
    assert_exit 1 lade diff "$WORK/one.tar" arch:1
    assert_contains "$OUT" 'config .config.Env[1]: "A=1" -> "A=2"'
    # the archive names arch:1 too: reading it must not move the store's tag
    assert_eq "$before" "$(store_refs "$ROOT")" "store tags after lade diff of an archive"
    assert_store_valid "$ROOT"
}

t_build_verify_names_the_step_and_file() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN echo fixed > /fixed
RUN cat /proc/sys/kernel/random/uuid > /stamp
ENV X=1
EOF
    assert_exit 1 lade build --verify -t v:1 "$WORK/ctx"
    assert_contains "$ERR" "not reproducible: RUN /bin/sh -c cat /proc/sys/kernel/random/uuid > /stamp: /stamp content differs"
    assert_not_contains "$(grep 'not reproducible' <<<"$ERR")" "/fixed"
    # the first build stands and the cache keeps its results, not the rebuild's
    local id
    id=$(lade inspect v:1 | json_get - 'j["Id"]')
    run_ok lade build --progress plain -t v:1 "$WORK/ctx"
    assert_eq CACHED "$(step_status "$ERR" "RUN cat /proc/sys/kernel/random/uuid > /stamp")" "the stamp step after --verify"
    assert_eq "$id" "$(lade inspect v:1 | json_get - 'j["Id"]')" "image ID after --verify"
    assert_store_valid "$ROOT"
}

t_build_verify_passes_on_the_demo() {
    make_demo_context "$WORK/ctx"
    run_ok lade build --verify -t lade-demo:latest "$WORK/ctx"
    assert_match "$OUT" '^reproducible: sha256:[0-9a-f]{64}$'
    assert_eq "$(store_digest "$ROOT" docker.io/library/lade-demo:latest)" "${OUT#reproducible: }" \
        "the digest --verify prints is the image's"
}

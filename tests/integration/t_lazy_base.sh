# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Lazy base extraction (builder/stage_lazy.c, issue 12 goal 6): a stage whose steps only add
# files (COPY, ADD, WORKDIR, metadata) builds without extracting its base's layers, and gives
# the image the extracting build gives (LADE_LAZY_BASE=0). Extractions are counted as the layer
# trees in the store: a base only loaded has none.

# lazy_base_image: base:1 (busybox, /app 0750 1000:1000, /usr/local/bin, /lib -> usr/lib, a
# file /srv/data/f) saved to $WORK/base.tar, then loaded alone into $ROOT: blobs, no trees.
lazy_base_image() {
    write_context "$WORK/base" <<'EOF_'
FROM scratch
COPY rootfs/ /
RUN mkdir -p /usr/local/bin /usr/lib /app /srv/data && ln -s usr/lib /lib && \
    echo old >/srv/data/f && chmod 0750 /app && chown 1000:1000 /app
EOF_
    "$LADE" --root "$WORK/base-root" build -q -t base:1 "$WORK/base" >/dev/null ||
        fail "cannot build the base image"
    "$LADE" --root "$WORK/base-root" save base:1 -o "$WORK/base.tar" || fail "cannot save base:1"
    run_ok lade load -i "$WORK/base.tar"
    assert_eq 0 "$(layer_trees "$ROOT")" "a loaded image has no layer tree"
    mkdir -p "$WORK/ctx/dir/sub"
    echo hello >"$WORK/ctx/a.txt"
    echo x >"$WORK/ctx/dir/sub/x"
}

# layer_trees ROOT: how many extracted layer trees the store holds.
layer_trees() { find "$1/layers" -mindepth 2 -maxdepth 2 -name diff 2>/dev/null | wc -l; }

# build_both ARGS...: builds $WORK/ctx as out:1 in $ROOT (lazy) and, with LADE_LAZY_BASE=0, in
# a second store loaded the same way; both digests must be the same. Sets LAZY_TREES and
# EAGER_TREES to the layer trees each store holds after.
build_both() {
    local eager="$WORK/eager-root" lazy_id eager_id
    run_ok lade build -q -t out:1 "$@" "$WORK/ctx"
    lazy_id=$OUT
    "$LADE" --root "$eager" load -i "$WORK/base.tar" >/dev/null || fail "cannot load base:1"
    eager_id=$(LADE_LAZY_BASE=0 "$LADE" --root "$eager" build -q -t out:1 "$@" "$WORK/ctx") ||
        fail "the extracting build failed"
    assert_eq "$eager_id" "$lazy_id" "the lazy build's image differs from the extracting build's"
    LAZY_TREES=$(layer_trees "$ROOT")
    EAGER_TREES=$(layer_trees "$eager")
}

t_lazy_base_copy_and_workdir_extract_nothing() {
    lazy_base_image
    cat >"$WORK/ctx/Dockerfile" <<'EOF_'
FROM base:1
WORKDIR /app
COPY a.txt .
COPY --chown=app:app dir /lib/d
WORKDIR /usr/local
COPY a.txt /usr/local/bin/
ADD dir/ /opt/new/
ENV A=1
LABEL l=v
USER app
WORKDIR /home/app
EXPOSE 80
CMD ["sh"]
EOF_
    # --source-date-epoch 1: the directories the steps wrote into get 1, those only copied up
    # keep the base's 0, so a wrong time shows in the digest
    build_both --source-date-epoch 1
    # the 7 layers of the steps (WORKDIR makes one too), none of the base's 2
    assert_eq 7 "$LAZY_TREES" "the base's layers were extracted"
    assert_eq 9 "$EAGER_TREES" "the extracting build should hold every layer tree"
    run_ok lade run --rm out:1 sh -c 'stat -c "%n %a %u:%g" /app /app/a.txt /usr/lib/d/sub/x; cat /opt/new/sub/x'
    assert_eq "/app 750 1000:1000
/app/a.txt 644 0:0
/usr/lib/d/sub/x 644 1000:1000
x" "$OUT"
}

t_lazy_base_write_over_base_file_extracts() {
    lazy_base_image
    cat >"$WORK/ctx/Dockerfile" <<'EOF_'
FROM base:1
COPY a.txt /x/
COPY a.txt /srv/data/f
EOF_
    build_both --source-date-epoch 1
    assert_eq 4 "$LAZY_TREES" "replacing a base file needs the base extracted"
    run_ok lade run --rm out:1 cat /srv/data/f
    assert_eq hello "$OUT"
}

t_lazy_base_run_extracts() {
    lazy_base_image
    cat >"$WORK/ctx/Dockerfile" <<'EOF_'
FROM base:1
COPY a.txt /app/
RUN cat /app/a.txt /srv/data/f >/out
EOF_
    build_both
    assert_eq 4 "$LAZY_TREES" "RUN reads the whole tree"
    run_ok lade run --rm out:1 cat /out
    assert_eq "hello
old" "$OUT"
}

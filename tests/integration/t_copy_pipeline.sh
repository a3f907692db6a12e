# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# COPY's files are copied and hashed on worker threads (builder/copy_files.c, common/taskpool.c):
# the layer, the image and the cache key must not depend on how many (LADE_COPY_THREADS), and
# the layer must hold exactly the context's tree.

# pipeline_context DIR: a tree with more files per directory than the pool's queue holds, nested
# directories, hard links inside and across directories, symlinks, empty and large files, odd
# modes; then a second COPY over the first (a new directory, a file replaced).
pipeline_context() {
    local c=$1 d i
    mkdir -p "$c/src/many" "$c/src/a/b/c" "$c/src/private" "$c/over/x" "$c/over/many"
    # 100 files big enough for the pool (builder/copy_files.c), 200 copied on the walk's thread
    for i in $(seq 1 100); do head -c $((65536 + i)) /dev/urandom >"$c/src/many/f$i"; done
    for i in $(seq 101 300); do printf 'file %s\n' "$i" >"$c/src/many/f$i"; done
    for d in a a/b a/b/c; do printf '%s\n' "$d" >"$c/src/$d/in-$(basename "$d")"; done
    head -c 3000000 /dev/urandom >"$c/src/a/big"
    : >"$c/src/a/empty"
    printf 'linked\n' >"$c/src/a/b/orig"
    ln "$c/src/a/b/orig" "$c/src/many/zz-link"
    ln "$c/src/a/b/orig" "$c/src/a/b/c/link2"
    ln -s ../a/big "$c/src/many/sym"
    printf '#!/bin/sh\n' >"$c/src/a/tool" && chmod 4755 "$c/src/a/tool"
    chmod 0700 "$c/src/private"
    printf 'secret\n' >"$c/src/private/k" && chmod 0600 "$c/src/private/k"
    printf 'new\n' >"$c/over/x/inside" # a directory the first COPY did not make
    mkdir -p "$c/over/empty"
    printf 'over\n' >"$c/over/many/f1" # replaces one of the 300
    printf 'FROM scratch\nCOPY src /t\nCOPY over /t\n' >"$c/Dockerfile"
    touch -d @1000000000 "$c/src" "$c/src/many" "$c/src/a"
}

t_copy_same_image_for_any_thread_count() {
    local c="$WORK/ctx" n first="" d
    pipeline_context "$c"
    for n in 0 1 2 5; do
        LADE_COPY_THREADS=$n run_ok "$LADE" --root "$WORK/store-$n" build --progress plain \
            -t pipe:1 "$c"
        d=$(store_digest "$WORK/store-$n" docker.io/library/pipe:1)
        [ -n "$first" ] || first=$d
        assert_eq "$first" "$d" "the image built with $n copy threads differs"
    done
}

t_copy_layer_holds_the_context_tree() {
    local c="$WORK/ctx" out="$WORK/out"
    pipeline_context "$c"
    run_ok lade build --progress plain -t pipe:1 "$c"
    run_ok lade save pipe:1 -o "$WORK/img.tar" --format oci
    mkdir -p "$WORK/img" "$out" && tar -xf "$WORK/img.tar" -C "$WORK/img"
    # every layer of the saved image, in order, extracted with python's tarfile
    python3 - "$WORK/img" "$out" <<'PY'
import json, os, sys, tarfile
lay, out = sys.argv[1], sys.argv[2]
blob = lambda d: os.path.join(lay, "blobs", "sha256", d.split(":")[1])
idx = json.load(open(os.path.join(lay, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
for l in man["layers"]:
    with tarfile.open(blob(l["digest"]), "r:*") as t:
        t.extractall(out, filter="fully_trusted")
PY
    # the expected tree: src, then over copied on top, as COPY does
    mkdir -p "$WORK/want" && cp -a "$c/src" "$WORK/want/t" && cp -a "$c/over/." "$WORK/want/t/"
    run_ok diff -r --no-dereference "$WORK/want/t" "$out/t"
    # names, modes, link counts (the three names of a/b/orig stay one inode), symlink targets
    assert_eq "$(cd "$WORK/want/t" && find . -printf '%P %m %n %l\n' | LC_ALL=C sort)" \
        "$(cd "$out/t" && find . -printf '%P %m %n %l\n' | LC_ALL=C sort)" "the layer's tree is the context's"
    assert_eq 3 "$(stat -c %h "$out/t/many/zz-link")" "hard links kept"
}

t_copy_cache_key_same_for_any_thread_count() {
    local c="$WORK/ctx"
    pipeline_context "$c"
    LADE_COPY_THREADS=0 run_ok lade build --progress plain -t pipe:1 "$c"
    LADE_COPY_THREADS=4 run_ok lade build --progress plain -t pipe:1 "$c"
    assert_eq CACHED "$(step_status "$ERR" "COPY src /t")" "hashed on 4 threads: the key of 0 threads"
    assert_eq CACHED "$(step_status "$ERR" "COPY over /t")" "second COPY cached too"
    printf 'changed\n' >"$c/src/many/f150"
    LADE_COPY_THREADS=4 run_ok lade build --progress plain -t pipe:1 "$c"
    assert_eq DONE "$(step_status "$ERR" "COPY src /t")" "one file of 300 changed: a miss"
}

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The COPY engine and the store's file handling: --chown forms, hardlinks, special files,
# staging left by a killed build, and the caller's umask.

t_build_chown_forms() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
RUN echo 'svc:x:2001:2002:svc:/:/bin/sh' >> /etc/passwd && echo 'svc:x:2002:' >> /etc/group && echo 'staff:x:50:' >> /etc/group
ARG UNSET
COPY --chown=svc f /byname
COPY --chown=${UNSET}:${UNSET} f /empty
COPY --chown=:staff f /groupalone
COPY --chown=2001 f /byid
COPY --chown=svc: f /nameandempty
CMD ["stat", "-c", "%n %u:%g", "/byname", "/empty", "/groupalone", "/byid", "/nameandempty"]
EOF2
    echo data >"$WORK/ctx/f"
    run_ok lade build -t chown:1 "$WORK/ctx"
    run_ok lade run --rm chown:1
    assert_eq "$(printf '%s\n' '/byname 2001:2002' '/empty 0:0' '/groupalone 0:50' '/byid 2001:2001' \
        '/nameandempty 2001:0')" "$OUT" "--chown as BuildKit resolves it"
}

# lade_timeout ARGS...: lade with the case's store, killed after 60 s, so a build that blocks
# on a special file fails instead of hanging the suite.
lade_timeout() {
    say "+ timeout 60 lade $*"
    timeout 60 "$LADE" --root "$ROOT" "$@"
}

# make_socket PATH: a Unix socket file at PATH (left behind when its process exits).
make_socket() {
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1"
}

t_build_fifo_and_socket_sources() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
COPY pipe /x
ADD pipe /y
COPY dir/ /d/
CMD ["stat", "-c", "%n %F", "/x", "/y", "/d/f", "/d/pipe"]
EOF2
    mkfifo "$WORK/ctx/pipe"
    mkdir "$WORK/ctx/dir"
    echo data >"$WORK/ctx/dir/f"
    mkfifo "$WORK/ctx/dir/pipe"
    make_socket "$WORK/ctx/dir/sock"
    make_socket "$WORK/ctx/sock"
    run_ok lade_timeout build -t fifo:1 "$WORK/ctx"
    run_ok lade run --rm fifo:1
    # FIFOs are made anew, as BuildKit's context transfer and copy do; sockets are skipped.
    assert_eq "$(printf '%s\n' '/x fifo' '/y fifo' '/d/f regular file' '/d/pipe fifo')" "$OUT" \
        "FIFOs copied as FIFOs"
    run_ok lade run --rm fifo:1 ls /d
    assert_eq "$(printf 'f\npipe')" "$OUT" "the socket inside the directory is skipped"

    # A socket named as the source is refused, naming it.
    printf 'FROM scratch\nCOPY sock /s\n' >"$WORK/ctx/Dockerfile"
    assert_exit 1 lade_timeout build "$WORK/ctx"
    assert_contains "$ERR" '"sock": it is a socket'
}

t_build_fifo_dockerignore() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
EOF2
    mkfifo "$WORK/ctx/.dockerignore"
    assert_exit 1 lade_timeout build "$WORK/ctx"
    assert_contains "$ERR" ".dockerignore' is not a regular file"
}

t_build_hardlinks_stay_hardlinks() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch AS src
COPY rootfs/ /
RUN mkdir /h && echo made > /h/one && ln /h/one /h/two

FROM scratch
COPY rootfs/ /
COPY dir /d
COPY --from=src /h /h
CMD ["stat", "-c", "%n %h", "/d/a/f", "/d/b/g", "/d/c", "/h/one", "/h/two"]
EOF2
    mkdir -p "$WORK/ctx/dir/a" "$WORK/ctx/dir/b"
    echo same >"$WORK/ctx/dir/a/f"
    ln "$WORK/ctx/dir/a/f" "$WORK/ctx/dir/b/g"
    echo same >"$WORK/ctx/dir/c"
    run_ok lade build --progress plain -t links:1 "$WORK/ctx"
    run_ok lade run --rm links:1
    assert_eq "$(printf '%s\n' '/d/a/f 2' '/d/b/g 2' '/d/c 1' '/h/one 2' '/h/two 2')" "$OUT" \
        "hard links inside the copied set stay hard links"
    run_ok lade run --rm links:1 sh -c 'test /d/a/f -ef /d/b/g && test /h/one -ef /h/two && echo same'
    assert_eq same "$OUT" "one inode each"

    # The layers hold one file and one hardlink entry to the first path in sort order.
    local m layers
    m=$(python3 "$OCITOOL" manifest "$ROOT/oci" docker.io/library/links:1)
    layers=$(json_get - '" ".join(l["digest"][7:] for l in j["layers"][-2:])' <<<"$m")
    set -- $layers
    assert_eq "$(printf '%s\n' 'drwxr-xr-x d/' 'drwxr-xr-x d/a/' '-rw-r--r-- d/a/f' 'drwxr-xr-x d/b/' \
        'hrw-r--r-- d/b/g link to d/a/f' '-rw-r--r-- d/c')" \
        "$(tar -tvzf "$ROOT/oci/blobs/sha256/$1" | awk '{ $2 = $3 = $4 = $5 = ""; print }' | tr -s ' ')" \
        "COPY from the context: one file, one hardlink entry"
    assert_eq "$(printf '%s\n' 'drwxr-xr-x h/' '-rw-r--r-- h/one' 'hrw-r--r-- h/two link to h/one')" \
        "$(tar -tvzf "$ROOT/oci/blobs/sha256/$2" | awk '{ $2 = $3 = $4 = $5 = ""; print }' | tr -s ' ')" \
        "COPY --from: one file, one hardlink entry"

    # The cache key holds the link structure: the same contents unlinked are another key.
    rm "$WORK/ctx/dir/b/g"
    cp -p "$WORK/ctx/dir/a/f" "$WORK/ctx/dir/b/g"
    run_ok lade build --progress plain -t links:2 "$WORK/ctx"
    assert_not_contains "$(grep -A1 'COPY dir /d' <<<"$ERR")" CACHED "breaking the link changes the key"
    run_ok lade run --rm links:2 stat -c '%h' /d/b/g
    assert_eq 1 "$OUT" "no link when the context has none"
}

t_build_killed_staging_is_swept() {
    start_run_build killed:1 30
    kill -9 "$BUILD_PID"
    wait "$BUILD_PID" 2>/dev/null || true
    # The sandbox dies with lade (PDEATHSIG); give the kernel a moment to reap it.
    local k i
    for k in $BUILD_KIDS; do
        for i in $(seq 100); do kill -0 "$k" 2>/dev/null || break; sleep 0.1; done
    done
    [ -n "$(ls -A "$ROOT/tmp")" ] || fail "the killed build left nothing in tmp/ (test is moot)"
    say "left in tmp/: $(ls -A "$ROOT/tmp" | tr '\n' ' ')"
    # A dead owner's mount left in the host's namespace (lade's own overlays live in a private
    # namespace that dies with it, but not every process mounts there) is unmounted first.
    mkdir -p "$ROOT/tmp/Dead01.dir-abcdef/merged"
    touch "$ROOT/tmp/owner-Dead01"
    mount -t tmpfs -o size=1m lade-test "$ROOT/tmp/Dead01.dir-abcdef/merged"
    echo keep >"$ROOT/tmp/Dead01.dir-abcdef/merged/f"
    run_ok lade images
    assert_eq "" "$(ls -A "$ROOT/tmp")" "the next command removes what the killed build left"
    assert_no_mounts "$ROOT"
}

t_build_sweep_spares_running_build() {
    start_run_build running:1 3
    run_ok lade images
    [ -n "$(ls -A "$ROOT/tmp")" ] || fail "a running build's staging was removed"
    assert_exit 0 wait "$BUILD_PID"
    assert_eq "" "$(ls -A "$ROOT/tmp")" "a finished build leaves tmp/ empty"
}

t_build_umask_changes_nothing() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
RUN mkdir -p /srv/made && echo hi > /srv/made/f
COPY rootfs/etc/passwd /srv/copied/
WORKDIR /srv/work
USER 1000
RUN ls / > /tmp/ls
EOF2
    (umask 022 && "$LADE" --root "$ROOT" build -t umask:022 "$WORK/ctx") >"$WORK/022.log" 2>&1 ||
        fail "build under umask 022 failed" "$(cat "$WORK/022.log")"
    (umask 077 && "$LADE" --root "$WORK/root077" build -t umask:077 "$WORK/ctx") >"$WORK/077.log" 2>&1 ||
        fail "build under umask 077 failed" "$(cat "$WORK/077.log")"
    assert_eq "$(store_digest "$ROOT" docker.io/library/umask:022)" \
        "$(store_digest "$WORK/root077" docker.io/library/umask:077)" "the caller's umask changes no digest"
}

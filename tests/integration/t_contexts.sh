# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Build contexts as docker build and buildx take them: the default Dockerfile names, -f - and the
# context - (a tar, plain or compressed, or a bare Dockerfile), git contexts (dumb HTTP and
# file://) with #ref:subdir, http(s) tarballs and Dockerfiles, and --build-context NAME=... for
# FROM and COPY --from. Servers: tests/integration/registry/httpserve.py on a loopback port.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# _files IMAGE: "INDEX TYPE PATH" of every layer entry of docker.io/library/IMAGE.
_files() {
    run_ok python3 "$OCITOOL" layer-entries "$ROOT/oci" "docker.io/library/$1"
    printf '%s\n' "$OUT" | tr '\t' ' '
}

t_context_default_dockerfile_names() {
    mkdir -p "$WORK/ctx"
    echo data >"$WORK/ctx/f"
    printf 'FROM scratch\nCOPY f /from-dockerfile-lower\n' >"$WORK/ctx/dockerfile"
    run_ok lade build -t names:1 "$WORK/ctx"
    assert_eq "0 file from-dockerfile-lower" "$(_files names:1)"
    printf 'FROM scratch\nCOPY f /from-containerfile\n' >"$WORK/ctx/Containerfile"
    run_ok lade build -t names:2 "$WORK/ctx"
    assert_eq "0 file from-containerfile" "$(_files names:2)" "Containerfile before dockerfile"
    printf 'FROM scratch\nCOPY f /from-dockerfile\n' >"$WORK/ctx/Dockerfile"
    run_ok lade build -t names:3 "$WORK/ctx"
    assert_eq "0 file from-dockerfile" "$(_files names:3)" "Dockerfile first"
    # errors still name the file that was read
    printf 'FROM scratch\nBOGUS\n' >"$WORK/ctx/Dockerfile"
    assert_exit 3 lade build "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:2:1"
    # an existing directory is a local context even when it reads as a git reference (docker)
    mkdir -p "$WORK/git@host.invalid:r.git"
    cp "$WORK/ctx/f" "$WORK/git@host.invalid:r.git/f"
    printf 'FROM scratch\nCOPY f /local\n' >"$WORK/git@host.invalid:r.git/Dockerfile"
    (cd "$WORK" && run_ok lade build -t names:4 "git@host.invalid:r.git")
    assert_eq "0 file local" "$(_files names:4)"
    rm "$WORK/ctx/Dockerfile" "$WORK/ctx/Containerfile" "$WORK/ctx/dockerfile"
    assert_exit 3 lade build "$WORK/ctx"
    assert_contains "$ERR" "cannot read Dockerfile"
}

t_context_stdin_dockerfile_and_tar() {
    mkdir -p "$WORK/ctx/sub"
    echo data >"$WORK/ctx/sub/f"
    printf 'FROM scratch\nCOPY sub/f /in-tar\n' >"$WORK/ctx/Dockerfile"
    # -f -: the Dockerfile from stdin, the context a directory
    run_ok lade build -f - -t stdin:1 "$WORK/ctx" <<<"$(printf 'FROM scratch\nCOPY sub/f /from-stdin\n')"
    assert_eq "0 file from-stdin" "$(_files stdin:1)"
    # the context -: a tar, gzip, zstd or plain
    tar -C "$WORK/ctx" -czf "$WORK/ctx.tgz" .
    tar -C "$WORK/ctx" -cf "$WORK/ctx.tar" .
    run_ok lade build -t stdin:2 - <"$WORK/ctx.tgz"
    assert_eq "0 file in-tar" "$(_files stdin:2)"
    run_ok lade build -t stdin:3 - <"$WORK/ctx.tar"
    assert_eq "0 file in-tar" "$(_files stdin:3)"
    local z
    for z in zstd bzip2 xz; do
        command -v $z >/dev/null || continue
        $z -c "$WORK/ctx.tar" >"$WORK/ctx.tar.$z"
        run_ok lade build -t stdin:$z - <"$WORK/ctx.tar.$z"
        assert_eq "0 file in-tar" "$(_files stdin:$z)" "a $z compressed context"
    done
    # -f names a file inside the tar
    printf 'FROM scratch\nCOPY sub/f /other\n' >"$WORK/ctx/Other.df"
    tar -C "$WORK/ctx" -cf "$WORK/ctx2.tar" .
    run_ok lade build -f Other.df -t stdin:5 - <"$WORK/ctx2.tar"
    assert_eq "0 file other" "$(_files stdin:5)"
    # not a tar: a bare Dockerfile with an empty context (docker build - < Dockerfile)
    run_ok lade build -t stdin:6 - <<<"$(printf 'FROM scratch\nLABEL a=b\n')"
    assert_exit 1 lade build - <"$WORK/ctx/Dockerfile"
    assert_contains "$ERR" "\"sub/f\": not found in the build context"
    assert_exit 2 lade build -f - - <"$WORK/ctx/Dockerfile"
    assert_contains "$ERR" "cannot read both the context and the Dockerfile from stdin"
    # what was unpacked is gone with the build
    assert_eq "" "$(find "$ROOT/tmp" -mindepth 1 -maxdepth 1 ! -name 'owner-*' 2>/dev/null)"
}

t_context_stdin_tar_is_confined() {
    python3 - "$WORK/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, data in (("Dockerfile", b"FROM scratch\nCOPY . /\n"), ("../escaped", b"x")):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
    assert_exit 1 lade build - <"$WORK/evil.tar"
    assert_contains "$ERR" "cannot unpack the context"
    assert_eq "" "$(find "$ROOT" -name escaped)" "nothing written outside the context"
}

t_context_git_and_http() {
    make_git_repo "$WORK"
    printf 'FROM scratch\nCOPY . /ctx/\n' >"$WORK/repo/sub/Dockerfile"
    git -C "$WORK/repo" add . && git -C "$WORK/repo" -c user.name=l -c user.email=l@t.invalid commit -qm df
    git -C "$WORK/repo" push -q "$WORK/srv/repo.git" main
    git -C "$WORK/srv/repo.git" update-server-info
    http_start "$WORK/srv"
    # git over dumb HTTP, the subdirectory as the context and its Dockerfile
    run_ok lade build -t gitctx:1 "http://$HTTP_HOST/repo.git#main:sub"
    assert_eq "$(printf '%s\n' '0 dir ctx' '0 file ctx/Dockerfile' '0 file ctx/b.txt')" "$(_files gitctx:1)"
    # file:// from the command line, a tag, -f inside the repository
    printf 'FROM scratch\nCOPY a.txt /a\n' >"$WORK/v1.df"
    assert_exit 3 lade build -f Dockerfile -t gitctx:2 "file://$WORK/srv/repo.git#v1"
    assert_contains "$ERR" "cannot read Dockerfile"
    run_ok lade build -f sub/Dockerfile -t gitctx:3 "file://$WORK/srv/repo.git#main"
    assert_contains "$(_files gitctx:3)" "0 file ctx/c.txt"
    assert_not_contains "$(_files gitctx:3)" ".git"
    # an http(s) tarball, and an http(s) Dockerfile (an empty context)
    mkdir -p "$WORK/tarctx"
    echo t >"$WORK/tarctx/t"
    printf 'FROM scratch\nCOPY t /t\n' >"$WORK/tarctx/Dockerfile"
    tar -C "$WORK/tarctx" -czf "$WORK/srv/ctx.tar.gz" .
    printf 'FROM scratch\nLABEL from=url\n' >"$WORK/srv/Dockerfile.remote"
    run_ok lade build -t httpctx:1 "http://$HTTP_HOST/ctx.tar.gz"
    assert_eq "0 file t" "$(_files httpctx:1)"
    run_ok lade build -t httpctx:2 "http://$HTTP_HOST/Dockerfile.remote"
    run_ok python3 "$OCITOOL" config "$ROOT/oci" docker.io/library/httpctx:2
    assert_contains "$OUT" '"from": "url"'
    assert_exit 5 lade build "http://$HTTP_HOST/nothere.tar.gz"
    assert_contains "$ERR" "404 Not Found"
    assert_exit 5 lade build "http://$HTTP_HOST/nothere.git"
}

t_build_context_named() {
    make_git_repo "$WORK"
    http_start "$WORK/srv"
    mkdir -p "$WORK/ctx" "$WORK/extra"
    echo extra >"$WORK/extra/x"
    echo secret >"$WORK/extra/ignored"
    echo ignored >"$WORK/extra/.dockerignore"
    echo base >"$WORK/ctx/f"
    printf 'FROM scratch\nCOPY f /f\n' >"$WORK/ctx/Dockerfile"
    run_ok lade build -t ncbase:1 "$WORK/ctx"
    cat >"$WORK/ctx/Dockerfile" <<'EOF'
FROM scratch AS replaced
COPY nothing-here /
FROM mybase
COPY --from=extra / /extra/
COPY --from=replaced /x /from-replaced
COPY --from=repo sub/b.txt /b
COPY --from=img /f /from-img
EOF
    run_ok lade build -t named:1 --build-context extra="$WORK/extra" \
        --build-context replaced="$WORK/extra" --build-context mybase="$WORK/extra" \
        --build-context "repo=http://$HTTP_HOST/repo.git#v1" \
        --build-context img=docker-image://ncbase:1 "$WORK/ctx"
    assert_eq "$(printf '%s\n' '0 file .dockerignore' '0 file x' '1 dir extra' \
        '1 file extra/.dockerignore' '1 file extra/x' '2 file from-replaced' '3 file b' \
        '4 file from-img')" "$(_files named:1)" \
        "FROM and --from use the contexts (a directory with its .dockerignore, git, an image); a stage of the name is replaced"
    run_ok python3 "$OCITOOL" layer-cat "$ROOT/oci" docker.io/library/named:1 from-img
    assert_eq base "$OUT"
    # a directory context is keyed on its content
    run_ok lade build --progress plain -t named:2 --build-context mybase="$WORK/extra" - <<<"FROM mybase"
    run_ok lade build --progress plain -t named:2 --build-context mybase="$WORK/extra" - <<<"FROM mybase"
    assert_contains "$ERR" "CACHED"
    echo changed >"$WORK/extra/x"
    run_ok lade build --progress plain -t named:2 --build-context mybase="$WORK/extra" - <<<"FROM mybase"
    assert_not_contains "$ERR" "CACHED"
    # errors
    assert_exit 2 lade build --build-context novalue "$WORK/ctx"
    assert_contains "$ERR" "--build-context must be NAME=VALUE"
    assert_exit 2 lade build --build-context "x=oci-layout://$WORK/l" "$WORK/ctx"
    assert_contains "$ERR" "not implemented yet"
    assert_exit 7 lade build --build-context "x=$WORK/nothere" "$WORK/ctx"
    assert_contains "$ERR" "cannot open directory"
}

t_build_context_run_mount_from() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=bind,from=extra,target=/mnt cat /mnt/x /mnt/sub/y >/out; ls /mnt >/list
RUN --mount=type=bind,from=img,source=/f,target=/f cp /f /from-img
EOF
    mkdir -p "$WORK/extra/sub" "$WORK/base"
    echo hidden >"$WORK/extra/secret"
    echo secret >"$WORK/extra/.dockerignore"
    echo ex >"$WORK/extra/x"
    echo why >"$WORK/extra/sub/y"
    echo base >"$WORK/base/f"
    printf 'FROM scratch\nCOPY f /f\n' >"$WORK/base/Dockerfile"
    run_ok lade build -t rmbase:1 "$WORK/base"
    run_ok lade build --progress plain -t rmount:1 --build-context extra="$WORK/extra" \
        --build-context img=docker-image://rmbase:1 "$WORK/ctx"
    run_ok python3 "$OCITOOL" layer-cat "$ROOT/oci" docker.io/library/rmount:1 out
    assert_eq "$(printf 'ex\nwhy')" "$OUT" "RUN --mount from= a directory context"
    run_ok python3 "$OCITOOL" layer-cat "$ROOT/oci" docker.io/library/rmount:1 list
    assert_not_contains "$OUT" "secret" "the context's .dockerignore applies"
    run_ok python3 "$OCITOOL" layer-cat "$ROOT/oci" docker.io/library/rmount:1 from-img
    assert_eq base "$OUT" "RUN --mount from= an image context"
    # the key follows the directory's content
    run_ok lade build --progress plain -t rmount:1 --build-context extra="$WORK/extra" \
        --build-context img=docker-image://rmbase:1 "$WORK/ctx"
    assert_eq 3 "$(printf '%s\n' "$ERR" | grep -c CACHED)"
    echo changed >"$WORK/extra/x"
    run_ok lade build --progress plain -t rmount:1 --build-context extra="$WORK/extra" \
        --build-context img=docker-image://rmbase:1 "$WORK/ctx"
    assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c CACHED)" "only COPY rootfs stays cached"
}

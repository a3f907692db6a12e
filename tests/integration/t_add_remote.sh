# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# ADD of remote sources, as BuildKit does it: http(s) URLs (file name, mode 0600, Last-Modified
# mtime, never extracted, --checksum, ETag revalidation on rebuild, exit 5 on a failing URL) and
# git repositories over dumb HTTP (#ref:subdir, --keep-git-dir, commit ids, keyed on the commit).
# Servers: tests/integration/registry/httpserve.py on a loopback port.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# An epoch above the files' times, so layer mtimes are not clamped to 0 and can be checked.
EPOCH=2000000000

_serve_files() {
    mkdir -p "$WORK/srv/d"
    echo "hello remote" >"$WORK/srv/hello.txt"
    touch -d '2021-03-04 05:06:07 UTC' "$WORK/srv/hello.txt" # 1614834367
    printf 'x' | gzip -n >"$WORK/srv/d/arch.tar.gz"
    http_start "$WORK/srv"
}

t_add_url_names_modes_and_mtimes() {
    _serve_files
    mkdir -p "$WORK/ctx"
    cat >"$WORK/ctx/Dockerfile" <<EOF
FROM scratch
ADD http://$HTTP_HOST/hello.txt /dl/
ADD http://$HTTP_HOST/hello.txt /renamed
ADD http://$HTTP_HOST/d/arch.tar.gz /x/
ADD http://$HTTP_HOST/redirect/hello.txt?v=1 /r/
ADD http://$HTTP_HOST/hello.txt http://$HTTP_HOST/d/arch.tar.gz /two/
ADD http://$HTTP_HOST/disposition/hello.txt /cd/
EOF
    run_ok lade build --source-date-epoch $EPOCH -t addurl:1 "$WORK/ctx"
    local layout="$ROOT/oci" img=docker.io/library/addurl:1
    run_ok python3 "$OCITOOL" layer-entries "$layout" $img
    assert_eq "$(printf '%s\n' '0	dir	dl' '0	file	dl/hello.txt' '1	file	renamed' '2	dir	x' \
        '2	file	x/arch.tar.gz' '3	dir	r' '3	file	r/hello.txt' '4	dir	two' \
        '4	file	two/arch.tar.gz' '4	file	two/hello.txt' '5	dir	cd' '5	file	cd/hello.txt')" "$OUT" \
        "the URL's last path element names the file (not Content-Disposition); no extraction"
    # the last layer holds the two files of one ADD
    run_ok lade build --source-date-epoch $EPOCH -t addurl:1b - <<<"$(printf 'FROM scratch\nADD http://%s/hello.txt http://%s/d/arch.tar.gz /two/\n' "$HTTP_HOST" "$HTTP_HOST")"
    run_ok python3 "$OCITOOL" top-layer "$layout" docker.io/library/addurl:1b
    assert_contains "$OUT" "two/hello.txt 600 0:0 1614834367 13" "mode 0600, 0:0, Last-Modified"
    run_ok python3 "$OCITOOL" layer-cat "$layout" $img renamed
    assert_eq "hello remote" "$OUT"
    # --unpack=true extracts a downloaded archive (BuildKit's AttemptUnpack)
    mkdir -p "$WORK/tarsrc" && echo inner >"$WORK/tarsrc/inner.txt"
    tar -C "$WORK/tarsrc" -czf "$WORK/srv/d/real.tar.gz" inner.txt
    printf 'FROM scratch\nADD --unpack=true http://%s/d/real.tar.gz /u/\nADD http://%s/d/real.tar.gz /k/\n' \
        "$HTTP_HOST" "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    run_ok lade build -t addurl:3 "$WORK/ctx"
    assert_eq "$(printf '%s\n' '0 dir u' '0 file u/inner.txt' '1 dir k' '1 file k/real.tar.gz')" \
        "$(python3 "$OCITOOL" layer-entries "$layout" docker.io/library/addurl:3 | tr '\t' ' ')"
    # --chmod/--chown apply to the download
    cat >"$WORK/ctx/Dockerfile" <<EOF
FROM scratch
ADD --chmod=644 --chown=7:8 http://$HTTP_HOST/hello.txt /c
EOF
    run_ok lade build --source-date-epoch $EPOCH -t addurl:2 "$WORK/ctx"
    run_ok python3 "$OCITOOL" top-layer "$layout" docker.io/library/addurl:2
    assert_eq "c 644 7:8 1614834367 13" "$OUT"
    # history as BuildKit writes it
    run_ok python3 "$OCITOOL" config "$layout" docker.io/library/addurl:2
    assert_contains "$OUT" "ADD --chown=7:8 --chmod=644 http://$HTTP_HOST/hello.txt /c # buildkit"
}

t_add_url_checksum() {
    _serve_files
    local sum bad before port
    sum=sha256:$(sha256sum "$WORK/srv/hello.txt" | cut -d' ' -f1)
    mkdir -p "$WORK/ctx"
    echo local >"$WORK/ctx/f"
    printf 'FROM scratch\nADD --checksum=%s http://%s/hello.txt /h\n' "$sum" "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    run_ok lade build -t sum:1 "$WORK/ctx"
    # a wrong checksum fails before any layer is written
    bad=sha256:0000000000000000000000000000000000000000000000000000000000000000
    printf 'FROM scratch\nADD --checksum=%s http://%s/hello.txt /h\n' "$bad" "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    before=$(find "$ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)
    assert_exit 1 lade build -t sum:2 "$WORK/ctx"
    assert_contains "$ERR" "digest mismatch for http://$HTTP_HOST/hello.txt: $sum (expected: $bad)"
    assert_contains "$ERR" "Dockerfile:2"
    assert_eq "$before" "$(find "$ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" "no layer from a mismatching download"
    # only for one remote source (BuildKit's errors)
    printf 'FROM scratch\nADD --checksum=%s f /f\n' "$sum" >"$WORK/ctx/Dockerfile"
    assert_exit 3 lade build "$WORK/ctx"
    assert_contains "$ERR" "checksum requires HTTP(S) or Git sources"
    printf 'FROM scratch\nADD --checksum=%s http://%s/hello.txt f /d/\n' "$sum" "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    assert_exit 3 lade build "$WORK/ctx"
    assert_contains "$ERR" "checksum can't be specified for multiple sources"
    # with the content in the store, a pinned checksum needs no server (BuildKit)
    port=${HTTP_HOST#*:}
    kill "$HTTP_PID"
    printf 'FROM scratch\nADD --checksum=%s http://127.0.0.1:%s/hello.txt /h2\n' "$sum" "$port" >"$WORK/ctx/Dockerfile"
    run_ok lade build --retries 0 -t sum:3 "$WORK/ctx"
}

t_add_url_revalidates_on_rebuild() {
    _serve_files
    mkdir -p "$WORK/ctx"
    echo after >"$WORK/ctx/after"
    printf 'FROM scratch\nADD http://%s/hello.txt /h\nCOPY after /after\n' "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    run_ok lade build --progress plain -t reval:1 "$WORK/ctx"
    assert_eq 1 "$(http_count '^GET /hello.txt 200$')"
    # unchanged: one revalidation (304), both steps cached
    run_ok lade build --progress plain -t reval:1 "$WORK/ctx"
    assert_eq 1 "$(http_count '^GET /hello.txt 304$')" "revalidated with If-None-Match"
    assert_eq 1 "$(http_count '^GET /hello.txt 200$')" "not downloaded again"
    assert_eq 2 "$(printf '%s\n' "$ERR" | grep -c CACHED)" "ADD and its child cached"
    # changed: downloaded, the ADD and its child run again
    echo "hello changed" >"$WORK/srv/hello.txt"
    run_ok lade build --progress plain -t reval:1 "$WORK/ctx"
    assert_eq 2 "$(http_count '^GET /hello.txt 200$')"
    assert_eq 0 "$(printf '%s\n' "$ERR" | grep -c CACHED)" "a changed remote file re-runs its step and children"
    run_ok python3 "$OCITOOL" layer-cat "$ROOT/oci" docker.io/library/reval:1 h
    assert_eq "hello changed" "$OUT"
}

t_add_url_failures_exit_5() {
    _serve_files
    local port
    mkdir -p "$WORK/ctx"
    printf 'FROM scratch\nADD http://%s/missing.txt /m\n' "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    assert_exit 5 lade build "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:2:1: GET http://$HTTP_HOST/missing.txt: 404 Not Found"
    # a refused connection, after the retries (none here)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf 'FROM scratch\nADD http://127.0.0.1:%s/x /x\n' "$port" >"$WORK/ctx/Dockerfile"
    assert_exit 5 lade build --retries 0 "$WORK/ctx"
    assert_contains "$ERR" "GET http://127.0.0.1:$port/x: connection refused"
    # COPY takes no URL (BuildKit)
    printf 'FROM scratch\nCOPY http://%s/hello.txt /h\n' "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    assert_exit 3 lade build "$WORK/ctx"
    assert_contains "$ERR" "source can't be a URL for COPY"
}

t_add_git_over_dumb_http() {
    make_git_repo "$WORK"
    http_start "$WORK/srv"
    mkdir -p "$WORK/ctx"
    local u="http://$HTTP_HOST/repo.git" entries
    cat >"$WORK/ctx/Dockerfile" <<EOF
FROM scratch
ADD $u /all
ADD $u#v1:sub /sub/
ADD --keep-git-dir=true $u#main /kept
ADD $u#$GIT_V1 /bycommit
EOF
    run_ok lade build --progress plain -t addgit:1 "$WORK/ctx"
    run_ok python3 "$OCITOOL" layer-entries "$ROOT/oci" docker.io/library/addgit:1
    entries=$OUT
    assert_eq "$(printf '%s\n' '0	dir	all' '0	file	all/a.txt' '0	file	all/c.txt' '0	dir	all/sub' \
        '0	file	all/sub/b.txt')" "$(printf '%s\n' "$entries" | grep '^0')" "the remote's HEAD, .git removed"
    assert_eq "$(printf '%s\n' '1	dir	sub' '1	file	sub/b.txt')" "$(printf '%s\n' "$entries" | grep '^1')" \
        "#v1:sub: the tag's subdirectory"
    assert_contains "$entries" "2	file	kept/.git/HEAD" "--keep-git-dir keeps .git"
    assert_contains "$entries" "2	file	kept/c.txt"
    assert_eq "$(printf '%s\n' '3	dir	bycommit' '3	file	bycommit/a.txt' '3	dir	bycommit/sub' \
        '3	file	bycommit/sub/b.txt')" "$(printf '%s\n' "$entries" | grep '^3')" "a commit id as the ref"
    printf 'FROM scratch\nADD %s#v1:sub /sub/\n' "$u" >"$WORK/ctx/Dockerfile"
    run_ok lade build -t addgit:2 "$WORK/ctx"
    run_ok python3 "$OCITOOL" top-layer "$ROOT/oci" docker.io/library/addgit:2
    assert_eq "$(printf '%s\n' 'sub 755 0:0 0 0' 'sub/b.txt 755 0:0 0 19')" "$OUT" "modes from git, 0:0"

    # a rebuild asks for the refs only; a new commit on the branch re-runs the step
    printf 'FROM scratch\nADD %s#main /m\n' "$u" >"$WORK/ctx/Dockerfile"
    run_ok lade build --progress plain -t addgit:3 "$WORK/ctx"
    : >"$HTTP_LOG"
    run_ok lade build --progress plain -t addgit:3 "$WORK/ctx"
    assert_contains "$ERR" "CACHED"
    assert_eq 0 "$(http_count '/objects/')" "a cached step fetches no objects"
    echo four >"$WORK/repo/d.txt"
    git -C "$WORK/repo" add . && git -C "$WORK/repo" -c user.name=l -c user.email=l@t.invalid commit -qm three
    git -C "$WORK/repo" push -q "$WORK/srv/repo.git" main
    git -C "$WORK/srv/repo.git" update-server-info
    run_ok lade build --progress plain -t addgit:3 "$WORK/ctx"
    assert_not_contains "$ERR" "CACHED" "the key follows the resolved commit"
    run_ok python3 "$OCITOOL" layer-cat "$ROOT/oci" docker.io/library/addgit:3 m/d.txt
    assert_eq four "$OUT"
}

t_add_git_failures() {
    make_git_repo "$WORK"
    http_start "$WORK/srv"
    mkdir -p "$WORK/ctx"
    printf 'FROM scratch\nADD http://%s/repo.git#nosuchref /x\n' "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    assert_exit 5 lade build "$WORK/ctx"
    assert_contains "$ERR" "has no ref \"nosuchref\""
    printf 'FROM scratch\nADD http://%s/gone.git /x\n' "$HTTP_HOST" >"$WORK/ctx/Dockerfile"
    assert_exit 5 lade build "$WORK/ctx"
    assert_contains "$ERR" "git repository http://$HTTP_HOST/gone.git"
    # a commit id the remote lacks fails at the checkout; only that step's staging goes
    mkdir -p "$ROOT/tmp"
    echo keep >"$ROOT/tmp/other-build-staging"
    printf 'FROM scratch\nADD http://%s/repo.git#%s /x\n' "$HTTP_HOST" \
        0123456789abcdef0123456789abcdef01234567 >"$WORK/ctx/Dockerfile"
    assert_exit 5 lade build "$WORK/ctx"
    assert_contains "$ERR" "commit 0123456789abcdef0123456789abcdef01234567"
    assert_exists "$ROOT/tmp/other-build-staging" "the store's tmp/ survives a failed checkout"
    # a Dockerfile cannot reach the host's repositories through file://
    printf 'FROM scratch\nADD file://%s/srv/repo.git /x\n' "$WORK" >"$WORK/ctx/Dockerfile"
    assert_exit 1 lade build "$WORK/ctx"
    assert_contains "$ERR" "not found in the build context"
}

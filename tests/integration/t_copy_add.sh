# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# COPY and ADD features (builder/step_copy.c, the engine in builder/copy.h): ADD of local
# archives, heredocs, --exclude, --parents, --link. Each builds a busybox image and checks the
# tree inside it (names, modes, owners, contents), or that a failure names the Dockerfile line.

# tree_in IMAGE PATH...: "path mode uid:gid" for each PATH (and everything below it), sorted.
tree_in() {
    local img=$1
    shift
    run_ok lade run --rm "$img" sh -c 'find "$@" | sort | xargs stat -c "%n %a %u:%g"' sh "$@"
    printf '%s\n' "$OUT"
}

# make_tar DIR NAME MODE: DIR/NAME, a tar (python3 tarfile mode "w", "w:gz", "w:bz2", "w:xz")
# holding d/ (0750, 1234:5678), d/f (0640, "f"), d/l -> f.
make_tar() {
    python3 - "$1/$2" "$3" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], sys.argv[2], format=tarfile.PAX_FORMAT) as t:
    for name, kind, mode, data, link in (("d", tarfile.DIRTYPE, 0o750, b"", ""),
                                         ("d/f", tarfile.REGTYPE, 0o640, b"f\n", ""),
                                         ("d/l", tarfile.SYMTYPE, 0o777, b"", "f")):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime, ti.linkname = kind, mode, 1234, 5678, 0, link
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data) if data else None)
PY
}

t_add_unpacks_local_archives() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
ADD plain.tar /plain
ADD gz.bin bz2 /multi/
ADD --chown=7:8 archive.tar.xz /owned/
ADD notatar.tar.gz /file/
COPY plain.tar /copied/
ADD --unpack=false plain.tar /kept/
EOF_
    make_tar "$WORK/ctx" plain.tar w
    make_tar "$WORK/ctx" gz.bin w:gz
    make_tar "$WORK/ctx" bz2 w:bz2
    make_tar "$WORK/ctx" archive.tar.xz w:xz
    echo text >"$WORK/ctx/notatar.tar.gz"
    run_ok lade build --progress plain -t addtar "$WORK/ctx"
    assert_eq "$(printf '%s\n' '/plain 755 0:0' '/plain/d 750 1234:5678' '/plain/d/f 640 1234:5678' \
        '/plain/d/l 777 1234:5678')" "$(tree_in addtar /plain)" "plain tar: owners and modes kept"
    assert_eq "$(printf '%s\n' '/multi 755 0:0' '/multi/d 750 1234:5678' '/multi/d/f 640 1234:5678' \
        '/multi/d/l 777 1234:5678')" "$(tree_in addtar /multi)" "gzip and bzip2, by content"
    assert_eq "$(printf '%s\n' '/owned 755 7:8' '/owned/d 750 7:8' '/owned/d/f 640 7:8' \
        '/owned/d/l 777 7:8')" "$(tree_in addtar /owned)" "--chown applies to what is unpacked"
    assert_eq "$(printf '%s\n' '/file 755 0:0' '/file/notatar.tar.gz 644 0:0')" \
        "$(tree_in addtar /file)" "a .gz that is not a tar is copied"
    run_ok lade run --rm addtar sh -c 'cat /plain/d/l /owned/d/f; tar tf /copied/plain.tar; ls /kept'
    assert_eq "$(printf '%s\n' f f d/ d/f d/l plain.tar)" "$OUT" "COPY never unpacks, nor ADD --unpack=false"
}

t_add_archive_escape_fails() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
ADD evil.tar /x/
EOF_
    python3 - "$WORK/ctx/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    ti = tarfile.TarInfo("a/../../../escaped")
    ti.size = 2
    t.addfile(ti, io.BytesIO(b"x\n"))
PY
    assert_exit 1 lade build --progress plain "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:3"
    assert_contains "$ERR" "refusing name with '..'"
}

t_copy_heredocs() {
    printf '%s\n' 'FROM scratch' 'COPY rootfs/ /' 'ARG NAME=world' \
        'COPY <<EOF /hello' 'hello $NAME' 'EOF' \
        'COPY <<"EOF" /quoted' 'hello $NAME \$x' 'EOF' \
        'COPY --chmod=750 --chown=5:6 <<a <<b /dir/' 'aa' 'a' 'bb' 'b' \
        'COPY <<-EOF /chomp' "$(printf '\t\ttabbed')" "$(printf '\tEOF')" \
        'ADD <<EOF /added' 'added' 'EOF' \
        'COPY f <<doc /mixed/' 'in doc' 'doc' | write_context "$WORK/ctx"
    echo file >"$WORK/ctx/f"
    run_ok lade build --progress plain -t heredoc "$WORK/ctx"
    assert_eq "$(printf '%s\n' '/added 644 0:0' '/chomp 644 0:0' '/dir 755 5:6' '/dir/a 750 5:6' \
        '/dir/b 750 5:6' '/hello 644 0:0' '/mixed 755 0:0' '/mixed/doc 644 0:0' '/mixed/f 644 0:0' \
        '/quoted 644 0:0')" \
        "$(tree_in heredoc /added /chomp /dir /hello /mixed /quoted)" "heredoc files: modes and owners"
    run_ok lade run --rm heredoc cat /hello /quoted /dir/a /dir/b /chomp /added /mixed/doc
    assert_eq "$(printf '%s\n' 'hello world' 'hello $NAME \$x' aa bb tabbed added 'in doc')" "$OUT" \
        "expanded unless quoted, <<- strips tabs"
    run_ok lade inspect heredoc
    assert_contains "$OUT" 'COPY f <<doc /mixed/ # buildkit'
    assert_contains "$OUT" 'COPY --chown=5:6 --chmod=750 <<a <<b /dir/ # buildkit'
}

t_copy_heredoc_as_destination_fails() {
    printf '%s\n' 'FROM scratch' 'COPY f <<EOF' 'x' 'EOF' | write_context "$WORK/ctx"
    echo file >"$WORK/ctx/f"
    assert_exit 3 lade build --progress plain "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:2"
    assert_contains "$ERR" "COPY cannot accept a heredoc as a destination"
}

t_copy_exclude() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
COPY --exclude=*.txt --exclude=sub/skip src/ /ex/
COPY --exclude=sub --exclude=!sub/keep src/ /neg/
COPY --exclude=*.txt src/a.txt /top/
COPY --exclude=*.md sr? /glob/
EOF_
    mkdir -p "$WORK/ctx/src/sub/skip"
    echo a >"$WORK/ctx/src/a.txt"
    echo b >"$WORK/ctx/src/b.md"
    echo x >"$WORK/ctx/src/sub/skip/x"
    echo k >"$WORK/ctx/src/sub/keep"
    run_ok lade build --progress plain -t exclude "$WORK/ctx"
    run_ok lade run --rm exclude sh -c 'cd / && find ex neg top glob | sort'
    assert_eq "$(printf '%s\n' ex ex/b.md ex/sub ex/sub/keep glob glob/a.txt glob/sub glob/sub/keep \
        glob/sub/skip glob/sub/skip/x neg neg/a.txt neg/b.md neg/sub neg/sub/keep top top/a.txt)" \
        "$OUT" "--exclude matches below each source; a source itself is never excluded"
    # Another pattern, another key: no stale hit.
    sed -i 's/--exclude=\*.md/--exclude=a.txt/' "$WORK/ctx/Dockerfile"
    run_ok lade build --progress plain -t exclude2 "$WORK/ctx"
    run_ok lade run --rm exclude2 sh -c 'cd / && find glob -type f | sort'
    assert_eq "$(printf '%s\n' glob/b.md glob/sub/keep glob/sub/skip/x)" "$OUT"
}

t_copy_parents() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
COPY --parents x/a/f.txt y/*/g.txt /p/
COPY --parents ./x/./a/f.txt /q/
COPY --parents --chown=3:4 y/b /r
COPY --parents ./**/*.txt /all/
EOF_
    mkdir -p "$WORK/ctx/x/a" "$WORK/ctx/y/b"
    echo f >"$WORK/ctx/x/a/f.txt"
    echo g >"$WORK/ctx/y/b/g.txt"
    chmod 700 "$WORK/ctx/x/a"
    chmod 750 "$WORK/ctx/y/b"
    run_ok lade build --progress plain -t parents "$WORK/ctx"
    assert_eq "$(printf '%s\n' '/p 755 0:0' '/p/x 755 0:0' '/p/x/a 700 0:0' '/p/x/a/f.txt 644 0:0' \
        '/p/y 755 0:0' '/p/y/b 750 0:0' '/p/y/b/g.txt 644 0:0' '/q 755 0:0' '/q/a 700 0:0' \
        '/q/a/f.txt 644 0:0' '/r 755 0:0' '/r/y 755 3:4' '/r/y/b 750 3:4' '/r/y/b/g.txt 644 3:4')" \
        "$(tree_in parents /p /q /r)" "--parents keeps the path (after /./), parents as in the source"
    run_ok lade run --rm parents sh -c 'cd / && find all -type f | sort'
    assert_eq "$(printf '%s\n' all/x/a/f.txt all/y/b/g.txt)" "$OUT" "** crosses directories"
}

t_copy_parents_missing_source_fails() {
    printf '%s\n' 'FROM scratch' 'COPY --parents x/./nope /p/' | write_context "$WORK/ctx"
    mkdir -p "$WORK/ctx/x"
    assert_exit 1 lade build --progress plain "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:2"
    assert_contains "$ERR" '"x/nope": not found'
}

t_copy_link() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
ARG B=1
RUN echo $B >/base && mkdir -m 700 /linked
COPY --link --chown=7:7 f /linked/f
COPY --link g /linked/g
EOF_
    echo f >"$WORK/ctx/f"
    echo g >"$WORK/ctx/g"
    run_ok lade build --progress plain --build-arg B=1 -t link:1 "$WORK/ctx"
    # Each --link layer has its own /linked (0755, owned as its --chown says); the last one's
    # hides the others and the base's 0700.
    assert_eq "$(printf '%s\n' '/linked 755 0:0' '/linked/f 644 7:7' '/linked/g 644 0:0')" \
        "$(tree_in link:1 /linked)" "parents made in the empty tree"
    # Another base below: the COPY --link layers are found again; what follows is rebuilt.
    run_ok lade build --progress plain --build-arg B=2 -t link:2 "$WORK/ctx"
    assert_eq "DONE" "$(step_status "$ERR" 'RUN echo $B >/base && mkdir -m 700 /linked')"
    assert_eq "CACHED" "$(step_status "$ERR" 'COPY --link --chown=7:7 f /linked/f')" \
        "--link: a new base keeps the layer"
    assert_eq "CACHED" "$(step_status "$ERR" 'COPY --link g /linked/g')"
    run_ok lade run --rm link:2 cat /base /linked/f
    assert_eq "$(printf '2\nf')" "$OUT"
    # The content still counts.
    echo changed >"$WORK/ctx/f"
    run_ok lade build --progress plain --build-arg B=2 -t link:3 "$WORK/ctx"
    assert_eq "DONE" "$(step_status "$ERR" 'COPY --link --chown=7:7 f /linked/f')"
}

# --link copies into an empty tree: no /etc/passwd to look a name up in (BuildKit: "invalid
# user index -1"); ids work.
t_copy_link_chown_name_fails() {
    printf '%s\n' 'FROM scratch' 'COPY rootfs/ /' 'COPY --link --chown=app f /f' | write_context "$WORK/ctx"
    echo f >"$WORK/ctx/f"
    assert_exit 1 lade build --progress plain "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:3"
    assert_contains "$ERR" "app"
}

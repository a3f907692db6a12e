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
    run_ok lade run --rm addtar sh -c 'cat /plain/d/l /owned/d/f; tar tf /copied/plain.tar'
    assert_eq "$(printf '%s\n' f f d/ d/f d/l)" "$OUT" "COPY never unpacks"
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

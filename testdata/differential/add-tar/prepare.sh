# The archives, with owners, modes, a symlink, a hard link and directories. python3's tarfile
# writes them: it can set owners and needs no bzip2 or xz programs on the machine.
python3 - <<'PY'
import io, tarfile

def entries(t):
    def add(name, kind, mode, data=b"", link=""):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, 1234, 5678, 0
        ti.linkname, ti.size = link, len(data)
        t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    add("dir", tarfile.DIRTYPE, 0o755)
    add("dir/file", tarfile.REGTYPE, 0o640, b"file\n")
    add("dir/hard", tarfile.LNKTYPE, 0o640, link="dir/file")
    add("dir/link", tarfile.SYMTYPE, 0o777, link="file")
    add("dir/sub", tarfile.DIRTYPE, 0o750)
    add("dir/sub/deep", tarfile.REGTYPE, 0o644, b"sub\n")

for name, mode in (("plain.tar", "w"), ("archive.tar.gz", "w:gz"), ("archive.tar.bz2", "w:bz2"),
                   ("archive.tar.xz", "w:xz"), ("misnamed.txt", "w:gz")):
    with tarfile.open(name, mode, format=tarfile.PAX_FORMAT) as t:
        entries(t)
with open("not-a-tar.tar.gz", "w") as f:
    f.write("just text\n")
PY

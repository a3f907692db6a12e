# update.tar: dir/file (replacing the image's) and a new dir/new/added. python3 writes it.
python3 - <<'PY'
import io, tarfile
with tarfile.open("update.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in (("dir", None), ("dir/file", b"new\n"), ("dir/new", None), ("dir/new/added", b"added\n")):
        ti = tarfile.TarInfo(name)
        ti.mtime = 0
        if data is None:
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            t.addfile(ti)
        else:
            ti.mode, ti.size = 0o644, len(data)
            t.addfile(ti, io.BytesIO(data))
PY

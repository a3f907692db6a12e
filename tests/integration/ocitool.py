#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""JSON and OCI image layout checks for lade's integration tests (standard library only).

  json-get FILE EXPR          value of the Python expression EXPR over the parsed file `j`
  json-assert FILE EXPR       exit 1 unless EXPR over `j` is true
  check-layout DIR            DIR is an OCI image layout whose every referenced blob is present,
                              of the declared size and digest (manifests, configs, layers, indexes)
  refs DIR                    the org.opencontainers.image.ref.name values of DIR/index.json
  ref-digest DIR NAME         the manifest digest index.json gives for NAME
  manifest DIR NAME           the manifest of NAME (JSON)
  config DIR NAME             the image config of NAME (JSON)
  check-image DIR NAME [MAX_MTIME]
                              the image's config, manifest and layers agree (diff_ids are the
                              uncompressed layers' digests, history matches the layers) and every
                              layer follows lade's tar rules (numeric ids with empty names, no
                              atime/ctime, mtimes <= MAX_MTIME (default 0), directories before
                              their contents, no duplicates, no sandbox mount points)
  layer-entries DIR NAME      "INDEX<TAB>TYPE<TAB>PATH" for every entry of every layer of NAME
  top-layer DIR NAME          "PATH MODE UID:GID MTIME SIZE" for every entry of the last layer of NAME
  layer-cat DIR NAME PATH     the content of PATH in the last layer of NAME that has it
  elf-static FILE             exit 1 if FILE is not an ELF file or is dynamically linked

FILE "-" is stdin. NAME may be "" when index.json holds exactly one manifest.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

MT_MANIFEST = ("application/vnd.oci.image.manifest.v1+json",
               "application/vnd.docker.distribution.manifest.v2+json")
MT_INDEX = ("application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json")
REF = "org.opencontainers.image.ref.name"
# Mount points the RUN sandbox creates; they must never reach a layer.
SANDBOX_PATHS = ("proc", "sys", "dev", "etc/hosts", "etc/resolv.conf", "etc/hostname")


class Bad(Exception):
    pass


def load_json(path):
    if path == "-":
        return json.load(sys.stdin)
    with open(path, "rb") as f:
        return json.load(f)


def blob_path(layout, digest):
    if not isinstance(digest, str) or ":" not in digest:
        raise Bad("malformed digest %r" % (digest,))
    alg, hexd = digest.split(":", 1)
    if alg != "sha256" or len(hexd) != 64 or any(c not in "0123456789abcdef" for c in hexd):
        raise Bad("unsupported or malformed digest %r" % digest)
    return os.path.join(layout, "blobs", alg, hexd)


def check_blob(layout, desc, what):
    """Checks the descriptor's blob exists with its size and digest; returns its path."""
    for k in ("mediaType", "digest", "size"):
        if k not in desc:
            raise Bad("%s: descriptor without %s: %s" % (what, k, json.dumps(desc)))
    p = blob_path(layout, desc["digest"])
    if not os.path.isfile(p):
        raise Bad("%s: blob %s is missing (%s)" % (what, desc["digest"], p))
    size = os.path.getsize(p)
    if size != desc["size"]:
        raise Bad("%s: blob %s has %d bytes, descriptor says %d" % (what, desc["digest"], size, desc["size"]))
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if "sha256:" + h.hexdigest() != desc["digest"]:
        raise Bad("%s: blob %s has digest sha256:%s" % (what, desc["digest"], h.hexdigest()))
    return p


def read_index(layout):
    p = os.path.join(layout, "oci-layout")
    try:
        ol = load_json(p)
    except (OSError, ValueError) as e:
        raise Bad("%s: %s" % (p, e))
    if ol.get("imageLayoutVersion") != "1.0.0":
        raise Bad("%s: imageLayoutVersion is %r" % (p, ol.get("imageLayoutVersion")))
    p = os.path.join(layout, "index.json")
    try:
        idx = load_json(p)
    except (OSError, ValueError) as e:
        raise Bad("%s: %s" % (p, e))
    if idx.get("schemaVersion") != 2 or not isinstance(idx.get("manifests"), list):
        raise Bad("%s: not an image index: %s" % (p, json.dumps(idx)[:300]))
    return idx


def check_manifest(layout, desc, what, seen):
    p = check_blob(layout, desc, what)
    seen.add(desc["digest"])
    m = load_json(p)
    mt = desc["mediaType"]
    if m.get("schemaVersion") != 2:
        raise Bad("%s: schemaVersion %r" % (what, m.get("schemaVersion")))
    if "mediaType" in m and m["mediaType"] != mt:
        raise Bad("%s: mediaType %s, descriptor says %s" % (what, m["mediaType"], mt))
    if mt in MT_INDEX:
        for i, d in enumerate(m.get("manifests", [])):
            check_manifest(layout, d, "%s/manifests[%d]" % (what, i), seen)
    elif mt in MT_MANIFEST:
        check_blob(layout, m["config"], what + "/config")
        seen.add(m["config"]["digest"])
        load_json(blob_path(layout, m["config"]["digest"]))
        for i, d in enumerate(m.get("layers", [])):
            check_blob(layout, d, "%s/layers[%d]" % (what, i))
            seen.add(d["digest"])
    else:
        raise Bad("%s: unknown mediaType %s" % (what, mt))


def check_layout(layout):
    idx = read_index(layout)
    seen, names = set(), {}
    for i, d in enumerate(idx["manifests"]):
        name = (d.get("annotations") or {}).get(REF)
        what = "index.json manifests[%d]%s" % (i, " (%s)" % name if name else "")
        if name is not None:
            if name in names:
                raise Bad("%s: ref name also at manifests[%d]" % (what, names[name]))
            names[name] = i
        check_manifest(layout, d, what, seen)
    print("layout %s: valid, %d manifests in index.json, %d blobs checked" % (layout, len(idx["manifests"]), len(seen)))


def find_ref(layout, name):
    idx = read_index(layout)
    ms = idx["manifests"]
    if name == "":
        if len(ms) != 1:
            raise Bad("%s/index.json holds %d manifests, expected exactly one" % (layout, len(ms)))
        return ms[0]
    hits = [d for d in ms if (d.get("annotations") or {}).get(REF) == name]
    if len(hits) != 1:
        raise Bad("%s/index.json: %d manifests named %r (names: %s)"
                  % (layout, len(hits), name, [(d.get("annotations") or {}).get(REF) for d in ms]))
    return hits[0]


def image_manifest(layout, name):
    d = find_ref(layout, name)
    m = load_json(blob_path(layout, d["digest"]))
    if d["mediaType"] in MT_INDEX:
        ms = [x for x in m["manifests"] if x.get("platform", {}).get("os", "linux") == "linux"]
        if not ms:
            raise Bad("index %s has no linux manifest" % d["digest"])
        m = load_json(blob_path(layout, ms[0]["digest"]))
    return m


def layer_stream(layout, desc):
    """An uncompressed binary stream of a layer blob."""
    p = blob_path(layout, desc["digest"])
    mt = desc["mediaType"]
    if mt.endswith("+gzip") or mt.endswith(".tar.gzip") or mt.endswith("diff.tar.gzip"):
        return gzip.open(p, "rb")
    if mt.endswith("+zstd"):
        if shutil.which("zstd") is None:
            raise Bad("zstd layer %s and no zstd program" % desc["digest"])
        return subprocess.Popen(["zstd", "-dc", p], stdout=subprocess.PIPE).stdout
    if mt.endswith(".tar") or mt.endswith("layer.v1.tar"):
        return open(p, "rb")
    raise Bad("unknown layer mediaType %s" % mt)


class HashingReader:
    def __init__(self, f):
        self.f, self.h = f, hashlib.sha256()

    def read(self, n=-1):
        b = self.f.read(n)
        self.h.update(b)
        return b


def layer_entries(layout, desc):
    """Yields the layer's TarInfo entries; afterwards .digest holds the uncompressed sha256."""
    class Result:
        pass
    res = Result()
    res.entries = []
    with layer_stream(layout, desc) as raw:
        hr = HashingReader(raw)
        with tarfile.open(fileobj=hr, mode="r|") as tf:
            for ti in tf:
                res.entries.append(ti)
        while hr.read(1 << 20):
            pass
    res.digest = "sha256:" + hr.h.hexdigest()
    return res


def norm(name):
    while name.startswith("./"):
        name = name[2:]
    return name.strip("/")


def check_image(layout, name, max_mtime):
    m = image_manifest(layout, name)
    cfg = load_json(blob_path(layout, m["config"]["digest"]))
    problems = []
    diff_ids = cfg.get("rootfs", {}).get("diff_ids", [])
    if cfg.get("rootfs", {}).get("type") != "layers":
        problems.append("config rootfs.type is %r" % cfg.get("rootfs", {}).get("type"))
    if len(diff_ids) != len(m["layers"]):
        problems.append("config has %d diff_ids, manifest %d layers" % (len(diff_ids), len(m["layers"])))
    hist = cfg.get("history", [])
    nonempty = [h for h in hist if not h.get("empty_layer")]
    if hist and len(nonempty) != len(m["layers"]):
        problems.append("history has %d non-empty entries, manifest %d layers" % (len(nonempty), len(m["layers"])))
    for k in ("architecture", "os"):
        if not cfg.get(k):
            problems.append("config has no %s" % k)
    for i, d in enumerate(m["layers"]):
        res = layer_entries(layout, d)
        if i < len(diff_ids) and diff_ids[i] != res.digest:
            problems.append("layer %d: uncompressed digest %s, diff_id %s" % (i, res.digest, diff_ids[i]))
        seen, names = set(), {norm(t.name) for t in res.entries}
        for ti in res.entries:
            n = norm(ti.name)
            where = "layer %d: %s" % (i, ti.name)
            if n in seen:
                problems.append(where + ": duplicate entry")
            seen.add(n)
            parent = n.rsplit("/", 1)[0] if "/" in n else None
            while parent:
                # a parent directory that is in the layer must come first
                if parent not in seen and parent in names:
                    problems.append(where + ": comes before its directory " + parent)
                    break
                parent = parent.rsplit("/", 1)[0] if "/" in parent else None
            if ti.uname or ti.gname:
                problems.append(where + ": user/group names %r/%r (must be empty)" % (ti.uname, ti.gname))
            for k in ("atime", "ctime", "LIBARCHIVE.creationtime", "uname", "gname"):
                if k in ti.pax_headers and (k not in ("uname", "gname") or ti.pax_headers[k]):
                    problems.append(where + ": pax header %s" % k)
            if ti.mtime > max_mtime:
                problems.append(where + ": mtime %d after the build epoch %d" % (ti.mtime, max_mtime))
            if n in SANDBOX_PATHS or any(n.startswith(s + "/") for s in ("proc", "sys")):
                problems.append(where + ": sandbox mount point in the layer")
    if problems:
        raise Bad("image %s in %s:\n  " % (name or "(the only one)", layout) + "\n  ".join(problems[:50]))
    print("image %s: %d layers, config and layers agree" % (name or "(the only one)", len(m["layers"])))


TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
         tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}


def elf_is_static(path):
    import struct
    with open(path, "rb") as f:
        h = f.read(64)
        if len(h) < 52 or h[:4] != b"\x7fELF":
            raise Bad("%s is not an ELF file" % path)
        is64, end = h[4] == 2, "<" if h[5] == 1 else ">"
        if is64:
            phoff, = struct.unpack(end + "Q", h[32:40])
            phentsize, phnum = struct.unpack(end + "HH", h[54:58])
        else:
            phoff, = struct.unpack(end + "I", h[28:32])
            phentsize, phnum = struct.unpack(end + "HH", h[42:46])
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, = struct.unpack(end + "I", f.read(4))
            if p_type == 3:  # PT_INTERP
                raise Bad("%s is dynamically linked" % path)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "json-get":
            j = load_json(args[0])
            v = eval(args[1], {"j": j})
            print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
        elif cmd == "json-assert":
            j = load_json(args[0])
            try:
                v = eval(args[1], {"j": j})
            except Exception as e:
                raise Bad("%s raised %s: %s\nJSON: %s" % (args[1], type(e).__name__, e, json.dumps(j)[:2000]))
            if not v:
                raise Bad("false: %s\nJSON: %s" % (args[1], json.dumps(j, sort_keys=True)[:2000]))
        elif cmd == "check-layout":
            check_layout(args[0])
        elif cmd == "refs":
            for d in read_index(args[0])["manifests"]:
                n = (d.get("annotations") or {}).get(REF)
                if n is not None:
                    print(n)
        elif cmd == "ref-digest":
            print(find_ref(args[0], args[1])["digest"])
        elif cmd == "manifest":
            print(json.dumps(image_manifest(args[0], args[1]), indent=2, sort_keys=True))
        elif cmd == "config":
            m = image_manifest(args[0], args[1])
            print(json.dumps(load_json(blob_path(args[0], m["config"]["digest"])), indent=2, sort_keys=True))
        elif cmd == "check-image":
            check_image(args[0], args[1], int(args[2]) if len(args) > 2 else 0)
        elif cmd == "elf-static":
            elf_is_static(args[0])
        elif cmd == "layer-entries":
            m = image_manifest(args[0], args[1])
            for i, d in enumerate(m["layers"]):
                for ti in layer_entries(args[0], d).entries:
                    print("%d\t%s\t%s" % (i, TYPES.get(ti.type, "other"), norm(ti.name)))
        elif cmd == "top-layer":
            m = image_manifest(args[0], args[1])
            for ti in layer_entries(args[0], m["layers"][-1]).entries:
                print("%s %o %d:%d %d %d" % (norm(ti.name), ti.mode, ti.uid, ti.gid, ti.mtime, ti.size))
        elif cmd == "layer-cat":
            m = image_manifest(args[0], args[1])
            found = None
            for d in m["layers"]:
                with layer_stream(args[0], d) as raw, tarfile.open(fileobj=raw, mode="r|") as tf:
                    for ti in tf:
                        if norm(ti.name) == norm(args[2]) and ti.isfile():
                            found = tf.extractfile(ti).read()
            if found is None:
                raise Bad("%s: no file %s" % (args[1], args[2]))
            sys.stdout.buffer.write(found)
        else:
            print("ocitool: unknown command %s" % cmd, file=sys.stderr)
            return 2
    except Bad as e:
        print("ocitool %s: %s" % (cmd, e), file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError, IndexError, tarfile.TarError) as e:
        print("ocitool %s: %s: %s" % (cmd, type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

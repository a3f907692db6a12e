#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compares the image lade built with the one docker BuildKit built from the same case.

  compare.py [--case NAME] [--accept FILE] LADE.tar DOCKER.tar
  compare.py [--case NAME] --expect EXPECTED.json --bases DIR [--var NAME=VALUE]... LADE.tar

The second form compares lade's image with a hand-written expectation instead (expected.py
describes the format; DIR holds the suite's saved base images, TAG with / as _ plus .tar), for
what docker 20.10 cannot build; difference lines then say "expected" where they say "docker".
--var replaces @NAME@ in the expectation (the runner passes the case's HTTP_PORT).

Each archive is an OCI image archive (lade's `-o type=oci`) or a docker archive (`docker save`);
the format is recognised by its contents, so either side may be either kind.

What is compared (README.md lists it with the reasons):
  * the flattened filesystem: the layers applied in order, with whiteouts and opaque directories;
    per path its type, permission bits, uid, gid, size, sha256 of the content, symlink target,
    device numbers, xattrs and hard-link group (the other paths sharing the inode);
  * the image config: architecture, os, variant, author and every key of `config` (Env, Cmd,
    Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal, Healthcheck, Shell,
    OnBuild, ArgsEscaped, ...), a null value counting as absent;
  * history: the number of entries, and per entry created_by and empty_layer;
  * the number of layers.
What is not: timestamps (config and history `created`, file mtimes), history `comment`, tar
user/group names, layer and config digests (they follow from the timestamps), and the fields
docker adds beside BuildKit's (container, container_config, docker_version, moby.buildkit.*).

Every difference is one line "KEY: detail". KEYs look like `layers`, `history`,
`history[3].created_by`, `image.author`, `config.Env`, `fs:/etc/passwd:mode`, `fs:/x:presence`.
--accept FILE lists accepted divergences, one per line, fields separated by tabs:
`CASE-GLOB<TAB>LINE-REGEX<TAB>REASON`. CASE-GLOB is a glob where only `*` is special; LINE-REGEX
is a Python regular expression that must match the whole difference line "KEY: detail" (so a
rule can insist, with back-references, that two texts differ only where the reason says); `#`
starts a comment line. A matching difference is printed as "accepted" and does not fail.
Exit status: 0 same (or only accepted differences), 1 different, 2 unreadable input.
"""
import hashlib
import json
import os
import re
import stat
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import ocitool  # noqa: E402  (OCI layout reading: manifests, blobs, compressed layer streams)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expected  # noqa: E402  (hand-written expectations, for what docker 20.10 cannot build)

# Top-level config keys compared; everything else there is a timestamp or docker's own bookkeeping.
IMAGE_KEYS = ("architecture", "os", "variant", "os.version", "os.features", "author")


class Image:
    """An image's config (parsed JSON) and a way to open its layers as uncompressed tar streams."""

    def __init__(self, config, layers, opener):
        self.config, self.layers, self.open_layer = config, layers, opener


def read_image(archive, tmp):
    """Extracts ARCHIVE into TMP and returns its single image."""
    with tarfile.open(archive) as tf:
        for m in tf.getmembers():
            # Only plain files and directories with relative, non-escaping names.
            n = os.path.normpath(m.name)
            if n.startswith(("/", "..")) or not (m.isfile() or m.isdir()):
                raise ocitool.Bad("%s: unexpected member %r" % (archive, m.name))
        tf.extractall(tmp)
    if os.path.exists(os.path.join(tmp, "oci-layout")):
        m = ocitool.image_manifest(tmp, "")
        cfg = ocitool.load_json(ocitool.blob_path(tmp, m["config"]["digest"]))
        return Image(cfg, m["layers"], lambda d: ocitool.layer_stream(tmp, d))
    mpath = os.path.join(tmp, "manifest.json")
    if os.path.exists(mpath):
        man = ocitool.load_json(mpath)
        if len(man) != 1:
            raise ocitool.Bad("%s: docker archive with %d images" % (archive, len(man)))
        cfg = ocitool.load_json(os.path.join(tmp, man[0]["Config"]))
        # docker save writes uncompressed layer.tar files
        return Image(cfg, man[0]["Layers"], lambda p: open(os.path.join(tmp, p), "rb"))
    raise ocitool.Bad("%s: neither an OCI nor a docker archive" % archive)


# ---- the flattened filesystem ----

class Node:
    """One inode. Hard links are paths mapping to the same Node object."""
    __slots__ = ("kind", "mode", "uid", "gid", "size", "sha256", "target", "rdev", "xattrs")


KINDS = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file",
         tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char",
         tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}


def norm(name):
    """Tar member name -> absolute image path ("/" for the root)."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


def remove_tree(tree, path, keep=()):
    """Removes PATH and everything under it, except the paths in KEEP."""
    prefix = path.rstrip("/") + "/"
    for p in [p for p in tree if p == path or p.startswith(prefix)]:
        if p not in keep:
            del tree[p]


def apply_layer(tree, stream, problems, index):
    added = set()  # paths this layer wrote: an opaque marker hides only the lower layers' files
    with tarfile.open(fileobj=stream, mode="r|") as tf:
        for ti in tf:
            path = norm(ti.name)
            base = os.path.basename(path)
            parent = os.path.dirname(path)
            if base == ".wh..wh..opq":
                for p in [p for p in tree if p.startswith(parent.rstrip("/") + "/")]:
                    if p not in added:
                        del tree[p]
                continue
            if base.startswith(".wh."):
                remove_tree(tree, os.path.join(parent, base[4:]))
                continue
            if ti.type == tarfile.LNKTYPE:
                target = norm(ti.linkname)
                if target not in tree:
                    problems.append("layer %d: hard link %s to missing %s" % (index, path, target))
                    continue
                if path in tree and tree[path].kind == "dir":
                    remove_tree(tree, path)
                tree[path] = tree[target]
                added.add(path)
                continue
            n = Node()
            n.kind = KINDS.get(ti.type, "other(%r)" % ti.type)
            n.mode = ti.mode & 0o7777
            n.uid, n.gid = ti.uid, ti.gid
            n.size = ti.size if n.kind == "file" else None
            n.target = ti.linkname if n.kind == "symlink" else None
            n.rdev = "%d:%d" % (ti.devmajor, ti.devminor) if n.kind in ("char", "block") else None
            n.xattrs = {k[len("SCHILY.xattr."):]: v for k, v in ti.pax_headers.items()
                        if k.startswith("SCHILY.xattr.")} or None
            n.sha256 = None
            if n.kind == "file":
                h = hashlib.sha256()
                f = tf.extractfile(ti)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                n.sha256 = h.hexdigest()
            old = tree.get(path)
            if old is not None and old.kind == "dir" and n.kind != "dir":
                remove_tree(tree, path)
            tree[path] = n
            added.add(path)


def flatten(img, problems):
    tree = {}
    for i, layer in enumerate(img.layers):
        with img.open_layer(layer) as s:
            apply_layer(tree, s, problems, i)
    tree.pop("/", None)  # whether a layer carries the root entry is not a property of the image
    return tree


def describe(tree):
    """path -> {field: value} with the hard-link group of each path."""
    groups = {}
    for p, n in tree.items():
        if n.kind != "dir":
            groups.setdefault(id(n), []).append(p)
    out = {}
    for p, n in tree.items():
        d = {f: getattr(n, f) for f in Node.__slots__}
        d["mode"] = "%04o" % n.mode
        others = sorted(q for q in groups.get(id(n), []) if q != p)
        d["links"] = others or None
        out[p] = d
    return out


def compare_fs(a, b, diffs, other="docker"):
    for p in sorted(set(a) | set(b)):
        if p not in b:
            diffs.append(("fs:%s:presence" % p, "only in lade (%s)" % a[p]["kind"]))
        elif p not in a:
            diffs.append(("fs:%s:presence" % p, "only in %s (%s)" % (other, b[p]["kind"])))
        else:
            for f in ("kind", "mode", "uid", "gid", "size", "sha256", "target", "rdev", "xattrs", "links"):
                if a[p][f] != b[p][f]:
                    diffs.append(("fs:%s:%s" % (p, f), "lade %s, %s %s" % (show(a[p][f]), other, show(b[p][f]))))


# ---- config and history ----

def show(v):
    """A value in a difference line; None is a field the image does not have (or null)."""
    return "(none)" if v is None else json.dumps(v, sort_keys=True)


def drop_nulls(d):
    return {k: v for k, v in (d or {}).items() if v is not None}


def compare_config(a, b, diffs, other="docker"):
    for k in IMAGE_KEYS:
        if a.get(k) != b.get(k):
            diffs.append(("image.%s" % k, "lade %s, %s %s" % (show(a.get(k)), other, show(b.get(k)))))
    ca, cb = drop_nulls(a.get("config")), drop_nulls(b.get("config"))
    for k in sorted(set(ca) | set(cb)):
        if ca.get(k) != cb.get(k):
            diffs.append(("config.%s" % k, "lade %s, %s %s" % (show(ca.get(k)), other, show(cb.get(k)))))
    la, lb = a.get("rootfs", {}).get("diff_ids", []), b.get("rootfs", {}).get("diff_ids", [])
    if len(la) != len(lb):
        diffs.append(("layers", "lade %d, %s %d" % (len(la), other, len(lb))))
    ha, hb = a.get("history", []), b.get("history", [])
    if len(ha) != len(hb):
        diffs.append(("history", "lade %d entries, %s %d:\n      lade:   %s\n      %-7s %s"
                      % (len(ha), other, len(hb), show([h.get("created_by") for h in ha]),
                         other + ":", show([h.get("created_by") for h in hb]))))
        return
    for i, (x, y) in enumerate(zip(ha, hb)):
        if x.get("created_by") != y.get("created_by"):
            diffs.append(("history[%d].created_by" % i, "lade %s, %s %s"
                          % (show(x.get("created_by")), other, show(y.get("created_by")))))
        if bool(x.get("empty_layer")) != bool(y.get("empty_layer")):
            diffs.append(("history[%d].empty_layer" % i, "lade %s, %s %s"
                          % (bool(x.get("empty_layer")), other, bool(y.get("empty_layer")))))


def glob(pattern, text):
    """True when TEXT matches PATTERN, in which `*` matches any text and nothing else is special."""
    rx = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(rx, text, re.S) is not None


def load_accepted(path):
    rules = []
    if not path:
        return rules
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("\t") if p.strip()]
            if len(parts) != 3:
                raise ocitool.Bad("%s: want CASE-GLOB<TAB>LINE-REGEX<TAB>REASON: %r" % (path, line))
            try:
                parts[1] = re.compile(parts[1], re.S)
            except re.error as e:
                raise ocitool.Bad("%s: bad regular expression %r: %s" % (path, parts[1], e))
            rules.append(parts)
    return rules


def against_docker(lade_tar, docker_tar, problems, diffs):
    with tempfile.TemporaryDirectory() as ta, tempfile.TemporaryDirectory() as tb:
        lade, docker = read_image(lade_tar, ta), read_image(docker_tar, tb)
        compare_config(lade.config, docker.config, diffs)
        compare_fs(describe(flatten(lade, problems)), describe(flatten(docker, problems)), diffs)


def against_expectation(lade_tar, exp_path, bases_dir, variables, problems, diffs):
    """Compares lade's image with a hand-written expectation (expected.py) over its base."""
    exp = expected.load(exp_path, variables)
    base = expected.base_archive(exp, bases_dir)
    with tempfile.TemporaryDirectory() as ta, tempfile.TemporaryDirectory() as tb:
        lade = read_image(lade_tar, ta)
        base_cfg, base_tree = None, {}
        if base:
            img = read_image(base, tb)
            base_cfg, base_tree = img.config, describe(flatten(img, problems))
        want, unchecked = expected.tree(exp, base_tree)
        compare_config(lade.config, expected.image_config(exp, base_cfg), diffs, "expected")
        got = expected.drop_below(describe(flatten(lade, problems)), unchecked)
        compare_fs(got, expected.drop_below(want, unchecked), diffs, "expected")


def main(argv):
    case, accept, exp, bases, variables, args = "", None, None, "", {}, []
    it = iter(argv[1:])
    for a in it:
        if a == "--case":
            case = next(it)
        elif a == "--accept":
            accept = next(it)
        elif a == "--expect":
            exp = next(it)
        elif a == "--bases":
            bases = next(it)
        elif a == "--var":
            k, _, v = next(it).partition("=")
            variables[k] = v
        else:
            args.append(a)
    if len(args) != (1 if exp else 2):
        print(__doc__, file=sys.stderr)
        return 2
    problems, diffs = [], []
    try:
        rules = load_accepted(accept)
        if exp:
            against_expectation(args[0], exp, bases, variables, problems, diffs)
        else:
            against_docker(args[0], args[1], problems, diffs)
    except (ocitool.Bad, expected.Bad, OSError, ValueError, KeyError, IndexError, TypeError,
            AttributeError, tarfile.TarError) as e:
        print("compare: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2
    failed = 0
    for p in problems:
        print("layers: %s" % p)
        failed += 1
    for key, detail in diffs:
        line = "%s: %s" % (key, detail)
        rule = next((r for r in rules if glob(r[0], case) and r[1].fullmatch(line)), None)
        if rule:
            print("accepted %s\n    because: %s" % (line, rule[2]))
        else:
            print(line)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

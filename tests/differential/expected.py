# SPDX-License-Identifier: Apache-2.0
"""Hand-written expectations: the image a case must give, for what docker 20.10 cannot build.

A case directory holding `expected.json` is built by lade only; compare.py then compares lade's
archive with the image this module makes from the expectation, by the same rules as with docker
(README.md, "Hand-written expectations"). The expectation describes the image as its base plus
what the Dockerfile adds:

  {
    "why": "docker 20.10's frontend predates heredocs",      required: why docker cannot build it
    "base": "difftest/busybox",           the final stage's FROM: a suite base tag, or "scratch"
    "layers": 1,                          layers added on top of the base's
    "history": [                          entries added after the base's, in order
      {"created_by": "RUN /bin/sh -c echo hi # buildkit"},
      {"created_by": "CMD [\\"sh\\"]", "empty_layer": true}
    ],
    "config": {"Cmd": ["sh"]},            keys of `config` set over the base's (null removes one)
    "image": {"author": "me"},            top-level keys (architecture, os, author, ...) over the base's
    "files": {                            paths added or changed over the base's filesystem
      "/o": {"content": "hi\\n"},                          a file, 0644 0:0
      "/d": {"type": "dir", "mode": "0700", "uid": 1, "gid": 2},
      "/l": {"type": "symlink", "target": "o"},
      "/big": {"sha256": "...", "size": 123, "mode": "0755"},
      "/h1": {"content": "x", "links": ["/h2"]}, "/h2": {"content": "x", "links": ["/h1"]},
      "/src/.git": {"type": "dir", "contents": "unchecked"},   what is below is not compared
      "/etc/motd": null                                      removed from the base
    }
  }

"@HTTP_PORT@" anywhere stands for the port of the case's `http-serve` server.

Defaults: type "file" (with "content", or "sha256" and "size"), "dir" or "symlink" ("target");
mode 0644 for files, 0755 for directories, 0777 for symlinks; uid and gid 0; no xattrs, no hard
links. A listed path's missing parent directories are 0755 0:0 (or the base's). Every other path
must be the base's unchanged: an extra path in lade's image is a difference.
"""
import hashlib
import json
import os

TOP_KEYS = {"why", "base", "layers", "history", "config", "image", "files"}
FILE_KEYS = {"type", "mode", "uid", "gid", "content", "sha256", "size", "target", "rdev",
             "xattrs", "links", "contents"}
DEFAULT_MODE = {"file": 0o644, "dir": 0o755, "symlink": 0o777}


class Bad(Exception):
    """The expectation file is malformed."""


def load(path, variables=None):
    """Reads the expectation, with each @NAME@ of VARIABLES (the runner's HTTP_PORT) replaced."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for k, v in (variables or {}).items():
        text = text.replace("@%s@" % k, v)
    exp = json.loads(text)
    if not isinstance(exp, dict):
        raise Bad("%s: not a JSON object" % path)
    unknown = set(exp) - TOP_KEYS
    if unknown:
        raise Bad("%s: unknown keys %s" % (path, sorted(unknown)))
    for k in ("why", "base", "layers", "history"):
        if k not in exp:
            raise Bad("%s: %r is required" % (path, k))
    return exp


def base_archive(exp, bases_dir):
    """The base image's archive as the suite saved it, or None for scratch."""
    if exp["base"] == "scratch":
        return None
    p = os.path.join(bases_dir, exp["base"].replace("/", "_") + ".tar")
    if not os.path.exists(p):
        raise Bad("base %r: no saved base image %s (tests/differential/bases)" % (exp["base"], p))
    return p


def image_config(exp, base_cfg):
    """The config JSON the expectation describes, shaped as an image config for compare_config."""
    base_cfg = base_cfg or {"architecture": "amd64", "os": "linux", "config": {}}
    cfg = {k: v for k, v in base_cfg.items() if k not in ("config", "rootfs", "history")}
    for k, v in exp.get("image", {}).items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    conf = dict(base_cfg.get("config") or {})
    for k, v in exp.get("config", {}).items():
        if v is None:
            conf.pop(k, None)
        else:
            conf[k] = v
    cfg["config"] = conf
    hist = list(base_cfg.get("history", []))
    for h in exp["history"]:
        if set(h) - {"created_by", "empty_layer"} or "created_by" not in h:
            raise Bad("history entry %r: want created_by and optionally empty_layer" % (h,))
        hist.append({"created_by": h["created_by"], "empty_layer": bool(h.get("empty_layer"))})
    cfg["history"] = hist
    n = len(base_cfg.get("rootfs", {}).get("diff_ids", [])) + exp["layers"]
    cfg["rootfs"] = {"type": "layers", "diff_ids": ["layer%d" % i for i in range(n)]}
    return cfg


def file_entry(path, spec):
    """One path of "files" as describe() shows a path: {field: value}."""
    unknown = set(spec) - FILE_KEYS
    if unknown:
        raise Bad("files %s: unknown keys %s" % (path, sorted(unknown)))
    kind = spec.get("type", "file")
    if kind not in DEFAULT_MODE and kind not in ("char", "block", "fifo"):
        raise Bad("files %s: unknown type %r" % (path, kind))
    d = {"kind": kind, "uid": spec.get("uid", 0), "gid": spec.get("gid", 0), "size": None,
         "sha256": None, "target": spec.get("target"), "rdev": spec.get("rdev"),
         "xattrs": spec.get("xattrs") or None, "links": sorted(spec.get("links", [])) or None}
    d["mode"] = spec.get("mode", "%04o" % DEFAULT_MODE.get(kind, 0o644))
    if len(d["mode"]) != 4:
        raise Bad("files %s: mode %r: want four octal digits" % (path, d["mode"]))
    if kind == "file":
        if "content" in spec:
            data = spec["content"].encode("utf-8")
            d["sha256"], d["size"] = hashlib.sha256(data).hexdigest(), len(data)
        elif "sha256" in spec and "size" in spec:
            d["sha256"], d["size"] = spec["sha256"], spec["size"]
        else:
            raise Bad("files %s: a file needs content, or sha256 and size" % path)
    elif kind == "symlink" and d["target"] is None:
        raise Bad("files %s: a symlink needs its target" % path)
    return d


def tree(exp, base_tree):
    """The expected description (path -> fields) from the base's, and the paths whose contents
    are not compared."""
    out = dict(base_tree)
    unchecked = []
    for path, spec in sorted(exp.get("files", {}).items()):
        if not path.startswith("/") or path != os.path.normpath(path):
            raise Bad("files %r: want a clean absolute path" % path)
        if spec is None:
            prefix = path.rstrip("/") + "/"
            for p in [p for p in out if p == path or p.startswith(prefix)]:
                del out[p]
            continue
        parent = os.path.dirname(path)
        while parent != "/" and parent not in out:
            out[parent] = file_entry(parent, {"type": "dir"})
            parent = os.path.dirname(parent)
        out[path] = file_entry(path, spec)
        if spec.get("contents") == "unchecked":
            unchecked.append(path)
        elif "contents" in spec:
            raise Bad("files %s: contents can only be \"unchecked\"" % path)
    return out, unchecked


def drop_below(desc, dirs):
    """DESC without the paths below any of DIRS (the directories themselves stay)."""
    prefixes = tuple(d.rstrip("/") + "/" for d in dirs)
    return {p: v for p, v in desc.items() if not (prefixes and p.startswith(prefixes))}

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks compare.py's hand-written expectation mode (expected.py) on archives made here: a right
expectation must pass, and each of a list of wrong ones must be reported. The runner calls it
before the cases, so a comparison that cannot fail never looks like a pass.

  selftest.py        prints "selftest: N checks passed" or the failures; exit 1 on a failure
"""
import copy
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


def layer(entries):
    """An uncompressed tar layer from (name, kind, mode, uid, gid, data-or-linkname) tuples."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, mode, uid, gid, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mode, ti.uid, ti.gid = mode, uid, gid
            if kind == "file":
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                       "hard": tarfile.LNKTYPE}[kind]
            ti.linkname = data or ""
            tf.addfile(ti)
    return buf.getvalue()


def docker_archive(path, layers, config):
    """A `docker save`-shaped archive with LAYERS (tar bytes) and CONFIG (dict)."""
    cfg = dict(config, rootfs={"type": "layers", "diff_ids": [
        "sha256:" + hashlib.sha256(x).hexdigest() for x in layers]})
    names = ["l%d/layer.tar" % i for i in range(len(layers))]
    with tarfile.open(path, "w") as tf:
        for name, data in [("config.json", json.dumps(cfg).encode())] + list(zip(names, layers)) + [
                ("manifest.json", json.dumps([{"Config": "config.json", "Layers": names}]).encode())]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))


BASE_LAYER = [("bin", "dir", 0o755, 0, 0, None), ("bin/sh", "file", 0o755, 0, 0, b"#!sh\n"),
              ("etc", "dir", 0o755, 0, 0, None), ("etc/motd", "file", 0o644, 0, 0, b"hi\n")]
BASE_CONFIG = {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
               "history": [{"created_by": "COPY rootfs/ / # buildkit"}]}
TOP_LAYER = [("etc/.wh.motd", "file", 0o644, 0, 0, b""), ("opt", "dir", 0o755, 0, 0, None),
             ("opt/f", "file", 0o600, 12, 34, b"x\n"), ("opt/h", "hard", 0o600, 12, 34, "opt/f"),
             ("opt/l", "symlink", 0o777, 0, 0, "f")]
RIGHT = {
    "why": "selftest", "base": "test/base", "layers": 1,
    "history": [{"created_by": "RUN /bin/sh -c x # buildkit"},
                {"created_by": "CMD [\"sh\"]", "empty_layer": True}],
    "config": {"Cmd": ["sh"]},
    "files": {"/opt/f": {"content": "x\n", "mode": "0600", "uid": 12, "gid": 34, "links": ["/opt/h"]},
              "/opt/h": {"content": "x\n", "mode": "0600", "uid": 12, "gid": 34, "links": ["/opt/f"]},
              "/opt/l": {"type": "symlink", "target": "f"}, "/etc/motd": None},
}
# Each wrong expectation: what it changes, applied to a copy of RIGHT.
WRONG = {
    "content": lambda e: e["files"]["/opt/f"].update(content="y\n"),
    "mode": lambda e: e["files"]["/opt/l"].update(mode="0755"),
    "uid": lambda e: e["files"]["/opt/f"].update(uid=0),
    "symlink target": lambda e: e["files"]["/opt/l"].update(target="g"),
    "hard links": lambda e: e["files"]["/opt/f"].pop("links"),
    "missing path": lambda e: e["files"].pop("/opt/l"),
    "extra path": lambda e: e["files"].update({"/opt/new": {"content": ""}}),
    "removed path kept": lambda e: e["files"].pop("/etc/motd"),
    "directory type": lambda e: e["files"].update({"/opt": {"type": "dir", "mode": "0700"}}),
    "layers": lambda e: e.update(layers=2),
    "history text": lambda e: e["history"][0].update(created_by="RUN x"),
    "history empty_layer": lambda e: e["history"][1].update(empty_layer=False),
    "history length": lambda e: e["history"].pop(),
    "config": lambda e: e["config"].update(Cmd=["bash"]),
    "config removed": lambda e: e["config"].update(Env=None),
}


def run(exp, lade, bases, tmp):
    path = os.path.join(tmp, "expected.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(exp, f)
    problems, diffs = [], []
    compare.against_expectation(lade, path, bases, {}, problems, diffs)
    return problems + ["%s: %s" % d for d in diffs]


def main():
    failed = checks = 0
    with tempfile.TemporaryDirectory() as tmp:
        bases = os.path.join(tmp, "bases")
        os.mkdir(bases)
        base = layer(BASE_LAYER)
        docker_archive(os.path.join(bases, "test_base.tar"), [base], BASE_CONFIG)
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["config"]["Cmd"] = ["sh"]
        cfg["history"] += [{"created_by": "RUN /bin/sh -c x # buildkit"},
                           {"created_by": "CMD [\"sh\"]", "empty_layer": True}]
        lade = os.path.join(tmp, "lade.tar")
        docker_archive(lade, [base, layer(TOP_LAYER)], cfg)
        checks += 1
        diffs = run(RIGHT, lade, bases, tmp)
        if diffs:
            failed += 1
            print("selftest: the right expectation fails:\n  " + "\n  ".join(diffs))
        for what, change in WRONG.items():
            checks += 1
            exp = copy.deepcopy(RIGHT)
            change(exp)
            if not run(exp, lade, bases, tmp):
                failed += 1
                print("selftest: a wrong expectation (%s) passes" % what)
    if failed:
        print("selftest: %d of %d checks failed" % (failed, checks))
        return 1
    print("selftest: %d checks passed" % checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())

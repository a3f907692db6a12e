#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks lade's --progress=json events against tests/integration/progress-schema.json.

    progress_events.py SCHEMA EVENTS   (EVENTS: the build's stderr, one JSON object a line)

Implements the part of JSON Schema the schema uses (type, enum, const, pattern, minimum,
required, properties, allOf with if/then), so the tests need no jsonschema module. Prints the
first violation and exits 1; a line that is not JSON is a violation. Exit 0 when all are valid.
"""
import json
import re
import sys

TYPES = {"object": dict, "string": str, "boolean": bool, "array": list}


def matches(schema, v):
    """None when v satisfies schema, else a message."""
    t = schema.get("type")
    if t == "integer":
        if not isinstance(v, int) or isinstance(v, bool):
            return "not an integer: %r" % (v,)
    elif t is not None and not isinstance(v, TYPES[t]):
        return "not a %s: %r" % (t, v)
    if "enum" in schema and v not in schema["enum"]:
        return "%r not one of %s" % (v, schema["enum"])
    if "const" in schema and v != schema["const"]:
        return "%r is not %r" % (v, schema["const"])
    if "pattern" in schema and not re.search(schema["pattern"], v):
        return "%r does not match %s" % (v, schema["pattern"])
    if "minimum" in schema and v < schema["minimum"]:
        return "%r below %r" % (v, schema["minimum"])
    if isinstance(v, dict):
        for k in schema.get("required", []):
            if k not in v:
                return "missing %r" % k
        for k, sub in schema.get("properties", {}).items():
            if k in v:
                m = matches(sub, v[k])
                if m:
                    return "%s: %s" % (k, m)
    for sub in schema.get("allOf", []):
        if "if" in sub and matches(sub["if"], v) is None:
            m = matches(sub.get("then", {}), v)
            if m:
                return m
    return None


def main():
    schema = json.load(open(sys.argv[1]))
    n = 0
    for no, line in enumerate(open(sys.argv[2], errors="replace"), 1):
        line = line.rstrip("\n")
        if line.startswith("lade: "):
            break  # the error lade prints last, after the events
        try:
            ev = json.loads(line)
        except ValueError:
            print("line %d: not JSON: %s" % (no, line))
            return 1
        m = matches(schema, ev)
        if m:
            print("line %d: %s: %s" % (no, m, line))
            return 1
        n += 1
    print("%d events valid" % n)
    return 0 if n > 0 else 1


if __name__ == "__main__":
    sys.exit(main())

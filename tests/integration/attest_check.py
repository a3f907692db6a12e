#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Validates in-toto statements (t_attest.sh) against the JSON Schemas in schemas/: the
statement itself (in-toto Statement v1), then its predicate by predicateType (SLSA provenance
v1, SPDX 2.3). Usage: attest_check.py FILE...; prints "valid PREDICATE-TYPE" per file, or the
first error with its JSON path and exits 1."""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
PREDICATES = {
    "https://slsa.dev/provenance/v1": "slsa-provenance-v1.json",
    "https://spdx.dev/Document": "spdx-2.3.json",
}


def schema(name):
    with open(os.path.join(HERE, "schemas", name)) as f:
        return json.load(f)


def check(doc, schema_name, what):
    v = jsonschema.Draft202012Validator(schema(schema_name))
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        path = "/".join(str(p) for p in e.path)
        sys.exit(f"{what}: {schema_name}: at /{path}: {e.message}")


def main():
    for path in sys.argv[1:]:
        with open(path) as f:
            stmt = json.load(f)
        check(stmt, "in-toto-statement-v1.json", path)
        ptype = stmt["predicateType"]
        if ptype not in PREDICATES:
            sys.exit(f"{path}: no schema for predicate type {ptype}")
        check(stmt.get("predicate"), PREDICATES[ptype], path)
        print("valid", ptype)


if __name__ == "__main__":
    main()

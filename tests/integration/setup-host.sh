#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prepares this host for lade's integration tests (see ../shared/TEST-ENV.md): podman must use runc
# with cgroupfs, log events to a file, and use ulimits that root without CAP_SYS_RESOURCE may set;
# short names must not be searched on public registries. Idempotent: a setting that is already
# configured is left alone (a different value only earns a warning), unrelated configuration is kept.
# Needs root; prints one line per change it makes.
set -euo pipefail

CONF_DIR=${CONTAINERS_CONF_DIR:-/etc/containers}
CONTAINERS_CONF="$CONF_DIR/containers.conf"
REGISTRIES_DROPIN="$CONF_DIR/registries.conf.d/50-lade-tests.conf"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host: not root, leaving the podman configuration alone" >&2
    exit 0
fi

# The tests read JSON with python3; a fresh Debian usually has it, a minimal one may not.
if ! command -v python3 >/dev/null 2>&1; then
    echo "setup-host: installing python3"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3
fi

mkdir -p "$CONF_DIR/registries.conf.d"

# containers.conf: add each missing key under its table, creating the table when absent.
python3 - "$CONTAINERS_CONF" <<'PY'
import os, re, sys, tempfile

path = sys.argv[1]
wanted = {
    "containers": [("default_ulimits", '["nofile=20000:20000", "nproc=32768:32768"]')],
    "engine": [("runtime", '"runc"'), ("cgroup_manager", '"cgroupfs"'), ("events_logger", '"file"')],
}
try:
    with open(path) as f:
        lines = f.read().splitlines()
except FileNotFoundError:
    lines = ["# Written by lade's tests/integration/setup-host.sh (see TEST-ENV.md)."]

table_re = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]\s*(#.*)?$")
key_re = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=\s*(.*)$")

def scan(lines):
    """Maps table -> (index of its header line, {key: value text})."""
    tables, cur = {}, None
    for i, line in enumerate(lines):
        m = table_re.match(line)
        if m:
            cur = m.group(1)
            tables.setdefault(cur, (i, {}))
            continue
        m = key_re.match(line)
        if m and cur is not None:
            tables[cur][1][m.group(1)] = m.group(2).strip()
    return tables

changed = False
for table, keys in wanted.items():
    tables = scan(lines)
    if table not in tables:
        lines += ["", "[%s]" % table]
        tables = scan(lines)
    header, present = tables[table]
    for key, value in keys:
        if key in present:
            norm = lambda s: re.sub(r"\s+", "", s.split("#")[0])
            if norm(present[key]) != norm(value):
                print("setup-host: warning: %s: [%s] %s = %s is kept; the tests expect %s"
                      % (path, table, key, present[key], value), file=sys.stderr)
            continue
        lines.insert(header + 1, "%s = %s" % (key, value))
        print("setup-host: %s: [%s] %s = %s" % (path, table, key, value))
        changed = True

if changed:
    text = "\n".join(lines) + "\n"
    try:
        import tomllib
        tomllib.loads(text)
    except ImportError:
        pass
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".containers.conf.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
PY

# registries: no short-name search anywhere, unless some file already decides it.
if ! grep -rqsE '^\s*unqualified-search-registries\s*=' \
        "$CONF_DIR/registries.conf" "$CONF_DIR/registries.conf.d"; then
    tmp=$(mktemp "$CONF_DIR/registries.conf.d/.lade.XXXXXX")
    cat >"$tmp" <<'CONF'
# Written by lade's tests/integration/setup-host.sh (see TEST-ENV.md): the tests never pull
# from public registries, and their local registries on loopback speak plain HTTP.
unqualified-search-registries = []

[[registry]]
location = "127.0.0.1"
insecure = true

[[registry]]
location = "localhost"
insecure = true
CONF
    chmod 0644 "$tmp"
    mv -f "$tmp" "$REGISTRIES_DROPIN"
    echo "setup-host: wrote $REGISTRIES_DROPIN"
fi

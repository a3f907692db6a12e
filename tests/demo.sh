#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: builds testdata/demo (FROM scratch plus Debian's static busybox, which this script
# adds to a temporary copy of the context) and runs it.
#
#   tests/demo.sh LADE        store: $LADE_ROOT, else build/demo-root
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 LADE" >&2
    exit 2
fi
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $1 in
/*) LADE=$1 ;;
*) LADE="$PWD/$1" ;;
esac
ROOT=${LADE_ROOT:-$TOP/build/demo-root}

# shellcheck source=tests/integration/lib.sh
source "$TOP/tests/integration/lib.sh"
fail() {
    echo "demo: $1" >&2
    exit 1
}

CTX=$(mktemp -d "${TMPDIR:-/tmp}/lade-demo.XXXXXX")
trap 'rm -rf -- "$CTX"' EXIT
make_demo_context "$CTX"

echo "==> lade --root $ROOT build --progress plain -t lade-demo:latest testdata/demo"
"$LADE" --root "$ROOT" build --progress plain -t lade-demo:latest "$CTX"
echo "==> lade --root $ROOT run --rm lade-demo:latest"
"$LADE" --root "$ROOT" run --rm lade-demo:latest

# The README's examples build testdata/readme, which needs the same busybox root (git-ignored).
make_busybox_context "$TOP/testdata/readme"
echo "==> testdata/readme/rootfs is ready for the README's examples"

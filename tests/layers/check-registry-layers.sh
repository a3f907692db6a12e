#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Calls go down (DESIGN.md): reads the object files with nm and fails when a file uses a symbol
# (function or data) defined in a file of a higher level.
#
#   tests/layers/check-registry-layers.sh [--graph] [BUILDDIR]      (make layer-check)
#
# BUILDDIR defaults to build; the objects must be built (make layer-check builds them). A file
# may use its own level and lower ones. Every layers/registry/*.c must have a level below, so a
# new file is placed when it is added. --graph also prints who uses what: "a.c -> b.c: syms".
# Prints each upward use, then "layer-check: <name>: ok" or "... N upward uses"; exits 1 on any.
set -uo pipefail

# layers/registry, lowest level first (registry-internal.h says the same): "level: files".
REGISTRY_LEVELS=(
    "libcurl: curl_dl"                                    # dlopen of libcurl, its function table
    "credentials: creds credhelper"                       # config.json, helpers; no network
    "client: client"                                      # hosts, TLS, certs.d, proxies, handles
    "http: http outcome"                                  # one exchange; what its outcome means
    "auth: challenge auth"                                # WWW-Authenticate, tokens via http
    "retry: retry"                                        # reg_do
    "operations: jobs resolve pull push login urlget sign signature" # what the builder calls
)

# builder/: a step never calls back into the driver (DESIGN.md, STYLE.md 9 "Calls go down").
# Patterns are shell globs on the file name without .c.
BUILDER_LEVELS=(
    "paths: rootfs binfmt progress progress_* copy_links copy_tree copy_sources digest_cache secrets ssh_* image_diff sbom sbom_records attest" # paths in a rootfs, progress, the copy engine, --secret/--ssh, image diffs
    "fetch: fetch_* context*"                     # remote sources, build contexts
    "cache: cache cache_*"                        # keys and records, prune; never history
    "stage: stage stage_lazy base base_tree"     # stage state, overlay step, FROM bases, lazy base
    "steps: step_* instr_* image output metadata" # the instructions; the image and its outputs
    "driver: build build_verify platform"                  # orders stages, dispatches; --verify
)

graph=0
if [ "${1:-}" = --graph ]; then
    graph=1
    shift
fi
B=${1:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
status=0

# check NAME SRCDIR OBJDIR ALL LEVEL...: SRCDIR's files placed by the LEVELs, their objects in
# OBJDIR. ALL=1: every SRCDIR/*.c must match a level. Sets status=1 on a failure.
check() {
    local name=$1 src=$2 objdir=$3 all=$4
    shift 4
    local -A level_of=() level_name=() owner=() used=()
    local i=0 spec pat f n bad=0 sym

    for spec in "$@"; do
        level_name[$i]=${spec%%:*}
        for pat in ${spec#*:}; do
            for f in "$TOP/$src"/$pat.c; do
                [ -f "$f" ] || continue
                n=$(basename "$f" .c)
                level_of[$n]=$i
            done
        done
        i=$((i + 1))
    done
    if [ "$all" = 1 ]; then
        for f in "$TOP/$src"/*.c; do
            n=$(basename "$f" .c)
            if [ -z "${level_of[$n]+x}" ]; then
                echo "layer-check: $src/$n.c has no level: add it to ${0##*/}"
                bad=$((bad + 1))
            fi
        done
    fi
    for n in "${!level_of[@]}"; do
        if [ ! -f "$objdir/$n.o" ]; then
            echo "layer-check: $objdir/$n.o missing: build first (make layer-check)"
            status=1
            return
        fi
        while read -r sym; do
            owner[$sym]=$n
        done < <(nm --defined-only -g "$objdir/$n.o" | awk 'NF == 3 { print $3 }')
    done
    for n in $(printf '%s\n' "${!level_of[@]}" | LC_ALL=C sort); do
        used=()
        while read -r sym; do
            f=${owner[$sym]:-}
            if [ -z "$f" ] || [ "$f" = "$n" ]; then
                continue
            fi
            used[$f]="${used[$f]:-}${used[$f]:+ }$sym"
            if [ "${level_of[$f]}" -gt "${level_of[$n]}" ]; then
                echo "layer-check: $src/$n.c (${level_name[${level_of[$n]}]}) uses $sym" \
                    "of $src/$f.c (${level_name[${level_of[$f]}]}, a higher level)"
                bad=$((bad + 1))
            fi
        done < <(nm -u "$objdir/$n.o" | awk '{ print $2 }' | LC_ALL=C sort)
        if [ "$graph" = 1 ]; then
            for f in $(printf '%s\n' "${!used[@]}" | LC_ALL=C sort); do
                echo "  $n.c -> $f.c: ${used[$f]}"
            done
        fi
    done
    if [ "$bad" -eq 0 ]; then
        echo "layer-check: $name: ok (${#level_of[@]} files, $# levels)"
    else
        echo "layer-check: $name: $bad upward uses"
        status=1
    fi
}

check registry layers/registry "$B/obj/layers/registry" 1 "${REGISTRY_LEVELS[@]}"
check builder builder "$B/obj/builder" 0 "${BUILDER_LEVELS[@]}"

# An error's code changes only through lade_error_set/lade_error_recode (STYLE.md 9).
if recode=$(cd "$TOP" && grep -nE '(err|e)->code[[:space:]]*=[^=]' --include='*.c' -r builder parser layers |
    grep -v '^builder/common/error.c:'); then
    echo "layer-check: error codes assigned outside builder/common/error.c:"
    printf '  %s\n' "$recode"
    status=1
else
    echo "layer-check: error codes: ok"
fi
exit "$status"

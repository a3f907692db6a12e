# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers of tests/bench/goals (issue 12's table): timing, the private dockerd, the table rows.
# Sourced after tests/integration/lib.sh and registry.sh; expects WORK, CACHE, RUNS, note, die.

# ---- timing ----
# secs CMD...: runs CMD (output to $WORK/logs/last.log), prints its wall time in seconds.
# Dirty pages of earlier work are flushed first, outside the timing. Dies when CMD fails.
secs() {
    local t0 t1 rc=0
    sync
    t0=$(date +%s%N)
    "$@" >"$WORK/logs/last.log" 2>&1 || rc=$?
    t1=$(date +%s%N)
    [ "$rc" -eq 0 ] || die "failed (exit $rc): $*" "$(tail -n 30 "$WORK/logs/last.log")"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

median() { # median NUMBERS...: the middle value (lower middle for an even count)
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# hyper_median NAME CMD: median wall seconds of CMD (a shell command line) over HYPER_RUNS runs
# after 2 warm-ups, by hyperfine; the JSON goes to $WORK/logs/hyper-NAME.json.
hyper_median() {
    local json="$WORK/logs/hyper-$1.json"
    hyperfine --style none --warmup 2 --runs "$HYPER_RUNS" --export-json "$json" "$2" \
        >"$WORK/logs/hyper-$1.log" 2>&1 || die "hyperfine $1 failed: $2" "$(tail -n 20 "$WORK/logs/hyper-$1.log")"
    python3 -c 'import json, sys; print("%.4f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$json"
}

# bytes_of DIR: apparent size of a tree in bytes (what both sides of a throughput read).
bytes_of() { du -sb --apparent-size -- "$1" | cut -f1; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }

# retire DIR: moves a store aside; deleted after all timing (TEST-ENV.md: deleting a big tree
# makes the next writes slow).
retire() { [ -e "$1" ] && mv -- "$1" "$WORK/trash/$(basename "$1").$RANDOM$RANDOM"; }

# largest_blob STORE: size in bytes of the largest blob in a lade store (a layer of a 1 GB tree).
largest_blob() { find "$1" -path '*/blobs/sha256/*' -type f -printf '%s\n' | sort -n | tail -n 1; }

# ---- the table ----
ROWS=()
# row GOAL WHAT ... (no "|" in any field: it separates the table's columns) LADE BASELINE RATIO TARGET: TARGET is "<=X" or ">=X" on RATIO, or "-".
row() {
    local met=-
    case $6 in
    '<='*) met=$(awk -v r="$5" -v t="${6#<=}" 'BEGIN { print (r != "-" && r + 0 <= t + 0) ? "met" : "NOT met" }') ;;
    '>='*) met=$(awk -v r="$5" -v t="${6#>=}" 'BEGIN { print (r != "-" && r + 0 >= t + 0) ? "met" : "NOT met" }') ;;
    esac
    ROWS+=("$1|$2|$3|$4|$5|$6|$met")
    note "goal $1: $2: lade $3, baseline $4, ratio $5 (target $6: $met)"
}

print_table() {
    echo
    echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
        "kernel $(uname -r), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
    local dv="not started"
    [ -n "$DK_PID" ] && dv=$(dk version --format '{{.Server.Version}}' 2>/dev/null | head -n 1)
    echo "$("$LADE" version 2>/dev/null | head -n 1); dockerd $dv (BuildKit);" \
        "buildah $(buildah --version | awk '{ print $3 }'); $RUNS run(s) per figure, medians"
    echo "load average before $LOAD_START, after $(cut -d' ' -f1-3 /proc/loadavg)"
    {
        echo "goal|what|lade|baseline|ratio|target|verdict"
        printf '%s\n' "${ROWS[@]}"
    } | column -t -s '|' -o ' | '
}

# ---- a private dockerd (tests/differential/run's way: own data root, exec root, socket) ----
DK_PID=
DK_SOCK=
dk() { DOCKER_BUILDKIT=1 DOCKER_CONFIG="$WORK/docker-config" /usr/bin/docker -H "unix://$DK_SOCK" "$@"; }

dockerd_start() {
    [ -n "$DK_PID" ] && return 0
    local d="$WORK/docker" i
    DK_SOCK="$d/docker.sock"
    mkdir -p "$d" "$WORK/docker-config"
    echo '{}' >"$d/daemon.json"
    echo '{}' >"$WORK/docker-config/config.json"
    /usr/sbin/dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
        --pidfile "$d/dockerd.pid" -H "unix://$DK_SOCK" \
        --containerd-namespace "lade-bench-$$" --containerd-plugins-namespace "lade-bench-$$-plugins" \
        --iptables=false --ip-masq=false --bridge=none >"$d/dockerd.log" 2>&1 &
    DK_PID=$!
    for ((i = 0; i < 120; i++)); do
        dk version >/dev/null 2>&1 && return 0
        kill -0 "$DK_PID" 2>/dev/null || break
        sleep 0.5
    done
    die "dockerd did not start" "$(tail -n 30 "$d/dockerd.log")"
}

# Stops our dockerd and the containerd it started (by pid), unmounts what they left.
dockerd_stop() {
    local i pid
    [ -n "$DK_PID" ] || return 0
    kill -TERM "$DK_PID" 2>/dev/null
    for ((i = 0; i < 60; i++)); do
        kill -0 "$DK_PID" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL "$DK_PID" 2>/dev/null
    wait "$DK_PID" 2>/dev/null
    pid=$(cat "$WORK/docker/exec/containerd/containerd.pid" 2>/dev/null)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        sleep 2
        kill -KILL "$pid" 2>/dev/null
    fi
    DK_PID=
}

# dk_build ARGS...: a BuildKit build on the host network (no bridge here, TEST-ENV.md).
dk_build() { dk build --network host --progress plain "$@"; }

# ---- buildah with its own storage ----
bh() {
    local store=$1
    shift
    buildah --root "$store/root" --runroot "$store/run" --storage-driver overlay "$@"
}
bh_build() { # bh_build STORE ARGS...
    local store=$1
    shift
    bh "$store" bud --layers --format oci --isolation oci "$@"
}

# ---- the debian base (goals 5 and 7): debootstrap once, cached as a tar in CACHE ----
debian_rootfs() {
    local tar="$CACHE/debian-rootfs.tar" mirror
    [ -s "$tar" ] && return 0
    command -v debootstrap >/dev/null || need_pkg debootstrap debootstrap
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    mirror=${mirror:-http://deb.debian.org/debian}
    note "debootstrap --variant=minbase bookworm (once, ~45 s; cached in $CACHE)"
    rm -rf "$CACHE/debian-root"
    debootstrap --variant=minbase bookworm "$CACHE/debian-root" "$mirror" >"$WORK/logs/debootstrap.log" 2>&1 ||
        die "debootstrap failed" "$(tail -n 20 "$WORK/logs/debootstrap.log")"
    tar -C "$CACHE/debian-root" --numeric-owner -cf "$tar.part" . && mv "$tar.part" "$tar"
    rm -rf "$CACHE/debian-root"
}

# debian_in_registry: builds the debian image with lade (FROM scratch, ADD of the rootfs tar),
# pushes it to a loopback docker-registry; sets DEBIAN_REF (REGISTRY/bench/debian:bookworm).
DEBIAN_REF=
debian_in_registry() {
    [ -n "$DEBIAN_REF" ] && return 0
    debian_rootfs
    registry_start
    DEBIAN_REF="$REG_HOST/bench/debian:bookworm"
    local ctx="$WORK/ctx/debian"
    mkdir -p "$ctx"
    ln -f "$CACHE/debian-rootfs.tar" "$ctx/rootfs.tar" 2>/dev/null || cp "$CACHE/debian-rootfs.tar" "$ctx/rootfs.tar"
    printf 'FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n' >"$ctx/Dockerfile"
    secs "$LADE" --root "$WORK/stores/debian-src" build -t "$DEBIAN_REF" "$ctx" >/dev/null
    secs "$LADE" --root "$WORK/stores/debian-src" --insecure-registry "$REG_HOST" push "$DEBIAN_REF" >/dev/null
}

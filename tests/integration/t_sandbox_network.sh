# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # commands for the image's shell
# RUN --network: default is a private namespace behind slirp4netns (outbound access, its own
# loopback, none of the host's loopback services or interfaces), host is the host's, none is
# loopback only. Written as the attacks of issue 9.

# free_port ADDR: a TCP port free on ADDR.
free_port() {
    python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"
}

# serve ADDR: an HTTP server on ADDR for $WORK/www (whose index.html says "served"); sets PORT.
serve() {
    mkdir -p "$WORK/www"
    echo served >"$WORK/www/index.html"
    PORT=$(free_port "$1")
    python3 -m http.server --bind "$1" --directory "$WORK/www" "$PORT" >/dev/null 2>&1 &
    register_cleanup_pid $!
    local i
    for i in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('$1', $PORT), 1)" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "the test's HTTP server on $1:$PORT did not start"
}

# register_cleanup_pid PID: killed when the case ends (the case's bash exits).
register_cleanup_pid() {
    CLEANUP_PIDS="${CLEANUP_PIDS:-} $1"
    # shellcheck disable=SC2064  # expanded now: the pids so far
    trap "kill $CLEANUP_PIDS 2>/dev/null || true" EXIT
}

# host_ip: this machine's address on its outbound interface (not loopback).
host_ip() {
    ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1
}

# probe_build NET ADDR PORT: builds a RUN that fetches http://ADDR:PORT/ with busybox nc and
# prints "served-count 1" when it got the page, else "served-count 0" (a result the progress'
# echo of the RUN line cannot contain); its output is in $OUT/$ERR.
probe_build() {
    local net=$1 addr=$2 port=$3
    [ -d "$WORK/ctx" ] || make_busybox_context "$WORK/ctx"
    cat >"$WORK/ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
RUN printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 3 $addr $port > /got 2>&1 || true; echo "served-count \$(grep -c served /got)"
EOF
    run_ok lade build --progress plain --no-cache --network "$net" -t probe:1 "$WORK/ctx"
}

t_network_default_cannot_reach_host_loopback() {
    serve 127.0.0.1
    probe_build default 127.0.0.1 "$PORT"
    assert_contains "$OUT$ERR" "served-count 0" "a default-network RUN reached the host's 127.0.0.1"
    # slirp's gateway 10.0.2.2 would alias the host's loopback without --disable-host-loopback
    probe_build default 10.0.2.2 "$PORT"
    assert_contains "$OUT$ERR" "served-count 0" "10.0.2.2 leads to the host's loopback"
    probe_build host 127.0.0.1 "$PORT"
    assert_contains "$OUT$ERR" "served-count 1" "--network host reaches the host's loopback"
    # the RUN's own loopback works
    cat >"$WORK/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN (echo in$(echo side) | busybox nc -l -p 8099 &) ; sleep 0.5; busybox nc 127.0.0.1 8099 </dev/null
EOF
    run_ok lade build --progress plain --no-cache -t lo:1 "$WORK/ctx"
    assert_contains "$OUT$ERR" "inside" "the RUN's own loopback"
}

t_network_default_outbound() {
    local ip
    ip=$(host_ip)
    [ -n "$ip" ] || skip "no outbound IPv4 address on this machine"
    serve "$ip"
    probe_build default "$ip" "$PORT"
    assert_contains "$OUT$ERR" "served-count 1" "a default-network RUN reaches a server on the host's $ip"
}

# Only the namespace's own interfaces: lo and tap0, not the host's; an AF_PACKET socket
# (allowed: docker grants CAP_NET_RAW) can bind to none of the host's interfaces.
t_network_default_interfaces() {
    local hostif
    hostif=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1)
    [ -n "$hostif" ] || skip "no outbound interface on this machine"
    command -v cc >/dev/null || skip "no C compiler for the AF_PACKET helper"
    make_busybox_context "$WORK/ctx"
    cat >"$WORK/packet.c" <<'EOF'
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) { printf("socket: %s\n", strerror(errno)); return 0; }
    struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                            .sll_ifindex = (int) if_nametoindex(argv[1])};
    if (a.sll_ifindex == 0) { printf("no interface %s\n", argv[1]); return 0; }
    printf(bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 ? "bound %s\n" : "bind failed %s\n", argv[1]);
    return 0;
}
EOF
    cc -static -o "$WORK/ctx/rootfs/bin/packet" "$WORK/packet.c" || skip "no static libc to build the helper"
    cat >"$WORK/ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
RUN echo ifaces \$(ls /sys/class/net); packet $hostif; packet tap0
EOF
    run_ok lade build --progress plain --no-cache -t pk:1 "$WORK/ctx"
    assert_contains "$OUT$ERR" "ifaces lo tap0"
    assert_contains "$OUT$ERR" "no interface $hostif" "AF_PACKET reached the host's $hostif"
    assert_contains "$OUT$ERR" "bound tap0"
    run_ok lade build --progress plain --no-cache --network host -t pk:1 "$WORK/ctx"
    assert_contains "$OUT$ERR" "bound $hostif" "--network host sees the host's interfaces"
    run_ok lade build --progress plain --no-cache --network none -t pk:1 "$WORK/ctx"
    assert_contains "$OUT$ERR" "ifaces lo"
    assert_not_contains "$OUT$ERR" "tap0 "
    assert_contains "$OUT$ERR" "no interface $hostif"
}

t_network_none_is_loopback_only() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN echo ifaces $(ls /sys/class/net) && ip link show lo | head -1
RUN --network=host echo hostifaces $(ls /sys/class/net)
EOF
    run_ok lade build --progress plain --no-cache --network none -t none:1 "$WORK/ctx"
    assert_contains "$OUT$ERR" "ifaces lo
" "--network none has only lo"
    assert_contains "$OUT$ERR" "LOOPBACK,UP"
    assert_not_contains "$OUT$ERR" "hostifaces lo
" "RUN --network=host sees the host's interfaces"
}

# DNS from inside: the host's resolver through slirp (or 10.0.2.3 when the host's is local).
t_network_default_dns() {
    getent hosts deb.debian.org >/dev/null 2>&1 || skip "no DNS on this machine (deb.debian.org does not resolve)"
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN cat /etc/resolv.conf; busybox nslookup deb.debian.org && echo "dns $(echo ok)"
EOF
    run_ok lade build --progress plain --no-cache -t dns:1 "$WORK/ctx"
    assert_contains "$OUT$ERR" "dns ok" "name resolution inside a default-network RUN"
    assert_not_contains "$OUT$ERR" "nameserver 127." "a loopback nameserver in the RUN's resolv.conf"
}

# slirp4netns missing: a clear error, never the host's network instead.
t_network_default_without_slirp4netns() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN echo ran
EOF
    mkdir -p "$WORK/empty-bin"
    # 4, as every failure to set up a RUN's sandbox (step_run.c recodes them)
    assert_exit 4 env PATH="$WORK/empty-bin" "$LADE" --root "$ROOT" build --progress plain -t x:1 "$WORK/ctx"
    assert_contains "$ERR" "slirp4netns (Debian package slirp4netns)"
    assert_contains "$ERR" "--network host"
    assert_not_contains "$OUT$ERR" "#3 0." "the RUN ran"
    run_ok env PATH="$WORK/empty-bin" "$LADE" --root "$ROOT" build --progress plain --network host -t x:1 "$WORK/ctx"
}

# slirp4netns ends with the RUN: after success, failure, and a kill -9 of lade.
t_network_default_leaves_no_slirp() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN echo ok
EOF
    run_ok lade build --progress plain -t ok:1 "$WORK/ctx"
    sed -i 's/echo ok/exit 3/' "$WORK/ctx/Dockerfile"
    assert_exit 4 lade build --progress plain -t ok:1 "$WORK/ctx"
    start_run_build slow:1 60
    local k slirp=""
    for k in $BUILD_KIDS; do
        grep -q slirp4netns "/proc/$k/cmdline" 2>/dev/null && slirp="$slirp $k"
    done
    [ -n "$slirp" ] || fail "no slirp4netns among the build's processes" "$BUILD_KIDS"
    kill -9 "$BUILD_PID"
    wait "$BUILD_PID" 2>/dev/null || true
    for k in $(seq 50); do
        kill -0 $slirp 2>/dev/null || break
        sleep 0.1
    done
    for k in $slirp; do
        [ ! -e "/proc/$k" ] || fail "slirp4netns $k outlived a killed lade"
    done
}

# The issue's acceptance case: apt-get update in a debian-based RUN with the default network.
# The base is a debootstrap of bookworm minbase from the host's mirror (~45 s, minutes on a
# loaded machine), kept in $LADE_TEST_DEBIAN (default /var/tmp/lade-test-bookworm) for the
# next run.
t_network_default_apt_get_update() {
    local mirror base=${LADE_TEST_DEBIAN:-/var/tmp/lade-test-bookworm}
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    curl -fsS -m 10 -o /dev/null "$mirror/dists/bookworm/Release" || skip "the Debian mirror $mirror is unreachable from the host"
    if [ ! -x "$base/usr/bin/apt-get" ]; then
        command -v debootstrap >/dev/null || skip "no debootstrap"
        rm -rf "$base.tmp"
        debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
            fail "debootstrap failed" "$(tail -5 "$WORK/debootstrap.log")"
        mv "$base.tmp" "$base"
    fi
    mkdir -p "$WORK/deb"
    cp -a "$base" "$WORK/deb/rootfs"
    cat >"$WORK/deb/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN apt-get update && echo "apt-update $(echo ok)"
EOF
    run_ok lade build --progress plain -t deb:1 "$WORK/deb"
    assert_contains "$OUT$ERR" "apt-update ok"
}

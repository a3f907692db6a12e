# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The rootless tier (issue 9): lade run by a user with a subordinate id range builds the image a
# root build gives, digest for digest; without a range it says what to add to /etc/subuid.

RL_USER=lade-rootless
RL_NOSUB=lade-nosubid

# rl_setup: a work directory the test users can read ($RL, with the lade binary in it), the
# users (system users: useradd gives them no subordinate ids), and a range for $RL_USER.
rl_setup() {
    [ "$(id -u)" -eq 0 ] || skip "needs root to create the test users"
    command -v newuidmap >/dev/null || fail "newuidmap missing: install uidmap"
    RL=$(mktemp -d /tmp/lade-rl.XXXXXX)
    chmod 0755 "$RL"
    register_cleanup "$RL"
    cp -- "$LADE" "$RL/lade"
    local u
    for u in "$RL_USER" "$RL_NOSUB"; do
        userdel "$u" >/dev/null 2>&1 || true
        sed -i "/^$u:/d" /etc/subuid /etc/subgid
        useradd --system --no-create-home --home-dir "$RL/home-$u" --shell /bin/sh "$u"
        mkdir -p "$RL/home-$u"
        chown "$u:" "$RL/home-$u"
    done
    trap 'userdel "$RL_USER" 2>/dev/null; userdel "$RL_NOSUB" 2>/dev/null; sed -i "/^$RL_USER:/d; /^$RL_NOSUB:/d" /etc/subuid /etc/subgid' EXIT
    # the first start after every range in use, as rootless_ids.c suggests
    local start
    start=$(awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }' \
        /etc/subuid /etc/subgid)
    usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" \
        "$RL_USER"
    runuser -u "$RL_USER" -- unshare --user true 2>/dev/null || skip "no user namespaces for users here"
}

# as_user USER ARGS...: lade as USER with its default store ($HOME/.local/share/lade).
as_user() {
    local u=$1
    shift
    say "+ ($u) lade $*"
    runuser -u "$u" -- env -u XDG_DATA_HOME -u LADE_ROOT HOME="$RL/home-$u" "$RL/lade" "$@"
}

rl_context() {
    write_context "$RL/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
RUN mkdir -p /data/a /old/sub && echo hi >/data/a/f && echo x >/old/sub/y && echo z >/old/z
COPY --chown=1000:1000 rootfs/etc/passwd /data/passwd
RUN chown -R 1000:1000 /data && rm /etc/group && rm -rf /old && mkdir -p /old/sub
USER nobody
RUN touch /tmp/by-nobody && id -u >/tmp/id
EOF2
    printf 'nobody:x:65534:65534:nobody:/:/bin/sh\n' >>"$RL/ctx/rootfs/etc/passwd"
    chmod -R go+rX "$RL/ctx"
}

# The network flags both builds use: the default (slirp4netns) when this user may open
# /dev/net/tun, else --network none after checking the default's message.
rl_network() {
    if runuser -u "$RL_USER" -- sh -c '[ -r /dev/net/tun ] && [ -w /dev/net/tun ]'; then
        RL_NET=()
    else
        assert_exit "!0" as_user "$RL_USER" build -t rl:net "$RL/ctx"
        assert_contains "$ERR" "needs /dev/net/tun usable by this user"
        RL_NET=(--network none)
    fi
}

t_rootless_same_digest_as_root() {
    rl_setup
    rl_context
    rl_network
    run_ok lade build --progress plain "${RL_NET[@]}" -t rl:1 "$RL/ctx"
    local want store="$RL/home-$RL_USER/.local/share/lade"
    want=$(store_digest "$ROOT" docker.io/library/rl:1)
    assert_exit 0 as_user "$RL_USER" build --progress plain "${RL_NET[@]}" -t rl:1 "$RL/ctx"
    assert_exists "$store/oci/index.json" "the rootless store is not under \$HOME/.local/share/lade"
    assert_eq "$(store_digest "$store" docker.io/library/rl:1)" "$want" "rootless digest differs"
    [ "$(stat -c %U "$store/oci/index.json")" = "$RL_USER" ] || fail "store not owned by the user"
    # what RUN saw: the image's ids, not the host's subordinate ones
    assert_exit 0 as_user "$RL_USER" run --rm --network none rl:1 \
        sh -c 'stat -c "%u:%g %n" /data/a/f /data/passwd /tmp/by-nobody; cat /tmp/id; ls -A /old; ls /etc'
    assert_eq "$OUT" "1000:1000 /data/a/f
1000:1000 /data/passwd
65534:65534 /tmp/by-nobody
65534
sub
hosts
passwd
resolv.conf"
    assert_exit 0 as_user "$RL_USER" info
    assert_contains "$OUT" "isolation: rootless"
    assert_contains "$OUT" "  rootless: available"
    assert_exit 0 as_user "$RL_USER" images
    assert_contains "$OUT" "rl "
    # a second build is all cached, and rmi + prune can remove trees owned by subordinate ids
    assert_exit 0 as_user "$RL_USER" build --progress plain "${RL_NET[@]}" -t rl:1 "$RL/ctx"
    assert_contains "$ERR" "#5 CACHED"
    assert_exit 0 as_user "$RL_USER" rmi rl:1
    assert_exit 0 as_user "$RL_USER" prune --all
    assert_eq "$(find "$store/layers" -mindepth 1 | wc -l)" "0" "prune left extracted layers"
    assert_no_mounts "$RL"
}

t_rootless_without_subid_range() {
    rl_setup
    rl_context
    grep -q "^$RL_NOSUB:" /etc/subuid && fail "$RL_NOSUB has a subuid range"
    assert_exit 1 as_user "$RL_NOSUB" build --network none -t rl:1 "$RL/ctx"
    assert_contains "$ERR" "rootless lade needs subordinate ids for user '$RL_NOSUB', and /etc/subuid has none"
    assert_match "$ERR" "add the line '$RL_NOSUB:[0-9]+:65536' to /etc/subuid and to /etc/subgid"
    assert_not_exists "$RL/home-$RL_NOSUB/.local/share/lade/layers"
    assert_exit 0 as_user "$RL_NOSUB" info
    assert_contains "$OUT" "  rootless: not available: rootless lade needs subordinate ids"
    # commands that only read the store need no range
    assert_exit 0 as_user "$RL_NOSUB" images
    assert_contains "$OUT" "REPOSITORY"
}

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Isolation tiers (issue 9): lade info explains them, --isolation picks one, and the chroot
# tier (tier 3: a plain tree, the layer found by comparing it with a snapshot) gives the
# same image digest as the namespaces tier (tier 1: overlay) for the same Dockerfile, also when
# lade runs inside a default `podman run` and pushes to a registry.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# A Dockerfile whose RUN steps create, modify and delete files, change modes and owners,
# make symlinks and hardlinks, replace a directory and delete one, over two RUN layers and
# a COPY between them. A file with a hard link from an earlier layer is changed in place
# through one path and another one loses a link: overlay's copy-up breaks the links, so only
# the path written to reaches the layer, and the chroot tree must do the same.
isolation_context() {
    write_context "$1" <<'EOF2'
FROM scratch AS other
COPY rootfs/ /
RUN mkdir /o && echo other >/o/g && ln -s g /o/link

FROM scratch
COPY rootfs/ /
COPY --from=other /o /from-other
RUN --mount=type=bind,from=other,source=/o,target=/mnt/o cp /mnt/o/g /data-g
RUN mkdir -p /data/sub /gone/deep /swap && echo one >/data/a && echo m >/data/m && echo two >/data/b && \
    echo keep >/data/sub/k && echo x >/gone/deep/f && echo old >/swap/old && \
    ln -s a /data/link && ln /data/a /data/hard && echo h >/data/hl && ln /data/hl /data/hl2 && chmod 0600 /data/b && touch /tmp/t
COPY f /data/copied
RUN echo changed >>/data/m && echo more >>/data/a && rm /data/hl2 && rm /data/b && rm -rf /gone && chmod 0750 /data/sub && \
    chown 1000:1000 /data/sub/k && ln -s /data/sub /data/dirlink && ln /data/copied /data/c2 && \
    rm -rf /swap && mkdir /swap && echo new >/swap/new && mkdir -p /new/dir && \
    echo hi >/new/dir/f && mkfifo /new/fifo && rm /tmp/t && echo root >/etc/added
RUN true
RUN echo "$(cat /etc/hosts | wc -l) hosts lines" >/data/hosts-count && ls /dev >/dev/null
EOF2
    echo copied >"$1/f"
}

t_isolation_info_explains_tiers() {
    run_ok lade info
    assert_match "$OUT" '^isolation: (namespaces|rootless|chroot|none available)$'
    assert_contains "$OUT" "  namespaces: "
    assert_contains "$OUT" "  rootless: not available: lade runs as root (the tier is for other users)"
    assert_contains "$OUT" "  chroot: "
}

t_isolation_option_values() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
EOF2
    assert_exit 2 lade build --isolation sandbox "$WORK/ctx"
    assert_contains "$ERR" "--isolation must be auto, namespaces, rootless or chroot"
    assert_exit 2 lade build --isolation rootless "$WORK/ctx"
    assert_contains "$ERR" "--isolation rootless is not available here: lade runs as root"
    # docker's Windows-only value is taken as auto
    run_ok lade build --isolation default -t iso:1 "$WORK/ctx"
}

t_isolation_chroot_same_digest_as_namespaces() {
    [ "$(id -u)" = 0 ] || skip "needs root for the namespaces tier"
    "$LADE" info | grep -q '^  namespaces: available' || skip "the namespaces tier is not available"
    isolation_context "$WORK/ctx"
    run_ok lade build --isolation namespaces --no-cache --iidfile "$WORK/ns.id" -t iso:ns "$WORK/ctx"
    run_ok lade build --isolation chroot --no-cache --iidfile "$WORK/ch.id" -t iso:ch "$WORK/ctx"
    run_ok lade inspect --format '{{json .RootFS.Layers}}' iso:ns
    local ns_layers=$OUT
    run_ok lade inspect --format '{{json .RootFS.Layers}}' iso:ch
    assert_eq "$ns_layers" "$OUT" "every layer the same in both tiers"
    assert_eq "$(cat "$WORK/ns.id")" "$(cat "$WORK/ch.id")" "the same image"
    run_ok lade run --rm iso:ch cat /data/m /swap/new /data/hosts-count
    assert_eq "$(printf 'm\nchanged\nnew\n2 hosts lines')" "$OUT" "the chroot build's files"
}

t_isolation_chroot_refuses_what_it_cannot_do() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
RUN --mount=type=bind,source=rootfs,target=/src,rw touch /src/x
EOF2
    assert_exit 1 lade build --isolation chroot "$WORK/ctx"
    assert_contains "$ERR" "RUN --mount=type=bind,rw in the chroot isolation tier is not implemented yet"
    printf 'FROM scratch\nCOPY rootfs/ /\nRUN true\n' >"$WORK/ctx/Dockerfile"
    assert_exit 1 lade build --isolation chroot --network none "$WORK/ctx"
    assert_contains "$ERR" "--network none is not available in the chroot isolation tier"
    assert_exit 2 lade build --isolation chroot --memory 64m "$WORK/ctx"
    assert_contains "$ERR" "not available in the chroot isolation tier (no cgroup"
}

# RUN --mount without mounting: a cache moved in and out (kept between builds), a read-only
# bind of the context copied in, a tmpfs, a secret and a heredoc script: the same layers as
# the namespaces tier, and nothing of the mounts in them.
t_isolation_chroot_run_mounts() {
    [ "$(id -u)" = 0 ] || skip "needs root for the namespaces tier"
    "$LADE" info | grep -q '^  namespaces: available' || skip "the namespaces tier is not available"
    write_context "$WORK/ctx" <<'EOF2'
# syntax=docker/dockerfile:1
FROM scratch
COPY rootfs/ /
RUN --mount=type=cache,target=/tmp/cache n=$(cat /tmp/cache/n 2>/dev/null || echo 0) && \
    echo $((n + 1)) >/tmp/cache/n && cat /tmp/cache/n >/count
RUN --mount=type=bind,source=f,target=/etc/f --mount=type=tmpfs,target=/scratch \
    --mount=type=secret,id=s,target=/run/s cp /etc/f /from-bind && echo t >/scratch/x && \
    wc -c </run/s >/secret-size
RUN <<EOT
#!/bin/sh
echo script >/from-script
EOT
EOF2
    echo bound >"$WORK/ctx/f"
    echo -n secret >"$WORK/s"
    # a store of its own, so that both builds start with an empty cache mount
    run_ok "$LADE" --root "$WORK/root-ns" build --isolation namespaces --secret "id=s,src=$WORK/s" \
        --iidfile "$WORK/ns.id" "$WORK/ctx"
    run_ok lade build --isolation chroot --no-cache --secret "id=s,src=$WORK/s" --iidfile "$WORK/ch.id" \
        -t mounts:ch "$WORK/ctx"
    assert_eq "$(cat "$WORK/ns.id")" "$(cat "$WORK/ch.id")" "the same image with mounts"
    run_ok lade run --rm mounts:ch cat /count /from-bind /secret-size /from-script
    assert_eq "$(printf '1\nbound\n6\nscript')" "$OUT" "what the mounts gave"
    run_ok lade run --rm mounts:ch ls /tmp /etc
    assert_not_contains "$OUT" "cache" "the cache target left no trace"
    assert_not_contains "$OUT" "f$" "the bind target left no trace"
    # the cache went back to the store: the next build (no cache of steps) sees it
    run_ok lade build --isolation chroot --no-cache --secret "id=s,src=$WORK/s" -t mounts:2 "$WORK/ctx"
    run_ok lade run --rm mounts:2 cat /count
    assert_eq "2" "$OUT" "the cache mount kept its content between chroot builds"
}

# lade_image_context DIR: lade, its shared libraries and busybox, for an image to run lade in.
lade_image_context() {
    local lib
    make_busybox_context "$1"
    mkdir -p "$1/libs"
    # lade's own libraries, and those it loads on first use (libarchive, libcurl) with theirs
    local dl libs
    libs=$(ldd "$LADE")
    for dl in libarchive.so.13 libcurl.so.4; do
        dl=$(ldconfig -p | awk -v n="$dl" '$1 == n && /x86-64/ { print $NF; exit }')
        [ -n "$dl" ] || fail "ldconfig does not know $dl"
        libs+=$'\n'"$dl"$'\n'"$(ldd "$dl")"
    done
    for lib in $(grep -oE '/[^ ]+' <<<"$libs" | sort -u); do
        mkdir -p "$1/libs$(dirname "$lib")"
        cp -L -- "$lib" "$1/libs$lib"
    done
    cp -- "$LADE" "$1/lade"
    printf '%s\n' 'FROM scratch' 'COPY rootfs/ /' 'COPY libs/ /' 'COPY lade /usr/bin/lade' \
        'ENV PATH=/usr/bin:/bin' >"$1/Dockerfile"
}

# Issue 9's test: lade inside `podman run` with its default seccomp profile, capabilities and
# no new mount namespace (only --network host, so that the loopback registry is reachable)
# takes the chroot tier and pushes the same image a root build pushes.
t_isolation_podman_default_container_push() {
    [ "$(id -u)" = 0 ] || skip "needs root for the namespaces tier and podman"
    command -v podman >/dev/null || fail "podman is missing (DEB_TEST)"
    lade_image_context "$WORK/ladeimg"
    run_ok lade build -t ladeimg:1 -o "type=docker,dest=$WORK/ladeimg.tar" "$WORK/ladeimg"
    run_ok podman_ load -i "$WORK/ladeimg.tar"
    isolation_context "$WORK/ctx"
    registry_start
    run_ok lade build --isolation namespaces -t "$REG_HOST/iso:root" --push "$WORK/ctx"
    run_ok podman_ run --rm docker.io/library/ladeimg:1 lade info
    assert_contains "$OUT" "isolation: chroot"
    assert_contains "$OUT" "namespaces: not available: cannot create mount"
    run_ok podman_ run --rm --network host -v "$WORK/ctx:/ctx:ro" docker.io/library/ladeimg:1 \
        lade --root /tmp/store build -t "$REG_HOST/iso:podman" --push /ctx
    run_ok skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG_HOST/iso:root"
    local root_digest=$OUT
    run_ok skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG_HOST/iso:podman"
    assert_eq "$root_digest" "$OUT" "the image pushed from inside podman is the root build's"
    # a base pulled from the registry whose layer has an opaque directory (swap/): the store
    # in the container marks it without trusted.* xattrs, and RUN still sees it replaced
    mkdir -p "$WORK/ctx2"
    printf 'FROM %s\nRUN ls /swap >/swap-list\n' "$REG_HOST/iso:root" >"$WORK/ctx2/Dockerfile"
    run_ok lade build --isolation namespaces -t "$REG_HOST/iso:root2" --push "$WORK/ctx2"
    run_ok podman_ run --rm --network host -v "$WORK/ctx2:/ctx:ro" docker.io/library/ladeimg:1 \
        lade --root /tmp/store build -t "$REG_HOST/iso:podman2" --push /ctx
    run_ok skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG_HOST/iso:root2"
    root_digest=$OUT
    run_ok skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG_HOST/iso:podman2"
    assert_eq "$root_digest" "$OUT" "a base with an opaque directory, built inside podman"
}

# SIGTERM to lade (a cancelled CI job) reaches the chrooted RUN, which ends; nothing is left.
t_isolation_chroot_forwards_sigterm() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
RUN sleep 120
EOF2
    "$LADE" --root "$ROOT" build --isolation chroot "$WORK/ctx" >"$WORK/log" 2>&1 &
    local pid=$! i kids="" rc=0
    for i in $(seq 1 100); do
        kids=$(descendants "$pid" | xargs -r ps -o args= -p | grep -c '^sleep 120' || true)
        [ "$kids" -gt 0 ] && break
        sleep 0.2
    done
    [ "$kids" -gt 0 ] || fail "the RUN step did not start" "$(cat "$WORK/log")"
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    assert_eq 4 "$rc" "the RUN ended by the signal fails the build (exit 4)"
    assert_not_contains "$(ps -eo args=)" "sleep 120" "no RUN process left"
}

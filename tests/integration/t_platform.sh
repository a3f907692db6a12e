# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2119,SC2016
# Multi-platform builds (issue 11): --platform linux/amd64,linux/arm64 makes an OCI image index
# in the store, in -o type=oci and in a registry; RUN for arm64 runs under QEMU user emulation
# (binfmt_misc with the F flag, registered by `lade setup binfmt`); FROM --platform=$BUILDPLATFORM
# stages are built once. The arm64 image is busybox-static:arm64 from the Debian archive.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

PLATFORM_CACHE=${LADE_TEST_CACHE:-/var/cache/lade-tests}

# arm64_busybox: prints the path of an arm64 static busybox, downloaded once (TEST-ENV.md
# "Foreign architectures") and kept in $PLATFORM_CACHE; skips when the archive is unreachable.
arm64_busybox() {
    local dir="$PLATFORM_CACHE/busybox-arm64" tmp
    if [ ! -x "$dir/bin/busybox" ]; then
        tmp=$(mktemp -d "$WORK/bb.XXXXXX")
        if ! dpkg --print-foreign-architectures | grep -qx arm64; then
            dpkg --add-architecture arm64 || skip "cannot add the arm64 architecture to dpkg"
        fi
        { apt-get update -qq && (cd "$tmp" && apt-get download busybox-static:arm64); } \
            >"$tmp/log" 2>&1 || skip "the Debian archive is unreachable: $(tail -n 2 "$tmp/log")"
        mkdir -p "$dir.new" && dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$dir.new"
        rm -rf "$dir" && mv "$dir.new" "$dir"
    fi
    printf '%s\n' "$dir/bin/busybox"
}

# needs_emulation: arm64 binaries run through binfmt_misc (registered here when missing).
needs_emulation() {
    [ "$(host_arch)" = amd64 ] || skip "the tests pair amd64 with arm64 and need an amd64 host"
    [ -x /usr/bin/qemu-aarch64-static ] || skip "qemu-user-static is not installed (make deps)"
    if ! "$LADE" info | grep -q '^emulated: linux/arm64 '; then
        [ "$(id -u)" = 0 ] || skip "arm64 emulation is not registered and registering needs root"
        run_ok "$LADE" setup binfmt
    fi
    run_ok "$LADE" info
    assert_contains "$OUT" "emulated: linux/arm64 "
}

# two_arch_context DIR: rootfs-amd64/ and rootfs-arm64/ (busybox of each), a Dockerfile whose
# tools stage runs on the build platform and whose image records uname -m and the platform args.
two_arch_context() {
    local d=$1 bb
    bb=$(arm64_busybox)
    make_busybox_context "$d"
    mv "$d/rootfs" "$d/rootfs-amd64"
    cp -a "$d/rootfs-amd64" "$d/rootfs-arm64"
    cp "$bb" "$d/rootfs-arm64/bin/busybox"
    cat >"$d/Dockerfile" <<'DF'
FROM --platform=$BUILDPLATFORM scratch AS tools
ARG BUILDARCH
COPY rootfs-$BUILDARCH/ /
RUN echo "tools built on $(uname -m)" > /tool

FROM scratch
ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM
COPY rootfs-$TARGETARCH/ /
COPY --from=tools /tool /tool
RUN uname -m > /arch && echo "$TARGETPLATFORM $TARGETOS $TARGETARCH [$TARGETVARIANT] $BUILDPLATFORM" > /args
CMD ["cat", "/arch"]
DF
}

# index_manifest DIGEST ARCH: the manifest digest of ARCH in the stored index DIGEST.
index_manifest() {
    python3 -c 'import json,sys
i = json.load(open(sys.argv[1]))
print([m["digest"] for m in i["manifests"] if m["platform"]["architecture"] == sys.argv[2]][0])' \
        "$ROOT/oci/blobs/sha256/${1#sha256:}" "$2"
}

t_platform_index_in_store_runs_each_arch() {
    needs_emulation
    two_arch_context "$WORK/ctx"
    run_ok lade build --progress plain --platform linux/amd64,linux/arm64 -t multi:1 --iidfile "$WORK/iid" "$WORK/ctx"
    # the tools stage (FROM --platform=$BUILDPLATFORM) is built once: CACHED for arm64
    assert_eq "2" "$(printf '%s\n' "$ERR" | grep -c -- '] RUN echo "tools built on')" "the tools RUN appears per platform"
    assert_eq "CACHED" "$(printf '%s\n' "$ERR" | grep -F -A1 -- '] RUN echo "tools built on' | tail -n 1 | sed 's/^#[0-9]* //')" \
        "the second platform reuses the BUILDPLATFORM stage"
    local index amd arm
    index=$(store_digest "$ROOT" docker.io/library/multi:1)
    assert_eq "$index" "$(cat "$WORK/iid")" "--iidfile names the index"
    assert_json "$ROOT/oci/blobs/sha256/${index#sha256:}" \
        "j['mediaType'] == 'application/vnd.oci.image.index.v1+json' and sorted((m['platform']['os'], m['platform']['architecture']) for m in j['manifests']) == [('linux', 'amd64'), ('linux', 'arm64')] and all(m['mediaType'] == 'application/vnd.oci.image.manifest.v1+json' for m in j['manifests'])" \
        "the index has both platforms"
    amd=$(index_manifest "$index" amd64)
    arm=$(index_manifest "$index" arm64)
    run_ok lade run --rm "$arm" cat /arch /tool /args
    assert_eq "aarch64
tools built on x86_64
linux/arm64 linux arm64 [] linux/amd64" "$OUT" "the arm64 image ran uname -m under emulation"
    run_ok lade run --rm "$amd" cat /arch /args
    assert_eq "x86_64
linux/amd64 linux amd64 [] linux/amd64" "$OUT"
    # the name picks the host's platform, as docker and podman do
    run_ok lade run --rm multi:1
    assert_eq "x86_64" "$OUT"
    run_ok lade inspect multi:1
    assert_json - "j['Digest'] == '$amd' and j['Index'] == '$index' and j['Config']['architecture'] == 'amd64'" <<<"$OUT"
    run_ok lade images
    assert_contains "$OUT" "multi"
    # a docker archive holds the host's platform, an OCI one the index
    run_ok lade save -o "$WORK/d.tar" multi:1
    run_ok lade save --format oci -o "$WORK/o.tar" multi:1
    run_ok skopeo inspect --raw "oci-archive:$WORK/o.tar"
    assert_json - "len(j['manifests']) == 2" <<<"$OUT"
    run_ok lade tag multi:1 other:1
    assert_eq "$index" "$(store_digest "$ROOT" docker.io/library/other:1)" "tag keeps the index"
    run_ok lade rmi other:1
    assert_store_valid "$ROOT"
}

t_platform_push_index_skopeo_podman() {
    needs_emulation
    registry_start
    two_arch_context "$WORK/ctx"
    local name="$REG_HOST/lade/multi:1" index
    run_ok lade build --progress plain --platform linux/amd64,linux/arm64 --push -t "$name" "$WORK/ctx"
    index=$(store_digest "$ROOT" "$name")
    # the manifests by digest first, then the index under its tag
    assert_eq "2" "$(registry_count PUT '/v2/lade/multi/manifests/sha256:' 201)" "both manifests pushed by digest"
    assert_eq "1" "$(registry_count PUT '/v2/lade/multi/manifests/1' 201)" "the index pushed under its tag"
    run_ok skopeo inspect --tls-verify=false --raw "docker://$name"
    assert_json - "j['mediaType'] == 'application/vnd.oci.image.index.v1+json' and sorted(m['platform']['architecture'] for m in j['manifests']) == ['amd64', 'arm64']" \
        "skopeo reads the index back" <<<"$OUT"
    run_ok skopeo inspect --tls-verify=false "docker://$name"
    assert_json - "j['Digest'] == '$index'" <<<"$OUT"
    # podman pulls the arm64 image and runs it under the same emulation
    run_ok podman_ pull --tls-verify=false --platform linux/arm64 "docker://$name"
    run_ok podman_ run --rm --network=none --platform linux/arm64 "$name"
    assert_eq "aarch64" "$OUT" "podman ran the arm64 image"
    # lade push of the index-tagged name pushes the whole index again
    run_ok lade push "$name"
    assert_contains "$OUT" "$index"
}

t_platform_oci_archive_and_docker_refused() {
    needs_emulation
    two_arch_context "$WORK/ctx"
    assert_exit 2 lade build --platform linux/amd64,linux/arm64 -o "type=docker,dest=$WORK/d.tar" "$WORK/ctx"
    assert_contains "$ERR" "docker archives hold one platform; use type=oci"
    assert_not_exists "$WORK/d.tar"
    run_ok lade build --platform linux/amd64,linux/arm64 -t arch:1 -o "type=oci,dest=$WORK/o.tar" "$WORK/ctx"
    mkdir "$WORK/layout" && tar -xf "$WORK/o.tar" -C "$WORK/layout"
    assert_json "$WORK/layout/index.json" "j['manifests'][0]['mediaType'] == 'application/vnd.oci.image.index.v1+json'"
    # oci-image-tool and umoci read one image per ref: a ref per platform's manifest
    python3 - "$WORK/layout" <<'PY'
import json, sys
d = sys.argv[1]
top = json.load(open(d + "/index.json"))["manifests"][0]["digest"]
idx = json.load(open(d + "/blobs/sha256/" + top[7:]))
refs = [dict(m, annotations={"org.opencontainers.image.ref.name": m["platform"]["architecture"]})
        for m in idx["manifests"]]
json.dump({"schemaVersion": 2, "manifests": refs}, open(d + "/index.json", "w"))
PY
    local a
    for a in amd64 arm64; do
        run_ok oci-image-tool validate --type image --ref "name=$a" "$WORK/layout"
        assert_contains "$OUT$ERR" "Validation succeeded"
        run_ok umoci unpack --image "$WORK/layout:$a" "$WORK/bundle-$a"
        assert_exists "$WORK/bundle-$a/rootfs/arch"
    done
    assert_eq "x86_64" "$(cat "$WORK/bundle-amd64/rootfs/arch")"
    assert_eq "aarch64" "$(cat "$WORK/bundle-arm64/rootfs/arch")"
}

# -o type=local and type=tar with several platforms: one directory per platform, named as
# BuildKit's platform split names them (linux_amd64); --metadata-file describes the index.
t_platform_local_tar_metadata() {
    needs_emulation
    two_arch_context "$WORK/ctx"
    run_ok lade build --platform linux/amd64,linux/arm64 -t arch:1 -o "type=local,dest=$WORK/out" \
        -o "type=tar,dest=$WORK/out.tar" --metadata-file "$WORK/md.json" "$WORK/ctx"
    assert_eq "linux_amd64
linux_arm64" "$(ls "$WORK/out")"
    assert_eq "x86_64" "$(cat "$WORK/out/linux_amd64/arch")"
    assert_eq "aarch64" "$(cat "$WORK/out/linux_arm64/arch")"
    assert_eq "linux/arm64 linux arm64 [] linux/amd64" "$(cat "$WORK/out/linux_arm64/args")"
    assert_contains "$(tar -tf "$WORK/out.tar")" "linux_arm64/arch"
    mkdir "$WORK/untar" && tar -xf "$WORK/out.tar" -C "$WORK/untar"
    assert_eq "aarch64" "$(cat "$WORK/untar/linux_arm64/arch")"
    assert_eq "x86_64" "$(cat "$WORK/untar/linux_amd64/arch")"
    assert_not_exists "$WORK/out.tar.tmp"
    local index
    index=$(store_digest "$ROOT" docker.io/library/arch:1)
    assert_json "$WORK/md.json" "j['containerimage.digest'] == '$index' and j['containerimage.descriptor'] == {'mediaType': 'application/vnd.oci.image.index.v1+json', 'digest': '$index', 'size': j['containerimage.descriptor']['size']} and j['image.name'] == 'arch:1' and 'containerimage.config.digest' not in j"
    # the tar to stdout too
    lade build --progress quiet --platform linux/amd64,linux/arm64 -o - "$WORK/ctx" >"$WORK/stdout.tar" || fail "tar to stdout failed"
    assert_contains "$(tar -tf "$WORK/stdout.tar")" "linux_amd64/arch"
}

t_platform_bases_index_and_mismatch() {
    needs_emulation
    two_arch_context "$WORK/ctx"
    # a multi-platform local base: each platform's build takes its own manifest
    write_context "$WORK/base" <<'EOF'
FROM scratch
ARG TARGETARCH
COPY rootfs-$TARGETARCH/ /
EOF
    cp -a "$WORK/ctx/rootfs-amd64" "$WORK/ctx/rootfs-arm64" "$WORK/base/"
    run_ok lade build --platform linux/amd64,linux/arm64 -t localhost:9/base:1 "$WORK/base"
    write_context "$WORK/app" <<'EOF'
FROM localhost:9/base:1
RUN uname -m > /arch
EOF
    run_ok lade build --platform linux/arm64,linux/amd64 -t app:1 "$WORK/app"
    local index
    index=$(store_digest "$ROOT" docker.io/library/app:1)
    run_ok lade run --rm "$(index_manifest "$index" arm64)" cat /arch
    assert_eq "aarch64" "$OUT"
    # a platform the local index lacks is an error naming what it has
    assert_exit 1 lade build --platform linux/s390x -t app:2 "$WORK/app"
    assert_contains "$ERR" "no image for platform linux/s390x (the index has linux/amd64, linux/arm64)"
    # a single-platform base for another platform: used with BuildKit's warning
    run_ok lade build --platform linux/amd64 -t localhost:9/single:1 "$WORK/base"
    write_context "$WORK/app2" <<'EOF'
FROM localhost:9/single:1
COPY Dockerfile /df
EOF
    run_ok lade build --progress plain --platform linux/arm64 -t app2:1 "$WORK/app2"
    assert_contains "$ERR" 'InvalidBaseImagePlatform: base image localhost:9/single:1 was pulled with platform "linux/amd64", expected "linux/arm64"'
}

t_platform_missing_emulator_error() {
    [ "$(host_arch)" = amd64 ] || skip "needs an amd64 host"
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN true
EOF
    # lade knows no emulator for mips64le: RUN cannot run, and the error says what to do
    assert_exit 1 lade build --platform linux/mips64le "$WORK/ctx"
    assert_contains "$ERR" "RUN cannot execute for platform linux/mips64le on this linux/amd64 host"
    assert_contains "$ERR" "lade info"
    assert_contains "$ERR" "Dockerfile:3"
    # without RUN a foreign platform builds (nothing to execute)
    write_context "$WORK/norun" <<'EOF'
FROM scratch
COPY rootfs/ /
EOF
    run_ok lade build --platform linux/mips64le,linux/amd64 -t norun:1 "$WORK/norun"
    # an index without the host's platform: listed by its index, and run says what it has
    run_ok lade build --platform linux/mips64le,linux/riscv64 -t foreign:1 "$WORK/norun"
    run_ok lade images
    assert_match "$OUT" "foreign +1 +[0-9a-f]{12} "
    assert_exit 1 lade run --rm foreign:1 true
    assert_contains "$ERR" "no image for platform linux/amd64 (the index has linux/mips64le, linux/riscv64)"
    assert_exit 2 lade setup binfmt extra
}

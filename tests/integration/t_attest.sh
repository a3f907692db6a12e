# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2119,SC2016
# Attestations (issue 11): --sbom and --provenance attach in-toto statements as BuildKit does (an
# OCI index of the image and an unknown/unknown attestation manifest whose layers are the
# statements). Pushed to a loopback docker-registry, read back with skopeo and curl, validated
# against JSON Schemas written from the specs (schemas/, attest_check.py). The base image holds
# the dpkg status of a Debian tree: the one t_sandbox_network.sh debootstraps when it is there,
# else the host's own (a Debian 12 machine).

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# dpkg_base_context DIR: a busybox tree with a Debian dpkg status and os-release, and an app
# Dockerfile FROM the image base:1 that the case builds from DIR/base.
dpkg_base_context() {
    local d=$1 deb=${LADE_TEST_DEBIAN:-/var/tmp/lade-test-bookworm} src=/
    [ -s "$deb/var/lib/dpkg/status" ] && src=$deb
    [ -s "$src/var/lib/dpkg/status" ] || skip "no dpkg status on this host"
    make_busybox_context "$d/base"
    mkdir -p "$d/base/rootfs/var/lib/dpkg" "$d/base/rootfs/usr/lib"
    cp "$src/var/lib/dpkg/status" "$d/base/rootfs/var/lib/dpkg/status"
    cp -L "$src/etc/os-release" "$d/base/rootfs/usr/lib/os-release"
    printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n' >"$d/base/Dockerfile"
    mkdir -p "$d/app"
    cat >"$d/app/Dockerfile" <<'DF'
FROM base:1
ARG VERSION=1
RUN echo "app $VERSION" > /app && rm /usr/lib/os-release
CMD ["cat", "/app"]
DF
    # the version of a package the SBOM must list (dpkg itself is Essential on Debian)
    DPKG_VERSION=$(awk '/^Package: /{p=$2} p=="dpkg" && /^Version: /{print $2; exit}' "$src/var/lib/dpkg/status")
    [ -n "$DPKG_VERSION" ] || fail "no dpkg package in $src/var/lib/dpkg/status"
}

# blob DIGEST: a blob of repository lade/att from the test registry, on stdout.
blob() { curl -fsS "http://$REG_HOST/v2/lade/att/blobs/$1"; }

t_attest_push_skopeo_schemas_podman() {
    registry_start
    dpkg_base_context "$WORK"
    run_ok lade build -q -t base:1 "$WORK/base"
    local base_digest name="$REG_HOST/lade/att:1" index image att df_digest
    base_digest=$(store_digest "$ROOT" docker.io/library/base:1)
    run_ok lade build --progress plain --sbom --provenance --build-arg VERSION=7 --push -t "$name" "$WORK/app"
    index=$(store_digest "$ROOT" "$name")
    run_ok skopeo inspect --tls-verify=false --raw "docker://$name"
    printf '%s\n' "$OUT" >"$WORK/index.json"
    assert_json "$WORK/index.json" "j['mediaType'] == 'application/vnd.oci.image.index.v1+json' and len(j['manifests']) == 2" \
        "an index of the image and its attestation manifest"
    image=$(json_get "$WORK/index.json" "j['manifests'][0]['digest']")
    att=$(json_get "$WORK/index.json" "j['manifests'][1]['digest']")
    assert_json "$WORK/index.json" "j['manifests'][0]['platform'] == {'architecture': 'amd64', 'os': 'linux'} or j['manifests'][0]['platform']['os'] == 'linux'"
    assert_json "$WORK/index.json" "j['manifests'][1]['platform'] == {'architecture': 'unknown', 'os': 'unknown'} and j['manifests'][1]['annotations'] == {'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': '$image'}" \
        "the attestation manifest is unknown/unknown and names the image"
    run_ok skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/lade/att@$att"
    printf '%s\n' "$OUT" >"$WORK/att.json"
    assert_json "$WORK/att.json" "[l['mediaType'] for l in j['layers']] == ['application/vnd.in-toto+json'] * 2 and [l['annotations']['in-toto.io/predicate-type'] for l in j['layers']] == ['https://spdx.dev/Document', 'https://slsa.dev/provenance/v1']" \
        "the layers are the statements, annotated with their predicate type"
    blob "$(json_get "$WORK/att.json" "j['layers'][0]['digest']")" >"$WORK/sbom.json" || fail "cannot fetch the SBOM statement"
    blob "$(json_get "$WORK/att.json" "j['layers'][1]['digest']")" >"$WORK/prov.json" || fail "cannot fetch the provenance statement"
    run_ok python3 "$INTEG_DIR/attest_check.py" "$WORK/sbom.json" "$WORK/prov.json"
    assert_eq "valid https://spdx.dev/Document
valid https://slsa.dev/provenance/v1" "$OUT"
    # both are about the image manifest
    assert_json "$WORK/sbom.json" "j['subject'][0]['digest']['sha256'] == '${image#sha256:}' and j['subject'][0]['name'] == 'pkg:docker/$REG_HOST/lade/att@1?platform=linux%2Famd64'"
    assert_json "$WORK/prov.json" "j['subject'] == $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["subject"])' "$WORK/sbom.json")"
    # the SBOM lists the base's dpkg packages (the Debian release from os-release, removed by a
    # later layer: whiteouts apply, so no distro is named)
    assert_json "$WORK/sbom.json" "[p['versionInfo'] for p in j['predicate']['packages'] if p['name'] == 'dpkg'] == ['$DPKG_VERSION']" \
        "the SBOM lists dpkg $DPKG_VERSION"
    assert_json "$WORK/sbom.json" "all('distro=' not in r['referenceLocator'] for p in j['predicate']['packages'] for r in p['externalRefs'])" \
        "os-release was removed in the image: no distro qualifier"
    # provenance: the Dockerfile's digest, the build arg, the base image by digest, lade's version
    df_digest=$(sha256sum "$WORK/app/Dockerfile" | cut -d' ' -f1)
    assert_json "$WORK/prov.json" "j['predicate']['buildDefinition']['externalParameters']['configSource'] == {'path': 'Dockerfile', 'digest': {'sha256': '$df_digest'}}"
    assert_json "$WORK/prov.json" "j['predicate']['buildDefinition']['externalParameters']['request']['args'] == {'build-arg:VERSION': '7'}"
    assert_json "$WORK/prov.json" "j['predicate']['buildDefinition']['resolvedDependencies'] == [{'uri': 'pkg:docker/docker.io/library/base@1?platform=linux%2Famd64', 'digest': {'sha256': '${base_digest#sha256:}'}}]" \
        "the base image is a resolved dependency"
    assert_json "$WORK/prov.json" "j['predicate']['runDetails']['builder']['version']['lade'] != '' and 'buildConfig' not in j['predicate']['buildDefinition']['internalParameters']"
    # podman pulls the index (its platform manifest) and runs it
    run_ok podman_ pull --tls-verify=false "docker://$name"
    run_ok podman_ run --rm --network=none "$name"
    assert_eq "app 7" "$OUT" "podman ran the image of the attested index"
    # lade push of the stored index pushes it whole again
    run_ok lade push "$name"
    assert_contains "$OUT" "$index"
}

t_attest_reproducible_and_off_by_default() {
    dpkg_base_context "$WORK"
    run_ok lade build -q -t base:1 "$WORK/base"
    run_ok lade build -q --sbom --provenance -t att:1 "$WORK/app"
    local first plain image
    first=$(store_digest "$ROOT" docker.io/library/att:1)
    # the subject names the -t name: the same name again, every step run again
    run_ok lade build -q --no-cache --sbom --provenance -t att:1 "$WORK/app"
    assert_eq "$first" "$(store_digest "$ROOT" docker.io/library/att:1)" "two builds give the same index"
    # --verify rebuilds the attestations too (their subject names the same -t name)
    run_ok lade build --progress quiet --sbom --provenance --verify -t att:1 "$WORK/app"
    assert_eq "reproducible: $first" "$OUT"
    # without the flags (or with them false) the image is the plain manifest it always was: the
    # index's image manifest, byte for byte
    run_ok lade build -q -t plain:1 "$WORK/app"
    plain=$(store_digest "$ROOT" docker.io/library/plain:1)
    image=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
        "$ROOT/oci/blobs/sha256/${first#sha256:}")
    assert_eq "$image" "$plain" "the attested index holds the same image"
    assert_json "$ROOT/oci/blobs/sha256/${plain#sha256:}" "j['mediaType'] == 'application/vnd.oci.image.manifest.v1+json'" \
        "no attestation: a plain manifest"
    run_ok lade build -q --sbom=false --provenance=false --attest type=sbom,disabled=true -t plain:2 "$WORK/app"
    assert_eq "$plain" "$(store_digest "$ROOT" docker.io/library/plain:2)"
    # SOURCE_DATE_EPOCH is the SBOM's created time (no wall clock otherwise)
    run_ok lade build -q --sbom --build-arg SOURCE_DATE_EPOCH=1700000000 -t att:3 "$WORK/app"
    run_ok lade save --format oci -o "$WORK/o.tar" att:3
    mkdir -p "$WORK/o" && tar -xf "$WORK/o.tar" -C "$WORK/o"
    assert_contains "$(cat "$WORK"/o/blobs/sha256/*)" '"created":"2023-11-14T22:13:20Z"'
}

t_attest_store_run_save_outputs() {
    dpkg_base_context "$WORK"
    run_ok lade build -q -t base:1 "$WORK/base"
    run_ok lade build -q --attest type=provenance,mode=max --attest type=sbom -t att:1 -o "type=oci,dest=$WORK/o.tar" "$WORK/app"
    run_ok skopeo inspect --raw "oci-archive:$WORK/o.tar"
    assert_json - "len(j['manifests']) == 2 and j['manifests'][1]['annotations']['vnd.docker.reference.type'] == 'attestation-manifest'" <<<"$OUT"
    # lade run, inspect and save pick the image, not the attestation manifest
    run_ok lade run --rm att:1
    assert_eq "app 1" "$OUT"
    run_ok lade inspect att:1
    assert_json - "j['Config']['architecture'] == 'amd64' or j['Config']['os'] == 'linux'" <<<"$OUT"
    run_ok lade save -o "$WORK/d.tar" att:1
    run_ok skopeo inspect --raw "docker-archive:$WORK/d.tar"
    assert_json - "j['mediaType'] == 'application/vnd.docker.distribution.manifest.v2+json'" <<<"$OUT"
    # mode=max records the instructions of the stages built
    local idx att prov
    idx=$(store_digest "$ROOT" docker.io/library/att:1)
    att=$(json_get "$ROOT/oci/blobs/sha256/${idx#sha256:}" "j['manifests'][1]['digest']")
    prov=$(json_get "$ROOT/oci/blobs/sha256/${att#sha256:}" "j['layers'][1]['digest']")
    assert_json "$ROOT/oci/blobs/sha256/${prov#sha256:}" "j['predicate']['buildDefinition']['internalParameters']['buildConfig']['stages'][0]['instructions'][0] == 'FROM base:1'"
    # a docker archive holds the image alone, with a warning (the store keeps the index)
    run_ok lade build --progress plain --sbom -t att:2 -o "type=docker,dest=$WORK/x.tar" "$WORK/app"
    assert_contains "$ERR" "WARNING: the docker archive holds the image $(json_get "$ROOT/oci/blobs/sha256/${idx#sha256:}" "j['manifests'][0]['digest']") without its attestations"
    run_ok skopeo inspect --raw "docker-archive:$WORK/x.tar"
    assert_json - "j['mediaType'] == 'application/vnd.docker.distribution.manifest.v2+json'" <<<"$OUT"
    run_ok podman_ load -i "$WORK/x.tar"
    run_ok podman_ run --rm --network=none docker.io/library/att:2
    assert_eq "app 1" "$OUT" "podman runs the image of the docker archive"
    assert_store_valid "$ROOT"
}

t_attest_flags_refused_clearly() {
    dpkg_base_context "$WORK"
    assert_exit 2 lade build --attest type=sbom,generator=docker/scout-sbom-indexer "$WORK/app"
    assert_contains "$ERR" "generator= (an SBOM scanner image) is not implemented yet"
    assert_exit 2 lade build --provenance=mode=medium "$WORK/app"
    assert_contains "$ERR" "mode must be min or max"
    assert_exit 2 lade build --attest type=provenance,version=v0.2 "$WORK/app"
    assert_contains "$ERR" "version=v0.2 is not implemented yet"
    assert_exit 2 lade build --attest type=signature "$WORK/app"
    assert_contains "$ERR" "type must be sbom or provenance"
    assert_exit 2 lade build --attest mode=max "$WORK/app"
    assert_contains "$ERR" "type= is required"
    assert_exit 2 lade build --sbom=mode=max "$WORK/app"
    assert_contains "$ERR" '"mode" is not supported'
}

# Two platforms without RUN (no emulation needed): each platform's image has its attestation
# manifest in the one index.
t_attest_two_platforms() {
    make_busybox_context "$WORK/ctx"
    printf 'FROM scratch\nCOPY rootfs/ /\n' >"$WORK/ctx/Dockerfile"
    run_ok lade build -q --platform linux/amd64,linux/arm64 --sbom --provenance -t multi:1 --metadata-file "$WORK/md.json" "$WORK/ctx"
    local idx
    idx=$(store_digest "$ROOT" docker.io/library/multi:1)
    assert_json "$ROOT/oci/blobs/sha256/${idx#sha256:}" "[m['platform']['architecture'] for m in j['manifests']] == ['amd64', 'unknown', 'arm64', 'unknown'] and j['manifests'][1]['annotations']['vnd.docker.reference.digest'] == j['manifests'][0]['digest'] and j['manifests'][3]['annotations']['vnd.docker.reference.digest'] == j['manifests'][2]['digest']"
    assert_json "$WORK/md.json" "j['containerimage.digest'] == '$idx' and j['containerimage.descriptor']['mediaType'] == 'application/vnd.oci.image.index.v1+json'"
}

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2119  # registry_start takes options, not the case's arguments
# Push and pull against the real distribution registry (registry.sh), read back and written by
# skopeo: digests kept, blobs not sent twice, cross-repository mounts, multi-platform indexes,
# chunked uploads, verified downloads, and the store valid after every failure.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# build_small NAME [ROOT]: a busybox image FROM scratch (no RUN) named NAME in the store ROOT.
build_small() {
    local root=${2:-$ROOT}
    [ -e "$WORK/small/Dockerfile" ] || write_context "$WORK/small" <<'EOF'
FROM scratch
COPY rootfs/ /
CMD ["echo", "small image"]
EOF
    run_ok "$LADE" --root "$root" build --progress plain -t "$1" "$WORK/small"
}

# pulled_digest: the digest on lade pull's (or push's) last output line "NAME: DIGEST".
pulled_digest() { printf '%s\n' "$OUT" | tail -n 1 | sed -n 's/^.*: \(sha256:[0-9a-f]*\)$/\1/p'; }

t_registry_push_skopeo_reads_back() {
    registry_start
    local name="$REG_HOST/lade/small:1" digest
    write_context "$WORK/small" <<'EOF'
FROM scratch
COPY rootfs/ /
CMD ["echo", "small image"]
EOF
    run_ok lade build --progress plain --push -t "$name" "$WORK/small"
    assert_match "$ERR" '#[0-9]+ pushing '"$REG_HOST"'/lade/small:1' "the build shows the push step"
    assert_match "$ERR" '#[0-9]+ sha256:[0-9a-f]{64} [0-9.]+[kM]?B / [0-9.]+[kM]?B [0-9.]+s done' \
        "BuildKit-style blob lines"
    digest=$(store_digest "$ROOT" "$name")
    run_ok skopeo inspect --tls-verify=false "docker://$name"
    assert_json - "j['Digest'] == '$digest'" "skopeo's digest of the pushed image" <<<"$OUT"
    run_ok skopeo copy --src-tls-verify=false "docker://$name" "oci:$WORK/layout:1"
    assert_json "$WORK/layout/index.json" "j['manifests'][0]['digest'] == '$digest'" \
        "skopeo copy to an OCI layout keeps the manifest digest"
    # lade push of a stored image prints the same digest
    run_ok lade push "$name"
    assert_eq "$digest" "$(pulled_digest)" "lade push's digest"
}

t_registry_pull_what_skopeo_pushed() {
    registry_start
    local other="$WORK/other-root" name="$REG_HOST/lade/fromskopeo:1" digest
    build_small docker.io/library/small:1 "$other"
    run_ok "$LADE" --root "$other" save small:1 -o "$WORK/small.tar" --format oci
    # docker's schema 2 format: lade keeps it (media types and bytes) through pull and push
    run_ok skopeo copy --format v2s2 --dest-tls-verify=false "oci-archive:$WORK/small.tar" "docker://$name"
    run_ok skopeo inspect --tls-verify=false "docker://$name"
    digest=$(json_get - "j['Digest']" <<<"$OUT")

    run_ok lade pull "$name"
    assert_eq "$digest" "$(pulled_digest)" "lade pull's digest is skopeo's"
    assert_match "$ERR" 'sha256:[0-9a-f]{12}: done [0-9.]+[kM]?B' "one line per blob"
    assert_eq "$digest" "$(store_digest "$ROOT" "$name")" "the tag in the store"
    assert_store_valid "$ROOT"
    # blobs the store has are not downloaded again
    local gets
    gets=$(registry_count GET '/blobs/sha256:')
    run_ok lade pull "$name"
    assert_eq "$gets" "$(registry_count GET '/blobs/sha256:')" "blob GETs of a second pull"
    # pushed to another repository: its blobs are mounted from where they were pulled, and
    # the manifest keeps its bytes and media type
    run_ok lade tag "$name" "$REG_HOST/lade/copy:1"
    run_ok lade push "$REG_HOST/lade/copy:1"
    assert_eq "$digest" "$(pulled_digest)" "the digest pushed back"
    [ "$(registry_count POST 'mount=.*&from=lade/fromskopeo' 201)" -ge 2 ] || fail "no mounts from lade/fromskopeo"
    run_ok skopeo inspect --raw --tls-verify=false "docker://$REG_HOST/lade/copy:1"
    assert_json - "j['mediaType'] == 'application/vnd.docker.distribution.manifest.v2+json'" \
        "the media type pushed back" <<<"$OUT"
    run_ok lade run --rm "$name" echo pulled and run
    assert_eq "pulled and run" "$OUT" "lade run of the pulled image"

    # a build FROM an image the store does not have pulls it first
    local fresh="$WORK/fresh-root"
    mkdir -p "$WORK/from"
    printf 'FROM %s\nRUN echo built > /built\nCMD ["cat", "/built"]\n' "$name" >"$WORK/from/Dockerfile"
    run_ok "$LADE" --root "$fresh" build --progress plain -t from:1 "$WORK/from"
    assert_match "$ERR" 'resolving '"$name" "the build resolves the base"
    run_ok "$LADE" --root "$fresh" run --rm from:1
    assert_eq "built" "$OUT" "the image built FROM the pulled base"
    assert_store_valid "$fresh"

    # by digest: the same manifest, looked up by NAME@DIGEST afterwards
    run_ok "$LADE" --root "$WORK/digest-root" pull "$REG_HOST/lade/fromskopeo@$digest"
    assert_eq "$digest" "$(pulled_digest)" "pull by digest"
    run_ok "$LADE" --root "$WORK/digest-root" run --rm "$REG_HOST/lade/fromskopeo@$digest" echo ok
    assert_eq "ok" "$OUT" "run by NAME@DIGEST"
}

t_registry_second_push_sends_no_blobs() {
    registry_start
    local name="$REG_HOST/lade/again:1" uploads
    build_small "$name"
    run_ok lade push "$name"
    uploads=$(registry_count POST '/blobs/uploads/')
    [ "$uploads" -ge 2 ] || fail "the first push started $uploads uploads (config and layer expected)"
    run_ok lade push "$name"
    assert_eq "$uploads" "$(registry_count POST '/blobs/uploads/')" "uploads started by the second push"
    assert_eq 0 "$(registry_count PUT '/blobs/uploads/.*digest=' | awk -v n="$uploads" '{print $1 - n}')" \
        "blob PUTs by the second push"
    assert_match "$ERR" 'already exists' "the second push reports existing blobs"
    # and a rebuild with --push (a cache hit: the same image) sends none either
    run_ok lade build --progress plain --push -t "$name" "$WORK/small"
    assert_eq "$uploads" "$(registry_count POST '/blobs/uploads/')" "uploads started by build --push"
    # -o type=registry with name= (BuildKit's form) pushes that name, again without blobs
    run_ok lade build --progress plain -o "type=registry,name=$REG_HOST/lade/again:2" "$WORK/small"
    assert_eq "$uploads" "$(registry_count POST '/blobs/uploads/')" "uploads started by -o type=registry"
    run_ok skopeo inspect --tls-verify=false "docker://$REG_HOST/lade/again:2"
    assert_json - "j['Digest'] == '$(store_digest "$ROOT" "$name")'" "the name= tag" <<<"$OUT"
}

t_registry_push_mounts_across_repositories() {
    registry_start
    local a="$REG_HOST/team/a:1" b="$REG_HOST/team/b:1"
    build_small "$a"
    run_ok lade push "$a"
    run_ok lade tag "$a" "$b"
    run_ok lade push "$b"
    assert_match "$ERR" 'mounted' "the push reports mounts"
    [ "$(registry_count POST 'mount=sha256:[0-9a-f]+&from=team/a' 201)" -ge 2 ] ||
        fail "the registry log shows no mounts from team/a" "$(grep -i mount "$REG_LOG" | tail -5)"
    assert_eq 0 "$(registry_count PUT '/v2/team/b/blobs/uploads/')" "no blob uploaded to team/b"
    run_ok skopeo inspect --tls-verify=false "docker://$b"
    assert_json - "j['Digest'] == '$(store_digest "$ROOT" "$a")'" "the mounted image reads back" <<<"$OUT"
}

# make_multiarch_layout LAYOUT OTHER_ARCH: rewrites the single-image OCI layout LAYOUT (skopeo
# copy of a registry image) into one whose only entry is an index of two images: the original
# and a copy whose config says OTHER_ARCH.
make_multiarch_layout() {
    python3 - "$1" "$2" <<'EOF'
import hashlib, json, os, sys
layout, other = sys.argv[1], sys.argv[2]
def blob(d): return os.path.join(layout, "blobs", "sha256", d.split(":")[1])
def put(obj, mt):
    data = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(blob(d), "wb").write(data)
    return {"mediaType": mt, "digest": d, "size": len(data)}
idx = json.load(open(os.path.join(layout, "index.json")))
host = idx["manifests"][0]
man = json.load(open(blob(host["digest"])))
cfg = json.load(open(blob(man["config"]["digest"])))
host_arch = cfg["architecture"]
cfg["architecture"] = other
man["config"] = put(cfg, man["config"]["mediaType"])
other_desc = put(man, host["mediaType"])
entries = [dict(host, platform={"os": "linux", "architecture": host_arch}),
           dict(other_desc, platform={"os": "linux", "architecture": other})]
for e in entries:
    e.pop("annotations", None)
top = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": entries}, "application/vnd.oci.image.index.v1+json")
json.dump({"schemaVersion": 2, "manifests": [top]}, open(os.path.join(layout, "index.json"), "w"))
print(host["digest"], other_desc["digest"])
EOF
}

t_registry_multiplatform_index() {
    registry_start
    local single="$REG_HOST/lade/single:1" multi="$REG_HOST/lade/multi:1" other=arm64
    [ "$(uname -m)" = aarch64 ] && other=amd64
    build_small "$single"
    run_ok lade push "$single"
    run_ok skopeo copy --src-tls-verify=false "docker://$single" "oci:$WORK/layout"
    local digests host_digest other_digest
    digests=$(make_multiarch_layout "$WORK/layout" "$other")
    host_digest=${digests% *} other_digest=${digests#* }
    run_ok skopeo copy --all --dest-tls-verify=false "oci:$WORK/layout" "docker://$multi"
    run_ok skopeo inspect --raw --tls-verify=false "docker://$multi"
    assert_json - "len(j['manifests']) == 2" "the registry holds an index" <<<"$OUT"

    run_ok "$LADE" --root "$WORK/r1" pull "$multi"
    assert_eq "$host_digest" "$(pulled_digest)" "the host's platform by default"
    run_ok "$LADE" --root "$WORK/r2" pull --platform "linux/$other" "$multi"
    assert_eq "$other_digest" "$(pulled_digest)" "--platform linux/$other"
    run_ok "$LADE" --root "$WORK/r2" inspect "$multi"
    assert_json - "j['Config']['architecture'] == '$other'" "the pulled config" <<<"$OUT"
    # the other platform's manifest by digest: pulled as docker does, with a warning
    run_ok "$LADE" --root "$WORK/r5" pull "$REG_HOST/lade/multi@$other_digest"
    assert_contains "$ERR" "warning: the image's platform (linux/$other) does not match" "warning"
    assert_exit 1 "$LADE" --root "$WORK/r3" pull --platform linux/s390x "$multi"
    assert_contains "$ERR" "no image for platform linux/s390x" "no match"
    assert_contains "$ERR" "linux/$other" "the error lists the platforms"
    assert_store_valid "$WORK/r3"
    # a build for the other platform pulls its base, even with the host's in the store; RUN
    # would need emulation
    mkdir -p "$WORK/b"
    printf 'FROM %s\nCOPY Dockerfile /\n' "$multi" >"$WORK/b/Dockerfile"
    run_ok "$LADE" --root "$WORK/r4" build --progress plain -t b:1 "$WORK/b"
    run_ok "$LADE" --root "$WORK/r4" inspect b:1
    assert_json - "j['Config']['architecture'] != '$other'" "the host's build" <<<"$OUT"
    run_ok "$LADE" --root "$WORK/r4" build --progress plain --platform "linux/$other" -t b:1 "$WORK/b"
    run_ok "$LADE" --root "$WORK/r4" inspect b:1
    assert_json - "j['Config']['architecture'] == '$other'" "the built image's platform" <<<"$OUT"
    # RUN for it runs under emulation when binfmt_misc has it (t_platform.sh), else says how
    printf 'FROM %s\nRUN true\n' "$multi" >"$WORK/b/Dockerfile"
    if "$LADE" info | grep -q "^emulated: linux/$other "; then
        run_ok "$LADE" --root "$WORK/r4" build --progress plain --platform "linux/$other" "$WORK/b"
    else
        assert_exit 1 "$LADE" --root "$WORK/r4" build --progress plain --platform "linux/$other" "$WORK/b"
        assert_contains "$ERR" "no emulator is registered" "RUN for another platform"
    fi
}

t_registry_missing_tag_fails_cleanly() {
    registry_start
    build_small "$REG_HOST/lade/present:1"
    assert_exit 5 lade pull "$REG_HOST/lade/absent:1"
    assert_contains "$ERR" "$REG_HOST/lade/absent:1" "the error names the image"
    assert_match "$ERR" '404|unknown' "the registry's answer"
    assert_store_valid "$ROOT"
    mkdir -p "$WORK/m"
    printf 'FROM %s\n' "$REG_HOST/lade/absent:2" >"$WORK/m/Dockerfile"
    assert_exit 5 lade build --progress plain "$WORK/m"
    assert_contains "$ERR" "base image \"$REG_HOST/lade/absent:2\"" "the build names its base"
    assert_store_valid "$ROOT"
    assert_exit 2 lade build --push "$WORK/m"
    assert_contains "$ERR" "-t NAME" "--push without a name"
}

t_registry_tampered_blob_is_refused() {
    registry_start
    local name="$REG_HOST/lade/tamper:1" layer blobs_before
    build_small "$name"
    run_ok lade push "$name"
    layer=$(python3 - "$ROOT/oci" "$(store_digest "$ROOT" "$name")" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1] + "/blobs/sha256/" + sys.argv[2].split(":")[1]))
print(m["layers"][0]["digest"])
EOF
)
    # same size, one byte changed
    python3 - "$(registry_blob_path "$layer")" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(bytes(b))
EOF
    local fresh="$WORK/fresh"
    mkdir -p "$fresh"
    assert_exit 5 "$LADE" --root "$fresh" pull "$name"
    assert_contains "$ERR" "$layer" "the error names the layer"
    assert_contains "$ERR" "digest mismatch" "the error says why"
    assert_not_exists "$fresh/oci/blobs/sha256/${layer#sha256:}" "the bad layer is not stored"
    assert_eq "" "$(store_refs "$fresh")" "no tag after a failed pull"
    assert_eq "" "$(ls "$fresh/oci/blobs/sha256")" "no blob either: the store is unchanged"
    blobs_before=$(find "$fresh/tmp" -type f | wc -l)
    assert_eq 0 "$blobs_before" "nothing left in tmp/"
    assert_store_valid "$fresh"
}

# build_big NAME: an image with one uncompressed 20 MiB layer (pushed in chunks).
build_big() {
    mkdir -p "$WORK/big"
    random_file "$WORK/big/data" $((20 << 20)) 7
    printf 'FROM scratch\nCOPY data /data\n' >"$WORK/big/Dockerfile"
    run_ok lade build --progress plain --compression none -t "$1" "$WORK/big"
}

t_registry_chunked_push_resumes() {
    registry_start
    local name="$REG_HOST/lade/big:1"
    build_big "$name"
    # the second PATCH gets a 503 (seed 2 draws pass, then 503; the RNG draws only for matching
    # requests): the upload goes on from the offset the registry reports (GET on the upload
    # URL, Range 0-8388607), so no byte is sent twice
    fault_proxy_start --503 50 --seed 2 --max-faults 1 --match '^PATCH '
    local via="$PROXY_HOST/lade/big:1" size
    size=$(json_get "$ROOT/oci/blobs/sha256/$(store_digest "$ROOT" "$name" | cut -d: -f2)" 'j["layers"][0]["size"]')
    run_ok lade tag "$name" "$via"
    run_ok lade push --retries 4 "$via"
    [ "$(registry_count PATCH '/blobs/uploads/')" -ge 3 ] || fail "no chunked upload" "$(tail -5 "$REG_LOG")"
    assert_eq 1 "$(proxy_stat 's["faults"]["503"]')" "503s injected"
    assert_contains "$ERR" "resuming from the registry's offset" "the push resumed"
    [ "$(registry_count GET '/blobs/uploads/' 204)" -ge 1 ] || fail "no upload status asked"
    assert_eq "$size" "$(proxy_stat 's["body_bytes"]["PATCH"]')" "PATCH bytes: the layer once"
    run_ok skopeo inspect --tls-verify=false "docker://$name"
    assert_json - "j['Digest'] == '$(store_digest "$ROOT" "$name")'" "the chunked image reads back" <<<"$OUT"
    run_ok "$LADE" --root "$WORK/back" pull "$name"
    run_ok "$LADE" --root "$WORK/back" save "$name" -o "$WORK/back.tar" --format oci
    assert_store_valid "$WORK/back"
}

t_registry_build_pull_re_resolves_tags() {
    registry_start
    local base="$REG_HOST/lade/base:1" builder="$WORK/builder-root"
    write_context "$WORK/small" <<'EOF'
FROM scratch
COPY rootfs/ /
CMD ["echo", "version one"]
EOF
    run_ok lade build --progress plain --push -t "$base" "$WORK/small"
    mkdir -p "$WORK/app"
    printf 'FROM %s\nCOPY Dockerfile /app\n' "$base" >"$WORK/app/Dockerfile"
    run_ok "$LADE" --root "$builder" build --progress plain -t app:1 "$WORK/app"
    run_ok "$LADE" --root "$builder" run --rm app:1
    assert_eq "version one" "$OUT" "the first base"

    # the tag moves in the registry
    sed -i 's/version one/version two/' "$WORK/small/Dockerfile"
    run_ok lade build --progress plain --push -t "$base" "$WORK/small"
    run_ok "$LADE" --root "$builder" build --progress plain -t app:1 "$WORK/app"
    run_ok "$LADE" --root "$builder" run --rm app:1
    assert_eq "version one" "$OUT" "without --pull the stored base is used"
    run_ok "$LADE" --root "$builder" build --progress plain --pull -t app:1 "$WORK/app"
    assert_contains "$ERR" "resolving $base" "--pull asks the registry"
    run_ok "$LADE" --root "$builder" run --rm app:1
    assert_eq "version two" "$OUT" "--pull takes the tag's new image"
    assert_store_valid "$builder"
}

t_registry_chunked_push_restarts_dropped_upload() {
    # A PATCH reset after the registry took it, at an offset > 0: distribution 2.8 drops such an
    # upload when asked where it stands (the URL's state names the old offset), so the push
    # starts the blob again in a new session and still succeeds.
    registry_start
    local name="$REG_HOST/lade/big:1"
    build_big "$name"
    fault_proxy_start --reset 100 --where mid --max-faults 2 --match '^PATCH '
    run_ok lade tag "$name" "$PROXY_HOST/lade/big:1"
    run_ok lade push --retries 4 "$PROXY_HOST/lade/big:1"
    assert_contains "$ERR" "starting it again" "the upload started again"
    run_ok skopeo inspect --tls-verify=false "docker://$name"
    assert_json - "j['Digest'] == '$(store_digest "$ROOT" "$name")'" "the image reads back" <<<"$OUT"
}

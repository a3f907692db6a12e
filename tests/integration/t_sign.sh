# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2119  # registry_start takes options, not the case's arguments
# Signatures in cosign's format against the real distribution registry (registry.sh): sign and
# verify, a tampered payload and a changed manifest refused, the signature checked with the
# openssl CLI from what curl fetches (independently of lade's code), pull --verify-key, build
# --sign, encrypted keys.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

MT_MANIFEST=application/vnd.oci.image.manifest.v1+json

# sign_image NAME [CMD_TEXT]: a busybox image FROM scratch pushed as NAME (the CMD varies it).
push_image() {
    mkdir -p "$WORK/ctx-$2"
    write_context "$WORK/ctx-$2" <<EOF
FROM scratch
COPY rootfs/ /
CMD ["echo", "$2"]
EOF
    run_ok lade build --progress plain --push -t "$1" "$WORK/ctx-$2"
}

# registry_digest REPO REF: the manifest digest the registry serves for REF.
registry_digest() {
    curl -sfI -H "Accept: $MT_MANIFEST" "http://$REG_HOST/v2/$1/manifests/$2" |
        sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *\(sha256:[0-9a-f]*\).*/\1/p'
}

# sig_manifest REPO DIGEST: the .sig manifest's bytes, fetched with curl.
sig_manifest() {
    curl -sf -H "Accept: $MT_MANIFEST" "http://$REG_HOST/v2/$1/manifests/sha256-${2#sha256:}.sig"
}

# put_blob REPO FILE: uploads FILE as a blob with curl (POST then PUT ?digest=); prints its digest.
put_blob() {
    local digest loc
    digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
    loc=$(curl -sf -D - -o /dev/null -X POST "http://$REG_HOST/v2/$1/blobs/uploads/" |
        sed -n 's/^[Ll]ocation: *\([^[:space:]]*\).*/\1/p')
    case $loc in /*) loc="http://$REG_HOST$loc" ;; esac
    case $loc in *\?*) loc="$loc&digest=$digest" ;; *) loc="$loc?digest=$digest" ;; esac
    curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$loc" >/dev/null ||
        fail "curl could not upload $2"
    printf '%s\n' "$digest"
}

# put_manifest REPO REF FILE: PUTs an OCI manifest with curl.
put_manifest() {
    curl -sf -X PUT -H "Content-Type: $MT_MANIFEST" --data-binary "@$3" \
        "http://$REG_HOST/v2/$1/manifests/$2" >/dev/null || fail "curl could not put manifest $2"
}

gen_key() { run_ok lade sign --generate-key "$WORK/$1"; }

t_sign_verify_and_openssl_check() {
    registry_start
    local name="$REG_HOST/lade/signed:1" digest fp
    gen_key cosign
    assert_file_mode "$WORK/cosign.key" 600
    assert_match "$(head -n 1 "$WORK/cosign.key")" '^-----BEGIN PRIVATE KEY-----$' "an unencrypted PKCS#8 key"
    assert_match "$(head -n 1 "$WORK/cosign.pub")" '^-----BEGIN PUBLIC KEY-----$' "a public key PEM"
    run_ok openssl pkey -in "$WORK/cosign.key" -noout -text
    assert_contains "$OUT" "NIST CURVE: P-256" "openssl reads a P-256 key"
    fp="sha256:$(openssl pkey -pubin -in "$WORK/cosign.pub" -outform DER | sha256sum | cut -d' ' -f1)"
    # a key is never replaced
    assert_exit 2 lade sign --generate-key "$WORK/cosign"
    assert_contains "$ERR" "not replacing a key"

    push_image "$name" one
    digest=$(registry_digest lade/signed 1)
    [ -n "$digest" ] || fail "no digest for $name"
    run_ok lade sign --key "$WORK/cosign.key" "$name"
    assert_contains "$OUT" "signed $name ($digest) with key $fp"
    assert_contains "$OUT" "$REG_HOST/lade/signed:sha256-${digest#sha256:}.sig"
    assert_match "$OUT" "referrer: not pushed: .*referrers/$digest answered 404" \
        "distribution 2.8 has no referrers API: said so"

    run_ok lade verify --key "$WORK/cosign.pub" "$name"
    assert_contains "$OUT" "verified $name"
    assert_contains "$OUT" "digest: $digest"
    assert_contains "$OUT" "key: $fp"
    assert_contains "$OUT" "signatures: 1 valid of 1"
    # by digest too
    run_ok lade verify --key "$WORK/cosign.pub" "$REG_HOST/lade/signed@$digest"

    # another key: refused with exit 6
    gen_key other
    assert_exit 6 lade verify --key "$WORK/other.pub" "$name"
    assert_contains "$ERR" "no valid signature by key"
    assert_contains "$ERR" "does not verify"

    # the openssl CLI checks the signature from what curl fetches
    sig_manifest lade/signed "$digest" >"$WORK/sig.json" || fail "no .sig manifest"
    assert_json "$WORK/sig.json" "j['layers'][0]['mediaType'] == 'application/vnd.dev.cosign.simplesigning.v1+json'"
    local pdigest
    pdigest=$(json_get "$WORK/sig.json" "j['layers'][0]['digest']")
    json_get "$WORK/sig.json" "j['layers'][0]['annotations']['dev.cosignproject.cosign/signature']" |
        base64 -d >"$WORK/sig.der"
    curl -sf "http://$REG_HOST/v2/lade/signed/blobs/$pdigest" -o "$WORK/payload" || fail "no payload"
    run_ok openssl dgst -sha256 -verify "$WORK/cosign.pub" -signature "$WORK/sig.der" "$WORK/payload"
    assert_eq "Verified OK" "$OUT" "openssl verifies lade's signature"
    assert_exit 1 openssl dgst -sha256 -verify "$WORK/other.pub" -signature "$WORK/sig.der" "$WORK/payload"
    # cosign's simple signing payload, byte for byte
    assert_eq '{"critical":{"identity":{"docker-reference":"'"$REG_HOST"'/lade/signed"},"image":{"docker-manifest-digest":"'"$digest"'"},"type":"cosign container image signature"},"optional":null}' \
        "$(cat "$WORK/payload")" "the payload"
}

t_sign_tampered_payload_refused() {
    registry_start
    local name="$REG_HOST/lade/tamper:1" digest
    gen_key k
    push_image "$name" one
    run_ok lade sign --key "$WORK/k.key" "$name"
    digest=$(registry_digest lade/tamper 1)
    run_ok lade verify --key "$WORK/k.pub" "$name"

    # a payload naming another repository, with the old signature: the .sig manifest rewritten
    sig_manifest lade/tamper "$digest" >"$WORK/sig.json"
    local pdigest
    pdigest=$(json_get "$WORK/sig.json" "j['layers'][0]['digest']")
    curl -sf "http://$REG_HOST/v2/lade/tamper/blobs/$pdigest" -o "$WORK/payload"
    sed 's#/lade/tamper"#/lade/evil"#' "$WORK/payload" >"$WORK/payload.bad"
    assert_ne "$(cat "$WORK/payload")" "$(cat "$WORK/payload.bad")" "the payload was changed"
    local bad size
    bad=$(put_blob lade/tamper "$WORK/payload.bad")
    size=$(stat -c %s "$WORK/payload.bad")
    python3 - "$WORK/sig.json" "$bad" "$size" >"$WORK/sig.bad.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m['layers'][0]['digest'] = sys.argv[2]
m['layers'][0]['size'] = int(sys.argv[3])
sys.stdout.write(json.dumps(m, separators=(',', ':')))
EOF
    put_manifest lade/tamper "sha256-${digest#sha256:}.sig" "$WORK/sig.bad.json"
    assert_exit 6 lade verify --key "$WORK/k.pub" "$name"
    assert_contains "$ERR" "signature 1: the signature does not verify with this key over the payload"
    # openssl agrees
    json_get "$WORK/sig.json" "j['layers'][0]['annotations']['dev.cosignproject.cosign/signature']" |
        base64 -d >"$WORK/sig.der"
    assert_exit 1 openssl dgst -sha256 -verify "$WORK/k.pub" -signature "$WORK/sig.der" "$WORK/payload.bad"
    # pull refuses it and stores nothing (a store the build did not write)
    assert_exit 6 "$LADE" --root "$WORK/fresh" pull --verify-key "$WORK/k.pub" "$name"
    assert_eq "" "$(store_refs "$WORK/fresh")" "nothing stored"
}

t_sign_changed_manifest_refused() {
    registry_start
    local name="$REG_HOST/lade/moving:1" d1 d2
    gen_key k
    assert_exit 2 lade build --sign "$WORK/k.key" -t "$name" "$WORK"
    assert_contains "$ERR" "add --push"
    mkdir -p "$WORK/ctx-one"
    write_context "$WORK/ctx-one" <<'EOF'
FROM scratch
COPY rootfs/ /
CMD ["echo", "one"]
EOF
    run_ok lade build --progress plain --push --sign "$WORK/k.key" -t "$name" "$WORK/ctx-one"
    d1=$(registry_digest lade/moving 1)
    assert_contains "$OUT" "signed $name ($d1)"
    run_ok lade verify --key "$WORK/k.pub" "$name"

    # another image under the same tag: no signature names its manifest
    push_image "$name" two
    d2=$(registry_digest lade/moving 1)
    assert_ne "$d1" "$d2" "the tag moved"
    assert_exit 6 lade verify --key "$WORK/k.pub" "$name"
    assert_contains "$ERR" "is not signed: the repository has no tag sha256-${d2#sha256:}.sig"
    # the old signature copied to the new digest's tag: its payload names the old manifest
    sig_manifest lade/moving "$d1" >"$WORK/old-sig.json"
    put_manifest lade/moving "sha256-${d2#sha256:}.sig" "$WORK/old-sig.json"
    assert_exit 6 lade verify --key "$WORK/k.pub" "$name"
    assert_contains "$ERR" "the payload signs manifest $d1, not the image's $d2"
    # pull refuses it and stores nothing (a store the build did not write)
    assert_exit 6 "$LADE" --root "$WORK/fresh" pull --verify-key "$WORK/k.pub" "$name"
    assert_eq "" "$(store_refs "$WORK/fresh")" "nothing stored"
    # the old image by digest still verifies
    run_ok lade verify --key "$WORK/k.pub" "$REG_HOST/lade/moving@$d1"
}

t_sign_pull_verify_key() {
    registry_start
    local name="$REG_HOST/lade/pulled:1" digest fresh="$WORK/fresh-root"
    gen_key good
    gen_key bad
    push_image "$name" one
    digest=$(registry_digest lade/pulled 1)
    # unsigned: refused
    assert_exit 6 "$LADE" --root "$fresh" pull --verify-key "$WORK/good.pub" "$name"
    assert_contains "$ERR" "is not signed"
    run_ok lade sign --key "$WORK/good.key" "$name"
    assert_exit 6 "$LADE" --root "$fresh" pull --verify-key "$WORK/bad.pub" "$name"
    assert_eq "" "$(store_refs "$fresh")" "a refused pull stores nothing"
    run_ok "$LADE" --root "$fresh" pull --verify-key "$WORK/good.pub" "$name"
    assert_contains "$OUT" "signatures: 1 valid of 1"
    assert_eq "$digest" "$(store_digest "$fresh" "$name")" "the verified image is stored under its name"
    assert_store_valid "$fresh"
    # --verify-key is pull's alone
    assert_exit 2 lade push --verify-key "$WORK/good.pub" "$name"
    # build -q --sign: stdout keeps only the image ID, what was signed goes to stderr
    run_ok lade build -q --push --sign "$WORK/good.key" -t "$REG_HOST/lade/quiet:1" "$WORK/ctx-one"
    assert_match "$OUT" '^sha256:[0-9a-f]{64}$' "only the image ID on stdout"
    assert_eq 1 "$(printf '%s\n' "$OUT" | wc -l)" "one line on stdout"
    assert_contains "$ERR" "signed $REG_HOST/lade/quiet:1"
}

t_sign_encrypted_key_and_second_signature() {
    registry_start
    local name="$REG_HOST/lade/twice:1"
    LADE_SIGN_PASSWORD=s3cret run_ok lade sign --generate-key "$WORK/enc"
    assert_contains "$OUT" "encrypted with LADE_SIGN_PASSWORD"
    assert_match "$(head -n 1 "$WORK/enc.key")" '^-----BEGIN ENCRYPTED PRIVATE KEY-----$'
    run_ok openssl pkey -in "$WORK/enc.key" -passin pass:s3cret -noout
    push_image "$name" one
    assert_exit 2 env -u LADE_SIGN_PASSWORD "$LADE" --root "$ROOT" sign --key "$WORK/enc.key" "$name"
    assert_contains "$ERR" "is encrypted: set its password in LADE_SIGN_PASSWORD"
    assert_exit 2 env LADE_SIGN_PASSWORD=wrong "$LADE" --root "$ROOT" sign --key "$WORK/enc.key" "$name"
    assert_contains "$ERR" "wrong LADE_SIGN_PASSWORD"
    assert_exit 2 lade sign --key "$WORK/enc.pub" "$name"
    assert_contains "$ERR" "is a public key"
    LADE_SIGN_PASSWORD=s3cret run_ok lade sign --key "$WORK/enc.key" "$name"
    assert_contains "$OUT" "1 signature)"

    # a second key's signature is appended, as cosign does; each key verifies its own
    gen_key plain
    run_ok lade sign --key "$WORK/plain.key" "$name"
    assert_contains "$OUT" "2 signatures; appended to the existing ones"
    run_ok lade verify --key "$WORK/enc.pub" "$name"
    assert_contains "$OUT" "signatures: 1 valid of 2"
    run_ok lade verify --key "$WORK/plain.pub" "$name"
    assert_contains "$OUT" "signatures: 1 valid of 2"
    # ECDSA signatures are randomised, so a repeated signing adds a layer too; the payload
    # blob is shared
    run_ok lade sign --key "$WORK/plain.key" "$name"
    assert_contains "$OUT" "3 signatures"
    local digest
    digest=$(registry_digest lade/twice 1)
    sig_manifest lade/twice "$digest" >"$WORK/sig.json"
    assert_json "$WORK/sig.json" "len(set(l['digest'] for l in j['layers'])) == 1" "one payload"
}

t_sign_index() {
    # a multi-platform index is signed as cosign does: its own digest; pull --verify-key
    # then pulls the verified index's manifest for the host's platform
    registry_start
    local name="$REG_HOST/lade/multi:1" m1 s1 idx arch
    arch=$(host_arch)
    gen_key k
    push_image "$REG_HOST/lade/multi:one" one
    m1=$(registry_digest lade/multi one)
    s1=$(curl -sf -H "Accept: $MT_MANIFEST" "http://$REG_HOST/v2/lade/multi/manifests/one" | wc -c)
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"%s"}}]}' \
        "$MT_MANIFEST" "$m1" "$s1" "$arch" >"$WORK/index.json"
    curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
        --data-binary "@$WORK/index.json" "http://$REG_HOST/v2/lade/multi/manifests/1" >/dev/null ||
        fail "curl could not put the index"
    idx="sha256:$(sha256sum "$WORK/index.json" | cut -d' ' -f1)"
    run_ok lade sign --key "$WORK/k.key" "$name"
    assert_contains "$OUT" "signed $name ($idx)"
    run_ok "$LADE" --root "$WORK/fresh" pull --verify-key "$WORK/k.pub" "$name"
    assert_contains "$OUT" "digest: $idx"
    assert_eq "$m1" "$(store_digest "$WORK/fresh" "$name")" "the host's manifest of the verified index"
    # the pull asked for the verified digest, not the tag again
    assert_eq 1 "$(registry_count GET "/v2/lade/multi/manifests/$idx" 200)" "the index fetched by digest"
}

t_sign_token_auth_registry() {
    # scopes: sign pushes (pull,push) to the image's repository, verify only pulls
    registry_start --token erin:pw-erin
    export DOCKER_CONFIG="$WORK/docker"
    printf 'pw-erin\n' | "$LADE" --root "$ROOT" login -u erin --password-stdin "$REG_HOST" >/dev/null ||
        fail "login failed"
    local name="$REG_HOST/erin/app:1"
    gen_key k
    mkdir -p "$WORK/ctx"
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
EOF
    run_ok lade build --progress plain --push --sign "$WORK/k.key" -t "$name" "$WORK/ctx"
    assert_contains "$OUT" "signed $name"
    run_ok lade verify --key "$WORK/k.pub" "$name"
    assert_contains "$OUT" "signatures: 1 valid of 1"
    run_ok "$LADE" --root "$WORK/fresh" pull --verify-key "$WORK/k.pub" "$name"
    # without credentials: refused by the registry (6 as well), and the message says so
    export DOCKER_CONFIG="$WORK/empty-docker"
    assert_exit 6 lade verify --key "$WORK/k.pub" "$name"
    assert_contains "$ERR" "authentication required"
}

t_sign_cosign_interop() {
    command -v cosign >/dev/null 2>&1 ||
        skip "cosign is not installed (Debian bookworm has no cosign package)"
    registry_start
    local name="$REG_HOST/lade/cosign:1"
    gen_key k
    push_image "$name" one
    run_ok lade sign --key "$WORK/k.key" "$name"
    run_ok cosign verify --insecure-ignore-tlog --allow-insecure-registry --key "$WORK/k.pub" "$name"
}

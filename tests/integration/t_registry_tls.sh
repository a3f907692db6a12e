# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# HTTPS registries: a docker-registry with a certificate from a CA made by the test, on an
# address that is not loopback (a private address the test adds to lo, so lade speaks HTTPS).
# lade trusts docker's per-registry CA directory /etc/docker/certs.d/HOST:PORT/ca.crt, refuses
# an unknown CA, and with --insecure-registry speaks TLS without checking the certificate.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# tls_setup [--plain]: a private address on lo, a TLS (or plain HTTP) registry on it, an image.
tls_setup() {
    command -v ip >/dev/null 2>&1 || fail "ip not found (install iproute2)"
    local ip="10.213.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
    ip addr add "$ip/32" dev lo || fail "cannot add $ip to lo (needs root)"
    register_cleanup "ip addr del $ip/32 dev lo"
    if [ "${1:-}" = --plain ]; then registry_start --ip "$ip"; else registry_start --tls "$ip"; fi
    CERTS_D="/etc/docker/certs.d/$REG_HOST"
    register_cleanup "rm -rf '$CERTS_D'"
    write_context "$WORK/small" <<'EOF2'
FROM scratch
COPY rootfs/ /
CMD ["echo", "over tls"]
EOF2
    run_ok lade build -t "$REG_HOST/tls/small:1" "$WORK/small"
}

t_registry_tls_certs_d() {
    tls_setup
    local name="$REG_HOST/tls/small:1"
    # an unknown CA: refused, not retried into a hang, and said so
    assert_exit 5 lade --retries 1 push "$name"
    assert_match "$ERR" '[Cc]ertificate' "the error names the certificate problem"
    # docker's CA directory for this registry: trusted
    mkdir -p "$CERTS_D"
    cp "$REG_CA" "$CERTS_D/ca.crt"
    run_ok lade push "$name"
    run_ok skopeo inspect --cert-dir "$CERTS_D" "docker://$name"
    assert_json - "j['Digest'] == '$(store_digest "$ROOT" "$name")'" "skopeo reads what lade pushed over TLS" <<<"$OUT"
    run_ok lade --root "$WORK/root2" pull "$name"
    run_ok lade --root "$WORK/root2" run --rm "$name"
    assert_eq "over tls" "$OUT" "the pulled image runs"
}

t_registry_tls_insecure_registry() {
    tls_setup
    local name="$REG_HOST/tls/small:1"
    # no CA, but --insecure-registry: TLS without certificate checks, as docker does
    run_ok lade --insecure-registry "$REG_HOST" push "$name"
    run_ok lade --root "$WORK/root2" --insecure-registry "$REG_HOST" pull "$name"
    assert_eq "$(store_digest "$ROOT" "$name")" "$(store_digest "$WORK/root2" "$name")" "pulled digest"
    # and it did speak TLS: the registry logged no plain-HTTP request
    assert_not_contains "$(cat "$REG_LOG")" "http: TLS handshake error" "no plain HTTP sent to the TLS port"
}

t_registry_insecure_plain_http() {
    tls_setup --plain
    local name="$REG_HOST/plain/small:1"
    run_ok lade tag "$REG_HOST/tls/small:1" "$name"
    # not loopback and not listed: HTTPS, which a plain-HTTP registry cannot answer
    assert_exit 5 lade --retries 0 push "$name"
    # listed: the TLS probe fails, so plain HTTP, as docker does
    run_ok lade --insecure-registry "$REG_HOST" push "$name"
    run_ok lade --root "$WORK/root2" --insecure-registry "$REG_HOST" pull "$name"
    assert_eq "$(store_digest "$ROOT" "$name")" "$(store_digest "$WORK/root2" "$name")" "pulled digest"
}

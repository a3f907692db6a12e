# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Registry authentication against the real distribution registry (registry.sh): htpasswd Basic
# auth and Bearer tokens from a token issuer; lade login/logout and config.json (mode, atomic
# rewrite, other fields kept), a docker credential helper, and push/pull with and without the
# stored credentials. DOCKER_CONFIG points into $WORK so the real home is never touched.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

auth_setup() {
    export DOCKER_CONFIG="$WORK/docker"
    write_context "$WORK/small" <<'EOF'
FROM scratch
COPY rootfs/ /
CMD ["echo", "small image"]
EOF
}

# login_with USER PASSWORD [EXPECTED_EXIT]: lade login with the password on stdin.
login_with() {
    local want=${3:-0}
    printf '%s\n' "$2" >"$WORK/.pw"
    assert_exit "$want" "$LADE" --root "$ROOT" login -u "$1" --password-stdin "$REG_HOST" <"$WORK/.pw"
    rm -f "$WORK/.pw"
}

# assert_no_secret SECRET: neither the last command's output nor its error shows SECRET.
assert_no_secret() {
    assert_not_contains "$OUT" "$1" "the password in stdout"
    assert_not_contains "$ERR" "$1" "the password in stderr"
}

# assert_auth_entry USER:PASSWORD: config.json holds it as base64 under $REG_HOST, mode 0600.
assert_auth_entry() {
    local want
    want=$(printf '%s' "$1" | base64)
    assert_file_mode "$DOCKER_CONFIG/config.json" 600
    assert_json "$DOCKER_CONFIG/config.json" "j['auths']['$REG_HOST']['auth'] == '$want'" \
        "the auths entry of $REG_HOST"
}

t_registry_auth_basic_login_logout() {
    auth_setup
    registry_start --htpasswd alice:s3cret-pw
    login_with alice wrong-password-42 6
    assert_no_secret wrong-password-42
    assert_contains "$ERR" "$REG_HOST" "the error names the registry"
    assert_contains "$ERR" "alice were refused" "the error says the credentials were refused"
    assert_not_exists "$DOCKER_CONFIG/config.json" "no config written after a refused login"

    login_with alice s3cret-pw
    assert_no_secret s3cret-pw
    assert_eq "Login Succeeded" "$OUT" "login output"
    assert_auth_entry alice:s3cret-pw
    assert_file_mode "$DOCKER_CONFIG" 700

    local name="$REG_HOST/team/app:1"
    run_ok lade build --progress plain -t "$name" "$WORK/small"
    run_ok lade push "$name"
    run_ok "$LADE" --root "$WORK/root2" pull "$name"
    assert_eq "$(store_digest "$ROOT" "$name")" "$(store_digest "$WORK/root2" "$name")" \
        "the pulled image is the pushed one"

    run_ok lade logout "$REG_HOST"
    assert_contains "$OUT" "Removing login credentials for $REG_HOST"
    assert_json "$DOCKER_CONFIG/config.json" "'$REG_HOST' not in j.get('auths', {})" \
        "logout removes the entry"
    assert_exit 1 lade logout "$REG_HOST"
    assert_contains "$ERR" "not logged in to $REG_HOST"

    assert_exit 6 lade push "$name"
    assert_contains "$ERR" "$REG_HOST: authentication required (run 'lade login $REG_HOST')"
    assert_exit 6 "$LADE" --root "$WORK/root3" pull "$name"
    assert_contains "$ERR" "$REG_HOST: authentication required"
}

t_registry_auth_token_login_push_pull() {
    auth_setup
    registry_start --token bob:t0ken-pw
    login_with bob wrong-password-42 6
    assert_no_secret wrong-password-42
    assert_contains "$ERR" "$REG_HOST" "the error names the registry"
    assert_contains "$ERR" "refused by the token server" "the error says who refused"
    assert_not_exists "$DOCKER_CONFIG/config.json" "no config written after a refused login"

    login_with bob t0ken-pw
    assert_eq "Login Succeeded" "$OUT" "login output"
    assert_auth_entry bob:t0ken-pw

    local name="$REG_HOST/bob/app:1" before
    run_ok lade build --progress plain -t "$name" "$WORK/small"
    before=$(token_count)
    run_ok lade push "$name"
    # one token for the push scope, reused by every request (not one per blob)
    [ $(($(token_count) - before)) -eq 1 ] ||
        fail "the push made $(($(token_count) - before)) token requests" "$(tail -n 5 "$TOKEN_LOG")"
    run_ok "$LADE" --root "$WORK/root2" pull "$name"
    assert_eq "$(store_digest "$ROOT" "$name")" "$(store_digest "$WORK/root2" "$name")" \
        "the pulled image is the pushed one"
    assert_json - "j['account'] == 'bob' and j['granted']" "the last token was bob's" \
        <<<"$(tail -n 1 "$TOKEN_LOG")"

    # without credentials: the issuer grants nothing, the registry refuses
    export DOCKER_CONFIG="$WORK/empty-docker"
    assert_exit 6 lade push "$name"
    assert_contains "$ERR" "$REG_HOST: authentication required (run 'lade login $REG_HOST')"
    assert_exit 6 "$LADE" --root "$WORK/root3" pull "$name"
    assert_contains "$ERR" "$REG_HOST: authentication required"
    assert_not_exists "$WORK/empty-docker" "nothing written without a login"
}

t_registry_auth_config_fields_kept() {
    auth_setup
    registry_start --htpasswd carol:pw-carol
    mkdir -p "$DOCKER_CONFIG"
    cat >"$DOCKER_CONFIG/config.json" <<'EOF'
{
  "auths": {"other.example.com": {"auth": "eDp5"}},
  "proxies": {"default": {"noProxy": "*.internal"}},
  "detachKeys": "ctrl-e,e"
}
EOF
    chmod 644 "$DOCKER_CONFIG/config.json"
    login_with carol pw-carol
    assert_auth_entry carol:pw-carol
    assert_json "$DOCKER_CONFIG/config.json" "j['auths']['other.example.com'] == {'auth': 'eDp5'}" \
        "other auths entries kept"
    assert_json "$DOCKER_CONFIG/config.json" \
        "j['proxies'] == {'default': {'noProxy': '*.internal'}} and j['detachKeys'] == 'ctrl-e,e'" \
        "unknown fields kept"
    run_ok lade logout "$REG_HOST"
    assert_json "$DOCKER_CONFIG/config.json" \
        "list(j['auths']) == ['other.example.com'] and j['detachKeys'] == 'ctrl-e,e'" \
        "logout keeps the rest"
    assert_eq "" "$(find "$DOCKER_CONFIG" -name '*.tmp*')" "no temporary files left"
}

# A docker-credential-ladetest helper on PATH keeping its entries in $WORK/helper-store.
install_test_helper() {
    mkdir -p "$WORK/bin"
    cat >"$WORK/bin/docker-credential-ladetest" <<'EOF'
#!/bin/sh
store="$HELPER_STORE"
input=$(cat)
case $1 in
get)
    line=$(grep -F "\"ServerURL\":\"$input\"" "$store" 2>/dev/null | tail -n 1)
    [ -n "$line" ] || { echo "credentials not found in native keychain"; exit 1; }
    printf '%s\n' "$line" ;;
store)
    printf '%s\n' "$input" >>"$store" ;;
erase)
    grep -qF "\"ServerURL\":\"$input\"" "$store" 2>/dev/null ||
        { echo "credentials not found in native keychain"; exit 1; }
    grep -vF "\"ServerURL\":\"$input\"" "$store" >"$store.new"; mv "$store.new" "$store" ;;
*) echo "unknown verb $1"; exit 1 ;;
esac
EOF
    chmod 755 "$WORK/bin/docker-credential-ladetest"
    export PATH="$WORK/bin:$PATH" HELPER_STORE="$WORK/helper-store"
}

t_registry_auth_credential_helper() {
    auth_setup
    install_test_helper
    registry_start --token dave:pw-dave
    mkdir -p "$DOCKER_CONFIG"
    printf '{"credsStore": "ladetest"}\n' >"$DOCKER_CONFIG/config.json"
    login_with dave pw-dave
    assert_contains "$(cat "$HELPER_STORE")" '"Username":"dave"' "the helper got the credentials"
    assert_json "$DOCKER_CONFIG/config.json" "j['auths']['$REG_HOST'] == {}" \
        "config.json names the registry but holds no secret"
    assert_not_contains "$(cat "$DOCKER_CONFIG/config.json")" "pw-dave"

    local name="$REG_HOST/dave/app:1"
    run_ok lade build --progress plain -t "$name" "$WORK/small"
    run_ok lade push "$name"
    assert_json - "j['account'] == 'dave' and j['granted']" "the push used the helper's credentials" \
        <<<"$(tail -n 1 "$TOKEN_LOG")"
    run_ok lade logout "$REG_HOST"
    assert_eq "" "$(cat "$HELPER_STORE")" "the helper erased the entry"
    assert_exit 6 lade push "$name"
    assert_contains "$ERR" "authentication required"
}

# A registry front end (python3, started here) that wants Basic auth, forwards the API to a real
# registry and redirects blob GETs to a "storage" server on another port, which logs whether an
# Authorization header came with them.
start_redirecting_front() {
    cat >"$WORK/front.py" <<'PY'
import base64, http.server, sys, threading, urllib.error, urllib.request
upstream, log, portfile = sys.argv[1], sys.argv[2], sys.argv[3]
want = "Basic " + base64.b64encode(b"eve:pw-eve").decode()

def fetch(method, path, accept):
    req = urllib.request.Request("http://%s%s" % (upstream, path), method=method,
                                 headers={"Accept": accept or "*/*"})
    try:
        r = urllib.request.urlopen(req)
        return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def reply(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

class Storage(Handler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write("%s auth=%s\n" % (self.path, "yes" if "Authorization" in self.headers else "no"))
        status, _, data = fetch("GET", self.path, None)
        self.reply(status, [], data)

class Front(Handler):
    def serve(self):
        if self.headers.get("Authorization") != want:
            return self.reply(401, [("WWW-Authenticate", 'Basic realm="front"')], b"")
        if self.command == "GET" and "/blobs/" in self.path:
            loc = "http://127.0.0.1:%d%s" % (storage.server_port, self.path)
            return self.reply(307, [("Location", loc)], b"")
        status, h, data = fetch(self.command, self.path, self.headers.get("Accept"))
        keep = [(k, h[k]) for k in ("Content-Type", "Docker-Content-Digest") if h.get(k)]
        self.reply(status, keep, data)
    do_GET = do_HEAD = serve

storage = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Storage)
front = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
threading.Thread(target=storage.serve_forever, daemon=True).start()
open(portfile, "w").write(str(front.server_port))
front.serve_forever()
PY
    : >"$WORK/storage.log"
    _reg_spawn "$WORK/front.out" python3 "$WORK/front.py" "$REG_HOST" "$WORK/storage.log" "$WORK/front.port"
    _reg_wait_file "$WORK/front.port" "$_REG_SPAWNED" || fail "front end did not start" "$(cat "$WORK/front.out")"
    FRONT_HOST="127.0.0.1:$(cat "$WORK/front.port")"
}

t_registry_auth_redirect_drops_authorization() {
    auth_setup
    registry_start
    local name="$REG_HOST/shop/app:1"
    run_ok lade build --progress plain -t "$name" "$WORK/small"
    run_ok lade push "$name"
    start_redirecting_front
    printf 'pw-eve\n' >"$WORK/.pw"
    run_ok "$LADE" --root "$ROOT" login -u eve --password-stdin "$FRONT_HOST" <"$WORK/.pw"
    run_ok "$LADE" --root "$WORK/root2" pull "$FRONT_HOST/shop/app:1"
    assert_eq "$(store_digest "$ROOT" "$name")" "$(store_digest "$WORK/root2" "$FRONT_HOST/shop/app:1")" \
        "the image pulled through redirects"
    assert_eq 0 "$(grep -c 'auth=yes' "$WORK/storage.log" || true)" \
        "requests to the other host that carried the registry's Authorization"
    [ "$(grep -c 'auth=no' "$WORK/storage.log")" -ge 2 ] ||
        fail "the blobs were not fetched from the storage server" "$(cat "$WORK/storage.log")"
}

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Local registries for lade's integration tests and benchmarks: Debian's docker-registry
# (distribution 2.8) on a free loopback port, optionally behind Basic or Bearer token auth, and a
# fault-injecting proxy in front of it. Source after lib.sh (it uses WORK, fail, say).
#
#   registry_start [--htpasswd USER:PASS] [--token USER:PASS] [--anonymous-pull] [--token-expires S]
#                  [--tls IP]  (HTTPS on IP with a certificate from a new CA: exports REG_CA)
#                  [--ip IP]   (plain HTTP on IP instead of 127.0.0.1)
#       Starts a registry with filesystem storage in a new directory under $WORK and waits until it
#       answers /v2/. Sets and exports:
#         REG_HOST     127.0.0.1:PORT            REG_DIR      its directory (config, logs, keys)
#         REG_STORAGE  storage root               REG_LOG      its log, with the access log lines
#         REG_CONFIG   its config.yml             REG_PID      its process id
#       and with --token: TOKEN_URL (the realm), TOKEN_LOG (one JSON line per token request:
#       account, service, scopes, granted, status; never secrets), TOKEN_SERVICE, TOKEN_PID.
#       Several registries may run at once: copy the REG_* values before the next registry_start.
#   registry_blob_path DIGEST        the blob's data file in $REG_STORAGE (for tamper tests)
#   registry_count METHOD PATH_ERE [STATUS]
#       how many access-log lines of $REG_LOG have METHOD ("*" for any) and a path (with its
#       query) matching the extended regex (unanchored), and STATUS if given.
#   token_count                      how many token requests $TOKEN_LOG holds (granted or not)
#   fault_proxy_start [faultproxy.py options]
#       a fault-injecting proxy in front of $REG_HOST (or --upstream H:P); sets and exports
#       PROXY_HOST (127.0.0.1:PORT), PROXY_STATS (its live JSON stats), PROXY_LOG, PROXY_PID.
#       Options: --seed N --reset PCT --503 PCT --429 PCT --stall PCT --fail-all
#       --match ERE --max-consecutive N --max-faults N --where before|mid|any
#       (see registry/faultproxy.py).
#   proxy_stat KEY                   a number from $PROXY_STATS, KEY a python expression over the
#                                    parsed stats `s`, e.g. 'upload_bytes' or 'body_bytes.get("PATCH", 0)'
#   random_file PATH BYTES [SEED]    incompressible bytes, deterministic per SEED
#   http_start DIR                   a static HTTP server (registry/httpserve.py: ETag, 304,
#                                    Last-Modified, 404, /redirect/PATH) for DIR on a free loopback
#                                    port; sets and exports HTTP_HOST (127.0.0.1:PORT), HTTP_LOG
#                                    ("METHOD PATH STATUS" per request), HTTP_PID
#   http_count ERE                   how many lines of $HTTP_LOG match ERE
#   make_git_repo DIR                a git repository DIR/repo (branch main: a.txt, sub/b.txt
#                                    executable; tag v1; then c.txt) and its bare clone
#                                    DIR/srv/repo.git prepared for dumb HTTP; sets GIT_V1 and
#                                    GIT_MAIN (commit ids)
#   registry_stop_all                stops every server started here (also done when the
#                                    sourcing shell exits, see _reg_spawn)
#
# Processes end when the shell that started them exits: an EXIT trap when the shell has none,
# and in any case a watchdog that notices the shell is gone (a timed-out case).

REG_TOOLS_DIR=${REG_TOOLS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/registry}
_REG_PIDS=()
_REG_SEQ=0

registry_stop_all() {
    local p
    for p in "${_REG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${_REG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    _REG_PIDS=()
}

# _reg_spawn LOG CMD...: starts CMD in the background (output to LOG) with a watchdog that stops
# it once this shell is gone; the pid goes to _REG_SPAWNED.
_reg_spawn() {
    local log=$1 owner=$$
    shift
    "$@" >"$log" 2>&1 </dev/null &
    _REG_SPAWNED=$!
    _REG_PIDS+=("$_REG_SPAWNED")
    (
        set +eE
        trap - ERR
        trap '' HUP
        exec 3>&-
        while kill -0 "$owner" 2>/dev/null && kill -0 "$_REG_SPAWNED" 2>/dev/null; do sleep 0.5; done
        kill "$_REG_SPAWNED" 2>/dev/null && sleep 2 && kill -9 "$_REG_SPAWNED" 2>/dev/null
    ) >/dev/null 2>&1 </dev/null &
    if [ -z "$(trap -p EXIT)" ]; then trap registry_stop_all EXIT; fi
}

# _reg_wait_file FILE PID WHAT: waits (10 s) until FILE is non-empty while PID lives.
_reg_wait_file() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

_reg_need() { command -v "$1" >/dev/null 2>&1 || fail "$1 not found (install $2)"; }

registry_start() {
    local htpasswd="" token="" anon_pull=0 expires=300 tls="" ip=127.0.0.1 scheme=http
    while [ $# -gt 0 ]; do
        case $1 in
        --tls) tls=1 ip=$2 scheme=https && shift ;;
        --ip) ip=$2 && shift ;;
        --htpasswd) htpasswd=$2 && shift ;;
        --token) token=$2 && shift ;;
        --anonymous-pull) anon_pull=1 ;;
        --token-expires) expires=$2 && shift ;;
        *) fail "registry_start: unknown option $1" ;;
        esac
        shift
    done
    _reg_need docker-registry docker-registry
    _REG_SEQ=$((_REG_SEQ + 1))
    local dir="$WORK/registry$_REG_SEQ"
    mkdir -p "$dir/storage"
    REG_DIR=$dir REG_STORAGE="$dir/storage" REG_CONFIG="$dir/config.yml" REG_LOG="$dir/registry.log"

    local auth=""
    if [ -n "$htpasswd" ]; then
        _reg_need htpasswd apache2-utils
        htpasswd -B -b -c "$dir/htpasswd" "${htpasswd%%:*}" "${htpasswd#*:}" 2>/dev/null ||
            fail "htpasswd failed"
        auth="auth:
  htpasswd:
    realm: lade-test-registry
    path: $dir/htpasswd"
    fi
    if [ -n "$token" ]; then
        _token_issuer_start "$dir" "$token" "$anon_pull" "$expires"
        auth="auth:
  token:
    realm: $TOKEN_URL
    service: $TOKEN_SERVICE
    issuer: lade-test-issuer
    rootcertbundle: $dir/token-cert.pem"
    fi

    local tls_conf=""
    if [ -n "$tls" ]; then
        _reg_tls_certs "$dir" "$ip"
        tls_conf="  tls:
    certificate: $dir/server.crt
    key: $dir/server.key"
    fi

    cat >"$REG_CONFIG" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $REG_STORAGE
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $ip:0
  secret: lade-test-secret-$RANDOM$RANDOM
$tls_conf
$auth
EOF
    : >"$REG_LOG"
    _reg_spawn "$REG_LOG" docker-registry serve "$REG_CONFIG"
    REG_PID=$_REG_SPAWNED
    # Port 0: the registry picks a free port and logs it ("listening on 127.0.0.1:PORT").
    local i addr=""
    for ((i = 0; i < 200; i++)); do
        addr=$(sed -n "s/.*msg=\"listening on \(${ip//./\\.}:[0-9]*\)[\",].*/\1/p" "$REG_LOG" | head -n 1)
        [ -n "$addr" ] && break
        kill -0 "$REG_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$addr" ] || fail "docker-registry did not start" "$(_tail "$(cat "$REG_LOG")" 20)"
    REG_HOST=$addr
    for ((i = 0; i < 100; i++)); do
        # 200 without auth, 401 with: either way it serves the API.
        case $(curl -sk -o /dev/null -w '%{http_code}' "$scheme://$REG_HOST/v2/") in
        200 | 401) break ;;
        esac
        sleep 0.05
    done
    [ "$i" -lt 100 ] || fail "docker-registry at $REG_HOST does not answer /v2/" "$(_tail "$(cat "$REG_LOG")" 20)"
    export REG_HOST REG_DIR REG_STORAGE REG_CONFIG REG_LOG REG_PID
    [ -z "$tls" ] || export REG_CA="$dir/ca.crt"
    say "registry at $REG_HOST (storage $REG_STORAGE${htpasswd:+, basic auth}${token:+, token auth $TOKEN_URL})"
}

# _token_issuer_start DIR USER:PASS ANON_PULL EXPIRES: key, self-signed certificate, issuer.
# _reg_tls_certs DIR IP: a CA (DIR/ca.crt) and a server certificate for IP signed by it.
_reg_tls_certs() {
    _reg_need openssl openssl
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lade-test-ca \
        -keyout "$1/ca.key" -out "$1/ca.crt" >/dev/null 2>&1 || fail "openssl: CA"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1/server.key" \
        -out "$1/server.csr" >/dev/null 2>&1 || fail "openssl: server key"
    printf 'subjectAltName=IP:%s\n' "$2" >"$1/san.ext"
    openssl x509 -req -in "$1/server.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -CAcreateserial \
        -days 2 -extfile "$1/san.ext" -out "$1/server.crt" >/dev/null 2>&1 || fail "openssl: sign"
}

_token_issuer_start() {
    local dir=$1 user=$2 anon=$3 expires=$4
    _reg_need openssl openssl
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lade-test-issuer \
        -keyout "$dir/token-key.pem" -out "$dir/token-cert.pem" >/dev/null 2>&1 ||
        fail "openssl could not make the token issuer's key"
    local args=(--key "$dir/token-key.pem" --cert "$dir/token-cert.pem" --port-file "$dir/token.port"
        --user "$user" --expires "$expires" --log "$dir/token.log")
    [ "$anon" -eq 0 ] || args+=(--anonymous-pull)
    : >"$dir/token.log"
    _reg_spawn "$dir/token-issuer.out" python3 "$REG_TOOLS_DIR/token_issuer.py" "${args[@]}"
    TOKEN_PID=$_REG_SPAWNED
    _reg_wait_file "$dir/token.port" "$TOKEN_PID" ||
        fail "token issuer did not start" "$(cat "$dir/token-issuer.out")"
    TOKEN_URL="http://127.0.0.1:$(cat "$dir/token.port")/token"
    TOKEN_LOG="$dir/token.log"
    TOKEN_SERVICE=lade-test-registry
    export TOKEN_URL TOKEN_LOG TOKEN_SERVICE TOKEN_PID
}

registry_blob_path() {
    local hex=${1#sha256:}
    printf '%s/docker/registry/v2/blobs/sha256/%s/%s/data\n' "$REG_STORAGE" "${hex:0:2}" "$hex"
}

registry_count() {
    sleep 0.2 # the access log line is written as the response ends: let it land
    REG_M=$1 REG_P=$2 REG_S=${3:-} awk '
        match($0, /\] "[A-Z]+ [^ "]+ HTTP\/[0-9.]+" [0-9]+ /) {
            split(substr($0, RSTART + 3, RLENGTH - 3), f, " ")
            if ((ENVIRON["REG_M"] == "*" || f[1] == ENVIRON["REG_M"]) && f[2] ~ ENVIRON["REG_P"] &&
                (ENVIRON["REG_S"] == "" || f[4] == ENVIRON["REG_S"])) n++
        }
        END { print n + 0 }' "$REG_LOG"
}

token_count() { wc -l <"$TOKEN_LOG" | tr -d ' '; }

fault_proxy_start() {
    local dir="$WORK/proxy$((++_REG_SEQ))" up=()
    mkdir -p "$dir"
    case " $* " in *" --upstream "*) ;; *) up=(--upstream "$REG_HOST") ;; esac
    _reg_spawn "$dir/proxy.out" python3 "$REG_TOOLS_DIR/faultproxy.py" --listen 127.0.0.1:0 \
        --port-file "$dir/port" --stats "$dir/stats.json" --log "$dir/requests.log" "${up[@]}" "$@"
    PROXY_PID=$_REG_SPAWNED
    _reg_wait_file "$dir/port" "$PROXY_PID" || fail "fault proxy did not start" "$(cat "$dir/proxy.out")"
    PROXY_HOST="127.0.0.1:$(cat "$dir/port")"
    PROXY_STATS="$dir/stats.json"
    PROXY_LOG="$dir/requests.log"
    export PROXY_HOST PROXY_STATS PROXY_LOG PROXY_PID
    say "fault proxy at $PROXY_HOST -> ${up[1]:-upstream} ($*)"
}

proxy_stat() {
    python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
print(eval(sys.argv[2], {}, {"s": s, **s}))' "$PROXY_STATS" "$1"
}

# random_file PATH BYTES [SEED]: incompressible bytes, the same for the same SEED (default 1).
random_file() {
    python3 -c 'import random, sys
r = random.Random(sys.argv[3])
left = int(sys.argv[2])
with open(sys.argv[1], "wb") as f:
    while left:
        n = min(left, 1 << 20)
        f.write(r.randbytes(n))
        left -= n' "$1" "$2" "${3:-1}"
}

http_start() {
    _REG_SEQ=$((_REG_SEQ + 1))
    local d="$WORK/http$_REG_SEQ"
    mkdir -p "$d"
    HTTP_LOG="$d/requests.log"
    : >"$HTTP_LOG"
    _reg_spawn "$d/server.log" python3 "$REG_TOOLS_DIR/httpserve.py" "$1" "$d/port" "$HTTP_LOG"
    HTTP_PID=$_REG_SPAWNED
    _reg_wait_file "$d/port" "$HTTP_PID" || fail "httpserve.py did not start" "$(cat "$d/server.log")"
    HTTP_HOST="127.0.0.1:$(cat "$d/port")"
    export HTTP_HOST HTTP_LOG HTTP_PID
}

http_count() { grep -cE -- "$1" "$HTTP_LOG" || true; }

make_git_repo() {
    _reg_need git git
    local r="$1/repo" g=(git -c user.name=lade -c user.email=lade@test.invalid -c init.defaultBranch=main)
    mkdir -p "$r/sub" "$1/srv"
    "${g[@]}" init -q "$r"
    echo one >"$r/a.txt"
    printf '#!/bin/sh\necho two\n' >"$r/sub/b.txt"
    chmod 0644 "$r/a.txt"
    chmod 0755 "$r/sub/b.txt"
    "${g[@]}" -C "$r" add . && "${g[@]}" -C "$r" commit -qm one && "${g[@]}" -C "$r" tag v1
    echo three >"$r/c.txt"
    "${g[@]}" -C "$r" add . && "${g[@]}" -C "$r" commit -qm two
    git clone -q --bare "$r" "$1/srv/repo.git"
    git -C "$1/srv/repo.git" update-server-info
    GIT_V1=$(git -C "$r" rev-parse v1^{commit})
    GIT_MAIN=$(git -C "$r" rev-parse main)
}

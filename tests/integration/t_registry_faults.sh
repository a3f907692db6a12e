# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2119  # registry_start takes options, not the case's arguments
# Push and pull through a fault-injecting proxy (tests/integration/registry/faultproxy.py) in
# front of a real docker-registry: connection resets, 503, 429 with Retry-After, stalled
# transfers; a registry failing everything (exit 5 within the retry budget); a blob tampered in
# the registry's storage (the pull fails naming it and the store is left as it was).

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# Stalled transfers are given up after this many seconds without a byte (lade's client).
export LADE_STALL_TIMEOUT=2

# _faults_image: builds faulty:1 into $ROOT: busybox plus a 20 MiB incompressible file (a layer
# above the chunked-upload threshold) and a small one; its CMD prints their checksums. Sets
# BIG_SUM, the checksum line the image must print for the big file.
_faults_image() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
COPY big.bin /data/big.bin
COPY small.txt /data/small.txt
CMD ["/bin/sh", "-c", "cd /data && sha256sum big.bin && cat small.txt"]
EOF
    random_file "$WORK/ctx/big.bin" $((20 << 20)) faults
    echo "small file" >"$WORK/ctx/small.txt"
    BIG_SUM=$(cd "$WORK/ctx" && sha256sum big.bin)
    run_ok lade build --progress plain -t faulty:1 "$WORK/ctx"
}

# _faults_total: how many faults the current proxy injected.
_faults_total() { proxy_stat 'sum(s["faults"].values())'; }

t_registry_faults_push_pull() {
    registry_start
    _faults_image
    local want pushed
    want=$(store_digest "$ROOT" docker.io/library/faulty:1)

    fault_proxy_start --seed 7 --reset 10 --503 10 --429 5 --stall 3 --max-consecutive 2
    run_ok lade tag faulty:1 "$PROXY_HOST/faulty:1"
    run_ok lade --retries 4 push "$PROXY_HOST/faulty:1"
    pushed=$(printf '%s\n' "$OUT" | grep -Eo 'sha256:[0-9a-f]{64}' | tail -n 1)
    assert_eq "$want" "$pushed" "the digest lade push printed"
    [ "$(_faults_total)" -ge 3 ] || fail "the proxy injected too few faults to mean anything" "$(cat "$PROXY_STATS")"
    say "push faults: $(proxy_stat 's["faults"]')"
    # What the registry holds, read directly by another client.
    run_ok skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/faulty:1"
    assert_eq "$want" "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "manifest digest in the registry"

    fault_proxy_start --seed 11 --reset 10 --503 10 --429 5 --stall 5 --max-consecutive 2
    ROOT="$WORK/root2" run_ok lade --retries 4 pull "$PROXY_HOST/faulty:1"
    [ "$(_faults_total)" -ge 3 ] || fail "the proxy injected too few faults to mean anything" "$(cat "$PROXY_STATS")"
    say "pull faults: $(proxy_stat 's["faults"]')"
    assert_eq "$want" "$(store_digest "$WORK/root2" "$PROXY_HOST/faulty:1")" "manifest digest pulled"
    assert_store_valid "$WORK/root2"
    ROOT="$WORK/root2" run_ok lade run --rm "$PROXY_HOST/faulty:1"
    assert_eq "$BIG_SUM
small file" "$OUT" "the pulled image's output"

    # Pushed again through a proxy without faults: every blob is there, no layer byte is sent.
    local patches_before
    patches_before=$(registry_count PATCH '/blobs/uploads/')
    fault_proxy_start
    run_ok lade tag faulty:1 "$PROXY_HOST/faulty:1"
    run_ok lade push "$PROXY_HOST/faulty:1"
    assert_eq 0 "$(proxy_stat upload_bytes)" "upload bytes sent by the second push"
    assert_eq "$patches_before" "$(registry_count PATCH '/blobs/uploads/')" "PATCH requests of the second push"
}

t_registry_faults_chunked_resets() {
    # The first four upload requests (PATCH and the closing PUT) are reset after the registry
    # acted on them: the client must find out where the upload stands (resume from the offset
    # the registry reports, or start again when the registry dropped it).
    registry_start
    _faults_image
    local want
    want=$(store_digest "$ROOT" docker.io/library/faulty:1)
    fault_proxy_start --reset 100 --where mid --max-faults 4 --match '^(PATCH|PUT) .*/blobs/uploads/.'
    run_ok lade tag faulty:1 "$PROXY_HOST/faulty:1"
    run_ok lade --retries 3 push "$PROXY_HOST/faulty:1"
    [ "$(proxy_stat 's["faults"]["reset"]')" -eq 4 ] || fail "not 4 resets" "$(cat "$PROXY_STATS")"
    [ "$(proxy_stat 's["by_method"].get("PATCH", 0)')" -ge 3 ] ||
        fail "the 20 MiB layer was not uploaded in chunks" "$(cat "$PROXY_STATS")"
    run_ok skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/faulty:1"
    assert_eq "$want" "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "manifest digest in the registry"
    # The registry verified each blob's digest when its upload closed: the layer is whole.
    local layer
    layer=$(json_get "$ROOT/oci/blobs/sha256/${want#sha256:}" 'j["layers"][-1]["digest"]')
    assert_same_file "$ROOT/oci/blobs/sha256/${layer#sha256:}" "$(registry_blob_path "$layer")"
}

t_registry_faults_stall() {
    # Blob downloads stall once each (before the response or in the middle of the body).
    registry_start
    _faults_image
    run_ok skopeo copy --dest-tls-verify=false "oci:$ROOT/oci:docker.io/library/faulty:1" "docker://$REG_HOST/faulty:1"
    fault_proxy_start --seed 5 --stall 100 --max-consecutive 1 --match '^GET .*/blobs/sha256:'
    local t0 secs
    t0=$(date +%s)
    ROOT="$WORK/root2" run_ok lade --retries 2 pull "$PROXY_HOST/faulty:1"
    secs=$(($(date +%s) - t0))
    [ "$(proxy_stat 's["faults"]["stall"]')" -ge 2 ] || fail "no stalls injected" "$(cat "$PROXY_STATS")"
    [ "$secs" -ge "$LADE_STALL_TIMEOUT" ] || fail "the pull did not wait out a stall (${secs}s)"
    [ "$secs" -le 60 ] || fail "the pull took ${secs}s: stalls are not given up after ${LADE_STALL_TIMEOUT}s"
    assert_eq "$(store_digest "$ROOT" docker.io/library/faulty:1)" \
        "$(store_digest "$WORK/root2" "$PROXY_HOST/faulty:1")" "manifest digest pulled"
    ROOT="$WORK/root2" run_ok lade run --rm "$PROXY_HOST/faulty:1"
    assert_contains "$OUT" "$BIG_SUM" "the pulled image's output"
}

t_registry_faults_retry_after() {
    # Each manifest request gets 429 with Retry-After: 1 once: lade waits at least that long.
    registry_start
    _faults_image
    run_ok skopeo copy --dest-tls-verify=false "oci:$ROOT/oci:docker.io/library/faulty:1" "docker://$REG_HOST/faulty:1"
    fault_proxy_start --429 100 --max-consecutive 1 --match '^(GET|HEAD) .*/manifests/'
    ROOT="$WORK/root2" run_ok lade pull "$PROXY_HOST/faulty:1"
    [ "$(proxy_stat 's["faults"]["429"]')" -ge 1 ] || fail "no 429 injected" "$(cat "$PROXY_STATS")"
    # Proxy log lines: TIME METHOD PATH STATUS fault=F ...; the retry of a 429 comes >= 1 s later.
    local gaps
    gaps=$(awk '$3 ~ /\/manifests\// {
            key = $2 " " $3
            if (key in t429) { printf "%.2f\n", $1 - t429[key]; delete t429[key] }
            if ($4 == "429") t429[key] = $1
        }' "$PROXY_LOG")
    [ -n "$gaps" ] || fail "no retry after a 429" "$(cat "$PROXY_LOG")"
    awk '$1 < 0.95 { bad = 1 } END { exit bad }' <<<"$gaps" ||
        fail "a retry came sooner than Retry-After: 1" "gaps: $gaps" "$(cat "$PROXY_LOG")"
}

t_registry_faults_fail_all() {
    # Everything answers 503: push gives up after the default 3 retries, with exit 5, quickly.
    registry_start
    _faults_image
    fault_proxy_start --fail-all
    run_ok lade tag faulty:1 "$PROXY_HOST/faulty:1"
    local t0 secs reached
    reached=$(registry_count '*' '^/v2/')
    t0=$(date +%s)
    assert_exit 5 lade push "$PROXY_HOST/faulty:1"
    secs=$(($(date +%s) - t0))
    assert_match "$ERR" '503|[Uu]navailable' "the error says the registry answered 503"
    assert_contains "$ERR" "$PROXY_HOST" "the error names the registry"
    [ "$secs" -le 30 ] || fail "gave up after ${secs}s: the retry budget is 3 retries with backoff"
    # Blobs may be tried in parallel: each request is made once and retried 3 times, no more.
    assert_eq 4 "$(_max_attempts)" "attempts of one request: the first and 3 retries"
    assert_eq "$reached" "$(registry_count '*' '^/v2/')" "requests that reached the registry"

    fault_proxy_start --fail-all
    run_ok lade tag faulty:1 "$PROXY_HOST/faulty:1"
    assert_exit 5 lade --retries 1 push "$PROXY_HOST/faulty:1"
    assert_eq 2 "$(_max_attempts)" "attempts of one request with --retries 1"
}

# _max_attempts: the largest number of times the proxy saw one METHOD and path (query left out).
_max_attempts() {
    awk '{ sub(/\?.*/, "", $3); n[$2 " " $3]++ } END { for (k in n) if (n[k] > m) m = n[k]; print m + 0 }' "$PROXY_LOG"
}

t_registry_faults_tampered_blob() {
    registry_start
    _faults_image
    local manifest layer blob
    manifest=$(store_digest "$ROOT" docker.io/library/faulty:1)
    run_ok lade tag faulty:1 "$REG_HOST/faulty:1"
    run_ok lade push "$REG_HOST/faulty:1"
    layer=$(json_get "$ROOT/oci/blobs/sha256/${manifest#sha256:}" 'j["layers"][-1]["digest"]')
    blob=$(registry_blob_path "$layer")
    assert_exists "$blob"
    # Same size, a few bytes changed in the middle: only the digest check can notice.
    printf 'tampered' | dd of="$blob" bs=1 seek=$(($(stat -c %s "$blob") / 2)) conv=notrunc status=none

    # A store that already holds something, to see it left alone.
    local root2="$WORK/root2"
    write_context "$WORK/other" <<'EOF'
FROM scratch
COPY rootfs/ /
EOF
    ROOT=$root2 run_ok lade build --progress plain -t other:1 "$WORK/other"
    local refs_before blobs_before
    refs_before=$(store_refs "$root2")
    blobs_before=$(cd "$root2/oci/blobs" && find . -type f | LC_ALL=C sort)

    ROOT=$root2 assert_exit "!0" lade --retries 1 pull "$REG_HOST/faulty:1"
    assert_contains "$ERR" "$layer" "the error names the tampered blob"
    assert_eq "$refs_before" "$(store_refs "$root2")" "tags after the failed pull"
    assert_eq "$blobs_before" "$(cd "$root2/oci/blobs" && find . -type f | LC_ALL=C sort)" "blobs after the failed pull"
    assert_store_valid "$root2"
}

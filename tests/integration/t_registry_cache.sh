# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2119  # registry_start takes options, not the case's arguments
# The build cache beyond the store (--cache-to, --cache-from; README "CI cache"): exported from
# one store, imported on a new empty store, against the real distribution registry
# (registry.sh) and an OCI layout directory. Every filesystem step CACHED, the same image ID,
# and only the final image's layers downloaded.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# cache_context DIR: three stages: a base, a builder whose RUN makes a layer only it uses, and
# the image, which copies one file from the builder, copies app.txt and runs over both.
cache_context() {
    write_context "$1" <<'EOF2'
FROM scratch AS base
COPY rootfs/ /
FROM base AS builder
RUN echo built > /artifact && seq 1 20000 > /junk
FROM base
COPY --from=builder /artifact /artifact
COPY app.txt /app.txt
RUN cat /artifact /app.txt > /both
ENV DONE=1
EOF2
    echo "app v1" >"$1/app.txt"
}

# cache_build ROOT ARGS...: a plain-progress build of $WORK/ctx into ROOT tagged app:1; the
# image ID goes to $WORK/iid.
cache_build() {
    local root=$1
    shift
    run_ok "$LADE" --root "$root" build --progress plain --iidfile "$WORK/iid" -t app:1 "$@" \
        "$WORK/ctx"
}

# not_cached PROGRESS: the titles of the RUN/COPY steps whose next line is not "#N CACHED".
not_cached() {
    printf '%s\n' "$1" | awk '
        /^#[0-9]+ \[[^]]*\] (RUN|COPY|ADD) / { n = $1; t = $0; getline; if ($1 != n || $2 != "CACHED") print t }'
}

# image_layers ROOT: the layer digests of app:1 in ROOT, one a line.
image_layers() {
    python3 "$OCITOOL" manifest "$1/oci" docker.io/library/app:1 |
        json_get - "'\n'.join(d['digest'] for d in j['layers'])"
}

# Progress text is checked with assert_contains: assert_match pipes it into grep -q, which
# may exit before a long text is written (SIGPIPE fails the pipe under pipefail).

# blob_gets REPO: how many blob GETs of REPO the registry answered with 200.
blob_gets() { registry_count GET "^/v2/$1/blobs/sha256:" 200; }

t_registry_cache_round_trip_on_an_empty_root() {
    registry_start
    local cache="$REG_HOST/lade/cache:main" iid layers
    cache_context "$WORK/ctx"
    cache_build "$WORK/a" --cache-to "type=registry,ref=$cache,mode=max"
    assert_contains "$ERR" "exporting cache to $cache (mode=max, 5 records)" "the export step"
    iid=$(cat "$WORK/iid")
    # the artifact: lade's config media type, the layers of every record (4 RUN/COPY layers
    # plus the builder's RUN)
    run_ok skopeo inspect --raw --tls-verify=false "docker://$cache"
    assert_json - "j['config']['mediaType'] == 'application/vnd.lade.cache.v1+json'" \
        "the cache config's media type" <<<"$OUT"
    assert_json - "j['artifactType'] == 'application/vnd.lade.cache.v1+json'" "artifactType" <<<"$OUT"
    assert_json - "len(j['layers']) == 5" "every record's layer" <<<"$OUT"

    local before
    before=$(blob_gets lade/cache)
    cache_build "$WORK/b" --cache-from "type=registry,ref=$cache"
    assert_eq "" "$(not_cached "$ERR")" "every RUN and COPY is CACHED on the empty root"
    assert_eq "$iid" "$(cat "$WORK/iid")" "the same image ID"
    assert_eq "$(store_digest "$WORK/a" docker.io/library/app:1)" \
        "$(store_digest "$WORK/b" docker.io/library/app:1)" "the same manifest digest"
    layers=$(image_layers "$WORK/b")
    assert_eq 4 "$(printf '%s\n' "$layers" | wc -l)" "the image's layers"
    # the cache config, then the image's 4 layers: not the builder's RUN layer
    assert_eq $((1 + 4)) $(($(blob_gets lade/cache) - before)) "blob GETs from the cache"
    for l in $layers; do
        assert_exists "$WORK/b/oci/blobs/sha256/${l#sha256:}" "layer $l in root B"
    done
    assert_eq 0 "$(find "$WORK/b/layers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" \
        "no layer extracted: no step needed a filesystem"
    assert_store_valid "$WORK/b"
    run_ok skopeo inspect "oci:$WORK/b/oci:docker.io/library/app:1"
    run_ok "$LADE" --root "$WORK/b" run --rm app:1 cat /both
    assert_eq "built
app v1" "$OUT" "the image runs from root B"
}

# A CI job reads and writes the same cache: the layers it did not need stay in the registry
# (the push finds them there) and are not downloaded for the export.
t_registry_cache_ci_job_reads_and_writes_the_same_ref() {
    registry_start
    local cache="$REG_HOST/lade/cache:main" before digest puts
    cache_context "$WORK/ctx"
    cache_build "$WORK/a" --cache-to "type=registry,ref=$cache,mode=max"
    run_ok skopeo inspect --raw --tls-verify=false "docker://$cache"
    digest=$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)
    before=$(blob_gets lade/cache)
    puts=$(registry_count "*" "^/v2/lade/cache/blobs/uploads/")
    cache_build "$WORK/b" --cache-from "type=registry,ref=$cache" --cache-to "type=registry,ref=$cache,mode=max"
    assert_eq "" "$(not_cached "$ERR")" "every RUN and COPY is CACHED"
    assert_eq $((1 + 4)) $(($(blob_gets lade/cache) - before)) "blob GETs: the config and the image's layers"
    assert_eq "$puts" "$(registry_count "*" "^/v2/lade/cache/blobs/uploads/")" "no blob uploaded again"
    run_ok skopeo inspect --raw --tls-verify=false "docker://$cache"
    assert_eq "$digest" "$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "the same cache artifact"
}

t_registry_cache_mode_min_exports_only_the_image_stages() {
    registry_start
    local min="$REG_HOST/lade/cache:min" max="$REG_HOST/lade/cache:max" iid
    cache_context "$WORK/ctx"
    cache_build "$WORK/a" --cache-to "type=registry,ref=$min" --cache-to "type=registry,ref=$max,mode=max"
    iid=$(cat "$WORK/iid")
    assert_contains "$ERR" "exporting cache to $min (mode=min, 4 records)" "min: the image's steps"
    run_ok skopeo inspect --raw --tls-verify=false "docker://$min"
    assert_json - "len(j['layers']) == 4" "min: the layers of the image's own steps" <<<"$OUT"
    run_ok skopeo inspect --raw --tls-verify=false "docker://$max"
    assert_json - "len(j['layers']) == 5" "max: also the builder's layers" <<<"$OUT"

    # min on an empty root: the builder's RUN runs again, the image's steps are cached
    cache_build "$WORK/b" --cache-from "type=registry,ref=$min"
    assert_eq "[builder 2/2] RUN echo built > /artifact && seq 1 20000 > /junk" \
        "$(not_cached "$ERR" | sed 's/^#[0-9]* //')" "min: only the builder's RUN runs"
    assert_eq "$iid" "$(cat "$WORK/iid")" "min: the same image ID"
    cache_build "$WORK/c" --cache-from "type=registry,ref=$max"
    assert_eq "" "$(not_cached "$ERR")" "max: nothing runs"
    assert_eq "$iid" "$(cat "$WORK/iid")" "max: the same image ID"
}

t_registry_cache_local_directory_round_trip() {
    local iid n
    cache_context "$WORK/ctx"
    cache_build "$WORK/a" --cache-to "type=local,dest=$WORK/cachedir,mode=max"
    iid=$(cat "$WORK/iid")
    assert_exists "$WORK/cachedir/oci-layout"
    assert_json "$WORK/cachedir/index.json" \
        "j['manifests'][0]['annotations']['org.opencontainers.image.ref.name'] == 'latest'" \
        "index.json names the cache"
    run_ok skopeo inspect --raw "oci:$WORK/cachedir:latest"
    assert_json - "j['config']['mediaType'] == 'application/vnd.lade.cache.v1+json'" \
        "an OCI layout that skopeo reads" <<<"$OUT"
    cache_build "$WORK/b" --cache-from "type=local,src=$WORK/cachedir"
    assert_eq "" "$(not_cached "$ERR")" "every RUN and COPY is CACHED"
    assert_eq "$iid" "$(cat "$WORK/iid")" "the same image ID"
    # image config + manifest, cache config + manifest, the 4 layers: no builder layer
    n=$(find "$WORK/b/oci/blobs/sha256" -type f | wc -l)
    assert_eq 8 "$n" "blobs in root B"
}

t_registry_cache_changed_file_misses_from_its_copy_on() {
    registry_start
    local cache="$REG_HOST/lade/cache:main" iid
    cache_context "$WORK/ctx"
    cache_build "$WORK/a" --cache-to "type=registry,ref=$cache,mode=max"
    iid=$(cat "$WORK/iid")
    echo "app v2" >"$WORK/ctx/app.txt"
    cache_build "$WORK/b" --cache-from "type=registry,ref=$cache"
    assert_eq "COPY app.txt /app.txt
RUN cat /artifact /app.txt > /both" "$(not_cached "$ERR" | sed 's/^#[0-9]* \[[^]]*\] //')" \
        "only the COPY of the changed file and the RUN after it run"
    assert_ne "$iid" "$(cat "$WORK/iid")" "another image"
    run_ok "$LADE" --root "$WORK/b" run --rm app:1 cat /both
    assert_eq "built
app v2" "$OUT" "the RUN saw the cached layers and the new file"
}

t_registry_cache_missing_ref_warns() {
    registry_start
    cache_context "$WORK/ctx"
    cache_build "$WORK/a" --cache-from "type=registry,ref=$REG_HOST/lade/nothing:1" \
        --cache-from "type=local,src=$WORK/no-such-dir"
    assert_contains "$ERR" "WARNING: cache import from $REG_HOST/lade/nothing:1 failed: " \
        "a missing registry cache warns"
    assert_contains "$ERR" "WARNING: cache import from $WORK/no-such-dir failed" "a missing directory warns"
    assert_contains "$(not_cached "$ERR")" "RUN cat /artifact" "the steps run"
}

t_registry_cache_failed_export() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cache_context "$WORK/ctx"
    assert_exit 5 "$LADE" --root "$WORK/a" build --progress plain --retries 0 \
        --cache-to "type=registry,ref=127.0.0.1:$port/lade/cache:1" "$WORK/ctx"
    assert_contains "$ERR" "cache export to 127.0.0.1:$port/lade/cache:1" "the error names the cache"
    cache_build "$WORK/a" --retries 0 --cache-to "type=registry,ref=127.0.0.1:$port/lade/cache:1,ignore-error=true"
    assert_contains "$ERR" "WARNING: cache export to 127.0.0.1:$port/lade/cache:1 failed (ignore-error=true)" \
        "ignore-error=true: a warning"
    run_ok "$LADE" --root "$WORK/a" images
    assert_contains "$OUT" "app" "the image is stored"
}

t_registry_cache_unsupported_types_refused() {
    cache_context "$WORK/ctx"
    assert_exit 2 "$LADE" --root "$WORK/a" build --cache-to type=inline "$WORK/ctx"
    assert_contains "$ERR" "type=inline is not supported: use type=registry" "inline"
    for t in gha s3 azblob; do
        assert_exit 2 "$LADE" --root "$WORK/a" build --cache-from "type=$t" "$WORK/ctx"
        assert_contains "$ERR" "type=$t is not supported" "$t"
    done
    assert_exit 2 "$LADE" --root "$WORK/a" build --cache-to "type=registry,ref=x:1,mode=all" "$WORK/ctx"
    assert_contains "$ERR" "mode must be min or max" "mode"
}

# The README's CI recipes (testdata/recipes/): valid YAML, shown in the README as they are, whose
# lade build line uses the flags the cases above run.
t_registry_cache_ci_recipes() {
    local f cmd
    python3 -c 'import yaml' 2>/dev/null || skip "no PyYAML (python3-yaml) to parse the recipes"
    for f in "$TOP/testdata/recipes/github-actions.yml" "$TOP/testdata/recipes/gitlab-ci.yml" \
        "$TOP/testdata/recipes/kubernetes-job.yml"; do
        run_ok python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$f"
        # the build command as one line: continuations and folded lines joined
        cmd=$(sed -e 's/\\$//' "$f" | tr '\n' ' ' | tr -s ' ' | grep -o 'lade build [^-]*--[^#]*\. ')
        assert_match "$cmd" '--push ' "$f: pushes"
        assert_match "$cmd" '--cache-from type=registry,ref=[^ ,]+ ' "$f: --cache-from"
        assert_match "$cmd" '--cache-to type=registry,ref=[^ ,]+,mode=max ' "$f: --cache-to"
        assert_eq "$(grep -o -- '--cache-from type=registry,ref=[^ ,]*' <<<"$cmd" | cut -d= -f3)" \
            "$(grep -o -- '--cache-to type=registry,ref=[^ ,]*' <<<"$cmd" | cut -d= -f3)" \
            "$f: the job reads the cache it writes"
        assert_contains "$(cat "$TOP/README.md")" "$(cat "$f")" "$f: the README shows it as it is"
    done
    # the Kubernetes Job: root tier, not privileged, docker's capabilities plus what lade needs
    run_ok python3 -c '
import sys, yaml
j = yaml.safe_load(open(sys.argv[1]))
assert j["apiVersion"] == "batch/v1" and j["kind"] == "Job", "a batch/v1 Job"
pod = j["spec"]["template"]["spec"]
assert pod["restartPolicy"] in ("Never", "OnFailure"), "a Job restarts Never or OnFailure"
(c,) = pod["containers"]
sc = c["securityContext"]
assert sc.get("privileged") is False, "not privileged"
assert sc.get("allowPrivilegeEscalation") is not False, "Kubernetes refuses SYS_ADMIN with it false"
assert sorted(sc["capabilities"]["add"]) == ["NET_ADMIN", "SYS_ADMIN"], sc["capabilities"]
assert "drop" not in sc["capabilities"], "RUN steps get docker default capabilities"
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
assert "emptyDir" in vols[mounts["/var/lib/lade"]], "the store on an emptyDir, not the overlay rootfs"
assert vols[mounts["/dev/net/tun"]]["hostPath"]["type"] == "CharDevice"
assert any(e["name"] == "DOCKER_CONFIG" and e["value"] in mounts for e in c["env"]), "credentials"
' "$TOP/testdata/recipes/kubernetes-job.yml"
}

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Docker archives (read by podman), and `lade save` / `lade load` round trips between stores.

# podman_load_run TAR: podman loads TAR, runs the image it names and compares the output with the
# multistep image's expected output.
podman_load_run() {
    run_ok podman_ load -i "$1"
    local img
    img=$(printf '%s\n' "$OUT" | sed -nE 's/^Loaded image(\(s\))?: *//p' | cut -d, -f1 | head -n 1)
    [ -n "$img" ] || fail "podman load named no image" "$OUT"
    assert_contains "$img" "multistep:1" "the loaded image's name"
    run_ok podman_ image inspect --format '{{.Config.User}} {{.Config.WorkingDir}} {{index .Config.Labels "com.example.version"}}' "$img"
    assert_eq "app /srv dev" "$OUT" "podman's view of the config"
    run_ok podman_ run --rm --network=none "$img"
    assert_eq "$(multistep_output)" "$OUT" "podman run output"
    run_ok podman_ run --rm --network=none "$img" cat /a
    assert_eq "changed" "$OUT" "podman run with a command"
}

t_docker_archive_podman() {
    build_multistep -o "type=docker,dest=$WORK/docker.tar"
    run_ok tar -tf "$WORK/docker.tar"
    assert_match "$OUT" '^(\./)?manifest\.json$' "docker archive has manifest.json"
    assert_match "$OUT" '^(\./)?repositories$' "docker archive has repositories"
    mkdir -p "$WORK/d"
    tar -xf "$WORK/docker.tar" -C "$WORK/d"
    assert_json "$WORK/d/manifest.json" 'len(j) == 1 and any(t.endswith("multistep:1") for t in j[0]["RepoTags"])' "RepoTags"
    assert_json "$WORK/d/repositories" 'any("multistep" in k and "1" in v for k, v in j.items())' "repositories"
    run_ok skopeo inspect "docker-archive:$WORK/docker.tar"
    podman_load_run "$WORK/docker.tar"
}

t_save_load_oci() {
    build_multistep
    local digest
    digest=$(store_digest "$ROOT" "$MULTISTEP")
    run_ok lade save multistep:1 -o "$WORK/saved.tar" --format oci
    run_ok skopeo inspect "oci-archive:$WORK/saved.tar"
    assert_json - "j['Digest'] == '$digest'" "skopeo's digest of the saved archive" <<<"$OUT"
    # Into an empty store: the same manifest, readable and runnable there.
    local root2="$WORK/root2"
    say "+ lade --root $root2 load -i saved.tar"
    run_ok "$LADE" --root "$root2" load -i "$WORK/saved.tar"
    assert_eq "$digest" "$(store_digest "$root2" "$MULTISTEP")" "manifest digest after save/load"
    run_ok "$LADE" --root "$root2" inspect multistep:1
    assert_json - "j['Digest'] == '$digest'" "lade inspect Digest in the second store" <<<"$OUT"
    assert_store_valid "$root2"
    run_ok "$LADE" --root "$root2" run --rm multistep:1
    assert_eq "$(multistep_output)" "$OUT" "lade run in the second store"
}

t_save_load_docker() {
    build_multistep
    local cfg
    cfg=$(python3 "$OCITOOL" manifest "$ROOT/oci" "$MULTISTEP" | json_get - 'j["config"]["digest"]')
    run_ok lade save multistep:1 -o "$WORK/saved.tar" --format docker
    run_ok tar -tf "$WORK/saved.tar"
    assert_match "$OUT" '^(\./)?manifest\.json$' "docker archive has manifest.json"
    # Layers may be recompressed on load, so the manifest may differ; the config (image ID) may not.
    local root3="$WORK/root3"
    run_ok "$LADE" --root "$root3" load -i "$WORK/saved.tar"
    assert_store_valid "$root3"
    assert_eq "$cfg" "$(python3 "$OCITOOL" manifest "$root3/oci" "$MULTISTEP" | json_get - 'j["config"]["digest"]')" \
        "config digest after a docker-format save/load"
    run_ok "$LADE" --root "$root3" run --rm multistep:1
    assert_eq "$(multistep_output)" "$OUT" "lade run after loading the docker archive"
    podman_load_run "$WORK/saved.tar"
}

t_load_rejects_garbage() {
    head -c 4096 /dev/urandom >"$WORK/garbage.tar"
    assert_exit "!0" lade load -i "$WORK/garbage.tar"
    assert_exit "!0" lade load -i "$WORK/does-not-exist.tar"
    assert_contains "$ERR" "does-not-exist.tar" "the error names the missing file"
    assert_store_valid "$ROOT"
    assert_eq "" "$(store_refs "$ROOT")" "no tags from failed loads"
}

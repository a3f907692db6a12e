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

# A layer whose absolute symlink points inside the image (lib -> /usr/lib, then lib/x) extracts
# as containerd and docker extract it: x lands in usr/lib, and the image runs.
t_load_layer_with_absolute_symlink_inside() {
    python3 - "$BUSYBOX" "$WORK/abs.tar" <<'PY'
import hashlib, io, json, sys, tarfile
busybox, out = sys.argv[1], sys.argv[2]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    def add(name, kind, data=b"", target="", mode=0o755):
        i = tarfile.TarInfo(name); i.type = kind; i.mode = mode; i.linkname = target
        i.size = len(data) if kind == tarfile.REGTYPE else 0
        t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    for d in ("bin", "usr", "usr/lib"):
        add(d, tarfile.DIRTYPE)
    add("bin/busybox", tarfile.REGTYPE, open(busybox, "rb").read())
    add("bin/sh", tarfile.SYMTYPE, target="busybox")
    add("bin/cat", tarfile.SYMTYPE, target="busybox")
    add("lib", tarfile.SYMTYPE, target="/usr/lib", mode=0o777)
    add("lib/x", tarfile.REGTYPE, b"through the absolute link\n", mode=0o644)
data = layer.getvalue()
diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Cmd": ["/bin/cat", "/usr/lib/x"]},
                     "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
cname = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps([{"Config": cname, "RepoTags": ["abslink:1"],
                        "Layers": ["layer.tar"]}]).encode()
with tarfile.open(out, "w") as t:
    for name, body in (("layer.tar", data), (cname, config), ("manifest.json", manifest)):
        i = tarfile.TarInfo(name); i.size = len(body); t.addfile(i, io.BytesIO(body))
PY
    run_ok lade load -i "$WORK/abs.tar"
    run_ok lade run --rm abslink:1
    assert_eq "through the absolute link" "$OUT" "lib/x was written to usr/lib/x"
    run_ok lade run --rm abslink:1 cat /lib/x
    assert_eq "through the absolute link" "$OUT" "and reads back through the link"
    assert_store_valid "$ROOT"
}

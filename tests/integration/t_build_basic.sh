# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The multi-step image (testdata/integration/multistep) as an OCI archive, read by real tools:
# skopeo, oci-image-tool, umoci (and runc on the unpacked bundle).

# oci_out: builds multistep into $WORK/out.tar (-o type=oci) with --iidfile $WORK/iid, unpacks the
# archive into $WORK/layout and sets REF to the name of its one manifest (the tag "1" as BuildKit
# writes it, or the full name "docker.io/library/multistep:1" as the store does; both are accepted).
oci_out() {
    build_multistep -o "type=oci,dest=$WORK/out.tar" --iidfile "$WORK/iid"
    [ -s "$WORK/out.tar" ] || fail "no archive at $WORK/out.tar"
    mkdir -p "$WORK/layout"
    run_ok tar -xf "$WORK/out.tar" -C "$WORK/layout"
    assert_exists "$WORK/layout/oci-layout"
    assert_exists "$WORK/layout/index.json"
    assert_json "$WORK/layout/index.json" 'len(j["manifests"]) == 1' "the archive holds one image"
    REF=$(json_get "$WORK/layout/index.json" \
        'j["manifests"][0].get("annotations", {}).get("org.opencontainers.image.ref.name", "")')
    case $REF in
    1 | "$MULTISTEP") say "archive ref name: $REF" ;;
    *) fail "archive's org.opencontainers.image.ref.name is '$REF', expected '1' or '$MULTISTEP'" ;;
    esac
}

t_oci_archive_skopeo() {
    oci_out
    local arch iid mdigest cdigest
    arch=$(host_arch)
    # skopeo reads the archive with and without the ref.
    run_ok skopeo inspect "oci-archive:$WORK/out.tar"
    printf '%s\n' "$OUT" >"$WORK/inspect.json"
    run_ok skopeo inspect "oci-archive:$WORK/out.tar:$REF"
    assert_json "$WORK/inspect.json" 'j["Labels"] == {"org.opencontainers.image.title": "multistep", "com.example.version": "dev"}' "labels"
    assert_json "$WORK/inspect.json" '"GREETING=hello from multistep" in j["Env"] and "MODE=default" in j["Env"]' "ENV"
    assert_json "$WORK/inspect.json" 'j["Os"] == "linux"' "os"
    assert_json "$WORK/inspect.json" "j[\"Architecture\"] == \"$arch\"" "architecture"
    assert_json "$WORK/inspect.json" 'len(j["Layers"]) >= 7' "a layer per COPY and RUN (7), maybe WORKDIR's"
    mdigest=$(json_get "$WORK/inspect.json" 'j["Digest"]')
    assert_eq "$(python3 "$OCITOOL" ref-digest "$WORK/layout" "$REF")" "$mdigest" "skopeo's digest is index.json's"

    # The whole config, as skopeo reads it.
    run_ok skopeo inspect --config "oci-archive:$WORK/out.tar"
    printf '%s\n' "$OUT" >"$WORK/config.json"
    assert_json "$WORK/config.json" 'j["config"]["User"] == "app"' "USER"
    assert_json "$WORK/config.json" 'j["config"]["WorkingDir"] == "/srv"' "WORKDIR"
    assert_json "$WORK/config.json" 'j["config"]["Entrypoint"] == ["/bin/env", "ENTRYPOINT_RAN=yes"]' "ENTRYPOINT"
    assert_json "$WORK/config.json" 'j["config"]["Cmd"] == ["/bin/sh", "/usr/local/bin/show"]' "CMD"
    assert_json "$WORK/config.json" 'j["config"]["ExposedPorts"] == {"8080/tcp": {}}' "EXPOSE"
    assert_json "$WORK/config.json" 'j["created"] == "1970-01-01T00:00:00Z"' "created is the default epoch 0"
    assert_json "$WORK/config.json" 'all(h.get("created") == "1970-01-01T00:00:00Z" for h in j["history"])' \
        "every history entry is at the epoch"
    assert_json "$WORK/config.json" 'any("ENV MODE=default" in h.get("created_by", "") and h.get("empty_layer") for h in j["history"])' \
        "ENV has an empty_layer history entry"
    assert_json "$WORK/config.json" 'j["config"]["Env"] == ["PATH=/usr/local/bin:/bin", "GREETING=hello from multistep", "MODE=default"]' "the whole Env"

    # --iidfile names this image: its config digest (docker's image ID) or manifest digest.
    iid=$(cat "$WORK/iid")
    assert_digest "$iid" "--iidfile content"
    cdigest=$(python3 "$OCITOOL" manifest "$WORK/layout" "$REF" | json_get - 'j["config"]["digest"]')
    case $iid in
    "$cdigest" | "$mdigest") ;;
    *) fail "--iidfile holds $iid: neither the config ($cdigest) nor the manifest ($mdigest)" ;;
    esac

    # The store got the image too, under its full name, with the same manifest.
    assert_eq "$mdigest" "$(store_digest "$ROOT" "$MULTISTEP")" "store and archive hold the same manifest"
    run_ok skopeo inspect "oci:$ROOT/oci:$MULTISTEP"
}

t_oci_archive_validate() {
    oci_out
    # Without --ref it validates every ref; with one, the named one (oci-image-tool 1.0.0-rc1
    # filters refs buggily when index.json holds several, hence the single-manifest archive).
    run_ok oci-image-tool validate --type image "$WORK/layout"
    assert_contains "$OUT$ERR" "Validation succeeded"
    run_ok oci-image-tool validate --type image --ref "name=$REF" "$WORK/layout"
    assert_contains "$OUT$ERR" "Validation succeeded"
    # Every blob present with its size and digest; diff_ids, history and the tar rules.
    run_ok python3 "$OCITOOL" check-layout "$WORK/layout"
    run_ok python3 "$OCITOOL" check-image "$WORK/layout" "$REF"

    # Deletions became whiteouts, the removed-and-recreated directory an opaque one, and the
    # .dockerignored file never entered a layer.
    run_ok python3 "$OCITOOL" layer-entries "$WORK/layout" "$REF"
    local entries=$OUT
    assert_match "$entries" $'^[0-9]+\t[a-z]+\t\\.wh\\.b$' "a whiteout for the deleted file /b"
    assert_match "$entries" $'^[0-9]+\t[a-z]+\t\\.wh\\.gone$' "a whiteout for the deleted directory /gone"
    assert_match "$entries" $'^[0-9]+\t[a-z]+\tdir2/\\.wh\\.\\.wh\\.\\.opq$' "an opaque marker for the recreated /dir2"
    assert_match "$entries" $'^[0-9]+\thardlink\ta-hardlink$|^[0-9]+\thardlink\ta$' "/a and /a-hardlink are one file stored once"
    assert_not_contains "$entries" "secret.txt" ".dockerignore'd file in a layer"
    # chmod of /dir copies up the directory alone, not its children (redirect_dir/metacopy off).
    local run_layer
    run_layer=$(printf '%s\n' "$entries" | awk -F'\t' '$3 == ".wh.b" { print $1 }')
    assert_not_contains "$(printf '%s\n' "$entries" | awk -F'\t' -v l="$run_layer" '$1 == l { print $3 }')" \
        "gone/x" "the RUN layer must not re-add files of the deleted dir"
    assert_not_contains "$(printf '%s\n' "$entries" | awk -F'\t' -v l="$run_layer" '$1 == l { print $3 }')" \
        "dir/c" "the RUN layer must not hold the unchanged dir/c"
}

t_oci_archive_unpack_tree() {
    oci_out
    # umoci 0.4.7 takes LAYOUT:REF and accepts both a bare tag and a full name as REF.
    run_ok umoci unpack --image "$WORK/layout:$REF" "$WORK/bundle"
    local r="$WORK/bundle/rootfs"
    assert_eq "$(cat "$TOP/testdata/integration/multistep/expected-tree")" "$(tree_listing "$r")" \
        "the unpacked tree (testdata/integration/multistep/expected-tree)"
    assert_file_content "$r/a" "changed"
    assert_file_content "$r/dir/c" "c stays"
    assert_file_content "$r/dir/d" "d gets mode 0600"
    assert_file_content "$r/dir2/new" "new"
    assert_file_content "$r/exec-form" "exec-form"
    assert_file_content "$r/srv/artifact" "built in stage builder"
    assert_file_content "$r/srv/greeting" "hello from multistep"
    assert_file_content "$r/tmp/built-as" "1000"
    assert_file_content "$r/tmp/version" "dev"
    assert_same_file "$r/usr/local/bin/show" "$TOP/testdata/integration/multistep/app/show.sh"
    assert_same_file "$r/bin/busybox" "$BUSYBOX"
    if [ -s "$r/newfile" ]; then fail "/newfile should be empty"; fi
    assert_eq "$(stat -c %i "$r/a")" "$(stat -c %i "$r/a-hardlink")" "/a and /a-hardlink are hard links"
    assert_eq "busybox" "$(readlink "$r/bin/sh")" "/bin/sh -> busybox"
    local a
    for a in $BUSYBOX_APPLETS; do
        [ "$(readlink "$r/bin/$a")" = busybox ] || fail "/bin/$a is not a link to busybox"
    done
}

t_oci_archive_runc() {
    oci_out
    run_ok umoci unpack --image "$WORK/layout:$REF" "$WORK/bundle"
    # umoci's runtime config: the image's user, env, cwd and ENTRYPOINT + CMD. No terminal here.
    python3 - "$WORK/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
json.dump(c, open(p, "w"))
PY
    assert_json "$WORK/bundle/config.json" 'j["process"]["user"]["uid"] == 1000 and j["process"]["user"]["gid"] == 1000' "umoci resolved USER app"
    assert_json "$WORK/bundle/config.json" 'j["process"]["args"] == ["/bin/env", "ENTRYPOINT_RAN=yes", "/bin/sh", "/usr/local/bin/show"]' "process args"
    local id="lade-test-$$-$RANDOM"
    assert_exit 0 runc --root "$WORK/runc" run --bundle "$WORK/bundle" "$id"
    runc --root "$WORK/runc" delete -f "$id" >/dev/null 2>&1 || true
    assert_eq "$(multistep_output)" "$OUT" "the container's output under runc"
}

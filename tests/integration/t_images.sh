# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The store's commands: images, inspect, tag, rmi.

t_images_lists_tags() {
    build_multistep -t other/multi:2
    run_ok lade images
    assert_match "$OUT" 'multistep([[:space:]]+|:)1([[:space:]]|$)' "lade images lists multistep:1"
    assert_match "$OUT" 'other/multi([[:space:]]+|:)2([[:space:]]|$)' "lade images lists other/multi:2"
    local refs
    refs=$(store_refs "$ROOT" | LC_ALL=C sort)
    assert_eq "$(printf '%s\n' docker.io/library/multistep:1 docker.io/other/multi:2)" "$refs" \
        "tags in the store's index.json (full normalised names)"
    assert_eq "$(store_digest "$ROOT" "$MULTISTEP")" "$(store_digest "$ROOT" docker.io/other/multi:2)" \
        "both tags name one manifest"
    assert_store_valid "$ROOT"
    run_ok skopeo inspect "oci:$ROOT/oci:docker.io/other/multi:2"
    # The store itself is an OCI layout other tools validate (without --ref: oci-image-tool
    # 1.0.0-rc1's ref filter is unreliable once index.json holds three or more manifests).
    run_ok oci-image-tool validate --type image "$ROOT/oci"
    run_ok umoci unpack --image "$ROOT/oci:docker.io/other/multi:2" "$WORK/bundle"
    assert_file_content "$WORK/bundle/rootfs/a" "changed"
}

t_inspect_json() {
    build_multistep
    run_ok lade inspect multistep:1
    printf '%s\n' "$OUT" >"$WORK/inspect.json"
    run_ok python3 -m json.tool "$WORK/inspect.json"
    assert_json "$WORK/inspect.json" "j['Digest'] == '$(store_digest "$ROOT" "$MULTISTEP")'" \
        "top-level Digest is the manifest digest"
    # The image config, wherever the output nests it: the object holding Env, Cmd and User.
    python3 - "$WORK/inspect.json" >"$WORK/config.json" <<'PY' || fail "no image config (Env, Cmd, User) in lade inspect" "$(cat "$WORK/inspect.json")"
import json, sys
def find(o):
    if isinstance(o, dict):
        if "Env" in o and "Cmd" in o and "User" in o:
            return o
        vals = o.values()
    elif isinstance(o, list):
        vals = o
    else:
        return None
    for v in vals:
        r = find(v)
        if r is not None:
            return r
    return None
c = find(json.load(open(sys.argv[1])))
if c is None:
    sys.exit(1)
json.dump(c, sys.stdout)
PY
    assert_json "$WORK/config.json" 'j["User"] == "app" and j["WorkingDir"] == "/srv"' "USER, WORKDIR"
    assert_json "$WORK/config.json" '"GREETING=hello from multistep" in j["Env"]' "ENV"
    assert_json "$WORK/config.json" 'j["Cmd"] == ["/bin/sh", "/usr/local/bin/show"]' "CMD"
    assert_json "$WORK/config.json" 'j["Entrypoint"] == ["/bin/env", "ENTRYPOINT_RAN=yes"]' "ENTRYPOINT"
    assert_json "$WORK/config.json" 'j["Labels"]["com.example.version"] == "dev"' "LABEL"
    assert_json "$WORK/config.json" '"8080/tcp" in j["ExposedPorts"]' "EXPOSE"
    # Also by the full name, and a missing image fails.
    run_ok lade inspect "$MULTISTEP"
    assert_exit "!0" lade inspect no-such-image:1
    assert_contains "$ERR" "no-such-image:1" "the error names the image"
}

t_tag_and_rmi() {
    build_multistep
    local digest
    digest=$(store_digest "$ROOT" "$MULTISTEP")
    run_ok lade tag multistep:1 registry.example:5000/team/app:v2
    assert_eq "$digest" "$(store_digest "$ROOT" registry.example:5000/team/app:v2)" "the new tag"
    run_ok skopeo inspect "oci:$ROOT/oci:registry.example:5000/team/app:v2"
    run_ok lade images
    assert_contains "$OUT" "registry.example:5000/team/app"
    run_ok lade rmi multistep:1
    assert_exit "!0" lade inspect multistep:1
    assert_eq "registry.example:5000/team/app:v2" "$(store_refs "$ROOT")" "tags left after rmi"
    assert_store_valid "$ROOT"
    run_ok lade run --rm registry.example:5000/team/app:v2 cat /a
    assert_eq "changed" "$OUT" "the image under its other tag still runs"
    assert_exit "!0" lade rmi multistep:1
    assert_exit "!0" lade tag no-such-image:1 x:1
    run_ok lade rmi registry.example:5000/team/app:v2
    assert_eq "" "$(store_refs "$ROOT")" "no tags left"
    assert_store_valid "$ROOT"
}

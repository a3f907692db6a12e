# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # template text for lade's --format
# `lade build -o`: local and tar trees, archives on stdout, several outputs at once, name=, and
# --metadata-file.

# The files of the tree of an OCI archive's image: its layers applied in order with umoci.
oci_tree() { # ARCHIVE REF DIR
    mkdir -p "$3.layout"
    tar -xf "$1" -C "$3.layout"
    run_ok umoci unpack --image "$3.layout:$2" "$3"
}

t_outputs_local_is_the_image_tree() {
    build_multistep -o "type=local,dest=$WORK/local" -o "type=oci,dest=$WORK/img.tar,name=out:1"
    oci_tree "$WORK/img.tar" 1 "$WORK/bundle"
    # names, types, modes, owners, link targets and sizes: the same as the image's own layers give
    (cd "$WORK/local" && find . -printf '%p %y %m %U:%G %l %s\n' | grep -v ' d ' | sort) >"$WORK/l.txt"
    (cd "$WORK/bundle/rootfs" && find . -printf '%p %y %m %U:%G %l %s\n' | grep -v ' d ' | sort) >"$WORK/u.txt"
    assert_eq "$(cat "$WORK/u.txt")" "$(cat "$WORK/l.txt")" "local tree = umoci unpack of the oci export"
    assert_eq "changed" "$(cat "$WORK/local/a")"
    assert_eq "$(stat -c %i "$WORK/local/a")" "$(stat -c %i "$WORK/local/a-hardlink")" "hardlink kept"
    assert_eq "a" "$(readlink "$WORK/local/a-symlink")" "symlink kept"
    assert_owner "$WORK/local/newfile" 1000:1000
    assert_file_mode "$WORK/local/dir" 700
    assert_not_exists "$WORK/local/b" "a file deleted by a later layer"
}

t_outputs_tar_to_stdout() {
    make_testdata_context multistep "$WORK/ctx"
    lade build -o - "$WORK/ctx" 2>"$WORK/err" >"$WORK/tree.tar" || fail "build -o - failed" "$(cat "$WORK/err")"
    tar -tf "$WORK/tree.tar" >"$WORK/list" || fail "stdout is not a tar" "$(head -c 200 "$WORK/tree.tar" | od -c | head)"
    assert_contains "$(cat "$WORK/list")" "a-hardlink"
    assert_contains "$(cat "$WORK/list")" "srv/artifact"
    # the same with type=tar,dest=F
    run_ok lade build -o "type=tar,dest=$WORK/f.tar" "$WORK/ctx"
    cmp "$WORK/tree.tar" "$WORK/f.tar" || fail "type=tar,dest=F differs from -o -"
    # an oci archive on stdout, nothing else on it
    lade build -o type=oci,dest=- -t std:1 "$WORK/ctx" 2>/dev/null >"$WORK/o.tar"
    run_ok skopeo inspect "oci-archive:$WORK/o.tar"
    assert_exit 2 lade build -o - -o type=oci,dest=- "$WORK/ctx"
    assert_contains "$ERR" "only one output"
}

t_outputs_docker_name_and_errors() {
    build_multistep -o "type=docker,dest=$WORK/d.tar,name=reg.example/x/y:5"
    tar -xOf "$WORK/d.tar" manifest.json >"$WORK/m.json"
    assert_json "$WORK/m.json" 'j[0]["RepoTags"] == ["reg.example/x/y:5"]' "docker RepoTags from name="
    assert_exit 2 lade build -o type=local "$WORK/ctx"
    assert_contains "$ERR" "needs dest=DIR"
    assert_exit 2 lade build -o type=nope,dest=x "$WORK/ctx"
    assert_contains "$ERR" "type must be"
}

t_outputs_metadata_file() {
    build_multistep --metadata-file "$WORK/meta.json"
    digest=$(store_digest "$ROOT" "$MULTISTEP")
    assert_json "$WORK/meta.json" "j['containerimage.digest'] == '$digest'" "containerimage.digest is the stored manifest"
    assert_json "$WORK/meta.json" "j['containerimage.descriptor']['digest'] == '$digest' and j['containerimage.descriptor']['mediaType'].endswith('manifest.v1+json') and j['containerimage.descriptor']['size'] > 0"
    run_ok lade inspect -f '{{.Id}}' multistep:1
    assert_json "$WORK/meta.json" "j['containerimage.config.digest'] == '$OUT'"
    assert_json "$WORK/meta.json" "j['image.name'] == 'multistep:1'"
    assert_json "$WORK/meta.json" "all(set(s) == {'stage','line','instruction','cached','duration_ms','layer'} for s in j['lade.steps'])"
    assert_json "$WORK/meta.json" "any(s['instruction'].startswith('RUN id -u') and s['line'] > 0 and s['layer'].startswith('sha256:') and not s['cached'] for s in j['lade.steps'])"
    build_multistep --metadata-file "$WORK/meta2.json"
    assert_json "$WORK/meta2.json" "[s['cached'] for s in j['lade.steps'] if s['instruction'].startswith('RUN')] == [True] * 4" "the second build's RUNs are cached"
}

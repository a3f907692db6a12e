# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # template text for lade's --format
# history, images --format/--digests/--filter, inspect --format, run -e/-v/-u/-w/--entrypoint.

t_inspect_format() {
    build_multistep
    run_ok lade inspect --format '{{.Config.Env}}' multistep:1
    assert_eq "[PATH=/usr/local/bin:/bin GREETING=hello from multistep MODE=default]" "$OUT"
    run_ok lade inspect -f '{{json .Config}}' multistep:1
    printf '%s\n' "$OUT" >"$WORK/c.json"
    assert_json "$WORK/c.json" 'j["User"] == "app" and j["WorkingDir"] == "/srv" and j["Cmd"] == ["/bin/sh", "/usr/local/bin/show"]'
    run_ok lade inspect -f '{{index .Config.Labels "com.example.version"}} {{.RepoTags}} {{len .RootFS.Layers}}' multistep:1
    assert_match "$OUT" '^dev \[multistep:1\] [0-9]+$'
    assert_exit 2 lade inspect -f '{{if .Id}}x{{end}}' multistep:1
    assert_contains "$ERR" "not supported"
}

t_inspect_images_format_filter() {
    build_multistep
    run_ok lade tag multistep:1 other/thing:2
    run_ok lade images --format '{{.Repository}}:{{.Tag}}'
    assert_eq "$(printf 'multistep:1\nother/thing:2')" "$(sort <<<"$OUT")"
    run_ok lade images --format '{{.Repository}}' --filter 'reference=other/*'
    assert_eq "other/thing" "$OUT"
    run_ok lade images --filter dangling=true -q
    assert_eq "" "$OUT"
    run_ok lade images --digests
    assert_match "$(head -1 <<<"$OUT")" '^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE$'
    assert_contains "$OUT" "$(store_digest "$ROOT" "$MULTISTEP")"
    # SIZE: uncompressed, docker's units (3 significant digits): busybox alone is ~1-2 MB
    run_ok lade images --format '{{.Size}}' multistep:1
    assert_match "$OUT" '^[0-9.]+MB$'
}

t_inspect_history() {
    build_multistep
    run_ok lade history multistep:1
    assert_match "$(head -1 <<<"$OUT")" '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$'
    assert_contains "$(sed -n 2p <<<"$OUT")" 'CMD ["/bin/sh" "/usr/local/bin/show"]'
    assert_contains "$OUT" "<missing>"
    run_ok lade inspect -f '{{.Id}}' multistep:1
    id=$OUT
    run_ok lade history -q multistep:1
    assert_eq "${id:7:12}" "$OUT" "history -q: the short image ID"
    run_ok lade history --no-trunc --format '{{.CreatedBy}}|{{.Size}}' multistep:1
    assert_contains "$OUT" "RUN |1 VERSION=dev /bin/sh -c id -u > /tmp/built-as"
}

t_inspect_run_options() {
    build_multistep
    mkdir -p "$WORK/host" && echo from-host >"$WORK/host/f"
    run_ok lade run -e X=1 -e MODE=over -u 0:0 -w /tmp --entrypoint /bin/sh multistep:1 -c 'echo $X $MODE $(id -u) $(pwd)'
    assert_eq "1 over 0 /tmp" "$OUT"
    run_ok lade run -v "$WORK/host:/mnt:ro" -u 0 multistep:1 sh -c 'cat /mnt/f; touch /mnt/g 2>/dev/null || echo read-only'
    assert_eq "$(printf 'from-host\nread-only')" "$OUT"
    run_ok lade run -v "$WORK/host:/mnt" -u 0 multistep:1 sh -c 'echo written > /mnt/g'
    assert_eq "written" "$(cat "$WORK/host/g")"
    OUT=$(echo piped | "$LADE" --root "$ROOT" run -i multistep:1 cat)
    assert_eq "piped" "$OUT" "-i: stdin reaches the command"
    OUT=$(echo piped | "$LADE" --root "$ROOT" run multistep:1 cat)
    assert_eq "" "$OUT" "without -i the command reads /dev/null"
}

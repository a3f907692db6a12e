# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # commands for the image's shell
# `lade run [--rm] NAME [CMD...]`: the image's ENTRYPOINT + CMD (or the given command) in the
# sandbox, as the image's USER, in its WORKDIR, with its ENV.

t_run_default_cmd() {
    build_multistep
    run_ok lade run --rm multistep:1
    assert_eq "$(multistep_output)" "$OUT" "lade run output (testdata/integration/multistep/expected-output)"
    assert_no_mounts "$ROOT"
}

t_run_given_command() {
    build_multistep
    run_ok lade run --rm multistep:1 cat /a
    assert_eq "changed" "$OUT" "lade run NAME cat /a"
    # As docker does: the command replaces CMD, the ENTRYPOINT stays.
    run_ok lade run --rm multistep:1 sh -c 'echo "$ENTRYPOINT_RAN $MODE $(id -u):$(id -g) $(pwd)"'
    assert_eq "yes default 1000:1000 /srv" "$OUT" "entrypoint, env, user and workdir of a given command"
    run_ok lade run --rm multistep:1 sh -c 'ls /b /gone 2>&1; cat /dir2/old 2>&1; exit 0'
    assert_not_contains "$OUT" "deleted by a later layer"
    assert_not_contains "$OUT" "hidden by an opaque dir"
}

t_run_exit_status() {
    build_multistep
    assert_exit "!0" lade run --rm multistep:1 sh -c 'echo on-stdout; exit 5'
    assert_contains "$OUT$ERR" "on-stdout" "output before the failure"
    assert_exit "!0" lade run --rm multistep:1 /no/such/program
    assert_contains "$ERR" "/no/such/program" "the error names the program"
    assert_no_mounts "$ROOT"
}

t_run_sandbox() {
    build_multistep
    local before
    before=$(store_digest "$ROOT" "$MULTISTEP")
    # A fresh /proc in a new PID namespace, a minimal /dev, and no view of the store.
    run_ok lade run --rm multistep:1 sh -c 'test -r /proc/self/status && echo proc-ok;
        test -c /dev/null && test -c /dev/zero && test -c /dev/urandom && echo dev-ok;
        echo "pid $$"; if test -e "$1/oci/index.json"; then echo store-visible; fi' sh "$ROOT"
    assert_contains "$OUT" "proc-ok"
    assert_contains "$OUT" "dev-ok"
    local pid
    pid=$(printf '%s\n' "$OUT" | sed -n 's/^pid //p')
    if [ -z "$pid" ] || [ "$pid" -gt 5 ]; then
        fail "the command's pid is '$pid': not in a new PID namespace" "$OUT"
    fi
    assert_not_contains "$OUT" "store-visible" "the store is visible inside the sandbox"
    # What a run writes stays in that run.
    run_ok lade run --rm multistep:1 sh -c 'echo scribble > /tmp/scribble && rm /tmp/built-as'
    run_ok lade run --rm multistep:1 sh -c 'ls /tmp; cat /tmp/built-as'
    assert_not_contains "$OUT" "scribble" "a file from an earlier run"
    assert_contains "$OUT" "1000" "/tmp/built-as deleted by an earlier run"
    assert_eq "$before" "$(store_digest "$ROOT" "$MULTISTEP")" "the image is unchanged by runs"
    assert_store_valid "$ROOT"
    assert_no_mounts "$ROOT"
}

t_run_unknown_image() {
    assert_exit "!0" lade run --rm no-such-image-lade-test:7
    assert_contains "$ERR" "no-such-image-lade-test:7" "the error names the image"
}

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # Dockerfile text in single quotes
# Failing builds: exit codes (DESIGN.md "Errors and exit codes"), messages that say what and
# where, and a store that is still valid and unchanged afterwards.

BASE_TAG=docker.io/library/errbase:1

# error_setup: a store holding errbase:1 (busybox FROM scratch), and $WORK/ctx with the busybox
# rootfs, ready for a Dockerfile. Records index.json to compare after the failure.
error_setup() {
    make_busybox_context "$WORK/ctx"
    printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["/bin/echo", "errbase"]\n' >"$WORK/ctx/Dockerfile"
    run_ok lade build -t errbase:1 "$WORK/ctx"
    cp "$ROOT/oci/index.json" "$WORK/index.before"
    store_refs "$ROOT" >"$WORK/refs.before"
}

# after_failure: the store is valid, errbase:1 is intact and readable by skopeo, the failed build
# tagged nothing, and nothing is left mounted.
after_failure() {
    assert_store_valid "$ROOT"
    run_ok python3 -m json.tool "$ROOT/oci/index.json"
    run_ok skopeo inspect "oci:$ROOT/oci:$BASE_TAG"
    assert_eq "$(cat "$WORK/refs.before")" "$(store_refs "$ROOT")" "tags after the failed build"
    run_ok lade run --rm errbase:1
    assert_eq "errbase" "$OUT" "the earlier image still runs"
    assert_no_mounts "$ROOT"
}

t_error_unknown_instruction() {
    error_setup
    printf 'FROM scratch\nCOPY rootfs/ /\nFROBNICATE everything\nRUN echo ran\n' >"$WORK/ctx/Dockerfile"
    assert_exit 3 lade build -t broken:1 "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:3:1" "the position of the bad instruction"
    assert_contains "$ERR" "FROBNICATE" "the instruction's name"
    assert_match "$ERR" '^ *3 \| FROBNICATE everything$' "the line shown with its number"
    # A parse error is found before anything is built: the store is untouched.
    assert_same_file "$WORK/index.before" "$ROOT/oci/index.json" "index.json changed by an invalid Dockerfile"
    after_failure
}

t_error_run_exit_status() {
    error_setup
    cat >"$WORK/ctx/Dockerfile" <<'EOF'
FROM errbase:1
RUN echo "first step ran: $((40 + 2))"
RUN echo "about to fail: $((6 * 7))" && exit 3
RUN echo "step after the failure ran: $((1 + 1))"
EOF
    # (The RUN steps print what their text does not contain, so output shows what ran.)
    assert_exit 4 lade build --progress plain -t broken:1 "$WORK/ctx"
    assert_contains "$ERR" "exit status 3" "the step's status"
    assert_contains "$ERR" 'echo "about to fail: $((6 * 7))" && exit 3' "the failing step, as written"
    assert_contains "$OUT$ERR" "about to fail: 42" "the failing step's output"
    assert_contains "$OUT$ERR" "first step ran: 42" "the earlier step's output"
    assert_not_contains "$OUT$ERR" "step after the failure ran: 2" "a step after the failure ran"
    after_failure
}

t_error_copy_missing_file() {
    error_setup
    printf 'FROM errbase:1\nRUN echo before\nCOPY no-such-file.txt /dest/\n' >"$WORK/ctx/Dockerfile"
    assert_exit "!0" lade build -t broken:1 "$WORK/ctx"
    assert_ne 3 "$RC" "a missing source is not a Dockerfile syntax error"
    assert_ne 4 "$RC" "a missing source is not a RUN failure"
    assert_contains "$ERR" "no-such-file.txt" "the error names the missing file"
    after_failure
}

t_error_copy_ignored_file() {
    error_setup
    printf 'secret.txt\n' >"$WORK/ctx/.dockerignore"
    echo secret >"$WORK/ctx/secret.txt"
    printf 'FROM errbase:1\nCOPY secret.txt /\n' >"$WORK/ctx/Dockerfile"
    assert_exit "!0" lade build -t broken:1 "$WORK/ctx"
    assert_contains "$ERR" "secret.txt" "the error names the excluded file"
    after_failure
}

t_error_unknown_base_image() {
    error_setup
    printf 'FROM no-such-base-lade-test:1.0\nRUN echo never\n' >"$WORK/ctx/Dockerfile"
    assert_exit "!0" lade build -t broken:1 "$WORK/ctx"
    assert_ne 3 "$RC" "a missing base image is not a Dockerfile syntax error"
    assert_contains "$ERR" "no-such-base-lade-test:1.0" "the error names the image"
    after_failure
}

t_error_unknown_stage() {
    error_setup
    printf 'FROM errbase:1\nCOPY --from=nosuchstage /a /a\n' >"$WORK/ctx/Dockerfile"
    assert_exit "!0" lade build -t broken:1 "$WORK/ctx"
    assert_contains "$ERR" "nosuchstage" "the error names the stage"
    after_failure
}

t_error_usage() {
    make_busybox_context "$WORK/ctx"
    printf 'FROM scratch\nCOPY rootfs/ /\n' >"$WORK/ctx/Dockerfile"
    assert_exit 2 lade build
    assert_exit 2 lade build --no-such-flag "$WORK/ctx"
    assert_exit 2 lade build -o type=nonsense,dest=x "$WORK/ctx"
    assert_exit 2 lade no-such-command
    assert_exit 2 "$LADE" --no-such-global-flag images
    assert_exit "!0" lade build -f "$WORK/no-such-Dockerfile" "$WORK/ctx"
    assert_contains "$ERR" "no-such-Dockerfile" "the error names the Dockerfile"
    assert_exit "!0" lade build "$WORK/no-such-context"
    assert_contains "$ERR" "no-such-context" "the error names the context"
    run_ok lade help
    assert_contains "$OUT" "build"
    run_ok lade version
    assert_match "$OUT" '[0-9]+\.[0-9]+' "a version number"
    local commit
    if commit=$(git -C "$TOP" rev-parse --short=12 HEAD 2>/dev/null); then
        assert_contains "$OUT" "(commit $commit" "the commit lade was built from"
    fi
}

t_error_invalid_dockerfiles() {
    make_busybox_context "$WORK/ctx"
    local df
    # Each must be rejected as an invalid Dockerfile (exit 3) before anything runs.
    for df in 'RUN echo no-from' \
        'FROM' \
        'FROM scratch\nCOPY' \
        'FROM scratch\nENV' \
        'FROM scratch\nCOPY --no-such-flag=1 rootfs/ /' \
        'FROM scratch AS a\nFROM scratch AS a\nRUN echo dup-stage'; do
        printf '%b\n' "$df" >"$WORK/ctx/Dockerfile"
        say "Dockerfile: $df"
        assert_exit 3 lade build "$WORK/ctx"
        assert_contains "$ERR" "Dockerfile:" "the error points into the Dockerfile"
    done
}

# Values that double at every line (issue 7, bug 6): a1=x, a2=${a1}${a1}, ... would reach
# 32 MiB at a26 and gigabytes a few lines later. The 1 MiB bound on an expanded word stops the
# build at the line that crosses it, at once, with nothing built.
t_error_expansion_bound() {
    error_setup
    local i start
    {
        echo 'FROM errbase:1'
        echo 'ARG a1=x'
        for i in $(seq 2 26); do echo "ARG a$i=\${a$((i - 1))}\${a$((i - 1))}"; done
        echo 'RUN echo never'
    } >"$WORK/ctx/Dockerfile"
    start=$SECONDS
    assert_exit 3 timeout 60 "$LADE" --root "$ROOT" build -t broken:1 "$WORK/ctx"
    [ $((SECONDS - start)) -le 10 ] || fail "the failing build took $((SECONDS - start)) s"
    assert_contains "$ERR" "Dockerfile:22:1" "the line whose value crosses 1 MiB"
    assert_contains "$ERR" "longer than 1 MiB" "why"
    # The same ARGs before FROM fail in the plan, for lade plan as for lade build.
    sed -i -e '1d' -e 's/^RUN echo never$/FROM errbase:1/' "$WORK/ctx/Dockerfile"
    assert_exit 3 timeout 60 "$LADE" --root "$ROOT" plan "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:22:1" "the meta ARG whose value crosses 1 MiB"
    assert_exit 3 timeout 60 "$LADE" --root "$ROOT" build -t broken:1 "$WORK/ctx"
    assert_same_file "$WORK/index.before" "$ROOT/oci/index.json" "index.json changed by a failed plan"
    after_failure
}

# The 16 MiB bound on a stage's ENV and ARGs: one line of 1 MiB references is enough to cross it.
t_error_values_bound() {
    error_setup
    local i
    {
        echo 'FROM errbase:1'
        echo 'ENV a1=x'
        for i in $(seq 2 21); do echo "ENV a$i=\${a$((i - 1))}\${a$((i - 1))}"; done
        printf 'ENV'
        for i in $(seq 1 20); do printf ' b%d=$a21' "$i"; done
        printf '\nRUN echo never\n'
    } >"$WORK/ctx/Dockerfile"
    assert_exit 3 timeout 60 "$LADE" --root "$ROOT" build -t broken:1 "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:23:1" "the ENV line of references"
    assert_contains "$ERR" "exceed 16 MiB" "why"
    after_failure
}

# A RUN that fails because the store's disk is full is an I/O error of the build (exit 7, "no
# space left"), not a failing command (4). The store is a 32 MiB tmpfs.
t_error_run_store_disk_full() {
    local small="$WORK/small"
    mkdir -p "$small"
    mount -t tmpfs -o size=32m tmpfs "$small" || skip "cannot mount a tmpfs here"
    make_busybox_context "$WORK/ctx"
    printf 'FROM scratch\nCOPY rootfs/ /\nRUN dd if=/dev/zero of=/fill bs=1M count=64\n' \
        >"$WORK/ctx/Dockerfile"
    assert_exit 7 "$LADE" --root "$small/store" build "$WORK/ctx"
    assert_contains "$ERR" "no space left" "the error says the disk is full"
    printf 'FROM scratch\nCOPY rootfs/ /\nRUN exit 3\n' >"$WORK/ctx/Dockerfile"
    assert_exit 4 "$LADE" --root "$small/store" build "$WORK/ctx"
    umount "$small"
}

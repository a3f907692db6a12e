# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What a step's cache key covers (builder/cache.h): every expanded flag and what the step can
# see, and nothing else. Each case failed before the typed instructions (issue 7).

# owner_of IMAGE PATH: "uid:gid" of PATH in IMAGE.
owner_of() {
    run_ok lade run --rm "$1" stat -c %u:%g "$2"
    printf '%s' "$OUT"
}

t_cache_chown_build_arg_changes_key() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
ARG U=1
COPY --chown=$U:$U a /a
EOF_
    echo hi >"$WORK/ctx/a"
    run_ok lade build --progress plain --build-arg U=1000 -t ck:1 "$WORK/ctx"
    assert_eq "1000:1000" "$(owner_of ck:1 /a)" "--chown from a build arg"
    # Before: the key held the unexpanded "--chown=$U:$U", so this was a stale CACHED hit.
    run_ok lade build --progress plain --build-arg U=2000 -t ck:2 "$WORK/ctx"
    assert_eq "2000:2000" "$(owner_of ck:2 /a)" "another build arg, another owner"
    run_ok lade build --progress plain --build-arg U=1000 -t ck:3 "$WORK/ctx"
    assert_eq "CACHED" "$(step_status "$ERR" 'COPY --chown=$U:$U a /a')" "same args hit the cache"
    assert_eq "1000:1000" "$(owner_of ck:3 /a)"
}

t_cache_undeclared_build_arg_keeps_key() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
ARG USED=1
RUN echo "$USED" >/used
EOF_
    run_ok lade build --progress plain --iidfile "$WORK/a" "$WORK/ctx"
    # A build arg no ARG declares reaches no step: every step is a cache hit, same image.
    run_ok lade build --progress plain --build-arg NOT_DECLARED=x --iidfile "$WORK/b" "$WORK/ctx"
    assert_eq "CACHED" "$(step_status "$ERR" 'RUN echo "$USED" >/used')"
    assert_eq "$(cat "$WORK/a")" "$(cat "$WORK/b")" "an undeclared build arg changed the image"
    run_ok lade build --progress plain --build-arg USED=2 --iidfile "$WORK/c" "$WORK/ctx"
    assert_eq "DONE" "$(step_status "$ERR" 'RUN echo "$USED" >/used')" "the RUN ran again"
    assert_ne "$(cat "$WORK/a")" "$(cat "$WORK/c")" "a declared build arg is in the RUN's key"
}

t_copy_empty_destination_is_workdir() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
WORKDIR /w
ARG E
COPY a $E
COPY a ${E}b
EOF_
    echo hi >"$WORK/ctx/a"
    # Before: a heap overflow (raw_dest[strlen - 1] of ""). BuildKit: "" is the working dir.
    run_ok lade build --progress plain -t emptydest "$WORK/ctx"
    run_ok lade run --rm emptydest cat /w/a /w/b
    assert_eq "$(printf 'hi\nhi')" "$OUT" "COPY to an empty destination"
}

t_run_network_flag() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
RUN --network=none cat /proc/net/dev | grep -c : >/ifaces
RUN --network=default true
EOF_
    run_ok lade build --progress plain -t netflag "$WORK/ctx"
    run_ok lade run --rm netflag cat /ifaces
    assert_eq "1" "$OUT" "RUN --network=none sees loopback only"
    sed -i 's/--network=default/--network=bogus/' "$WORK/ctx/Dockerfile"
    assert_exit 3 lade build -t netflag:bad "$WORK/ctx"
    assert_contains "$ERR" 'Dockerfile:4:'
    assert_contains "$ERR" 'unsupported network mode "bogus"'
}

# Issue 7: COPY --from keeps the source's owners, so they are part of what the step writes and
# of its key. Before: two images differing only in ownership gave the same content hash, and
# the second build reused the first one's layer (owner 1:1 where the image has 2:2).
t_cache_copy_from_image_owner_in_key() {
    mkdir -p "$WORK/base"
    echo same >"$WORK/base/f"
    printf 'FROM scratch\nARG ID\nCOPY --chown=$ID:$ID f /f\n' >"$WORK/base/Dockerfile"
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
COPY --from=ownbase:1 /f /f
EOF_
    run_ok lade build --progress plain --build-arg ID=1 -t ownbase:1 "$WORK/base"
    run_ok lade build --progress plain -t ownuse:1 "$WORK/ctx"
    assert_eq "1:1" "$(owner_of ownuse:1 /f)" "owner kept from the image"
    run_ok lade build --progress plain --build-arg ID=2 -t ownbase:1 "$WORK/base"
    run_ok lade build --progress plain -t ownuse:2 "$WORK/ctx"
    assert_eq "DONE" "$(step_status "$ERR" 'COPY --from=ownbase:1 /f /f')" "owners changed: no hit"
    assert_eq "2:2" "$(owner_of ownuse:2 /f)" "owner kept from the new image"
}

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2119  # registry_start takes options, not the case's arguments
# Issue 9: lade killed with SIGKILL (with its process group) at random moments of builds that
# pull, COPY, RUN and push. After the next lade command the store holds no staging entry, is a
# valid OCI layout whose every blob has its digest, and a rebuild gives the digest of a build that
# was never interrupted.
#
# The moments are drawn from a seed, printed first: LADE_KILL_SEED=N replays a run,
# LADE_KILL_ROUNDS=N changes the number of kills (30). The kill moments depend on the machine's
# speed too, so a replay on another machine or load runs other moments.

# shellcheck source=tests/integration/registry.sh
source "$INTEG_DIR/registry.sh"

# kill_context DIR BASE: a context FROM the pulled image BASE with COPY, RUN writing files, a
# second COPY and a second RUN (four layers to commit, a cache record for each step).
kill_context() {
    mkdir -p "$1/data/sub"
    seq 1 2000 >"$1/data/numbers"
    printf 'x\n' >"$1/data/sub/x"
    printf 'more\n' >"$1/more.txt"
    cat >"$1/Dockerfile" <<EOF
FROM $2
COPY data/ /data/
RUN mkdir -p /out && for i in \$(seq 40); do echo \$i > /out/f\$i; done && head -c 1500000 /dev/zero > /out/zero
COPY more.txt /more.txt
RUN cat /more.txt /data/numbers > /out/all && rm /out/f1
CMD ["cat", "/out/all"]
EOF
}

# staging_left ROOT: what staging left in ROOT: entries of tmp/ and the `NAME.tmp-PID` files of
# write_file_atomic_at anywhere in the store.
staging_left() {
    [ -d "$1" ] || return 0
    if [ -d "$1/tmp" ]; then find "$1/tmp" -mindepth 1 -maxdepth 1; fi
    # (not inside layer trees or cache mounts: their files are the images' and the builds')
    find "$1" -path "$1/tmp" -prune -o -path "$1/layers/*/*" -prune -o -path "$1/cachemounts" -prune -o \
        \( -name '*.tmp-*' -o -name '*.tmp' \) -print
}

# a_pid_alive PID...: whether one of the PIDs still runs (a zombie counts as gone).
a_pid_alive() {
    local p
    for p in "$@"; do
        [ -e "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && return 0
    done
    return 1
}

t_kill_random_leaves_no_staging() {
    local seed=${LADE_KILL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
    local rounds=${LADE_KILL_ROUNDS:-30}
    say "seed $seed ($rounds kills; LADE_KILL_SEED=$seed replays this run)"
    RANDOM=$seed

    registry_start
    local base="$REG_HOST/kill/base:1" app="$REG_HOST/kill/app:1"
    write_context "$WORK/basectx" <<'EOF'
FROM scratch
COPY rootfs/ /
EOF
    run_ok "$LADE" --root "$WORK/seedroot" build --progress plain --push -t "$base" "$WORK/basectx"
    kill_context "$WORK/ctx" "$base"

    # the reference: a build never interrupted, timed to place the kills
    local t0 t1 full_ms ref
    t0=$(date +%s%N)
    run_ok "$LADE" --root "$WORK/refroot" build --progress plain -t "$app" "$WORK/ctx"
    t1=$(date +%s%N)
    full_ms=$(((t1 - t0) / 1000000 + 100))
    ref=$(store_digest "$WORK/refroot" "$app")
    say "an uninterrupted build takes $((full_ms - 100)) ms, its image $ref"

    # Rounds go on until $rounds builds were killed while running: a build that finished before
    # its moment (a cached one, or a machine less loaded than during the reference build) does
    # not count, and the moments of later rounds are drawn below its duration.
    local i=0 delay_ms pid kids left killed=0 mode what
    while [ "$killed" -lt "$rounds" ]; do
        i=$((i + 1))
        [ "$i" -le $((3 * rounds)) ] || fail "only $killed of $((i - 1)) builds were still running when killed"
        # Half the rounds start without the base image (pull) and with no cache (every step
        # runs); the others start from what the previous rounds left, with or without cache.
        mode=$((RANDOM % 4))
        if [ "$mode" -eq 0 ]; then
            "$LADE" --root "$ROOT" rmi "$base" "$app" >/dev/null 2>&1 || true
            "$LADE" --root "$ROOT" prune --all >/dev/null 2>&1 || true
        fi
        local flags=(--progress plain -t "$app")
        [ "$mode" -le 1 ] || flags+=(--no-cache)
        [ $((RANDOM % 3)) -ne 0 ] || flags+=(--push)
        delay_ms=$((RANDOM % full_ms))
        setsid "$LADE" --root "$ROOT" build "${flags[@]}" "$WORK/ctx" >"$WORK/kill-$i.log" 2>&1 &
        pid=$!
        sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
        kids=$(descendants "$pid")
        what="finished before ${delay_ms} ms"
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || true
            killed=$((killed + 1))
            what="killed after ${delay_ms} ms"
        else
            full_ms=$((delay_ms > 100 ? delay_ms : 100))
        fi
        wait "$pid" 2>/dev/null || true
        # Everything lade started ends with it (pid 1 of a RUN's namespace takes its children).
        local tries
        # shellcheck disable=SC2086  # one pid a word
        for ((tries = 0; tries < 50; tries++)); do
            a_pid_alive $kids || break
            sleep 0.1
        done
        # shellcheck disable=SC2086
        ! a_pid_alive $kids || fail "round $i (seed $seed, ${delay_ms} ms, ${flags[*]}): processes outlive lade" \
            "$(for k in $kids; do tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null && echo; done)"
        say "round $i (${SECONDS}s): ${flags[*]}, $what: $(tail -n 1 "$WORK/kill-$i.log")"

        run_ok "$LADE" --root "$ROOT" images
        left=$(staging_left "$ROOT")
        [ -z "$left" ] || fail "round $i (seed $seed, ${delay_ms} ms, ${flags[*]}): staging left after lade images" \
            "$left" "the killed build's log:" "$(tail -n 5 "$WORK/kill-$i.log")"
        assert_no_mounts "$ROOT"
        assert_store_valid "$ROOT" >/dev/null
    done

    # the store still builds, from its cache or not, the image of the uninterrupted build
    run_ok "$LADE" --root "$ROOT" build --progress plain -t "$app" "$WORK/ctx"
    assert_eq "$ref" "$(store_digest "$ROOT" "$app")" "the rebuild after the kills (seed $seed)"
    run_ok "$LADE" --root "$ROOT" build --progress plain --no-cache -t "$app" "$WORK/ctx"
    assert_eq "$ref" "$(store_digest "$ROOT" "$app")" "the rebuild without cache (seed $seed)"
    run_ok "$LADE" --root "$ROOT" run --rm "$app"
    assert_contains "$OUT" "more" "the image runs"
    assert_eq "" "$(staging_left "$ROOT")" "staging after the last builds"
    assert_store_valid "$ROOT"
}

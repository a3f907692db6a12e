# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Functions of the differential suite, sourced by tests/differential/run and by each case's worker
# (a fresh bash that xargs starts, so nothing here may depend on state other than these exported
# variables):
#
#   DIFF_TOP    the repository top           DIFF_LADE  the lade binary (absolute)
#   DIFF_WORK   the run's temp directory     DIFF_SOCK  the suite's dockerd socket
#   DIFF_TIMEOUT  seconds allowed for one build or save (a hung tool must not hang the suite)
#
# A case is testdata/differential/NAME/: a Dockerfile and its context, plus optionally
#   case.conf   options, one per line (`#` comments):
#                 build-arg K=V      --build-arg for both tools (repeatable)
#                 target STAGE       --target for both tools
#                 dockerfile PATH    -f CONTEXT/PATH for both tools
#                 secret id=ID,src=PATH   --secret for both tools (PATH in the context)
#                 label K=V          --label for both tools
#                 umask NNN          the umask lade runs under (dockerd keeps the suite's 022)
#                 prebuild-arg K=V   lade first builds the case once in the same store with these
#                                    build args instead of the build-arg ones (repeatable), so a
#                                    stale cache hit in the compared build shows
#                 expect-fail        both builds must fail; there is nothing to compare
#                 skip REASON        the case is not run
#   prepare.sh  run by sh inside a copy of the context before the builds, for what git cannot
#               hold (modes, hard links, empty directories, generated files); $BUSYBOX is set
# case.conf and prepare.sh are not part of the context.

DIFF_DIR="$DIFF_TOP/tests/differential"
DIFF_CASES="$DIFF_TOP/testdata/differential"
DIFF_BUSYBOX=${LADE_TEST_BUSYBOX:-/bin/busybox}

# docker CLI against the suite's own daemon. /usr/bin/docker: a newer client elsewhere in PATH
# may lack BuildKit support (TEST-ENV.md); DOCKER_CONFIG keeps the host's config.json out.
dk() {
    DOCKER_BUILDKIT=1 DOCKER_CONFIG="$DIFF_WORK/docker-config" /usr/bin/docker -H "unix://$DIFF_SOCK" "$@"
}

# prepare_context NAME DEST: copies the case's context to DEST and runs its prepare.sh there.
prepare_context() {
    local src="$DIFF_CASES/$1" dest=$2
    mkdir -p "$dest" || return 1
    (cd "$src" && tar -cf - --exclude=./case.conf --exclude=./prepare.sh .) | (cd "$dest" && tar -xpf -) ||
        return 1
    if [ -f "$src/prepare.sh" ]; then
        (cd "$dest" && BUSYBOX="$DIFF_BUSYBOX" sh -e "$src/prepare.sh") || {
            echo "prepare.sh failed"
            return 1
        }
    fi
}

# read_conf NAME: sets OPTS (flags for both tools), BUILD_ARGS (the --build-arg flags of the
# compared builds), PRE_ARGS (those of lade's prebuild), UMASK, EXPECT_FAIL and SKIP from the
# case's case.conf. Unknown keys are an error, so a typo cannot silently test something else.
read_conf() {
    local conf="$DIFF_CASES/$1/case.conf" key val
    OPTS=() BUILD_ARGS=() PRE_ARGS=() UMASK=022 EXPECT_FAIL=0 SKIP=''
    [ -f "$conf" ] || return 0
    while read -r key val || [ -n "$key" ]; do
        case $key in
        '' | '#'*) ;;
        build-arg) BUILD_ARGS+=(--build-arg "$val") ;;
        target) OPTS+=(--target "$val") ;;
        dockerfile) OPTS+=(-f "@CTX@/$val") ;;
        secret) OPTS+=(--secret "${val/src=/src=@CTX@/}") ;;
        label) OPTS+=(--label "$val") ;;
        umask) UMASK=$val ;;
        prebuild-arg) PRE_ARGS+=(--build-arg "$val") ;;
        expect-fail) EXPECT_FAIL=1 ;;
        skip) SKIP=${val:-skipped} ;;
        *)
            echo "case.conf: unknown key '$key'"
            return 1
            ;;
        esac
    done <"$conf"
}

# with_ctx CTX ARG...: prints the args NUL-separated with @CTX@ replaced by CTX.
with_ctx() {
    local ctx=$1 a
    shift
    for a in "$@"; do printf '%s\0' "${a//@CTX@/$ctx}"; done
}

# docker_build NAME CTX OUT.tar ARG...: builds the case with BuildKit and saves the image.
docker_build() {
    local name=$1 ctx=$2 out=$3
    shift 3
    timeout --kill-after=10 "$DIFF_TIMEOUT" \
        env DOCKER_BUILDKIT=1 DOCKER_CONFIG="$DIFF_WORK/docker-config" \
        /usr/bin/docker -H "unix://$DIFF_SOCK" build --network=host --progress=plain \
        -t "difftest-case/$name" "$@" "$ctx" || return 1
    timeout --kill-after=10 "$DIFF_TIMEOUT" \
        env DOCKER_CONFIG="$DIFF_WORK/docker-config" \
        /usr/bin/docker -H "unix://$DIFF_SOCK" save -o "$out" "difftest-case/$name"
}

# lade_build ROOT UMASK CTX OUT.tar ARG...: builds the case with lade, under UMASK, into an OCI
# archive (none when OUT.tar is "").
lade_build() {
    local root=$1 um=$2 ctx=$3 out=$4
    local -a o=()
    shift 4
    [ -z "$out" ] || o=(-o "type=oci,dest=$out")
    (
        umask "$um"
        timeout --kill-after=10 "$DIFF_TIMEOUT" "$DIFF_LADE" --root "$root" build --progress plain \
            "$@" "${o[@]}" "$ctx"
    )
}

# run_case NAME: one case, start to end. Writes DIFF_WORK/res/NAME (pass, fail or skip plus the
# seconds taken) and DIFF_WORK/logs/NAME.log, and prints one progress line.
run_case() {
    local name=$1 cw="$DIFF_WORK/cases/$1" log="$DIFF_WORK/logs/$1.log" start=$SECONDS st=0
    mkdir -p "$cw"
    run_case_steps "$name" "$cw" >"$log" 2>&1 </dev/null || st=$?
    case $st in
    0) st=pass ;;
    77) st=skip ;;
    *) st=fail ;;
    esac
    echo "$st $((SECONDS - start))" >"$DIFF_WORK/res/$name"
    printf 'differential: %-40s %s (%ds)\n' "$name" "$st" $((SECONDS - start))
    # Only the log is kept: stores and archives of 60 cases would fill a small CI disk.
    [ -n "${LADE_DIFF_KEEP:-}" ] || rm -rf -- "$cw"
}

# run_case_steps NAME CASEDIR: the case's steps; the exit status is the verdict (77: skipped).
run_case_steps() {
    local name=$1 cw=$2 ctx="$2/ctx" b rc_l=0 rc_d=0 t0=$SECONDS
    local -a args pre
    read_conf "$name" || return 1
    if [ -n "$SKIP" ]; then
        echo "skipped: $SKIP"
        return 77
    fi
    prepare_context "$name" "$ctx" || return 1
    mapfile -d '' args < <(with_ctx "$ctx" "${OPTS[@]}" "${BUILD_ARGS[@]}")
    echo "== lade (umask $UMASK) ${args[*]}"
    # The base images, exactly as docker has them (the suite built and saved them once).
    for b in "$DIFF_WORK"/bases/*.tar; do
        "$DIFF_LADE" --root "$cw/lade-root" load -i "$b" || return 1
    done
    if [ ${#PRE_ARGS[@]} -gt 0 ]; then
        mapfile -d '' pre < <(with_ctx "$ctx" "${OPTS[@]}" "${PRE_ARGS[@]}")
        echo "== lade prebuild ${pre[*]}"
        lade_build "$cw/lade-root" "$UMASK" "$ctx" "" "${pre[@]}" || return 1
    fi
    lade_build "$cw/lade-root" "$UMASK" "$ctx" "$cw/lade.tar" "${args[@]}" || rc_l=$?
    echo "== docker ${args[*]} (lade took $((SECONDS - t0))s)"
    t0=$SECONDS
    docker_build "$name" "$ctx" "$cw/docker.tar" "${args[@]}" || rc_d=$?
    if [ "$EXPECT_FAIL" = 1 ]; then
        echo "== expect-fail: lade exit $rc_l, docker exit $rc_d"
        [ "$rc_l" -ne 0 ] && [ "$rc_d" -ne 0 ]
        return
    fi
    if [ "$rc_l" -ne 0 ] || [ "$rc_d" -ne 0 ]; then
        echo "== build failed: lade exit $rc_l, docker exit $rc_d"
        return 1
    fi
    echo "== compare (docker took $((SECONDS - t0))s)"
    python3 "$DIFF_DIR/compare.py" --case "$name" --accept "$DIFF_DIR/divergences" \
        "$cw/lade.tar" "$cw/docker.tar"
}

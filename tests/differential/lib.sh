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
#                 secret id=ID,src=PATH   --secret for both tools (PATH in the context;
#                                    id=ID,env=VAR takes the value of an `env` variable)
#                 label K=V          --label for both tools
#                 env K=V            an environment variable of both builds (for secret env=)
#                 ssh ID=KEYFILE     --ssh for both tools (KEYFILE in the context, 0600)
#                 ssh default        an ssh-agent holding a generated key for the case, and
#                                    --ssh default for both tools
#                 http-serve DIR     serves the context's DIR on a free loopback port, passed
#                                    as --build-arg HTTP_PORT=PORT (ADD of URLs and git repos)
#                 stdin-dockerfile PATH   -f - with the context's PATH on stdin
#                 stdin-context      the context as a tar on stdin (context argument -)
#                 build-context NAME=DIR|URL  --build-context (a DIR is in the context)
#                 allow ENTITLEMENT  --allow for both tools (security.insecure)
#                 umask NNN          the umask lade runs under (dockerd keeps the suite's 022)
#                 prebuild-arg K=V   lade first builds the case once in the same store with these
#                                    build args instead of the build-arg ones (repeatable), so a
#                                    stale cache hit in the compared build shows
#                 expect-fail        both builds must fail; there is nothing to compare
#                 skip REASON        the case is not run (unless LADE_DIFF_NOSKIP is set)
#   prepare.sh  run by sh inside a copy of the context before the builds, for what git cannot
#               hold (modes, hard links, empty directories, generated files); $BUSYBOX is set
#   expected.json  a hand-written expectation (expected.py): docker cannot build the case, so
#               lade's image is compared with this instead of docker's, and docker is not run
# case.conf, prepare.sh and expected.json are not part of the context.

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
    (cd "$src" && tar -cf - --exclude=./case.conf --exclude=./prepare.sh \
        --exclude=./expected.json .) | (cd "$dest" && tar -xpf -) ||
        return 1
    if [ -f "$src/prepare.sh" ]; then
        (cd "$dest" && BUSYBOX="$DIFF_BUSYBOX" sh -e "$src/prepare.sh") || {
            echo "prepare.sh failed"
            return 1
        }
    fi
}

# read_conf NAME: sets OPTS (flags for both tools), BUILD_ARGS (the --build-arg flags of the
# compared builds), PRE_ARGS (those of lade's prebuild), UMASK, EXPECT_FAIL, SKIP, the services
# (SSH_ID, HTTP_DIR), the stdin modes (STDIN_DOCKERFILE, STDIN_CONTEXT) and ENVS from the case's
# case.conf. Unknown keys are an error, so a typo cannot silently test something else.
read_conf() {
    local conf="$DIFF_CASES/$1/case.conf" key val
    OPTS=() BUILD_ARGS=() PRE_ARGS=() ENVS=() UMASK=022 EXPECT_FAIL=0 SKIP=''
    SSH_ID='' HTTP_DIR='' STDIN_DOCKERFILE='' STDIN_CONTEXT=0
    [ -f "$conf" ] || return 0
    while read -r key val || [ -n "$key" ]; do
        case $key in
        '' | '#'*) ;;
        build-arg) BUILD_ARGS+=(--build-arg "$val") ;;
        target) OPTS+=(--target "$val") ;;
        dockerfile) OPTS+=(-f "@CTX@/$val") ;;
        secret) OPTS+=(--secret "${val/src=/src=@CTX@/}") ;;
        label) OPTS+=(--label "$val") ;;
        env) ENVS+=("$val") ;;
        ssh)
            case $val in
            *=*) OPTS+=(--ssh "${val/=/=@CTX@/}") ;;
            *)
                SSH_ID=$val
                OPTS+=(--ssh "$val")
                ;;
            esac
            ;;
        http-serve)
            HTTP_DIR=$val
            BUILD_ARGS+=(--build-arg "HTTP_PORT=@PORT@")
            ;;
        stdin-dockerfile)
            STDIN_DOCKERFILE=$val
            OPTS+=(-f -)
            ;;
        stdin-context) STDIN_CONTEXT=1 ;;
        build-context)
            case $val in
            *=*://*) OPTS+=(--build-context "$val") ;;
            *) OPTS+=(--build-context "${val%%=*}=@CTX@/${val#*=}") ;;
            esac
            ;;
        allow) OPTS+=(--allow "$val") ;;
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

# with_ctx CTX ARG...: prints the args NUL-separated with @CTX@ replaced by CTX and @PORT@ by
# the case's HTTP port.
with_ctx() {
    local ctx=$1 a
    shift
    for a in "$@"; do
        a=${a//@CTX@/$ctx}
        printf '%s\0' "${a//@PORT@/${HTTP_PORT:-}}"
    done
}

# start_services CASEDIR CTX: the ssh-agent and the HTTP server the case asks for. Sets
# SSH_AUTH_SOCK, HTTP_PORT and the pids stop_services ends.
start_services() {
    local cw=$1 ctx=$2 i
    AGENT_PID='' HTTP_PID='' HTTP_PORT=''
    if [ -n "$SSH_ID" ]; then
        [ "$SSH_ID" = default ] || {
            echo "case.conf: ssh: only 'default' is supported"
            return 1
        }
        ssh-keygen -q -t ed25519 -N '' -C difftest -f "$cw/ssh-key" || return 1
        export SSH_AUTH_SOCK="$cw/agent.sock"
        ssh-agent -D -a "$SSH_AUTH_SOCK" >/dev/null &
        AGENT_PID=$!
        for ((i = 0; i < 50; i++)); do
            [ -S "$SSH_AUTH_SOCK" ] && break
            sleep 0.1
        done
        ssh-add -q "$cw/ssh-key" || return 1
    fi
    if [ -n "$HTTP_DIR" ]; then
        python3 "$DIFF_DIR/httpserve.py" "$ctx/$HTTP_DIR" "$cw/http.port" 2>"$cw/http.log" &
        HTTP_PID=$!
        for ((i = 0; i < 300; i++)); do
            [ -f "$cw/http.port" ] && break
            sleep 0.1
        done
        HTTP_PORT=$(cat "$cw/http.port" 2>/dev/null) || {
            echo "http-serve: the server did not start"
            return 1
        }
        echo "== serving $HTTP_DIR on 127.0.0.1:$HTTP_PORT"
    fi
}

stop_services() {
    [ -z "${AGENT_PID:-}" ] || { kill "$AGENT_PID" && wait "$AGENT_PID"; } 2>/dev/null
    [ -z "${HTTP_PID:-}" ] || { kill "$HTTP_PID" && wait "$HTTP_PID"; } 2>/dev/null
    AGENT_PID='' HTTP_PID=''
    return 0
}

# build_input CASEDIR CTX: sets CTX_ARG (the context argument) and STDIN (the builds' stdin)
# for the case's stdin modes.
build_input() {
    local cw=$1 ctx=$2
    CTX_ARG=$ctx STDIN=/dev/null
    if [ "$STDIN_CONTEXT" = 1 ]; then
        tar -C "$ctx" -cf "$cw/context.tar" . || return 1
        CTX_ARG=- STDIN="$cw/context.tar"
    fi
    [ -z "$STDIN_DOCKERFILE" ] || STDIN="$ctx/$STDIN_DOCKERFILE"
}

# docker_build NAME CTX OUT.tar ARG...: builds the case with BuildKit and saves the image. CTX
# is the context argument (- for a tar on stdin); stdin is $STDIN, the environment adds $ENVS.
docker_build() {
    local name=$1 ctx=$2 out=$3
    shift 3
    timeout --kill-after=10 "$DIFF_TIMEOUT" \
        env "${ENVS[@]}" DOCKER_BUILDKIT=1 DOCKER_CONFIG="$DIFF_WORK/docker-config" \
        /usr/bin/docker -H "unix://$DIFF_SOCK" build --network=host --progress=plain \
        -t "difftest-case/$name" "$@" "$ctx" <"$STDIN" || return 1
    timeout --kill-after=10 "$DIFF_TIMEOUT" \
        env DOCKER_CONFIG="$DIFF_WORK/docker-config" \
        /usr/bin/docker -H "unix://$DIFF_SOCK" save -o "$out" "difftest-case/$name"
}

# lade_build ROOT UMASK CTX OUT.tar ARG...: builds the case with lade, under UMASK, into an OCI
# archive (none when OUT.tar is ""). CTX, stdin and the environment as for docker_build.
lade_build() {
    local root=$1 um=$2 ctx=$3 out=$4
    local -a o=()
    shift 4
    [ -z "$out" ] || o=(-o "type=oci,dest=$out")
    (
        umask "$um"
        timeout --kill-after=10 "$DIFF_TIMEOUT" env "${ENVS[@]}" "$DIFF_LADE" --root "$root" \
            build --progress plain "$@" "${o[@]}" "$ctx" <"$STDIN"
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
    local name=$1 cw=$2 rc=0
    read_conf "$name" || return 1
    if [ -n "$SKIP" ] && [ -z "${LADE_DIFF_NOSKIP:-}" ]; then
        echo "skipped: $SKIP"
        return 77
    fi
    prepare_context "$name" "$cw/ctx" || return 1
    start_services "$cw" "$cw/ctx" && build_input "$cw" "$cw/ctx" && run_case_builds "$name" "$cw" ||
        rc=$?
    stop_services
    return "$rc"
}

# run_case_builds NAME CASEDIR: lade's build, docker's (unless the case has a hand-written
# expectation) and the comparison.
run_case_builds() {
    local name=$1 cw=$2 ctx="$2/ctx" b rc_l=0 rc_d=0 t0=$SECONDS
    local exp="$DIFF_CASES/$1/expected.json"
    local -a args pre
    mapfile -d '' args < <(with_ctx "$ctx" "${OPTS[@]}" "${BUILD_ARGS[@]}")
    echo "== lade (umask $UMASK) ${args[*]} $CTX_ARG"
    # The base images, exactly as docker has them (the suite built and saved them once).
    for b in "$DIFF_WORK"/bases/*.tar; do
        "$DIFF_LADE" --root "$cw/lade-root" load -i "$b" </dev/null || return 1
    done
    if [ ${#PRE_ARGS[@]} -gt 0 ]; then
        mapfile -d '' pre < <(with_ctx "$ctx" "${OPTS[@]}" "${PRE_ARGS[@]}")
        echo "== lade prebuild ${pre[*]}"
        lade_build "$cw/lade-root" "$UMASK" "$CTX_ARG" "" "${pre[@]}" || return 1
    fi
    lade_build "$cw/lade-root" "$UMASK" "$CTX_ARG" "$cw/lade.tar" "${args[@]}" || rc_l=$?
    if [ -f "$exp" ]; then
        if [ "$EXPECT_FAIL" = 1 ]; then
            echo "== expect-fail: lade exit $rc_l (hand-written expectation, docker not run)"
            [ "$rc_l" -ne 0 ]
            return
        fi
        [ "$rc_l" -eq 0 ] || {
            echo "== build failed: lade exit $rc_l"
            return 1
        }
        echo "== compare with the hand-written expected.json (docker not run)"
        python3 "$DIFF_DIR/compare.py" --case "$name" --expect "$exp" --bases "$DIFF_WORK/bases" \
            --var "HTTP_PORT=${HTTP_PORT:-}" "$cw/lade.tar"
        return
    fi
    echo "== docker ${args[*]} $CTX_ARG (lade took $((SECONDS - t0))s)"
    t0=$SECONDS
    docker_build "$name" "$CTX_ARG" "$cw/docker.tar" "${args[@]}" || rc_d=$?
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

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# --progress (builder/progress.h): plain, tty, json, quiet; cache misses explained
# (builder/cache_explain.h); and the progress oddities of issue 10.

# miss_reason PROGRESS TEXT: the "cache miss:" reason of the step whose title ends in TEXT.
miss_reason() {
    printf '%s\n' "$1" | awk -v t="] $2" '
        n == "" && substr($0, length($0) - length(t) + 1) == t { n = $1; next }
        n != "" && $1 == n && $2 == "cache" && $3 == "miss:" { sub(/^#[0-9]+ cache miss: /, ""); print; exit }'
}

t_progress_miss_reasons() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch AS base
COPY rootfs/ /
FROM base
COPY src/ /src/
ARG VERSION=1
RUN echo "v$VERSION" >/v
RUN cat /v
EOF_
    mkdir -p "$WORK/ctx/src"
    echo 'int main(void) { return 0; }' >"$WORK/ctx/src/main.c"
    echo '#pragma once' >"$WORK/ctx/src/a.h"
    build() { run_ok lade build --progress plain "$@" "$WORK/ctx"; }

    build
    assert_eq "no previous build" "$(miss_reason "$ERR" 'COPY src/ /src/')"
    build
    assert_eq "CACHED" "$(step_status "$ERR" 'RUN cat /v')"
    assert_not_contains "$ERR" "cache miss" "a fully cached build explains nothing"

    echo 'int main(void) { return 1; }' >"$WORK/ctx/src/main.c"
    build
    assert_eq "COPY src/: src/main.c changed" "$(miss_reason "$ERR" 'COPY src/ /src/')"
    assert_eq "previous step changed" "$(miss_reason "$ERR" 'RUN cat /v')"

    build --build-arg VERSION=2
    assert_eq "CACHED" "$(step_status "$ERR" 'COPY src/ /src/')"
    assert_eq 'ARG VERSION changed (1 -> 2)' "$(miss_reason "$ERR" 'RUN echo "v$VERSION" >/v')"

    # the base stage changes: the first step of the stage built on it says so
    echo x >"$WORK/ctx/rootfs/etc/motd"
    build --build-arg VERSION=2
    assert_eq "rootfs/: rootfs/etc/motd added" "$(miss_reason "$ERR" 'COPY rootfs/ /' | sed 's/^COPY //')"
    assert_eq "base stage changed" "$(miss_reason "$ERR" 'COPY src/ /src/')"

    build --build-arg VERSION=2 --no-cache
    assert_eq "--no-cache" "$(miss_reason "$ERR" 'RUN cat /v')"
}

t_progress_miss_base_image_changed() {
    write_context "$WORK/base" <<'EOF_'
FROM scratch
COPY rootfs/ /
EOF_
    run_ok lade build --progress plain -t pbase:1 "$WORK/base"
    mkdir -p "$WORK/ctx"
    printf 'FROM pbase:1\nRUN echo hi >/hi\n' >"$WORK/ctx/Dockerfile"
    run_ok lade build --progress plain "$WORK/ctx"
    echo x >"$WORK/base/rootfs/etc/motd"
    run_ok lade build --progress plain -t pbase:1 "$WORK/base"
    run_ok lade build --progress plain "$WORK/ctx"
    assert_eq "base image changed" "$(miss_reason "$ERR" 'RUN echo hi >/hi')"
}

t_progress_json_events_validate() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
RUN echo hello-json
EOF_
    run_ok lade build --progress json "$WORK/ctx"
    printf '%s\n' "$ERR" >"$WORK/first.jsonl"
    run_ok lade build --progress rawjson "$WORK/ctx"
    printf '%s\n' "$ERR" >"$WORK/second.jsonl"
    for f in first second; do
        python3 "$INTEG_DIR/progress_events.py" "$INTEG_DIR/progress-schema.json" "$WORK/$f.jsonl" ||
            fail "$f build: events do not follow progress-schema.json" "$(cat "$WORK/$f.jsonl")"
    done
    # the first build ran the RUN: its output line, its done with a layer digest and a reason
    python3 - "$WORK/first.jsonl" "$WORK/second.jsonl" <<'EOF_' || fail "events" "$(cat "$WORK/first.jsonl")"
import json, sys
first = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
second = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
log = [e for e in first if e["type"] == "step.log" and e["data"] == "hello-json"]
assert log and log[0]["id"] == "stage-0/3" and log[0]["line"] == 3, log
done = [e for e in first if e["type"] == "step.done" and e["id"] == "stage-0/3"]
assert len(done) == 1 and done[0]["digest"].startswith("sha256:"), done
assert done[0]["reason"] == "no previous build", done
assert done[0]["instruction"] == "RUN echo hello-json", done
assert first[-1]["type"] == "build.done" and first[-1]["ok"] is True, first[-1]
cached = [e["id"] for e in second if e["type"] == "step.cached"]
assert cached == ["stage-0/2", "stage-0/3"], cached
EOF_
}

t_progress_json_error_event() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
RUN echo before-fail; exit 3
EOF_
    assert_exit 4 lade build --progress json "$WORK/ctx"
    printf '%s\n' "$ERR" >"$WORK/ev.jsonl"
    python3 "$INTEG_DIR/progress_events.py" "$INTEG_DIR/progress-schema.json" "$WORK/ev.jsonl" ||
        fail "events do not follow progress-schema.json"
    assert_match "$ERR" '"type":"step.error".*"exit_code":3'
    assert_match "$ERR" '"type":"build.done".*"ok":false'
}

t_progress_quiet_and_bad_mode() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
RUN echo not-shown
EOF_
    run_ok lade build --progress quiet "$WORK/ctx"
    assert_eq "" "$ERR" "--progress=quiet prints nothing"
    assert_exit 2 lade build --progress fancy "$WORK/ctx"
    assert_contains "$ERR" "--progress must be auto, plain, tty, json, rawjson or quiet"
}

# The live view under a terminal (script(1) gives lade a pty): a running step with its elapsed
# time and output while RUN sleeps, and the finished screen after.
t_progress_tty_shows_running_step() {
    command -v script >/dev/null || fail "no script(1) (util-linux / bsdutils)"
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
RUN echo started-sleeping; sleep 3; echo woke-up
EOF_
    local ts="$WORK/typescript"
    script -qfec "stty cols 160 rows 40; $LADE --root $ROOT build --progress tty $WORK/ctx" "$ts" </dev/null >/dev/null &
    local pid=$! mid="" i
    # the screen while the RUN sleeps: poll, the machine may be slow to get there
    for ((i = 0; i < 100; i++)); do
        mid=$(tr '\r' '\n' <"$ts" 2>/dev/null || true)
        [[ $mid == *" => => # started-sleeping"* && $mid =~ woke-up\ \(no\ previous\ build\)\ +[12]\.[0-9]s ]] && break
        sleep 0.1
    done
    wait "$pid" || fail "the build under script failed" "$(cat -v "$ts")"
    assert_match "$mid" 'RUN echo started-sleeping; sleep 3; echo woke-up \(no previous build\) +[12]\.[0-9]s' \
        "a running step with its elapsed time"
    assert_contains "$mid" " => => # started-sleeping" "the running step's last output"
    assert_contains "$mid" $'\e[' "redrawn with ANSI sequences"
    assert_not_contains "$mid" "FINISHED"
    local end
    end=$(tr '\r' '\n' <"$ts" | tail -n 40)
    assert_match "$end" 'Building [0-9.]+s \(4/4\) FINISHED'
    assert_match "$end" ' => \[3/3\] RUN echo started-sleeping; sleep 3; echo woke-up .* [3-9]\.[0-9]s'
}

# Issue 10's oddities: a step printed DONE twice after CACHED (an ONBUILD trigger's status came
# from the step before), FROM stage without its DONE, a failing RUN's error printed twice.
t_progress_each_step_ends_once() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch AS base
COPY rootfs/ /
ONBUILD RUN echo trigger >/t
FROM base AS child
RUN cat /t
EOF_
    local i n
    for i in 1 2; do
        run_ok lade build --progress plain "$WORK/ctx"
        for n in $(printf '%s\n' "$ERR" | sed -n 's/^#\([0-9]*\) \[.*/\1/p'); do
            assert_eq 1 "$(printf '%s\n' "$ERR" | grep -cE "^#$n (CACHED|DONE)")" \
                "build $i: step #$n ends once"
        done
    done
    # the second build: the trigger is a cache hit of its own, the FROM stage is DONE
    assert_eq "CACHED" "$(step_status "$ERR" 'RUN echo trigger >/t')" "the trigger's own status"
    assert_eq "DONE" "$(step_status "$ERR" 'FROM base')"
}

t_progress_failing_run_error_once() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch
COPY rootfs/ /
RUN echo last-words-of-the-step; false
EOF_
    assert_exit 4 lade build --progress plain "$WORK/ctx"
    assert_eq 1 "$(grep -c '> last-words-of-the-step' <<<"$ERR")" "the output tail printed once"
    assert_match "$ERR" '^#3 ERROR: process .* exit status 1$' "the step's ERROR line has the cause"
    assert_match "$ERR" '^lade: error: .*exit status 1$'
}

t_progress_miss_named_context_changed() {
    write_context "$WORK/ctx" <<'EOF_'
FROM scratch AS base
COPY rootfs/ /
FROM base
RUN cat /etc/motd
EOF_
    echo one >"$WORK/ctx/rootfs/etc/motd"
    run_ok lade build --progress plain --build-context "base=$WORK/ctx/rootfs" "$WORK/ctx"
    echo two >"$WORK/ctx/rootfs/etc/motd"
    run_ok lade build --progress plain --build-context "base=$WORK/ctx/rootfs" "$WORK/ctx"
    assert_eq "the context's content changed" "$(miss_reason "$ERR" 'FROM context base')"
    assert_eq "base stage changed" "$(miss_reason "$ERR" 'RUN cat /etc/motd')"
}

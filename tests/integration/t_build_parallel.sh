# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Stages that do not depend on each other are built at once (--jobs N, default one per CPU); the
# image is the same as one built stage by stage.

# Two stages that can only finish together: one listens on a loopback port, the other connects.
# Built one after the other, the listener would wait for its timeout and the build would fail.
t_build_parallel_stages_run_at_once() {
    make_busybox_context "$WORK/ctx"
    cat >"$WORK/ctx/Dockerfile" <<'DF'
FROM scratch AS base
COPY rootfs /
FROM base AS listener
RUN timeout 30 nc -l -p 47391 > /got
FROM base AS talker
RUN for i in $(seq 1 25); do echo hello | nc 127.0.0.1 47391 && break; sleep 1; done; echo sent > /sent
FROM scratch
COPY --from=listener /got /got
COPY --from=talker /sent /sent
DF
    run_ok lade build --progress plain --network host --jobs 2 -t par:1 "$WORK/ctx"
    # umoci 0.4.7 takes LAYOUT:REF and accepts the store's full names
    run_ok umoci unpack --image "$ROOT/oci:docker.io/library/par:1" "$WORK/bundle"
    assert_file_content "$WORK/bundle/rootfs/got" "hello" "the listener stage got the talker's line"
    assert_file_content "$WORK/bundle/rootfs/sent" "sent"
}

# Every --jobs gives the same image, with and without the cache.
t_build_parallel_same_image_as_serial() {
    make_busybox_context "$WORK/ctx"
    cat >"$WORK/ctx/Dockerfile" <<'DF'
FROM scratch AS base
COPY rootfs /
FROM base AS a
RUN echo a > /a && echo same > /same
FROM base AS b
RUN echo b > /b && echo same > /same
FROM a AS c
RUN echo c > /c
FROM base AS d
COPY --from=b /b /from-b
RUN echo d > /d
FROM scratch
COPY --from=a /a /a
COPY --from=b /same /same
COPY --from=c /c /c
COPY --from=d / /d/
DF
    run_ok lade build --jobs 1 --iidfile "$WORK/iid1" "$WORK/ctx"
    run_ok lade build --jobs 4 --no-cache --iidfile "$WORK/iid4" "$WORK/ctx"
    run_ok lade build --jobs 3 --iidfile "$WORK/iid3" "$WORK/ctx"
    assert_eq "$(cat "$WORK/iid1")" "$(cat "$WORK/iid4")" "--jobs 4 --no-cache: same image as --jobs 1"
    assert_eq "$(cat "$WORK/iid1")" "$(cat "$WORK/iid3")" "--jobs 3 from the cache: same image"
    assert_contains "$ERR" "CACHED" "the third build used the cache"
    assert_store_valid "$ROOT"
}

# A failing stage fails the build with its own error and exit code, while another stage runs; the
# store stays valid and nothing stays mounted.
t_build_parallel_failure_stops_the_build() {
    make_busybox_context "$WORK/ctx"
    cat >"$WORK/ctx/Dockerfile" <<'DF'
FROM scratch AS base
COPY rootfs /
FROM base AS slow
RUN sleep 5 && echo slow > /slow
FROM base AS broken
RUN echo about to fail && exit 7
FROM slow AS after-slow
RUN echo never > /never
FROM scratch
COPY --from=after-slow /never /never
COPY --from=broken / /b/
DF
    assert_exit 4 lade build --progress plain --jobs 2 -t par:broken "$WORK/ctx"
    assert_contains "$ERR" "exit status 7" "the failing stage's error"
    assert_contains "$ERR" "Dockerfile:6" "the failing instruction's line"
    assert_not_contains "$ERR" "[after-slow 2/2]" "no stage started after the failure"
    assert_store_valid "$ROOT"
    assert_no_mounts "$ROOT"
}

t_build_parallel_jobs_option() {
    make_busybox_context "$WORK/ctx"
    printf 'FROM scratch\nCOPY rootfs /\n' >"$WORK/ctx/Dockerfile"
    for bad in 0 -1 abc 2x 99999; do
        assert_exit 2 lade build --jobs "$bad" "$WORK/ctx"
        assert_contains "$ERR" "--jobs" "--jobs $bad is refused by name"
    done
}

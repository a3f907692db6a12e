# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What BuildKit puts into images, read from its dockerfile2llb and exporter sources: history
# texts, config fields, empty layers, ONBUILD triggers, COPY ownership; and the build cache.

EMPTY_DIFF_ID=sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef

t_compat_history_and_config() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
WORKDIR /bin
RUN true
ARG A=1 B
EXPOSE 80 53/UDP 8000-8001
SHELL ["/bin/sh", "-c"]
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q localhost
ENV E=x
CMD echo hi
RUN echo $A
EOF2
    run_ok lade build -t compat:1 "$WORK/ctx"
    run_ok lade inspect compat:1
    local j=$OUT
    assert_json - '[h["created_by"] for h in j["Config"]["history"]] == [
        "COPY rootfs/ / # buildkit", "WORKDIR /bin", "RUN /bin/sh -c true # buildkit",
        "ARG A=1 B", "EXPOSE [53/udp 80/tcp 8000/tcp 8001/tcp]", "SHELL [/bin/sh -c]",
        "HEALTHCHECK {Test:[CMD-SHELL wget -q localhost] Interval:30s Timeout:3s StartPeriod:0s StartInterval:0s Retries:3}",
        "ENV E=x", "CMD [\"/bin/sh\" \"-c\" \"echo hi\"]", "RUN |2 A=1 B= /bin/sh -c echo $A # buildkit"]' \
        "BuildKit's history texts" <<<"$j"
    assert_json - '([h.get("empty_layer", False) for h in j["Config"]["history"]] ==
        [False, False, False, True, True, True, True, True, True, False])' "empty_layer flags" <<<"$j"
    # WORKDIR on an existing directory and a RUN changing nothing still make (empty) layers.
    assert_json - "j['Config']['rootfs']['diff_ids'][1:] == ['$EMPTY_DIFF_ID'] * 3" \
        "empty diffs are empty tar layers" <<<"$j"
    assert_json - 'j["Config"]["config"]["ArgsEscaped"] is True' "CMD sets ArgsEscaped" <<<"$j"
    assert_json - 'sorted(j["Config"]["config"]["ExposedPorts"]) == ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]' \
        "EXPOSE ranges and protocols" <<<"$j"
    assert_json - '(j["Config"]["config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q localhost"],
        "Interval": 30000000000, "Timeout": 3000000000, "Retries": 3})' "HEALTHCHECK" <<<"$j"
    assert_json - 'not any(e.startswith(("A=", "B=")) for e in j["Config"]["config"]["Env"])' \
        "ARGs stay out of the image's Env" <<<"$j"
}

t_compat_onbuild_triggers_run_and_leave() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
ONBUILD RUN echo triggered > /trig
EOF2
    run_ok lade build -t base:onbuild "$WORK/ctx"
    run_ok lade inspect base:onbuild
    assert_json - 'j["Config"]["config"]["OnBuild"] == ["RUN echo triggered > /trig"]' \
        "ONBUILD is recorded" <<<"$OUT"
    assert_json - 'not any(h["created_by"].startswith("ONBUILD") for h in j["Config"]["history"])' \
        "ONBUILD has no history entry" <<<"$OUT"
    printf 'FROM base:onbuild\nCMD ["cat", "/trig"]\n' >"$WORK/ctx/Dockerfile.child"
    run_ok lade build -f "$WORK/ctx/Dockerfile.child" -t child:onbuild "$WORK/ctx"
    run_ok lade run --rm child:onbuild
    assert_eq "triggered" "$OUT" "the base's trigger ran in the child build"
    run_ok lade inspect child:onbuild
    assert_json - '"OnBuild" not in j["Config"]["config"]' "triggers leave the child's config" <<<"$OUT"
}

t_compat_copy_owners_and_wildcards() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch AS src
COPY rootfs/ /
RUN mkdir /o && echo x > /o/f && chown 1000:1001 /o/f

FROM scratch
COPY rootfs/ /
COPY --from=src /o/f /kept
COPY --chown=1000 rootfs/etc/passwd /chowned
COPY nothing-matches-* /nowhere/
COPY rootfs/etc/passwd rootfs/etc/group /multi
CMD ["sh", "-c", "stat -c '%u:%g' /kept /chowned; ls /multi | tr '\\n' ' '; if test -e /nowhere; then echo made; else echo absent; fi"]
EOF2
    run_ok lade build -t owners:1 "$WORK/ctx"
    run_ok lade run --rm owners:1
    # A wildcard that matches nothing copies nothing and creates no destination (BuildKit).
    assert_eq "$(printf '1000:1001\n1000:1000\ngroup passwd absent')" "$OUT" \
        "--from keeps owners, --chown=UID means gid UID, several sources fill a directory"
}

t_cache_hits_and_invalidation() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
COPY data.txt /data.txt
RUN cat /data.txt > /copy
EOF2
    echo one >"$WORK/ctx/data.txt"
    run_ok lade build --progress plain -t cache:1 "$WORK/ctx"
    assert_not_contains "$ERR" "CACHED" "a first build has no cache hits"
    run_ok lade build --progress plain -t cache:2 "$WORK/ctx"
    assert_eq 3 "$(grep -c ' CACHED$' <<<"$ERR")" "a rebuild hits the cache for every filesystem step"
    touch -d '2001-01-01' "$WORK/ctx/data.txt"
    run_ok lade build --progress plain -t cache:3 "$WORK/ctx"
    assert_eq 3 "$(grep -c ' CACHED$' <<<"$ERR")" "an mtime change alone keeps the cache"
    echo two >"$WORK/ctx/data.txt"
    run_ok lade build --progress plain -t cache:4 "$WORK/ctx"
    assert_eq 1 "$(grep -c ' CACHED$' <<<"$ERR")" "changed content invalidates COPY and what follows"
    run_ok lade run --rm cache:4 cat /copy
    assert_eq two "$OUT" "the rebuilt image has the new content"
    run_ok lade build --no-cache --progress plain -t cache:5 "$WORK/ctx"
    assert_not_contains "$ERR" "CACHED" "--no-cache"
    assert_eq "$(store_digest "$ROOT" docker.io/library/cache:4)" \
        "$(store_digest "$ROOT" docker.io/library/cache:5)" "cached and uncached builds agree"
}

t_compat_automatic_platform_args() {
    # BuildKit's automatic args: FROM sees them undeclared; a stage sees those it declares.
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch AS base-amd64
COPY rootfs/ /
FROM scratch AS base-arm64
COPY rootfs/ /
FROM base-${TARGETARCH}
ARG TARGETARCH
ARG TARGETPLATFORM
RUN echo "$TARGETARCH $TARGETPLATFORM [$BUILDPLATFORM]" >/out
CMD ["cat", "/out"]
EOF2
    local arch
    arch=$(host_arch)
    run_ok lade build -t pargs:1 "$WORK/ctx"
    run_ok lade run --rm pargs:1
    assert_eq "$arch linux/$arch []" "$OUT" "declared platform args set, undeclared BUILDPLATFORM empty"
    run_ok lade inspect pargs:1
    assert_json - "'RUN |2 TARGETARCH=$arch TARGETPLATFORM=linux/$arch /bin/sh -c echo \"\$TARGETARCH \$TARGETPLATFORM [\$BUILDPLATFORM]\" >/out # buildkit' in [h['created_by'] for h in j['Config']['history']]" \
        "RUN history lists the declared platform args" <<<"$OUT"
    # --build-arg overrides an automatic arg (and FROM follows it).
    run_ok lade build --build-arg TARGETARCH=arm64 -t pargs:2 "$WORK/ctx"
    run_ok lade run --rm pargs:2
    assert_eq "arm64 linux/$arch []" "$OUT" "--build-arg TARGETARCH wins"
}

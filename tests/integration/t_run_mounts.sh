# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # commands for the image's shell
# RUN --mount (bind, cache, tmpfs), RUN heredocs and RUN --security=insecure, as BuildKit's
# dockerfile2llb runs them: what the step sees, what reaches the image (tree, layers, history)
# and what does not (mount targets, cache contents, writes to rw binds and tmpfs).

# layer_paths NAME N: the paths in layer N (0 is the first) of image NAME, one a line.
layer_paths() {
    python3 "$OCITOOL" layer-entries "$ROOT/oci" "docker.io/library/$1" |
        awk -F'\t' -v n="$2" '$1 == n { print $3 }'
}

# image_file NAME PATH: the file's content in the built image.
image_file() {
    run_ok lade run --rm "$1" cat "$2"
    printf '%s' "$OUT"
}

t_run_mounts_cache_persists_outside_layers() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=cache,target=/var/cache/app,uid=1000,mode=0700 \
    echo run >> /var/cache/app/log && stat -c '%u %a' /var/cache/app > /owner.txt && \
    wc -l < /var/cache/app/log > /runs.txt
EOF
    run_ok lade build -t cachem:1 "$WORK/ctx"
    assert_eq "1" "$(image_file cachem:1 /runs.txt | tr -d ' ')" "first run sees an empty cache"
    assert_eq "1000 700" "$(image_file cachem:1 /owner.txt)" "uid and mode of a new cache"
    run_ok lade build --no-cache -t cachem:1 "$WORK/ctx"
    assert_eq "2" "$(image_file cachem:1 /runs.txt | tr -d ' ')" "the cache persists between builds"
    local layer
    layer=$(layer_paths cachem:1 1)
    assert_eq "owner.txt
runs.txt" "$layer" "the RUN layer holds neither the cache's files nor its target"
    assert_exists "$ROOT/cachemounts" "the store's cachemounts/ area"
    # Its contents are not in the key: an unchanged step stays cached.
    run_ok lade build --progress plain -t cachem:1 "$WORK/ctx"
    assert_contains "$ERR" "CACHED"
    assert_no_mounts "$ROOT"
    assert_store_valid "$ROOT"
}

# cache_log_build SHARING: a build whose RUN writes start/end around a sleep into one cache.
cache_log_context() {
    write_context "$WORK/ctx-$1" <<EOF
FROM scratch
COPY rootfs/ /
RUN --mount=type=cache,id=shared-log,target=/c,sharing=$1 \\
    echo start >> /c/log && ls /c > /seen.txt && sleep 2 && echo end >> /c/log
EOF
}

t_run_mounts_cache_locked_serialises() {
    cache_log_context locked
    lade build --no-cache -t locked:1 "$WORK/ctx-locked" >"$WORK/a.log" 2>&1 &
    local a=$!
    lade build --no-cache -t locked:2 "$WORK/ctx-locked" >"$WORK/b.log" 2>&1 || fail "build b" "$(cat "$WORK/b.log")"
    wait "$a" || fail "build a" "$(cat "$WORK/a.log")"
    local log
    log=$(cat "$ROOT"/cachemounts/*/data/log)
    assert_eq "start
end
start
end" "$log" "sharing=locked: one RUN at a time on the cache"
}

t_run_mounts_cache_private_gets_own_instance() {
    cache_log_context private
    lade build --no-cache -t private:1 "$WORK/ctx-private" >"$WORK/a.log" 2>&1 &
    local a=$!
    lade build --no-cache -t private:2 "$WORK/ctx-private" >"$WORK/b.log" 2>&1 || fail "build b" "$(cat "$WORK/b.log")"
    wait "$a" || fail "build a" "$(cat "$WORK/a.log")"
    local n
    n=$(find "$ROOT/cachemounts" -mindepth 1 -maxdepth 1 -type d | wc -l)
    assert_eq "2" "$n" "sharing=private: the second build got an instance of its own"
    for f in "$ROOT"/cachemounts/*/data/log; do
        assert_eq "start
end" "$(cat "$f")" "each private instance had one writer"
    done
}

t_run_mounts_bind_context() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=bind,source=data.txt,target=/mnt/data.txt cat /mnt/data.txt > /from-bind.txt
RUN --mount=target=/ctx,source=dir ls -A /ctx > /ctx-list.txt && stat -c '%u:%g' /ctx/f > /owner.txt
EOF
    mkdir "$WORK/ctx/dir"
    echo one >"$WORK/ctx/data.txt"
    echo f >"$WORK/ctx/dir/f"
    echo hidden >"$WORK/ctx/dir/secret.txt"
    chown 1234:1234 "$WORK/ctx/dir/f"
    printf 'dir/secret.txt\n' >"$WORK/ctx/.dockerignore"
    run_ok lade build -t bindctx:1 "$WORK/ctx"
    assert_eq "one" "$(image_file bindctx:1 /from-bind.txt)"
    assert_eq "f" "$(image_file bindctx:1 /ctx-list.txt)" "an ignored file is not visible"
    assert_eq "0:0" "$(image_file bindctx:1 /owner.txt)" "context files are root's, as COPY makes them"
    assert_eq "from-bind.txt" "$(layer_paths bindctx:1 1)" "no mnt/ in the layer"
    assert_eq "ctx-list.txt
owner.txt" "$(layer_paths bindctx:1 2)" "no ctx/ in the layer"
    # A bound file that changes runs the step again; an ignored one does not.
    echo two >"$WORK/ctx/data.txt"
    echo changed >"$WORK/ctx/dir/secret.txt"
    run_ok lade build --progress plain -t bindctx:1 "$WORK/ctx"
    assert_not_contains "$(grep -A1 'from-bind' <<<"$ERR")" "CACHED" "a changed bound file re-runs the step"
    assert_eq "two" "$(image_file bindctx:1 /from-bind.txt)"
    run_ok lade build --progress plain -t bindctx:1 "$WORK/ctx"
    assert_eq "3" "$(grep -c CACHED <<<"$ERR")" "nothing changed: COPY and both RUNs cached"
    assert_no_mounts "$ROOT"
}

t_run_mounts_bind_from_stage_rw_discarded() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch AS base
COPY rootfs/ /
FROM base AS tools
RUN mkdir /out && echo built > /out/artifact
FROM base
RUN --mount=from=tools,source=/out,target=/in cat /in/artifact > /got.txt && \
    (touch /in/x 2>/dev/null && echo writable || echo read-only) > /ro.txt
RUN --mount=type=bind,from=tools,source=/out,target=/in,rw echo scribble > /in/artifact && \
    cat /in/artifact > /rw.txt
RUN --mount=from=tools,source=/out,target=/again cat /again/artifact > /after.txt
RUN --mount=type=bind,from=1,target=/t ls /t/out > /by-index.txt
EOF
    run_ok lade build -t bindstage:1 "$WORK/ctx"
    assert_eq "built" "$(image_file bindstage:1 /got.txt)"
    assert_eq "read-only" "$(image_file bindstage:1 /ro.txt)" "a bind is read-only by default"
    assert_eq "scribble" "$(image_file bindstage:1 /rw.txt)" "rw: the step may write"
    assert_eq "built" "$(image_file bindstage:1 /after.txt)" "rw: the writes are thrown away"
    assert_eq "artifact" "$(image_file bindstage:1 /by-index.txt)" "from= a stage index"
    assert_eq "after.txt
by-index.txt
got.txt
ro.txt
rw.txt" "$(for i in 1 2 3 4 5; do layer_paths bindstage:1 "$i"; done | sort)" "no mount target in the layers"
    assert_no_mounts "$ROOT"
}

t_run_mounts_tmpfs() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN mkdir /scratch
RUN --mount=type=tmpfs,target=/scratch,size=2m echo gone > /scratch/file && \
    grep ' /scratch ' /proc/mounts | grep -o 'size=2048k' > /size.txt
RUN --mount=from=scratch,target=/empty ls -A /empty > /empty.txt
EOF
    run_ok lade build -t tmpfsm:1 "$WORK/ctx"
    assert_eq "size=2048k" "$(image_file tmpfsm:1 /size.txt)"
    assert_eq "size.txt" "$(layer_paths tmpfsm:1 2)" "a tmpfs's files stay out of the layer"
    assert_eq "" "$(image_file tmpfsm:1 /empty.txt)" "from=scratch is empty, as BuildKit's"
}

# FROM scratch has no /mnt, /etc, /dev: every target and parent the sandbox made goes again.
t_run_mounts_targets_not_left_in_layer() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/bin/busybox /bin/sh
RUN --mount=type=tmpfs,target=/a/b/c --mount=type=cache,target=/var/cache/x \
    --mount=type=bind,source=f.txt,target=/etc/deep/f.txt --mount=type=tmpfs,target=/dev/shm2 \
    /bin/sh -c 'read x < /etc/deep/f.txt && test "$x" = content'
EOF
    echo content >"$WORK/ctx/f.txt"
    run_ok lade build -t targets:1 "$WORK/ctx"
    assert_eq "" "$(layer_paths targets:1 1)" "the RUN's layer is empty"
}

# BuildKit mounts in target order (its ExecOp sorts them): /a before /a/f whatever the flags' order.
t_run_mounts_sorted_by_target() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=source=f.txt,target=/a/f --mount=type=tmpfs,target=/a cat /a/f > /seen.txt
EOF
    echo inner >"$WORK/ctx/f.txt"
    run_ok lade build -t sorted:1 "$WORK/ctx"
    assert_eq "inner" "$(image_file sorted:1 /seen.txt)" "the bind on /a/f is above the tmpfs on /a"
}

t_run_heredocs() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
RUN <<EOF
#!/bin/sh
echo "script $0" > /script.txt
EOF
RUN <<EOF
echo plain > /plain.txt
echo two >> /plain.txt
EOF
RUN cat <<A > /a.txt && cat <<B > /b.txt
first
A
second
B
RUN <<-EOF
	echo chomped > /chomp.txt
	EOF
RUN cat <<-EOF > /tabs.txt
	tabbed
	EOF
EOF2
    run_ok lade build -t heredoc:1 "$WORK/ctx"
    assert_eq "script /dev/pipes/EOF" "$(image_file heredoc:1 /script.txt)" "a #! heredoc runs as a script"
    assert_eq "plain
two" "$(image_file heredoc:1 /plain.txt)"
    assert_eq "first" "$(image_file heredoc:1 /a.txt)"
    assert_eq "second" "$(image_file heredoc:1 /b.txt)"
    assert_eq "chomped" "$(image_file heredoc:1 /chomp.txt)"
    assert_eq "tabbed" "$(image_file heredoc:1 /tabs.txt)" "<<- strips the leading tabs"
    run_ok lade inspect heredoc:1
    assert_json - '[h["created_by"] for h in j["Config"]["history"]][1:] == [
        "RUN /bin/sh -c /dev/pipes/EOF # buildkit",
        "RUN /bin/sh -c echo plain > /plain.txt\necho two >> /plain.txt\n # buildkit",
        "RUN /bin/sh -c cat <<A > /a.txt && cat <<B > /b.txt\nfirst\nA\nsecond\nB # buildkit",
        "RUN /bin/sh -c echo chomped > /chomp.txt\n # buildkit",
        "RUN /bin/sh -c cat <<-EOF > /tabs.txt\n\ttabbed\nEOF # buildkit"]' \
        "BuildKit's history texts for heredocs" <<<"$OUT"
    assert_eq "script.txt" "$(layer_paths heredoc:1 1)" "no dev/pipes in the layer"
    # The content is in the key: a changed script runs again.
    sed -i 's/script \$0/changed $0/' "$WORK/ctx/Dockerfile"
    run_ok lade build -t heredoc:1 "$WORK/ctx"
    assert_eq "changed /dev/pipes/EOF" "$(image_file heredoc:1 /script.txt)"
}

t_run_security_insecure() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --security=insecure grep CapEff /proc/self/status > /caps.txt
EOF
    assert_exit 1 lade build -t insecure:1 "$WORK/ctx"
    assert_contains "$ERR" "Dockerfile:3:1: RUN --security=insecure needs the security.insecure entitlement"
    run_ok lade build --allow security.insecure -t insecure:1 "$WORK/ctx"
    local want
    want=$(grep CapBnd /proc/self/status | cut -f2)
    assert_eq "CapEff:	$want" "$(image_file insecure:1 /caps.txt)" "every capability"
    assert_exit 2 lade build --allow bogus "$WORK/ctx"
}

t_run_mounts_errors() {
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN --mount=type=bind,target=/x,mode=0755 true
EOF
    assert_exit 3 lade build "$WORK/ctx"
    assert_contains "$ERR" 'Dockerfile:3:1: mode not allowed for "bind" type mounts'
    printf 'FROM scratch\nCOPY rootfs/ /\nRUN --mount=type=secret,id=tok,required=true true\n' >"$WORK/ctx/Dockerfile"
    assert_exit 2 lade build "$WORK/ctx"
    assert_contains "$ERR" "secret tok: not found"
    printf 'FROM scratch\nCOPY rootfs/ /\nRUN --mount=source=missing,target=/m true\n' >"$WORK/ctx/Dockerfile"
    assert_exit 1 lade build "$WORK/ctx"
    assert_contains "$ERR" 'source "/missing" not found in the build context'
    printf 'FROM scratch\nCOPY rootfs/ /\nRUN --mount=type=tmpfs,target=/bin/sh true\n' >"$WORK/ctx/Dockerfile"
    assert_exit 4 lade build "$WORK/ctx"
    assert_contains "$ERR" "cannot mount on '/bin/sh': not a directory"
    assert_no_mounts "$ROOT"
}

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The COPY engine and the store's file handling: --chown forms, hardlinks, special files,
# staging left by a killed build, and the caller's umask.

t_build_chown_forms() {
    write_context "$WORK/ctx" <<'EOF2'
FROM scratch
COPY rootfs/ /
RUN echo 'svc:x:2001:2002:svc:/:/bin/sh' >> /etc/passwd && echo 'svc:x:2002:' >> /etc/group && echo 'staff:x:50:' >> /etc/group
ARG UNSET
COPY --chown=svc f /byname
COPY --chown=${UNSET}:${UNSET} f /empty
COPY --chown=:staff f /groupalone
COPY --chown=2001 f /byid
COPY --chown=svc: f /nameandempty
CMD ["stat", "-c", "%n %u:%g", "/byname", "/empty", "/groupalone", "/byid", "/nameandempty"]
EOF2
    echo data >"$WORK/ctx/f"
    run_ok lade build -t chown:1 "$WORK/ctx"
    run_ok lade run --rm chown:1
    assert_eq "$(printf '%s\n' '/byname 2001:2002' '/empty 0:0' '/groupalone 0:50' '/byid 2001:2001' \
        '/nameandempty 2001:0')" "$OUT" "--chown as BuildKit resolves it"
}

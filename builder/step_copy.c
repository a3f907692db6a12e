/* SPDX-License-Identifier: Apache-2.0 */
/* The COPY and ADD step: the typed command (copy_cmd) turned into sources, a destination and
 * owner/mode options, the cache key's view, the history entry, and the copy itself through an
 * overlay of the stage, so the upper dir is the layer (the engine is copy.h). */
#include "steps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "copy.h"
#include "rootfs.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* The rootfs of COPY --from: a stage of this build (built before this one: the plan knows the
 * edge) or an image in the store, mounted read-only on a step directory of its own. */
static int
mount_from(struct build *b, const char *from, struct fs_step *fs, int *rootfd,
           struct stage_state *tmp_state, struct lade_error *err)
{
    const struct stage_state *src = stage_find_built(b, from);

    if (src == NULL && plan_find_stage(b->plan, from) >= 0)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "internal: stage \"%s\" is not built before the step that needs it",
                              from);
    if (src == NULL) {
        if (stage_load_image(b, tmp_state, from, err) < 0)
            return -1;
        src = tmp_state;
    }
    return fs_step_mount_ro(b, src, fs, rootfd, err);
}

/* The view of the key (cache.h): the resolved destination, and the content of the sources or,
 * for --from=stage, that stage's key. The typed command itself (sources, dest, --chown, --chmod,
 * --link, --from as expanded) goes in through cache_key_step. */
static int
copy_cache_key(struct build *b, struct stage_state *ss, struct copy_opts *o,
               const struct command *cmd, char *const *sources, const char *dest, bool dest_is_dir,
               struct lade_error *err)
{
    const struct copy_cmd *c = &cmd->u.copy;
    const struct stage_state *from = c->from ? stage_find_built(b, c->from) : NULL;
    cleanup_free char *v_dest = xasprintf("dest=%s%s", dest, dest_is_dir ? "/" : "");
    char content[sizeof(digest_t) + 16];
    digest_t d;
    char *view[3] = {v_dest, content, NULL};

    if (from != NULL) {
        snprintf(content, sizeof(content), "stage=%s", from->key);
    } else {
        o->hash = sha256_new();
        int rc = 0;
        for (size_t i = 0; rc == 0 && sources && sources[i]; i++) {
            sha256_update(o->hash, sources[i], strlen(sources[i]) + 1);
            rc = copy_tree(o, sources[i], dest, dest_is_dir, err);
        }
        sha256_final(o->hash, d);
        sha256_free(o->hash);
        o->hash = NULL;
        if (rc < 0)
            return -1;
        snprintf(content, sizeof(content), "content=%s", d);
    }
    cache_key_step(ss, cmd, view);
    return 0;
}

/* The destination against the WORKDIR; it is a directory when written as "", "." or with a
 * trailing slash (BuildKit's dispatchCopy). */
static char *
copy_dest(struct stage_state *ss, const char *raw, bool *is_dir)
{
    *is_dir = copy_dest_names_dir(raw);
    return stage_abs_path(ss, raw);
}

int
step_copy(struct build *b, struct stage_state *ss, const struct command *cmd,
          struct lade_error *err)
{
    const struct copy_cmd *c = &cmd->u.copy;
    const struct instr *in = cmd->in;
    bool is_add = in->kind == INSTR_ADD;
    const char *what = is_add ? "ADD" : "COPY";
    struct copy_opts o = {.src_root = b->context_fd, .ignore = b->ignore, .dst_root = -1};
    struct fs_step fs = {0}, from_fs = {0};
    struct stage_state from_state = {0};
    char **sources = NULL;
    cleanup_free char *dest = NULL, *hist = NULL;
    cleanup_close int from_fd = -1;
    struct lade_buf hb = LADE_BUF_INIT;
    bool dest_is_dir = false;
    int rc = -1;

    if (c->unsupported != NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "%s --%s is not implemented yet", what,
                              c->unsupported);
    if (in->nheredocs > 0)
        return lade_error_set(err, LADE_ERR_OTHER, "%s with a heredoc is not implemented yet",
                              what);
    dest = copy_dest(ss, c->dest, &dest_is_dir);
    dest_is_dir = dest_is_dir || c->nsrcs > 1;
    /* the owner is resolved in the destination, after the key: the key has the spec */
    o.chown = c->chown != NULL;
    if (c->chmod != NULL) {
        o.chmod = true;
        o.mode = (mode_t) c->mode;
    }
    if (c->from != NULL) {
        if (mount_from(b, c->from, &from_fs, &from_fd, &from_state, err) < 0)
            goto out;
        o.src_root = from_fd;
        o.ignore = NULL;
        o.keep_owner = true;
    }
    for (size_t i = 0; is_add && i < c->nsrcs; i++) {
        const char *src = c->srcs[i];
        if (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0 ||
            strncmp(src, "git@", 4) == 0) {
            lade_error_set(err, LADE_ERR_OTHER, "ADD from a URL (\"%s\") is not implemented yet",
                           src);
            goto out;
        }
    }
    size_t nfound = 0;
    bool several = false;
    if (copy_resolve_sources(&o, c->srcs, c->nsrcs, c->from == NULL, &sources, &nfound, &several,
                             err) < 0)
        goto out;
    dest_is_dir = dest_is_dir || several;

    lade_buf_appendf(&hb, "%s ", what);
    /* BuildKit records the flags as expanded, and not at all when they expand to "" */
    if (c->chown && c->chown[0])
        lade_buf_appendf(&hb, "--chown=%s ", c->chown);
    if (c->chmod && c->chmod[0])
        lade_buf_appendf(&hb, "--chmod=%s ", c->chmod);
    for (size_t i = 0; i < c->nsrcs; i++)
        lade_buf_appendf(&hb, "%s ", c->srcs[i]);
    lade_buf_appendf(&hb, "%s # buildkit", c->dest);
    hist = lade_buf_steal(&hb);
    if (copy_cache_key(b, ss, &o, cmd, sources, dest, dest_is_dir, err) < 0 ||
        stage_try_cache(b, ss, hist, &b->step_cached, err) < 0)
        goto out;
    if (b->step_cached) {
        rc = 0;
        goto out;
    }

    if (fs_step_begin(b, ss, true, &fs, err) < 0)
        goto out;
    o.dst_root = open(fs.merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (o.dst_root < 0) {
        lade_error_sys(err, "open '%s'", fs.merged);
        goto out;
    }
    if (c->chown != NULL) {
        if (rootfs_lookup_user(o.dst_root, c->chown, &o.uid, &o.gid, err) < 0)
            goto out;
    }
    for (size_t i = 0; sources && sources[i]; i++) {
        /* ADD unpacks a local tar archive (BuildKit's AttemptUnpack); COPY never does */
        int unpacked = is_add ? copy_unpack(&o, sources[i], dest, err) : 0;
        if (unpacked < 0 || (!unpacked && copy_tree(&o, sources[i], dest, dest_is_dir, err) < 0))
            goto out;
    }
    close(o.dst_root);
    o.dst_root = -1;
    rc = fs_step_end(b, ss, &fs, true, hist, err);
out:
    if (o.dst_root >= 0 && o.dst_root != b->context_fd)
        close(o.dst_root);
    fs_step_end(b, ss, &fs, false, NULL, NULL);
    if (from_fd >= 0)
        close(steal_fd(&from_fd));
    fs_step_end(b, ss, &from_fs, false, NULL, NULL);
    stage_state_release(&from_state);
    lade_buf_release(&hb);
    strv_free(sources);
    return rc;
}

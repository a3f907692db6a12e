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
#include "step_add_remote.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* The resolved sources of one COPY/ADD: paths in the source root and, with --parents, where
 * the part kept under the destination starts (cut; NO_CUT without --parents). */
#define NO_CUT ((size_t) -1)
struct copy_sources {
    char **rel;
    size_t *cut;
    size_t n;
    bool several; /* some pattern matched more than one path */
};

static void
copy_sources_release(struct copy_sources *cs)
{
    strv_free(cs->rel);
    free(cs->cut);
    memset(cs, 0, sizeof(*cs));
}

/* The number of components of a cleaned relative path ("" has none). */
static size_t
components(const char *path)
{
    size_t n = path[0] != '\0';

    for (const char *p = path; *p; p++)
        n += *p == '/';
    return n;
}

/* Each source pattern in turn. --parents (BuildKit 1.7): "base/./rest" keeps rest under the
 * destination, a source without the "/./" pivot keeps its whole path. */
static int
resolve_sources(const struct copy_opts *o, const struct copy_cmd *c, struct copy_sources *cs,
                struct lade_error *err)
{
    for (size_t i = 0; i < c->nsrcs; i++) {
        const char *src = c->srcs[i], *pivot = c->parents ? strstr(src, "/./") : NULL;
        if (add_source_is_remote(src))
            continue; /* ADD's remote sources: step_add_remote.c */
        cleanup_free char *base = pivot ? xstrndup(src, (size_t) (pivot - src)) : xstrdup("");
        cleanup_free char *clean_base = path_clean_abs(base);
        char *pattern = pivot ? xasprintf("%s/%s", base, pivot + 3) : xstrdup(src);
        size_t skip = components(clean_base + 1), nfound = 0;
        char **found = NULL;
        bool several = false;
        int rc;
        /* --parents: a wildcard after the pivot is BuildKit's include pattern ("**" too) */
        if (c->parents && copy_has_wildcard(pivot ? pivot + 3 : src)) {
            if (copy_has_wildcard(base)) {
                free(pattern);
                return lade_error_set(err, LADE_ERR_OTHER,
                                      "COPY --parents \"%s\": wildcards both before and after "
                                      "\"/./\" are not implemented yet",
                                      src);
            }
            cleanup_free char *rest = path_clean_abs(pivot ? pivot + 3 : src);
            rc = copy_match_below(o, clean_base + 1, rest + 1, &found, err);
            several = rc == 0 && strv_len(found) > 1;
        } else {
            rc = copy_resolve_sources(o, &pattern, 1, c->from == NULL, &found, &nfound, &several,
                                      err);
        }
        free(pattern);
        if (rc < 0)
            return -1;
        cs->several = cs->several || several;
        for (size_t k = 0; found[k]; k++) {
            size_t cut = NO_CUT;
            if (c->parents) {
                const char *p = found[k];
                for (size_t m = 0; m < skip && p != NULL; m++)
                    p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL;
                cut = p != NULL ? (size_t) (p - found[k]) : strlen(found[k]);
            }
            cs->cut = xrealloc(cs->cut, (cs->n + 1) * sizeof(*cs->cut));
            cs->cut[cs->n++] = cut;
            cs->rel = strv_push(cs->rel, found[k]);
        }
        strv_free(found);
    }
    return 0;
}

/* Copies (or, in hash mode, hashes) source i: --parents, ADD's unpacking, or the tree copy. */
static int
copy_source(const struct copy_opts *o, const struct copy_sources *cs, size_t i, bool unpack,
            const char *dest, bool dest_is_dir, struct lade_error *err)
{
    const char *rel = cs->rel[i];
    size_t cut = cs->cut[i];

    if (cut != NO_CUT && rel[cut] != '\0') {
        cleanup_free char *base = xstrndup(rel, cut > 0 ? cut - 1 : 0);
        return copy_parents(o, base, rel + cut, dest, err);
    }
    /* ADD unpacks a local tar archive (BuildKit's AttemptUnpack); COPY never does. In hash
     * mode the file's digest decides as well as the unpacking would. */
    int unpacked = unpack && o->hash == NULL ? copy_unpack(o, rel, dest, err) : 0;
    if (unpacked != 0)
        return unpacked < 0 ? -1 : 0;
    return copy_tree(o, rel, dest, dest_is_dir, err);
}

/* The view of the key (cache.h): the resolved destination, and the content of the sources or,
 * for --from=stage, that stage's key. The typed command itself (sources, heredocs, dest and
 * every flag as expanded) goes in through cache_key_step. */
static int
copy_cache_key(struct build *b, struct stage_state *ss, struct copy_opts *o,
               const struct command *cmd, const struct copy_sources *cs, const char *remote_view,
               const char *dest, bool dest_is_dir, struct lade_error *err)
{
    const struct copy_cmd *c = &cmd->u.copy;
    const struct stage_state *from = c->from ? stage_find_built(b, c->from) : NULL;
    cleanup_free char *v_dest = xasprintf("dest=%s%s", dest, dest_is_dir ? "/" : "");
    char content[sizeof(digest_t) + 16];
    digest_t d;
    char *view[4] = {v_dest, content, (char *) remote_view, NULL};

    if (from != NULL) {
        snprintf(content, sizeof(content), "stage=%s", from->key);
    } else {
        o->hash = sha256_new();
        o->on_entry = cache_explain_copy_entry; /* names the files that changed on a miss */
        o->on_entry_ctx = ss;
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < cs->n; i++) {
            sha256_update(o->hash, cs->rel[i], strlen(cs->rel[i]) + 1);
            sha256_update(o->hash, &cs->cut[i], sizeof(cs->cut[i]));
            rc = copy_source(o, cs, i, false, dest, dest_is_dir, err);
        }
        sha256_final(o->hash, d);
        sha256_free(o->hash);
        o->hash = NULL;
        o->on_entry = NULL;
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

/* BuildKit's history text: flags as expanded (left out when they expand to ""), the paths,
 * then the heredocs as "<<NAME", then the destination. */
static char *
copy_history(const struct copy_cmd *c, const char *what)
{
    struct lade_buf hb = LADE_BUF_INIT;

    lade_buf_appendf(&hb, "%s ", what);
    if (c->parents)
        lade_buf_appendf(&hb, "--parents ");
    if (c->chown && c->chown[0])
        lade_buf_appendf(&hb, "--chown=%s ", c->chown);
    if (c->chmod && c->chmod[0])
        lade_buf_appendf(&hb, "--chmod=%s ", c->chmod);
    for (size_t i = 0; i < c->nsrcs; i++)
        lade_buf_appendf(&hb, "%s ", c->srcs[i]);
    for (size_t i = 0; i < c->ndocs; i++)
        lade_buf_appendf(&hb, "<<%s ", c->docs[i].name);
    lade_buf_appendf(&hb, "%s # buildkit", c->dest);
    return lade_buf_steal(&hb);
}

/* The heredoc sources: written as files in a directory of the store's tmp/, then copied like
 * files of a context (owned 0:0 unless --chown, --chmod applies, never unpacked). */
static int
copy_docs(struct build *b, const struct copy_opts *o, const struct copy_cmd *c, const char *dest,
          bool dest_is_dir, struct lade_error *err)
{
    cleanup_free char *dir = NULL;
    struct copy_opts d = *o;
    int rc = -1;

    if (c->ndocs == 0)
        return 0;
    if (store_tmp_dir(b->st, &dir, err) < 0)
        return -1;
    d.src_root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d.ignore = NULL;
    d.keep_owner = false;
    d.links = NULL;
    d.hashes = NULL;
    if (d.src_root < 0)
        lade_error_sys(err, "open '%s'", dir);
    else if (copy_write_docs(d.src_root, c->docs, c->ndocs, err) == 0) {
        rc = 0;
        for (size_t i = 0; rc == 0 && i < c->ndocs; i++)
            rc = copy_tree(&d, c->docs[i].name, dest, dest_is_dir, err);
    }
    if (d.src_root >= 0)
        close(d.src_root);
    rm_rf_at(AT_FDCWD, dir, NULL);
    return rc;
}

/* BuildKit's checks of ADD's remote-only flags, and that COPY takes no remote source. */
static int
check_remote_flags(const struct copy_cmd *c, bool is_add, struct lade_error *err)
{
    for (size_t i = 0; !is_add && i < c->nsrcs; i++)
        if (add_source_is_remote(c->srcs[i]))
            return lade_error_set(err, LADE_ERR_PARSE, "source can't be a %s for COPY",
                                  fetch_is_http_url(c->srcs[i]) ? "URL" : "git ref");
    if (c->checksum == NULL)
        return 0;
    if (c->nsrcs + c->ndocs != 1)
        return lade_error_set(err, LADE_ERR_PARSE,
                              "checksum can't be specified for multiple sources");
    if (c->nsrcs != 1 || !add_source_is_remote(c->srcs[0]))
        return lade_error_set(err, LADE_ERR_PARSE, "checksum requires HTTP(S) or Git sources");
    return 0;
}

/* ADD's remote sources, resolved (downloaded, or the git ref resolved to its commit) before the
 * key, which gets their identities as one view entry. */
static int
resolve_remotes(struct build *b, const struct copy_cmd *c, struct remote_source **out, size_t *n,
                char **view, struct lade_error *err)
{
    struct lade_buf v = LADE_BUF_INIT;

    for (size_t i = 0; i < c->nsrcs; i++) {
        if (!add_source_is_remote(c->srcs[i]))
            continue;
        *out = xrealloc(*out, (*n + 1) * sizeof(**out));
        if (remote_source_resolve(b, c->srcs[i], c, &(*out)[(*n)++], err) < 0) {
            lade_buf_release(&v);
            return -1;
        }
        lade_buf_appendf(&v, "%s%s", v.len ? " " : "remote=", (*out)[*n - 1].key);
    }
    *view = v.len ? lade_buf_steal(&v) : NULL;
    lade_buf_release(&v);
    return 0;
}

/* A remote source copied as a local tree: owned by 0:0 unless --chown; a download is unpacked
 * only with --unpack=true (BuildKit's AttemptUnpack for URLs). */
static int
copy_remote(struct build *b, const struct copy_opts *o, struct remote_source *rs, bool unpack,
            const char *dest, bool dest_is_dir, struct lade_error *err)
{
    struct copy_opts r = *o;

    if (remote_source_materialize(b, rs, err) < 0)
        return -1;
    cleanup_close int root = open(rs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return lade_error_sys(err, "open '%s'", rs->root);
    r.src_root = root;
    r.ignore = NULL;
    r.keep_owner = false;
    r.links = NULL;
    r.hashes = NULL;
    int unpacked = unpack && !rs->is_git ? copy_unpack(&r, rs->rel, dest, err) : 0;
    if (unpacked != 0)
        return unpacked < 0 ? -1 : 0;
    return copy_tree(&r, rs->rel, dest, dest_is_dir, err);
}

/* --link (BuildKit: a copy into scratch merged onto the stage, unless --chmod is given): the
 * key of the copy leaves the stage out, so the layer is found again on another base; the
 * stage's key then chains that key. Before the lookup *parent keeps the stage's key and
 * ss->key becomes the copy's own. */
static void
link_key_begin(struct build *b, struct stage_state *ss, digest_t parent)
{
    memcpy(parent, ss->key, sizeof(digest_t));
    cache_key_init(b, ss, "copy --link");
}

static void
link_key_end(struct stage_state *ss, const struct command *cmd, const digest_t parent)
{
    cleanup_free char *v = xasprintf("link=%s", ss->key);
    char *view[2] = {v, NULL};

    memcpy(ss->key, parent, sizeof(digest_t));
    cache_key_step(ss, cmd, view);
}

/* COPY --from=STAGE of this build: the stage's key stands for its content in the key
 * (copy_cache_key), so a hit needs none of the stage's layers, which a --cache-from import may
 * have left in the cache (cache_transfer.h). Whether the destination is a directory because
 * sources matched several files only the stage's tree tells: both keys are tried, and only the
 * one a build from this same stage key recorded can hit. On a miss ss->key is as before. */
static int
copy_from_stage_cached(struct build *b, struct stage_state *ss, const struct command *cmd,
                       const char *dest, bool dest_is_dir, const char *hist, bool link, bool *hit,
                       struct lade_error *err)
{
    const struct copy_cmd *c = &cmd->u.copy;
    struct copy_opts unused = {.src_root = -1, .dst_root = -1};
    struct copy_sources none = {0};
    digest_t saved, parent;

    *hit = false;
    if (c->from == NULL || named_context_find(&b->named, c->from) != NULL ||
        stage_find_built(b, c->from) == NULL)
        return 0;
    for (size_t i = 0; i < c->nsrcs; i++)
        if (add_source_is_remote(c->srcs[i]))
            return 0;
    memcpy(saved, ss->key, sizeof(saved));
    for (int dir = dest_is_dir; dir <= 1 && !*hit; dir++) {
        if (link)
            link_key_begin(b, ss, parent);
        if (copy_cache_key(b, ss, &unused, cmd, &none, NULL, dest, dir, err) < 0 ||
            stage_try_cache(b, ss, hist, hit, err) < 0)
            return -1;
        if (*hit && link)
            link_key_end(ss, cmd, parent);
        else if (!*hit)
            memcpy(ss->key, saved, sizeof(saved));
    }
    return 0;
}

int
step_copy(struct build *b, struct stage_state *ss, const struct command *cmd,
          struct lade_error *err)
{
    const struct copy_cmd *c = &cmd->u.copy;
    bool is_add = cmd->in->kind == INSTR_ADD;
    bool link = c->link && c->chmod == NULL;
    const char *what = is_add ? "ADD" : "COPY";
    struct copy_opts o = {
        .src_root = b->context_fd, .ignore = b->ignore, .dst_root = -1, .hashes = b->hashes};
    struct fs_step fs = {0};
    struct from_root from = {.fd = -1};
    struct copy_sources cs = {0};
    struct dockerignore *exclude = NULL;
    cleanup_free char *dest = NULL, *hist = NULL, *remote_view = NULL;
    struct remote_source *remotes = NULL;
    size_t nremotes = 0;
    bool dest_is_dir = false, keyed = false;
    digest_t parent;
    int rc = -1;

    if (c->unsupported != NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "%s --%s is not implemented yet", what,
                              c->unsupported);
    if (check_remote_flags(c, is_add, err) < 0)
        return -1;
    if (c->excludes != NULL && dockerignore_new(c->excludes, &exclude, err) < 0)
        return lade_error_prefix(err, "%s --exclude", what);
    o.exclude = exclude;
    dest = copy_dest(ss, c->dest, &dest_is_dir);
    dest_is_dir = dest_is_dir || c->nsrcs + c->ndocs > 1 || c->parents;
    /* the owner is resolved in the destination, after the key: the key has the spec */
    o.chown = c->chown != NULL;
    o.chmod = c->chmod != NULL;
    o.mode = (mode_t) c->mode;
    hist = copy_history(c, what);
    if (copy_from_stage_cached(b, ss, cmd, dest, dest_is_dir, hist, link, &b->step_cached, err) < 0)
        goto out;
    if (b->step_cached) {
        rc = 0;
        goto out;
    }
    if (c->from != NULL) {
        if (from_root_open(b, c->from, &from, err) < 0)
            goto out;
        o.src_root = from.fd;
        o.hashes = NULL; /* recorded for the build context only */
        o.ignore = from.ignore;
        o.keep_owner = from.keep_owner;
    }
    if (resolve_sources(&o, c, &cs, err) < 0 ||
        resolve_remotes(b, c, &remotes, &nremotes, &remote_view, err) < 0)
        goto out;
    dest_is_dir = dest_is_dir || cs.several;

    if (link)
        link_key_begin(b, ss, parent);
    keyed = true;
    if (copy_cache_key(b, ss, &o, cmd, &cs, remote_view, dest, dest_is_dir, err) < 0 ||
        stage_try_cache(b, ss, hist, &b->step_cached, err) < 0)
        goto out;
    if (b->step_cached) {
        rc = 0;
        goto out;
    }

again: /* on the extracted base when the lazy one could not tell (fs_step_end) */
    /* --link: into an empty tree, the stage's rootfs never read */
    if ((link ? fs_step_begin(b, ss, false, &fs, err)
              : fs_step_begin_adding(b, ss, (const char *const[]){dest, NULL}, c->chown != NULL,
                                     &fs, err)) < 0)
        goto out;
    o.dst_root = open(link ? fs.upper : fs.merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (o.dst_root < 0) {
        lade_error_sys(err, "open '%s'", link ? fs.upper : fs.merged);
        goto out;
    }
    if (c->chown != NULL && fs_step_lookup_user(&fs, o.dst_root, c->chown, &o.uid, &o.gid, err) < 0)
        goto out;
    for (size_t i = 0; i < cs.n; i++)
        if (copy_source(&o, &cs, i, is_add && c->unpack != 0, dest, dest_is_dir, err) < 0)
            goto out;
    for (size_t i = 0; i < nremotes; i++)
        if (copy_remote(b, &o, &remotes[i], c->unpack == 1, dest, dest_is_dir, err) < 0)
            goto out;
    if (copy_docs(b, &o, c, dest, dest_is_dir, err) < 0)
        goto out;
    close(o.dst_root);
    o.dst_root = -1;
    rc = fs_step_end(b, ss, &fs, true, hist, err);
    if (rc > 0)
        goto again;
out:
    if (link && keyed)
        link_key_end(ss, cmd, parent);
    if (o.dst_root >= 0)
        close(o.dst_root);
    fs_step_end(b, ss, &fs, false, NULL, NULL);
    from_root_close(b, ss, &from);
    dockerignore_free(exclude);
    copy_sources_release(&cs);
    for (size_t i = 0; i < nremotes; i++)
        remote_source_release(&remotes[i]);
    free(remotes);
    return rc;
}

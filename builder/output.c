/* SPDX-License-Identifier: Apache-2.0 */
/* Build outputs (output.h): parsing buildx's -o values and writing each output. The tree of
 * type=local and type=tar is the target stage's layers mounted read-only, written as one tar
 * stream (layers/tar.c, the same writer as a layer, uncompressed), which type=local unpacks
 * into the directory as it arrives: nothing is held in memory but fixed buffers. */
#include "output.h"

#include "attest_build.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "../layers/archive/archive.h"

/* ---- parsing ---- */

/* The next CSV field of *p (Go's encoding/csv as buildx reads -o: commas separate, double
 * quotes group and are removed, "" inside quotes is one quote); caller frees. */
static char *
csv_next(const char **p, struct lade_error *err)
{
    struct lade_buf b;
    bool quoted = false;
    const char *s = *p;

    lade_buf_init(&b, 0);
    for (; *s != '\0' && (quoted || *s != ','); s++) {
        if (*s == '"' && quoted && s[1] == '"')
            lade_buf_appendc(&b, *s++);
        else if (*s == '"')
            quoted = !quoted;
        else
            lade_buf_appendc(&b, *s);
    }
    if (quoted) {
        lade_buf_release(&b);
        lade_error_set(err, LADE_ERR_USAGE, "--output: unterminated quote in \"%s\"", *p);
        return NULL;
    }
    *p = *s == ',' ? s + 1 : s;
    return lade_buf_steal(&b);
}

static int
parse_names(const char *list, struct build_output *out, struct lade_error *err)
{
    cleanup_free char *copy = xstrdup(list);
    char *save = NULL;

    for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        struct image_ref ref;
        if (image_ref_parse(n, &ref, err) < 0) {
            lade_error_recode(err, LADE_ERR_USAGE);
            return lade_error_prefix(err, "--output name=");
        }
        out->names = strv_push_take(out->names, image_ref_string(&ref));
        image_ref_release(&ref);
    }
    return 0;
}

static int
parse_type(const char *t, struct build_output *out, struct lade_error *err)
{
    static const struct {
        const char *name;
        enum output_type type;
    } types[] = {
        {"oci", OUTPUT_OCI}, {"docker", OUTPUT_DOCKER}, {"local", OUTPUT_LOCAL},
        {"tar", OUTPUT_TAR}, {"image", OUTPUT_IMAGE},   {"registry", OUTPUT_IMAGE},
    };

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(t, types[i].name) == 0) {
            out->type = types[i].type;
            out->push = out->push || strcmp(t, "registry") == 0; /* BuildKit: image,push=true */
            return 0;
        }
    return lade_error_set(err, LADE_ERR_USAGE,
                          "--output: type must be oci, docker, local, tar, image or registry, "
                          "not \"%s\"",
                          t);
}

static int
parse_key(const char *kv, struct build_output *out, bool *typed, struct lade_error *err)
{
    const char *eq = strchr(kv, '=');
    const char *v = eq ? eq + 1 : NULL;

    if (v == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "--output: invalid value %s", kv);
    size_t klen = (size_t) (eq - kv);
    if (klen == 4 && strncmp(kv, "type", 4) == 0) {
        *typed = true;
        return parse_type(v, out, err);
    }
    if (klen == 4 && strncmp(kv, "dest", 4) == 0) {
        free(out->dest);
        out->dest = xstrdup(v);
        return 0;
    }
    if (klen == 4 && strncmp(kv, "name", 4) == 0)
        return parse_names(v, out, err);
    if (klen == 4 && strncmp(kv, "push", 4) == 0 && (!strcmp(v, "true") || !strcmp(v, "false"))) {
        out->push = out->push || strcmp(v, "true") == 0;
        return 0;
    }
    return lade_error_set(err, LADE_ERR_USAGE,
                          "--output: \"%s\" is not supported (keys: type, dest, name, push)", kv);
}

int
output_parse(const char *spec, struct build_output *out, struct lade_error *err)
{
    bool typed = false;

    memset(out, 0, sizeof(*out));
    /* buildx: one field that does not start with type= is a path: local, or "-" a tar */
    if (strncmp(spec, "type=", 5) != 0 && strchr(spec, ',') == NULL && strchr(spec, '"') == NULL) {
        if (*spec == '\0')
            return lade_error_set(err, LADE_ERR_USAGE, "--output: empty value");
        out->type = strcmp(spec, "-") == 0 ? OUTPUT_TAR : OUTPUT_LOCAL;
        out->dest = xstrdup(spec);
        return 0;
    }
    for (const char *p = spec; *p != '\0';) {
        cleanup_free char *kv = csv_next(&p, err);
        if (kv == NULL || parse_key(kv, out, &typed, err) < 0)
            goto fail;
    }
    if (!typed) {
        lade_error_set(err, LADE_ERR_USAGE, "--output: type is required for output: \"%s\"", spec);
        goto fail;
    }
    if (out->type == OUTPUT_IMAGE) {
        free(out->dest);
        out->dest = NULL;
        return 0;
    }
    if (out->dest == NULL || *out->dest == '\0') {
        lade_error_set(err, LADE_ERR_USAGE, "--output %s needs dest=%s", spec,
                       out->type == OUTPUT_LOCAL ? "DIR" : "FILE (- for stdout)");
        goto fail;
    }
    if (out->type == OUTPUT_LOCAL && strcmp(out->dest, "-") == 0) {
        lade_error_set(err, LADE_ERR_USAGE, "--output type=local needs a directory, not -");
        goto fail;
    }
    return 0;
fail:
    output_release(out);
    return -1;
}

void
output_release(struct build_output *out)
{
    free(out->dest);
    strv_free(out->names);
    memset(out, 0, sizeof(*out));
}

int
outputs_check(const struct build_output *outs, size_t n, bool stdout_tty, struct lade_error *err)
{
    size_t to_stdout = 0;

    for (size_t i = 0; i < n; i++) {
        if (outs[i].dest == NULL || strcmp(outs[i].dest, "-") != 0)
            continue;
        if (++to_stdout > 1)
            return lade_error_set(err, LADE_ERR_USAGE, "--output: only one output can go to -");
        if (stdout_tty)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "--output dest=-: refusing to write a tar to the terminal "
                                  "(redirect stdout or give a file)");
    }
    return 0;
}

/* ---- writing ---- */

static const char *
type_name(enum output_type t)
{
    switch (t) {
    case OUTPUT_OCI:
        return "oci";
    case OUTPUT_DOCKER:
        return "docker";
    case OUTPUT_LOCAL:
        return "local";
    case OUTPUT_TAR:
        return "tar";
    case OUTPUT_IMAGE:
        break;
    }
    return "image";
}

/* The tar writer of type=local, on its own thread so that the unpacking reads as it writes. */
struct tree_writer {
    int rootfd, out_fd;
    struct layer_opts lo;
    struct lade_error err;
    int rc;
};

static void *
tree_writer_main(void *arg)
{
    struct tree_writer *w = arg;
    struct layer_info info;
    sigset_t pipe_only;

    /* the reader may stop early (an error): a write then fails with EPIPE, not a signal */
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
    w->rc = layer_write_dir(w->rootfd, &w->lo, w->out_fd, &info, &w->err);
    close(w->out_fd);
    return NULL;
}

static int
tree_to_dir(int rootfd, const struct layer_opts *lo, const char *dest, struct lade_error *err)
{
    struct tree_writer w = {.rootfd = rootfd, .lo = *lo};
    struct unpack_opts uo = {0};
    cleanup_close int destfd = -1;
    int p[2];
    pthread_t th;

    if (mkdir_p_at(AT_FDCWD, dest, 0755, err) < 0)
        return -1;
    destfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (destfd < 0)
        return lade_error_sys(err, "cannot open '%s'", dest);
    if (pipe2(p, O_CLOEXEC) < 0)
        return lade_error_sys(err, "pipe");
    w.out_fd = p[1];
    if ((errno = pthread_create(&th, NULL, tree_writer_main, &w)) != 0) {
        close(p[0]);
        close(p[1]);
        return lade_error_sys(err, "cannot start the tree writer");
    }
    int rc = tarball_unpack(p[0], destfd, &uo, err);
    close(p[0]);
    pthread_join(th, NULL);
    if (w.rc < 0 && rc == 0) {
        *err = w.err;
        rc = -1;
    }
    return rc;
}

/* A file written under DEST.tmp and renamed into place once complete. */
static int
tree_to_file(int rootfd, const struct layer_opts *lo, const char *dest, struct lade_error *err)
{
    struct layer_info info;

    if (strcmp(dest, "-") == 0)
        return layer_write_dir(rootfd, lo, STDOUT_FILENO, &info, err);
    cleanup_free char *tmp = xasprintf("%s.tmp", dest);
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return lade_error_sys(err, "cannot create '%s'", tmp);
    if (layer_write_dir(rootfd, lo, fd, &info, err) < 0 || fsync(fd) < 0 || rename(tmp, dest) < 0) {
        if (!lade_error_is_set(err))
            lade_error_sys(err, "cannot write '%s'", dest);
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* type=local and type=tar: the stage's layers mounted read-only, written as one tar. */
static int
write_tree(struct build *b, struct stage_state *ss, const struct build_output *out,
           struct lade_error *err)
{
    /* mtimes as the layers have them (clamped to the build's epoch when there is one); owners
     * and modes as in the image (BuildKit's local exporter keeps them when run as root) */
    struct layer_opts lo = {.epoch = b->clamp, .compression = COMPRESSION_NONE};
    struct fs_step fs = {0};
    int rootfd = -1, rc;

    rc = fs_step_mount_ro(b, ss, &fs, &rootfd, err);
    if (rc == 0 && out->type == OUTPUT_LOCAL)
        rc = tree_to_dir(rootfd, &lo, out->dest, err);
    else if (rc == 0)
        rc = tree_to_file(rootfd, &lo, out->dest, err);
    if (rootfd >= 0)
        close(rootfd);
    fs_step_end(b, ss, &fs, false, NULL, NULL);
    return rc;
}

static int
write_archive(struct build *b, const struct oci_desc *mdesc, const struct build_output *out,
              struct lade_error *err)
{
    char *const *names = out->names ? out->names : b->opts->tags;
    enum archive_format fmt = out->type == OUTPUT_OCI ? ARCHIVE_OCI : ARCHIVE_DOCKER;
    struct oci_desc image;

    /* a docker archive holds one image manifest: the attestations stay in the store */
    if (fmt == ARCHIVE_DOCKER && oci_media_type_is_index(mdesc->media_type)) {
        if (attest_image_of(b->st, mdesc, &image, err) < 0)
            return -1;
        progress_note(&b->progress,
                      "WARNING: the docker archive holds the image %s without its attestations "
                      "(-o type=oci keeps them)",
                      image.digest);
        mdesc = &image;
    }

    if (strcmp(out->dest, "-") != 0)
        return archive_export(b->st, mdesc, names, fmt, out->dest, err);
    if (archive_export_fd(b->st, mdesc, names, fmt, STDOUT_FILENO, err) < 0)
        return lade_error_prefix(err, "cannot export %s to stdout", mdesc->digest);
    return 0;
}

int
outputs_write(struct build *b, struct stage_state *ss, const struct oci_desc *mdesc,
              struct lade_error *err)
{
    for (size_t i = 0; i < b->opts->noutputs; i++) {
        const struct build_output *out = &b->opts->outputs[i];
        int rc = 0;

        if (out->type == OUTPUT_IMAGE)
            continue; /* the store has it; pushes are the driver's */
        if (ss == NULL && (out->type == OUTPUT_LOCAL || out->type == OUTPUT_TAR))
            continue; /* an index: each platform's build wrote its tree (outputs_platform) */
        progress_note(&b->progress, "exporting to %s %s", type_name(out->type),
                      strcmp(out->dest, "-") == 0 ? "stdout" : out->dest);
        if (out->type == OUTPUT_LOCAL || out->type == OUTPUT_TAR)
            rc = write_tree(b, ss, out, err);
        else
            rc = write_archive(b, mdesc, out, err);
        if (rc < 0)
            return lade_error_prefix(err, "--output type=%s", type_name(out->type));
    }
    return 0;
}

/* ---- several platforms ---- */

struct build_output *
outputs_platform(const struct build_output *outs, size_t n, const char *tmp, const char *dir,
                 size_t *nout)
{
    struct build_output *one = xcalloc(n + 1, sizeof(*one));
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (outs[i].type != OUTPUT_LOCAL && outs[i].type != OUTPUT_TAR)
            continue;
        one[k].type = OUTPUT_LOCAL;
        one[k++].dest = outs[i].type == OUTPUT_LOCAL ? xasprintf("%s/%s", outs[i].dest, dir)
                                                     : xasprintf("%s/%zu/%s", tmp, i, dir);
    }
    *nout = k;
    return one;
}

void
outputs_platform_free(struct build_output *outs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        output_release(&outs[i]);
    free(outs);
}

int
outputs_join(struct build *b, const char *tmp, struct lade_error *err)
{
    struct layer_opts lo = {.epoch = b->clamp, .compression = COMPRESSION_NONE};

    for (size_t i = 0; i < b->opts->noutputs; i++) {
        const struct build_output *out = &b->opts->outputs[i];
        if (out->type != OUTPUT_TAR)
            continue;
        cleanup_free char *dir = xasprintf("%s/%zu", tmp, i);
        cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        progress_note(&b->progress, "exporting to tar %s",
                      strcmp(out->dest, "-") == 0 ? "stdout" : out->dest);
        if (fd < 0)
            return lade_error_sys(err, "cannot open '%s'", dir);
        if (tree_to_file(fd, &lo, out->dest, err) < 0)
            return lade_error_prefix(err, "--output type=tar");
    }
    return 0;
}

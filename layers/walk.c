/* SPDX-License-Identifier: Apache-2.0 */
/* The layer walk: an explicit stack instead of recursion, so a hostile RUN that nests
 * directories 100k deep costs heap, not the C stack, and at most WALK_KEEP_FDS descriptors. */
#include "tar-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../builder/common/buf.h"
#include "../builder/common/xalloc.h"

/* Below this depth every directory on the path keeps its fd; deeper ones close their
 * parent's and reopen it through ".." when they are done. */
#define WALK_KEEP_FDS 64
#define DENTS_BUF (64 * 1024)

struct walk_frame {
    int fd; /* -1 while closed (deep trees) */
    dev_t dev;
    ino_t ino;
    char *names;   /* NUL-separated */
    char **sorted; /* into names, bytewise order */
    size_t n, next;
    size_t path_len; /* length of the prefix naming this directory: "" or "a/b/" */
};

struct walk {
    struct walk_frame *stack;
    size_t depth, cap;
    struct lade_buf path;
    int pending_fd; /* the directory returned last, entered on the next call */
    struct stat pending_st;
    char *dents;
};

static int
cmp_names(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: bytewise, as Go's sort.Strings */
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
read_names(struct walk *w, struct walk_frame *f, struct lade_error *err)
{
    size_t len = 0, cap = 0;

    for (;;) {
        ssize_t r = getdents64(f->fd, w->dents, DENTS_BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lade_error_sys(err, "cannot read directory '%s'",
                                  w->path.data != NULL ? w->path.data : ".");
        if (r == 0)
            break;
        for (ssize_t off = 0; off < r;) {
            struct dirent64 *d = (struct dirent64 *) (void *) (w->dents + off);
            off += d->d_reclen;
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            size_t nl = strlen(d->d_name) + 1;
            if (len + nl > cap) {
                cap = cap * 2 + nl + 256;
                f->names = xrealloc(f->names, cap);
            }
            memcpy(f->names + len, d->d_name, nl);
            len += nl;
            f->n++;
        }
    }
    f->sorted = xmalloc((f->n > 0 ? f->n : 1) * sizeof(char *));
    for (size_t i = 0, off = 0; i < f->n; i++) {
        f->sorted[i] = f->names + off;
        off += strlen(f->names + off) + 1;
    }
    qsort(f->sorted, f->n, sizeof(char *), cmp_names);
    return 0;
}

static void
frame_release(struct walk_frame *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->names);
    free(f->sorted);
    memset(f, 0, sizeof(*f));
    f->fd = -1;
}

/* Takes fd. */
static int
push_frame(struct walk *w, int fd, const struct stat *st, struct lade_error *err)
{
    if (w->depth == w->cap) {
        w->cap = w->cap * 2 + 16;
        w->stack = xrealloc(w->stack, w->cap * sizeof(*w->stack));
    }
    struct walk_frame *f = &w->stack[w->depth];
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->path_len = w->path.len;
    if (read_names(w, f, err) < 0) {
        frame_release(f);
        return -1;
    }
    w->depth++;
    if (w->depth > WALK_KEEP_FDS) {
        struct walk_frame *parent = &w->stack[w->depth - 2];
        close(parent->fd);
        parent->fd = -1;
    }
    return 0;
}

static int
pop_frame(struct walk *w, struct lade_error *err)
{
    struct walk_frame *f = &w->stack[w->depth - 1];

    if (w->depth >= 2 && w->stack[w->depth - 2].fd < 0) {
        struct walk_frame *parent = &w->stack[w->depth - 2];
        struct stat st;
        int pfd = openat(f->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
            return lade_error_sys(err, "cannot reopen directory of '%s'", w->path.data);
        if (fstat(pfd, &st) < 0 || st.st_dev != parent->dev || st.st_ino != parent->ino) {
            close(pfd);
            return lade_error_set(err, LADE_ERR_IO, "directory of '%s' moved during the walk",
                                  w->path.data);
        }
        parent->fd = pfd;
    }
    frame_release(f);
    w->depth--;
    return 0;
}

static void
path_truncate(struct walk *w, size_t len)
{
    if (w->path.data != NULL) {
        w->path.len = len;
        w->path.data[len] = '\0';
    }
}

struct walk *
walk_new(int dirfd, struct lade_error *err)
{
    struct walk *w = xcalloc(1, sizeof(*w));
    struct stat st;

    lade_buf_init(&w->path, 0);
    w->pending_fd = -1;
    w->dents = xmalloc(DENTS_BUF);
    /* a descriptor of our own: getdents64 moves the offset of the one it reads */
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        lade_error_sys(err, "cannot open the layer directory");
        if (fd >= 0)
            close(fd);
        walk_free(w);
        return NULL;
    }
    if (push_frame(w, fd, &st, err) < 0) {
        walk_free(w);
        return NULL;
    }
    return w;
}

int
walk_next(struct walk *w, struct walk_entry *e, struct lade_error *err)
{
    if (w->pending_fd >= 0) {
        int fd = w->pending_fd;
        w->pending_fd = -1;
        if (push_frame(w, fd, &w->pending_st, err) < 0)
            return -1;
    }
    while (w->depth > 0) {
        struct walk_frame *f = &w->stack[w->depth - 1];
        if (f->next == f->n) {
            path_truncate(w, f->path_len);
            if (pop_frame(w, err) < 0)
                return -1;
            continue;
        }
        const char *name = f->sorted[f->next++];
        path_truncate(w, f->path_len);
        if (fstatat(f->fd, name, &e->st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            return lade_error_sys(err, "cannot stat '%s%s'", w->path.data ? w->path.data : "",
                                  name);
        }
        lade_buf_appends(&w->path, name);
        e->fd = -1;
        if (S_ISDIR(e->st.st_mode)) {
            int fd = openat(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0)
                return lade_error_sys(err, "cannot open directory '%s'", w->path.data);
            lade_buf_appendc(&w->path, '/');
            w->pending_fd = fd;
            w->pending_st = e->st;
            e->fd = fd;
        }
        e->path = w->path.data;
        e->path_len = w->path.len;
        e->name = name;
        e->parent_fd = f->fd;
        return 1;
    }
    return 0;
}

void
walk_free(struct walk *w)
{
    if (w == NULL)
        return;
    if (w->pending_fd >= 0)
        close(w->pending_fd);
    for (size_t i = 0; i < w->depth; i++)
        frame_release(&w->stack[i]);
    free(w->stack);
    free(w->dents);
    lade_buf_release(&w->path);
    free(w);
}

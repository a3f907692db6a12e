/* SPDX-License-Identifier: Apache-2.0 */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

int
mkdir_p_at(int dirfd, const char *path, mode_t mode, struct lade_error *err)
{
    cleanup_free char *p = xstrdup(path);
    size_t len = strlen(p);

    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdirat(dirfd, p, mode) < 0 && errno != EEXIST)
            return lade_error_sys(err, "cannot create directory '%s'", p);
        p[i] = c;
    }
    return 0;
}

static int
rm_rf_fd(int parent_fd, const char *name, struct lade_error *err)
{
    struct stat st;

    if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : lade_error_sys(err, "cannot stat '%s'", name);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
            return lade_error_sys(err, "cannot remove '%s'", name);
        return 0;
    }
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lade_error_sys(err, "cannot open '%s'", name);
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return lade_error_sys(err, "cannot read '%s'", name);
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        rc = rm_rf_fd(dirfd(d), de->d_name, err);
    }
    closedir(d);
    if (rc == 0 && unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return lade_error_sys(err, "cannot remove '%s'", name);
    return rc;
}

int
rm_rf_at(int dirfd, const char *path, struct lade_error *err)
{
    return rm_rf_fd(dirfd, path, err);
}

int
write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t) w;
    }
    return 0;
}

int
write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                     struct lade_error *err)
{
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", name, (int) getpid());
    cleanup_close int fd = -1;

    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return lade_error_sys(err, "cannot create '%s'", tmp);
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        lade_error_sys(err, "cannot write '%s'", tmp);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        lade_error_sys(err, "cannot rename '%s' to '%s'", tmp, name);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    if (dirfd != AT_FDCWD)
        fsync(dirfd);
    return 0;
}

int
read_fd_all(int fd, const char *what, size_t max, char **out, size_t *len, struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t n = 0, cap = 0;

    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            data = xrealloc(data, cap + 1);
        }
        ssize_t r = read(fd, data + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return lade_error_sys(err, "cannot read '%s'", what);
        }
        if (r == 0)
            break;
        n += (size_t) r;
        if (max > 0 && n > max)
            return lade_error_set(err, LADE_ERR_IO, "'%s' is larger than %zu bytes", what, max);
    }
    data[n] = '\0';
    if (len != NULL)
        *len = n;
    *out = steal_ptr(&data);
    return 0;
}

int
read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len,
             struct lade_error *err)
{
    cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return lade_error_sys(err, "cannot open '%s'", path);
    return read_fd_all(fd, path, max, out, len, err);
}

int
copy_fd(int in_fd, int out_fd, struct lade_error *err)
{
    char buf[65536];

    for (;;) {
        ssize_t r = copy_file_range(in_fd, NULL, out_fd, NULL, 1 << 30, 0);
        if (r > 0)
            continue;
        if (r == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return lade_error_sys(err, "copy");
        break; /* fall back to read/write from where copy_file_range stopped */
    }
    for (;;) {
        ssize_t r = read(in_fd, buf, sizeof(buf));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return lade_error_sys(err, "read");
        }
        if (r == 0)
            return 0;
        if (write_all(out_fd, buf, (size_t) r) < 0)
            return lade_error_sys(err, "write");
    }
}

static int
dirent_name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int
dirent_not_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

int
dir_entries_sorted(int dirfd, struct dirent ***list)
{
    *list = NULL;
    return scandirat(dirfd, ".", list, dirent_not_dots, dirent_name_cmp);
}

void
dirents_free(struct dirent **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* One control message of one int, aligned as cmsghdr wants. */
union fd_cmsg {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

int
fd_send(int sock, int fd)
{
    char byte = 'f';
    union fd_cmsg u = {0};
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int
fd_recv(int sock)
{
    char byte;
    union fd_cmsg u;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm;
    int fd = -1;

    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
        return -1;
    cm = CMSG_FIRSTHDR(&msg);
    if (cm != NULL && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

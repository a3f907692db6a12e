/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes layer extraction. The input is a layer blob (tar, gzip or zstd), or, after a first
 * line "LADESPEC", lines "T<path>[\t<arg>]" that this file turns into a tar (T: f file with
 * content arg, d dir, l symlink to arg, h hardlink to arg, c/b device, p fifo), so mutations
 * reach the extractor's logic rather than libarchive's checksums.
 * Each run extracts into a fresh directory under $TMPDIR and removes it; nothing may appear
 * beside it. When extraction succeeds, writing the tree as a layer, extracting that and
 * writing again must give the same diff_id: layer_write_dir and layer_extract agree.
 * Runs as root like lade, so devices, owners and trusted.* xattrs are really created. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/common/fsutil.h"
#include "layers/layers.h"

#define SPEC_MAGIC "LADESPEC\n"
#define SPEC_TAR_MAX (4 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
memfd_with(const void *data, size_t size)
{
    int fd = memfd_create("layer", MFD_CLOEXEC);
    if (fd < 0 || write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        abort();
    return fd;
}

/* Builds a pax tar from spec lines; returns a memfd, or -1 when libarchive refuses them. */
static int
tar_from_spec(const char *spec, size_t len)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    char *buf = malloc(SPEC_TAR_MAX), *text = malloc(len + 1);
    size_t used = 0;
    int fd = -1, ok = 1;

    if (a == NULL || e == NULL || buf == NULL || text == NULL)
        abort();
    memcpy(text, spec, len);
    text[len] = '\0';
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, 0);
    if (archive_write_open_memory(a, buf, SPEC_TAR_MAX, &used) != ARCHIVE_OK)
        abort();
    for (char *line = text, *next; ok && line != NULL && *line; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        char type = line[0];
        if (type == '\0')
            continue;
        char *path = line + 1, *arg = strchr(path, '\t');
        if (arg != NULL)
            *arg++ = '\0';
        else
            arg = path + strlen(path); /* "" */
        archive_entry_clear(e);
        archive_entry_copy_pathname(e, path);
        archive_entry_set_mtime(e, 1000 + (time_t) strlen(path), 0);
        archive_entry_set_uid(e, (la_int64_t) strlen(arg) % 3);
        size_t n = 0;
        switch (type) {
        case 'f':
            n = strlen(arg);
            archive_entry_set_mode(e, AE_IFREG | 0644);
            archive_entry_set_size(e, (la_int64_t) n);
            if (n > 0 && arg[0] == 'x') /* an xattr too */
                archive_entry_xattr_add_entry(e, "user.fuzz", arg, n);
            break;
        case 'd':
            archive_entry_set_mode(e, AE_IFDIR | (arg[0] == 's' ? 02775 : 0755));
            break;
        case 'l':
            archive_entry_set_mode(e, AE_IFLNK | 0777);
            archive_entry_copy_symlink(e, arg);
            break;
        case 'h':
            archive_entry_set_mode(e, AE_IFREG | 0644);
            archive_entry_copy_hardlink(e, arg);
            break;
        case 'c':
        case 'b':
            archive_entry_set_mode(e, (type == 'c' ? AE_IFCHR : AE_IFBLK) | 0600);
            archive_entry_set_rdevmajor(e, (unsigned) strlen(arg) % 2);
            archive_entry_set_rdevminor(e, (unsigned) strlen(arg) % 5);
            break;
        case 'p':
            archive_entry_set_mode(e, AE_IFIFO | 0640);
            break;
        default:
            continue;
        }
        if (archive_write_header(a, e) < ARCHIVE_WARN ||
            (n > 0 && archive_write_data(a, arg, n) != (la_ssize_t) n))
            ok = 0;
    }
    if (ok && archive_write_close(a) == ARCHIVE_OK)
        fd = memfd_with(buf, used);
    archive_write_free(a);
    archive_entry_free(e);
    free(buf);
    free(text);
    return fd;
}

/* Names that start with ".wh." cannot be written as layers: they read back as whiteouts
 * (docker has the same ambiguity), so a tree with one does not round-trip. */
static int
has_whiteout_name(int tar_fd)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int found = 0;

    archive_read_support_format_tar(a);
    if (lseek(tar_fd, 0, SEEK_SET) < 0 || archive_read_open_fd(a, tar_fd, 65536) != ARCHIVE_OK)
        abort();
    int r;
    while (!found && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
        const char *p = archive_entry_pathname(e);
        found = strncmp(p, ".wh.", 4) == 0 || strstr(p, "/.wh.") != NULL;
    }
    archive_read_free(a);
    return found;
}

static void
write_layer(int dirfd, int out_fd, struct layer_info *info)
{
    struct layer_opts opts = {.epoch = -1, .compression = COMPRESSION_NONE};
    struct lade_error err = {0};

    if (layer_write_dir(dirfd, &opts, out_fd, info, &err) < 0) {
        fprintf(stderr, "layer_write_dir: %s\n", err.msg);
        abort();
    }
}

static void
round_trip(int topfd, int first)
{
    struct layer_info l1, l2;
    struct lade_error err = {0};
    digest_t d;

    int fd1 = memfd_create("l1", MFD_CLOEXEC), fd2 = memfd_create("l2", MFD_CLOEXEC);
    if (fd1 < 0 || fd2 < 0 || mkdirat(topfd, "again", 0755) < 0)
        abort();
    write_layer(first, fd1, &l1);
    if (!has_whiteout_name(fd1)) {
        int again = openat(topfd, "again", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (again < 0 || lseek(fd1, 0, SEEK_SET) < 0)
            abort();
        if (layer_extract(fd1, again, l1.diff_id, d, &err) < 0) {
            fprintf(stderr, "re-extracting our own layer: %s\n", err.msg);
            abort();
        }
        write_layer(again, fd2, &l2);
        if (strcmp(l1.diff_id, l2.diff_id) != 0 || l1.entries != l2.entries) {
            fprintf(stderr, "round trip changed the layer: %s (%llu) vs %s (%llu)\n", l1.diff_id,
                    (unsigned long long) l1.entries, l2.diff_id, (unsigned long long) l2.entries);
            abort();
        }
        close(again);
    }
    close(fd1);
    close(fd2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct lade_error err = {0};
    char top[4096];
    digest_t diff_id;
    size_t magic = strlen(SPEC_MAGIC);
    int in;

    if (size >= magic && memcmp(data, SPEC_MAGIC, magic) == 0)
        in = tar_from_spec((const char *) data + magic, size - magic);
    else
        in = memfd_with(data, size);
    if (in < 0)
        return 0;
    /* top/root is the layer dir; top must hold nothing else afterwards */
    snprintf(top, sizeof(top), "%s/lade-fuzz-XXXXXX", tmp);
    if (mkdtemp(top) == NULL)
        abort();
    int topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (topfd < 0 || mkdirat(topfd, "root", 0755) < 0)
        abort();
    int dfd = openat(topfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        abort();
    int rc = layer_extract(in, dfd, NULL, diff_id, &err);
    if (rc < 0 && (err.code == 0 || err.msg[0] == '\0'))
        abort(); /* every failure says why */
    if (rc == 0 && !digest_valid(diff_id))
        abort();
    if (rc == 0)
        round_trip(topfd, dfd);
    close(dfd);
    close(in);
    struct lade_error rm_err = {0};
    if (rm_rf_at(topfd, "root", &rm_err) < 0 || rm_rf_at(topfd, "again", &rm_err) < 0)
        abort();
    close(topfd);
    if (rmdir(top) < 0)
        abort(); /* something was written beside root: outside the layer dir */
    return 0;
}

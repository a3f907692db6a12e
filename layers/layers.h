/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The bytes of images: digests, reproducible layer tars, safe extraction, image references.
 * layers/oci/oci.h (JSON), layers/store/store.h (the store) and layers/archive/archive.h
 * (OCI and docker tar archives) are the other public headers of this directory. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../builder/common/error.h"

/* ---- digests (layers/digest.c, OpenSSL SHA256_*) ---- */

#define DIGEST_LEN 71 /* "sha256:" + 64 hex */
typedef char digest_t[DIGEST_LEN + 1];

struct sha256; /* opaque streaming context */
struct sha256 *sha256_new(void);
void sha256_update(struct sha256 *h, const void *data, size_t n);
/* Writes "sha256:<hex>" to out and resets h for reuse. */
void sha256_final(struct sha256 *h, digest_t out);
void sha256_free(struct sha256 *h);
void digest_of_mem(const void *data, size_t n, digest_t out);
/* Reads fd from its current offset to the end. */
int digest_of_fd(int fd, digest_t out, struct lade_error *err);
/* "sha256:" followed by exactly 64 lower-case hex digits. */
bool digest_valid(const char *s);
/* The hex part of a valid digest (points into s). */
const char *digest_hex(const char *s);
/* OCI chain id: chain(L0) = diff_id(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff_id(Ln)). */
void chain_id_next(const char *parent_chain /* NULL for the first */, const char *diff_id,
                   digest_t out);

/* ---- layer tars (layers/tar.c, layers/diff.c) ---- */

enum compression { COMPRESSION_GZIP = 0, COMPRESSION_ZSTD, COMPRESSION_NONE };

struct layer_opts {
    int64_t epoch; /* mtimes later than this are clamped to it; < 0: no clamp */
    enum compression compression;
    int level;          /* compressor level; 0: the default (layer_default_level) */
    bool overlay_upper; /* the tree is an overlay upper dir: convert whiteouts (0/0 char
                           devices -> .wh.NAME) and opaque dirs (-> DIR/.wh..wh..opq) */
};

struct layer_info {
    digest_t diff_id; /* sha256 of the uncompressed tar */
    digest_t digest;  /* sha256 of the compressed blob */
    uint64_t size;    /* compressed size in bytes */
    uint64_t entries; /* number of tar entries written (0: the tree was empty) */
};

/* The level lade compresses at when none is asked for: gzip 1, zstd 3 (tar-internal.h says
 * why), 0 for none. */
int layer_default_level(enum compression c);
/* Whether level is one the compressor takes: gzip 1-9, zstd 1-19; none takes none. */
bool layer_level_valid(enum compression c, int level);

/* The OCI media type of a layer with this compression. */
const char *layer_media_type(enum compression c);

/* Writes the tree under dirfd as one reproducible layer (DESIGN.md "Layers") to out_fd:
 * entries sorted bytewise, a directory before its contents, PAX, numeric ids, no atime/ctime,
 * whole-second mtimes clamped to epoch, xattrs kept (overlay's own removed), hardlinks
 * stored once, then as links to the first path in sort order. One pass: tar -> sha256 ->
 * compressor -> sha256 -> out_fd; memory stays bounded whatever the tree size.
 * Names are relative as containerd writes them: "etc/", "etc/passwd" (directories end in '/').
 * "Sorted" is the order of Go's filepath.Walk: "a/", "a/b", then "a-c". trusted.overlay.*,
 * user.overlay.* and security.selinux are not written; sockets are skipped. info is written only on
 * success. */
int layer_write_dir(int dirfd, const struct layer_opts *opts, int out_fd, struct layer_info *info,
                    struct lade_error *err);

/* Extracts a layer blob (gzip, zstd or plain tar, detected from the bytes) read from in_fd into
 * the empty directory dirfd, as an overlay lower dir: ".wh.NAME" becomes a 0/0 character device
 * NAME, ".wh..wh..opq" sets trusted.overlay.opaque=y (user.* in a
 * user namespace) on its directory. Confined to dirfd:
 * entry names that are absolute or climb with "..", and hardlinks named so, are refused (error,
 * nothing outside is touched). Owners, modes, mtimes, xattrs and hardlinks are restored; device
 * nodes are created when possible. When expect_diff_id is not NULL the uncompressed stream must
 * hash to it. Writes the uncompressed digest to diff_id_out when not NULL.
 * A symlink on an entry's path is resolved inside dirfd (RESOLVE_IN_ROOT), as containerd and
 * docker extract layers: "lib -> /usr/lib" then "lib/x" writes usr/lib/x; "a -> /" then "a/x"
 * writes x in the layer, never outside it. Files are written before the digest is known: on
 * error, discard dirfd's contents. */
int layer_extract(int in_fd, int dirfd, const char *expect_diff_id, digest_t diff_id_out,
                  struct lade_error *err);

/* ---- listing a layer (layers/tar_list.c) ---- */

struct layer_entry {
    const char *path; /* cleaned: "etc/passwd", "" for the root; whiteouts as named (".wh.x") */
    char type;        /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c', 'b', 'p' */
    unsigned mode;    /* permission bits with setuid, setgid, sticky */
    int64_t uid, gid;
    int64_t mtime;
    long mtime_nsec;
    uint64_t size;
    const char *link; /* symlink target, hardlink's first path (as named), or NULL */
    unsigned long rdev_major, rdev_minor;
    digest_t content; /* regular files: sha256 of the data; else "" */
    digest_t xattrs;  /* sha256 of the xattrs in tar order, "" when none */
    const char *data; /* layer_list_data: a wanted file's bytes (NUL-terminated), else NULL */
    size_t data_len;
};
/* Called once per entry, in tar order; e and its strings are valid during the call. */
typedef int (*layer_list_fn)(void *ctx, const struct layer_entry *e, struct lade_error *err);
/* Reads a layer blob (gzip, zstd or plain) from in_fd and reports every entry, writing nothing.
 * diff_id_out (may be NULL) gets the digest of the uncompressed stream. */
int layer_list(int in_fd, layer_list_fn fn, void *ctx, digest_t diff_id_out,
               struct lade_error *err);
/* Whether the data of the regular file at path (size bytes) should be given to the callback. */
typedef bool (*layer_want_fn)(void *ctx, const char *path, uint64_t size);
/* layer_list, also giving the data of the files want asks for (up to 64 MiB each: package
 * databases and other metadata, read into memory). */
int layer_list_data(int in_fd, layer_want_fn want, layer_list_fn fn, void *ctx,
                    digest_t diff_id_out, struct lade_error *err);
/* layer_list_data without hashing: files' content digests are "" except for the wanted files
 * (whose data is given), the rest of each file is skipped. For the lazy base (what a step needs
 * to know of the base's tree without extracting it). */
int layer_list_meta(int in_fd, layer_want_fn want, layer_list_fn fn, void *ctx,
                    struct lade_error *err);

/* ---- ADD's local archives (layers/extract.c) ---- */

/* Whether fd (a regular file, read from its offset) holds a tar archive, plain or compressed
 * with gzip, bzip2, xz or zstd: decided by content, as docker's isArchivePath does (the
 * decompressed stream starts with a valid tar header; an empty tar is not an archive). */
bool tarball_detect(int fd);

struct unpack_opts {
    bool chown; /* every entry gets uid:gid (ADD --chown); else the archive's owners */
    uid_t uid;
    gid_t gid;
};
/* Unpacks the archive in_fd into the directory dirfd as docker's Untar for ADD does: merged
 * with what is there (a directory stays, other entries are replaced), modes, mtimes and
 * (unless o->chown) owners from the archive, missing parents created 0755 0:0. Names are
 * cleaned ("/a" is "a", "a/../b" is "b"); one that climbs above dirfd fails. Every path is
 * resolved inside dirfd (RESOLVE_IN_ROOT, like docker's chroot): a symlink in the archive or
 * already in the tree cannot lead out. ".wh." names are plain files here (no whiteouts);
 * xattrs are set where possible. */
int tarball_unpack(int in_fd, int dirfd, const struct unpack_opts *o, struct lade_error *err);

/* ---- image references (layers/ref.c) ---- */

/* docker's normalisation: "app" -> docker.io/library/app:latest, "host:5000/a/b:t",
 * "name@sha256:...". */
struct image_ref {
    char *domain; /* "docker.io", "localhost:5000", "[::1]:5000" */
    char *path;   /* "library/app" */
    char *tag;    /* "latest" when neither tag nor digest was given; NULL with only a digest */
    char *digest; /* "sha256:..." or NULL */
};
int image_ref_parse(const char *s, struct image_ref *out, struct lade_error *err);
void image_ref_release(struct image_ref *r);
/* "docker.io/library/app:latest" (with "@digest" when there is one); caller frees. */
char *image_ref_string(const struct image_ref *r);
/* The short form docker shows: "app:latest", "user/app:1", "localhost:5000/x:1"; caller frees. */
char *image_ref_familiar(const struct image_ref *r);
/* "docker.io/library/app" without tag or digest; caller frees. */
char *image_ref_repo(const struct image_ref *r);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* libarchive, loaded with dlopen on first use rather than linked (why: builder/common/lazylib.h):
 * it brings libxml2, ICU (31 MB of data), libstdc++, nettle and five compressors, all BIND_NOW,
 * which commands that read or write no tar (a no-op rebuild, `lade version`) no longer map.
 *
 * The Makefile includes this header first in every file of layers/ and builder/ (-include, as
 * banned.h), so they call libarchive by its usual names: each name below is a macro for the
 * entry of a table filled on the first call. A function missing from the list is a link error
 * (lade does not link -larchive): add it to ARCHIVE_DL_FUNCTIONS. Tests link libarchive and call
 * it directly. */

#include <archive.h>
#include <archive_entry.h>

/* The functions lade uses, without their archive_ prefix, for an X macro. */
#define ARCHIVE_DL_FUNCTIONS(X)                                                                    \
    X(entry_atime)                                                                                 \
    X(entry_atime_is_set)                                                                          \
    X(entry_atime_nsec)                                                                            \
    X(entry_clear)                                                                                 \
    X(entry_copy_hardlink)                                                                         \
    X(entry_copy_pathname)                                                                         \
    X(entry_copy_symlink)                                                                          \
    X(entry_filetype)                                                                              \
    X(entry_free)                                                                                  \
    X(entry_gid)                                                                                   \
    X(entry_hardlink)                                                                              \
    X(entry_mtime)                                                                                 \
    X(entry_mtime_is_set)                                                                          \
    X(entry_mtime_nsec)                                                                            \
    X(entry_new)                                                                                   \
    X(entry_pathname)                                                                              \
    X(entry_perm)                                                                                  \
    X(entry_rdevmajor)                                                                             \
    X(entry_rdevminor)                                                                             \
    X(entry_set_filetype)                                                                          \
    X(entry_set_gid)                                                                               \
    X(entry_set_mode)                                                                              \
    X(entry_set_mtime)                                                                             \
    X(entry_set_pathname)                                                                          \
    X(entry_set_perm)                                                                              \
    X(entry_set_rdevmajor)                                                                         \
    X(entry_set_rdevminor)                                                                         \
    X(entry_set_size)                                                                              \
    X(entry_set_uid)                                                                               \
    X(entry_size)                                                                                  \
    X(entry_size_is_set)                                                                           \
    X(entry_symlink)                                                                               \
    X(entry_uid)                                                                                   \
    X(entry_xattr_add_entry)                                                                       \
    X(entry_xattr_next)                                                                            \
    X(entry_xattr_reset)                                                                           \
    X(errno)                                                                                       \
    X(error_string)                                                                                \
    X(read_data)                                                                                   \
    X(read_data_block)                                                                             \
    X(read_data_skip)                                                                              \
    X(read_free)                                                                                   \
    X(read_new)                                                                                    \
    X(read_next_header)                                                                            \
    X(read_open)                                                                                   \
    X(read_open_fd)                                                                                \
    X(read_open_filename)                                                                          \
    X(read_support_filter_all)                                                                     \
    X(read_support_filter_bzip2)                                                                   \
    X(read_support_filter_gzip)                                                                    \
    X(read_support_filter_xz)                                                                      \
    X(read_support_filter_zstd)                                                                    \
    X(read_support_format_raw)                                                                     \
    X(read_support_format_tar)                                                                     \
    X(write_add_filter_zstd)                                                                       \
    X(write_close)                                                                                 \
    X(write_data)                                                                                  \
    X(write_fail)                                                                                  \
    X(write_free)                                                                                  \
    X(write_header)                                                                                \
    X(write_new)                                                                                   \
    X(write_open)                                                                                  \
    X(write_open_fd)                                                                               \
    X(write_set_bytes_per_block)                                                                   \
    X(write_set_format_pax_restricted)                                                             \
    X(write_set_format_raw)                                                                        \
    X(write_set_options)

/* The table: each entry has the exact type of the function it is resolved to. */
struct archive_fns {
#define ARCHIVE_DL_FIELD(name) __typeof__(archive_##name) *f_##name; /* f_: errno is a macro */
    ARCHIVE_DL_FUNCTIONS(ARCHIVE_DL_FIELD)
#undef ARCHIVE_DL_FIELD
};

/* The table, libarchive.so.13 loaded on the first call (thread safe). When it cannot be
 * loaded, prints why and the Debian package to install, and exits 1: as the dynamic loader
 * refused to start lade without it before, but only for commands that need it. */
const struct archive_fns *archive_dl(void);

#define archive_entry_atime (archive_dl()->f_entry_atime)
#define archive_entry_atime_is_set (archive_dl()->f_entry_atime_is_set)
#define archive_entry_atime_nsec (archive_dl()->f_entry_atime_nsec)
#define archive_entry_clear (archive_dl()->f_entry_clear)
#define archive_entry_copy_hardlink (archive_dl()->f_entry_copy_hardlink)
#define archive_entry_copy_pathname (archive_dl()->f_entry_copy_pathname)
#define archive_entry_copy_symlink (archive_dl()->f_entry_copy_symlink)
#define archive_entry_filetype (archive_dl()->f_entry_filetype)
#define archive_entry_free (archive_dl()->f_entry_free)
#define archive_entry_gid (archive_dl()->f_entry_gid)
#define archive_entry_hardlink (archive_dl()->f_entry_hardlink)
#define archive_entry_mtime (archive_dl()->f_entry_mtime)
#define archive_entry_mtime_is_set (archive_dl()->f_entry_mtime_is_set)
#define archive_entry_mtime_nsec (archive_dl()->f_entry_mtime_nsec)
#define archive_entry_new (archive_dl()->f_entry_new)
#define archive_entry_pathname (archive_dl()->f_entry_pathname)
#define archive_entry_perm (archive_dl()->f_entry_perm)
#define archive_entry_rdevmajor (archive_dl()->f_entry_rdevmajor)
#define archive_entry_rdevminor (archive_dl()->f_entry_rdevminor)
#define archive_entry_set_filetype (archive_dl()->f_entry_set_filetype)
#define archive_entry_set_gid (archive_dl()->f_entry_set_gid)
#define archive_entry_set_mode (archive_dl()->f_entry_set_mode)
#define archive_entry_set_mtime (archive_dl()->f_entry_set_mtime)
#define archive_entry_set_pathname (archive_dl()->f_entry_set_pathname)
#define archive_entry_set_perm (archive_dl()->f_entry_set_perm)
#define archive_entry_set_rdevmajor (archive_dl()->f_entry_set_rdevmajor)
#define archive_entry_set_rdevminor (archive_dl()->f_entry_set_rdevminor)
#define archive_entry_set_size (archive_dl()->f_entry_set_size)
#define archive_entry_set_uid (archive_dl()->f_entry_set_uid)
#define archive_entry_size (archive_dl()->f_entry_size)
#define archive_entry_size_is_set (archive_dl()->f_entry_size_is_set)
#define archive_entry_symlink (archive_dl()->f_entry_symlink)
#define archive_entry_uid (archive_dl()->f_entry_uid)
#define archive_entry_xattr_add_entry (archive_dl()->f_entry_xattr_add_entry)
#define archive_entry_xattr_next (archive_dl()->f_entry_xattr_next)
#define archive_entry_xattr_reset (archive_dl()->f_entry_xattr_reset)
#define archive_errno (archive_dl()->f_errno)
#define archive_error_string (archive_dl()->f_error_string)
#define archive_read_data (archive_dl()->f_read_data)
#define archive_read_data_block (archive_dl()->f_read_data_block)
#define archive_read_data_skip (archive_dl()->f_read_data_skip)
#define archive_read_free (archive_dl()->f_read_free)
#define archive_read_new (archive_dl()->f_read_new)
#define archive_read_next_header (archive_dl()->f_read_next_header)
#define archive_read_open (archive_dl()->f_read_open)
#define archive_read_open_fd (archive_dl()->f_read_open_fd)
#define archive_read_open_filename (archive_dl()->f_read_open_filename)
#define archive_read_support_filter_all (archive_dl()->f_read_support_filter_all)
#define archive_read_support_filter_bzip2 (archive_dl()->f_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (archive_dl()->f_read_support_filter_gzip)
#define archive_read_support_filter_xz (archive_dl()->f_read_support_filter_xz)
#define archive_read_support_filter_zstd (archive_dl()->f_read_support_filter_zstd)
#define archive_read_support_format_raw (archive_dl()->f_read_support_format_raw)
#define archive_read_support_format_tar (archive_dl()->f_read_support_format_tar)
#define archive_write_add_filter_zstd (archive_dl()->f_write_add_filter_zstd)
#define archive_write_close (archive_dl()->f_write_close)
#define archive_write_data (archive_dl()->f_write_data)
#define archive_write_fail (archive_dl()->f_write_fail)
#define archive_write_free (archive_dl()->f_write_free)
#define archive_write_header (archive_dl()->f_write_header)
#define archive_write_new (archive_dl()->f_write_new)
#define archive_write_open (archive_dl()->f_write_open)
#define archive_write_open_fd (archive_dl()->f_write_open_fd)
#define archive_write_set_bytes_per_block (archive_dl()->f_write_set_bytes_per_block)
#define archive_write_set_format_pax_restricted (archive_dl()->f_write_set_format_pax_restricted)
#define archive_write_set_format_raw (archive_dl()->f_write_set_format_raw)
#define archive_write_set_options (archive_dl()->f_write_set_options)

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* mkdir -p relative to dirfd (AT_FDCWD for cwd); existing directories are fine. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode, struct lade_error *err);
/* rm -rf relative to dirfd; a missing path is fine. Never follows symlinks, stays on the path's
 * filesystem tree; unmounted trees only. */
int rm_rf_at(int dirfd, const char *path, struct lade_error *err);
/* Writes data to dirfd/tmpname, fsyncs it, renames it to dirfd/name and fsyncs dirfd,
 * so a crash leaves either the old or the new file. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                         struct lade_error *err);
/* Reads a whole (small) file; *out is NUL-terminated, caller frees. max caps the size. */
int read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len,
                 struct lade_error *err);
/* Reads fd from its offset to the end; same contract as read_file_at. */
int read_fd_all(int fd, const char *what, size_t max, char **out, size_t *len,
                struct lade_error *err);
/* The entries of dirfd but "." and "..", sorted bytewise (Go's os.ReadDir order, which
 * BuildKit's copy walks): their count, or -1 with errno. Free with dirents_free. */
struct dirent;
int dir_entries_sorted(int dirfd, struct dirent ***list);
void dirents_free(struct dirent **list, int n);
/* write(2) until done, retrying EINTR. */
int write_all(int fd, const void *data, size_t len);
/* Sends fd over the unix socket sock (SCM_RIGHTS, with one byte of data); 0 or -1 (errno). */
int fd_send(int sock, int fd);
/* Receives a descriptor sent by fd_send (O_CLOEXEC); -1 at the end of sock, on a failure, or
 * when the message carried none. */
int fd_recv(int sock);
/* Copies the whole of in_fd (from its current offset) to out_fd; uses copy_file_range where
 * the kernel allows, else a fixed buffer. */
int copy_fd(int in_fd, int out_fd, struct lade_error *err);

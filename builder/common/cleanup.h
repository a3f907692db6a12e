/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Scope-bound cleanup (gcc/clang cleanup attribute), as crun and bubblewrap use it. */
static inline void
cleanup_freep(void *p)
{
    free(*(void **) p);
}
static inline void
cleanup_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
static inline void
cleanup_fclosep(FILE **f)
{
    if (*f != NULL)
        fclose(*f);
}
static inline void
cleanup_closedirp(DIR **d)
{
    if (*d != NULL)
        closedir(*d);
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_file __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_dir __attribute__((cleanup(cleanup_closedirp)))

/* Hand ownership on: returns the value and resets the variable so cleanup leaves it alone. */
static inline void *
steal_ptr_impl(void **pp)
{
    void *p = *pp;
    *pp = NULL;
    return p;
}
#define steal_ptr(pp) ((__typeof__(*(pp))) steal_ptr_impl((void **) (pp)))

static inline int
steal_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

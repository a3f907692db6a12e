/* SPDX-License-Identifier: Apache-2.0 */
/* libarchive through dlopen (why: archive_dl.h). The table is written once under pthread_once
 * and read-only afterwards. */
#include "archive_dl.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "../builder/common/lazylib.h"

/* The SONAME of Debian's libarchive13, what lade is built against. */
#define ARCHIVE_SONAME "libarchive.so.13"
#define ARCHIVE_DEB_PACKAGE "libarchive13"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct archive_fns fns;
static bool loaded;
static char load_error[512];

static void
load(void)
{
    static const struct lazylib_sym syms[] = {
#define ARCHIVE_DL_SYM(name) {"archive_" #name, offsetof(struct archive_fns, f_##name)},
        ARCHIVE_DL_FUNCTIONS(ARCHIVE_DL_SYM)
#undef ARCHIVE_DL_SYM
    };
    loaded = lazylib_open(ARCHIVE_SONAME, ARCHIVE_DEB_PACKAGE, syms, sizeof(syms) / sizeof(syms[0]),
                          &fns, load_error, sizeof(load_error)) == 0;
}

const struct archive_fns *
archive_dl(void)
{
    pthread_once(&load_once, load);
    if (!loaded) {
        /* no error to return through: the callers' signatures are libarchive's */
        fprintf(stderr, "lade: error: %s\n", load_error);
        exit(1);
    }
    return &fns;
}

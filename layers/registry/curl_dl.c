/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl through dlopen (why: curl_dl.h). The table is written once under pthread_once and
 * read-only afterwards, like curl's own global state that curl_global_init sets up. */
#include "curl_dl.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../builder/common/lazylib.h"

/* The SONAME of Debian's libcurl4 (OpenSSL flavour, what lade is built against). */
#define CURL_SONAME "libcurl.so.4"
#define CURL_DEB_PACKAGE "libcurl4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct curl_fns fns;
static bool loaded;
static char load_error[512];

static void
load(void)
{
    static const struct lazylib_sym syms[] = {
#define CURL_DL_SYM(name) {"curl_" #name, offsetof(struct curl_fns, name)},
        CURL_DL_FUNCTIONS(CURL_DL_SYM)
#undef CURL_DL_SYM
    };
    if (lazylib_open(CURL_SONAME, CURL_DEB_PACKAGE, syms, sizeof(syms) / sizeof(syms[0]), &fns,
                     load_error, sizeof(load_error)) < 0)
        return;
    CURLcode rc = fns.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(load_error, sizeof(load_error), "libcurl: %s", fns.easy_strerror(rc));
        return;
    }
    loaded = true;
}

int
curl_dl_load(struct lade_error *err)
{
    pthread_once(&load_once, load);
    if (!loaded)
        return lade_error_set(err, LADE_ERR_OTHER, "%s", load_error);
    return 0;
}

const struct curl_fns *
curl_dl(void)
{
    if (!loaded) {
        fprintf(stderr, "lade: fatal: libcurl called before curl_dl_load\n");
        abort();
    }
    return &fns;
}

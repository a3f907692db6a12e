/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* libcurl, loaded with dlopen (builder/common/lazylib.h) when a registry client is created
 * rather than linked: Debian's libcurl brings ~26 more libraries (gnutls, krb5, ldap, ssh2...)
 * built with BIND_NOW, and commands that never talk to a registry or fetch a URL now never
 * map them.
 *
 * Files of this directory include this header instead of <curl/curl.h> and call curl's
 * functions by their usual names: each name below is a macro for the entry of a table that
 * curl_dl_load fills once. Call curl_dl_load (reg_client_new does) before any of them. */

#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK /* its macros would shadow the table's; the table is typed */
#endif
#include <curl/curl.h>

#include "../../builder/common/error.h"

/* The functions lade uses, for an X macro: the table's fields, their names for dlsym. */
#define CURL_DL_FUNCTIONS(X)                                                                       \
    X(global_init)                                                                                 \
    X(easy_init)                                                                                   \
    X(easy_cleanup)                                                                                \
    X(easy_reset)                                                                                  \
    X(easy_setopt)                                                                                 \
    X(easy_getinfo)                                                                                \
    X(easy_perform)                                                                                \
    X(easy_strerror)                                                                               \
    X(easy_escape)                                                                                 \
    X(free)                                                                                        \
    X(getdate)                                                                                     \
    X(share_init)                                                                                  \
    X(share_setopt)                                                                                \
    X(share_cleanup)                                                                               \
    X(slist_append)                                                                                \
    X(slist_free_all)                                                                              \
    X(url)                                                                                         \
    X(url_set)                                                                                     \
    X(url_get)                                                                                     \
    X(url_cleanup)

/* The table: each entry has the exact type of the function it is resolved to. */
struct curl_fns {
#define CURL_DL_FIELD(name) __typeof__(curl_##name) *name;
    CURL_DL_FUNCTIONS(CURL_DL_FIELD)
#undef CURL_DL_FIELD
};

/* Loads libcurl.so.4, resolves the table and runs curl_global_init, once per process (thread
 * safe). 0, or -1 with err naming the library and the Debian package that provides it; a
 * failure is remembered and reported again on every call. */
int curl_dl_load(struct lade_error *err);
/* The table; curl_dl_load must have succeeded (aborts otherwise: a programming error). */
const struct curl_fns *curl_dl(void);

/* curl.h defines these three as macros too (to check the argument count) */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt
#define curl_global_init (curl_dl()->global_init)
#define curl_easy_init (curl_dl()->easy_init)
#define curl_easy_cleanup (curl_dl()->easy_cleanup)
#define curl_easy_reset (curl_dl()->easy_reset)
#define curl_easy_setopt (curl_dl()->easy_setopt)
#define curl_easy_getinfo (curl_dl()->easy_getinfo)
#define curl_easy_perform (curl_dl()->easy_perform)
#define curl_easy_strerror (curl_dl()->easy_strerror)
#define curl_easy_escape (curl_dl()->easy_escape)
#define curl_free (curl_dl()->free)
#define curl_getdate (curl_dl()->getdate)
#define curl_share_init (curl_dl()->share_init)
#define curl_share_setopt (curl_dl()->share_setopt)
#define curl_share_cleanup (curl_dl()->share_cleanup)
#define curl_slist_append (curl_dl()->slist_append)
#define curl_slist_free_all (curl_dl()->slist_free_all)
#define curl_url (curl_dl()->url)
#define curl_url_set (curl_dl()->url_set)
#define curl_url_get (curl_dl()->url_get)
#define curl_url_cleanup (curl_dl()->url_cleanup)

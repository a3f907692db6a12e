/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A shared library opened with dlopen when first needed, its functions resolved into a table
 * of typed pointers. lade loads libcurl (layers/registry/curl_dl.h) and libarchive
 * (layers/archive_dl.h) this way: Debian builds them and their ~35 libraries with BIND_NOW, so
 * linking them made every command, `lade version` and a no-op rebuild included, pay for
 * relocating all of them (tests/bench/README.md). */

#include <stddef.h>

/* One function: its name for dlsym, where its pointer goes in the table. */
struct lazylib_sym {
    const char *name;
    size_t offset;
};

/* dlopen(soname, RTLD_NOW | RTLD_LOCAL), then every sym into table (never closed: the library
 * stays until exit). 0, or -1 with why, naming the library and the Debian package that has it
 * (package), written to errbuf. */
int lazylib_open(const char *soname, const char *package, const struct lazylib_sym *syms,
                 size_t nsyms, void *table, char *errbuf, size_t errlen);

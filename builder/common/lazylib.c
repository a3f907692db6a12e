/* SPDX-License-Identifier: Apache-2.0 */
#include "lazylib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int
lazylib_open(const char *soname, const char *package, const struct lazylib_sym *syms, size_t nsyms,
             void *table, char *errbuf, size_t errlen)
{
    /* RTLD_LOCAL: the library's dependencies stay out of the global symbol scope, so nothing
     * of lade binds to them by accident. */
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(errbuf, errlen, "cannot load %s (%s): install the Debian package %s", soname,
                 why ? why : "unknown error", package);
        return -1;
    }
    for (size_t i = 0; i < nsyms; i++) {
        void *fn = dlsym(lib, syms[i].name);
        if (fn == NULL) {
            snprintf(errbuf, errlen, "%s has no %s: install a newer %s", soname, syms[i].name,
                     package);
            return -1;
        }
        /* POSIX's way to store dlsym's void * into a function pointer */
        memcpy((char *) table + syms[i].offset, &fn, sizeof(fn));
    }
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Functions with no bounds or with hidden global state; use the listed alternative (git banned.h).
 * The Makefile passes `-include builder/common/banned.h` for every C file, so no file can forget
 * it. git includes it last instead; being first, it includes the headers that declare these names
 * before defining the macros: a later <string.h> is then a no-op, where it would otherwise expand
 * the macros inside glibc's declarations and _FORTIFY_SOURCE inline definitions. */
#include <stdio.h>
#include <string.h>

#define BANNED(func) sorry_##func##_is_banned
#undef strcpy
#define strcpy(x, y) BANNED(strcpy) /* snprintf or xstrdup */
#undef strcat
#define strcat(x, y) BANNED(strcat) /* lade_buf */
#undef sprintf
#define sprintf(...) BANNED(sprintf) /* snprintf */
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf) /* vsnprintf */
#undef strtok
#define strtok(x, y) BANNED(strtok) /* strtok_r or strsep */
#undef gets
#define gets(x) BANNED(gets)

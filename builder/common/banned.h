/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Functions with no bounds or with hidden global state; use the listed alternative (git banned.h).
 * Include it last, after the system headers it overrides. */
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

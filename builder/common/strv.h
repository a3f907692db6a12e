/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* NULL-terminated vectors of owned strings (char **), as used for argv and envp.
 * A NULL vector is a valid empty one. */
size_t strv_len(char *const *v);
/* Appends a copy of s; returns the (possibly moved) vector. */
char **strv_push(char **v, const char *s);
/* Appends s itself, taking ownership. */
char **strv_push_take(char **v, char *s);
char **strv_dup(char *const *v);
void strv_free(char **v);
/* Env-style lookup: the value of "KEY=value" in v, or NULL. */
const char *strv_env_get(char *const *v, const char *key);
/* Sets KEY=value, replacing an existing entry in place (order kept, as docker keeps it). */
char **strv_env_set(char **v, const char *key, const char *value);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The part of Go's text/template that docker users type in --format, over jansson values:
 *   text {{.}} {{.Field.Sub}} {{json .X}} {{index .Map "key"}} {{index .List 0}}
 *   {{join .List ", "}} {{upper .X}} {{lower .X}} {{len .X}} {{range .List}}...{{end}}
 *   {{- and -}} trim the white space beside them.
 * Values print as Go prints them: a list "[a b]", an object "map[k:v]" (keys sorted), null
 * "<nil>", a missing field "<no value>". Anything else ({{if}}, pipes, variables) is a usage
 * error naming it. */

#include <jansson.h>

#include "../common/error.h"

/* The template rendered with data as "."; caller frees. NULL with a LADE_ERR_USAGE error. */
char *template_render(const char *tmpl, json_t *data, struct lade_error *err);

/* SPDX-License-Identifier: Apache-2.0 */
/* --progress=json: one event per line on stderr, for tools. The schema is documented in
 * README.md ("Progress as JSON events") and tests/integration/progress-schema.json; a field
 * is added, never changed, so readers may ignore what they do not know. */
#include "progress_core.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "common/xalloc.h"

/* RFC 3339 in UTC with milliseconds: "2026-12-05T17:08:13.042Z". */
static void
now_rfc3339(char *out, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char base[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%.20s.%03dZ", base, (int) (ts.tv_nsec / 1000000) % 1000);
}

static void
set_str(json_t *o, const char *key, const char *value)
{
    if (value != NULL)
        json_object_set_new(o, key, json_string(value));
}

static json_int_t
ms(double secs)
{
    return (json_int_t) (secs * 1000.0 + 0.5);
}

/* A process may print bytes that are not UTF-8: then those bytes become '?', so the event
 * is still valid JSON. */
static json_t *
utf8_string(const char *data)
{
    json_t *v = json_string(data);

    if (v != NULL)
        return v;
    char *copy = xstrdup(data);
    for (char *c = copy; *c; c++)
        if ((unsigned char) *c >= 0x80)
            *c = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

/* The step's own fields, on every event about it. */
static void
step_fields(json_t *ev, const struct progress_step *st)
{
    set_str(ev, "id", st->id);
    set_str(ev, "stage", st->stage);
    set_str(ev, "file", st->file);
    if (st->line > 0)
        json_object_set_new(ev, "line", json_integer(st->line));
    set_str(ev, "instruction", st->instruction);
    json_object_set_new(ev, "step", json_integer(st->num));
}

void
json_event(struct progress_sink *s, const char *type, const struct progress_step *st,
           const char *data, const char *stream)
{
    json_t *ev = json_object();
    char when[40];

    now_rfc3339(when, sizeof(when));
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "time", json_string(when));
    if (st == NULL) { /* build.done */
        json_object_set_new(ev, "elapsed_ms", json_integer(ms(progress_now() - s->start)));
        json_object_set_new(ev, "ok", json_boolean(data == NULL));
        set_str(ev, "error", data);
    } else {
        step_fields(ev, st);
        if (st->title != NULL && st->state == PSTEP_RUNNING && data == NULL)
            set_str(ev, "name", st->title);
        if (data != NULL) {
            json_object_set_new(ev, "stream", json_string(stream));
            json_object_set_new(ev, "data", utf8_string(data));
        }
        if (st->state != PSTEP_RUNNING) {
            json_object_set_new(ev, "elapsed_ms", json_integer(ms(st->end - st->start)));
            set_str(ev, "digest", st->digest);
            set_str(ev, "reason", st->reason);
        }
        if (st->state == PSTEP_ERROR) {
            set_str(ev, "error", st->error);
            if (st->exit_code >= 0)
                json_object_set_new(ev, "exit_code", json_integer(st->exit_code));
        }
    }
    char *text = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(ev);
    if (text != NULL)
        fprintf(stderr, "%s\n", text);
    fflush(stderr);
    free(text);
}

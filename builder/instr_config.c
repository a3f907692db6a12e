/* SPDX-License-Identifier: Apache-2.0 */
/* Instructions that change only the image config (an empty-layer history entry each), and
 * WORKDIR, which also creates its directory. History texts follow BuildKit's, so images
 * compare field by field. */
#include "steps.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

static json_t *
strv_to_json(char *const *v)
{
    json_t *a = json_array();

    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* Go's fmt %q of a []string: ["a" "b c"], used in BuildKit's history texts. */
static void
append_go_quoted(struct lade_buf *b, char *const *v)
{
    lade_buf_appendc(b, '[');
    for (size_t i = 0; v && v[i]; i++) {
        json_t *s = json_string(v[i]);
        char *q = json_dumps(s, JSON_ENCODE_ANY);
        lade_buf_appendf(b, "%s%s", i ? " " : "", q ? q : "\"\"");
        free(q);
        json_decref(s);
    }
    lade_buf_appendc(b, ']');
}

static char **
shell_of(json_t *config)
{
    json_t *sh = json_object_get(oci_config_container(config), "Shell");
    char **v = NULL;
    size_t i;
    json_t *e;

    if (json_is_array(sh) && json_array_size(sh) > 0) {
        json_array_foreach(sh, i, e) v = strv_push(v, json_string_value(e) ?: "");
        return v;
    }
    v = strv_push(v, "/bin/sh");
    return strv_push(v, "-c");
}

char **
shell_command(json_t *config, const char *text)
{
    return strv_push(shell_of(config), text);
}

char **
instr_command(json_t *config, const struct instr *in)
{
    if (in->json)
        return strv_dup(in->args);
    return shell_command(config, in->nargs ? in->args[0] : "");
}

/* ENV key=value: one entry of the config's Env replaced or appended, and the index with it. */
static void
stage_env_set(struct stage_state *ss, const char *key, const char *value)
{
    json_t *c = oci_config_container(ss->config);
    json_t *env = json_object_get(c, "Env");

    stage_env(ss);
    if (!json_is_array(env)) {
        json_object_set_new(c, "Env", env = json_array());
        ss->env_json = env;
    }
    envmap_set(stage_vars(ss), key, value);
    size_t i = envmap_set(&ss->env, key, value);
    json_t *s = json_string(ss->env.v[i]);
    int rc =
        i < json_array_size(env) ? json_array_set_new(env, i, s) : json_array_append_new(env, s);
    if (rc < 0) {
        /* not UTF-8 (a --build-arg's bytes): JSON cannot hold it, the entry is dropped */
        json_array_remove(env, i);
        ss->env_json = NULL;
    }
}

char **
stage_run_env(struct stage_state *ss)
{
    struct envmap v = {0};

    envmap_copy(&v, stage_vars(ss));
    if (envmap_get(&v, "PATH") == NULL)
        envmap_set(&v, "PATH", DEFAULT_PATH);
    return envmap_steal(&v);
}

/* An instruction's values are counted from what the stage's ENV and ARGs hold, and checked
 * as each is known: a line of $BIG references, or values doubling at every line, fail there
 * instead of taking all memory. */
static size_t
stage_vars_size(struct stage_state *ss)
{
    return stage_vars(ss)->bytes + ss->args.bytes;
}

static int
check_values_size(size_t total, struct lade_error *err)
{
    if (total <= EXPAND_MAX_ENV)
        return 0;
    return lade_error_set(err, LADE_ERR_PARSE,
                          "values exceed %u MiB together with the stage's ENV and ARGs",
                          EXPAND_MAX_ENV >> 20);
}

static int
expand(struct build *b, struct stage_state *ss, const char *word, char **out,
       struct lade_error *err)
{
    struct expander x;

    stage_expander(ss, b->plan->df, &x);
    return expand_word(&x, word, out, err);
}

static json_t *
config_object(struct stage_state *ss, const char *key)
{
    json_t *c = oci_config_container(ss->config);
    json_t *o = json_object_get(c, key);

    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(c, key, o);
    }
    return o;
}

/* ENV and LABEL: name/value/sep triplets; all are expanded before any is set, as docker does
 * (ENV a=1 b=$a sees the old a). */
static int
key_values(struct build *b, struct stage_state *ss, const struct instr *in, bool env,
           struct lade_error *err)
{
    size_t n = in->nargs / 3;
    char **keys = xcalloc(n + 1, sizeof(char *)), **vals = xcalloc(n + 1, sizeof(char *));
    struct lade_buf hist = LADE_BUF_INIT;
    size_t total = stage_vars_size(ss);
    int rc = -1;

    lade_buf_appends(&hist, env ? "ENV" : "LABEL");
    for (size_t i = 0; i < n; i++) {
        if (expand(b, ss, in->args[3 * i], &keys[i], err) < 0 ||
            expand(b, ss, in->args[3 * i + 1], &vals[i], err) < 0)
            goto out;
        total += strlen(keys[i]) + strlen(vals[i]) + 1;
        if (check_values_size(total, err) < 0)
            goto out;
        if (keys[i][0] == '\0') {
            lade_error_set(err, LADE_ERR_PARSE, "%s names must not be empty", in->keyword);
            goto out;
        }
        lade_buf_appendf(&hist, " %s=%s", keys[i], vals[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (env)
            stage_env_set(ss, keys[i], vals[i]);
        else
            json_object_set_new(config_object(ss, "Labels"), keys[i], json_string(vals[i]));
    }
    stage_add_history(b, ss, hist.data, true);
    rc = 0;
out:
    strv_free(keys);
    strv_free(vals);
    lade_buf_release(&hist);
    return rc;
}

static int
step_arg(struct build *b, struct stage_state *ss, const struct instr *in, struct lade_error *err)
{
    struct lade_buf hist = LADE_BUF_INIT;
    size_t total = stage_vars_size(ss);

    lade_buf_appends(&hist, "ARG");
    for (size_t i = 0; i < in->nargs; i++) {
        cleanup_free char *word = NULL;
        if (expand(b, ss, in->args[i], &word, err) < 0) {
            lade_buf_release(&hist);
            return -1;
        }
        char *eq = strchr(word, '=');
        cleanup_free char *key = eq ? xstrndup(word, (size_t) (eq - word)) : xstrdup(word);
        /* --build-arg, else the default, else the global (meta) value. */
        const char *val = strv_env_get(b->plan->build_args, key);
        if (val == NULL)
            val = eq ? eq + 1 : plan_meta_arg(b->plan, key);
        total += strlen(key) + (val ? strlen(val) + 1 : 0);
        if (check_values_size(total, err) < 0) {
            lade_buf_release(&hist);
            return -1;
        }
        if (val != NULL) {
            envmap_set(&ss->args, key, val);
            envmap_set(stage_vars(ss), key, val);
        }
        if (envmap_find(&ss->arg_names, key) < 0)
            envmap_set(&ss->arg_names, key, NULL);
        if (val != NULL)
            lade_buf_appendf(&hist, " %s=%s", key, val);
        else
            lade_buf_appendf(&hist, " %s", key);
    }
    stage_add_history(b, ss, hist.data, true);
    lade_buf_release(&hist);
    return 0;
}

static int
set_command(struct build *b, struct stage_state *ss, const struct instr *in, const char *key)
{
    char **cmd = instr_command(ss->config, in);
    json_t *c = oci_config_container(ss->config);
    struct lade_buf hist = LADE_BUF_INIT;

    json_object_set_new(c, key, strv_to_json(cmd));
    if (strcmp(key, "Cmd") == 0) {
        ss->cmd_set = true;
        /* BuildKit sets it for every CMD, on Linux too, for docker's image spec. */
        json_object_set_new(c, "ArgsEscaped", json_true());
    } else if (!ss->cmd_set)
        json_object_del(c, "Cmd"); /* ENTRYPOINT drops an inherited CMD, as docker does */
    lade_buf_appendf(&hist, "%s ", strcmp(key, "Cmd") == 0 ? "CMD" : "ENTRYPOINT");
    append_go_quoted(&hist, cmd);
    stage_add_history(b, ss, hist.data, true);
    lade_buf_release(&hist);
    strv_free(cmd);
    return 0;
}

static int
set_volumes(struct build *b, struct stage_state *ss, const struct instr *in, struct lade_error *err)
{
    json_t *o = config_object(ss, "Volumes");
    struct lade_buf hist = LADE_BUF_INIT;
    size_t total = stage_vars_size(ss);

    lade_buf_appends(&hist, "VOLUME [");
    for (size_t i = 0; i < in->nargs; i++) {
        cleanup_free char *w = NULL;
        if (expand(b, ss, in->args[i], &w, err) < 0 ||
            check_values_size(total + strlen(w), err) < 0) {
            lade_buf_release(&hist);
            return -1;
        }
        total += strlen(w);
        if (w[0] == '\0') {
            lade_buf_release(&hist);
            return lade_error_set(err, LADE_ERR_PARSE,
                                  "VOLUME specified can not be an empty string");
        }
        json_object_set_new(o, w, json_object());
        lade_buf_appendf(&hist, "%s%s", i ? " " : "", w);
    }
    lade_buf_appendc(&hist, ']');
    stage_add_history(b, ss, hist.data, true);
    lade_buf_release(&hist);
    return 0;
}

static int
set_string(struct build *b, struct stage_state *ss, const struct instr *in, const char *key,
           const char *name, struct lade_error *err)
{
    cleanup_free char *v = NULL;
    cleanup_free char *hist = NULL;

    if (in->nargs < 1)
        return lade_error_set(err, LADE_ERR_PARSE, "%s requires exactly one argument", name);
    if (expand(b, ss, in->args[0], &v, err) < 0)
        return -1;
    json_object_set_new(oci_config_container(ss->config), key, json_string(v));
    hist = xasprintf("%s %s", name, v);
    stage_add_history(b, ss, hist, true);
    return 0;
}

static int
step_onbuild(struct build *b, struct stage_state *ss, const struct instr *in)
{
    const char *expr = in->original;
    json_t *c = oci_config_container(ss->config);
    json_t *ob = json_object_get(c, "OnBuild");

    /* The trigger is the line after the ONBUILD keyword, kept as written. */
    expr += strspn(expr, " \t");
    expr += strcspn(expr, " \t");
    expr += strspn(expr, " \t");
    if (!json_is_array(ob))
        json_object_set_new(c, "OnBuild", ob = json_array());
    json_array_append_new(ob, json_string(expr));
    (void) b; /* BuildKit writes no history entry for ONBUILD */
    return 0;
}

int
step_config(struct build *b, struct stage_state *ss, const struct instr *in, struct lade_error *err)
{
    switch (in->kind) {
    case INSTR_ENV:
        return key_values(b, ss, in, true, err);
    case INSTR_LABEL:
        return key_values(b, ss, in, false, err);
    case INSTR_ARG:
        return step_arg(b, ss, in, err);
    case INSTR_CMD:
        return set_command(b, ss, in, "Cmd");
    case INSTR_ENTRYPOINT:
        return set_command(b, ss, in, "Entrypoint");
    case INSTR_EXPOSE:
        return step_expose(b, ss, in, err);
    case INSTR_VOLUME:
        return set_volumes(b, ss, in, err);
    case INSTR_USER:
        return set_string(b, ss, in, "User", "USER", err);
    case INSTR_STOPSIGNAL:
        return set_string(b, ss, in, "StopSignal", "STOPSIGNAL", err);
    case INSTR_SHELL: {
        if (!in->json || in->nargs == 0)
            return lade_error_set(err, LADE_ERR_PARSE,
                                  "SHELL requires the arguments to be in "
                                  "JSON form");
        char **v = instr_command(ss->config, in);
        struct lade_buf hist = LADE_BUF_INIT;
        json_object_set_new(oci_config_container(ss->config), "Shell", strv_to_json(v));
        lade_buf_appends(&hist, "SHELL [");
        for (size_t i = 0; v[i]; i++)
            lade_buf_appendf(&hist, "%s%s", i ? " " : "", v[i]);
        lade_buf_appendc(&hist, ']');
        stage_add_history(b, ss, hist.data, true);
        lade_buf_release(&hist);
        strv_free(v);
        return 0;
    }
    case INSTR_ONBUILD:
        return step_onbuild(b, ss, in);
    case INSTR_MAINTAINER: {
        cleanup_free char *hist = xasprintf("MAINTAINER %s", in->nargs ? in->args[0] : "");
        json_object_set_new(ss->config, "author", json_string(in->nargs ? in->args[0] : ""));
        stage_add_history(b, ss, hist, true);
        return 0;
    }
    case INSTR_UNKNOWN:
    case INSTR_FROM:
    case INSTR_RUN:
    case INSTR_COPY:
    case INSTR_ADD:
    case INSTR_WORKDIR:
    case INSTR_HEALTHCHECK:
        break;
    }
    return lade_error_set(err, LADE_ERR_OTHER, "internal: %s is not a config instruction",
                          in->keyword);
}

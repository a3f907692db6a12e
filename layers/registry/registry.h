/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The registry client: the OCI distribution spec over libcurl (pull, push, login), with docker's
 * auth (Bearer and Basic challenges), credentials ($DOCKER_CONFIG/config.json, credsStore,
 * credHelpers) and transport rules (plain HTTP for loopback and --insecure-registry hosts,
 * /etc/docker/certs.d/HOST[:PORT]/ca.crt, proxies from the environment).
 *
 * Errors: LADE_ERR_NET (5) for network and registry failures after the retries, LADE_ERR_AUTH (6)
 * when credentials are refused or missing, with the registry's own error message in the text.
 * No password or token ever appears in an error, a log line or a process title.
 *
 * The functions here are level 6, the top of the client (pull.c, push.c, login.c; the levels:
 * registry-internal.h); no other file of layers/registry calls them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../layers.h"
#include "../oci/oci.h"
#include "../store/store.h"

/* Progress of one blob (or a note), reported from whichever thread moves it; the callback must
 * be thread-safe. Pointers are valid during the call only. */
enum registry_event_kind {
    REG_EV_START,   /* a blob transfer begins (total = size, 0 when unknown) */
    REG_EV_BYTES,   /* done bytes so far of total */
    REG_EV_EXISTS,  /* the blob is there already: nothing moved */
    REG_EV_MOUNTED, /* push: mounted from another repository of the same registry */
    REG_EV_DONE,    /* the blob is complete (verified on pull) */
    REG_EV_RETRY,   /* a request failed and is retried; text says why and when */
    REG_EV_NOTE,    /* a line of text: "resolving docker.io/library/app:1", "pushing manifest" */
};
struct registry_event {
    enum registry_event_kind kind;
    const char *digest; /* the blob, NULL for notes */
    uint64_t done, total;
    const char *text;
};
typedef void (*registry_progress_fn)(void *ctx, const struct registry_event *ev);

struct registry_opts {
    int retries;                 /* retries after the first attempt; < 0: the default (3) */
    const char *const *insecure; /* --insecure-registry hosts ("host" or "host:port") */
    size_t ninsecure;
    const char *docker_config; /* directory of config.json; NULL: $DOCKER_CONFIG, ~/.docker */
    const char *certs_dir;     /* NULL: /etc/docker/certs.d */
    const char *platform;      /* "os/arch[/variant]"; NULL: the host's ("linux/amd64") */
    unsigned parallel;         /* concurrent blob transfers; 0: the default (4) */
    /* pull: fetch this manifest (or index) digest instead of resolving the reference's tag (one
     * whose signature was verified), still stored under the reference's name; NULL: none */
    const char *pin_digest;
    registry_progress_fn progress;
    void *progress_ctx;
};

/* Pulls ref (a normalised reference; a tag or a digest) into the store: resolves the manifest
 * (an index or manifest list selects opts->platform), downloads the config and the layers the
 * store lacks, in parallel, each verified against its digest and size while it streams into
 * tmp/ (a mismatch is an error naming the digest), commits them once all are verified (a
 * failed pull leaves the store unchanged), stores the manifest last and tags it with
 * image_ref_string(ref) ("host/path@sha256:..." for a digest reference: the name lookups by
 * NAME@DIGEST find). *manifest_out (may be NULL) receives the platform manifest's descriptor. */
int registry_pull(struct store *st, const struct image_ref *ref, const struct registry_opts *opts,
                  struct oci_desc *manifest_out, struct lade_error *err);

/* Fetches the manifest ref names (a tag or digest; an index is refused) whose config has the
 * media type config_type (anything else is an error naming what it is), and stores the manifest
 * and that config blob, untagged, verified as registry_pull verifies. The layers stay in the
 * registry: registry_blobs_fetch gets the ones needed. */
int registry_artifact_pull(struct store *st, const struct image_ref *ref, const char *config_type,
                           const struct registry_opts *opts, struct oci_desc *manifest_out,
                           struct lade_error *err);
/* Downloads the blobs (of ref's repository) that the store lacks, in parallel, each verified;
 * all are committed once all arrived. */
int registry_blobs_fetch(struct store *st, const struct image_ref *ref,
                         const struct oci_desc *blobs, size_t n, const struct registry_opts *opts,
                         struct lade_error *err);

/* Pushes the image whose manifest is `manifest` (in the store) to dest: for each blob a HEAD
 * first, a cross-repository mount when the blob is known in another repository of that
 * registry (recorded in the store), else a monolithic upload for small blobs and chunked
 * PATCHes (resumed from the registry's offset after a failure) for large ones; then the manifest
 * PUT with its media type, to dest's tag (or digest). *pushed_out (may be NULL) receives the
 * manifest digest. */
int registry_push(struct store *st, const struct oci_desc *manifest, const struct image_ref *dest,
                  const struct registry_opts *opts, digest_t pushed_out, struct lade_error *err);

/* The registry host of what a user typed for login/logout: "docker.io" for "", "docker.io",
 * "index.docker.io" and "https://index.docker.io/v1/"; otherwise the host[:port] with any
 * scheme and path removed. Caller frees; NULL with err set when malformed. */
char *registry_server_name(const char *server, struct lade_error *err);

/* Checks user/password against the registry (a /v2/ request answering its challenge; refused:
 * LADE_ERR_AUTH with the registry's message), then saves them as docker does: to the
 * credHelpers/credsStore helper when configured, else base64 in config.json "auths" (file mode
 * 0600, written atomically, other fields kept). */
int registry_login(const char *server, const char *user, const char *password,
                   const struct registry_opts *opts, struct lade_error *err);
/* Removes the saved credentials of server (from its helper or from "auths"); an error when there
 * were none. */
int registry_logout(const char *server, const struct registry_opts *opts, struct lade_error *err);

/* A plain HTTP(S) download (ADD of a URL, a remote build context), with the registries'
 * transport rules: proxies from the environment, the system CAs plus certs.d/HOST[:PORT]/,
 * redirects followed, retries on network failures, 5xx and 429 (opts->retries). No credentials
 * are ever sent. if_none_match (an ETag, or NULL) asks for a revalidation: *status is 304 when
 * the server says the copy is current. A 2xx body goes to sink (sink_reset, may be NULL, starts
 * it over before a retry). Any other status is an error (LADE_ERR_NET) naming the status and
 * the URL. *etag and *last_modified (caller frees; NULL when absent) are the response's. */
struct url_get {
    const char *url;
    const char *if_none_match;
    int (*sink)(void *ctx, const void *data, size_t n, struct lade_error *err);
    int (*sink_reset)(void *ctx, struct lade_error *err);
    void *sink_ctx;
};
struct url_got {
    long status;
    char *etag, *last_modified;
};
int registry_url_get(const struct url_get *rq, const struct registry_opts *opts,
                     struct url_got *out, struct lade_error *err);
void url_got_release(struct url_got *g);

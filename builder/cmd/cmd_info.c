/* SPDX-License-Identifier: Apache-2.0 */
/* lade info: what this host can build: its native platform, the platforms RUN can execute
 * under emulation (binfmt_misc entries with the fix-binary flag), then how builds are
 * isolated. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../binfmt.h"
#include "../common/cleanup.h"
#include "../sandbox/isolation.h"

static void
print_platforms(void)
{
    struct oci_platform host;
    size_t n, shown = 0;
    const struct binfmt_arch *arches = binfmt_arches(&n);
    char plat[96];

    oci_platform_parse(NULL, &host, NULL);
    oci_platform_format(&host, plat, sizeof(plat));
    printf("platform: %s\n", plat);
    for (size_t i = 0; i < n; i++) {
        struct binfmt_entry e;
        if (strcmp(arches[i].arch, host.arch) == 0 || binfmt_find(&arches[i], &e) != 1)
            continue;
        /* arm's platform is named with its default variant, as --platform linux/arm gives it */
        snprintf(plat, sizeof(plat), "linux/%s%s", arches[i].arch,
                 strcmp(arches[i].arch, "arm") == 0 ? "/v7" : "");
        /* only an enabled entry with F works inside the build's root */
        if (e.enabled && e.fix_binary) {
            printf("emulated: %s (%s: %s)\n", plat, e.name, e.interpreter);
            shown++;
        } else {
            printf("not usable: %s (%s: %s%s)\n", plat, e.name,
                   e.enabled ? "registered without the F flag" : "disabled",
                   e.enabled ? ": 'lade setup binfmt' after removing it" : "");
        }
    }
    if (shown == 0)
        printf("emulated: none (as root: 'lade setup binfmt', with qemu-user-static installed)\n");
}

/* The tier a build takes here (--isolation auto) and, for each tier, why it is or is not
 * available to this user on this host. */
static void
print_isolation(void)
{
    struct isolation_probe p[3];
    enum isolation chosen = ISOLATION_AUTO;

    for (enum isolation t = ISOLATION_NAMESPACES; t <= ISOLATION_CHROOT; t++) {
        isolation_probe(t, &p[t - 1]);
        if (p[t - 1].ok && chosen == ISOLATION_AUTO)
            chosen = t;
    }
    printf("isolation: %s\n", chosen == ISOLATION_AUTO ? "none available" : isolation_name(chosen));
    for (enum isolation t = ISOLATION_NAMESPACES; t <= ISOLATION_CHROOT; t++) {
        const struct isolation_probe *q = &p[t - 1];
        printf("  %s: %s%s\n", isolation_name(t),
               q->ok ? "available" : "not available: ", q->ok ? "" : q->why);
        if (q->note[0] != '\0')
            printf("  %s: note: %s\n", isolation_name(t), q->note);
    }
}

static int
cmd_info(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct cli_args a;
    int c;

    (void) cli;
    cli_args_init(&a, &info_command, argc, argv);
    if ((c = cli_end(&a, cli_next(&a, err), 0, 0, err)) != 0)
        return c > 0 ? 0 : -1;
    print_platforms();
    print_isolation();
    return 0;
}

const struct cli_command info_command = {
    .name = "info",
    .synopsis = "",
    .summary = "Show this host's platform, the emulated platforms and the isolation",
    .description = "The platforms RUN can execute: the host's, and those binfmt_misc runs through\n"
                   "an emulator registered with the fix-binary flag (see lade setup binfmt), then\n"
                   "the isolation tier a build takes here (--isolation auto) and why each\n"
                   "better one is not available.",
    .run = cmd_info,
};

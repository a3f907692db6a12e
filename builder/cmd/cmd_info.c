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
#include "../sandbox/rootless.h"

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
    /* ---- isolation: one line per tier lade can use on this host ---- */
    char why[1024];
    if (geteuid() == 0)
        printf("isolation: namespaces (root)\n");
    else if (isolation_rootless_available(why, sizeof(why)))
        printf("isolation: rootless (a user namespace with this user's subordinate ids)\n");
    else
        printf("isolation: rootless is not available: %s\n", why);
    return 0;
}

const struct cli_command info_command = {
    .name = "info",
    .synopsis = "",
    .summary = "Show this host's platform, the emulated platforms and the isolation",
    .description = "The platforms RUN can execute: the host's, and those binfmt_misc runs through\n"
                   "an emulator registered with the fix-binary flag (see lade setup binfmt).",
    .run = cmd_info,
};

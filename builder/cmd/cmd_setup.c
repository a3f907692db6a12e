/* SPDX-License-Identifier: Apache-2.0 */
/* lade setup binfmt: registers Debian's qemu-user-static interpreters in binfmt_misc for the
 * foreign architectures lade knows (binfmt.h), with the fix-binary flag so RUN finds them inside
 * the build's root. Root only: binfmt_misc is the host's. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../binfmt.h"
#include "../common/cleanup.h"

static int
setup_binfmt(struct lade_error *err)
{
    struct oci_platform host;
    size_t n, registered = 0, missing = 0, foreign = 0;
    const struct binfmt_arch *arches = binfmt_arches(&n);

    if (geteuid() != 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "setup binfmt: must run as root (binfmt_misc is the host's)");
    if (binfmt_mount(err) < 0)
        return -1;
    oci_platform_parse(NULL, &host, NULL);
    for (size_t i = 0; i < n; i++) {
        const struct binfmt_arch *a = &arches[i];
        struct binfmt_entry e;
        if (strcmp(a->arch, host.arch) == 0)
            continue;
        foreign++;
        cleanup_free char *qemu = binfmt_qemu_path(a);
        if (qemu == NULL) {
            missing++;
            continue;
        }
        if (binfmt_find(a, &e) == 1 && e.enabled) {
            printf("%s: %s (%s) %s\n", a->arch, e.name, e.interpreter,
                   e.fix_binary ? "registered already"
                                : "registered without the F flag, left alone: remove it and "
                                  "run this again");
            continue;
        }
        if (binfmt_register(a, qemu, err) < 0)
            return -1;
        printf("%s: registered %s with flag F\n", a->arch, qemu);
        registered++;
    }
    if (registered == 0 && missing == foreign)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "setup binfmt: no /usr/bin/qemu-*-static found: install Debian's "
                              "qemu-user-static");
    return 0;
}

static int
cmd_setup(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct cli_args a;
    int c;

    (void) cli;
    cli_args_init(&a, &setup_command, argc, argv);
    if ((c = cli_end(&a, cli_next(&a, err), 1, 1, err)) != 0)
        return c > 0 ? 0 : -1;
    if (strcmp(a.operands[0], "binfmt") != 0)
        return lade_error_set(err, LADE_ERR_USAGE, "setup: unknown item '%s' (binfmt)",
                              a.operands[0]);
    return setup_binfmt(err);
}

const struct cli_command setup_command = {
    .name = "setup",
    .synopsis = "binfmt",
    .summary = "Register qemu-user-static in binfmt_misc for foreign RUN (root)",
    .description = "Registers the installed /usr/bin/qemu-ARCH-static interpreters of Debian's\n"
                   "qemu-user-static for arm64, arm, ppc64le, s390x and riscv64 (amd64 on other\n"
                   "hosts) with the fix-binary flag (F), mounting binfmt_misc when absent.",
    .run = cmd_setup,
};

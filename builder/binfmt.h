/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Foreign platforms through QEMU user emulation: the kernel's binfmt_misc runs an ELF binary
 * of another architecture with the interpreter registered for its header. RUN in the sandbox
 * needs the fix-binary flag (F): the kernel opens the interpreter when it is registered, so it
 * works after pivot_root into a rootfs that has no qemu
 * (Documentation/admin-guide/binfmt-misc.rst). */

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "../layers/oci/oci.h"

#define BINFMT_DIR "/proc/sys/fs/binfmt_misc"
#define BINFMT_HEADER 20 /* the ELF header bytes matched: up to e_machine */

/* An architecture lade knows how to emulate: what its ELF executables say in their header
 * (class, byte order, e_machine from the ELF specification) and the name of its qemu
 * (qemu-NAME-static). */
struct binfmt_arch {
    const char *arch;        /* OCI architecture: "arm64" */
    const char *qemu;        /* "aarch64" */
    unsigned char elf_class; /* 1: 32-bit, 2: 64-bit */
    unsigned char elf_data;  /* 1: little-endian, 2: big-endian */
    unsigned short machine;  /* e_machine */
};
/* The header bytes binfmt_misc matches (magic) and which bits of them count (mask): any
 * OS/ABI, and e_type ET_EXEC or ET_DYN (2 or 3: the mask drops the low bit). */
void binfmt_header(const struct binfmt_arch *a, unsigned char magic[BINFMT_HEADER],
                   unsigned char mask[BINFMT_HEADER]);
/* Every architecture of the table (n set). */
const struct binfmt_arch *binfmt_arches(size_t *n);
/* The table's entry for p's architecture, or NULL. */
const struct binfmt_arch *binfmt_arch_find(const struct oci_platform *p);

/* A registered binfmt_misc entry that matches an architecture's ELF header. */
struct binfmt_entry {
    char name[64];
    char interpreter[256];
    bool enabled;
    bool fix_binary; /* flag F */
};
/* The entry that would run a's binaries (enabled ones first), found by reading every entry's
 * magic and mask: 1 found, 0 none (or binfmt_misc not mounted). */
int binfmt_find(const struct binfmt_arch *a, struct binfmt_entry *out);
/* True when RUN for p can execute: an enabled entry with F for its architecture. */
bool binfmt_can_run(const struct oci_platform *p);
/* The end of the missing-emulator error: how to fix it (a static string). */
const char *binfmt_fix_hint(const struct oci_platform *p);

/* The path of qemu-NAME-static when installed (Debian's qemu-user-static), else NULL; caller
 * frees. */
char *binfmt_qemu_path(const struct binfmt_arch *a);
/* Mounts binfmt_misc on BINFMT_DIR when its register file is missing (root). */
int binfmt_mount(struct lade_error *err);
/* Registers interpreter for a as "qemu-NAME" with flags F (root); EEXIST is an error naming
 * the entry in the way. */
int binfmt_register(const struct binfmt_arch *a, const char *interpreter, struct lade_error *err);

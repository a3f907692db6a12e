/* SPDX-License-Identifier: Apache-2.0 */
/* binfmt_misc: which foreign architectures have an emulator registered, and registering
 * Debian's qemu-user-static binaries for them (lade setup binfmt). The register string's format
 * is the kernel's (Documentation/admin-guide/binfmt-misc.rst):
 *   :name:type:offset:magic:mask:interpreter:flags
 * with type M (match magic bytes at offset), magic and mask hex-escaped ("\x7f"), so a ':' in
 * them never ends a field. */
#include "binfmt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

/* e_machine values: EM_AARCH64 183, EM_ARM 40, EM_X86_64 62, EM_PPC64 21, EM_S390 22,
 * EM_RISCV 243. 386 is left out: an amd64 kernel usually runs it natively, and registering
 * qemu for it would take every 32-bit x86 binary of the host. */
static const struct binfmt_arch arches[] = {
    {"arm64", "aarch64", 2, 1, 183}, {"arm", "arm", 1, 1, 40},
    {"amd64", "x86_64", 2, 1, 62},   {"ppc64le", "ppc64le", 2, 1, 21},
    {"s390x", "s390x", 2, 2, 22},    {"riscv64", "riscv64", 2, 1, 243},
};

const struct binfmt_arch *
binfmt_arches(size_t *n)
{
    *n = sizeof(arches) / sizeof(arches[0]);
    return arches;
}

const struct binfmt_arch *
binfmt_arch_find(const struct oci_platform *p)
{
    for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
        if (strcmp(p->os, "linux") == 0 && strcmp(p->arch, arches[i].arch) == 0)
            return &arches[i];
    return NULL;
}

void
binfmt_header(const struct binfmt_arch *a, unsigned char magic[BINFMT_HEADER],
              unsigned char mask[BINFMT_HEADER])
{
    bool le = a->elf_data == 1;

    memset(magic, 0, BINFMT_HEADER);
    memset(mask, 0xff, BINFMT_HEADER);
    memcpy(magic,
           "\x7f"
           "ELF",
           4);
    magic[4] = a->elf_class;
    magic[5] = a->elf_data;
    magic[6] = 1;            /* EV_CURRENT */
    mask[7] = 0;             /* EI_OSABI: SYSV and GNU/Linux binaries alike */
    magic[le ? 16 : 17] = 2; /* e_type ET_EXEC; the mask lets ET_DYN (3) match too */
    mask[le ? 16 : 17] = 0xfe;
    magic[le ? 18 : 19] = (unsigned char) (a->machine & 0xff);
    magic[le ? 19 : 18] = (unsigned char) (a->machine >> 8);
}

/* "7f454c46..." (as the entry files show magic and mask) into bytes; the count. */
static size_t
unhex(const char *s, unsigned char *out, size_t max)
{
    size_t n = 0;
    unsigned int v;

    while (n < max && sscanf(s, "%2x", &v) == 1 && s[0] && s[1]) {
        out[n++] = (unsigned char) v;
        s += 2;
    }
    return n;
}

/* Reads entry name; true when it is a magic entry at offset 0 that matches a's header. */
static bool
entry_matches(int dirfd, const char *name, const struct binfmt_arch *a, struct binfmt_entry *out)
{
    unsigned char want[BINFMT_HEADER], wmask[BINFMT_HEADER], magic[128], mask[128];
    cleanup_free char *text = NULL;
    struct lade_error ignored = {0};
    size_t len = 0, nmagic = 0, nmask = 0;
    long offset = -1;

    if (read_file_at(dirfd, name, 1 << 16, &text, &len, &ignored) < 0)
        return false;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%.63s", name);
    for (char *line = text, *nl; line != NULL && *line; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n')) != NULL)
            *nl = '\0';
        if (strcmp(line, "enabled") == 0)
            out->enabled = true;
        else if (strncmp(line, "interpreter ", 12) == 0)
            snprintf(out->interpreter, sizeof(out->interpreter), "%s", line + 12);
        else if (strncmp(line, "flags: ", 7) == 0)
            out->fix_binary = strchr(line + 7, 'F') != NULL;
        else if (strncmp(line, "offset ", 7) == 0)
            offset = strtol(line + 7, NULL, 10);
        else if (strncmp(line, "magic ", 6) == 0)
            nmagic = unhex(line + 6, magic, sizeof(magic));
        else if (strncmp(line, "mask ", 5) == 0)
            nmask = unhex(line + 5, mask, sizeof(mask));
    }
    if (offset != 0 || nmagic == 0 || nmagic > BINFMT_HEADER)
        return false;
    binfmt_header(a, want, wmask);
    for (size_t i = 0; i < nmagic; i++) {
        unsigned char m = i < nmask ? mask[i] : 0xff;
        /* an executable of a (want, with its e_type) must match the entry's bytes */
        if ((want[i] & m) != (magic[i] & m))
            return false;
    }
    return true;
}

int
binfmt_find(const struct binfmt_arch *a, struct binfmt_entry *out)
{
    cleanup_close int fd = open(BINFMT_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct binfmt_entry e;
    int found = 0;

    if (fd < 0)
        return 0;
    DIR *d = fdopendir(dup(fd));
    if (d == NULL)
        return 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "register") == 0 ||
            strcmp(de->d_name, "status") == 0 || !entry_matches(fd, de->d_name, a, &e))
            continue;
        /* the kernel tries entries newest first; an enabled one with F is what RUN needs */
        if (!found || (e.enabled && (!out->enabled || (e.fix_binary && !out->fix_binary)))) {
            *out = e;
            found = 1;
        }
    }
    closedir(d);
    return found;
}

bool
binfmt_can_run(const struct oci_platform *p)
{
    const struct binfmt_arch *a = binfmt_arch_find(p);
    struct binfmt_entry e;

    return a != NULL && binfmt_find(a, &e) == 1 && e.enabled && e.fix_binary;
}

const char *
binfmt_fix_hint(const struct oci_platform *p)
{
    const struct binfmt_arch *a = binfmt_arch_find(p);
    struct binfmt_entry e;

    if (a == NULL)
        return " (lade knows no emulator for this architecture; 'lade info' lists the emulated "
               "platforms)";
    if (binfmt_find(a, &e) == 1 && e.enabled && !e.fix_binary)
        return " (an entry is registered without F, so its interpreter is not found inside the "
               "build's root: remove it and run 'lade setup binfmt' as root)";
    cleanup_free char *qemu = binfmt_qemu_path(a);
    if (qemu == NULL)
        return " (install Debian's qemu-user-static, then run 'lade setup binfmt' as root)";
    return " (run 'lade setup binfmt' as root to register qemu-user-static)";
}

char *
binfmt_qemu_path(const struct binfmt_arch *a)
{
    char *path = xasprintf("/usr/bin/qemu-%s-static", a->qemu);

    if (access(path, X_OK) == 0)
        return path;
    free(path);
    return NULL;
}

int
binfmt_mount(struct lade_error *err)
{
    if (access(BINFMT_DIR "/register", F_OK) == 0)
        return 0;
    if (mount("binfmt_misc", BINFMT_DIR, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return lade_error_sys(err, "cannot mount binfmt_misc on %s", BINFMT_DIR);
    return 0;
}

int
binfmt_register(const struct binfmt_arch *a, const char *interpreter, struct lade_error *err)
{
    unsigned char magic[BINFMT_HEADER], mask[BINFMT_HEADER];
    struct lade_buf line = LADE_BUF_INIT;
    cleanup_close int fd = -1;
    int rc = 0;

    binfmt_header(a, magic, mask);
    lade_buf_appendf(&line, ":qemu-%s:M:0:", a->qemu);
    for (size_t i = 0; i < BINFMT_HEADER; i++)
        lade_buf_appendf(&line, "\\x%02x", magic[i]);
    lade_buf_appends(&line, ":");
    for (size_t i = 0; i < BINFMT_HEADER; i++)
        lade_buf_appendf(&line, "\\x%02x", mask[i]);
    /* F: the kernel opens the interpreter now, so it runs inside any mount namespace and root */
    lade_buf_appendf(&line, ":%s:F", interpreter);
    fd = open(BINFMT_DIR "/register", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        rc = lade_error_sys(err, "cannot open %s/register", BINFMT_DIR);
    else if (write(fd, line.data, line.len) != (ssize_t) line.len)
        rc = errno == EEXIST
                 ? lade_error_sys(err,
                                  "an entry named qemu-%s is registered already "
                                  "(%s/qemu-%s): remove it with 'echo -1 > %s/qemu-%s'",
                                  a->qemu, BINFMT_DIR, a->qemu, BINFMT_DIR, a->qemu)
                 : lade_error_sys(err, "cannot register %s for %s", interpreter, a->arch);
    lade_buf_release(&line);
    return rc;
}

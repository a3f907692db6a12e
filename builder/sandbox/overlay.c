/* SPDX-License-Identifier: Apache-2.0 */
/* Overlay mounts for RUN and for the builder's own COPY steps. */
#include "sandbox-internal.h"

#include <errno.h>
#include <libgen.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/buf.h"
#include "../common/cleanup.h"
#include "../common/userns.h"
#include "../common/xalloc.h"

/* Overlay's parameters that make the upper dir a complete diff (DESIGN.md "Layers"): no
 * redirect xattrs for renamed directories, no metadata-only copy-ups that leave the data
 * in a lower layer. Passed explicitly whatever the kernel's defaults. */
static const struct mnt_opt overlay_fixed_opts[] = {
    {"redirect_dir", "off"},
    {"metacopy", "off"},
};
/* The same in a user namespace (the rootless tier): trusted.* xattrs need CAP_SYS_ADMIN in the
 * initial namespace, so overlay keeps its bookkeeping in user.overlay.*; with userxattr the
 * kernel refuses redirect_dir=off (it means "follow" there) and nofollow creates none either. */
static const struct mnt_opt overlay_userns_opts[] = {
    {"userxattr", NULL},
    {"redirect_dir", "nofollow"},
    {"metacopy", "off"},
};

static unsigned long
attrs_to_msflags(unsigned attrs)
{
    unsigned long f = 0;

    if (attrs & MOUNT_ATTR_RDONLY)
        f |= MS_RDONLY;
    if (attrs & MOUNT_ATTR_NOSUID)
        f |= MS_NOSUID;
    if (attrs & MOUNT_ATTR_NODEV)
        f |= MS_NODEV;
    if (attrs & MOUNT_ATTR_NOEXEC)
        f |= MS_NOEXEC;
    return f;
}

/* lowerdir+ (one fsconfig call per layer, so no page limit) came with kernel 6.8's overlay;
 * probing it on a throw-away context has no side effect. An unknown key is EINVAL; any other
 * failure is about the path and the real mount will report it. */
static bool
overlay_has_lowerdir_plus(const char *lower)
{
    cleanup_close int fd = sys_fsopen("overlay", FSOPEN_CLOEXEC);

    if (fd < 0)
        return false;
    return sys_fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", lower, 0) == 0 || errno != EINVAL;
}

static int
overlay_new_fd(char *const *lowers, size_t nlower, const char *upper, const char *work,
               unsigned attrs, struct lade_error *err)
{
    bool userns = !userns_is_initial();
    const struct mnt_opt *fixed = userns ? overlay_userns_opts : overlay_fixed_opts;
    size_t nfixed = userns ? 3 : 2;
    cleanup_free struct mnt_opt *opts = xcalloc(nlower + nfixed + 2, sizeof(*opts));
    size_t n = 0;

    for (size_t i = 0; i < nlower; i++)
        opts[n++] = (struct mnt_opt){"lowerdir+", lowers[i]};
    if (upper != NULL) {
        opts[n++] = (struct mnt_opt){"upperdir", upper};
        opts[n++] = (struct mnt_opt){"workdir", work};
    }
    for (size_t i = 0; i < nfixed; i++)
        opts[n++] = fixed[i];
    return mnt_new("overlay", opts, n, attrs, err);
}

/* mount(2) takes all options in one page; the legacy syntax also gives ':' and ',' meaning,
 * so such paths are refused rather than escaped. */
int
overlay_legacy_options(char *const *lowers, size_t nlower, const char *upper, const char *work,
                       char **out, struct lade_error *err)
{
    struct lade_buf b;
    int rc = 0;

    lade_buf_init(&b, (size_t) sysconf(_SC_PAGESIZE) - 1);
    rc |= lade_buf_appends(&b, "lowerdir=");
    for (size_t i = 0; i < nlower; i++) {
        if (strpbrk(lowers[i], ":,\\") != NULL) {
            lade_buf_release(&b);
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "cannot mount overlay: lower dir '%s' has ':', ',' or '\\'",
                                  lowers[i]);
        }
        rc |= lade_buf_appendf(&b, "%s%s", i > 0 ? ":" : "", lowers[i]);
    }
    if (upper != NULL)
        rc |= lade_buf_appendf(&b, ",upperdir=%s,workdir=%s", upper, work);
    rc |=
        lade_buf_appends(&b, userns_is_initial() ? ",redirect_dir=off,metacopy=off"
                                                 : ",userxattr,redirect_dir=nofollow,metacopy=off");
    if (rc != 0) {
        lade_buf_release(&b);
        return lade_error_set(err, LADE_ERR_OTHER,
                              "cannot mount overlay: %zu lower dirs do not fit in one page of "
                              "mount options; this kernel lacks overlay's lowerdir+ (6.8+)",
                              nlower);
    }
    *out = lade_buf_steal(&b);
    return 0;
}

static int
overlay_mount_legacy(char *const *lowers, size_t nlower, const char *upper, const char *work,
                     const char *target, unsigned attrs, struct lade_error *err)
{
    cleanup_free char *opts = NULL;

    if (overlay_legacy_options(lowers, nlower, upper, work, &opts, err) < 0)
        return -1;
    if (mount("overlay", target, "overlay", attrs_to_msflags(attrs), opts) < 0)
        return lade_error_sys(err, "cannot mount overlay on '%s'", target);
    return 0;
}

static int
attach_at(int mnt_fd, const char *target, struct lade_error *err)
{
    if (sys_move_mount(mnt_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return lade_error_sys(err, "cannot mount on '%s'", target);
    return 0;
}

/* Read-only rootfs without an overlay: one layer is bound, none is an empty tmpfs. */
static int
readonly_simple(char *const *lowers, size_t nlower, const char *target, unsigned attrs,
                struct lade_error *err)
{
    static const struct mnt_opt tmpfs_opts[] = {{"mode", "0755"}, {"size", "4k"}};
    cleanup_close int fd = -1;

    attrs |= MOUNT_ATTR_RDONLY;
    if (nlower == 0)
        fd = mnt_new("tmpfs", tmpfs_opts, 2, attrs, err);
    else
        fd = mnt_clone(AT_FDCWD, lowers[0], attrs, false, err);
    if (fd < 0)
        return -1;
    return attach_at(fd, target, err);
}

/* Overlay needs a lower dir; a scratch stage gets dirname(workdir)/empty. */
static char *
empty_lower(const char *workdir, struct lade_error *err)
{
    cleanup_free char *copy = xstrdup(workdir);
    char *dir = xasprintf("%s/empty", dirname(copy));

    if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || chmod(dir, 0755) < 0) {
        lade_error_sys(err, "cannot create '%s'", dir);
        free(dir);
        return NULL;
    }
    return dir;
}

static int
mount_any(char *const *lowerdirs, size_t nlower, const char *upperdir, const char *workdir,
          const char *target, unsigned attrs, struct lade_error *err)
{
    cleanup_free char *empty = NULL;
    char *const *lowers = lowerdirs;

    if (upperdir == NULL && nlower < 2)
        return readonly_simple(lowerdirs, nlower, target, attrs, err);
    if (upperdir == NULL)
        attrs |= MOUNT_ATTR_RDONLY;
    else if (workdir == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "cannot mount overlay: no work dir");
    if (nlower == 0) {
        empty = empty_lower(workdir, err);
        if (empty == NULL)
            return -1;
        lowers = &empty;
        nlower = 1;
    }
    if (!overlay_has_lowerdir_plus(lowers[0]))
        return overlay_mount_legacy(lowers, nlower, upperdir, workdir, target, attrs, err);
    cleanup_close int fd = overlay_new_fd(lowers, nlower, upperdir, workdir, attrs, err);
    if (fd < 0)
        return -1;
    return attach_at(fd, target, err);
}

int
overlay_mount_attr(char *const *lowerdirs, size_t nlower, const char *upperdir, const char *workdir,
                   const char *target, unsigned attrs, struct lade_error *err)
{
    if (mount_any(lowerdirs, nlower, upperdir, workdir, target, attrs, err) == 0)
        return 0;
    if (!userns_is_initial()) /* the rootless tier: see isolation_rootless_available */
        lade_error_prefix(err, "rootless: kernel overlay in a user namespace needs Linux 5.11+ "
                               "(fuse-overlayfs is not supported yet)");
    return -1;
}

int
overlay_mount(char *const *lowerdirs, size_t nlower, const char *upperdir, const char *workdir,
              const char *target, struct lade_error *err)
{
    return overlay_mount_attr(lowerdirs, nlower, upperdir, workdir, target,
                              MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID, err);
}

int
overlay_unmount(const char *target, struct lade_error *err)
{
    if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
        return lade_error_sys(err, "cannot unmount '%s'", target);
    return 0;
}

int
make_mounts_private(struct lade_error *err)
{
    /* Without this, mounts made here would propagate back into the parent namespace
     * when / is shared (systemd makes it so). */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return lade_error_sys(err, "cannot make mounts private");
    return 0;
}

int
sandbox_unshare(struct lade_error *err)
{
    if (unshare(CLONE_NEWNS) < 0)
        return lade_error_sys(err, "cannot create a mount namespace");
    return make_mounts_private(err);
}

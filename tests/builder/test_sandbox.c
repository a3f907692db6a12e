/* SPDX-License-Identifier: Apache-2.0 */
/* The RUN sandbox against a real busybox rootfs (Debian's busybox-static). Needs root,
 * overlayfs and namespaces; skipped otherwise. Without busybox the tests fail. */
#include "../helpers/test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"
#include "../../builder/sandbox/sandbox-internal.h"
#include "../../builder/sandbox/sandbox.h"

#define BUSYBOX "/bin/busybox"
#define NLAYERS 150

static const char *const applets[] = {
    "sh",       "echo", "id",    "ls",   "cat",  "touch", "rm",    "mkdir",    "ip",
    "hostname", "kill", "sleep", "grep", "wc",   "head",  "pwd",   "mknod",    "chmod",
    "stat",     "true", "tail",  "env",  "test", "false", "mount", "readlink", "tr"};

/* argv and envp are char *const *, and -Wwrite-strings makes literals const. */
#define S(lit) ((char *) (lit))

static char *const test_env[] = {
    S("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), NULL};

struct fx {
    char *tmp;
    char *base; /* busybox + /etc/passwd, /etc/group, /data/old.txt */
    char *bare; /* busybox only: no /etc */
    int nstep;
    char *step; /* the last run's STEP dir */
};

/* ---- fixture ---- */

static void
copy_busybox(const char *root)
{
    struct lade_error err = {0};
    cleanup_free char *bin = xasprintf("%s/bin", root);
    cleanup_free char *dst = xasprintf("%s/bin/busybox", root);

    assert_ok(mkdir_p_at(AT_FDCWD, bin, 0755, &err), &err);
    cleanup_close int in = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
    cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    assert_true(in >= 0 && out >= 0);
    assert_ok(copy_fd(in, out, &err), &err);
    for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
        cleanup_free char *link = xasprintf("%s/bin/%s", root, applets[i]);
        assert_int_equal(symlink("busybox", link), 0);
    }
}

static char *
make_rootfs(const char *tmp, const char *name, bool with_etc)
{
    char *root = xasprintf("%s/%s", tmp, name);

    copy_busybox(root);
    if (!with_etc)
        return root;
    test_write_file(root, "etc/passwd",
                    "root:x:0:0:root:/root:/bin/sh\n"
                    "app:x:1000:1000:app:/home/app:/bin/sh\n",
                    0644);
    test_write_file(root, "etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app,other\n", 0644);
    test_write_file(root, "data/old.txt", "old\n", 0644);
    return root;
}

static int
setup(void **state)
{
    struct fx *f;

    if (!sandbox_available()) {
        *state = NULL;
        return 0;
    }
    if (access(BUSYBOX, X_OK) != 0) {
        print_error("%s not found (make deps installs busybox-static)\n", BUSYBOX);
        return -1;
    }
    f = xcalloc(1, sizeof(*f));
    f->tmp = test_tmpdir();
    f->base = make_rootfs(f->tmp, "base", true);
    f->bare = make_rootfs(f->tmp, "bare", false);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    if (f == NULL)
        return 0;
    test_rm_rf(f->tmp);
    free(f->tmp);
    free(f->base);
    free(f->bare);
    free(f->step);
    free(f);
    return 0;
}

static struct fx *
fixture(void **state)
{
    if (*state == NULL)
        test_skip("no sandbox: needs root, overlayfs and mount/pid/ipc/uts/net namespaces");
    return *state;
}

/* ---- running ---- */

struct run {
    const char *user;
    const char *cwd;
    const char *hostname;
    enum sandbox_net net;
    int stdin_fd;
    char *const *lowers; /* NULL: the base rootfs */
    size_t nlower;
    char *const *argv; /* NULL: sh -c script */
    const struct sandbox_mount *mounts;
    size_t nmounts;
    bool insecure;
};

#define RUN_DEFAULTS .stdin_fd = -1

/* Runs in a fresh STEP dir; returns sandbox_run's result, with stdout+stderr in *out. */
static int
run_full(struct fx *f, const struct run *r, const char *script, char **out, int *status,
         struct lade_error *err)
{
    struct lade_error e = {0};
    char *const sh[] = {S("/bin/sh"), S("-c"), (char *) script, NULL};
    char *const base[] = {f->base, NULL};
    int p[2];

    free(f->step);
    f->step = xasprintf("%s/step%d", f->tmp, f->nstep++);
    cleanup_free char *upper = xasprintf("%s/upper", f->step);
    cleanup_free char *work = xasprintf("%s/work", f->step);
    assert_ok(mkdir_p_at(AT_FDCWD, upper, 0755, &e), &e);
    assert_ok(mkdir_p_at(AT_FDCWD, work, 0700, &e), &e);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);

    struct sandbox_spec spec = {
        .lowerdirs = r->lowers != NULL ? r->lowers : base,
        .nlower = r->lowers != NULL ? r->nlower : 1,
        .upperdir = upper,
        .workdir = work,
        .argv = r->argv != NULL ? r->argv : sh,
        .envp = test_env,
        .cwd = r->cwd,
        .user = r->user,
        .hostname = r->hostname,
        .net = r->net,
        .stdin_fd = r->stdin_fd,
        .stdout_fd = p[1],
        .stderr_fd = p[1],
        .mounts = r->mounts,
        .nmounts = r->nmounts,
        .insecure = r->insecure,
    };
    *status = -1;
    int rc = sandbox_run(&spec, status, err);
    close(p[1]);
    assert_ok(read_fd_all(p[0], "output", 1 << 20, out, NULL, &e), &e);
    close(p[0]);
    return rc;
}

/* Runs script, expects exit 0, returns its output (caller frees). */
static char *
run_ok(struct fx *f, const struct run *r, const char *script)
{
    struct lade_error err = {0};
    char *out = NULL;
    int status;

    assert_ok(run_full(f, r, script, &out, &status, &err), &err);
    if (status != 0)
        fail_msg("'%s' exited %d: %s", script, status, out);
    return out;
}

static char *
step_path(struct fx *f, const char *rel)
{
    return xasprintf("%s/upper/%s", f->step, rel);
}

static bool
upper_has(struct fx *f, const char *rel)
{
    struct stat st;
    cleanup_free char *p = step_path(f, rel);

    return lstat(p, &st) == 0;
}

/* ---- tests ---- */

static void
test_sandbox_output_and_exit_status(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    struct lade_error err = {0};
    cleanup_free char *out = NULL;
    int status;

    assert_ok(run_full(f, &r, "echo hello; echo oops >&2; exit 3", &out, &status, &err), &err);
    assert_int_equal(status, 3);
    assert_string_equal(out, "hello\noops\n");
}

static void
test_sandbox_changes_land_in_upper_with_whiteouts(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    cleanup_free char *wh = NULL;
    struct stat st;

    free(run_ok(f, &r, "rm /data/old.txt && echo new > /new.txt"));
    wh = step_path(f, "data/old.txt");
    assert_true(upper_has(f, "new.txt"));
    assert_int_equal(lstat(wh, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(major(st.st_rdev), 0);
    assert_int_equal(minor(st.st_rdev), 0);
}

static void
assert_no_stubs(struct fx *f)
{
    assert_false(upper_has(f, "proc"));
    assert_false(upper_has(f, "sys"));
    assert_false(upper_has(f, "dev"));
    assert_false(upper_has(f, "etc/hosts"));
    assert_false(upper_has(f, "etc/resolv.conf"));
}

static void
assert_upper_empty(struct fx *f)
{
    cleanup_free char *upper = xasprintf("%s/upper", f->step);
    cleanup_dir DIR *d = opendir(upper);
    struct dirent *de;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            fail_msg("upper has '%s'", de->d_name);
}

/* /etc exists but /etc/hosts does not: its stub made overlay copy /etc up, which must not
 * stay in the layer either. Writes to the bound files do not reach the upper dir. */
static void
test_sandbox_leaves_no_mount_stubs(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};

    free(run_ok(f, &r,
                "test -d /proc/self && test -f /etc/hosts && "
                "echo x >> /etc/hosts && echo y >> /etc/resolv.conf"));
    assert_upper_empty(f);
}

static void
test_sandbox_parent_changed_by_run_is_kept(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    cleanup_free char *etc = NULL;
    struct stat st;

    free(run_ok(f, &r, "chmod 0700 /etc"));
    assert_no_stubs(f);
    etc = step_path(f, "etc");
    assert_int_equal(stat(etc, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
}

static void
test_sandbox_scratch_like_rootfs_keeps_upper_empty(void **state)
{
    struct fx *f = fixture(state);
    char *const lowers[] = {f->bare, NULL};
    struct run r = {RUN_DEFAULTS, .lowers = lowers, .nlower = 1};
    cleanup_free char *out = run_ok(f, &r, "cat /etc/hosts");

    assert_non_null(strstr(out, "127.0.0.1\tlocalhost lade\n"));
    assert_upper_empty(f);
}

static void
test_sandbox_stub_with_content_is_kept(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    free(run_ok(f, &r, "mkdir -p /etc/extra && touch /etc/extra/f"));
    assert_true(upper_has(f, "etc/extra/f"));
    assert_no_stubs(f);
}

static void
test_sandbox_user_from_passwd(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS, .user = "app"};
    cleanup_free char *out = run_ok(f, &r, "id -u; id -g; id -G; echo $HOME");

    assert_string_equal(out, "1000\n1000\n1000 2000\n/home/app\n");
}

static void
test_sandbox_numeric_user_without_entry(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS, .user = "1234:55"};
    cleanup_free char *out = run_ok(f, &r, "id -u; id -g; echo $HOME");

    assert_string_equal(out, "1234\n55\n/\n");
}

static void
test_sandbox_unknown_user_is_an_error(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS, .user = "nosuch"};
    struct lade_error err = {0};
    cleanup_free char *out = NULL;
    int status;

    assert_int_equal(run_full(f, &r, "true", &out, &status, &err), -1);
    assert_string_equal(err.msg, "unable to find user nosuch: no matching entries in passwd file");
    assert_int_equal(err.code, LADE_ERR_RUN);
    assert_no_stubs(f);
}

static void
test_sandbox_cwd_is_created(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS, .cwd = "/work/sub", .user = "app"};
    cleanup_free char *out = run_ok(f, &r, "pwd");
    cleanup_free char *dir = step_path(f, "work/sub");
    struct stat st;

    assert_string_equal(out, "/work/sub\n");
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_uid, 0);
}

/* WORKDIR through /proc magic links must not reach lade's fds (runc CVE-2024-21626). */
static void
test_sandbox_cwd_cannot_escape_through_proc(void **state)
{
    struct fx *f = fixture(state);
    int leak = open(f->tmp, O_RDONLY | O_DIRECTORY); /* no O_CLOEXEC on purpose */
    cleanup_free char *escaped = xasprintf("%s/escaped", f->tmp);
    const char *fmts[] = {"/proc/1/fd/%d/escaped", "/proc/self/fd/%d/escaped",
                          "/proc/1/root/escaped", "/proc/1/cwd/escaped"};

    assert_true(leak >= 0);
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        char cwd[64];
        struct lade_error err = {0};
        cleanup_free char *out = NULL;
        int status;
        snprintf(cwd, sizeof(cwd), fmts[i], leak);
        struct run r = {RUN_DEFAULTS, .cwd = cwd};
        assert_int_equal(run_full(f, &r, "pwd", &out, &status, &err), -1);
        assert_int_equal(access(escaped, F_OK), -1);
        assert_false(upper_has(f, "escaped"));
    }
    close(leak);
}

static void
test_sandbox_closes_inherited_fds(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    int leak = open("/", O_RDONLY); /* no O_CLOEXEC on purpose */
    cleanup_free char *out = run_ok(f, &r, "ls /proc/self/fd");

    close(leak);
    assert_string_equal(out, "0\n1\n2\n3\n"); /* 3: the directory ls reads */
}

static void
test_sandbox_masks_proc(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    cleanup_free char *out = run_ok(f, &r,
                                    "wc -c < /proc/keys; "
                                    "grep -q '^tmpfs /proc/acpi tmpfs ro,' /proc/self/mounts "
                                    "&& echo dir-masked; "
                                    "grep -q '^proc /proc/sys proc ro,' /proc/self/mounts "
                                    "&& echo readonly || echo writable; "
                                    "ls /proc/1/root/ >/dev/null 2>&1 && echo init-open || "
                                    "echo init-closed; tr -d '\\000' < /proc/1/cmdline | wc -c");

    assert_string_equal(out, "0\ndir-masked\nreadonly\ninit-closed\n0\n");
}

static void
test_sandbox_dev_is_minimal_and_nodev(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    struct stat before, after;

    assert_int_equal(stat("/dev/null", &before), 0);
    cleanup_free char *out =
        run_ok(f, &r,
               "ls /dev; "
               "echo x > /dev/null && head -c 4 /dev/zero | wc -c; "
               "chmod 600 /dev/null 2>/dev/null && echo chmod-ok || echo chmod-refused; "
               "mknod /tmp-sda b 8 0 && (head -c 1 /tmp-sda >/dev/null 2>&1 && echo disk-open "
               "|| echo disk-closed); "
               "mknod /dev/sda b 8 0 && (head -c 1 /dev/sda >/dev/null 2>&1 && echo disk-open "
               "|| echo disk-closed); test -c /dev/pts/ptmx && echo pts");
    assert_int_equal(stat("/dev/null", &after), 0);
    assert_int_equal(before.st_mode, after.st_mode);
    for (const char *const *n =
             (const char *const[]){"null", "zero", "full", "random", "urandom", "pts", "shm",
                                   "ptmx", "stdin", "stdout", "stderr", NULL};
         *n != NULL; n++)
        if (strstr(out, *n) == NULL)
            fail_msg("/dev lacks %s: %s", *n, out);
    assert_non_null(strstr(out, "\n4\nchmod-refused\ndisk-closed\ndisk-closed\npts\n"));
}

/* nodev (no host device through an image's node) but setuid programs work, as in docker. */
static void
test_sandbox_rootfs_is_nodev_not_nosuid(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    cleanup_free char *out = run_ok(f, &r,
                                    "grep '^overlay / overlay ' /proc/self/mounts; "
                                    "grep NoNewPrivs /proc/self/status");

    assert_non_null(strstr(out, ",nodev,"));
    assert_null(strstr(out, "nosuid"));
    assert_non_null(strstr(out, "NoNewPrivs:\t0\n"));
}

static void
test_sandbox_resolv_conf_is_the_hosts(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS, .net = SANDBOX_NET_HOST}; /* default: test_network.c */
    cleanup_free char *host = NULL;
    struct lade_error err = {0};
    cleanup_free char *out = run_ok(f, &r, "cat /etc/resolv.conf");

    if (read_file_at(AT_FDCWD, "/etc/resolv.conf", 0, &host, NULL, &err) < 0)
        host = xstrdup("");
    assert_string_equal(out, host);
}

static void
test_sandbox_network_none_has_only_lo(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS, .net = SANDBOX_NET_NONE};
    cleanup_free char *out = run_ok(f, &r,
                                    "tail -n +3 /proc/net/dev | wc -l; "
                                    "grep -c '^ *lo:' /proc/net/dev; ip link show lo | head -1");

    assert_int_equal(strncmp(out, "1\n1\n", 4), 0);
    assert_non_null(strstr(out, ",UP"));
}

static void
test_sandbox_hostname(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS, .hostname = "builder1"};
    cleanup_free char *out = run_ok(f, &r, "hostname; grep -c builder1 /etc/hosts");
    struct run d = {RUN_DEFAULTS};
    cleanup_free char *out2 = run_ok(f, &d, "hostname");

    assert_string_equal(out, "builder1\n1\n");
    assert_string_equal(out2, "lade\n");
}

static void
test_sandbox_signal_status(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    struct lade_error err = {0};
    cleanup_free char *out = NULL;
    int status;

    assert_ok(run_full(f, &r, "kill -9 $$", &out, &status, &err), &err);
    assert_int_equal(status, 128 + 9);
}

static void
test_sandbox_forwards_sigterm(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    struct lade_error err = {0};
    cleanup_free char *out = NULL;
    sigset_t term, old;
    int status;

    /* Blocked here too, so a signal arriving early stays pending until sandbox_run reads it. */
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    pid_t me = getpid(), killer = fork();
    if (killer == 0) {
        usleep(300 * 1000);
        kill(me, SIGTERM);
        _exit(0);
    }
    assert_ok(run_full(f, &r, "sleep 30", &out, &status, &err), &err);
    waitpid(killer, NULL, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(status, 128 + SIGTERM);
}

static void
test_sandbox_kills_leftover_processes(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    time_t start = time(NULL);
    cleanup_free char *out = run_ok(f, &r, "sleep 60 >/dev/null 2>&1 & echo started");

    assert_string_equal(out, "started\n");
    assert_true(time(NULL) - start < 30);
}

static void
test_sandbox_exec_missing_binary(void **state)
{
    struct fx *f = fixture(state);
    char *const argv[] = {S("nosuchcmd"), S("arg"), NULL};
    char *const abs[] = {S("/bin/nosuchcmd"), NULL};
    struct run r = {RUN_DEFAULTS, .argv = argv};
    struct lade_error err = {0};
    cleanup_free char *out = NULL, *out2 = NULL;
    int status;

    assert_int_equal(run_full(f, &r, NULL, &out, &status, &err), -1);
    assert_int_equal(err.code, LADE_ERR_RUN);
    assert_non_null(strstr(err.msg, "\"nosuchcmd\""));
    assert_no_stubs(f);
    lade_error_clear(&err);
    r.argv = abs;
    assert_int_equal(run_full(f, &r, NULL, &out2, &status, &err), -1);
    assert_non_null(strstr(err.msg, "\"/bin/nosuchcmd\""));
    assert_non_null(strstr(err.msg, "No such file"));
}

static void
test_sandbox_path_from_env(void **state)
{
    struct fx *f = fixture(state);
    char *const argv[] = {S("echo"), S("via-path"), NULL};
    struct run r = {RUN_DEFAULTS, .argv = argv};
    cleanup_free char *out = run_ok(f, &r, NULL);

    assert_string_equal(out, "via-path\n");
}

static void
test_sandbox_stdin(void **state)
{
    struct fx *f = fixture(state);
    int p[2];

    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "piped\n", 6), 6);
    close(p[1]);
    struct run r = {.stdin_fd = p[0]};
    cleanup_free char *out = run_ok(f, &r, "cat");
    close(p[0]);
    struct run n = {RUN_DEFAULTS};
    cleanup_free char *out2 = run_ok(f, &n, "cat; echo end");

    assert_string_equal(out, "piped\n");
    assert_string_equal(out2, "end\n");
}

static void
test_sandbox_capabilities(void **state)
{
    struct fx *f = fixture(state);
    struct run root = {RUN_DEFAULTS};
    struct run app = {RUN_DEFAULTS, .user = "app"};
    const char *script = "grep -E '^Cap(Inh|Eff|Bnd)' /proc/self/status";
    cleanup_free char *out = run_ok(f, &root, script);
    cleanup_free char *out2 = run_ok(f, &app, script);

    assert_string_equal(out, "CapInh:\t0000000000000000\n"
                             "CapEff:\t00000000a80425fb\n"
                             "CapBnd:\t00000000a80425fb\n");
    assert_string_equal(out2, "CapInh:\t0000000000000000\n"
                              "CapEff:\t0000000000000000\n"
                              "CapBnd:\t00000000a80425fb\n");
}

static char **
make_layers(struct fx *f)
{
    char **lowers = xcalloc(NLAYERS + 2, sizeof(*lowers));

    for (int i = 0; i < NLAYERS; i++) {
        char rel[32];
        lowers[i] = xasprintf("%s/layers/layer-number-%03d", f->tmp, i);
        snprintf(rel, sizeof(rel), "layers/f%03d", i);
        test_write_file(lowers[i], rel, "x", 0644);
    }
    lowers[NLAYERS] = xstrdup(f->base);
    return lowers;
}

static void
test_sandbox_many_layers(void **state)
{
    struct fx *f = fixture(state);
    char **lowers = make_layers(f);
    struct run r = {RUN_DEFAULTS, .lowers = lowers, .nlower = NLAYERS + 1};
    cleanup_free char *out = run_ok(f, &r, "ls /layers | wc -l; cat /layers/f000 /layers/f149");

    assert_string_equal(out, "150\nxx");
    strv_free(lowers);
}

static size_t
count_mounts(void)
{
    cleanup_free char *text = NULL;
    struct lade_error err = {0};
    size_t n = 0;

    assert_ok(read_file_at(AT_FDCWD, "/proc/self/mountinfo", 0, &text, NULL, &err), &err);
    for (char *p = text; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

static void
test_sandbox_leaves_no_mounts(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS};
    size_t before = count_mounts();

    free(run_ok(f, &r, "true"));
    assert_int_equal(count_mounts(), before);
}

/* ---- overlay_mount in this process (in a mount namespace of its own) ---- */

static size_t
count_entries(const char *dir)
{
    cleanup_dir DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    return n;
}

static void
test_overlay_mount_variants(void **state)
{
    struct fx *f = fixture(state);
    struct lade_error err = {0};
    char **lowers = make_layers(f);
    cleanup_free char *upper = xasprintf("%s/ov/upper", f->tmp);
    cleanup_free char *work = xasprintf("%s/ov/work", f->tmp);
    cleanup_free char *merged = xasprintf("%s/ov/merged", f->tmp);
    cleanup_free char *probe = xasprintf("%s/ov/merged/probe", f->tmp);
    cleanup_free char *layers = xasprintf("%s/ov/merged/layers", f->tmp);

    assert_ok(sandbox_unshare(&err), &err);
    assert_ok(mkdir_p_at(AT_FDCWD, upper, 0755, &err), &err);
    assert_ok(mkdir_p_at(AT_FDCWD, work, 0700, &err), &err);
    assert_ok(mkdir_p_at(AT_FDCWD, merged, 0755, &err), &err);

    /* 150 layers, read-write: all visible, writes land in upper */
    assert_ok(overlay_mount(lowers, NLAYERS, upper, work, merged, &err), &err);
    assert_int_equal(count_entries(layers), NLAYERS);
    test_write_file(merged, "probe", "p", 0644);
    assert_ok(overlay_unmount(merged, &err), &err);
    assert_int_equal(count_entries(upper), 1);

    /* read-only: many layers, one (bind), none (tmpfs) */
    size_t counts[] = {NLAYERS, 1, 0};
    for (size_t i = 0; i < 3; i++) {
        assert_ok(overlay_mount(lowers, counts[i], NULL, NULL, merged, &err), &err);
        int fd = open(probe, O_WRONLY | O_CREAT, 0644);
        int e = errno;
        assert_int_equal(fd, -1);
        assert_int_equal(e, EROFS);
        assert_ok(overlay_unmount(merged, &err), &err);
    }
    /* no lower dir at all: dirname(workdir)/empty */
    assert_ok(overlay_mount(NULL, 0, upper, work, merged, &err), &err);
    assert_int_equal(count_entries(merged), 1); /* the probe, from upper */
    assert_ok(overlay_unmount(merged, &err), &err);
    strv_free(lowers);
}

static void
test_overlay_legacy_options(void **state)
{
    char *const two[] = {S("/l/a"), S("/l/b")};
    char *const bad[] = {S("/l/a:b")};
    char *many[NLAYERS];
    struct lade_error err = {0};
    cleanup_free char *opts = NULL;

    (void) state;
    assert_ok(overlay_legacy_options(two, 2, "/u", "/w", &opts, &err), &err);
    assert_string_equal(opts, "lowerdir=/l/a:/l/b,upperdir=/u,workdir=/w,redirect_dir=off,"
                              "metacopy=off");
    assert_int_equal(overlay_legacy_options(bad, 1, NULL, NULL, &opts, &err), -1);
    lade_error_clear(&err);
    for (int i = 0; i < NLAYERS; i++)
        many[i] = xasprintf("/var/lib/lade/layers/%064d", i);
    assert_int_equal(overlay_legacy_options(many, NLAYERS, "/u", "/w", &opts, &err), -1);
    assert_non_null(strstr(err.msg, "lowerdir+"));
    for (int i = 0; i < NLAYERS; i++)
        free(many[i]);
}

/* ---- USER parsing ---- */

static void
test_user_parse_rules(void **state)
{
    const char *pw = "root:x:0:0:root:/root:/bin/sh\n"
                     "  \n"
                     "bad:x:notanumber:1::/:\n"
                     "app:x:1000:1000:app:/home/app:/bin/sh\n"
                     "nohome:x:1001:1001:::\n";
    const char *gr = "root:x:0:root\nwheel:x:10:root,app\nextra:x:2000: app \nstaff:x:50:\n";
    struct lade_error err = {0};
    struct sandbox_user u;

    (void) state;
    assert_ok(sandbox_user_parse("", pw, gr, &u, &err), &err);
    assert_int_equal(u.uid, 0);
    assert_int_equal(u.ngroups, 2); /* root, wheel */
    assert_string_equal(u.home, "/root");
    sandbox_user_release(&u);

    assert_ok(sandbox_user_parse("1000", pw, gr, &u, &err), &err);
    assert_int_equal(u.gid, 1000);
    assert_int_equal(u.ngroups, 2); /* wheel, extra */
    sandbox_user_release(&u);

    assert_ok(sandbox_user_parse("app:staff", pw, gr, &u, &err), &err);
    assert_int_equal(u.uid, 1000);
    assert_int_equal(u.gid, 50);
    assert_int_equal(u.ngroups, 0); /* an explicit group: no supplementary ones */
    sandbox_user_release(&u);

    assert_ok(sandbox_user_parse("nohome:7", pw, NULL, &u, &err), &err);
    assert_int_equal(u.gid, 7);
    assert_string_equal(u.home, "/");
    sandbox_user_release(&u);

    assert_ok(sandbox_user_parse("42", NULL, NULL, &u, &err), &err);
    assert_int_equal(u.uid, 42);
    assert_int_equal(u.gid, 0);
    sandbox_user_release(&u);

    assert_int_equal(sandbox_user_parse("app:nogroup", pw, gr, &u, &err), -1);
    assert_string_equal(err.msg, "unable to find group nogroup: no matching entries in group file");
    lade_error_clear(&err);
    assert_int_equal(sandbox_user_parse("ghost", NULL, gr, &u, &err), -1);
    assert_string_equal(err.msg, "unable to find user ghost: no matching entries in passwd file");
    lade_error_clear(&err);
    assert_int_equal(sandbox_user_parse("99999999999", pw, gr, &u, &err), -1);
}

/* ---- RUN --mount ---- */

/* Binds: a read-only directory, a writable one (writes reach the source), a file; targets
 * the sandbox had to make (with parents, under an existing /data too) leave no trace. */
static void
test_sandbox_mounts_bind(void **state)
{
    struct fx *f = fixture(state);
    cleanup_free char *ro = xasprintf("%s/src-ro", f->tmp);
    cleanup_free char *rw = xasprintf("%s/src-rw", f->tmp);
    cleanup_free char *file = xasprintf("%s/src-file", f->tmp);
    cleanup_free char *written = NULL;
    struct lade_error err = {0};

    test_write_file(ro, "a.txt", "from ro\n", 0644);
    test_write_file(rw, "keep", "", 0644);
    test_write_file(f->tmp, "src-file", "one file\n", 0644);
    const struct sandbox_mount m[] = {
        {.type = SANDBOX_MOUNT_BIND, .source = ro, .target = "/mnt/deep/ro", .readonly = true},
        {.type = SANDBOX_MOUNT_BIND, .source = rw, .target = "/data/rw"},
        {.type = SANDBOX_MOUNT_BIND, .source = file, .target = "/etc/one.conf", .readonly = true},
    };
    struct run r = {RUN_DEFAULTS, .mounts = m, .nmounts = 3};
    cleanup_free char *out = run_ok(f, &r,
                                    "cat /mnt/deep/ro/a.txt /etc/one.conf; "
                                    "touch /mnt/deep/ro/x 2>/dev/null && echo ro-writable; "
                                    "echo w > /data/rw/new");
    assert_string_equal(out, "from ro\none file\n");
    cleanup_free char *new_path = xasprintf("%s/new", rw);
    assert_ok(read_file_at(AT_FDCWD, new_path, 0, &written, NULL, &err), &err);
    assert_string_equal(written, "w\n");
    assert_upper_empty(f);
}

/* A tmpfs (with a size), a mount inside it and one under the sandbox's /dev. */
static void
test_sandbox_mounts_tmpfs_nested_and_dev(void **state)
{
    struct fx *f = fixture(state);
    cleanup_free char *src = xasprintf("%s/src-pipes", f->tmp);

    test_write_file(src, "script", "#!/bin/sh\necho piped\n", 0755);
    const struct sandbox_mount m[] = {
        {.type = SANDBOX_MOUNT_TMPFS, .target = "/scratch", .size = 1 << 20},
        {.type = SANDBOX_MOUNT_BIND, .source = src, .target = "/scratch/in", .readonly = true},
        {.type = SANDBOX_MOUNT_BIND, .source = src, .target = "/dev/pipes", .readonly = true},
    };
    struct run r = {RUN_DEFAULTS, .mounts = m, .nmounts = 3};
    cleanup_free char *out = run_ok(f, &r,
                                    "echo gone > /scratch/f && /dev/pipes/script && "
                                    "cat /scratch/in/script | head -1 && "
                                    "grep ' /scratch ' /proc/self/mounts | grep -o size=1024k");
    assert_string_equal(out, "piped\n#!/bin/sh\nsize=1024k\n");
    assert_upper_empty(f);
}

/* FROM scratch: a rootfs without /etc or /mnt. */
static void
test_sandbox_mounts_on_bare_rootfs(void **state)
{
    struct fx *f = fixture(state);
    char *const lowers[] = {f->bare, NULL};
    const struct sandbox_mount m[] = {{.type = SANDBOX_MOUNT_TMPFS, .target = "/mnt/t"}};
    struct run r = {RUN_DEFAULTS, .lowers = lowers, .nlower = 1, .mounts = m, .nmounts = 1};

    free(run_ok(f, &r, "echo x > /mnt/t/x"));
    assert_upper_empty(f);
}

/* A target the RUN filled is kept, as BuildKit keeps it. */
static void
test_sandbox_mount_target_with_content_is_kept(void **state)
{
    struct fx *f = fixture(state);
    const struct sandbox_mount m[] = {{.type = SANDBOX_MOUNT_TMPFS, .target = "/work/t"}};
    struct run r = {RUN_DEFAULTS, .mounts = m, .nmounts = 1};

    free(run_ok(f, &r, "touch /work/kept"));
    assert_true(upper_has(f, "work/kept"));
    assert_false(upper_has(f, "work/t"));
}

static void
expect_mount_error_run(struct fx *f, const struct run *r, const char *want)
{
    struct lade_error err = {0};
    cleanup_free char *out = NULL;
    int status;

    assert_int_equal(run_full(f, r, "true", &out, &status, &err), -1);
    if (strstr(err.msg, want) == NULL)
        fail_msg("got \"%s\", want \"%s\"", err.msg, want);
    assert_upper_empty(f);
}

static void
expect_mount_error(struct fx *f, const struct sandbox_mount *m, size_t n, const char *want)
{
    struct run r = {RUN_DEFAULTS, .mounts = m, .nmounts = n};

    expect_mount_error_run(f, &r, want);
}

static void
test_sandbox_mount_errors(void **state)
{
    struct fx *f = fixture(state);
    cleanup_free char *file = xasprintf("%s/src-err", f->tmp);
    cleanup_free char *dir = xasprintf("%s/src-errdir", f->tmp);

    test_write_file(f->tmp, "src-err", "x\n", 0644);
    test_write_file(dir, "f", "x\n", 0644);
    const struct sandbox_mount over_dir[] = {
        {.type = SANDBOX_MOUNT_BIND, .source = file, .target = "/data", .readonly = true}};
    expect_mount_error(f, over_dir, 1, "cannot mount on '/data': is a directory");
    const struct sandbox_mount under_file[] = {
        {.type = SANDBOX_MOUNT_TMPFS, .target = "/data/old.txt/x"}};
    expect_mount_error(f, under_file, 1, "/data/old.txt/x");
    const struct sandbox_mount in_ro[] = {
        {.type = SANDBOX_MOUNT_BIND, .source = dir, .target = "/ro", .readonly = true},
        {.type = SANDBOX_MOUNT_TMPFS, .target = "/ro/sub"}};
    expect_mount_error(f, in_ro, 2, "Read-only file system");
    const struct sandbox_mount root[] = {{.type = SANDBOX_MOUNT_TMPFS, .target = "/"}};
    expect_mount_error(f, root, 1, "invalid mount target \"/\"");
    const struct sandbox_mount dots[] = {{.type = SANDBOX_MOUNT_TMPFS, .target = "/a/../b"}};
    expect_mount_error(f, dots, 1, "is not clean");
}

/* A symlink in the image cannot lead a target out of the rootfs. */
static void
test_sandbox_mount_target_symlink_stays_inside(void **state)
{
    struct fx *f = fixture(state);
    cleanup_free char *outside = xasprintf("%s/outside", f->tmp);
    cleanup_free char *link = xasprintf("%s/escape", f->base);
    const struct sandbox_mount m[] = {{.type = SANDBOX_MOUNT_TMPFS, .target = "/escape/t"}};
    struct run r = {RUN_DEFAULTS, .mounts = m, .nmounts = 1};
    struct stat st;

    assert_int_equal(mkdir(outside, 0755), 0);
    assert_int_equal(symlink(outside, link), 0);
    /* /escape is resolved in the rootfs, where its target does not exist */
    expect_mount_error_run(f, &r, "cannot mount on '/escape': dangling symbolic link");
    unlink(link);
    cleanup_free char *t = xasprintf("%s/t", outside);
    assert_int_equal(lstat(t, &st), -1);
}

/* --security=insecure: every capability, /proc unmasked. */
static void
test_sandbox_insecure(void **state)
{
    struct fx *f = fixture(state);
    struct run r = {RUN_DEFAULTS, .insecure = true};
    cleanup_free char *out = run_ok(
        f, &r, "grep CapEff /proc/self/status; grep -c ' /proc/kcore ' /proc/self/mounts; true");

    cleanup_free char *status = NULL;
    struct lade_error err = {0};
    char want[64];

    /* all of lade's own: root on a test machine may lack some (CAP_SYS_RESOURCE) */
    assert_ok(read_file_at(AT_FDCWD, "/proc/self/status", 0, &status, NULL, &err), &err);
    const char *bnd = strstr(status, "CapBnd:\t");
    assert_non_null(bnd);
    snprintf(want, sizeof(want), "CapEff:\t%.16s\n", bnd + 8);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "\n0\n"));
    /* a non-root user keeps them too (ambient), as in BuildKit; without insecure, none */
    struct run app = {RUN_DEFAULTS, .insecure = true, .user = "app"};
    cleanup_free char *app_out = run_ok(f, &app, "grep CapEff /proc/self/status");
    assert_non_null(strstr(app_out, want));
    struct run plain = {RUN_DEFAULTS, .user = "app"};
    cleanup_free char *plain_out = run_ok(f, &plain, "grep CapEff /proc/self/status");
    assert_string_equal(plain_out, "CapEff:\t0000000000000000\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_parse_rules),
        cmocka_unit_test(test_overlay_legacy_options),
        cmocka_unit_test(test_sandbox_output_and_exit_status),
        cmocka_unit_test(test_sandbox_changes_land_in_upper_with_whiteouts),
        cmocka_unit_test(test_sandbox_leaves_no_mount_stubs),
        cmocka_unit_test(test_sandbox_mounts_bind),
        cmocka_unit_test(test_sandbox_mounts_tmpfs_nested_and_dev),
        cmocka_unit_test(test_sandbox_mounts_on_bare_rootfs),
        cmocka_unit_test(test_sandbox_mount_target_with_content_is_kept),
        cmocka_unit_test(test_sandbox_mount_errors),
        cmocka_unit_test(test_sandbox_mount_target_symlink_stays_inside),
        cmocka_unit_test(test_sandbox_insecure),
        cmocka_unit_test(test_sandbox_parent_changed_by_run_is_kept),
        cmocka_unit_test(test_sandbox_scratch_like_rootfs_keeps_upper_empty),
        cmocka_unit_test(test_sandbox_stub_with_content_is_kept),
        cmocka_unit_test(test_sandbox_user_from_passwd),
        cmocka_unit_test(test_sandbox_numeric_user_without_entry),
        cmocka_unit_test(test_sandbox_unknown_user_is_an_error),
        cmocka_unit_test(test_sandbox_cwd_is_created),
        cmocka_unit_test(test_sandbox_closes_inherited_fds),
        cmocka_unit_test(test_sandbox_cwd_cannot_escape_through_proc),
        cmocka_unit_test(test_sandbox_masks_proc),
        cmocka_unit_test(test_sandbox_dev_is_minimal_and_nodev),
        cmocka_unit_test(test_sandbox_rootfs_is_nodev_not_nosuid),
        cmocka_unit_test(test_sandbox_resolv_conf_is_the_hosts),
        cmocka_unit_test(test_sandbox_network_none_has_only_lo),
        cmocka_unit_test(test_sandbox_hostname),
        cmocka_unit_test(test_sandbox_signal_status),
        cmocka_unit_test(test_sandbox_forwards_sigterm),
        cmocka_unit_test(test_sandbox_kills_leftover_processes),
        cmocka_unit_test(test_sandbox_exec_missing_binary),
        cmocka_unit_test(test_sandbox_path_from_env),
        cmocka_unit_test(test_sandbox_stdin),
        cmocka_unit_test(test_sandbox_capabilities),
        cmocka_unit_test(test_sandbox_many_layers),
        cmocka_unit_test(test_sandbox_leaves_no_mounts),
        cmocka_unit_test(test_overlay_mount_variants),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

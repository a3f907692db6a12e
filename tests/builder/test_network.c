/* SPDX-License-Identifier: Apache-2.0 */
/* --network default (builder/sandbox/network.c): the resolv.conf rewrite, and real runs behind
 * slirp4netns in a busybox rootfs. The runs need root, overlayfs, namespaces and slirp4netns
 * (make deps installs it); they are skipped without the sandbox and fail without the tool. */
#include "../helpers/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"
#include "../../builder/sandbox/sandbox-internal.h"
#include "../../builder/sandbox/sandbox.h"

#define S(lit) ((char *) (lit))

/* ---- the resolv.conf rewrite ---- */

static void
expect_filter(const char *host, const char *want)
{
    cleanup_free char *got = net_resolv_conf_filter(host);

    assert_string_equal(got, want);
}

static void
test_resolv_keeps_reachable_nameservers(void **state)
{
    (void) state;
    expect_filter("# from dhcp\nsearch example.org\nnameserver 192.0.2.53\noptions ndots:2\n",
                  "# from dhcp\nsearch example.org\nnameserver 192.0.2.53\noptions ndots:2\n");
    /* a last line without its newline gets one */
    expect_filter("nameserver 10.1.1.1\nnameserver 10.1.1.2",
                  "nameserver 10.1.1.1\nnameserver 10.1.1.2\n");
}

/* Loopback (a local stub such as systemd-resolved) and IPv6 nameservers are out of the
 * namespace's reach; with none left, slirp's forwarder (which asks the host's) takes over. */
static void
test_resolv_drops_loopback_and_ipv6(void **state)
{
    (void) state;
    expect_filter("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n",
                  "options edns0 trust-ad\nsearch lan\nnameserver 10.0.2.3\n");
    expect_filter("nameserver ::1\nnameserver 127.0.0.1\nnameserver 2001:db8::53\n"
                  "nameserver 0.0.0.0\n",
                  "nameserver 10.0.2.3\n");
    expect_filter("nameserver 127.0.1.1\n  nameserver\t192.0.2.1\n", "  nameserver\t192.0.2.1\n");
    expect_filter("", "nameserver 10.0.2.3\n");
    expect_filter("# nameserver 127.0.0.1 in a comment\n",
                  "# nameserver 127.0.0.1 in a comment\nnameserver 10.0.2.3\n");
}

/* ---- runs ---- */

struct fx {
    char *tmp;
    char *rootfs; /* bin/busybox only: commands run as "busybox APPLET" */
    int nstep;
};

static int
setup(void **state)
{
    struct lade_error err = {0};
    struct fx *f;

    *state = NULL;
    if (!sandbox_available())
        return 0;
    f = xcalloc(1, sizeof(*f));
    f->tmp = test_tmpdir();
    f->rootfs = xasprintf("%s/rootfs", f->tmp);
    cleanup_free char *bin = xasprintf("%s/bin", f->rootfs);
    cleanup_free char *busybox = xasprintf("%s/busybox", bin);
    cleanup_close int in = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
    if (in < 0 || mkdir_p_at(AT_FDCWD, bin, 0755, &err) < 0) {
        print_error("/bin/busybox: %s (make deps installs busybox-static)\n", strerror(errno));
        return -1;
    }
    cleanup_close int out = open(busybox, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (out < 0 || copy_fd(in, out, &err) < 0)
        return -1;
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
    free(f->rootfs);
    free(f);
    return 0;
}

static struct fx *
fixture(void **state)
{
    if (*state == NULL)
        test_skip("no sandbox: needs root, overlayfs and namespaces");
    return *state;
}

/* Runs `busybox sh -c script` with network net; its output in *out. */
static int
run_net(struct fx *f, enum sandbox_net net, const char *script, char **out, int *status,
        struct lade_error *err)
{
    struct lade_error e = {0};
    char *const argv[] = {S("/bin/busybox"), S("sh"), S("-c"), (char *) script, NULL};
    char *const env[] = {S("PATH=/bin"), NULL};
    char *const lowers[] = {f->rootfs, NULL};
    cleanup_free char *step = xasprintf("%s/step%d", f->tmp, f->nstep++);
    cleanup_free char *upper = xasprintf("%s/upper", step);
    cleanup_free char *work = xasprintf("%s/work", step);
    int p[2];

    assert_ok(mkdir_p_at(AT_FDCWD, upper, 0755, &e), &e);
    assert_ok(mkdir_p_at(AT_FDCWD, work, 0700, &e), &e);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    struct sandbox_spec spec = {
        .lowerdirs = lowers,
        .nlower = 1,
        .upperdir = upper,
        .workdir = work,
        .argv = argv,
        .envp = env,
        .net = net,
        .stdin_fd = -1,
        .stdout_fd = p[1],
        .stderr_fd = p[1],
    };
    int rc = sandbox_run(&spec, status, err);
    close(p[1]);
    assert_ok(read_fd_all(p[0], "output", 1 << 20, out, NULL, &e), &e);
    close(p[0]);
    return rc;
}

/* No child of this process is left (slirp4netns reaped, none running). */
static void
assert_no_children(void)
{
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void
test_default_is_a_private_network(void **state)
{
    struct fx *f = fixture(state);
    struct lade_error err = {0};
    cleanup_free char *out = NULL;
    int status;

    assert_ok(run_net(f, SANDBOX_NET_DEFAULT,
                      "busybox ls /sys/class/net; busybox cat /sys/class/net/tap0/mtu; "
                      "busybox ip -4 addr show tap0 | busybox grep -o 'inet [0-9./]*'; "
                      "busybox ip route | busybox grep default",
                      &out, &status, &err),
              &err);
    assert_int_equal(status, 0);
    assert_string_equal(out,
                        "lo\ntap0\n65520\ninet 10.0.2.100/24\ndefault via 10.0.2.2 dev tap0 \n");
    assert_no_children();
}

/* The RUN's resolv.conf is the rewritten one; host keeps the host's as it is. */
static void
test_default_resolv_conf(void **state)
{
    struct fx *f = fixture(state);
    struct lade_error err = {0};
    cleanup_free char *out = NULL, *host = NULL, *want = NULL;
    int status;

    if (read_file_at(AT_FDCWD, "/etc/resolv.conf", 0, &host, NULL, &err) < 0)
        host = xstrdup("");
    want = net_resolv_conf_filter(host);
    assert_ok(run_net(f, SANDBOX_NET_DEFAULT, "busybox cat /etc/resolv.conf", &out, &status, &err),
              &err);
    assert_string_equal(out, want);
}

/* A missing slirp4netns is an error naming the package and the way out, never the host's
 * network instead. */
static void
test_default_without_slirp4netns(void **state)
{
    struct fx *f = fixture(state);
    struct lade_error err = {0};
    cleanup_free char *out = NULL, *path = xstrdup(getenv("PATH") ?: "");
    cleanup_free char *empty = xasprintf("%s/empty-bin", f->tmp);
    int status = -1;

    assert_int_equal(mkdir(empty, 0755), 0);
    setenv("PATH", empty, 1);
    int rc = run_net(f, SANDBOX_NET_DEFAULT, "echo ran", &out, &status, &err);
    setenv("PATH", path, 1);
    assert_int_equal(rc, -1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err.msg, "slirp4netns (Debian package slirp4netns)"));
    assert_non_null(strstr(err.msg, "--network host"));
}

/* slirp4netns that fails: its message in the error, the RUN never started, nothing left. */
static void
test_default_slirp_failure(void **state)
{
    struct fx *f = fixture(state);
    struct lade_error err = {0};
    cleanup_free char *out = NULL, *path = xstrdup(getenv("PATH") ?: "");
    cleanup_free char *bin = xasprintf("%s/fake-bin", f->tmp);
    int status = -1;

    test_write_file(bin, "slirp4netns",
                    "#!/bin/sh\necho \"fake slirp: cannot do $*\" >&2\nexit 1\n", 0755);
    setenv("PATH", bin, 1);
    int rc = run_net(f, SANDBOX_NET_DEFAULT, "echo ran", &out, &status, &err);
    setenv("PATH", path, 1);
    assert_int_equal(rc, -1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err.msg, "slirp4netns did not set up the RUN's network"));
    assert_non_null(
        strstr(err.msg, "fake slirp: cannot do --configure --mtu=65520 --disable-host-loopback"));
    assert_no_children();
}

static void
test_none_and_host(void **state)
{
    struct fx *f = fixture(state);
    struct lade_error err = {0};
    cleanup_free char *none = NULL, *host = NULL;
    int status;

    assert_ok(run_net(f, SANDBOX_NET_NONE, "busybox ls /sys/class/net", &none, &status, &err),
              &err);
    assert_string_equal(none, "lo\n");
    assert_ok(run_net(f, SANDBOX_NET_HOST, "busybox ls /sys/class/net", &host, &status, &err),
              &err);
    assert_non_null(strstr(host, "lo\n"));
    assert_null(strstr(host, "tap0"));
    assert_true(strlen(host) > strlen("lo\n")); /* the host's interfaces too */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolv_keeps_reachable_nameservers),
        cmocka_unit_test(test_resolv_drops_loopback_and_ipv6),
        cmocka_unit_test(test_default_is_a_private_network),
        cmocka_unit_test(test_default_resolv_conf),
        cmocka_unit_test(test_default_without_slirp4netns),
        cmocka_unit_test(test_default_slirp_failure),
        cmocka_unit_test(test_none_and_host),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

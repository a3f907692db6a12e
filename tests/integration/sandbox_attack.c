/* SPDX-License-Identifier: Apache-2.0 */
/* Attacks a RUN step may try, one per argument, for t_sandbox_seccomp.sh. Built static by the
 * test and copied into the busybox image. Prints "NAME: ok" or "NAME: ERRNONAME" per attack,
 * and for keyctl-read the key's content. Exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/sched.h>

#define KEYCTL_READ 11
#define KEY_SPEC_SESSION_KEYRING -3

static void
report(const char *name, long rc)
{
    printf("%s: %s\n", name, rc < 0 ? strerrorname_np(errno) : "ok");
}

/* ptrace of a child of our own: allowed by docker's profile (kernel >= 4.8) and the kernel. */
static long
ptrace_child(void)
{
    pid_t pid = fork();
    int ws;

    if (pid == 0) {
        pause();
        _exit(0);
    }
    long rc = ptrace(PTRACE_ATTACH, pid, 0, 0);
    if (rc == 0)
        waitpid(pid, &ws, 0);
    kill(pid, SIGKILL);
    waitpid(pid, &ws, 0);
    return rc;
}

static long
clone_flags(unsigned long flags)
{
    long rc = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (rc == 0)
        _exit(0);
    if (rc > 0)
        waitpid((pid_t) rc, NULL, 0);
    return rc;
}

static long
clone3_plain(void)
{
    struct clone_args args = {.exit_signal = SIGCHLD};
    long rc = syscall(SYS_clone3, &args, sizeof(args));
    if (rc == 0)
        _exit(0);
    if (rc > 0)
        waitpid((pid_t) rc, NULL, 0);
    return rc;
}

/* What Debian's iputils postinst does with setcap: cap_net_raw+ep on a file (v2 format). */
static long
set_cap_net_raw(const char *path)
{
    struct {
        unsigned magic_etc, perm0, inh0, perm1, inh1;
    } cap = {0x02000000 | 1 /* revision 2, effective */, 1u << 13 /* CAP_NET_RAW */, 0, 0, 0};

    return setxattr(path, "security.capability", &cap, sizeof(cap), 0);
}

static void
attack(const char *name, const char *arg)
{
    char buf[256] = {0};
    long rc;

    errno = 0;
    if (strcmp(name, "keyctl-read") == 0) {
        rc = syscall(SYS_keyctl, KEYCTL_READ, atol(arg), buf, sizeof(buf) - 1);
        report(name, rc);
        if (rc > 0)
            printf("key content: %s\n", buf);
        return;
    }
    if (strcmp(name, "add_key") == 0)
        rc = syscall(SYS_add_key, "user", "lade-attack", "x", 1, KEY_SPEC_SESSION_KEYRING);
    else if (strcmp(name, "request_key") == 0)
        rc = syscall(SYS_request_key, "user", "lade-attack", NULL, KEY_SPEC_SESSION_KEYRING);
    else if (strcmp(name, "unshare-user") == 0)
        rc = unshare(CLONE_NEWUSER);
    else if (strcmp(name, "unshare-mount") == 0)
        rc = unshare(CLONE_NEWNS);
    else if (strcmp(name, "clone-newuser") == 0)
        rc = clone_flags(CLONE_NEWUSER);
    else if (strcmp(name, "clone-plain") == 0)
        rc = clone_flags(0);
    else if (strcmp(name, "clone3") == 0)
        rc = clone3_plain();
    else if (strcmp(name, "mount") == 0)
        rc = mount("none", "/tmp", "tmpfs", 0, NULL);
    else if (strcmp(name, "umount2") == 0)
        rc = umount2("/proc", MNT_DETACH);
    else if (strcmp(name, "bpf") == 0)
        rc = syscall(SYS_bpf, 0, NULL, 0);
    else if (strcmp(name, "perf_event_open") == 0)
        rc = syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
    else if (strcmp(name, "kexec_load") == 0)
        rc = syscall(SYS_kexec_load, 0, 0, NULL, 0);
    else if (strcmp(name, "open_by_handle_at") == 0)
        rc = syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0);
    else if (strcmp(name, "init_module") == 0)
        rc = syscall(SYS_init_module, NULL, 0, "");
    else if (strcmp(name, "ptrace-init") == 0)
        rc = ptrace(PTRACE_ATTACH, 1, 0, 0);
    else if (strcmp(name, "ptrace-child") == 0)
        rc = ptrace_child();
    else if (strcmp(name, "setcap-net-raw") == 0)
        rc = set_cap_net_raw(arg);
    else if (strcmp(name, "raw-socket") == 0) /* needs CAP_NET_RAW, as ping */
        rc = socket(AF_INET, SOCK_RAW, 1 /* ICMP */);
    else if (strcmp(name, "socket-alg") == 0)
        rc = socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0);
    else if (strcmp(name, "euid") == 0) {
        printf("euid: %d\n", (int) geteuid());
        return;
    } else {
        printf("%s: unknown attack\n", name);
        return;
    }
    report(name, rc);
}

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        char name[64];
        snprintf(name, sizeof(name), "%.*s", eq ? (int) (eq - argv[i]) : 63, argv[i]);
        attack(name, eq ? eq + 1 : NULL);
        fflush(stdout);
    }
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The RUN's seccomp filter: what docker's default profile (moby profiles/seccomp) lets a
 * container do, written as lade's own table and compiled with libseccomp. A library rather
 * than hand-written BPF: the filter must check the audit arch, translate every name to each
 * arch's number (x86_64, i386 and x32 all differ; i386 multiplexes socket calls) and compare
 * 64-bit arguments on 32-bit arches, which is exactly what goes wrong by hand.
 *
 * Everything not listed fails with EPERM, as in docker. clone3 fails with ENOSYS instead, so
 * that a C library falls back to clone(2), whose flags (unlike clone3's, in memory) a filter
 * can check. */
#include "sandbox-internal.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/xalloc.h"

/* CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
 * CLONE_NEWNET: namespace creation needs CAP_SYS_ADMIN in docker's profile. */
#define NS_FLAGS 0x7e020000ULL
#define AF_ALG_ 38
#define AF_VSOCK_ 40

/* Allowed unconditionally on every arch (names an arch lacks are skipped there). */
static const char *const allowed_always[] = {
    /* files and directories */
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range",
    "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
    "fchownat", "fcntl", "fcntl64", "fdatasync", "flock", "fstat", "fstat64", "fstatat64",
    "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
    "getdents64", "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat", "lstat64",
    "mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat", "open", "openat",
    "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir",
    "sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
    "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write",
    "writev", "cachestat",
    /* extended attributes */
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr",
    "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr",
    /* polling, events, timers, clocks */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
    "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "io_setup", "io_submit", "poll", "ppoll", "ppoll_time64", "pselect6",
    "pselect6_time64", "select", "_newselect", "pause", "alarm", "nanosleep", "clock_nanosleep",
    "clock_nanosleep_time64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_adjtime", "clock_adjtime64", "adjtimex", "gettimeofday", "time",
    "times", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
    "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
    /* memory */
    "brk", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock", "mlock2",
    "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages", "map_shadow_stack",
    /* processes, threads, signals */
    "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "vfork", "futex",
    "futex_time64", "futex_waitv", "futex_wait", "futex_wake", "futex_requeue", "getcpu", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "get_thread_area", "gettid", "ioprio_get", "ioprio_set", "kill",
    "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease", "restart_syscall",
    "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "setpgid", "setpriority", "setrlimit",
    "set_robust_list", "setsid", "set_thread_area", "set_tid_address", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "sysinfo", "tgkill", "tkill", "ugetrlimit", "uname",
    "wait4", "waitid", "waitpid", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self",
    /* credentials */
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32",
    "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
    "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
    "setreuid", "setreuid32", "setuid", "setuid32",
    /* sockets (socket itself is filtered by family below), pipes, SysV and POSIX IPC */
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
    "sendto", "setsockopt", "shutdown", "socketcall", "socketpair", "pipe", "pipe2", "ipc",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt",
    "shmget", "ioctl",
    /* docker allows these from kernel 4.8, where ptrace can no longer bypass seccomp; the
     * kernel's own checks still apply (no CAP_SYS_PTRACE: only a non-privileged, dumpable
     * process of the same user, so never lade's pid 1) */
    "ptrace", "process_vm_readv", "process_vm_writev", NULL};

/* Newer than the libseccomp lade may be built with (Debian 12 has 2.5.4): added by number on
 * the native arch, where the number is the same on every arch lade supports (the unified
 * numbering from Linux 5.1 on). */
static const struct raw_syscall {
    const char *name;
    int nr;
} raw_syscalls[] = {
    {"statmount", 457},  {"listmount", 458},   {"mseal", 462},         {"setxattrat", 463},
    {"getxattrat", 464}, {"listxattrat", 465}, {"removexattrat", 466},
};

enum rule_arg {
    ARG_NONE,
    ARG_CLONE_NO_NS,   /* the flags argument holds no namespace flag */
    ARG_SOCKET_FAMILY, /* any address family but AF_ALG and AF_VSOCK */
    ARG_PERSONALITY,   /* PER_LINUX, UNAME26, PER_LINUX32, their combination, or a query */
};

/* A rule of docker's profile that depends on the arch, an argument or a capability. */
struct seccomp_rule {
    const char *names; /* space-separated */
    unsigned arches;   /* PROFILE_ARCH_* mask; 0: every arch */
    enum rule_arg arg;
    int cap;          /* >= 0: only with that capability, or (unless_cap) only without it */
    bool unless_cap;  /* the rule applies when cap is absent */
    int errno_result; /* 0: allow; else fail with this errno */
};

#define ALL 0
#define X86_FAMILY (PROFILE_ARCH_X86_64 | PROFILE_ARCH_X86 | PROFILE_ARCH_X32)
#define S390 (PROFILE_ARCH_S390X | PROFILE_ARCH_S390)

static const struct seccomp_rule rules[] = {
    {"socket", ALL, ARG_SOCKET_FAMILY, -1, false, 0},
    {"personality", ALL, ARG_PERSONALITY, -1, false, 0},
    {"arch_prctl", PROFILE_ARCH_X86_64 | PROFILE_ARCH_X32, ARG_NONE, -1, false, 0},
    {"modify_ldt", X86_FAMILY, ARG_NONE, -1, false, 0},
    {"uretprobe", PROFILE_ARCH_X86_64, ARG_NONE, -1, false, 0},
    {"arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
     PROFILE_ARCH_AARCH64 | PROFILE_ARCH_ARM, ARG_NONE, -1, false, 0},
    {"sync_file_range2 swapcontext", PROFILE_ARCH_PPC64LE, ARG_NONE, -1, false, 0},
    {"s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", S390, ARG_NONE, -1, false, 0},
    {"riscv_flush_icache riscv_hwprobe", PROFILE_ARCH_RISCV64, ARG_NONE, -1, false, 0},
    /* what a capability makes possible anyway: the call is allowed with the capability */
    {"open_by_handle_at", ALL, ARG_NONE, CAP_DAC_READ_SEARCH, false, 0},
    {"bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
     "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
     "sethostname setns syslog umount umount2 unshare",
     ALL, ARG_NONE, CAP_SYS_ADMIN, false, 0},
    /* s390 passes clone's flags second: add_syscall picks the argument */
    {"clone", ALL, ARG_CLONE_NO_NS, CAP_SYS_ADMIN, true, 0},
    {"clone3", ALL, ARG_NONE, CAP_SYS_ADMIN, true, ENOSYS},
    {"reboot", ALL, ARG_NONE, CAP_SYS_BOOT, false, 0},
    {"chroot", ALL, ARG_NONE, CAP_SYS_CHROOT, false, 0},
    {"delete_module init_module finit_module", ALL, ARG_NONE, CAP_SYS_MODULE, false, 0},
    {"acct", ALL, ARG_NONE, CAP_SYS_PACCT, false, 0},
    {"kcmp pidfd_getfd process_madvise", ALL, ARG_NONE, CAP_SYS_PTRACE, false, 0},
    {"iopl ioperm", ALL, ARG_NONE, CAP_SYS_RAWIO, false, 0},
    {"settimeofday stime clock_settime clock_settime64", ALL, ARG_NONE, CAP_SYS_TIME, false, 0},
    {"vhangup", ALL, ARG_NONE, CAP_SYS_TTY_CONFIG, false, 0},
    {"get_mempolicy mbind set_mempolicy set_mempolicy_home_node", ALL, ARG_NONE, CAP_SYS_NICE,
     false, 0},
    {"syslog", ALL, ARG_NONE, CAP_SYSLOG, false, 0},
    {"bpf", ALL, ARG_NONE, CAP_BPF, false, 0},
    {"perf_event_open", ALL, ARG_NONE, CAP_PERFMON, false, 0},
};

/* The arches a filter built on this machine covers, as docker's profile maps them: a 64-bit
 * kernel also runs the compat ABIs, and each needs its own rules or it would be a way around
 * them (an i386 binary's int 0x80 reaches the kernel with i386 numbers). */
static const struct arch_family {
    uint32_t native;
    unsigned members; /* the native arch's PROFILE_ARCH_* bit first */
} families[] = {
    {SCMP_ARCH_X86_64, PROFILE_ARCH_X86_64 | PROFILE_ARCH_X86 | PROFILE_ARCH_X32},
    {SCMP_ARCH_AARCH64, PROFILE_ARCH_AARCH64 | PROFILE_ARCH_ARM},
    {SCMP_ARCH_S390X, PROFILE_ARCH_S390X | PROFILE_ARCH_S390},
    {SCMP_ARCH_RISCV64, PROFILE_ARCH_RISCV64},
    {SCMP_ARCH_PPC64LE, PROFILE_ARCH_PPC64LE},
};

static const struct arch_token {
    unsigned bit;
    uint32_t token;
} arch_tokens[] = {
    {PROFILE_ARCH_X86_64, SCMP_ARCH_X86_64},   {PROFILE_ARCH_X86, SCMP_ARCH_X86},
    {PROFILE_ARCH_X32, SCMP_ARCH_X32},         {PROFILE_ARCH_AARCH64, SCMP_ARCH_AARCH64},
    {PROFILE_ARCH_ARM, SCMP_ARCH_ARM},         {PROFILE_ARCH_S390X, SCMP_ARCH_S390X},
    {PROFILE_ARCH_S390, SCMP_ARCH_S390},       {PROFILE_ARCH_RISCV64, SCMP_ARCH_RISCV64},
    {PROFILE_ARCH_PPC64LE, SCMP_ARCH_PPC64LE},
};

unsigned
profile_native_arches(void)
{
    uint32_t native = seccomp_arch_native();

    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (families[i].native == native)
            return families[i].members;
    return 0;
}

static bool
rule_applies(const struct seccomp_rule *r, unsigned arch, uint64_t caps)
{
    if (r->arches != ALL && !(r->arches & arch))
        return false;
    if (r->cap < 0)
        return true;
    return ((caps >> r->cap) & 1) != (unsigned) r->unless_cap;
}

static bool
names_contain(const char *names, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = names; (p = strstr(p, name)) != NULL; p += len)
        if ((p == names || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

int
profile_verdict(const char *name, unsigned arch, uint64_t caps)
{
    for (size_t i = 0; allowed_always[i] != NULL; i++)
        if (strcmp(allowed_always[i], name) == 0)
            return PROFILE_ALLOW;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rule_applies(&rules[i], arch, caps) && names_contain(rules[i].names, name)) {
            if (rules[i].errno_result != 0)
                return rules[i].errno_result;
            return rules[i].arg == ARG_NONE ? PROFILE_ALLOW : PROFILE_ALLOW_IF_ARGS;
        }
    return EPERM;
}

/* ---- compiling the filter ---- */

static void
ctx_release(scmp_filter_ctx *ctx)
{
    if (*ctx != NULL)
        seccomp_release(*ctx);
}
#define cleanup_seccomp __attribute__((cleanup(ctx_release)))

static int
scmp_error(struct lade_error *err, int rc, const char *what, const char *name)
{
    return lade_error_errno(err, -rc, "seccomp: %s%s%s", what, name ? " " : "", name ? name : "");
}

/* One rule for the syscall name on ctx's single arch. A name the arch lacks is skipped; one
 * unknown to libseccomp too, unless it is in raw_syscalls (then only the native arch). */
static int
add_syscall(scmp_filter_ctx ctx, bool native, const char *name, enum rule_arg arg, int errno_result,
            struct lade_error *err)
{
    uint32_t action = errno_result ? SCMP_ACT_ERRNO((uint32_t) errno_result) : SCMP_ACT_ALLOW;
    int nr = seccomp_syscall_resolve_name(name), rc = 0;
    unsigned flag_arg = (seccomp_arch_native() == SCMP_ARCH_S390X) ? 1 : 0;

    if (nr == __NR_SCMP_ERROR) {
        for (size_t i = 0; native && i < sizeof(raw_syscalls) / sizeof(raw_syscalls[0]); i++)
            if (strcmp(raw_syscalls[i].name, name) == 0)
                nr = raw_syscalls[i].nr;
        if (nr == __NR_SCMP_ERROR)
            return 0;
    }
    switch (arg) {
    case ARG_NONE:
        rc = seccomp_rule_add(ctx, action, nr, 0);
        break;
    case ARG_CLONE_NO_NS:
        rc = seccomp_rule_add(ctx, action, nr, 1,
                              SCMP_CMP(flag_arg, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0));
        break;
    case ARG_SOCKET_FAMILY:
        rc = seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_LT, AF_ALG_));
        if (rc == 0)
            rc = seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_ALG_ + 1));
        if (rc == 0)
            rc = seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_GT, AF_VSOCK_));
        break;
    case ARG_PERSONALITY: {
        static const uint64_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
        for (size_t i = 0; rc == 0 && i < sizeof(personas) / sizeof(personas[0]); i++)
            rc = seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_EQ, personas[i]));
        break;
    }
    }
    /* -EFAULT: the arch has no such call (libseccomp translates by name) */
    if (rc < 0 && rc != -EFAULT && rc != -EDOM)
        return scmp_error(err, rc, "cannot add a rule for", name);
    return 0;
}

static int
add_named_rule(scmp_filter_ctx ctx, bool native, const struct seccomp_rule *r,
               struct lade_error *err)
{
    char name[64];

    for (const char *p = r->names; *p != '\0';) {
        size_t n = strcspn(p, " ");
        snprintf(name, sizeof(name), "%.*s", (int) n, p);
        if (add_syscall(ctx, native, name, r->arg, r->errno_result, err) < 0)
            return -1;
        p += n + (p[n] == ' ');
    }
    return 0;
}

/* The filter for one arch of the family; rules are added with native numbers, which
 * libseccomp translates by name. */
static scmp_filter_ctx
build_arch(unsigned arch, uint32_t token, uint64_t caps, struct lade_error *err)
{
    cleanup_seccomp scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    bool native = token == seccomp_arch_native();
    int rc;

    if (ctx == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "seccomp: cannot create a filter"), NULL;
    /* No PR_SET_NO_NEW_PRIVS: setuid programs work in a docker RUN; lade loads the filter
     * while it still has CAP_SYS_ADMIN. */
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
        return scmp_error(err, rc, "cannot keep no_new_privs off", NULL), NULL;
    if (!native && ((rc = seccomp_arch_add(ctx, token)) < 0 ||
                    (rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE)) < 0))
        return scmp_error(err, rc, "cannot select an arch", NULL), NULL;
    for (size_t i = 0; allowed_always[i] != NULL; i++)
        if (add_syscall(ctx, native, allowed_always[i], ARG_NONE, 0, err) < 0)
            return NULL;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rule_applies(&rules[i], arch, caps) && add_named_rule(ctx, native, &rules[i], err) < 0)
            return NULL;
    scmp_filter_ctx out = ctx;
    ctx = NULL;
    return out;
}

/* One filter for every arch of this machine's family, merged. */
static scmp_filter_ctx
build_filter(uint64_t caps, struct lade_error *err)
{
    cleanup_seccomp scmp_filter_ctx all = NULL;
    unsigned arches = profile_native_arches();
    int rc;

    if (arches == 0)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "seccomp: no profile for this machine's architecture"),
               NULL;
    for (size_t i = 0; i < sizeof(arch_tokens) / sizeof(arch_tokens[0]); i++) {
        if (!(arches & arch_tokens[i].bit))
            continue;
        scmp_filter_ctx one = build_arch(arch_tokens[i].bit, arch_tokens[i].token, caps, err);
        if (one == NULL)
            return NULL;
        if (all == NULL) {
            all = one;
        } else if ((rc = seccomp_merge(all, one)) < 0) {
            seccomp_release(one);
            return scmp_error(err, rc, "cannot merge the arches' filters", NULL), NULL;
        }
    }
    scmp_filter_ctx out = all;
    all = NULL;
    return out;
}

/* The filter for SANDBOX_DEFAULT_CAPS as BPF, compiled once per process by the caller before it
 * forks (sandbox_seccomp_prepare): libseccomp takes ~12 ms of CPU to build and optimise it, a
 * seventh of a one-RUN build's CPU when every RUN's child compiled it again. Written once under
 * pthread_once, read-only afterwards; a child gets its copy with the fork. */
static pthread_once_t prepared_once = PTHREAD_ONCE_INIT;
static struct sock_filter *prepared;
static unsigned short prepared_len;

/* The optimised filter for caps, not loaded (NULL with err set). */
static scmp_filter_ctx
optimised_filter(uint64_t caps, struct lade_error *err)
{
    scmp_filter_ctx ctx = build_filter(caps, err);

    if (ctx != NULL)
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); /* a binary tree: faster */
    return ctx;
}

static void
prepare(void)
{
    struct lade_error ignored = {0}; /* the child compiles again and reports the failure */
    cleanup_seccomp scmp_filter_ctx ctx = optimised_filter(SANDBOX_DEFAULT_CAPS, &ignored);
    cleanup_close int fd = memfd_create("lade-seccomp", MFD_CLOEXEC);
    struct stat st;

    if (ctx == NULL || fd < 0 || seccomp_export_bpf(ctx, fd) < 0 || fstat(fd, &st) < 0 ||
        st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
        st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return;
    struct sock_filter *f = xmalloc((size_t) st.st_size);
    if (pread(fd, f, (size_t) st.st_size, 0) != st.st_size) {
        free(f);
        return;
    }
    prepared = f;
    prepared_len = (unsigned short) (st.st_size / sizeof(struct sock_filter));
}

bool
sandbox_seccomp_prepare(void)
{
    pthread_once(&prepared_once, prepare);
    return prepared != NULL;
}

int
sandbox_seccomp_load(uint64_t caps, struct lade_error *err)
{
    if (caps == SANDBOX_DEFAULT_CAPS && prepared != NULL) {
        /* what seccomp_load does with this filter's attributes: no flags, no NNP */
        struct sock_fprog prog = {.len = prepared_len, .filter = prepared};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
            return lade_error_sys(err, "seccomp: cannot load the filter");
        return 0;
    }
    cleanup_seccomp scmp_filter_ctx ctx = optimised_filter(caps, err);
    int rc;

    if (ctx == NULL)
        return -1;
    if ((rc = seccomp_load(ctx)) < 0)
        return scmp_error(err, rc, "cannot load the filter", NULL);
    return 0;
}

int
sandbox_seccomp_available(void)
{
    return profile_native_arches() != 0 && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
           seccomp_api_get() >= 1;
}

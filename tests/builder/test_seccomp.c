/* SPDX-License-Identifier: Apache-2.0 */
/* The RUN seccomp profile: its table (what docker's default profile allows, refuses, and with
 * which errno) and the loaded filter, tried in a forked child with real system calls. */
#include "../helpers/test.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/sandbox/sandbox-internal.h"

#define CAP(c) (1ULL << (c))
#define X86_64 PROFILE_ARCH_X86_64

static void
expect_verdict(const char *const *names, size_t n, int verdict)
{
    for (size_t i = 0; i < n; i++)
        if (profile_verdict(names[i], X86_64, SANDBOX_DEFAULT_CAPS) != verdict)
            fail_msg("%s: verdict %d, expected %d", names[i],
                     profile_verdict(names[i], X86_64, SANDBOX_DEFAULT_CAPS), verdict);
}

static void
test_seccomp_refuses_what_docker_refuses(void **state)
{
    const char *const refused[] = {"keyctl",
                                   "add_key",
                                   "request_key",
                                   "mount",
                                   "umount2",
                                   "bpf",
                                   "perf_event_open",
                                   "kexec_load",
                                   "init_module",
                                   "finit_module",
                                   "open_by_handle_at",
                                   "unshare",
                                   "setns",
                                   "pivot_root",
                                   "swapon",
                                   "reboot",
                                   "acct",
                                   "syslog",
                                   "iopl",
                                   "settimeofday"};

    (void) state;
    expect_verdict(refused, sizeof(refused) / sizeof(refused[0]), EPERM);
}

static void
test_seccomp_allows_common_calls(void **state)
{
    const char *const allowed[] = {"read",   "openat", "execve",    "fork",        "setuid",
                                   "capset", "chroot", "ptrace",    "wait4",       "statx",
                                   "ioctl",  "prctl",  "fchmodat2", "close_range", "arch_prctl"};

    (void) state;
    expect_verdict(allowed, sizeof(allowed) / sizeof(allowed[0]), PROFILE_ALLOW);
}

/* Rules that depend on capabilities, arguments and the arch, as in docker's profile. */
static void
test_seccomp_conditions(void **state)
{
    uint64_t caps = SANDBOX_DEFAULT_CAPS;

    (void) state;
    assert_int_equal(profile_verdict("clone3", X86_64, caps), ENOSYS);
    assert_int_equal(profile_verdict("clone", X86_64, caps), PROFILE_ALLOW_IF_ARGS);
    assert_int_equal(profile_verdict("socket", X86_64, caps), PROFILE_ALLOW_IF_ARGS);
    assert_int_equal(profile_verdict("personality", X86_64, caps), PROFILE_ALLOW_IF_ARGS);
    /* with CAP_SYS_ADMIN, namespaces and mounts are allowed, clone3 too */
    assert_int_equal(profile_verdict("mount", X86_64, caps | CAP(CAP_SYS_ADMIN)), PROFILE_ALLOW);
    assert_int_equal(profile_verdict("clone3", X86_64, caps | CAP(CAP_SYS_ADMIN)), PROFILE_ALLOW);
    assert_int_equal(profile_verdict("clone", X86_64, caps | CAP(CAP_SYS_ADMIN)), PROFILE_ALLOW);
    /* docker's default set has CAP_SYS_CHROOT but not CAP_SYS_PTRACE */
    assert_int_equal(profile_verdict("chroot", X86_64, 0), EPERM);
    assert_int_equal(profile_verdict("kcmp", X86_64, caps), EPERM);
    assert_int_equal(profile_verdict("kcmp", X86_64, caps | CAP(CAP_SYS_PTRACE)), PROFILE_ALLOW);
    /* arch_prctl only for x86_64 and x32; modify_ldt on all three x86 ABIs */
    assert_int_equal(profile_verdict("arch_prctl", PROFILE_ARCH_X86, caps), EPERM);
    assert_int_equal(profile_verdict("arch_prctl", PROFILE_ARCH_X32, caps), PROFILE_ALLOW);
    assert_int_equal(profile_verdict("modify_ldt", PROFILE_ARCH_X86, caps), PROFILE_ALLOW);
    assert_int_equal(profile_verdict("modify_ldt", PROFILE_ARCH_AARCH64, caps), EPERM);
    assert_int_equal(profile_verdict("no_such_call", X86_64, caps), EPERM);
}

static void
test_seccomp_covers_compat_arches(void **state)
{
    (void) state;
#if defined(__x86_64__)
    assert_int_equal(profile_native_arches(),
                     PROFILE_ARCH_X86_64 | PROFILE_ARCH_X86 | PROFILE_ARCH_X32);
#elif defined(__aarch64__)
    assert_int_equal(profile_native_arches(), PROFILE_ARCH_AARCH64 | PROFILE_ARCH_ARM);
#endif
    assert_int_equal(sandbox_seccomp_available(), profile_native_arches() != 0);
}

/* Bits of the child's exit status: one per check that failed. */
static int
filtered_checks(void)
{
    int bad = 0;
    cleanup_free char *status = NULL;

    errno = 0;
    if (syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0) != -1 || errno != EPERM)
        bad |= 1 << 0;
    if (unshare(CLONE_NEWUSER) != -1 || errno != EPERM)
        bad |= 1 << 1;
    if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
        bad |= 1 << 2;
    if (syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0) != -1 || errno != EPERM)
        bad |= 1 << 3;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        bad |= 1 << 4;
    close(fd);
    if (socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0) != -1 || errno != EPERM)
        bad |= 1 << 5;
    if (personality(0xffffffff) == -1 || personality(PER_BSD) != -1 || errno != EPERM)
        bad |= 1 << 6;
    if (read_file_at(AT_FDCWD, "/proc/self/status", 1 << 16, &status, NULL, NULL) < 0 ||
        strstr(status, "Seccomp:\t2") == NULL || strstr(status, "NoNewPrivs:\t0") == NULL)
        bad |= 1 << 7;
    if (getpid() <= 0)
        bad |= 1 << 8;
    return bad;
}

/* Loads the filter in a forked child and runs filtered_checks there. */
static void
check_in_filtered_child(void)
{
    struct lade_error err = {0};
    int ws;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (sandbox_seccomp_load(SANDBOX_DEFAULT_CAPS, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            _exit(255);
        }
        _exit(filtered_checks());
    }
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    if (WEXITSTATUS(ws) != 0)
        fail_msg("checks failed in the filtered child: mask 0x%x", WEXITSTATUS(ws));
}

static void
test_seccomp_filter_loaded_in_child(void **state)
{
    (void) state;
    if (geteuid() != 0 || !sandbox_seccomp_available())
        test_skip("loading a seccomp filter without no_new_privs needs root");
    check_in_filtered_child();
}

/* The filter compiled once in the parent (sandbox_seccomp_prepare, as sandbox_run does before
 * it forks) and loaded in a child as BPF refuses and allows the same calls as a compiled one. */
static void
test_seccomp_prepared_filter_loaded_in_child(void **state)
{
    (void) state;
    if (geteuid() != 0 || !sandbox_seccomp_available())
        test_skip("loading a seccomp filter without no_new_privs needs root");
    assert_true(sandbox_seccomp_prepare());
    assert_true(sandbox_seccomp_prepare()); /* once: the second call finds it */
    check_in_filtered_child();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seccomp_refuses_what_docker_refuses),
        cmocka_unit_test(test_seccomp_allows_common_calls),
        cmocka_unit_test(test_seccomp_conditions),
        cmocka_unit_test(test_seccomp_covers_compat_arches),
        cmocka_unit_test(test_seccomp_filter_loaded_in_child),
        cmocka_unit_test(test_seccomp_prepared_filter_loaded_in_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

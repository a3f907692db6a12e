/* SPDX-License-Identifier: Apache-2.0 */
/* run_tty.c: the relay of lade run -t between the caller and a pty whose master comes over the
 * socket, as the sandbox sends it. A real pty from /dev/ptmx stands for the sandbox's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../builder/cmd/run_tty.h"
#include "../../builder/common/fsutil.h"

/* The sandbox failed before it sent a terminal: finishing must not wait for one. */
static void
test_run_tty_finish_without_terminal(void **state)
{
    struct lade_error err = {0};
    struct run_tty t;
    sigset_t before, after;

    (void) state;
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    if (run_tty_start(&t, false, &err) < 0)
        fail_msg("%s", err.msg);
    run_tty_finish(&t);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    assert_int_equal(sigismember(&before, SIGWINCH), sigismember(&after, SIGWINCH));
    assert_int_equal(t.sock[0], -1);
    assert_int_equal(t.wake[1], -1);
}

/* What the process writes on its terminal reaches stdout, the last bytes too, and the window
 * size follows lade's terminal (none here: the pty keeps its own). */
static void
test_run_tty_relays_output(void **state)
{
    struct lade_error err = {0};
    struct run_tty t;
    int master, slave, out[2], saved_stdout;
    char buf[256];
    ssize_t n;
    size_t got = 0;

    (void) state;
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || unlockpt(master) < 0)
        skip();
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(slave >= 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    saved_stdout = dup(1);
    assert_int_equal(dup2(out[1], 1), 1);

    if (run_tty_start(&t, false, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(fd_send(t.sock[1], master), 0);
    close(master);
    assert_int_equal(write(slave, "hello\n", 6), 6);
    assert_int_equal(write(slave, "last", 4), 4);
    close(slave); /* the process ended */
    run_tty_finish(&t);

    dup2(saved_stdout, 1);
    close(saved_stdout);
    close(out[1]);
    while ((n = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t) n;
    close(out[0]);
    buf[got] = '\0';
    /* the pty's ONLCR turns "\n" into "\r\n", as a terminal shows it */
    assert_string_equal(buf, "hello\r\nlast");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_tty_finish_without_terminal),
        cmocka_unit_test(test_run_tty_relays_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* lade run -t: relays between the caller's terminal and the pty the sandbox allocates. */

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <termios.h>

#include "../common/error.h"

struct run_tty {
    int sock[2]; /* sock[1] is the sandbox's tty_socket; the relay receives on sock[0] */
    int wake[2]; /* lade run writes here once the process has ended */
    bool interactive, raw, started;
    struct termios saved; /* the caller's terminal before raw mode (raw true) */
    sigset_t winch, old_mask;
    pthread_t thread;
};

/* Starts the relay thread; pass t->sock[1] as the spec's tty_socket. With interactive, stdin is
 * relayed and, when it is a terminal, put in raw mode until run_tty_finish. */
int run_tty_start(struct run_tty *t, bool interactive, struct lade_error *err);
/* After sandbox_run: relays what the process wrote last, ends the thread, restores the
 * caller's terminal and signal mask, closes the fds. Also after a failed run_tty_start. */
void run_tty_finish(struct run_tty *t);

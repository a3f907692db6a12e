# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016  # commands for the image's shell
# `lade run -t` (issue 10): the process gets a pty of the sandbox's devpts as its terminal, the
# caller's window size, and with -i the caller's terminal in raw mode, restored on exit. The
# caller's terminal is util-linux's `script`.

# build_tty_image: a busybox image with tty and stty, as tty:1.
build_tty_image() {
    command -v script >/dev/null || fail "no script (util-linux's bsdutils)"
    write_context "$WORK/ctx" <<'EOF'
FROM scratch
COPY rootfs/ /
EOF
    ln -s busybox "$WORK/ctx/rootfs/bin/tty"
    ln -s busybox "$WORK/ctx/rootfs/bin/stty"
    run_ok lade build -q -t tty:1 "$WORK/ctx"
}

# in_terminal SHELL-COMMAND: runs it on a new terminal (script's pty), stdin from this stdin;
# OUT is what the terminal showed, without carriage returns.
in_terminal() {
    run_ok script -qec "$1" /dev/null
    OUT=$(tr -d '\r' <<<"$OUT")
}

t_run_tty_gives_a_terminal() {
    build_tty_image
    in_terminal "'$LADE' --root '$ROOT' run -t tty:1 tty"
    assert_match "$OUT" '^/dev/pts/[0-9]+$' "tty inside lade run -t"
    # without -t the process has no terminal, even when lade has one (stdin is /dev/null)
    in_terminal "'$LADE' --root '$ROOT' run tty:1 sh -c 'tty; exit 0'"
    assert_contains "$OUT" "not a tty" "lade run without -t"
    # no terminal around lade: the process still gets its own
    run_ok lade run -t tty:1 sh -c 'tty && test -t 1 && echo stdout-is-a-tty'
    assert_match "$OUT" '^/dev/pts/[0-9]+' "a pty without the caller having one"
    assert_contains "$OUT" "stdout-is-a-tty"
    assert_no_mounts "$ROOT"
}

t_run_tty_window_size_and_status() {
    build_tty_image
    in_terminal "stty cols 77 rows 22; '$LADE' --root '$ROOT' run -t tty:1 stty size"
    assert_eq "22 77" "$OUT" "the caller's window size"
    assert_exit 7 script -qec "'$LADE' --root '$ROOT' run -t tty:1 sh -c 'exit 7'" /dev/null
}

t_run_tty_interactive_raw_and_restored() {
    build_tty_image
    # keys typed reach the process's terminal (which echoes them), its output comes back
    in_terminal "'$LADE' --root '$ROOT' run -i -t tty:1 sh -c 'read -r line; echo \"got \$line\"'" \
        <<<"hello"
    assert_contains "$OUT" "got hello" "input through the pty"
    # the caller's terminal: raw while the process runs (no echo, no ICANON), the same after
    # (a background job's stdin is /dev/null unless redirected: fd 3 keeps the terminal)
    local probe='stty -g > before; stty -a > during-check; exec 3<&0;
        '"'$LADE' --root '$ROOT'"' run -i -t tty:1 sh -c "sleep 1; exit 3" <&3 & sleep 0.5; stty -a -F $(tty) > during;
        wait $!; echo status=$?; stty -g > after'
    in_terminal "$probe" </dev/null
    assert_contains "$OUT" "status=3" "the process's exit status"
    assert_same_file before after "the caller's terminal is restored"
    assert_match "$(cat during-check)" '(^| )echo( |$)' "echo was on before"
    assert_match "$(cat during)" '(^| )-echo( |$)' "raw mode while the process runs: no echo"
    assert_match "$(cat during)" '(^| )-icanon( |$)' "raw mode while the process runs: no line editing"
}

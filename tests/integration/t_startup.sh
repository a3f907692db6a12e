# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What a command loads at start-up (issue 12, goal 3): libcurl and libarchive are opened with
# dlopen by the commands that use them, and hashing does not start OpenSSL's provider machinery
# (which reads openssl.cnf). Counted from the files a traced lade opens, not timed.

# opened LOG: the paths a traced lade opened successfully, one a line.
opened() { sed -n 's/.*open[a-z0-9]*([^"]*"\([^"]*\)".*) = [0-9].*/\1/p' "$1"; }

# trace_opens LOG CMD...: runs CMD under strace, following forks, recording openat.
trace_opens() {
    local log=$1
    shift
    strace -f -qq -e trace=open,openat,openat2 -o "$log" "$@"
}

# assert_not_loaded LOG WHAT: LOG shows no libcurl, no libarchive and no openssl.cnf.
assert_not_loaded() {
    local files
    files=$(opened "$1")
    assert_ne "" "$files" "the trace recorded the opened files"
    assert_not_contains "$files" "libcurl" "$2 does not load libcurl"
    assert_not_contains "$files" "libarchive" "$2 does not load libarchive"
    assert_not_contains "$files" "libxml2" "$2 does not load libarchive's libxml2"
    assert_not_contains "$files" "openssl.cnf" "$2 does not start OpenSSL's configuration"
}

t_startup_version_loads_neither_curl_nor_archive() {
    command -v strace >/dev/null 2>&1 || skip "strace not installed"
    run_ok trace_opens "$WORK/version.trace" "$LADE" version
    assert_contains "$OUT" "lade" "lade version prints its version"
    assert_not_loaded "$WORK/version.trace" "lade version"
    # and the binary does not link them at all
    run_ok ldd "$LADE"
    assert_not_contains "$OUT" "libcurl" "lade is not linked with libcurl"
    assert_not_contains "$OUT" "libarchive" "lade is not linked with libarchive"
}

t_startup_noop_rebuild_loads_only_what_it_uses() {
    command -v strace >/dev/null 2>&1 || skip "strace not installed"
    write_context "$WORK/ctx" <<'DF'
FROM scratch
COPY rootfs/ /
ENV GREETING=hello
RUN echo "$GREETING" > /greeting
LABEL a=b
DF
    # The cold build writes layers: it loads libarchive (the trace can see a loaded library).
    run_ok trace_opens "$WORK/cold.trace" "$LADE" --root "$ROOT" build -t startup:1 "$WORK/ctx"
    assert_contains "$(opened "$WORK/cold.trace")" "libarchive.so" "a cold build loads libarchive"
    run_ok trace_opens "$WORK/noop.trace" "$LADE" --root "$ROOT" build -t startup:1 "$WORK/ctx"
    assert_eq 2 "$(grep -c CACHED <<<"$ERR")" "the rebuild is cached" "$ERR"
    assert_not_loaded "$WORK/noop.trace" "a no-op rebuild"
}

t_startup_registry_command_loads_curl() {
    command -v strace >/dev/null 2>&1 || skip "strace not installed"
    # Port 1 on loopback refuses at once: the pull fails, but only after loading libcurl.
    assert_exit 5 trace_opens "$WORK/pull.trace" "$LADE" --root "$ROOT" --retries 0 \
        pull localhost:1/startup:1
    assert_contains "$ERR" "connection refused" "the pull reached the network"
    assert_contains "$(opened "$WORK/pull.trace")" "libcurl.so.4" "a pull loads libcurl"
}

t_startup_missing_library_names_the_debian_package() {
    # A file that is not a library, found first through LD_LIBRARY_PATH, stands for a missing
    # one: lade itself starts (it links neither) and says what to install when it needs one.
    mkdir -p "$WORK/badlib"
    : >"$WORK/badlib/libcurl.so.4"
    : >"$WORK/badlib/libarchive.so.13"
    run_ok env LD_LIBRARY_PATH="$WORK/badlib" "$LADE" version
    assert_exit 1 env LD_LIBRARY_PATH="$WORK/badlib" "$LADE" --root "$ROOT" --retries 0 \
        pull localhost:1/startup:1
    assert_contains "$ERR" "cannot load libcurl.so.4" "the pull names the library"
    assert_contains "$ERR" "install the Debian package libcurl4" "and the package"
    write_context "$WORK/ctx" <<'DF'
FROM scratch
COPY rootfs/ /
DF
    assert_exit 1 env LD_LIBRARY_PATH="$WORK/badlib" "$LADE" --root "$ROOT" build "$WORK/ctx"
    assert_contains "$ERR" "cannot load libarchive.so.13" "the build names the library"
    assert_contains "$ERR" "install the Debian package libarchive13" "and the package"
}

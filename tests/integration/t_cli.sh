# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The command line docker users know: options anywhere, --, exact long names, -q, --help and
# lade help on every command, docker flags lade lacks, build args, man pages, completion,
# make install and make demo.

# cli_context DIR: a busybox image context whose Dockerfile declares ARG VERSION.
cli_context() {
    make_busybox_context "$1"
    printf 'FROM scratch\nARG VERSION=0\nCOPY rootfs/ /\nRUN echo "$VERSION" >/version\n' >"$1/Dockerfile"
}

t_cli_options_after_context() {
    cli_context "$WORK/ctx"
    run_ok lade build "$WORK/ctx" -t app:1 --build-arg VERSION=2 --progress=plain
    run_ok lade run app:1 cat /version
    assert_eq "2" "$OUT" "--build-arg after the context was applied"
    # --opt=value, a bundle of short options and a short option glued to its value
    run_ok lade build -qt app:2 "--build-arg=VERSION=3" "$WORK/ctx"
    run_ok lade build "-tapp:3" "$WORK/ctx"
    run_ok lade images
    assert_match "$OUT" '^app +2 ' "-qt NAME tagged app:2"
    assert_match "$OUT" '^app +3 ' "-tNAME tagged app:3"
    # -- ends the options: a context directory whose name starts with a dash
    mkdir -p "$WORK/d"
    cli_context "$WORK/d/-ctx"
    (cd "$WORK/d" && "$LADE" --root "$ROOT" build -t dash:1 -- -ctx) >"$WORK/out" 2>&1 ||
        fail "build -- -ctx failed" "$(cat "$WORK/out")"
    run_ok lade inspect dash:1
    # lade run: options end at the image, what follows is the command's
    run_ok lade run --rm app:1 echo --help -t
    assert_eq "--help -t" "$OUT" "the command got its own options"
}

t_cli_long_options_are_exact() {
    cli_context "$WORK/ctx"
    assert_exit 2 lade build --no "$WORK/ctx"
    assert_contains "$ERR" "lade build: unknown option --no" "--no is not --no-cache"
    assert_contains "$ERR" "See 'lade build --help'." "a usage hint"
    assert_exit 2 lade build --compres gzip "$WORK/ctx"
    assert_contains "$ERR" "unknown option --compres"
    assert_exit 2 lade build --foo "$WORK/ctx"
    assert_eq "lade build: unknown option --foo" "$(printf '%s\n' "$ERR" | head -n 1)"
    assert_exit 2 lade images --quie
    assert_exit 2 lade build -t
    assert_contains "$ERR" "needs a value"
    assert_exit 2 lade build "$WORK/ctx" "$WORK/ctx"
    assert_exit 2 lade --roo /tmp images
}

t_cli_quiet_prints_only_the_image_id() {
    cli_context "$WORK/ctx"
    run_ok lade build -q --iidfile "$WORK/iid" "$WORK/ctx"
    assert_eq 1 "$(printf '%s\n' "$OUT" | wc -l)" "one line on stdout"
    assert_match "$OUT" '^sha256:[0-9a-f]{64}$' "the line is an image ID"
    assert_eq "$(cat "$WORK/iid")" "$OUT" "the ID --iidfile writes"
    local id
    id=$("$LADE" --root "$ROOT" build --quiet "$WORK/ctx" -t q:1)
    assert_eq "$OUT" "$id" "x=\$(lade build --quiet ctx) holds the ID"
    run_ok lade inspect q:1
    assert_contains "$OUT" "\"Id\": \"$id\"" "lade inspect shows the same ID"
    # errors still reach stderr, with their exit code, and stdout stays empty
    printf 'FROM scratch\nFROBNICATE x\n' >"$WORK/ctx/Dockerfile"
    assert_exit 3 lade build -q "$WORK/ctx"
    assert_eq "" "$OUT" "nothing on stdout after an error"
    assert_contains "$ERR" "FROBNICATE"
}

t_cli_help_everywhere() {
    local cmd words
    run_ok lade help --words
    words=$OUT
    for cmd in build plan images inspect tag rmi save load run pull push login logout prune \
        system help version; do
        grep -qx "$cmd" <<<"$words" || fail "lade help --words lacks $cmd"
        run_ok lade "$cmd" --help
        assert_contains "$OUT" "Usage:  lade $cmd " "lade $cmd --help"
        assert_eq "" "$ERR" "--help writes to stdout only"
        local help=$OUT
        run_ok lade "$cmd" -h
        assert_eq "$help" "$OUT" "-h is --help"
        run_ok lade help "$cmd"
        assert_eq "$help" "$OUT" "lade help $cmd is lade $cmd --help"
    done
    run_ok lade help
    local usage=$OUT
    run_ok lade --help
    assert_eq "$usage" "$OUT" "lade --help is lade help"
    # the global usage names every command and every option of each
    for cmd in $words; do
        assert_match "$usage" "^  $cmd " "the usage lists $cmd"
        run_ok lade help --words "$cmd"
        local opt
        for opt in $(printf '%s\n' "$OUT" | cut -f1 | grep '^--' | grep -vx -- --help); do
            assert_match "$usage" "[ |]$opt( |\$)" "the usage lists $cmd $opt"
            assert_contains "$(lade "$cmd" --help)" "$opt" "lade $cmd --help lists $opt"
        done
    done
    run_ok lade build --help
    assert_contains "$OUT" "--build-arg K[=V]"
    run_ok lade version
    assert_match "$OUT" '^lade version [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]{7,}(-dirty)?\)$'
    assert_exit 2 lade help no-such-command
}

t_cli_docker_flags_table() {
    cli_context "$WORK/ctx"
    # accepted and ignored, as docker does
    run_ok lade build --rm --force-rm --rm=false --provenance=false --sbom=false -t t:1 "$WORK/ctx"
    run_ok lade build --squash --isolation default -t t:2 "$WORK/ctx"
    assert_contains "$ERR" "lade build: warning: --squash is ignored ("
    # refused with a reason, never the generic error
    assert_exit 2 lade build --cache-to type=inline "$WORK/ctx"
    assert_contains "$ERR" "--cache-to type=inline is not supported: use type=registry"
    assert_exit 2 lade build --ulimit nofile=10 "$WORK/ctx"
    assert_contains "$ERR" "lade build: --ulimit is not supported ("
    assert_exit 2 lade build --attest type=sbom,generator=image "$WORK/ctx"
    assert_contains "$ERR" "--attest: generator= (an SBOM scanner image) is not implemented yet"
    assert_exit 2 lade build -D "$WORK/ctx"
    assert_contains "$ERR" "lade build: --debug is not supported ("
    # every flag of the table has a row in the README's table
    run_ok lade build --help
    local flag
    for flag in $(printf '%s\n' "$OUT" | sed -n '/^Docker options/,$p' | grep -o -- '--[a-z-]*'); do
        grep -qE -- "^\| .*\`$flag\`" "$TOP/README.md" || fail "README's docker flags table lacks $flag"
    done
}

t_cli_build_args() {
    cli_context "$WORK/ctx"
    run_ok lade build --build-arg NOPE=1 --build-arg VERSION=1 --build-arg HTTP_PROXY=x "$WORK/ctx"
    assert_contains "$ERR" "[Warning] One or more build-args [NOPE] were not consumed"
    run_ok lade build --build-arg VERSION=1 "$WORK/ctx"
    assert_not_contains "$ERR" "were not consumed" "no warning when every build arg is declared"
    # SOURCE_DATE_EPOCH as a build arg sets the epoch as --source-date-epoch does, and an ARG
    # of that name sees it
    printf 'FROM scratch\nARG SOURCE_DATE_EPOCH\nCOPY rootfs/ /\nRUN echo "$SOURCE_DATE_EPOCH" >/e\n' \
        >"$WORK/ctx/Dockerfile"
    run_ok lade build -q --build-arg SOURCE_DATE_EPOCH=1700000000 -t e:arg "$WORK/ctx"
    local by_arg=$OUT
    run_ok lade build -q --source-date-epoch 1700000000 -t e:flag "$WORK/ctx"
    assert_eq "$by_arg" "$OUT" "the same image as --source-date-epoch 1700000000"
    run_ok env SOURCE_DATE_EPOCH=1700000000 "$LADE" --root "$ROOT" build -q "$WORK/ctx"
    assert_eq "$by_arg" "$OUT" "the same image as SOURCE_DATE_EPOCH in the environment"
    run_ok lade run e:arg cat /e
    assert_eq 1700000000 "$OUT" "ARG SOURCE_DATE_EPOCH sees the value"
    run_ok lade inspect e:arg
    assert_contains "$OUT" '"created": "2023-11-14T22:13:20Z"' "the image is dated by the epoch"
    assert_exit 2 lade build --build-arg SOURCE_DATE_EPOCH=yesterday "$WORK/ctx"
}

t_cli_install_man_completion() {
    command -v man >/dev/null || fail "no man: install man-db (the Makefile's DEB_TEST)"
    local d="$WORK/inst"
    # -o: the lade under test is used as it is, never rebuilt; B: man pages built in WORK
    run_ok make -s -C "$TOP" -o "$LADE" install LADE="$LADE" B="$WORK/b" DESTDIR="$d" PREFIX=/usr
    assert_exists "$d/usr/bin/lade"
    assert_not_contains "$(readelf -S "$d/usr/bin/lade")" ".symtab" "make install strips the binary"
    local cmd
    for cmd in "" $("$LADE" help --words); do
        local page="$d/usr/share/man/man1/lade${cmd:+-$cmd}.1"
        assert_exists "$page"
        run_ok env MANWIDTH=80 man -l "$page"
        assert_match "$OUT" "^ +lade${cmd:+-$cmd} +- " "the man page of lade $cmd has its NAME"
    done
    run_ok env MANWIDTH=200 man -l "$d/usr/share/man/man1/lade-build.1"
    assert_contains "$OUT" "--source-date-epoch SECONDS|now"
    assert_contains "$OUT" "--cache-to"
    assert_exists "$d/usr/share/zsh/site-functions/_lade"
    # bash completion, asked the way bash asks it
    local comp="$d/usr/share/bash-completion/completions/lade"
    run_ok bash -c 'source "$1"; COMP_WORDS=("$2" bu); COMP_CWORD=1; _lade; echo "${COMPREPLY[*]}"' \
        _ "$comp" "$LADE"
    assert_eq "build" "$OUT" "completes the command"
    run_ok bash -c 'source "$1"; COMP_WORDS=("$2" build ctx --no-c); COMP_CWORD=3; _lade; echo "${COMPREPLY[*]}"' \
        _ "$comp" "$LADE"
    assert_eq "--no-cache" "$OUT" "completes an option after the context"
    rm -rf "$d"
    run_ok make -s -C "$TOP" -o "$LADE" install LADE="$LADE" B="$WORK/b" DESTDIR="$d" STRIP=
    assert_contains "$(readelf -S "$d/usr/local/bin/lade")" ".symtab" "STRIP= keeps the symbols"
}

t_cli_make_demo_twice_no_apt() {
    mkdir -p "$WORK/shim"
    printf '#!/bin/sh\necho "apt-get $*" >>"%s"\n' "$WORK/apt-calls" >"$WORK/shim/apt-get"
    chmod +x "$WORK/shim/apt-get"
    local i
    for i in 1 2; do
        run_ok env PATH="$WORK/shim:$PATH" LADE_ROOT="$ROOT" \
            make -s -C "$TOP" -o "$LADE" demo LADE="$LADE" B="$WORK/b"
        assert_contains "$OUT" "hello" "make demo ran the demo image (run $i)"
    done
    assert_not_exists "$WORK/apt-calls" "make demo called apt-get: $(cat "$WORK/apt-calls" 2>/dev/null)"
    # the check can see a missing package: then apt-get is called
    run_ok env PATH="$WORK/shim:$PATH" make -s -C "$TOP" deps B="$WORK/b" \
        DEB_TEST=lade-no-such-package
    assert_exists "$WORK/apt-calls" "a missing package is installed"
}

# SPDX-License-Identifier: Apache-2.0
# bash completion for lade. The commands and each command's options come from the lade being
# completed (`lade help --words [COMMAND]`), so they always match its --help and man pages.
# Installed by `make install` into share/bash-completion/completions/lade.

_lade_images() {
    "$1" images 2>/dev/null | awk 'NR > 1 && $1 != "<none>" { print $1 ":" $2 }'
}

_lade() {
    local lade=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local i cmd=
    COMPREPLY=()
    # the command is the first word that is neither a global option nor its value
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --root | --insecure-registry | --retries) i=$((i + 1)) ;;
        -*) ;;
        *)
            cmd=${COMP_WORDS[i]}
            break
            ;;
        esac
    done
    if [ -z "$cmd" ]; then
        case $prev in
        --root)
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return
            ;;
        --insecure-registry | --retries) return ;;
        esac
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "--root --insecure-registry --retries --version --help" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$("$lade" help --words 2>/dev/null)" -- "$cur")
        fi
        return
    fi
    local words value
    words=$("$lade" help --words "$cmd" 2>/dev/null)
    # the previous word takes a value: complete it (files for FILE, nothing to guess otherwise)
    value=$(printf '%s\n' "$words" | awk -F '\t' -v o="$prev" '$1 == o { print $2 }')
    if [ -n "$value" ]; then
        case $value in
        *FILE*) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        esac
        return
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(printf '%s\n' "$words" | cut -f1)" -- "$cur")
        return
    fi
    case $cmd in
    build | plan) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    help) mapfile -t COMPREPLY < <(compgen -W "$("$lade" help --words 2>/dev/null)" -- "$cur") ;;
    system) mapfile -t COMPREPLY < <(compgen -W "df prune" -- "$cur") ;;
    run | inspect | tag | rmi | save | push)
        mapfile -t COMPREPLY < <(compgen -W "$(_lade_images "$lade")" -- "$cur")
        ;;
    esac
}
complete -F _lade lade

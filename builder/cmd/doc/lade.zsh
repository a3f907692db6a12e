#compdef lade
# SPDX-License-Identifier: Apache-2.0
# zsh completion for lade. The commands and each command's options come from the lade being
# completed (`lade help --words [COMMAND]`), so they always match its --help and man pages.
# Installed by `make install` as share/zsh/site-functions/_lade.

_lade() {
    local lade=${words[1]} cmd= prev=${words[CURRENT-1]} value= line
    local -i i=2
    local -a lines names
    # the command is the first word that is neither a global option nor its value
    while (( i < CURRENT )); do
        case ${words[i]} in
        --root|--insecure-registry|--retries) (( i += 2 )); continue ;;
        -*) ;;
        *) cmd=${words[i]}; break ;;
        esac
        (( i++ ))
    done
    if [[ -z $cmd ]]; then
        case $prev in
        --root) _files -/; return ;;
        --insecure-registry|--retries) return ;;
        esac
        if [[ $PREFIX == -* ]]; then
            compadd -- --root --insecure-registry --retries --version --help
        else
            compadd -- ${(f)"$($lade help --words 2>/dev/null)"}
        fi
        return
    fi
    lines=(${(f)"$($lade help --words $cmd 2>/dev/null)"})
    for line in $lines; do
        names+=(${line%%$'\t'*})
        [[ ${line%%$'\t'*} == $prev ]] && value=${line#*$'\t'}
    done
    if [[ -n $value ]]; then
        [[ $value == *FILE* ]] && _files
        return
    fi
    if [[ $PREFIX == -* ]]; then
        compadd -- $names
        return
    fi
    case $cmd in
    build|plan) _files -/ ;;
    help) compadd -- ${(f)"$($lade help --words 2>/dev/null)"} ;;
    system) compadd -- df prune ;;
    run|inspect|tag|rmi|save|push)
        compadd -- ${(f)"$($lade images 2>/dev/null | awk 'NR > 1 && $1 != "<none>" { print $1 ":" $2 }')"} ;;
    esac
}

_lade "$@"

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared internals of parser/: not part of the public contract in parser.h. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"
#include "../builder/common/buf.h"

/* ---- text.c: UTF-8 and the few Unicode properties Go's parser relies on ---- */

#define RUNE_ERROR 0xFFFDu

/* Decodes one rune like Go's utf8.DecodeRune: invalid input gives RUNE_ERROR and width 1.
 * n must be > 0. Returns the width in bytes. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);
void utf8_append(struct lade_buf *b, uint32_t cp);
/* Go's unicode.IsSpace (exact). */
bool uni_is_space(uint32_t cp);
/* Go's unicode.IsLetter / IsDigit: exact for ASCII and Latin-1, approximate above. */
bool uni_is_letter(uint32_t cp);
bool uni_is_digit(uint32_t cp);
/* Go's strings.ToLower for one rune: ASCII, Latin-1, Greek and Cyrillic basics. */
uint32_t uni_to_lower(uint32_t cp);
struct range {
    uint32_t lo, hi;
};
bool in_ranges(uint32_t cp, const struct range *r, size_t n);
/* [\t\v\f\r ]: the whitespace of BuildKit's tokenWhitespace regexp. */
bool is_token_ws(char c);

/* Makes room for element n of an array that grows by appending (capacity: the next power of
 * two), so that building long lists stays linear. */
void *array_grow(void *p, size_t n, size_t size);
/* Appends s (taken) to the NULL-terminated vector v of *n entries; amortised O(1). */
char **strv_append_take(char **v, size_t *n, char *s);

/* Bytes of leading Unicode whitespace in s[0..n). */
size_t span_leading_space(const char *s, size_t n);
/* Length of s[0..n) without trailing Unicode whitespace. */
size_t len_without_trailing_space(const char *s, size_t n);
/* Go's strings.TrimSpace, as a new string. */
char *dup_trim_space(const char *s, size_t n);
/* s with each rune passed through map (NULL: unchanged), as a new string; an invalid byte is
 * kept as it is, or becomes U+FFFD when fix_invalid. */
char *utf8_map(const char *s, uint32_t (*map)(uint32_t), bool fix_invalid);
/* Go's strings.ToLower (see uni_to_lower), as a new string. */
char *dup_lower(const char *s);

/* Go's strconv.Quote appended to b (IsPrint approximated for unassigned code points). */
void go_quote(struct lade_buf *b, const char *s, size_t n);
/* Go's path.Clean; caller frees. */
char *go_path_clean(const char *path);

/* ---- json.c: the JSON rule of BuildKit's parseJSON ---- */

enum json_array_kind {
    JSON_NOT_ARRAY = 0,  /* invalid JSON, not an array, or trailing text: fall back */
    JSON_STRINGS = 1,    /* an array of strings: *out and *lens are filled */
    JSON_NOT_STRINGS = 2 /* a valid array with a non-string element: a hard error */
};
/* text must start with '['. *out (NULL-terminated) and *lens are set only for JSON_STRINGS;
 * strings may contain NUL (\u0000), hence the lengths. */
enum json_array_kind json_parse_string_array(const char *text, size_t len, char ***out,
                                             size_t **lens, size_t *n);

/* ---- expand.c: BuildKit's shell lexer, with its modes ---- */

enum shell_mode {
    SHELL_RAW_QUOTES = 1 << 0,  /* keep quote characters in the output */
    SHELL_RAW_ESCAPES = 1 << 1, /* keep escape characters in the output */
    SHELL_SKIP_UNSET = 1 << 2,  /* leave unset variables as written */
    SHELL_SKIP_QUOTES = 1 << 3, /* quotes are ordinary characters */
};

struct shell_lex {
    char escape;
    unsigned mode; /* enum shell_mode */
    expand_lookup_fn lookup;
    void *ud;
};

/* Processes text: *word gets the single-word result (may be NULL), *words the split words
 * (NULL-terminated, may be NULL). Errors name the problem and the text. */
int shell_process(const struct shell_lex *lx, const char *text, char **word, char ***words,
                  struct lade_error *err);

/* ---- expand_pattern.c: ${var#pat} and friends ---- */

/* Removes the shortest (longest with greedy) prefix/suffix of value matching pattern. */
int pattern_trim(const char *pattern, const char *value, bool suffix, bool greedy, char **out,
                 struct lade_error *err);
/* ${var/pat/repl} (all = false) and ${var//pat/repl} (all = true). */
int pattern_replace(const char *pattern, const char *value, const char *replacement, bool all,
                    char **out, struct lade_error *err);

/* ---- lexer.c: physical lines, directives, continuations, heredoc bodies ---- */

struct lexer {
    const char *src;
    size_t len;
    size_t off;    /* start of the next physical line */
    unsigned line; /* physical lines consumed so far */
    char escape;
    bool directives_done;
    bool seen_escape, seen_syntax, seen_check;
    char *syntax;
    const char *filename;
    char **lines; /* borrowed from the dockerfile being built, for error displays */
    size_t nlines;
};

struct logical_line {
    char *text;          /* continuations joined; owned */
    unsigned start_line; /* first physical line */
    unsigned end_line;   /* last physical line consumed */
    unsigned col;        /* 1-based column of the text's first byte on start_line */
};

/* Splits src into physical lines (*lines, *nlines: without newlines, BOM removed) and checks
 * the line length limit. */
int lexer_init(struct lexer *lx, const char *src, size_t len, const char *filename, char ***lines,
               size_t *nlines, struct lade_error *err);
void lexer_release(struct lexer *lx);
/* 1 with *out filled, 0 at the end, -1 on error. */
int lexer_next(struct lexer *lx, struct logical_line *out, struct lade_error *err);
/* Reads a heredoc body up to its terminator; *content: caller frees. */
int lexer_heredoc_body(struct lexer *lx, const char *name, bool chomp, char **content);

/* A LADE_ERR_PARSE error at line:col of file, with the source line for the caret display. */
int parse_error_at(struct lade_error *err, const char *file, char *const *lines, size_t nlines,
                   unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* ---- heredoc.c ---- */

/* BuildKit's ParseHeredoc on one word: 1 and *h filled (name owned) when it is a heredoc,
 * 0 when it is not, -1 on a lexing error. */
int heredoc_parse_word(const char *word, struct heredoc *h, struct lade_error *err);
/* BuildKit's heredocsFromLine: the heredocs a logical line announces, in order. */
int heredocs_from_line(const char *line, struct heredoc **out, size_t *n, struct lade_error *err);
void heredoc_release(struct heredoc *h);

/* ---- dockerfile.c / validate.c ---- */

void instr_release(struct instr *in);
/* BuildKit's instructions-package checks on one parsed file. */
int dockerfile_validate(const struct dockerfile *df, struct lade_error *err);
/* The flags each instruction accepts (validate.c, the one table of spellings). */
enum instr_flag_id {
    IFLAG_PLATFORM,
    IFLAG_MOUNT,
    IFLAG_NETWORK,
    IFLAG_SECURITY,
    IFLAG_CHOWN,
    IFLAG_FROM,
    IFLAG_CHMOD,
    IFLAG_LINK,
    IFLAG_EXCLUDE,
    IFLAG_PARENTS,
    IFLAG_KEEP_GIT_DIR,
    IFLAG_CHECKSUM,
    IFLAG_UNPACK,
    IFLAG_INTERVAL,
    IFLAG_TIMEOUT,
    IFLAG_START_PERIOD,
    IFLAG_START_INTERVAL,
    IFLAG_RETRIES,
    IFLAG_COUNT
};
/* The value of a flag ("--name=value"; "--name" alone gives ""; the last one wins, as BFlags
 * keeps it), or NULL when absent. */
const char *instr_flag_get(const struct instr *in, enum instr_flag_id id);
/* Every value of a repeatable flag (--mount, --exclude) in order; free the vector only. */
const char **instr_flag_all(const struct instr *in, enum instr_flag_id id);
/* run_mount.c: one --mount value into m. With x NULL (parse time, before any expansion) only
 * what BuildKit checks then: the CSV itself and from= without a variable. Release m with
 * run_mount_release, also after a failure. Errors: LADE_ERR_PARSE with BuildKit's message. */
int run_mount_parse(const char *spec, const struct expander *x, struct run_mount *m,
                    struct lade_error *err);
void run_mount_release(struct run_mount *m);
/* The flag's spelling without "--" ("start-period"), for messages. */
const char *instr_flag_name(enum instr_flag_id id);

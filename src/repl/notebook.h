/* notebook.h: the cell splitter for percent-format notebooks (SPEC section 4).
 * A line "-- %%" (optionally followed by a title) starts a code cell, "-- %% [markdown]"
 * a text cell; trailing "--> text" lines of a code cell are its expected output.
 * A file without markers is one code cell. Pure and in-memory, so it can be fuzzed. */
#ifndef LT_NOTEBOOK_H
#define LT_NOTEBOOK_H

#include <stddef.h>

#include "core/err.h"

typedef enum { LT_CELL_CODE, LT_CELL_MARKDOWN } lt_cell_kind;

typedef struct {
    lt_cell_kind kind;
    char *title;            /* text after the marker ("" when none); NUL-terminated */
    char *source;           /* code, or the text of a markdown cell with "-- " stripped */
    size_t source_len;      /* bytes of source (it may hold NULs from hostile input) */
    char *expected;         /* the "-->" lines without their prefix, each ending in '\n';
                               NULL when the cell records no output */
    size_t expected_len;
    int line;               /* 1-based line where the cell starts (its marker, if any) */
    int source_line;        /* 1-based line of the first line of source */
} lt_nb_cell;

typedef struct {
    lt_nb_cell *cells;
    size_t n, cap;
} lt_notebook;

/* Splits buf[0..len) into cells. Accepts any bytes: CRLF or LF line ends, a last line
 * without a newline, huge lines. On success nb (which must be zeroed by the caller or
 * come from a previous release) owns its cells; free them with lt_notebook_release.
 * On failure (LT_ENOMEM) nb is left empty. */
lt_status lt_notebook_parse(const char *buf, size_t len, lt_notebook *nb);

/* Frees the cells; nb is empty afterwards. Safe on an empty notebook. */
void lt_notebook_release(lt_notebook *nb);

#endif

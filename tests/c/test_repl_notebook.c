/* test_repl_notebook.c: the percent-format cell splitter (src/repl/notebook.c) on
 * ordinary and hostile input: markers, titles, markdown, expected "-->" lines, CRLF,
 * no final newline, NUL bytes, a huge line, many markers. The splitter is part of the
 * executable, not lunette_core, so its source is compiled into this test directly. */
#include "../../src/repl/notebook.c"

#include "check.h"

static lt_notebook parse(const char *s, size_t n) {
    lt_notebook nb;
    memset(&nb, 0, sizeof nb);
    lt_status st = lt_notebook_parse(s, n, &nb);
    CHECK(st == LT_OK, "parse succeeds");
    return nb;
}

int main(void) {
    /* markers, a title, markdown text, expected output, trailing blank lines */
    const char *text =
        "-- %% [markdown]\n-- # Title\n--\n-- some text\n\n"
        "-- %%   Setup  \nx = 1\n\nprint(x)\n--> 1\n-->\n-->   two\n\n\n"
        "-- %%\n-- a comment\n--> not output\ny = 2\n";
    lt_notebook nb = parse(text, strlen(text));
    CHECK(nb.n == 3, "three cells");
    if (nb.n == 3) {
        CHECK(nb.cells[0].kind == LT_CELL_MARKDOWN, "markdown cell");
        CHECK(strcmp(nb.cells[0].source, "# Title\n\nsome text") == 0, "markdown text stripped");
        CHECK(nb.cells[1].kind == LT_CELL_CODE && strcmp(nb.cells[1].title, "Setup") == 0, "title trimmed");
        CHECK(strcmp(nb.cells[1].source, "x = 1\n\nprint(x)") == 0, "code without the output lines");
        CHECK(nb.cells[1].expected && strcmp(nb.cells[1].expected, "1\n\n  two\n") == 0,
              "expected output: prefix and one blank dropped, empty lines kept");
        CHECK(nb.cells[1].line == 6 && nb.cells[1].source_line == 7, "line numbers");
        CHECK(nb.cells[2].expected == NULL, "--> in the middle is code, not output");
        CHECK(strstr(nb.cells[2].source, "--> not output") != NULL, "middle --> kept in source");
    }
    lt_notebook_release(&nb);
    lt_notebook_release(&nb);                            /* twice: still safe */

    /* no markers: one cell; CRLF; no final newline */
    const char *crlf = "a = 1\r\nprint(a)\r\n--> 1";
    nb = parse(crlf, strlen(crlf));
    CHECK(nb.n == 1 && nb.cells[0].line == 1, "no markers: one cell");
    if (nb.n == 1) {
        CHECK(strcmp(nb.cells[0].source, "a = 1\nprint(a)") == 0, "CRLF stripped");
        CHECK(nb.cells[0].expected && strcmp(nb.cells[0].expected, "1\n") == 0, "last line without newline");
    }
    lt_notebook_release(&nb);

    /* empty input, only blank lines, a marker-like line that is not one */
    nb = parse("", 0);
    CHECK(nb.n == 0, "empty input: no cells");
    lt_notebook_release(&nb);
    nb = parse("\n\n  \n", 4);
    CHECK(nb.n == 0, "blank input: no cells");
    lt_notebook_release(&nb);
    nb = parse("-- %%x\nprint(1)\n", 16);
    CHECK(nb.n == 1 && nb.cells[0].kind == LT_CELL_CODE && strstr(nb.cells[0].source, "%%x"),
          "-- %%x is not a marker");
    lt_notebook_release(&nb);

    /* NUL bytes are kept with their length */
    const char nul[] = "-- %%\nx = '\0'\n";
    nb = parse(nul, sizeof nul - 1);
    CHECK(nb.n == 1 && nb.cells[0].source_len == 7, "NUL bytes kept");
    lt_notebook_release(&nb);

    /* a huge line and many markers */
    size_t big = 8u << 20;
    char *huge = malloc(big + 16);
    CHECK(huge != NULL, "alloc");
    if (huge) {
        memcpy(huge, "-- %%\n", 6);
        memset(huge + 6, 'x', big);
        memcpy(huge + 6 + big, "\n--> y", 6);
        nb = parse(huge, big + 12);
        CHECK(nb.n == 1 && nb.cells[0].source_len == big, "8 MB line");
        CHECK(nb.n == 1 && nb.cells[0].expected && strcmp(nb.cells[0].expected, "y\n") == 0,
              "output after a huge line");
        lt_notebook_release(&nb);
        for (size_t i = 0; i + 6 <= big; i += 6) memcpy(huge + i, "-- %%\n", 6);
        nb = parse(huge, big - big % 6);
        CHECK(nb.n == big / 6, "1.4 million empty cells");
        lt_notebook_release(&nb);
        free(huge);
    }

    /* every prefix of a notebook parses (truncated input) */
    int ok = 1;
    for (size_t n = 0; n <= strlen(text); n++) {
        memset(&nb, 0, sizeof nb);
        ok &= lt_notebook_parse(text, n, &nb) == LT_OK;
        lt_notebook_release(&nb);
    }
    CHECK(ok, "every prefix parses");
    CHECK_DONE();
}

/* notebook.c: the percent-format cell splitter (see notebook.h). One pass over the
 * lines; each cell collects spans into the input buffer and is materialised when the
 * next marker (or the end) arrives: trailing blank lines dropped, then the trailing
 * "-->" run split off as expected output. */
#include "repl/notebook.h"

#include <stdint.h>
#include <string.h>

typedef struct { const char *p; size_t n; } span;

typedef struct {
    span *v;
    size_t n, cap;
} spans;

static int spans_push(spans *s, const char *p, size_t n) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        span *v = realloc(s->v, cap * sizeof *v);
        if (!v) return 0;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].p = p;
    s->v[s->n].n = n;
    s->n++;
    return 1;
}

static int is_blank(span l) {
    for (size_t i = 0; i < l.n; i++)
        if (l.p[i] != ' ' && l.p[i] != '\t') return 0;
    return 1;
}

static int is_output(span l) { return l.n >= 3 && memcmp(l.p, "-->", 3) == 0; }

/* "-- %%" followed by the end of the line or a blank. */
static int is_marker(span l) {
    return l.n >= 5 && memcmp(l.p, "-- %%", 5) == 0 && (l.n == 5 || l.p[5] == ' ' || l.p[5] == '\t');
}

static span trim(span s) {
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) { s.p++; s.n--; }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) s.n--;
    return s;
}

/* Joins lines[lo..hi), dropping `strip` bytes of prefix (and one blank after it) when the
 * line starts with it; every line ends in '\n' when `terminate`, else they are joined. */
static char *join(const span *lines, size_t lo, size_t hi, const char *strip, int terminate,
                  size_t *len) {
    size_t total = 1, sl = strip ? strlen(strip) : 0;
    for (size_t i = lo; i < hi; i++) total += lines[i].n + 1;
    char *out = malloc(total), *q = out;
    if (!out) return NULL;
    for (size_t i = lo; i < hi; i++) {
        span l = lines[i];
        if (sl && l.n >= sl && memcmp(l.p, strip, sl) == 0) {
            l.p += sl; l.n -= sl;
            if (l.n && l.p[0] == ' ') { l.p++; l.n--; }
        }
        memcpy(q, l.p, l.n);
        q += l.n;
        if (terminate || i + 1 < hi) *q++ = '\n';
    }
    *q = '\0';
    *len = (size_t)(q - out);
    return out;
}

static char *dup_span(span s) {
    char *d = malloc(s.n + 1);
    if (!d) return NULL;
    memcpy(d, s.p, s.n);
    d[s.n] = '\0';
    return d;
}

/* Appends the cell made of lines (the marker line excluded). */
static lt_status emit(lt_notebook *nb, lt_cell_kind kind, span title, int line, int marked,
                      const spans *ls) {
    size_t hi = ls->n;
    while (hi > 0 && is_blank(ls->v[hi - 1])) hi--;
    size_t lo = 0;
    if (kind == LT_CELL_CODE)                        /* leading blank lines are not source */
        while (lo < hi && is_blank(ls->v[lo])) lo++;
    size_t out_lo = hi;
    if (kind == LT_CELL_CODE)
        while (out_lo > lo && is_output(ls->v[out_lo - 1])) out_lo--;
    size_t src_hi = out_lo;
    while (src_hi > lo && is_blank(ls->v[src_hi - 1])) src_hi--;
    if (nb->n == nb->cap) {
        size_t cap = nb->cap ? 2 * nb->cap : 16;
        lt_nb_cell *c = realloc(nb->cells, cap * sizeof *c);
        if (!c) return lt_seterr(LT_ENOMEM, "notebook: out of memory");
        nb->cells = c;
        nb->cap = cap;
    }
    lt_nb_cell *c = &nb->cells[nb->n];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->line = line;
    c->source_line = line + marked + (int)(lo < (size_t)INT32_MAX - line - 1 ? lo : 0);
    c->title = dup_span(title);
    c->source = join(ls->v, lo, src_hi, kind == LT_CELL_MARKDOWN ? "--" : NULL, 0, &c->source_len);
    if (out_lo < hi)
        c->expected = join(ls->v, out_lo, hi, "-->", 1, &c->expected_len);
    if (!c->title || !c->source || (out_lo < hi && !c->expected)) {
        free(c->title); free(c->source); free(c->expected);
        return lt_seterr(LT_ENOMEM, "notebook: out of memory");
    }
    nb->n++;
    return LT_OK;
}

lt_status lt_notebook_parse(const char *buf, size_t len, lt_notebook *nb) {
    nb->cells = NULL;
    nb->n = nb->cap = 0;
    spans ls = {0};
    lt_cell_kind kind = LT_CELL_CODE;
    span title = {"", 0};
    int line = 1, lineno = 0, in_cell = 0;    /* in_cell: a marker was seen */
    lt_status st = LT_OK;
    size_t i = 0;
    while (st == LT_OK && i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len;
        span l = {buf + i, end - i};
        if (l.n && l.p[l.n - 1] == '\r') l.n--;
        i = nl ? end + 1 : len;
        if (lineno < INT32_MAX) lineno++;
        if (is_marker(l)) {
            int keep = in_cell;                      /* text before the first marker: only if not blank */
            for (size_t k = 0; !keep && k < ls.n; k++) keep = !is_blank(ls.v[k]);
            if (keep) st = emit(nb, kind, title, line, in_cell, &ls);
            ls.n = 0;
            in_cell = 1;
            line = lineno;
            title = trim((span){l.p + 5, l.n - 5});
            kind = LT_CELL_CODE;
            if (title.n >= 10 && memcmp(title.p, "[markdown]", 10) == 0) {
                kind = LT_CELL_MARKDOWN;
                title = trim((span){title.p + 10, title.n - 10});
            } else if (title.n >= 4 && memcmp(title.p, "[md]", 4) == 0) {
                kind = LT_CELL_MARKDOWN;
                title = trim((span){title.p + 4, title.n - 4});
            }
            continue;
        }
        if (!spans_push(&ls, l.p, l.n)) st = lt_seterr(LT_ENOMEM, "notebook: out of memory");
    }
    if (st == LT_OK) {
        int keep = in_cell;
        for (size_t k = 0; !keep && k < ls.n; k++) keep = !is_blank(ls.v[k]);
        if (keep) st = emit(nb, kind, title, line, in_cell, &ls);
    }
    free(ls.v);
    if (st != LT_OK) lt_notebook_release(nb);
    return st;
}

void lt_notebook_release(lt_notebook *nb) {
    for (size_t k = 0; k < nb->n; k++) {
        free(nb->cells[k].title);
        free(nb->cells[k].source);
        free(nb->cells[k].expected);
    }
    free(nb->cells);
    nb->cells = NULL;
    nb->n = nb->cap = 0;
}

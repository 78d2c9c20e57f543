/* test_plot.c: the plot renderer without a terminal. Golden texts (tests/golden/plot_*.txt,
 * each checked by eye) for a known series, a 3x3 confusion matrix and a 4x4 image in the
 * three styles; tick choice on awkward ranges; canvas primitives (braille bits, UTF-8,
 * SGR codes, 256-colour mapping); style detection from the environment.
 * LUNETTE_GOLDEN_WRITE=1 rewrites the goldens (then read them before committing). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plot/canvas.h"
#include "plot/plot.h"

static const char *style_name[3] = {"ascii", "unicode", "color"};

static char *render(const lt_plot *p, int w, int h, lt_style st, const lt_cursor *cur) {
    lt_canvas *c = lt_plot_render(p, w, h, st, cur);
    if (!c) return NULL;
    char *s = lt_canvas_tostring(c);
    lt_canvas_free(c);
    return s;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    if (got > 0 && s[got - 1] == '\n') s[got - 1] = 0;   /* the file ends with a newline */
    return s;
}

/* Compares a rendering with tests/golden/plot_<name>_<style>.txt; prints both on failure. */
static void golden(const char *name, lt_style st, const char *got) {
    const char *src = getenv("LUNETTE_SOURCE");
    char path[1024], label[128];
    snprintf(path, sizeof path, "%s/tests/golden/plot_%s_%s.txt", src ? src : "..", name, style_name[st]);
    snprintf(label, sizeof label, "golden %s/%s", name, style_name[st]);
    if (getenv("LUNETTE_GOLDEN_WRITE")) {
        FILE *f = fopen(path, "wb");
        if (f) { fprintf(f, "%s\n", got); fclose(f); }
    }
    char *want = read_file(path);
    int ok = want && got && strcmp(want, got) == 0;
    CHECK(ok, label);
    if (!ok) fprintf(stderr, "--- want (%s)\n%s\n--- got\n%s\n", path, want ? want : "(missing)", got ? got : "(null)");
    free(want);
}

static lt_plot *series_plot(void) {
    static const float loss[] = {2.0f, 1.2f, 0.8f, 0.6f, 0.5f}, val[] = {1.8f, 1.3f, 1.0f, 0.9f, 0.95f};
    lt_plot *p = lt_plot_new(NULL);
    int q = lt_plot_add_lines(p, "Loss", "epoch", NULL, 1, 1);
    lt_plot_add_series(p, q, "loss", loss, 5);
    lt_plot_add_series(p, q, "val_loss", val, 5);
    return p;
}

static lt_plot *confusion_plot(int normalize) {
    static const float cm[] = {5, 1, 0, 2, 7, 1, 0, 0, 9};
    static const char *const cls[] = {"cat", "dog", "bird"};
    lt_plot *p = lt_plot_new(NULL);
    lt_plot_add_confusion(p, "Confusion matrix", cm, 3, cls, normalize);
    return p;
}

static lt_plot *image_plot(void) {
    float img[16];
    for (int i = 0; i < 16; i++) img[i] = (float)i / 15.0f;   /* a ramp, row-major */
    lt_plot *p = lt_plot_new(NULL);
    lt_plot_add_image(p, "ramp", img, 4, 4, 1);
    return p;
}

static void test_goldens(void) {
    for (int st = 0; st < 3; st++) {
        lt_plot *p = series_plot();
        char *s = render(p, 40, 14, (lt_style)st, NULL);
        golden("series", (lt_style)st, s);
        free(s);
        lt_plot_free(p);

        p = confusion_plot(0);
        int w, h;
        lt_plot_size(p, (lt_style)st, 80, 24, &w, &h);
        CHECK(w == 27 && h == 7, "confusion natural size 27x7");
        s = render(p, w, h, (lt_style)st, NULL);
        golden("confusion", (lt_style)st, s);
        free(s);
        lt_plot_free(p);

        p = image_plot();
        lt_plot_size(p, (lt_style)st, 80, 24, &w, &h);
        CHECK(w == (st == LT_STYLE_COLOR ? 4 : 8), "image natural width: 1 or 2 columns a pixel");
        CHECK(h == (st == LT_STYLE_COLOR ? 3 : 5), "image natural height: title + 2 or 4 rows");
        s = render(p, w, h, (lt_style)st, NULL);
        golden("image", (lt_style)st, s);
        free(s);
        lt_plot_free(p);
    }
    /* normalised confusion: row sums 6, 10, 9 */
    lt_plot *p = confusion_plot(1);
    int w, h;
    lt_plot_size(p, LT_STYLE_ASCII, 80, 24, &w, &h);
    char *s = render(p, w, h, LT_STYLE_ASCII, NULL);
    golden("confusion_norm", LT_STYLE_ASCII, s);
    free(s);
    lt_plot_free(p);
}

static void test_ticks(void) {
    double a, st;
    int n;
    lt_plot_ticks(0, 1, 5, &a, &st, &n);
    CHECK(a == 0 && fabs(st - 0.2) < 1e-12 && n == 6, "ticks 0..1: 0, 0.2, ..., 1");
    lt_plot_ticks(5, 5, 5, &a, &st, &n);                 /* constant: widened by 10% */
    CHECK(a <= 4.5 && a + st * (n - 1) >= 5.5 && n <= 8, "constant 5: ticks around 5");
    int has5 = 0;
    for (int i = 0; i < n; i++) has5 |= fabs(a + st * i - 5) < 1e-9;
    CHECK(has5, "constant 5: 5 is a tick");
    lt_plot_ticks(0, 0, 5, &a, &st, &n);
    CHECK(a == -1 && st == 0.5 && n == 5, "constant 0: -1..1 by 0.5");
    lt_plot_ticks(-3.7, -1.2, 4, &a, &st, &n);
    CHECK(a == -4 && st == 1 && n == 4, "negative range -3.7..-1.2: -4..-1 by 1");
    lt_plot_ticks(-0.5, 2.5, 4, &a, &st, &n);
    CHECK(a == -1 && st == 1 && n == 5, "-0.5..2.5: -1..3 by 1");
    lt_plot_ticks(NAN, NAN, 4, &a, &st, &n);
    CHECK(isfinite(a) && isfinite(st) && st > 0, "NaN range falls back to 0..1");
    lt_plot_ticks(1234, 98765, 5, &a, &st, &n);
    CHECK(st == 20000 && a == 0 && n == 6, "1234..98765: 0..100000 by 20000");
}

static int contains(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

/* The row of `s` (0-based) as a new string. */
static char *row_of(const char *s, int r) {
    for (int i = 0; i < r && s; i++) { s = strchr(s, '\n'); if (s) s++; }
    if (!s) return NULL;
    const char *e = strchr(s, '\n');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *out = malloc(n + 1);
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

static void test_awkward_series(void) {
    /* constant series: one flat row of markers, value 5 labelled */
    float cst[6] = {5, 5, 5, 5, 5, 5};
    lt_plot *p = lt_plot_new(NULL);
    int q = lt_plot_add_lines(p, NULL, NULL, NULL, 1, 1);
    lt_plot_add_series(p, q, "c", cst, 6);
    char *s = render(p, 30, 10, LT_STYLE_ASCII, NULL);
    CHECK(contains(s, "5.0 +*****"), "constant series: flat line at the 5.0 tick");
    free(s);
    lt_plot_free(p);

    /* NaN skipped with a mark on the x axis and in the legend */
    float nanv[4] = {1, NAN, 3, 2};
    p = lt_plot_new(NULL);
    q = lt_plot_add_lines(p, NULL, NULL, NULL, 1, 1);
    lt_plot_add_series(p, q, "a", nanv, 4);
    s = render(p, 30, 10, LT_STYLE_ASCII, NULL);
    char *axis = row_of(s, 7);
    CHECK(axis && strchr(axis, 'x') != NULL, "NaN: x on the x axis");
    CHECK(axis && strchr(axis, 'x') - axis == 11, "NaN: mark at x=2's column");
    CHECK(contains(s, "x NaN (skipped)"), "NaN: legend says skipped");
    free(axis);
    char *u = render(p, 30, 10, LT_STYLE_UNICODE, NULL);
    CHECK(contains(u, "\xc3\x97 NaN (skipped)"), "NaN: unicode mark is U+00D7");
    free(u);
    free(s);
    lt_plot_free(p);

    /* negative values: ticks below zero with a minus sign */
    float neg[5] = {-3.7f, -2.0f, -1.2f, -2.5f, -3.0f};
    p = lt_plot_new(NULL);
    q = lt_plot_add_lines(p, NULL, NULL, NULL, 1, 1);
    lt_plot_add_series(p, q, "n", neg, 5);
    s = render(p, 30, 12, LT_STYLE_ASCII, NULL);
    CHECK(contains(s, "-4 +") && contains(s, "-1 +"), "negative: -4 and -1 ticks");
    free(s);
    lt_plot_free(p);

    /* a single point: centred, x tick 1 */
    float one[1] = {0.25f};
    p = lt_plot_new(NULL);
    q = lt_plot_add_lines(p, NULL, NULL, NULL, 1, 1);
    lt_plot_add_series(p, q, "p", one, 1);
    s = render(p, 30, 10, LT_STYLE_ASCII, NULL);
    int stars = 0;
    for (const char *c = s; *c; c++) stars += *c == '*';
    CHECK(stars == 2, "single point: one marker (+ the legend's)");
    CHECK(contains(s, " 1\n") && !contains(s, " 2\n") && !contains(s, " 0 "),
          "single point: x tick 1 alone (the axis is 0.5..1.5, not 0..2)");
    free(s);
    lt_plot_free(p);

    /* one accuracy-like value near 1: the y axis stays within 0..1 (no 1.05 tick) */
    float acc[1] = {0.97f};
    p = lt_plot_new(NULL);
    q = lt_plot_add_lines(p, NULL, NULL, NULL, 1, 1);
    lt_plot_add_series(p, q, "a", acc, 1);
    s = render(p, 30, 10, LT_STYLE_ASCII, NULL);
    CHECK(contains(s, "1.00 +") && !contains(s, "1.05") && !contains(s, "1.02"), "one value 0.97: axis up to 1");
    free(s);
    lt_plot_free(p);

    /* empty series is refused */
    p = lt_plot_new(NULL);
    q = lt_plot_add_lines(p, NULL, NULL, NULL, 1, 1);
    CHECK(lt_plot_add_series(p, q, "e", one, 0) == LT_EARG && contains(lt_lasterror(), "series 'e' is empty"),
          "empty series: error names it");
    CHECK(lt_plot_add_image(p, NULL, one, 4, 4, 2) < 0 && contains(lt_lasterror(), "got 4x4x2"),
          "image with 2 channels refused");
    lt_plot_free(p);
}

static void test_canvas(void) {
    lt_canvas *c = lt_canvas_new(2, 1, LT_STYLE_UNICODE);
    lt_canvas_dot(c, 0, 0, 0);      /* bit 0x01 */
    lt_canvas_dot(c, 1, 3, 0);      /* bit 0x80 */
    lt_canvas_dot(c, 3, 1, 0);      /* second cell, right column row 1: 0x10 */
    CHECK(c->cells[0].ch == 0x2881 && c->cells[1].ch == 0x2810, "braille dot bits");
    char *s = lt_canvas_tostring(c);
    CHECK(s && strcmp(s, "\xe2\xa2\x81\xe2\xa0\x90") == 0, "braille as UTF-8");
    free(s);
    lt_canvas_free(c);

    c = lt_canvas_new(6, 2, LT_STYLE_ASCII);
    lt_canvas_text(c, 0, 0, "h\xc3\xa9llo!", -1, 0);
    s = lt_canvas_tostring(c);
    CHECK(s && strcmp(s, "h?llo!\n") == 0, "ASCII style replaces non-ASCII, trims blank rows");
    free(s);
    lt_canvas_free(c);

    c = lt_canvas_new(3, 1, LT_STYLE_COLOR);
    lt_canvas_put(c, 0, 0, 'a', LT_RGB(255, 0, 0), 0);
    lt_canvas_put(c, 1, 0, 'b', LT_RGB(255, 0, 0), 0);
    s = lt_canvas_tostring(c);
    CHECK(s && strcmp(s, "\x1b[0;38;5;196mab\x1b[0m") == 0, "one SGR for a run, reset at the end");
    free(s);
    c->truecolor = 1;
    s = lt_canvas_tostring(c);
    CHECK(s && strcmp(s, "\x1b[0;38;2;255;0;0mab\x1b[0m") == 0, "truecolor SGR");
    free(s);
    lt_canvas_free(c);

    CHECK(lt_color256(LT_RGB(0, 0, 0)) == 16, "black is cube 16");
    CHECK(lt_color256(LT_RGB(255, 255, 255)) == 231, "white is cube 231");
    CHECK(lt_color256(LT_RGB(128, 128, 128)) == 244, "mid grey on the grey ramp");
    CHECK(lt_color256(LT_RGB(0, 95, 135)) == 24, "exact cube colour");
    CHECK(lt_canvas_new(0, 5, LT_STYLE_ASCII) == NULL && contains(lt_lasterror(), "0x5"), "bad canvas size");
}

static void test_style_env(void) {
    /* stdout is not a terminal under ctest: always ASCII, whatever else is set */
    setenv("TERM", "xterm-256color", 1);
    setenv("LANG", "en_US.UTF-8", 1);
    unsetenv("NO_COLOR");
    CHECK(lt_style_detect(0, NULL) == LT_STYLE_ASCII, "not a tty: ASCII");
    int tc = 0;
    setenv("COLORTERM", "truecolor", 1);
    lt_style_detect(1, &tc);
    CHECK(tc == 1, "COLORTERM=truecolor detected");
    setenv("COLUMNS", "123", 1);
    setenv("LINES", "45", 1);
    int w, h;
    lt_term_size(&w, &h);
    CHECK(w == 123 && h == 45, "COLUMNS/LINES when stdout is not a terminal");
    unsetenv("COLUMNS");
    unsetenv("LINES");
    lt_term_size(&w, &h);
    CHECK(w == 80 && h == 24, "80x24 when unknown");
}

static void test_cursor(void) {
    lt_plot *p = confusion_plot(0);
    lt_cursor cur;
    lt_plot_cursor_init(p, &cur);
    lt_plot_cursor_move(p, &cur, LT_MOVE_DOWN);
    lt_plot_cursor_move(p, &cur, LT_MOVE_RIGHT);
    lt_plot_cursor_move(p, &cur, LT_MOVE_RIGHT);
    lt_plot_cursor_move(p, &cur, LT_MOVE_RIGHT);   /* clamped at the last column */
    char buf[256];
    lt_plot_describe(p, &cur, buf, sizeof buf);
    CHECK(strcmp(buf, "true dog (1), predicted bird (2): 1  (10.0% of the row)") == 0, "confusion cursor text");
    lt_canvas *c = lt_plot_render(p, 27, 7, LT_STYLE_ASCII, &cur);
    int rev = 0;
    for (int i = 0; i < c->w * c->h; i++) rev += (c->cells[i].attr & LT_ATTR_REVERSE) != 0;
    CHECK(rev == 5, "cursor cell highlighted (5 columns)");
    CHECK(c->cells[4 * 27 + 22].attr & LT_ATTR_REVERSE, "the highlighted cell is row dog, column bird");
    lt_canvas_free(c);
    lt_plot_free(p);

    p = series_plot();
    lt_plot_cursor_init(p, &cur);
    lt_plot_cursor_move(p, &cur, LT_MOVE_DOWN);
    lt_plot_cursor_move(p, &cur, LT_MOVE_RIGHT);
    lt_plot_cursor_move(p, &cur, LT_MOVE_RIGHT);
    lt_plot_describe(p, &cur, buf, sizeof buf);
    CHECK(strcmp(buf, "val_loss  epoch 3: 1") == 0, "line cursor text");
    lt_plot_free(p);
}

/* The viewer's grid (lt_plot_grid_layout): 16 feature maps of 26x26 in a 120x39 window
 * cannot all be 16 pixels across in the colourless styles (2 columns a pixel), so they
 * go on pages of 3x2 at that size; in colour (1 column, half a row a pixel) they fit on
 * one screen; 4 small 6x6 images get the biggest thumbnails with every one shown. */
static void test_grid_layout(void) {
    lt_plot *p = lt_plot_new("maps");
    float px[26 * 26];
    for (int i = 0; i < 26 * 26; i++) px[i] = (float)(i % 7) / 6.0f;
    for (int i = 0; i < 16; i++) lt_plot_add_image(p, "m", px, 26, 26, 1);
    p->cols = 2;
    int cols, per;
    lt_plot_grid_layout(p, LT_STYLE_UNICODE, 120, 39, &cols, &per);
    CHECK(cols == 3 && per == 6, "16 maps at 120x39 (unicode): pages of 3x2");
    lt_plot_grid_layout(p, LT_STYLE_UNICODE, 240, 70, &cols, &per);
    CHECK(per == 16 && cols >= 4, "16 maps at 240x70: all on one screen");
    lt_plot_grid_layout(p, LT_STYLE_COLOR, 120, 39, &cols, &per);
    CHECK(per == 16 && cols * 16 <= 120, "16 maps at 120x39 (colour): one screen, >= 16 px across");
    lt_plot_grid_layout(p, LT_STYLE_UNICODE, 60, 19, &cols, &per);
    CHECK(cols == 1 && per == 1, "16 maps at 60x19: one map a page");
    lt_plot_free(p);
    p = lt_plot_new(NULL);
    for (int i = 0; i < 4; i++) lt_plot_add_image(p, "x", px, 6, 6, 1);
    lt_plot_grid_layout(p, LT_STYLE_UNICODE, 80, 39, &cols, &per);
    CHECK(cols == 2 && per == 4, "4 small images at 80x39: 2x2, all shown");
    lt_plot_free(p);
}

int main(void) {
    test_grid_layout();
    test_goldens();
    test_ticks();
    test_awkward_series();
    test_canvas();
    test_style_env();
    test_cursor();
    CHECK_DONE();
}

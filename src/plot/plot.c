/* plot.c: plot descriptions (see plot.h) and their renderers: line charts with round
 * ticks (Heckbert's "nice numbers", Graphics Gems 1990), confusion matrices shaded by
 * value (matplotlib's Blues ramp), images as half blocks or shade ramps, and bars.
 * Every renderer draws inside a rectangle (x, y, w, h) of the canvas and never outside. */
#include "plot/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Series colours (matplotlib's tab10) and markers for the colourless styles. */
static const uint32_t palette[] = {
    LT_RGB(31, 119, 180), LT_RGB(255, 127, 14), LT_RGB(44, 160, 44), LT_RGB(214, 39, 40),
    LT_RGB(148, 103, 189), LT_RGB(140, 86, 75), LT_RGB(227, 119, 194), LT_RGB(127, 127, 127)};
static const uint32_t umarks[] = {0x25cf, 0x25a0, 0x25b2, 0x25c6, 0x25cb, 0x25a1, 0x25b3, 0x25c7};
static const char amarks[] = "*+o#%@&=";
#define NPAL 8

/* ---- construction ---- */

static char *dupstr(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void free_strs(char **s, int n) {
    if (!s) return;
    for (int i = 0; i < n; i++) free(s[i]);
    free(s);
}

static void panel_release(lt_panel *q) {
    free(q->title);
    free(q->xlabel);
    free(q->ylabel);
    for (int i = 0; i < q->nseries; i++) {
        free(q->series[i].name);
        free(q->series[i].y);
    }
    free(q->series);
    free(q->cm);
    free_strs(q->classes, q->k);
    free(q->px);
    free(q->values);
    free_strs(q->labels, q->nbars);
}

lt_plot *lt_plot_new(const char *title) {
    lt_plot *p = calloc(1, sizeof *p);
    if (!p) { lt_seterr(LT_ENOMEM, "plot: out of memory"); return NULL; }
    p->cols = 1;
    if (title && !(p->title = dupstr(title))) { free(p); lt_seterr(LT_ENOMEM, "plot: out of memory"); return NULL; }
    return p;
}

void lt_plot_free(lt_plot *p) {
    if (!p) return;
    for (int i = 0; i < p->npanels; i++) panel_release(&p->panels[i]);
    free(p->panels);
    free(p->title);
    free(p);
}

/* Appends a zeroed panel with its strings; NULL when out of memory. */
static lt_panel *push_panel(lt_plot *p, lt_panel_kind kind, const char *title) {
    lt_panel *np = realloc(p->panels, (size_t)(p->npanels + 1) * sizeof *np);
    if (!np) { lt_seterr(LT_ENOMEM, "plot: out of memory"); return NULL; }
    p->panels = np;
    lt_panel *q = &np[p->npanels];
    memset(q, 0, sizeof *q);
    q->kind = kind;
    if (title && !(q->title = dupstr(title))) { lt_seterr(LT_ENOMEM, "plot: out of memory"); return NULL; }
    p->npanels++;
    return q;
}

static int drop_last(lt_plot *p) {
    panel_release(&p->panels[--p->npanels]);
    lt_seterr(LT_ENOMEM, "plot: out of memory");
    return -1;
}

static char **dup_strs(const char *const *s, int n) {
    char **d = calloc((size_t)n, sizeof *d);
    if (!d) return NULL;
    for (int i = 0; i < n; i++)
        if (!(d[i] = dupstr(s[i] ? s[i] : ""))) { free_strs(d, n); return NULL; }
    return d;
}

int lt_plot_add_lines(lt_plot *p, const char *title, const char *xlabel, const char *ylabel,
                      double x0, double dx) {
    lt_panel *q = push_panel(p, LT_PANEL_LINES, title);
    if (!q) return -1;
    q->x0 = x0;
    q->dx = dx > 0 ? dx : 1;
    if ((xlabel && !(q->xlabel = dupstr(xlabel))) || (ylabel && !(q->ylabel = dupstr(ylabel))))
        return drop_last(p);
    return p->npanels - 1;
}

lt_status lt_plot_add_series(lt_plot *p, int panel, const char *name, const float *y, int64_t n) {
    if (panel >= 0 && panel < p->npanels)
        return lt_plot_add_series_x(p, panel, name, y, n, p->panels[panel].x0, p->panels[panel].dx);
    return lt_plot_add_series_x(p, panel, name, y, n, 1, 1);
}

lt_status lt_plot_add_series_x(lt_plot *p, int panel, const char *name, const float *y, int64_t n,
                               double x0, double dx) {
    if (panel < 0 || panel >= p->npanels || p->panels[panel].kind != LT_PANEL_LINES)
        return lt_seterr(LT_EARG, "plot: panel %d is not a line chart", panel + 1);
    if (n < 1) return lt_seterr(LT_EARG, "plot.lines: series '%s' is empty", name ? name : "?");
    lt_panel *q = &p->panels[panel];
    lt_series *ns = realloc(q->series, (size_t)(q->nseries + 1) * sizeof *ns);
    if (!ns) return lt_seterr(LT_ENOMEM, "plot: out of memory");
    q->series = ns;
    lt_series s = {dupstr(name ? name : ""), malloc((size_t)n * sizeof(float)), n, x0,
                   dx > 0 ? dx : 1};
    if (!s.name || !s.y) {
        free(s.name);
        free(s.y);
        return lt_seterr(LT_ENOMEM, "plot: out of memory");
    }
    memcpy(s.y, y, (size_t)n * sizeof(float));
    ns[q->nseries++] = s;
    return LT_OK;
}

int lt_plot_add_confusion(lt_plot *p, const char *title, const float *cm, int k,
                          const char *const *classes, int normalize) {
    if (k < 1 || k > 1000) { lt_seterr(LT_EARG, "plot.confusion: %d classes (expected 1..1000)", k); return -1; }
    lt_panel *q = push_panel(p, LT_PANEL_CONFUSION, title);
    if (!q) return -1;
    q->k = k;
    q->normalize = normalize;
    q->cm = malloc((size_t)k * (size_t)k * sizeof(float));
    if (!q->cm) return drop_last(p);
    memcpy(q->cm, cm, (size_t)k * (size_t)k * sizeof(float));
    if (classes && !(q->classes = dup_strs(classes, k))) return drop_last(p);
    return p->npanels - 1;
}

int lt_plot_add_image(lt_plot *p, const char *title, const float *px, int h, int w, int c) {
    if (h < 1 || w < 1 || h > 4096 || w > 4096 || (c != 1 && c != 3)) {
        lt_seterr(LT_EARG, "plot.image: an image is HxW, HxWx1 or HxWx3, got %dx%dx%d", h, w, c);
        return -1;
    }
    lt_panel *q = push_panel(p, LT_PANEL_IMAGE, title);
    if (!q) return -1;
    size_t n = (size_t)h * (size_t)w * (size_t)c;
    q->px = malloc(n * sizeof(float));
    if (!q->px) return drop_last(p);
    memcpy(q->px, px, n * sizeof(float));
    q->ih = h;
    q->iw = w;
    q->ic = c;
    return p->npanels - 1;
}

int lt_plot_add_bars(lt_plot *p, const char *title, const float *v, const char *const *labels,
                     int n) {
    if (n < 1) { lt_seterr(LT_EARG, "plot.bar: no values"); return -1; }
    lt_panel *q = push_panel(p, LT_PANEL_BARS, title);
    if (!q) return -1;
    q->nbars = n;
    q->values = malloc((size_t)n * sizeof(float));
    if (!q->values) return drop_last(p);
    memcpy(q->values, v, (size_t)n * sizeof(float));
    if (labels) {
        if (!(q->labels = dup_strs(labels, n))) return drop_last(p);
    } else {
        const char **tmp = malloc((size_t)n * sizeof *tmp);
        char (*num)[16] = malloc((size_t)n * sizeof *num);
        if (tmp && num) {
            for (int i = 0; i < n; i++) { snprintf(num[i], 16, "%d", i + 1); tmp[i] = num[i]; }
            q->labels = dup_strs(tmp, n);
        }
        free(tmp);
        free(num);
        if (!q->labels) return drop_last(p);
    }
    return p->npanels - 1;
}

/* ---- ticks ---- */

static double nicenum(double x, int round_) {
    double e = floor(log10(x)), f = x / pow(10, e), nf;
    if (round_) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * pow(10, e);
}

void lt_plot_ticks(double lo, double hi, int target, double *first, double *step, int *count) {
    if (!isfinite(lo) || !isfinite(hi)) { lo = 0; hi = 1; }
    if (hi < lo) { double t = lo; lo = hi; hi = t; }
    if (hi == lo) {                             /* constant: widen around the value */
        double pad = lo == 0 ? 1 : fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    if (target < 2) target = 2;
    double s = nicenum((hi - lo) / (target - 1), 1);
    double a = floor(lo / s + 1e-9) * s, b = ceil(hi / s - 1e-9) * s;
    *first = a;
    *step = s;
    *count = (int)floor((b - a) / s + 0.5) + 1;
}

static int tick_decimals(double step) {
    int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

static void fmt_num(char *buf, size_t n, double v, int dec) {
    if (fabs(v) >= 1e6) snprintf(buf, n, "%.3g", v);
    else snprintf(buf, n, "%.*f", dec, fabs(v) < 1e-12 ? 0.0 : v);
}

/* ---- drawing helpers ---- */

static void text_center(lt_canvas *c, int x, int y, int w, const char *s, uint32_t fg) {
    int n = lt_utf8_width(s);
    if (n > w) n = w;
    lt_canvas_text(c, x + (w - n) / 2, y, s, w, fg);
}

static void text_right(lt_canvas *c, int x, int y, int w, const char *s, uint32_t fg) {
    int n = lt_utf8_width(s);
    if (n > w) n = w;
    lt_canvas_text(c, x + w - n, y, s, n, fg);
}

static uint32_t glyph(lt_style st, uint32_t uni, char ascii) {
    return st == LT_STYLE_ASCII ? (uint32_t)ascii : uni;
}

static void too_small(lt_canvas *c, int x, int y, int w) {
    lt_canvas_text(c, x, y, "(too small)", w, 0);
}

/* ---- line charts ---- */

static int finite_f(float v) { return isfinite(v); }

/* The legend of a line panel, "● name  ● name  × NaN (skipped)", laid out from column
 * x0 in lines that end before x_end: returns the number of lines; draws them from row y
 * when c is not NULL (items are wrapped onto further lines, never cut). */
static int legend_layout(lt_canvas *c, const lt_panel *q, int any_nan, int x0, int x_end, int y) {
    lt_style st = c ? c->style : LT_STYLE_ASCII;
    int colour = st == LT_STYLE_COLOR, lx = x0, line = 0;
    for (int s = 0; s <= q->nseries; s++) {
        if (s == q->nseries && !any_nan) break;
        const char *name = s < q->nseries ? q->series[s].name : "NaN (skipped)";
        int n = 2 + lt_utf8_width(name);
        if (lx > x0 && lx + n > x_end) { line++; lx = x0; }
        if (c) {
            uint32_t mk, fg;
            if (s < q->nseries) {
                mk = st == LT_STYLE_ASCII ? (uint32_t)amarks[s % NPAL]
                   : st == LT_STYLE_UNICODE && q->nseries > 1 ? umarks[s % NPAL] : 0x25cf;
                fg = colour ? palette[s % NPAL] : 0;
            } else {
                mk = glyph(st, 0x00d7, 'x');
                fg = colour ? LT_RGB(214, 39, 40) : 0;
            }
            lt_canvas_put(c, lx, y + line, mk, fg, 0);
            lt_canvas_text(c, lx + 2, y + line, name, x_end - lx - 2, 0);
        }
        lx += n + 2;
    }
    return line + 1;
}

static void draw_lines(lt_canvas *c, const lt_panel *q, int x, int y, int w, int h,
                       const lt_cursor *cur) {
    lt_style st = c->style;
    int colour = st == LT_STYLE_COLOR;
    double xmin = INFINITY, xmax = -INFINITY, xstep = INFINITY;
    double ymin = INFINITY, ymax = -INFINITY;
    int any_nan = 0, xint = q->dx == floor(q->dx) && q->x0 == floor(q->x0);
    for (int s = 0; s < q->nseries; s++) {
        const lt_series *sr = &q->series[s];
        xmin = fmin(xmin, sr->x0);
        xmax = fmax(xmax, sr->x0 + sr->dx * (double)(sr->n - 1));
        xstep = fmin(xstep, sr->dx);
        for (int64_t i = 0; i < sr->n; i++) {
            if (!finite_f(sr->y[i])) { any_nan = 1; continue; }
            if (sr->y[i] < ymin) ymin = sr->y[i];
            if (sr->y[i] > ymax) ymax = sr->y[i];
        }
    }
    if (ymin > ymax) { ymin = 0; ymax = 1; }
    if (ymin == ymax && ymin >= 0 && ymin <= 1) {   /* one accuracy-like value: stay in 0..1 */
        double pad = ymin == 0 ? 0.1 : ymin * 0.1;
        ymin = fmax(0, ymin - pad);
        ymax = fmin(1, ymax + pad);
    }
    int top = y;
    if (q->title) { text_center(c, x, top, w, q->title, 0); top++; }
    if (q->ylabel) { lt_canvas_text(c, x, top, q->ylabel, w, 0); top++; }
    int nleg = legend_layout(NULL, q, any_nan, x + 1, x + w, 0);   /* wrapped from the left */
    int bottom_rows = 2 + (q->xlabel ? 1 : 0) + nleg;  /* axis, tick labels, xlabel, legend */
    int ph = y + h - bottom_rows - top;
    if (ph < 2 || w < 12) { too_small(c, x, top, w); return; }
    double t0, ts;
    int tn;
    int target = ph / 3 + 1;
    if (target > 8) target = 8;
    lt_plot_ticks(ymin, ymax, target, &t0, &ts, &tn);
    double lo = t0, hi = t0 + ts * (tn - 1);
    int dec = tick_decimals(ts);
    char lab[64];
    int yw = 1;
    for (int i = 0; i < tn; i++) {
        fmt_num(lab, sizeof lab, t0 + ts * i, dec);
        int n = (int)strlen(lab);
        if (n > yw) yw = n;
    }
    int ax = x + yw + 1;                         /* the axis column */
    int px0 = ax + 1, pw = x + w - 1 - px0;      /* plot area columns; 1 column margin */
    if (pw < 4) { too_small(c, x, top, w); return; }
    /* y axis and ticks */
    for (int r = 0; r < ph; r++) lt_canvas_put(c, ax, top + r, glyph(st, 0x2502, '|'), 0, 0);
    for (int i = 0; i < tn; i++) {
        double v = t0 + ts * i;
        int r = (int)lround((hi - v) / (hi - lo) * (ph - 1));
        fmt_num(lab, sizeof lab, v, dec);
        text_right(c, x, top + r, yw, lab, 0);
        lt_canvas_put(c, ax, top + r, glyph(st, 0x2524, '+'), 0, 0);
    }
    /* x axis */
    if (q->nseries == 0) { xmin = q->x0; xmax = q->x0; xstep = q->dx; }
    if (xmax <= xmin) { xmin -= xstep / 2; xmax += xstep / 2; }   /* one point: in the middle */
    int arow = top + ph;
    lt_canvas_put(c, ax, arow, glyph(st, 0x2514, '+'), 0, 0);
    for (int i = 0; i < pw; i++) lt_canvas_put(c, px0 + i, arow, glyph(st, 0x2500, '-'), 0, 0);
    double x_t0, x_ts;
    int x_tn;
    int xt_target = pw / 6 + 1;
    if (xt_target > 10) xt_target = 10;
    lt_plot_ticks(xmin, xmax, xt_target, &x_t0, &x_ts, &x_tn);
    if (xint && x_ts < 1) {
        x_ts = 1;
        x_t0 = ceil(xmin);
        x_tn = (int)floor(xmax - x_t0) + 1;
    }
    int xdec = tick_decimals(x_ts), last_end = -1;
#define XCOL(v) (px0 + (int)lround(((v) - xmin) / (xmax - xmin) * (pw - 1)))
    for (int i = 0; i < x_tn + 1; i++) {
        double v = x_t0 + x_ts * i;
        if (v < xmin - 1e-9 * x_ts || v > xmax + 1e-9 * x_ts) continue;
        int col = XCOL(v);
        lt_canvas_put(c, col, arow, glyph(st, 0x252c, '+'), 0, 0);
        fmt_num(lab, sizeof lab, v, xdec);
        int n = (int)strlen(lab), start = col - n / 2;
        if (start + n > x + w) start = x + w - n;
        if (start <= last_end) continue;
        lt_canvas_text(c, start, arow + 1, lab, n, 0);
        last_end = start + n;
    }
    int row = arow + 2;
    if (q->xlabel) { text_center(c, px0, row, pw, q->xlabel, 0); row++; }
    /* series */
    int dots_w = pw * 2, dots_h = ph * 4;
    for (int s = 0; s < q->nseries; s++) {
        const lt_series *sr = &q->series[s];
        uint32_t fg = colour ? palette[s % NPAL] : 0;
        int prev_ok = 0, pdx = 0, pdy = 0;
        for (int64_t i = 0; i < sr->n; i++) {
            double xv = sr->x0 + sr->dx * (double)i;
            if (!finite_f(sr->y[i])) {
                lt_canvas_put(c, XCOL(xv), arow, glyph(st, 0x00d7, 'x'), colour ? LT_RGB(214, 39, 40) : 0, 0);
                prev_ok = 0;
                continue;
            }
            double fx = (xv - xmin) / (xmax - xmin), fy = (hi - sr->y[i]) / (hi - lo);
            if (st == LT_STYLE_ASCII) {
                int col = px0 + (int)lround(fx * (pw - 1)), r = top + (int)lround(fy * (ph - 1));
                if (prev_ok) {                   /* fill the columns in between */
                    int pcol = px0 + pdx, prow = top + pdy;
                    for (int cc = pcol + 1; cc < col; cc++) {
                        double t = (double)(cc - pcol) / (col - pcol);
                        lt_canvas_put(c, cc, (int)lround(prow + t * (r - prow)), amarks[s % NPAL], 0, 0);
                    }
                }
                lt_canvas_put(c, col, r, amarks[s % NPAL], 0, 0);
                pdx = col - px0;
                pdy = r - top;
            } else {
                int ddx = (int)lround(fx * (dots_w - 1)), ddy = (int)lround(fy * (dots_h - 1));
                if (prev_ok) lt_canvas_line(c, px0 * 2 + pdx, top * 4 + pdy, px0 * 2 + ddx, top * 4 + ddy, fg);
                else lt_canvas_dot(c, px0 * 2 + ddx, top * 4 + ddy, fg);
                pdx = ddx;
                pdy = ddy;
            }
            prev_ok = 1;
        }
        /* markers at the data points in the colourless Unicode style, when sparse enough */
        if (st == LT_STYLE_UNICODE && q->nseries > 1) {
            int64_t stride = 1;
            while (sr->n / stride > pw / 3) stride++;
            for (int64_t i = 0; i < sr->n; i += stride) {
                if (!finite_f(sr->y[i])) continue;
                double xv = sr->x0 + sr->dx * (double)i;
                int r = top + (int)lround((hi - sr->y[i]) / (hi - lo) * (ph - 1));
                lt_canvas_put(c, XCOL(xv), r, umarks[s % NPAL], 0, 0);
            }
        }
    }
    /* cursor: the point (series i, index j) */
    if (cur && cur->i < q->nseries && cur->j < q->series[cur->i].n) {
        const lt_series *sr = &q->series[cur->i];
        int col = XCOL(sr->x0 + sr->dx * (double)cur->j);
        for (int r = top; r < arow; r++) {
            lt_cell *p = lt_canvas_at(c, col, r);
            if (p && p->ch == ' ') p->ch = glyph(st, 0x2506, ':');
        }
        if (finite_f(sr->y[cur->j])) {
            int r = top + (int)lround((hi - sr->y[cur->j]) / (hi - lo) * (ph - 1));
            lt_canvas_put(c, col, r, st == LT_STYLE_ASCII ? (uint32_t)amarks[cur->i % NPAL] : umarks[cur->i % NPAL],
                          colour ? palette[cur->i % NPAL] : 0, 0);
            lt_canvas_attr(c, col, r, 1, 1, LT_ATTR_REVERSE);
        }
        lt_canvas_attr(c, col, arow, 1, 1, LT_ATTR_REVERSE);
    }
#undef XCOL
    /* legend: under the plot area when it fits on one line there, else from the left */
    if (row < y + h) {
        int one = legend_layout(NULL, q, any_nan, px0, x + w, 0) == 1;
        legend_layout(c, q, any_nan, one ? px0 : x + 1, x + w, row);
    }
}

/* ---- confusion matrices ---- */

static double cm_value(const lt_panel *q, int i, int j) {
    double v = q->cm[(size_t)i * q->k + j];
    if (!q->normalize) return v;
    double s = 0;
    for (int t = 0; t < q->k; t++) s += q->cm[(size_t)i * q->k + t];
    return s > 0 ? v / s : 0;
}

static int cm_integral(const lt_panel *q) {
    for (size_t i = 0; i < (size_t)q->k * q->k; i++)
        if (q->cm[i] != floorf(q->cm[i])) return 0;
    return 1;
}

static void cm_format(const lt_panel *q, double v, int integral, char *buf, size_t n) {
    if (q->normalize || !integral) snprintf(buf, n, "%.2f", v);
    else snprintf(buf, n, "%.0f", v);
}

/* vw: widest value; cw: cell width; lw: row-label width; nshade/vx: shade characters and
 * the value's offset inside a cell (2 and 3 normally; 1 and 1 in the compact cells used
 * when the normal ones do not fit the width). When even those do not fit, the tight
 * layout: cells one column wider than the values, no shade character (the value is
 * shown; colour still shades), rows and columns labelled by class id only, "True"
 * above the ids and a legend "0 name, 1 name, ..." under the matrix (legend = 1). */
typedef struct { int vw, cw, lw, use_idx, nshade, vx, legend; } cm_layout;

static void cm_labels(const lt_panel *q, cm_layout *L) {
    L->use_idx = 0;
    L->lw = 0;
    for (int i = 0; i < q->k; i++) {
        char nb[16];
        snprintf(nb, sizeof nb, "%d", i);
        int n = q->classes ? lt_utf8_width(q->classes[i]) : (int)strlen(nb);
        if (n > L->cw - 1) L->use_idx = 1;
    }
    for (int i = 0; i < q->k; i++) {
        int n = q->classes ? lt_utf8_width(q->classes[i]) : 1;
        if (q->classes && L->use_idx) n += 1 + (i >= 10 ? 3 : 1);
        else if (!q->classes) n = i >= 10 ? (i >= 100 ? 3 : 2) : 1;
        if (n > L->lw) L->lw = n;
    }
    if (L->lw < 10) L->lw = 10;                  /* room for "True label" above */
}

static cm_layout cm_measure(const lt_panel *q, int avail) {
    cm_layout L = {1, 0, 0, 0, 2, 3, 0};
    int integral = cm_integral(q);
    char buf[64];
    for (int i = 0; i < q->k; i++)
        for (int j = 0; j < q->k; j++) {
            cm_format(q, cm_value(q, i, j), integral, buf, sizeof buf);
            if ((int)strlen(buf) > L.vw) L.vw = (int)strlen(buf);
        }
    L.cw = L.vw + 4;
    cm_labels(q, &L);
    if (L.lw + 2 + q->k * L.cw > avail) {        /* compact cells: one shade character */
        L.cw = L.vw + 2;
        L.nshade = 1;
        L.vx = 1;
        cm_labels(q, &L);
    }
    if (L.lw + 2 + q->k * L.cw > avail) {        /* tight: ids only, names in a legend */
        char nb[16];
        L.cw = L.vw + 1;
        L.nshade = 0;
        L.use_idx = 1;
        L.legend = q->classes != NULL;
        L.lw = snprintf(nb, sizeof nb, "%d", q->k - 1);
        if (L.cw < L.lw + 1) L.cw = L.lw + 1;
        if (L.lw < 4) L.lw = 4;                  /* room for "True" above */
    }
    return L;
}

/* The legend of the tight layout, "0 name, 1 name, ...", in lines of at most w columns:
 * returns the number of lines; draws them from row y when c is not NULL. */
static int cm_legend(lt_canvas *c, const lt_panel *q, int x, int y, int w) {
    int lines = 0, col = 0;
    char buf[256];
    for (int i = 0; i < q->k; i++) {
        snprintf(buf, sizeof buf, "%d %s%s", i, q->classes[i], i + 1 < q->k ? "," : "");
        int n = lt_utf8_width(buf);
        if (col > 0 && col + 1 + n > w) { lines++; col = 0; }
        if (col > 0) col++;
        if (c) lt_canvas_text(c, x + col, y + lines, buf, w - col, 0);
        col += n;
    }
    return lines + 1;
}

static void cm_label(const lt_panel *q, int i, int with_idx, char *buf, size_t n) {
    if (!q->classes) snprintf(buf, n, "%d", i);
    else if (with_idx) snprintf(buf, n, "%s %d", q->classes[i], i);
    else snprintf(buf, n, "%s", q->classes[i]);
}

static uint32_t blues(double f) {
    /* matplotlib Blues from (247,251,255) to (8,48,107) through (107,174,214) */
    double r, g, b;
    if (f < 0.5) {
        double t = f / 0.5;
        r = 247 + t * (107 - 247); g = 251 + t * (174 - 251); b = 255 + t * (214 - 255);
    } else {
        double t = (f - 0.5) / 0.5;
        r = 107 + t * (8 - 107); g = 174 + t * (48 - 174); b = 214 + t * (107 - 214);
    }
    return LT_RGB((int)lround(r), (int)lround(g), (int)lround(b));
}

static void draw_confusion(lt_canvas *c, const lt_panel *q, int x, int y, int w, int h,
                           const lt_cursor *cur) {
    lt_style st = c->style;
    cm_layout L = cm_measure(q, w);
    int gw = L.lw + 2 + (q->k * L.cw > 15 ? q->k * L.cw : 15);
    int top = y;
    if (q->title) { text_center(c, x, top, gw < w ? gw : w, q->title, 0); top++; }
    int nleg = L.legend ? cm_legend(NULL, q, 0, 0, w) : 0;
    if (top + q->k + 3 + nleg > y + h) { too_small(c, x, top, w); return; }
    int gx = x + L.lw + 2;                        /* first cell column */
    lt_canvas_text(c, x, top, L.lw < 10 ? "True" : "True label", L.lw, 0);
    char buf[128];
    for (int j = 0; j < q->k; j++) {
        if (L.use_idx || !q->classes) snprintf(buf, sizeof buf, "%d", j);
        else snprintf(buf, sizeof buf, "%s", q->classes[j]);
        text_center(c, gx + j * L.cw, top + 1, L.cw, buf, 0);
    }
    double vmax = 0;
    for (int i = 0; i < q->k; i++)
        for (int j = 0; j < q->k; j++)
            if (cm_value(q, i, j) > vmax) vmax = cm_value(q, i, j);
    int integral = cm_integral(q);
    static const uint32_t ushade[5] = {' ', 0x2591, 0x2592, 0x2593, 0x2588};
    static const char ashade[6] = " .:*#";
    for (int i = 0; i < q->k; i++) {
        int r = top + 2 + i;
        if (L.legend) snprintf(buf, sizeof buf, "%d", i);
        else cm_label(q, i, L.use_idx && q->classes, buf, sizeof buf);
        text_right(c, x, r, L.lw, buf, 0);
        lt_canvas_put(c, x + L.lw + 1, r, glyph(st, 0x2502, '|'), 0, 0);
        for (int j = 0; j < q->k; j++) {
            double v = cm_value(q, i, j), f = vmax > 0 ? v / vmax : 0;
            if (f < 0) f = 0;
            int cx = gx + j * L.cw;
            cm_format(q, v, integral, buf, sizeof buf);
            if (st == LT_STYLE_COLOR) {
                uint32_t bg = blues(f), fg = f > 0.5 ? LT_RGB(255, 255, 255) : LT_RGB(0, 0, 0);
                for (int t = 0; t < L.cw; t++) lt_canvas_put(c, cx + t, r, ' ', fg, bg);
                text_right(c, cx, r, L.cw - 1, buf, fg);
            } else {
                int lv = (int)lround(f * 4);
                uint32_t g = st == LT_STYLE_ASCII ? (uint32_t)ashade[lv] : ushade[lv];
                for (int t = 0; t < L.nshade; t++) lt_canvas_put(c, cx + t, r, g, 0, 0);
                text_right(c, cx + L.vx, r, L.vw, buf, 0);
            }
            if (cur && cur->i == i && cur->j == j) lt_canvas_attr(c, cx, r, L.cw, 1, LT_ATTR_REVERSE);
        }
    }
    text_center(c, gx, top + 2 + q->k, q->k * L.cw > 15 ? q->k * L.cw : 15, "Predicted label", 0);
    if (L.legend) cm_legend(c, q, x, top + 3 + q->k, w);
}

/* ---- images ---- */

/* The break (byte offset of a space) that splits t into two lines of the most even
 * widths; -1 when t has no space. *widest gets the wider part's width. */
static int title_split(const char *t, int *widest) {
    int total = lt_utf8_width(t), best = -1, cols = 0;
    *widest = total;
    for (const char *p = t; *p; cols++) {
        if (*p == ' ') {
            int a = cols, b = total - cols - 1, m = a > b ? a : b;
            if (m < *widest) { *widest = m; best = (int)(p - t); }
        }
        p++;
        while ((*p & 0xc0) == 0x80) p++;
    }
    return best;
}

static int title_lines(const char *t, int w) {
    if (!t || !*t) return 0;
    return lt_utf8_width(t) > w ? 2 : 1;
}

/* Writes t centred on one line of width w, or over two lines split at the most even
 * space when it is wider (each line clipped to w). */
static void draw_title2(lt_canvas *c, int x, int y, int w, const char *t, int lines) {
    int widest, brk;
    if (lt_utf8_width(t) <= w || lines < 2 || (brk = title_split(t, &widest)) < 0 || brk >= 255) {
        text_center(c, x, y, w, t, 0);
        return;
    }
    char first[256];
    memcpy(first, t, (size_t)brk);
    first[brk] = 0;
    text_center(c, x, y, w, first, 0);
    text_center(c, x, y + 1, w, t + brk + 1, 0);
}

static double img_lum(const lt_panel *q, double r, double g, double b) {
    (void)q;
    return 0.299 * r + 0.587 * g + 0.114 * b;
}

/* Box-averages the source over output pixel (ox, oy) at scale s (output px per source px). */
static void img_sample(const lt_panel *q, double s, int ox, int oy, double rgb[3]) {
    int x0 = (int)floor(ox / s), x1 = (int)ceil((ox + 1) / s);
    int y0 = (int)floor(oy / s), y1 = (int)ceil((oy + 1) / s);
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y1 = y0 + 1;
    if (x1 > q->iw) x1 = q->iw;
    if (y1 > q->ih) y1 = q->ih;
    if (x0 >= x1) x0 = x1 - 1;
    if (y0 >= y1) y0 = y1 - 1;
    double acc[3] = {0, 0, 0};
    int n = 0;
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++, n++)
            for (int k = 0; k < 3; k++) {
                float v = q->px[((size_t)yy * q->iw + xx) * q->ic + (q->ic == 3 ? k : 0)];
                acc[k] += isfinite(v) ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0;
            }
    for (int k = 0; k < 3; k++) rgb[k] = acc[k] / n;
}

/* Pixel scale that fits an image in w×h cells: cells hold 1×2 pixels in colour, 2 columns
 * by 1 row per pixel otherwise. Integer when >= 1 (at most max_up). */
static double img_scale(const lt_panel *q, lt_style st, int w, int h, double max_up) {
    double tw = st == LT_STYLE_COLOR ? w : w / 2, th = st == LT_STYLE_COLOR ? h * 2 : h;
    double s = fmin(tw / q->iw, th / q->ih);
    if (s >= 1) s = fmin(floor(s), max_up);
    return s;
}

static void draw_image(lt_canvas *c, const lt_panel *q, int x, int y, int w, int h, int tl,
                       int selected, const lt_cursor *pixcur) {
    lt_style st = c->style;
    if (tl) draw_title2(c, x, y, w, q->title ? q->title : "", tl);
    if (selected) lt_canvas_attr(c, x, y, w, tl ? tl : 1, LT_ATTR_REVERSE);
    y += tl;
    h -= tl;
    if (h < 1 || w < 2) return;
    double s = img_scale(q, st, w, h, 8);
    int ow = (int)floor(q->iw * s + 1e-9), oh = (int)floor(q->ih * s + 1e-9);
    if (ow < 1) ow = 1;
    if (oh < 1) oh = 1;
    int cells_w = st == LT_STYLE_COLOR ? ow : ow * 2;
    int ix = x + (w - cells_w) / 2;
    static const uint32_t uramp[5] = {' ', 0x2591, 0x2592, 0x2593, 0x2588};
    static const char aramp[] = " .:-=+*#%@";
    double rgb[3], rgb2[3];
    if (st == LT_STYLE_COLOR) {
        for (int oy = 0; oy < oh; oy += 2)
            for (int ox = 0; ox < ow; ox++) {
                img_sample(q, s, ox, oy, rgb);
                uint32_t top = LT_RGB((int)lround(rgb[0] * 255), (int)lround(rgb[1] * 255),
                                      (int)lround(rgb[2] * 255)), bot = 0;
                if (oy + 1 < oh) {
                    img_sample(q, s, ox, oy + 1, rgb2);
                    bot = LT_RGB((int)lround(rgb2[0] * 255), (int)lround(rgb2[1] * 255),
                                 (int)lround(rgb2[2] * 255));
                }
                lt_canvas_put(c, ix + ox, y + oy / 2, 0x2580, top, bot);
            }
    } else {
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                img_sample(q, s, ox, oy, rgb);
                double l = img_lum(q, rgb[0], rgb[1], rgb[2]);
                uint32_t g = st == LT_STYLE_ASCII ? (uint32_t)aramp[(int)lround(l * 9)]
                                                  : uramp[(int)lround(l * 4)];
                lt_canvas_put(c, ix + 2 * ox, y + oy, g, 0, 0);
                lt_canvas_put(c, ix + 2 * ox + 1, y + oy, g, 0, 0);
            }
    }
    if (pixcur && pixcur->i < q->ih && pixcur->j < q->iw) {
        int ox = (int)floor(pixcur->j * s), oy = (int)floor(pixcur->i * s);
        if (st == LT_STYLE_COLOR) lt_canvas_attr(c, ix + ox, y + oy / 2, 1, 1, LT_ATTR_REVERSE);
        else lt_canvas_attr(c, ix + 2 * ox, y + oy, 2, 1, LT_ATTR_REVERSE);
    }
}

/* ---- bars ---- */

static void draw_bars(lt_canvas *c, const lt_panel *q, int x, int y, int w, int h,
                      const lt_cursor *cur) {
    lt_style st = c->style;
    int top = y;
    if (q->title) { text_center(c, x, top, w, q->title, 0); top++; }
    int lw = 1, vw = 1;
    double vmax = 0;
    int integral = 1;
    for (int i = 0; i < q->nbars; i++) {
        int n = lt_utf8_width(q->labels[i]);
        if (n > lw) lw = n;
        if (fabs(q->values[i]) > vmax) vmax = fabs(q->values[i]);
        if (q->values[i] != floorf(q->values[i])) integral = 0;
    }
    if (lw > w / 3) lw = w / 3;
    char buf[64];
    for (int i = 0; i < q->nbars; i++) {
        snprintf(buf, sizeof buf, integral ? "%.0f" : "%.4g", q->values[i]);
        if ((int)strlen(buf) > vw) vw = (int)strlen(buf);
    }
    int bx = x + lw + 2, bw = w - lw - 2 - vw - 2;
    if (bw < 1) { too_small(c, x, top, w); return; }
    static const uint32_t eighths[9] = {' ', 0x258f, 0x258e, 0x258d, 0x258c, 0x258b, 0x258a, 0x2589, 0x2588};
    for (int i = 0; i < q->nbars && top + i < y + h; i++) {
        int r = top + i;
        if (top + i == y + h - 1 && i < q->nbars - 1) {
            lt_canvas_text(c, x, r, st == LT_STYLE_ASCII ? "..." : "\u2026", w, 0);
            break;
        }
        text_right(c, x, r, lw, q->labels[i], 0);
        lt_canvas_put(c, x + lw + 1, r, glyph(st, 0x2502, '|'), 0, 0);
        double f = vmax > 0 ? fabs(q->values[i]) / vmax : 0;
        uint32_t fg = st == LT_STYLE_COLOR ? palette[0] : 0;
        int len8 = (int)lround(f * bw * 8), col = 0;
        if (st == LT_STYLE_ASCII) {
            for (; col < (len8 + 4) / 8; col++) lt_canvas_put(c, bx + col, r, '#', 0, 0);
        } else {
            for (; col < len8 / 8; col++) lt_canvas_put(c, bx + col, r, 0x2588, fg, 0);
            if (len8 % 8) lt_canvas_put(c, bx + col++, r, eighths[len8 % 8], fg, 0);
        }
        snprintf(buf, sizeof buf, integral ? "%.0f" : "%.4g", q->values[i]);
        lt_canvas_text(c, bx + col + 1, r, buf, -1, 0);
        if (cur && cur->i == i) lt_canvas_attr(c, x, r, lw, 1, LT_ATTR_REVERSE);
    }
}

/* ---- layout ---- */

static int all_images(const lt_plot *p) {
    for (int i = 0; i < p->npanels; i++)
        if (p->panels[i].kind != LT_PANEL_IMAGE) return 0;
    return p->npanels > 0;
}

static int grid_rows(const lt_plot *p) {
    int cols = p->cols < 1 ? 1 : p->cols;
    return (p->npanels + cols - 1) / cols;
}

/* Title lines shared by every image of a grid whose image cells are cw wide. */
static int grid_title_lines(const lt_plot *p, int cw) {
    int tl = 0;
    for (int i = 0; i < p->npanels; i++) {
        int t = title_lines(p->panels[i].title, cw);
        if (t > tl) tl = t;
    }
    return tl;
}

void lt_plot_size(const lt_plot *p, lt_style style, int term_w, int term_h, int *w, int *h) {
    int tw = term_w > 20 ? term_w : 20, th = term_h > 10 ? term_h : 10;
    int cols = p->cols < 1 ? 1 : p->cols, rows = grid_rows(p);
    int title = p->title ? 1 : 0;
    int W = tw, H = th - 1;
    if (p->npanels == 0) { W = 1; H = 1; }
    else if (all_images(p)) {
        int mw = 1, mh = 1;
        for (int i = 0; i < p->npanels; i++) {
            if (p->panels[i].iw > mw) mw = p->panels[i].iw;
            if (p->panels[i].ih > mh) mh = p->panels[i].ih;
        }
        int px = style == LT_STYLE_COLOR ? 1 : 2;  /* columns per pixel */
        double s = 1;
        if (cols * (mw * px + 1) - 1 > tw) s = (double)(tw - (cols - 1)) / cols / (mw * px);
        int cw = (int)floor(mw * s) * px, ch = (int)floor(mh * s);
        if (cw < 2) cw = 2;
        if (ch < 1) ch = 1;
        if (style == LT_STYLE_COLOR) ch = (ch + 1) / 2;
        int need = 0, full = 0;                   /* the widest title, and its wider half */
        for (int i = 0; i < p->npanels; i++) {
            int wd;
            if (!p->panels[i].title) continue;
            int n = lt_utf8_width(p->panels[i].title);
            if (n > full) full = n;
            if (n <= cw) continue;
            title_split(p->panels[i].title, &wd);
            if (wd > need) need = wd;
        }
        if (full > cw && full <= cw + 8 && cols * (full + 1) - 1 <= tw) cw = full;
        else if (need > cw && cols * (need + 1) - 1 <= tw) cw = need;
        int tl = grid_title_lines(p, cw);
        W = cols * cw + (cols - 1);
        if (p->title && lt_utf8_width(p->title) > W) W = lt_utf8_width(p->title) < tw ? lt_utf8_width(p->title) : tw;
        H = title + rows * (tl + ch) + (rows - 1);
    } else {
        const lt_panel *q = &p->panels[0];
        if (q->kind == LT_PANEL_CONFUSION) {
            int avail = p->width > 0 ? p->width : tw;
            cm_layout L = cm_measure(q, avail);
            W = L.lw + 2 + (q->k * L.cw > 15 ? q->k * L.cw : 15);
            H = title + (q->title ? 1 : 0) + q->k + 3 +      /* the legend as drawn: at the */
                (L.legend ? cm_legend(NULL, q, 0, 0, p->width > W ? p->width : W) : 0);  /* width used */
        } else if (q->kind == LT_PANEL_BARS) {
            W = tw < 80 ? tw : 80;
            H = title + (q->title ? 1 : 0) + q->nbars;
        } else {
            if (cols > 1 && tw < 60) { cols = 1; rows = p->npanels; }
            int per = th - 2 < 8 ? 8 : th - 2 > 24 ? 24 : th - 2;
            W = tw;
            H = title + rows * per;
        }
    }
    *w = p->width > 0 ? p->width : W;
    *h = p->height > 0 ? p->height : H;
    /* A matrix narrower than its compact cells would drop columns: every cell is shown. */
    if (p->npanels == 1 && p->panels[0].kind == LT_PANEL_CONFUSION && *w < W) *w = W;
}

void lt_plot_grid_layout(const lt_plot *p, lt_style st, int w, int h, int *cols, int *per_page) {
    int n = p->npanels, mw = 1, mh = 1;
    *cols = p->cols < 1 ? 1 : p->cols;
    *per_page = n;
    if (!all_images(p) || n < 2) return;
    for (int i = 0; i < n; i++) {
        if (p->panels[i].iw > mw) mw = p->panels[i].iw;
        if (p->panels[i].ih > mh) mh = p->panels[i].ih;
    }
    double pxw = st == LT_STYLE_COLOR ? 1 : 2, pxh = st == LT_STYLE_COLOR ? 0.5 : 1;
    int H = h - (p->title ? 1 : 0), tl = 1;
    double best = 0;
    for (int c = 1; c <= n; c++) {               /* every panel on one screen */
        int rows = (n + c - 1) / c;
        int cw = (w - (c - 1)) / c, ch = (H - (rows - 1)) / rows - tl;
        if (cw < 1 || ch < 1) continue;
        double sc = fmin(cw / (mw * pxw), ch / (mh * pxh));
        if (sc >= 1) sc = fmin(floor(sc), 8);
        if (sc > best) { best = sc; *cols = c; }
    }
    double smin = (mw < 16 ? mw : 16) / (double)mw;   /* at least 16 pixels across */
    if (best >= smin) return;
    int tw = (int)ceil(mw * smin * pxw), th = (int)ceil(mh * smin * pxh);
    int c = (w + 1) / (tw + 1), r = (H + 1) / (th + tl + 1);
    *cols = c < 1 ? 1 : c;
    *per_page = (r < 1 ? 1 : r) * *cols;
    if (*per_page > n) *per_page = n;
}

lt_canvas *lt_plot_render(const lt_plot *p, int w, int h, lt_style style, const lt_cursor *cur) {
    lt_canvas *c = lt_canvas_new(w, h, style);
    if (!c) return NULL;
    int top = 0;
    if (p->title) { text_center(c, 0, 0, w, p->title, 0); top = 1; }
    int cols = p->cols < 1 ? 1 : p->cols, rows = grid_rows(p);
    int imgs = all_images(p);
    if (!imgs && p->npanels > 1 && cols > 1 && w < 60) { cols = 1; rows = p->npanels; }
    int gap = imgs ? 1 : 2;
    int cw = (w - (cols - 1) * gap) / cols, ch = (h - top - (imgs ? rows - 1 : 0)) / (rows ? rows : 1);
    if (cw < 1 || ch < 1) { too_small(c, 0, top, w); return c; }
    int tl = imgs ? grid_title_lines(p, cw) : 0;
    for (int i = 0; i < p->npanels; i++) {
        const lt_panel *q = &p->panels[i];
        int x = (i % cols) * (cw + gap), y = top + (i / cols) * (ch + (imgs ? 1 : 0));
        const lt_cursor *pc = cur && cur->panel == i ? cur : NULL;
        switch (q->kind) {
        case LT_PANEL_LINES: draw_lines(c, q, x, y, cw, ch, pc); break;
        case LT_PANEL_CONFUSION: draw_confusion(c, q, x, y, cw, ch, pc); break;
        case LT_PANEL_BARS: draw_bars(c, q, x, y, cw, ch, pc); break;
        case LT_PANEL_IMAGE:
            draw_image(c, q, x, y, cw, ch, tl, pc && p->npanels > 1,
                       pc && p->npanels == 1 ? pc : NULL);
            break;
        }
    }
    return c;
}

/* ---- cursor ---- */

void lt_plot_cursor_init(const lt_plot *p, lt_cursor *cur) {
    (void)p;
    *cur = (lt_cursor){0, 0, 0};
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void lt_plot_cursor_move(const lt_plot *p, lt_cursor *cur, lt_move m) {
    if (p->npanels == 0) return;
    int di = m == LT_MOVE_UP ? -1 : m == LT_MOVE_DOWN ? 1 : 0;
    int dj = m == LT_MOVE_LEFT ? -1 : m == LT_MOVE_RIGHT ? 1 : 0;
    if (all_images(p) && p->npanels > 1) {          /* move between the images of a grid */
        int cols = p->cols < 1 ? 1 : p->cols;
        int n = cur->panel + dj + di * cols + (m == LT_MOVE_NEXT ? 1 : 0);
        if (n >= 0 && n < p->npanels) cur->panel = n;
        return;
    }
    if (m == LT_MOVE_NEXT) {
        cur->panel = (cur->panel + 1) % p->npanels;
        cur->i = cur->j = 0;
        return;
    }
    const lt_panel *q = &p->panels[cur->panel];
    switch (q->kind) {
    case LT_PANEL_LINES: {
        cur->i = clampi(cur->i + di, 0, q->nseries - 1);
        cur->j = clampi(cur->j + dj, 0, (int)q->series[cur->i].n - 1);
        break;
    }
    case LT_PANEL_CONFUSION:
        cur->i = clampi(cur->i + di, 0, q->k - 1);
        cur->j = clampi(cur->j + dj, 0, q->k - 1);
        break;
    case LT_PANEL_IMAGE:
        cur->i = clampi(cur->i + di, 0, q->ih - 1);
        cur->j = clampi(cur->j + dj, 0, q->iw - 1);
        break;
    case LT_PANEL_BARS:
        cur->i = clampi(cur->i + di + dj, 0, q->nbars - 1);
        break;
    }
}

void lt_plot_describe_short(const lt_plot *p, const lt_cursor *cur, char *buf, size_t size) {
    const lt_panel *q = p->npanels > 0 && cur->panel < p->npanels ? &p->panels[cur->panel] : NULL;
    if (!q || q->kind != LT_PANEL_CONFUSION) { lt_plot_describe(p, cur, buf, size); return; }
    double row = 0, v = q->cm[(size_t)cur->i * q->k + cur->j];
    for (int t = 0; t < q->k; t++) row += q->cm[(size_t)cur->i * q->k + t];
    snprintf(buf, size, "true %d, predicted %d: %g (%.1f%%)", cur->i, cur->j, v,
             row > 0 ? 100 * v / row : 0.0);
}

void lt_plot_describe(const lt_plot *p, const lt_cursor *cur, char *buf, size_t size) {
    buf[0] = 0;
    if (p->npanels == 0 || cur->panel >= p->npanels) return;
    const lt_panel *q = &p->panels[cur->panel];
    char a[128], b[128];
    switch (q->kind) {
    case LT_PANEL_LINES: {
        if (cur->i >= q->nseries) return;
        const lt_series *s = &q->series[cur->i];
        if (cur->j >= s->n) return;
        snprintf(buf, size, "%s  %s %g: %.6g", s->name, q->xlabel ? q->xlabel : "x",
                 s->x0 + s->dx * cur->j, (double)s->y[cur->j]);
        break;
    }
    case LT_PANEL_CONFUSION: {
        double row = 0;
        for (int t = 0; t < q->k; t++) row += q->cm[(size_t)cur->i * q->k + t];
        cm_label(q, cur->i, 0, a, sizeof a);
        cm_label(q, cur->j, 0, b, sizeof b);
        double v = q->cm[(size_t)cur->i * q->k + cur->j];
        snprintf(buf, size, "true %s (%d), predicted %s (%d): %g  (%.1f%% of the row)", a,
                 cur->i, b, cur->j, v, row > 0 ? 100 * v / row : 0.0);
        break;
    }
    case LT_PANEL_IMAGE:
        if (p->npanels > 1) {
            snprintf(buf, size, "image %d of %d: %s (%dx%dx%d)", cur->panel + 1, p->npanels,
                     q->title ? q->title : "", q->ih, q->iw, q->ic);
        } else {
            const float *v = &q->px[((size_t)cur->i * q->iw + cur->j) * q->ic];
            if (q->ic == 3)
                snprintf(buf, size, "pixel (%d, %d): %.3f %.3f %.3f", cur->i + 1, cur->j + 1, v[0], v[1], v[2]);
            else
                snprintf(buf, size, "pixel (%d, %d): %.3f", cur->i + 1, cur->j + 1, v[0]);
        }
        break;
    case LT_PANEL_BARS:
        snprintf(buf, size, "%s: %g", q->labels[cur->i], (double)q->values[cur->i]);
        break;
    }
}

/* plot.h: plot descriptions and their rendering into a canvas (pure, no terminal).
 * A plot is a title and a grid of panels; a panel is a line chart (several series of
 * y values at x = x0 + i·dx), a confusion matrix (k×k, rows true, columns predicted),
 * an image (H×W×C floats in 0..1, C = 1 or 3) or horizontal bars. The data is copied
 * in: the plot owns everything it holds. A cursor (panel, i, j) picks one value for
 * the viewer: a (series, point), a (row, column) cell, an image pixel or a bar. */
#ifndef LT_PLOT_H
#define LT_PLOT_H

#include <stdint.h>

#include "core/err.h"
#include "plot/canvas.h"

typedef enum { LT_PANEL_LINES, LT_PANEL_CONFUSION, LT_PANEL_IMAGE, LT_PANEL_BARS } lt_panel_kind;

typedef struct {
    char *name;
    float *y;               /* n values; NaN/inf are skipped and marked on the x axis */
    int64_t n;
    double x0, dx;          /* x of point i is x0 + i·dx (the panel's unless given) */
} lt_series;

typedef struct {
    lt_panel_kind kind;
    char *title, *xlabel, *ylabel;
    /* lines */
    lt_series *series;
    int nseries;
    double x0, dx;          /* x of point i (0-based) */
    /* confusion: k×k values, class names (NULL: "0".."k-1"), row-normalised or counts */
    float *cm;
    int k, normalize;
    char **classes;
    /* image: h×w×c in 0..1 */
    float *px;
    int ih, iw, ic;
    /* bars */
    float *values;
    char **labels;
    int nbars;
} lt_panel;

typedef struct lt_plot {
    char *title;            /* a line above the grid, or NULL */
    lt_panel *panels;
    int npanels;
    int cols;               /* panels per grid row (>= 1) */
    int width, height;      /* requested size in cells; 0: follow the terminal */
} lt_plot;

typedef struct { int panel, i, j; } lt_cursor;

typedef enum { LT_MOVE_LEFT, LT_MOVE_RIGHT, LT_MOVE_UP, LT_MOVE_DOWN, LT_MOVE_NEXT } lt_move;

/* An empty plot (no panels); title may be NULL. The caller frees it. NULL: no memory. */
lt_plot *lt_plot_new(const char *title);
void     lt_plot_free(lt_plot *p);                       /* NULL is a no-op */

/* Each adder copies its arguments and returns the new panel's index (>= 0), or -1 with
 * lt_lasterror() set (the plot is unchanged). Strings may be NULL. */
int lt_plot_add_lines(lt_plot *p, const char *title, const char *xlabel, const char *ylabel,
                      double x0, double dx);
/* Adds a series to lines panel `panel`; n >= 1. */
lt_status lt_plot_add_series(lt_plot *p, int panel, const char *name, const float *y, int64_t n);
/* The same with its own x positions x0 + i·dx (dx > 0), e.g. batches on an epoch axis. */
lt_status lt_plot_add_series_x(lt_plot *p, int panel, const char *name, const float *y, int64_t n,
                               double x0, double dx);
/* cm is k×k row-major; classes NULL or k strings. normalize: show each row divided by
 * its sum (rows summing to 0 stay 0). */
int lt_plot_add_confusion(lt_plot *p, const char *title, const float *cm, int k,
                          const char *const *classes, int normalize);
/* px is h×w×c (c = 1 or 3), values in 0..1 (clamped when drawn). */
int lt_plot_add_image(lt_plot *p, const char *title, const float *px, int h, int w, int c);
/* n values with labels (NULL: "1".."n"). */
int lt_plot_add_bars(lt_plot *p, const char *title, const float *v, const char *const *labels,
                     int n);

/* The size the plot takes: its requested width/height, else one that follows the
 * terminal size term_w×term_h (line charts, bars) or the content (matrices, images). */
void lt_plot_size(const lt_plot *p, lt_style style, int term_w, int term_h, int *w, int *h);

/* Renders into a new w×h canvas; cur (may be NULL) is highlighted. Caller frees it.
 * NULL on a bad size, with lt_lasterror() set. */
lt_canvas *lt_plot_render(const lt_plot *p, int w, int h, lt_style style, const lt_cursor *cur);

/* The viewer's grid for a plot of several images shown in w×h cells (a plot of another
 * kind keeps its own cols and one page): *cols panels per row, *per_page panels per
 * screen. The thumbnails are the biggest with which every panel fits (up to 8× the
 * pixels); when that would make them smaller than 16 pixels across (or the image's own
 * width), they keep that size and the panels go on pages of *per_page. */
void lt_plot_grid_layout(const lt_plot *p, lt_style st, int w, int h, int *cols, int *per_page);
/* Cursor helpers for the viewer: a valid starting cursor, a move, and a one-line
 * description of the value under it written into buf. */
void lt_plot_cursor_init(const lt_plot *p, lt_cursor *cur);
void lt_plot_cursor_move(const lt_plot *p, lt_cursor *cur, lt_move m);
void lt_plot_describe(const lt_plot *p, const lt_cursor *cur, char *buf, size_t size);

/* The same in fewer columns, for a narrow status line: a confusion cell as
 * "true 0, predicted 2: 5 (62.5%)" (class ids, no names); other values as above. */
void lt_plot_describe_short(const lt_plot *p, const lt_cursor *cur, char *buf, size_t size);
/* "Nice" axis ticks (1, 2, 5 × 10^k) covering [lo, hi] with about `target` ticks:
 * writes the first tick, the step and the count (the last tick is >= hi). A constant
 * or empty range is widened first. Used by line charts; exposed for tests. */
void lt_plot_ticks(double lo, double hi, int target, double *first, double *step, int *count);

#endif

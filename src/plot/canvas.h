/* canvas.h: a character grid that plots render into, with no terminal involved.
 * A canvas is W×H cells; each cell holds one Unicode code point (one column wide) and
 * fg/bg colours. Sub-cell drawing: braille dots (2×4 per cell, U+2800 block) for
 * curves, upper half blocks (U+2580, fg = top pixel, bg = bottom pixel) for images.
 * lt_canvas_tostring turns it into text: UTF-8, with ANSI SGR codes only in
 * LT_STYLE_COLOR (xterm 256-colour palette, or 24-bit when truecolor is set). */
#ifndef LT_CANVAS_H
#define LT_CANVAS_H

#include <stddef.h>
#include <stdint.h>

/* Three styles (SPEC 6): Unicode + colours, Unicode without colour, plain ASCII. */
typedef enum { LT_STYLE_ASCII = 0, LT_STYLE_UNICODE = 1, LT_STYLE_COLOR = 2 } lt_style;

/* Colours are 0 (the terminal's default) or LT_RGB(r, g, b). */
#define LT_RGB(r, g, b) (0x1000000u | ((uint32_t)(r) << 16) | ((uint32_t)(g) << 8) | (uint32_t)(b))
#define LT_RGB_R(c) (((c) >> 16) & 0xff)
#define LT_RGB_G(c) (((c) >> 8) & 0xff)
#define LT_RGB_B(c) ((c) & 0xff)

enum { LT_ATTR_BOLD = 1, LT_ATTR_REVERSE = 2, LT_ATTR_DIM = 4 };

typedef struct {
    uint32_t ch;            /* code point; 0 never appears (blank is ' ') */
    uint32_t fg, bg;        /* 0 or LT_RGB */
    uint8_t attr;           /* LT_ATTR_* */
} lt_cell;

typedef struct {
    int w, h;
    lt_style style;
    int truecolor;          /* colour output as 38;2;r;g;b instead of the 256 palette */
    lt_cell *cells;         /* h rows of w cells */
} lt_canvas;

/* A blank canvas (spaces, default colours). The caller frees it. NULL on a bad size
 * (w, h must be 1..4096) or no memory, with lt_lasterror() set. */
lt_canvas *lt_canvas_new(int w, int h, lt_style style);
void       lt_canvas_free(lt_canvas *c);                 /* NULL is a no-op */
lt_cell   *lt_canvas_at(lt_canvas *c, int x, int y);    /* NULL when outside */

/* Sets one cell (ignored outside the canvas). fg/bg 0 keep the default colour. */
void lt_canvas_put(lt_canvas *c, int x, int y, uint32_t ch, uint32_t fg, uint32_t bg);
/* Writes UTF-8 text from (x, y), one code point per column, clipped at max_w columns
 * (max_w < 0: to the canvas edge). Returns the number of columns written. */
int  lt_canvas_text(lt_canvas *c, int x, int y, const char *s, int max_w, uint32_t fg);
/* Sets a braille dot at dot coordinates (dx, dy), dx in [0, 2w), dy in [0, 4h).
 * A cell holding another glyph is turned into braille first. */
void lt_canvas_dot(lt_canvas *c, int dx, int dy, uint32_t fg);
/* A braille line from (x0, y0) to (x1, y1) in dot coordinates (Bresenham). */
void lt_canvas_line(lt_canvas *c, int x0, int y0, int x1, int y1, uint32_t fg);
/* Sets attributes on a rectangle of cells (ORed in). */
void lt_canvas_attr(lt_canvas *c, int x, int y, int w, int h, uint8_t attr);

/* Number of code points in a UTF-8 string (the columns it takes on the canvas). */
int lt_utf8_width(const char *s);

/* The canvas as text: rows joined by "\n" (no final newline), trailing blanks of each
 * row dropped; SGR codes only in LT_STYLE_COLOR, each coloured row ending in a reset.
 * Returns a malloc'd string the caller frees, or NULL when out of memory. */
char *lt_canvas_tostring(const lt_canvas *c);

/* The xterm-256 palette index nearest to an LT_RGB colour (6×6×6 cube or grey ramp). */
int lt_color256(uint32_t rgb);

/* The style for this process's stdout, decided in one place: ASCII when `plain`, when
 * TERM is dumb or unset, when stdout is not a terminal, or when the locale
 * (LC_ALL, LC_CTYPE, LANG) is not UTF-8; Unicode without colour when NO_COLOR is set;
 * otherwise colour. *truecolor is set when COLORTERM is truecolor or 24bit. */
lt_style lt_style_detect(int plain, int *truecolor);
/* The terminal's size: stdout's window size, else $COLUMNS/$LINES, else 80×24. */
void lt_term_size(int *cols, int *rows);

#endif

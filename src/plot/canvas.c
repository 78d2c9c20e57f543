/* canvas.c: the character grid plots render into (see canvas.h).
 * Braille: U+2800 + bits, dot (col, row) of a cell → bit 0x01 0x02 0x04 0x40 for the
 * left column rows 0-3 and 0x08 0x10 0x20 0x80 for the right one (Unicode 3.0 block).
 * 256 colours: xterm's cube levels 0,95,135,175,215,255 and greys 8+10k (232..255). */
#include "plot/canvas.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/err.h"

lt_canvas *lt_canvas_new(int w, int h, lt_style style) {
    if (w < 1 || h < 1 || w > 4096 || h > 4096) {
        lt_seterr(LT_EARG, "plot: canvas size %dx%d is out of range (1..4096)", w, h);
        return NULL;
    }
    lt_canvas *c = malloc(sizeof *c);
    lt_cell *cells = malloc((size_t)w * (size_t)h * sizeof *cells);
    if (!c || !cells) {
        free(c);
        free(cells);
        lt_seterr(LT_ENOMEM, "plot: out of memory for a %dx%d canvas", w, h);
        return NULL;
    }
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        cells[i] = (lt_cell){' ', 0, 0, 0};
    *c = (lt_canvas){w, h, style, 0, cells};
    return c;
}

void lt_canvas_free(lt_canvas *c) {
    if (!c) return;
    free(c->cells);
    free(c);
}

lt_cell *lt_canvas_at(lt_canvas *c, int x, int y) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return NULL;
    return &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
}

void lt_canvas_put(lt_canvas *c, int x, int y, uint32_t ch, uint32_t fg, uint32_t bg) {
    lt_cell *p = lt_canvas_at(c, x, y);
    if (!p) return;
    p->ch = ch;
    p->fg = fg;
    p->bg = bg;
}

/* Decodes one UTF-8 sequence at *s (advancing it); invalid bytes give '?'. */
static uint32_t utf8_next(const char **s) {
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t cp;
    int n;
    if (p[0] < 0x80) { *s += 1; return p[0]; }
    if ((p[0] & 0xe0) == 0xc0) { cp = p[0] & 0x1f; n = 1; }
    else if ((p[0] & 0xf0) == 0xe0) { cp = p[0] & 0x0f; n = 2; }
    else if ((p[0] & 0xf8) == 0xf0) { cp = p[0] & 0x07; n = 3; }
    else { *s += 1; return '?'; }
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) { *s += i; return '?'; }
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    *s += n + 1;
    return cp;
}

int lt_utf8_width(const char *s) {
    int n = 0;
    while (*s) { utf8_next(&s); n++; }
    return n;
}

int lt_canvas_text(lt_canvas *c, int x, int y, const char *s, int max_w, uint32_t fg) {
    int n = 0;
    while (*s && (max_w < 0 || n < max_w)) {
        uint32_t cp = utf8_next(&s);
        if (cp < 32 || cp == 127) cp = ' ';
        if (c->style == LT_STYLE_ASCII && cp > 126) cp = '?';
        lt_cell *p = lt_canvas_at(c, x + n, y);
        if (p) { p->ch = cp; p->fg = fg; }
        n++;
    }
    return n;
}

void lt_canvas_dot(lt_canvas *c, int dx, int dy, uint32_t fg) {
    static const uint8_t bits[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    if (dx < 0 || dy < 0) return;
    lt_cell *p = lt_canvas_at(c, dx / 2, dy / 4);
    if (!p) return;
    if (p->ch < 0x2800 || p->ch > 0x28ff) p->ch = 0x2800;
    p->ch |= bits[dy % 4][dx % 2];
    if (fg) p->fg = fg;
}

void lt_canvas_line(lt_canvas *c, int x0, int y0, int x1, int y1, uint32_t fg) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        lt_canvas_dot(c, x0, y0, fg);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

void lt_canvas_attr(lt_canvas *c, int x, int y, int w, int h, uint8_t attr) {
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) {
            lt_cell *p = lt_canvas_at(c, i, j);
            if (p) p->attr |= attr;
        }
}

/* ---- text output ---- */

int lt_color256(uint32_t rgb) {
    static const int lv[6] = {0, 95, 135, 175, 215, 255};
    int r = LT_RGB_R(rgb), g = LT_RGB_G(rgb), b = LT_RGB_B(rgb);
    int q[3], v[3] = {r, g, b}, cube_err = 0;
    for (int k = 0; k < 3; k++) {
        int best = 0;
        for (int i = 1; i < 6; i++)
            if (abs(lv[i] - v[k]) < abs(lv[best] - v[k])) best = i;
        q[k] = best;
        cube_err += (lv[best] - v[k]) * (lv[best] - v[k]);
    }
    int grey = (r + g + b) / 3;
    int gi = grey < 8 ? 0 : grey > 238 ? 23 : (grey - 8 + 5) / 10;
    int gv = 8 + 10 * gi, grey_err = (gv - r) * (gv - r) + (gv - g) * (gv - g) + (gv - b) * (gv - b);
    if (grey_err < cube_err) return 232 + gi;
    return 16 + 36 * q[0] + 6 * q[1] + q[2];
}

typedef struct { char *p; size_t n, cap; int oom; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_utf8(sbuf *b, uint32_t cp) {
    char s[4];
    size_t n;
    if (cp < 0x80) { s[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { s[0] = (char)(0xc0 | (cp >> 6)); s[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) {
        s[0] = (char)(0xe0 | (cp >> 12)); s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        s[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        s[0] = (char)(0xf0 | (cp >> 18)); s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); s[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
    }
    sb_add(b, s, n);
}

static void sb_colour(sbuf *b, int truecolor, int base, uint32_t c) {
    char s[32];
    if (truecolor)
        snprintf(s, sizeof s, ";%d;2;%u;%u;%u", base, LT_RGB_R(c), LT_RGB_G(c), LT_RGB_B(c));
    else
        snprintf(s, sizeof s, ";%d;5;%d", base, lt_color256(c));
    sb_add(b, s, strlen(s));
}

static int is_plain_blank(const lt_cell *p, int colour) {
    return p->ch == ' ' && (!colour || (p->bg == 0 && p->attr == 0));
}

char *lt_canvas_tostring(const lt_canvas *c) {
    sbuf b = {0};
    int colour = c->style == LT_STYLE_COLOR;
    sb_add(&b, "", 0);
    for (int y = 0; y < c->h; y++) {
        const lt_cell *row = &c->cells[(size_t)y * (size_t)c->w];
        int end = c->w;
        while (end > 0 && is_plain_blank(&row[end - 1], colour)) end--;
        uint32_t fg = 0, bg = 0;
        uint8_t attr = 0;
        int dirty = 0;
        for (int x = 0; x < end; x++) {
            const lt_cell *p = &row[x];
            if (colour && (p->fg != fg || p->bg != bg || p->attr != attr)) {
                sb_add(&b, "\x1b[0", 3);
                if (p->attr & LT_ATTR_BOLD) sb_add(&b, ";1", 2);
                if (p->attr & LT_ATTR_DIM) sb_add(&b, ";2", 2);
                if (p->attr & LT_ATTR_REVERSE) sb_add(&b, ";7", 2);
                if (p->fg) sb_colour(&b, c->truecolor, 38, p->fg);
                if (p->bg) sb_colour(&b, c->truecolor, 48, p->bg);
                sb_add(&b, "m", 1);
                fg = p->fg;
                bg = p->bg;
                attr = p->attr;
                dirty = fg || bg || attr;
            }
            uint32_t ch = p->ch;
            if (c->style == LT_STYLE_ASCII && ch > 126) ch = '?';
            sb_utf8(&b, ch);
        }
        if (dirty) sb_add(&b, "\x1b[0m", 4);
        if (y + 1 < c->h) sb_add(&b, "\n", 1);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- environment ---- */

static int env_set(const char *name) {
    const char *v = getenv(name);
    return v && *v;
}

static int locale_is_utf8(void) {
    const char *names[3] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            char low[128];
            size_t n = 0;
            for (; v[n] && n + 1 < sizeof low; n++) low[n] = (char)tolower((unsigned char)v[n]);
            low[n] = 0;
            return strstr(low, "utf-8") != NULL || strstr(low, "utf8") != NULL;
        }
    }
    return 0;                                   /* the C locale is ASCII */
}

lt_style lt_style_detect(int plain, int *truecolor) {
    const char *term = getenv("TERM"), *ct = getenv("COLORTERM");
    if (truecolor)
        *truecolor = ct && (strcasecmp(ct, "truecolor") == 0 || strcasecmp(ct, "24bit") == 0);
    if (plain || !term || !*term || strcmp(term, "dumb") == 0 || !isatty(STDOUT_FILENO) ||
        !locale_is_utf8())
        return LT_STYLE_ASCII;
    if (env_set("NO_COLOR")) return LT_STYLE_UNICODE;
    return LT_STYLE_COLOR;
}

void lt_term_size(int *cols, int *rows) {
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
        return;
    }
    const char *c = getenv("COLUMNS"), *r = getenv("LINES");
    if (c && atoi(c) > 0) *cols = atoi(c);
    if (r && atoi(r) > 0) *rows = atoi(r);
}

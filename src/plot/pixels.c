/* pixels.c: the sixel and kitty encoders (see pixels.h). References: DEC STD 070 / the
 * VT330/VT340 Programmer Reference, chapter "Sixel Graphics"; kitty's "Terminal graphics
 * protocol" documentation (transmission keys a, f, s, v, q, m; chunks of 4096). */
#include "plot/pixels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *s; size_t n, cap; int bad; } buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->bad) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) { b->bad = 1; return; }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static char *finish(buf *b, size_t *len) {
    if (b->bad) { free(b->s); return NULL; }
    if (len) *len = b->n;
    return b->s;
}

static int bad_size(int w, int h) { return w < 1 || h < 1 || w > 8192 || h > 8192; }

/* The 6x6x6 cube level (0..5) nearest to an 8-bit value. */
static int level6(uint8_t v) { return (v * 5 + 127) / 255; }

/* Emits a run of n copies of c (as !n c from 4 on). */
static void run(buf *b, char c, int n) {
    char t[24];
    if (n >= 4) {
        snprintf(t, sizeof t, "!%d%c", n, c);
        puts_(b, t);
    } else {
        for (int i = 0; i < n; i++) put(b, &c, 1);
    }
}

char *lt_sixel_encode(const uint8_t *rgb, int w, int h, size_t *len) {
    if (bad_size(w, h)) return NULL;
    buf b = {0};
    uint8_t *idx = malloc((size_t)w * (size_t)h);
    char *line = malloc((size_t)w);
    if (!idx || !line) { free(idx); free(line); return NULL; }
    int used[216] = {0};
    for (size_t p = 0; p < (size_t)w * (size_t)h; p++) {
        int i = level6(rgb[3 * p]) * 36 + level6(rgb[3 * p + 1]) * 6 + level6(rgb[3 * p + 2]);
        idx[p] = (uint8_t)i;
        used[i] = 1;
    }
    char t[64];
    snprintf(t, sizeof t, "\033Pq\"1;1;%d;%d", w, h);
    puts_(&b, t);
    for (int i = 0; i < 216; i++) {
        if (!used[i]) continue;
        int r = i / 36, g = i / 6 % 6, bl = i % 6;
        snprintf(t, sizeof t, "#%d;2;%d;%d;%d", i, r * 20, g * 20, bl * 20);   /* level·100/5 */
        puts_(&b, t);
    }
    for (int y0 = 0; y0 < h; y0 += 6) {
        int rows = h - y0 < 6 ? h - y0 : 6, first = 1;
        int inband[216] = {0};
        for (int k = 0; k < rows; k++)
            for (int x = 0; x < w; x++) inband[idx[(size_t)(y0 + k) * w + x]] = 1;
        for (int i = 0; i < 216; i++) {
            if (!inband[i]) continue;
            int end = 0;                           /* columns up to the last non-empty one */
            for (int x = 0; x < w; x++) {
                int bits = 0;
                for (int k = 0; k < rows; k++)
                    if (idx[(size_t)(y0 + k) * w + x] == i) bits |= 1 << k;
                line[x] = (char)(63 + bits);
                if (bits) end = x + 1;
            }
            if (!first) puts_(&b, "$");
            first = 0;
            snprintf(t, sizeof t, "#%d", i);
            puts_(&b, t);
            for (int x = 0; x < end;) {
                int n = 1;
                while (x + n < end && line[x + n] == line[x]) n++;
                run(&b, line[x], n);
                x += n;
            }
        }
        if (y0 + 6 < h) puts_(&b, "-");
    }
    puts_(&b, "\033\\");
    free(idx);
    free(line);
    return finish(&b, len);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *lt_kitty_encode(const uint8_t *rgb, int w, int h, size_t *len) {
    if (bad_size(w, h)) return NULL;
    size_t n = (size_t)w * (size_t)h * 3, m = (n + 2) / 3 * 4;
    char *enc = malloc(m + 1);
    if (!enc) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)rgb[i] << 16 | (i + 1 < n ? (uint32_t)rgb[i + 1] << 8 : 0) |
                     (i + 2 < n ? rgb[i + 2] : 0);
        enc[o++] = b64[v >> 18 & 63];
        enc[o++] = b64[v >> 12 & 63];
        enc[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        enc[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    buf b = {0};
    char t[96];
    enum { CHUNK = 4096 };
    for (size_t at = 0; at < m; at += CHUNK) {
        size_t k = m - at < CHUNK ? m - at : CHUNK;
        int more = at + k < m;
        if (at == 0)
            snprintf(t, sizeof t, "\033_Ga=T,f=24,s=%d,v=%d,q=2%s;", w, h, more ? ",m=1" : "");
        else
            snprintf(t, sizeof t, "\033_Gm=%d;", more);
        puts_(&b, t);
        put(&b, enc + at, k);
        puts_(&b, "\033\\");
    }
    free(enc);
    return finish(&b, len);
}

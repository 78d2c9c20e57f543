/* l_plot.c: lunette.plot's C side: the plot object (userdata "lunette.Plot" owning an
 * lt_plot), built from a spec table by plot._new; rendering in the current style,
 * the ncurses viewer, the screen used by the live dashboard, and histogram counts.
 * The user-facing constructors (lines, history, confusion, image, ...) are in
 * lua/lunette/plot.lua; they check arguments and build the spec. */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lua/l_util.h"
#include "plot/canvas.h"
#include "plot/pixels.h"
#include "plot/plot.h"
#include "plot/term.h"

#define PLOT_MT "lunette.Plot"
#define STYLE_KEY "lunette.plot.style"       /* registry: forced style name, or nil */
#define GRAPHICS_KEY "lunette.graphics"      /* registry: text, sixel, kitty or auto (nil) */
#define DETECTED_KEY "lunette.graphics.da"   /* registry: what the terminal answered */

typedef struct { lt_plot *p; } LPlot;

static lt_plot *checkplot(lua_State *L, int idx) {
    LPlot *u = luaL_checkudata(L, idx, PLOT_MT);
    if (!u->p) luaL_argerror(L, idx, "plot has been freed");
    return u->p;
}

/* ---- style: decided here, in one place ---- */

/* lunette.plain, set by the REPL for --plain. */
static int plain_flag(lua_State *L) {
    int top = lua_gettop(L), plain = 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, "lunette.module") == LUA_TTABLE) {
        lt_lua_rawfield(L, -1, "plain");
        plain = lua_toboolean(L, -1);
    }
    lua_settop(L, top);
    return plain;
}

/* lunette.color == false (set by the REPL, e.g. for NO_COLOR). */
static int color_off(lua_State *L) {
    int top = lua_gettop(L), off = 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, "lunette.module") == LUA_TTABLE) {
        lt_lua_rawfield(L, -1, "color");
        off = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
    }
    lua_settop(L, top);
    return off;
}

static const char *const style_names[] = {"ascii", "unicode", "color", NULL};

/* The style to draw in: plot.style(name) when set, else ASCII when lunette.plain is true
 * (the REPL's --plain), else what lt_style_detect finds from the environment. */
static lt_style current_style(lua_State *L, int *truecolor) {
    int tc = 0;
    lt_style st = lt_style_detect(0, &tc);
    if (truecolor) *truecolor = tc;
    if (lua_getfield(L, LUA_REGISTRYINDEX, STYLE_KEY) == LUA_TSTRING) {
        const char *s = lua_tostring(L, -1);
        for (int i = 0; style_names[i]; i++)
            if (strcmp(s, style_names[i]) == 0) st = (lt_style)i;
        lua_pop(L, 1);
        return st;
    }
    lua_pop(L, 1);
    if (plain_flag(L)) st = LT_STYLE_ASCII;
    if (st == LT_STYLE_COLOR && color_off(L)) st = LT_STYLE_UNICODE;
    return st;
}

static int plot_style(lua_State *L) {            /* plot.style([name | "auto"]) → name */
    if (!lua_isnoneornil(L, 1)) {
        const char *s = luaL_checkstring(L, 1);
        if (strcmp(s, "auto") == 0) lua_pushnil(L);
        else {
            luaL_checkoption(L, 1, NULL, style_names);
            lua_pushvalue(L, 1);
        }
        lua_setfield(L, LUA_REGISTRYINDEX, STYLE_KEY);
    }
    lua_pushstring(L, style_names[current_style(L, NULL)]);
    return 1;
}

/* ---- building from a spec table ---- */

/* A float tensor from field `key` of the table at idx (a tensor or nested table of
 * numbers); it stays referenced on the stack (pushed) so its data outlives the call. */
static lt_tensor *field_tensor(lua_State *L, int idx, const char *key, const char *fn) {
    lt_lua_rawfield(L, idx, key);
    if (lua_isnil(L, -1)) luaL_error(L, "%s: missing '%s'", fn, key);
    return lt_lua_totensor(L, -1, fn);
}

static const char *field_str(lua_State *L, int idx, const char *key) {
    return lt_opt_str(L, "plot", idx, key, NULL);
}

/* The strings of the array at field `key` (n of them) as a GC-owned const char* array;
 * pushes two values (the array table and the pointer block). NULL when the field is nil. */
static const char **field_strs(lua_State *L, int idx, const char *key, int n, const char *fn) {
    if (lt_lua_rawfield(L, idx, key) == LUA_TNIL) { lua_pushnil(L); return NULL; }
    if (!lua_istable(L, -1)) luaL_error(L, "%s: '%s' must be a table of strings", fn, key);
    int t = lua_gettop(L);
    const char **v = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *v, 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, t, i + 1);
        if (!lua_isstring(L, -1)) luaL_error(L, "%s: %s[%d] is a %s, expected a string", fn, key,
                                             i + 1, luaL_typename(L, -1));
        v[i] = lua_tostring(L, -1);              /* a string (numbers converted in place) */
        lua_pop(L, 1);                           /* still referenced by the table */
    }
    return v;
}

static void add_panel(lua_State *L, lt_plot *p, int t) {
    const char *fn = "plot";
    lt_lua_rawfield(L, t, "kind");
    const char *kind = luaL_optstring(L, -1, "lines");
    lua_pop(L, 1);
    int top = lua_gettop(L);
    const char *title = field_str(L, t, "title");
    if (strcmp(kind, "lines") == 0) {
        int q = lt_plot_add_lines(p, title, field_str(L, t, "xlabel"), field_str(L, t, "ylabel"),
                                  lt_opt_num(L, fn, t, 0, "x0", 1), lt_opt_num(L, fn, t, 0, "dx", 1));
        if (q < 0) lt_lua_check(L, LT_ENOMEM);
        lt_lua_rawfield(L, t, "series");
        int st = lua_gettop(L);
        lua_Integer n = luaL_len(L, st);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, st, i);
            int s = lua_gettop(L);
            lt_tensor *y = field_tensor(L, s, "y", "plot.lines");
            lt_lua_check(L, lt_plot_add_series_x(p, q, field_str(L, s, "name"), y->data, y->numel,
                         lt_opt_num(L, fn, s, 0, "x0", p->panels[q].x0),
                         lt_opt_num(L, fn, s, 0, "dx", p->panels[q].dx)));
            lua_settop(L, st);
        }
    } else if (strcmp(kind, "confusion") == 0) {
        lt_tensor *cm = field_tensor(L, t, "cm", "plot.confusion");
        if (cm->ndim != 2 || cm->shape[0] != cm->shape[1] || cm->shape[0] > 4096)
            luaL_error(L, "plot.confusion: the matrix must be square, k×k with k ≤ 4096");
        int k = (int)cm->shape[0];
        const char **cls = field_strs(L, t, "classes", k, fn);
        if (lt_plot_add_confusion(p, title, cm->data, k, cls, lt_opt_bool(L, fn, t, "normalize", 0)) < 0)
            lt_lua_check(L, LT_EARG);
    } else if (strcmp(kind, "image") == 0) {
        lt_tensor *img = field_tensor(L, t, "px", "plot.image");
        if (img->ndim < 1 || img->ndim > 3 || img->shape[0] > 1 << 16 ||
            (img->ndim > 1 && img->shape[1] > 1 << 16) || (img->ndim > 2 && img->shape[2] > 4))
            luaL_error(L, "plot.image: the pixels must be H, H×W or H×W×C (C ≤ 4)");
        int h = (int)img->shape[0], w = img->ndim > 1 ? (int)img->shape[1] : 1;
        int c = img->ndim > 2 ? (int)img->shape[2] : 1;
        if (lt_plot_add_image(p, title, img->data, h, w, c) < 0) lt_lua_check(L, LT_EARG);
    } else if (strcmp(kind, "bars") == 0) {
        lt_tensor *v = field_tensor(L, t, "values", "plot.bar");
        const char **labels = field_strs(L, t, "labels", (int)v->numel, fn);
        if (lt_plot_add_bars(p, title, v->data, labels, (int)v->numel) < 0) lt_lua_check(L, LT_EARG);
    } else {
        luaL_error(L, "plot: unknown panel kind '%s'", kind);
    }
    lua_settop(L, top);
}

/* plot._new{title=, cols=, width=, height=, panels={...}} → plot object */
static int plot_new(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    LPlot *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->p = NULL;
    luaL_setmetatable(L, PLOT_MT);
    int ud = lua_gettop(L);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, ud, 1);                 /* keep the spec (methods may read it) */
    if (!(u->p = lt_plot_new(field_str(L, 1, "title")))) lt_lua_check(L, LT_ENOMEM);
    /* checked before the casts to int: width = 2^32 + 10 was a plot 10 wide */
    lua_Integer cols = lt_opt_int(L, "plot", 1, 0, "cols", 1, 0);
    lua_Integer width = lt_opt_int(L, "plot", 1, 0, "width", 0, 0);
    lua_Integer height = lt_opt_int(L, "plot", 1, 0, "height", 0, 0);
    if (width < 0 || width > 4096 || height < 0 || height > 4096)
        luaL_error(L, "plot: width and height must be 1..4096, got %I and %I", width, height);
    if (cols > 4096) luaL_error(L, "plot: cols must be 1..4096, got %I", cols);
    u->p->cols = cols < 1 ? 1 : (int)cols;
    u->p->width = (int)width;
    u->p->height = (int)height;
    lt_lua_rawfield(L, 1, "panels");
    luaL_checktype(L, -1, LUA_TTABLE);
    int pt = lua_gettop(L);
    lua_Integer n = luaL_len(L, pt);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, pt, i);
        luaL_checktype(L, -1, LUA_TTABLE);
        add_panel(L, u->p, lua_gettop(L));
        lua_pop(L, 1);
    }
    lua_settop(L, ud);
    return 1;
}

/* ---- real pixels: sixel and kitty (lunette.graphics) ---- */

static const char *const graphics_names[] = {"text", "sixel", "kitty", "auto", NULL};
enum { G_TEXT, G_SIXEL, G_KITTY, G_AUTO };

/* The protocol the environment names: kitty for $KITTY_WINDOW_ID, TERM=xterm-kitty or
 * ghostty; sixel for the terminals known to draw it (foot, mlterm, contour, WezTerm, and a
 * TERM containing "sixel"); else text. */
static int graphics_from_env(void) {
    const char *term = getenv("TERM"), *prog = getenv("TERM_PROGRAM");
    if (getenv("KITTY_WINDOW_ID") || (term && (strcmp(term, "xterm-kitty") == 0 ||
                                               strcmp(term, "xterm-ghostty") == 0)))
        return G_KITTY;
    if (prog && (strcmp(prog, "WezTerm") == 0 || strcmp(prog, "ghostty") == 0))
        return strcmp(prog, "ghostty") == 0 ? G_KITTY : G_SIXEL;
    if (term && (strstr(term, "sixel") || strncmp(term, "foot", 4) == 0 ||
                 strncmp(term, "mlterm", 6) == 0 || strncmp(term, "contour", 7) == 0))
        return G_SIXEL;
    return G_TEXT;
}

/* Asks the terminal its primary device attributes (ESC [ c) and waits up to 200 ms for
 * the answer ESC [ ? Ps ; ... c: sixel when a Ps is 4. Only on a terminal, in raw mode for
 * the wait; whatever comes after the timeout is left to the terminal's next reader. */
static int graphics_query(void) {
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) return G_TEXT;
    struct termios old, raw;
    if (tcgetattr(STDIN_FILENO, &old) != 0) return G_TEXT;
    raw = old;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) return G_TEXT;
    fflush(stdout);
    ssize_t wr = write(STDOUT_FILENO, "\033[c", 3);
    char ans[128];
    size_t n = 0;
    int ms = 200;
    while (wr == 3 && n < sizeof ans - 1 && ms > 0) {
        struct pollfd pf = {STDIN_FILENO, POLLIN, 0};
        if (poll(&pf, 1, 20) <= 0) { ms -= 20; continue; }
        ssize_t r = read(STDIN_FILENO, ans + n, 1);
        if (r <= 0) break;
        if (ans[n++] == 'c') break;
    }
    ans[n] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    const char *q = strstr(ans, "\033[?");
    if (!q) return G_TEXT;
    for (q += 3; *q && *q != 'c';) {
        char *end;
        long v = strtol(q, &end, 10);
        if (end == q) break;
        if (v == 4) return G_SIXEL;
        q = *end == ';' ? end + 1 : end;
    }
    return G_TEXT;
}

/* The mode lunette.graphics set (G_AUTO when none). */
static int graphics_mode(lua_State *L) {
    int m = G_AUTO;
    if (lua_getfield(L, LUA_REGISTRYINDEX, GRAPHICS_KEY) == LUA_TSTRING)
        for (int i = 0; graphics_names[i]; i++)
            if (strcmp(lua_tostring(L, -1), graphics_names[i]) == 0) m = i;
    lua_pop(L, 1);
    return m;
}

/* What images are drawn with now: text unless stdout is a terminal in colour (never in
 * pipes, --plain, --check or NO_COLOR); then the chosen protocol, or in auto mode the
 * terminal's answer to lunette.graphics('auto') or else what the environment names. */
static int graphics_now(lua_State *L) {
    int m = graphics_mode(L);
    const char *nc = getenv("NO_COLOR");
    if (m == G_TEXT || !isatty(STDOUT_FILENO) || (nc && *nc) || plain_flag(L) ||
        color_off(L) || current_style(L, NULL) != LT_STYLE_COLOR)
        return G_TEXT;
    int check = lua_getfield(L, LUA_REGISTRYINDEX, "lunette.columns") == LUA_TNUMBER;
    lua_pop(L, 1);
    if (check) return G_TEXT;
    if (m != G_AUTO) return m;
    int da = lua_getfield(L, LUA_REGISTRYINDEX, DETECTED_KEY) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) : -1;
    lua_pop(L, 1);
    return da > G_TEXT ? da : graphics_from_env();
}

/* lunette.graphics([mode]) → the mode in use now ("text", "sixel" or "kitty") and the mode
 * set. Setting "auto" asks the terminal (device attributes) once. */
static int plot_graphics(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) {
        int m = luaL_checkoption(L, 1, NULL, graphics_names);
        lua_pushstring(L, graphics_names[m]);
        lua_setfield(L, LUA_REGISTRYINDEX, GRAPHICS_KEY);
        if (m == G_AUTO) {
            lua_pushinteger(L, graphics_query());
            lua_setfield(L, LUA_REGISTRYINDEX, DETECTED_KEY);
        }
    }
    lua_pushstring(L, graphics_names[graphics_now(L)]);
    lua_pushstring(L, graphics_names[graphics_mode(L)]);
    return 2;
}

static int all_image_panels(const lt_plot *p) {
    if (p->npanels < 1) return 0;
    for (int i = 0; i < p->npanels; i++)
        if (p->panels[i].kind != LT_PANEL_IMAGE) return 0;
    return 1;
}

static void put_centered(luaL_Buffer *b, const char *t, int width) {
    int n = t ? lt_utf8_width(t) : 0;
    if (n > width) n = width;
    int left = (width - n) / 2;
    for (int i = 0; i < left; i++) luaL_addchar(b, ' ');
    int cols = 0;                                 /* the title cut at width code points */
    for (const char *q = t ? t : ""; *q; q++) {
        if (((unsigned char)*q & 0xC0) != 0x80 && cols++ == n) break;
        luaL_addchar(b, *q);
    }
    for (int i = left + n; i < width; i++) luaL_addchar(b, ' ');
}

/* An all-image plot as real pixels: its title, then per row of panels a line of their
 * titles and one image of the row (each panel scaled by a whole factor to fill its share
 * of the terminal's width, at most 8x), in sixel or kitty. Pushes the string. */
static int push_graphics(lua_State *L, const lt_plot *p, int mode) {
    struct winsize ws;
    int cw = 10, chh = 20, tcols = 80, trows;
    lt_term_size(&tcols, &trows);
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_xpixel > 0 && ws.ws_ypixel > 0) {
        cw = ws.ws_xpixel / ws.ws_col;
        chh = ws.ws_ypixel / (ws.ws_row ? ws.ws_row : 1);
    }
    if (cw < 1) cw = 10;
    if (chh < 1) chh = 20;
    int cols = p->cols < 1 ? 1 : p->cols, mw = 1, mh = 1;
    if (cols > p->npanels) cols = p->npanels;
    for (int i = 0; i < p->npanels; i++) {
        if (p->panels[i].iw > mw) mw = p->panels[i].iw;
        if (p->panels[i].ih > mh) mh = p->panels[i].ih;
    }
    int slot_px = (tcols * cw - (cols - 1) * cw) / cols;
    int k = slot_px / mw;
    if (k > 8) k = 8;
    if (k * mh > trows * chh / 2) k = trows * chh / 2 / mh;   /* a row within half the screen */
    if (k < 1) k = 1;
    int slot_cols = (mw * k + cw - 1) / cw;                   /* a panel's width in text columns */
    int W = cols * slot_cols * cw, H = mh * k;
    if ((double)W * (double)H > 64e6) return luaL_error(L, "plot: image of %dx%d pixels", W, H);
    uint8_t *img = lua_newuserdatauv(L, (size_t)W * (size_t)H * 3, 0);   /* GC-owned */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (p->title) {
        luaL_addstring(&b, p->title);
        luaL_addchar(&b, '\n');
    }
    for (int r0 = 0; r0 < p->npanels; r0 += cols) {
        int n = p->npanels - r0 < cols ? p->npanels - r0 : cols, any_title = 0;
        for (int j = 0; j < n; j++) any_title |= p->panels[r0 + j].title != NULL;
        if (any_title) {
            for (int j = 0; j < n; j++) put_centered(&b, p->panels[r0 + j].title, slot_cols);
            luaL_addchar(&b, '\n');
        }
        memset(img, 0, (size_t)W * (size_t)H * 3);
        for (int j = 0; j < n; j++) {
            const lt_panel *q = &p->panels[r0 + j];
            int x0 = j * slot_cols * cw + (slot_cols * cw - q->iw * k) / 2;
            for (int y = 0; y < q->ih * k && y < H; y++)
                for (int x = 0; x < q->iw * k; x++) {
                    const float *px = q->px + ((size_t)(y / k) * q->iw + (size_t)(x / k)) * q->ic;
                    for (int c = 0; c < 3; c++) {
                        float v = px[q->ic == 3 ? c : 0];
                        v = isfinite(v) ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0;
                        img[((size_t)y * W + (size_t)(x0 + x)) * 3 + c] = (uint8_t)lroundf(v * 255);
                    }
                }
        }
        int rw = n * slot_cols * cw;              /* the last row may hold fewer panels */
        uint8_t *row = img;
        if (rw < W)
            for (int y = 0; y < H; y++) memmove(img + (size_t)y * rw * 3, img + (size_t)y * W * 3, (size_t)rw * 3);
        size_t len = 0;
        char *s = mode == G_SIXEL ? lt_sixel_encode(row, rw, H, &len) : lt_kitty_encode(row, rw, H, &len);
        if (!s) return luaL_error(L, "plot: out of memory");
        luaL_addlstring(&b, s, len);                /* (only running out of memory here leaks s) */
        free(s);
        if (r0 + cols < p->npanels) luaL_addchar(&b, '\n');
    }
    luaL_pushresult(&b);
    return 1;
}

/* ---- rendering ---- */

/* The size inline plots fit: the terminal's (lt_term_size), or the fixed width a
 * --check run sets (registry "lunette.columns", see lunette.columns). */
static void inline_size(lua_State *L, int *tw, int *th) {
    lt_term_size(tw, th);
    if (lua_getfield(L, LUA_REGISTRYINDEX, "lunette.columns") == LUA_TNUMBER) {
        *tw = (int)lua_tointeger(L, -1);
        *th = 24;
    }
    lua_pop(L, 1);
}

/* Renders p at w×h (0: its own size for the terminal) in style st; pushes the string. */
static int push_render(lua_State *L, lt_plot *p, int w, int h, lt_style st, int truecolor) {
    int tw, th, pw, ph;
    inline_size(L, &tw, &th);
    lt_plot_size(p, st, tw, th, &pw, &ph);
    if (w <= 0) w = pw;
    if (h <= 0) h = ph;
    lt_canvas *c = lt_plot_render(p, w, h, st, NULL);
    if (!c) return lt_lua_check(L, LT_EARG);
    c->truecolor = truecolor;
    char *s = lt_canvas_tostring(c);
    lt_canvas_free(c);
    if (!s) return luaL_error(L, "plot: out of memory");
    lua_pushstring(L, s);                        /* may raise: free first via a copy */
    free(s);
    return 1;
}

static int plot__tostring(lua_State *L) {
    lt_plot *p = checkplot(L, 1);
    int tc, g;
    if (all_image_panels(p) && (g = graphics_now(L)) != G_TEXT) return push_graphics(L, p, g);
    lt_style st = current_style(L, &tc);
    return push_render(L, p, 0, 0, st, tc);
}

/* p:render([w, h, style]) → string */
static int plot_m_render(lua_State *L) {
    lt_plot *p = checkplot(L, 1);
    int w = (int)luaL_optinteger(L, 2, 0), h = (int)luaL_optinteger(L, 3, 0), tc = 0;
    luaL_argcheck(L, w >= 0 && w <= 4096, 2, "width must be 1..4096");
    luaL_argcheck(L, h >= 0 && h <= 4096, 3, "height must be 1..4096");
    lt_style st = lua_isnoneornil(L, 4) ? current_style(L, &tc)
                                        : (lt_style)luaL_checkoption(L, 4, NULL, style_names);
    return push_render(L, p, w, h, st, tc);
}

/* p:size() → w, h it takes inline */
static int plot_m_size(lua_State *L) {
    lt_plot *p = checkplot(L, 1);
    int tw, th, w, h;
    inline_size(L, &tw, &th);
    lt_plot_size(p, current_style(L, NULL), tw, th, &w, &h);
    lua_pushinteger(L, w);
    lua_pushinteger(L, h);
    return 2;
}

static int interactive(lua_State *L) {
    const char *term = getenv("TERM");
    if (plain_flag(L)) return 0;
    return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && term && *term && strcmp(term, "dumb") != 0;
}

/* p:view(): the full-screen viewer, or the inline text without a terminal */
static int plot_m_view(lua_State *L) {
    lt_plot *p = checkplot(L, 1);
    int tc;
    lt_style st = current_style(L, &tc);
    if (!interactive(L)) {
        push_render(L, p, 0, 0, st, tc);
        lua_getglobal(L, "print");
        lua_insert(L, -2);
        lua_call(L, 1, 0);
        return 0;
    }
    fflush(stdout);
    lua_getiuservalue(L, 1, 1);                  /* a spec with its own viewer (in Lua: the */
    if (lua_istable(L, -1) && lt_lua_rawfield(L, -1, "_view") == LUA_TFUNCTION) {  /* drill-down) */
        lua_pushvalue(L, 1);
        lua_call(L, 1, 0);
        return 0;
    }
    return lt_lua_check(L, lt_view(p, st));
}

/* ---- the dashboard's screen ---- */

static int screen_begin(lua_State *L) {          /* plot._screen_begin([raw]) */
    if (!interactive(L)) { lua_pushboolean(L, 0); return 1; }
    lt_status s = lt_screen_begin(lua_toboolean(L, 1));
    lua_pushboolean(L, s == LT_OK);
    if (s != LT_OK) { lua_pushstring(L, lt_lasterror()); return 2; }
    return 1;
}

static int screen_end(lua_State *L) { (void)L; lt_screen_end(); return 0; }

static int screen_size(lua_State *L) {
    int w, h;
    lt_screen_size(&w, &h);
    lua_pushinteger(L, w);
    lua_pushinteger(L, h);
    return 2;
}

/* plot._screen_draw(lines_of_text, plot_or_nil, x, y, w, h): clears, writes the text
 * lines from the top, draws the plot in the rectangle, refreshes. */
static int screen_draw(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lt_screen_active()) return 0;
    lt_screen_clear();
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        const char *s = lua_tostring(L, -1);
        if (s) lt_screen_text(0, (int)i - 1, s, i == 1);
        lua_pop(L, 1);
    }
    if (!lua_isnoneornil(L, 2)) {
        lt_plot *p = checkplot(L, 2);
        int x = (int)luaL_checkinteger(L, 3), y = (int)luaL_checkinteger(L, 4);
        int w = (int)luaL_checkinteger(L, 5), h = (int)luaL_checkinteger(L, 6);
        lt_style st = current_style(L, NULL);
        if (w >= 10 && h >= 4) {
            lt_canvas *c = lt_plot_render(p, w, h, st, NULL);
            if (c) { lt_screen_draw(c, x, y); lt_canvas_free(c); }
        }
    }
    lt_screen_refresh();
    return 0;
}

/* plot._screen_key([timeout_ms]) → "q", "resize", "esc", "enter", "left", "right", "up",
 * "down", "pgdn", "pgup", a character, "other", "eof" (the keyboard is gone), or nil
 * when no key came */
static int screen_key(lua_State *L) {
    int k = lt_screen_key((int)luaL_optinteger(L, 1, 0));
    static const char *const names[] = {"left", "right", "up", "down", "resize", "q", "esc",
                                        "enter", "pgdn", "pgup"};
    if (k == LT_KEY_NONE && lt_screen_active() && lt_screen_input_gone()) {
        lua_pushliteral(L, "eof");
        return 1;
    }
    if (k == LT_KEY_NONE) return 0;
    if (k >= LT_KEY_LEFT && k <= LT_KEY_PGUP) lua_pushstring(L, names[k - LT_KEY_LEFT]);
    else if (k < 256) { char c = (char)k; lua_pushlstring(L, &c, 1); }
    else lua_pushliteral(L, "other");
    return 1;
}

/* plot._screen_show(p, cursor, status): the screen with p over all rows but the last
 * (cursor: nil or {panel, i, j}, 0-based) and status in reverse video on the last row. */
static int screen_show(lua_State *L) {
    lt_plot *p = checkplot(L, 1);
    const char *status = luaL_optstring(L, 3, "");
    lt_cursor cur = {0, 0, 0}, *pc = NULL;
    if (lua_istable(L, 2)) {
        cur.panel = (int)lt_opt_int(L, "plot._screen_show", 2, 0, "panel", 0, 0);
        cur.i = (int)lt_opt_int(L, "plot._screen_show", 2, 0, "i", 0, 0);
        cur.j = (int)lt_opt_int(L, "plot._screen_show", 2, 0, "j", 0, 0);
        if (cur.panel < 0 || cur.panel >= p->npanels) cur.panel = 0;
        pc = &cur;
    }
    if (!lt_screen_active()) return 0;
    int w, h;
    lt_screen_size(&w, &h);
    lt_screen_clear();
    if (w >= 4 && h >= 3) {
        lt_canvas *c = lt_plot_render(p, w, h - 1, current_style(L, NULL), pc);
        if (c) { lt_screen_draw(c, 0, 0); lt_canvas_free(c); }
        char line[1024];
        snprintf(line, sizeof line, "%s", status);
        int n = 0;                               /* cut to w code points */
        for (char *q = line; *q; q++)
            if (((unsigned char)*q & 0xC0) != 0x80 && n++ == w) { *q = 0; break; }
        lt_screen_text(0, h - 1, line, 1);
    }
    lt_screen_refresh();
    return 0;
}

static int plot_term_size(lua_State *L) {        /* the terminal's columns, rows */
    int w, h;
    inline_size(L, &w, &h);
    lua_pushinteger(L, w);
    lua_pushinteger(L, h);
    return 2;
}

/* plot._histogram(t, bins [, lo, hi]) → counts table, lo, hi, skipped (non-finite) */
static int plot_histogram(lua_State *L) {
    lt_tensor *t = lt_lua_totensor(L, 1, "plot.hist");
    lua_Integer bins = luaL_optinteger(L, 2, 10);
    luaL_argcheck(L, bins >= 1 && bins <= 1000, 2, "bins must be 1..1000");
    double lo = INFINITY, hi = -INFINITY;
    int64_t skipped = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        float v = t->data[i];
        if (!isfinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    if (!lua_isnoneornil(L, 3)) lo = luaL_checknumber(L, 3);
    if (!lua_isnoneornil(L, 4)) hi = luaL_checknumber(L, 4);
    if (!(lo <= hi)) return luaL_error(L, "plot.hist: no finite values");
    if (hi == lo) { lo -= 0.5; hi += 0.5; }
    int64_t *cnt = lua_newuserdatauv(L, (size_t)bins * sizeof *cnt, 0);
    memset(cnt, 0, (size_t)bins * sizeof *cnt);
    for (int64_t i = 0; i < t->numel; i++) {
        float v = t->data[i];
        if (!isfinite(v) || v < lo || v > hi) { skipped++; continue; }
        /* f is NaN when hi - lo is 0 (lo ± 0.5 is lo itself near FLT_MAX): converting a
         * NaN to an integer is undefined, so f is compared, never converted out of range */
        double f = (v - lo) / (hi - lo) * (double)bins;
        int64_t b = f > 0 ? (f < (double)bins ? (int64_t)f : bins - 1) : 0;  /* last bin closed */
        cnt[b]++;
    }
    lua_createtable(L, (int)bins, 0);
    for (lua_Integer b = 0; b < bins; b++) {
        lua_pushinteger(L, cnt[b]);
        lua_rawseti(L, -2, b + 1);
    }
    lua_pushnumber(L, lo);
    lua_pushnumber(L, hi);
    lua_pushinteger(L, skipped);
    return 4;
}

static int plot__gc(lua_State *L) {
    LPlot *u = luaL_checkudata(L, 1, PLOT_MT);
    lt_plot_free(u->p);
    u->p = NULL;
    return 0;
}

static int plot__index(lua_State *L) {           /* methods, then fields of the spec */
    lua_getmetatable(L, 1);
    lt_lua_rawfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) return 1;
    lua_getiuservalue(L, 1, 1);
    if (!lua_istable(L, -1)) return 0;
    lua_pushvalue(L, 2);
    lua_gettable(L, -2);
    return 1;
}

static const lt_reg plot_meths[] = {
    {"view", plot_m_view, "p:view()\n\nShows the plot in the full-screen viewer: arrow keys move "
     "the cursor (a point of a\ncurve, a confusion-matrix cell, an image of a grid, a pixel) and "
     "the status line\nshows its value; Tab goes to the next panel; the window follows resizes; "
     "q (or\nEsc, Ctrl-C) returns with the terminal restored. A grid of images (images, "
     "featuremaps,\nfilters) is laid out for the window: thumbnails as big as fit, at least "
     "16 pixels\nacross, on pages when they do not all fit (n/p or PgDn/PgUp turn them); "
     "Enter (or z)\nzooms the selected image to the whole window, arrows then read its "
     "pixels, Enter\ngoes back. Without a terminal (stdout or "
     "stdin\nnot a tty, --plain, TERM=dumb) it prints the plot inline instead.\n"
     "Example: plot.confusion(cm, {classes=ds.classes}):view()"},
    {"render", plot_m_render, "p:render([width, height [, style]])\n\nThe plot as text at the "
     "given size (default: its inline size) in a style:\n'color' (ANSI 256 colours), 'unicode' "
     "(no colour) or 'ascii' (default: the current one).\nExample: print(p:render(60, 20, 'ascii'))"},
    {"size", plot_m_size, "p:size()\n\nThe width and height (in characters) the plot takes "
     "inline in this terminal."},
    {NULL, NULL, NULL}};

static const lt_reg plot_funcs[] = {
    {"style", plot_style, "plot.style([name])\n\nThe style plots are drawn in: 'color' (Unicode "
     "braille and half blocks with 256\ncolours, 24-bit when COLORTERM=truecolor), 'unicode' (no "
     "colour: NO_COLOR is set)\nor 'ascii' (--plain, TERM=dumb, stdout not a terminal, or a "
     "non-UTF-8 locale).\nplot.style('ascii') forces one; plot.style('auto') goes back to "
     "detection.\nExample: plot.style('unicode')"},
    {"_new", plot_new, NULL},
    {"_histogram", plot_histogram, NULL},
    {"_screen_begin", screen_begin, NULL},
    {"_screen_end", screen_end, NULL},
    {"_screen_size", screen_size, NULL},
    {"_screen_draw", screen_draw, NULL},
    {"_screen_key", screen_key, NULL},
    {"_screen_show", screen_show, NULL},
    {"_graphics", plot_graphics, NULL},
    {"_term_size", plot_term_size, NULL},
    {NULL, NULL, NULL}};

int luaopen_lunette_plot(lua_State *L) {
    luaL_newmetatable(L, PLOT_MT);
    lua_pushcfunction(L, plot__gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, plot__tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, plot__index);
    lua_setfield(L, -2, "__index");
    lua_newtable(L);
    lt_lua_setfuncs(L, "Plot:", plot_meths);
    lua_setfield(L, -2, "methods");
    lt_lua_sethelp(L, -1, PLOT_MT, "A plot: print(p) or just p in the REPL draws it inline; "
                   "p:view() opens the\nfull-screen viewer; p:render(w, h, style) gives the text.");
    lua_pop(L, 1);
    lua_newtable(L);
    lt_lua_setfuncs(L, "plot", plot_funcs);
    return 1;
}

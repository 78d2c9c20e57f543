/* term.c: ncursesw screen and viewer (see term.h). Colours go through alloc_pair
 * (ncurses 6.1+ manages the pair cache), with the canvas's RGB mapped to the 256-colour
 * palette, or to the 8 basic colours on smaller terminals. */
#define NCURSES_WIDECHAR 1
#include "plot/term.h"

#include <curses.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

static SCREEN *screen;
static int use_colour, atexit_done;
static struct sigaction saved_winch;          /* the SIGWINCH action before the screen */
static struct sigaction curses_winch;         /* ncurses' own, caught after the first newterm */
static int have_curses_winch;

/* Makes curses' size match the terminal's (after SIGWINCH, whoever caught it). */
static void follow_size(void) {
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
        (ws.ws_row != LINES || ws.ws_col != COLS))
        resize_term(ws.ws_row, ws.ws_col);
}

static void restore_at_exit(void) { lt_screen_end(); }

/* The keyboard is gone (the terminal hung up, stdin closed). */
static int input_gone(void) {
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

lt_status lt_screen_begin(int raw_keys) {
    if (screen) lt_screen_end();
    const char *lc = setlocale(LC_CTYPE, NULL);
    if (!lc || strcmp(lc, "C") == 0 || strcmp(lc, "POSIX") == 0) setlocale(LC_CTYPE, "");
    fflush(stdout);
    /* ncurses installs its SIGWINCH handler (which turns a resize into KEY_RESIZE) only
     * when none is set, and only at its first newterm; Readline's handler, from the REPL,
     * would hide resizes from it. So the first screen starts from SIG_DFL and ncurses'
     * handler is kept to be put back for every later screen. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGWINCH, have_curses_winch ? &curses_winch : &dfl, &saved_winch);
    screen = newterm(NULL, stdout, stdin);
    if (screen && !have_curses_winch) {
        sigaction(SIGWINCH, NULL, &curses_winch);
        have_curses_winch = curses_winch.sa_handler != SIG_DFL;
    }
    if (!screen) sigaction(SIGWINCH, &saved_winch, NULL);
    if (!screen) return lt_seterr(LT_EIO, "plot: cannot open the terminal (TERM=%s)",
                                  getenv("TERM") ? getenv("TERM") : "unset");
    set_term(screen);
    if (!atexit_done) { atexit(restore_at_exit); atexit_done = 1; }
    if (raw_keys) raw(); else cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);                 /* Esc alone is a key (the drill-down's "back") */
    curs_set(0);
    use_colour = 0;
    if (has_colors() && start_color() == OK) {
        use_default_colors();
        use_colour = 1;
    }
    return LT_OK;
}

int lt_screen_active(void) { return screen != NULL; }

void lt_screen_size(int *w, int *h) {
    if (!screen) { *w = 80; *h = 24; return; }
    getmaxyx(stdscr, *h, *w);
}

void lt_screen_clear(void) { if (screen) erase(); }

static int basic8(uint32_t rgb) {                 /* nearest of the 8 ANSI colours */
    int r = LT_RGB_R(rgb) > 127, g = LT_RGB_G(rgb) > 127, b = LT_RGB_B(rgb) > 127;
    return r | (g << 1) | (b << 2);              /* COLOR_RED=1, GREEN=2, BLUE=4 */
}

static int term_colour(uint32_t rgb) {
    if (!rgb) return -1;
    return COLORS >= 256 ? lt_color256(rgb) : basic8(rgb);
}

void lt_screen_draw(const lt_canvas *c, int x0, int y0) {
    if (!screen) return;
    int sw, sh;
    getmaxyx(stdscr, sh, sw);
    for (int y = 0; y < c->h && y0 + y < sh; y++)
        for (int x = 0; x < c->w && x0 + x < sw; x++) {
            const lt_cell *p = &c->cells[(size_t)y * c->w + x];
            wchar_t wc[2] = {(wchar_t)p->ch, 0};
            attr_t a = A_NORMAL;
            if (p->attr & LT_ATTR_REVERSE) a |= A_REVERSE;
            if (p->attr & LT_ATTR_BOLD) a |= A_BOLD;
            if (p->attr & LT_ATTR_DIM) a |= A_DIM;
            int pair = 0;
            if (use_colour && c->style == LT_STYLE_COLOR && (p->fg || p->bg)) {
                pair = alloc_pair(term_colour(p->fg), term_colour(p->bg));
                if (pair < 0) pair = 0;
            }
            cchar_t cc;
            setcchar(&cc, wc, a, 0, &pair);
            mvadd_wch(y0 + y, x0 + x, &cc);       /* the bottom-right cell may fail: fine */
        }
}

void lt_screen_text(int x, int y, const char *s, int reverse) {
    if (!screen) return;
    if (reverse) attron(A_REVERSE);
    mvaddstr(y, x, s);
    if (reverse) attroff(A_REVERSE);
    wredrawln(stdscr, y, 1);              /* text lines are repainted whole: readable in a log */
}

void lt_screen_refresh(void) { if (screen) refresh(); }

/* Whether the terminal's size differs from curses' (a resize whose SIGWINCH was lost or
 * not yet turned into KEY_RESIZE). */
static int size_changed(void) {
    struct winsize ws;
    return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
           (ws.ws_row != LINES || ws.ws_col != COLS);
}

int lt_screen_key(int timeout_ms) {
    if (!screen) return LT_KEY_NONE;
    timeout(timeout_ms);
    int ch = getch();
    if (ch == ERR && size_changed()) ch = KEY_RESIZE;
    switch (ch) {
    case ERR: return LT_KEY_NONE;
    case KEY_LEFT: return LT_KEY_LEFT;
    case KEY_RIGHT: return LT_KEY_RIGHT;
    case KEY_UP: return LT_KEY_UP;
    case KEY_DOWN: return LT_KEY_DOWN;
    case KEY_RESIZE:
        follow_size();
        clearok(curscr, TRUE);                    /* the next refresh repaints everything */
        return LT_KEY_RESIZE;
    case 'q': case 'Q': case 3: return LT_KEY_QUIT;
    case 27: return LT_KEY_ESC;
    case '\r': case '\n': case KEY_ENTER: return LT_KEY_ENTER;
    case KEY_NPAGE: return LT_KEY_PGDN;
    case KEY_PPAGE: return LT_KEY_PGUP;
    default: return ch;
    }
}

int lt_screen_input_gone(void) { return input_gone(); }

void lt_screen_end(void) {
    if (!screen) return;
    curs_set(1);
    endwin();                                     /* leaves the alternate screen (rmcup) */
    delscreen(screen);
    screen = NULL;
    sigaction(SIGWINCH, &saved_winch, NULL);      /* Readline's handler, if it had one */
    fflush(stdout);
}

/* ---- viewer ---- */

/* Cuts UTF-8 s after w code points (the width lt_utf8_width counts). */
static void utf8_cut(char *s, int w) {
    int n = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && n++ == w) { *p = 0; return; }
    }
}

/* A plot of several images is shown as a grid sized to the window
 * (lt_plot_grid_layout): arrows move from image to image, n/p (PgDn/PgUp) turn pages,
 * Enter or z zooms the selected image to the whole window (arrows then move over its
 * pixels) and back. Other plots are drawn whole with a cursor on their values. */
static int image_grid(const lt_plot *p) {
    if (p->npanels < 2) return 0;
    for (int i = 0; i < p->npanels; i++)
        if (p->panels[i].kind != LT_PANEL_IMAGE) return 0;
    return 1;
}

lt_status lt_view(const lt_plot *p, lt_style style) {
    lt_status s = lt_screen_begin(1);
    if (s != LT_OK) return s;
    lt_cursor cur, pix = {0, 0, 0};
    lt_plot_cursor_init(p, &cur);
    int grid = image_grid(p), zoom = 0, sel = 0;
    char desc[512], status[700], where[96];
    for (;;) {
        int w, h, cols = p->cols, per = p->npanels, first = 0;
        lt_screen_size(&w, &h);
        erase();
        lt_plot view = *p;                       /* what this screen shows of p */
        lt_cursor vc = cur;
        where[0] = 0;
        if (grid) {
            lt_plot_grid_layout(p, style, w, h - 1, &cols, &per);
            if (zoom) {
                view.panels = p->panels + sel;
                view.npanels = 1;
                view.cols = 1;
                vc = pix;
                snprintf(where, sizeof where, "image %d/%d (zoomed)  ", sel + 1, p->npanels);
            } else {
                first = sel / per * per;
                view.panels = p->panels + first;
                view.npanels = p->npanels - first < per ? p->npanels - first : per;
                view.cols = cols;
                vc.panel = sel - first;
                if (per < p->npanels)
                    snprintf(where, sizeof where, "page %d/%d  ", first / per + 1,
                             (p->npanels + per - 1) / per);
            }
        }
        if (w >= 4 && h >= 3) {
            lt_canvas *c = lt_plot_render(&view, w, h - 1, style, &vc);
            if (!c) break;
            lt_screen_draw(c, 0, 0);
            lt_canvas_free(c);
            lt_plot_describe(&view, &vc, desc, sizeof desc);
            if (grid && !zoom) {                  /* numbered over all pages */
                const lt_panel *q = &p->panels[sel];
                snprintf(desc, sizeof desc, "image %d of %d: %s (%dx%dx%d)", sel + 1, p->npanels,
                         q->title ? q->title : "", q->ih, q->iw, q->ic);
            }
            /* the value first; the key hints shorten, then go, when the window is narrow */
            const char *hints[4] = {"   [arrows] move  [tab] next  [q] quit ", "   [q] quit ", " ", NULL};
            if (grid && zoom) hints[0] = "   [arrows] pixel  [enter] back  [q] quit ";
            else if (grid && per < p->npanels) hints[0] = "   [arrows] move  [n/p] page  [enter] zoom  [q] quit ";
            else if (grid) hints[0] = "   [arrows] move  [enter] zoom  [q] quit ";
            for (int i = 0; hints[i]; i++) {
                snprintf(status, sizeof status, " %s%s%s", where, desc, hints[i]);
                if (lt_utf8_width(status) <= w) break;
            }
            if (lt_utf8_width(status) > w) {      /* then the value in its short form */
                lt_plot_describe_short(&view, &vc, desc, sizeof desc);
                for (int i = 0; hints[i]; i++) {
                    snprintf(status, sizeof status, " %s%s%s", where, desc, hints[i]);
                    if (lt_utf8_width(status) <= w) break;
                }
            }
            if (lt_utf8_width(status) > w) utf8_cut(status, w);
            lt_screen_text(0, h - 1, status, 1);
            wredrawln(stdscr, h - 1, 1);   /* repaint the status line whole, not as a diff */
        }
        refresh();
        /* Waits for a key, looking at the window's size four times a second too: a resize
         * is followed even when its signal did not reach curses. */
        int k;
        while ((k = lt_screen_key(250)) == LT_KEY_NONE && !input_gone()) {}
        if (k == LT_KEY_QUIT || k == LT_KEY_ESC || k == LT_KEY_NONE) break;  /* NONE: stdin closed */
        if (grid && (k == LT_KEY_ENTER || k == 'z')) {
            zoom = !zoom;
            pix.panel = pix.i = pix.j = 0;
            continue;
        }
        if (grid && zoom) {                       /* arrows over the zoomed image's pixels */
            lt_plot one = *p;
            one.panels = p->panels + sel;
            one.npanels = 1;
            one.cols = 1;
            if (k == LT_KEY_LEFT) lt_plot_cursor_move(&one, &pix, LT_MOVE_LEFT);
            else if (k == LT_KEY_RIGHT) lt_plot_cursor_move(&one, &pix, LT_MOVE_RIGHT);
            else if (k == LT_KEY_UP) lt_plot_cursor_move(&one, &pix, LT_MOVE_UP);
            else if (k == LT_KEY_DOWN) lt_plot_cursor_move(&one, &pix, LT_MOVE_DOWN);
            continue;
        }
        if (grid) {
            int n = p->npanels;
            if (k == LT_KEY_LEFT && sel > 0) sel--;
            else if ((k == LT_KEY_RIGHT || k == '\t') && sel + 1 < n) sel++;
            else if (k == LT_KEY_UP && sel - cols >= 0) sel -= cols;
            else if (k == LT_KEY_DOWN && sel + cols < n) sel += cols;
            else if ((k == 'n' || k == LT_KEY_PGDN || k == ' ') && sel / per < (n - 1) / per)
                sel = (sel / per + 1) * per;
            else if ((k == 'p' || k == LT_KEY_PGUP) && sel >= per) sel = (sel / per - 1) * per;
            cur.panel = sel;
            continue;
        }
        if (k == LT_KEY_LEFT) lt_plot_cursor_move(p, &cur, LT_MOVE_LEFT);
        else if (k == LT_KEY_RIGHT) lt_plot_cursor_move(p, &cur, LT_MOVE_RIGHT);
        else if (k == LT_KEY_UP) lt_plot_cursor_move(p, &cur, LT_MOVE_UP);
        else if (k == LT_KEY_DOWN) lt_plot_cursor_move(p, &cur, LT_MOVE_DOWN);
        else if (k == '\t') lt_plot_cursor_move(p, &cur, LT_MOVE_NEXT);
    }
    lt_screen_end();
    return LT_OK;
}

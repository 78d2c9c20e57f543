/* term.h: the full-screen side of plots, on ncursesw: a screen that draws canvases
 * (used by the live training dashboard) and the interactive viewer built on it.
 * One screen at a time; lt_screen_end (also run at exit) always restores the terminal
 * (endwin leaves the alternate screen). Nothing here calls Lua or raises. */
#ifndef LT_TERM_H
#define LT_TERM_H

#include "core/err.h"
#include "plot/canvas.h"
#include "plot/plot.h"

enum {
    LT_KEY_NONE = -1, LT_KEY_LEFT = 0x10001, LT_KEY_RIGHT, LT_KEY_UP, LT_KEY_DOWN,
    LT_KEY_RESIZE, LT_KEY_QUIT,               /* q, Q or Ctrl-C in raw mode */
    LT_KEY_ESC, LT_KEY_ENTER, LT_KEY_PGDN, LT_KEY_PGUP
};

/* Opens the screen on stdin/stdout (newterm; raw keys when `raw`, else cbreak so Ctrl-C
 * still raises SIGINT). LT_EIO when there is no usable terminal. */
lt_status lt_screen_begin(int raw);
int       lt_screen_active(void);
void      lt_screen_size(int *w, int *h);
void      lt_screen_clear(void);
/* Draws a canvas with its top-left corner at (x, y), clipped to the screen. */
void      lt_screen_draw(const lt_canvas *c, int x, int y);
/* Text at (x, y); reverse video when `reverse`. */
void      lt_screen_text(int x, int y, const char *s, int reverse);
void      lt_screen_refresh(void);
/* The next key: waits up to timeout_ms (0: poll, < 0: block). LT_KEY_NONE when none;
 * printable keys as themselves, arrows/resize/quit/Esc/Enter/pages as LT_KEY_*. */
int       lt_screen_key(int timeout_ms);
void      lt_screen_end(void);                 /* no-op when not open */
/* The keyboard is gone (the terminal hung up, stdin closed): stop waiting for keys. */
int       lt_screen_input_gone(void);

/* The interactive viewer: draws p full-screen with a status line describing the value
 * under the cursor; arrows move it, Tab goes to the next panel, resize redraws, q (or
 * Esc, Ctrl-C) returns. The terminal is restored before returning. LT_EIO when no
 * terminal could be opened. */
lt_status lt_view(const lt_plot *p, lt_style style);

#endif

/* repl.h: the interactive loop (GNU Readline, or plain lines when not on a terminal),
 * Ctrl-C handling (interrupt contract in notes: flag + Lua hook) and notebook replay.
 * The Lua half lives in lua/lunette/repl.lua (cells, magics, completion, notebooks). */
#ifndef LT_REPL_H
#define LT_REPL_H

#include <lua.h>

typedef struct {
    int plain;          /* ASCII only, no colour, no escape sequences from Readline */
    int color;          /* ANSI colours on output */
    int readline;       /* use GNU Readline for input (stdin and stdout are terminals,
                           in any style) */
    int pager;          /* long help may go through a pager (terminal, not --check) */
    int fixed_columns;  /* > 0: lunette.columns() returns this (--check: 80) */
} lt_repl_ui;

/* Installs the SIGINT handler, exposes lunette.plain/lunette.color and the C helpers
 * (lunette._repl), and loads lunette.repl. Raises a Lua error on failure (call it
 * protected). L must already have lunette open and its globals set. */
int lt_repl_open(lua_State *L, const lt_repl_ui *ui);

/* Calls the function below its nargs arguments with Ctrl-C armed (flag + hook) and a
 * traceback handler; on error leaves the message on the stack. Returns a LUA_* status. */
int lt_repl_pcall(lua_State *L, int nargs, int nresults);

/* True when the error value at idx is an interrupt ("interrupted"). */
int lt_repl_is_interrupt(lua_State *L, int idx);

/* The interactive loop; returns when the user presses Ctrl-D (history saved). */
void lt_repl_loop(lua_State *L);

/* Replays (check: compares) a notebook; returns the exit status 0, 1 or 130. */
int lt_repl_notebook(lua_State *L, const char *path, int check, int step);

#endif

/* repl.c: the REPL's input side. Lines come from GNU Readline's callback interface
 * (so Ctrl-C at the prompt can cancel the line from our own select loop) or, off a
 * terminal, from plain getline with no escape sequences at all. Incomplete Lua is
 * detected as lua.c does (a syntax error ending in <eof>). Ctrl-C while code runs sets
 * lt_interrupted for the C loops and arms a Lua hook that raises "interrupted". */
#include "repl/repl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "core/err.h"
#include "repl/notebook.h"

#define HISTORY_MAX 1000

static lua_State *gL;
static lt_repl_ui ui;
static volatile sig_atomic_t running;      /* Lua code is running: Ctrl-C interrupts it */
static volatile sig_atomic_t got_sigint;   /* Ctrl-C while waiting for input */
static int repl_ref = LUA_NOREF;           /* registry ref of the lunette.repl table */

/* ---- Ctrl-C ---- */

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    if (lt_interrupted) {                  /* else a C loop already reported it */
        lt_interrupted = 0;
        lua_pushliteral(L, "interrupted");
        lua_error(L);
    }
}

static void on_sigint(int sig) {
    (void)sig;
    if (running) {
        lt_interrupted = 1;
        lua_sethook(gL, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    } else {
        got_sigint = 1;
    }
}

static void install_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                       /* no SA_RESTART: a blocked read returns EINTR */
    sigaction(SIGINT, &sa, NULL);
}

static int msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg && (strcmp(msg, "interrupted") == 0)) return 1;
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int lt_repl_pcall(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    lt_interrupted = 0;
    got_sigint = 0;
    running = 1;
    int status = lua_pcall(L, nargs, nresults, base);
    running = 0;
    lua_sethook(L, NULL, 0, 0);
    lt_interrupted = 0;
    lua_remove(L, base);
    return status;
}

int lt_repl_is_interrupt(lua_State *L, int idx) {
    const char *msg = lua_tostring(L, idx);
    if (!msg) return 0;
    size_t n = strlen(msg);
    return strcmp(msg, "interrupted") == 0 ||
           (n > 13 && strcmp(msg + n - 13, ": interrupted") == 0);
}

/* ---- C helpers for lunette.repl (lunette._repl) ---- */

#define NOTEBOOK_MT "lunette.repl.Notebook"

static int notebook__gc(lua_State *L) {
    lt_notebook_release(luaL_checkudata(L, 1, NOTEBOOK_MT));
    return 0;
}

/* _repl.parse_notebook(text) → {{kind=, title=, source=, expected=, line=, source_line=}, ...} */
static int r_parse_notebook(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lt_notebook *nb = lua_newuserdatauv(L, sizeof *nb, 0);   /* box first: GC frees the cells */
    memset(nb, 0, sizeof *nb);
    luaL_setmetatable(L, NOTEBOOK_MT);
    lt_status st = lt_notebook_parse(s, len, nb);
    if (st != LT_OK) return luaL_error(L, "%s", lt_lasterror());
    lua_createtable(L, (int)(nb->n < 1000000 ? nb->n : 1000000), 0);
    for (size_t i = 0; i < nb->n; i++) {
        const lt_nb_cell *c = &nb->cells[i];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, c->kind == LT_CELL_MARKDOWN ? "markdown" : "code");
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, c->title);
        lua_setfield(L, -2, "title");
        lua_pushlstring(L, c->source, c->source_len);
        lua_setfield(L, -2, "source");
        if (c->expected) {
            lua_pushlstring(L, c->expected, c->expected_len);
            lua_setfield(L, -2, "expected");
        }
        lua_pushinteger(L, c->line);
        lua_setfield(L, -2, "line");
        lua_pushinteger(L, c->source_line);
        lua_setfield(L, -2, "source_line");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* Reads one line from stdin (no Readline): returns it without the newline, or nil at
 * the end of input or on Ctrl-C. */
static char *read_plain(const char *prompt, int *cancelled);

static int r_readline(lua_State *L) {
    const char *prompt = luaL_optstring(L, 1, "");
    int cancelled = 0;
    char *line = read_plain(prompt, &cancelled);
    if (!line) return 0;
    lua_pushstring(L, line);
    free(line);
    return 1;
}

/* _repl.key([prompt]) → key, true: prints prompt, then one key pressed on the terminal, without waiting for Enter
 * and without echo (key nil at the end of input or on Ctrl-C); when stdin is not a
 * terminal, a line (read and echoed as _repl.readline does). */
static int r_key(lua_State *L) {
    const char *prompt = luaL_optstring(L, 1, "");
    struct termios old, raw;
    if (!isatty(0) || tcgetattr(0, &old) != 0) return r_readline(L);
    raw = old;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &raw);           /* before the prompt: a key typed at once counts */
    fputs(prompt, stdout);
    fflush(stdout);
    unsigned char c;
    ssize_t n;
    do n = read(0, &c, 1); while (n < 0 && errno == EINTR && !got_sigint);
    tcsetattr(0, TCSANOW, &old);
    got_sigint = 0;
    if (n != 1 || c == 3 || c == 4) {          /* end of input, Ctrl-C, Ctrl-D */
        lua_pushnil(L);
        lua_pushboolean(L, 1);
        return 2;
    }
    lua_pushlstring(L, (const char *)&c, 1);
    lua_pushboolean(L, 1);                     /* read as a key: nothing was echoed */
    return 2;
}

static const luaL_Reg repl_funcs[] = {
    {"parse_notebook", r_parse_notebook},
    {"readline", r_readline}, {"key", r_key}, {NULL, NULL}};

int lt_repl_open(lua_State *L, const lt_repl_ui *u) {
    gL = L;
    ui = *u;
    install_sigint();
    if (luaL_newmetatable(L, NOTEBOOK_MT)) {
        lua_pushcfunction(L, notebook__gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "lunette");
    lua_call(L, 1, 1);
    lua_pushboolean(L, ui.plain);
    lua_setfield(L, -2, "plain");
    lua_pushboolean(L, ui.color);
    lua_setfield(L, -2, "color");
    lua_pushboolean(L, ui.pager);
    lua_setfield(L, -2, "_pager_ok");
    lua_pushboolean(L, isatty(1));
    lua_setfield(L, -2, "_stdout_tty");
    if (ui.fixed_columns > 0) {              /* --check: outputs as in a pipe, 80 wide */
        lua_pushinteger(L, ui.fixed_columns);
        lua_setfield(L, LUA_REGISTRYINDEX, "lunette.columns");
    }
    luaL_newlib(L, repl_funcs);
    lua_setfield(L, -2, "_repl");
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "lunette.repl");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "init");
    lua_call(L, 0, 0);
    repl_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* Pushes lunette.repl[name]. */
static void push_repl_fn(lua_State *L, const char *name) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, repl_ref);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

/* ---- reading lines ---- */

static char *read_plain(const char *prompt, int *cancelled) {
    fputs(prompt, stdout);
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    errno = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        if (errno == EINTR) {
            clearerr(stdin);
            got_sigint = 0;
            *cancelled = 1;
            fputs("\n", stdout);
        }
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
    if (!isatty(0)) {                       /* a transcript: show what was read */
        fputs(line, stdout);
        fputc('\n', stdout);
    }
    return line;
}

static char *rl_result;
static int rl_have;

static void on_line(char *line) {
    rl_result = line;
    rl_have = 1;
    rl_callback_handler_remove();
}

/* SIGINT stays blocked except inside pselect, so a Ctrl-C that lands while Readline
 * handles a key is seen at the next wait instead of being lost. */
static char *read_rl(const char *prompt, int *cancelled) {
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &orig);
    sigdelset(&orig, SIGINT);
    rl_have = 0;
    rl_result = NULL;
    got_sigint = 0;
    if (rl_outstream) rl_resize_terminal(); /* the window may have changed in a full screen */
    rl_callback_handler_install(prompt, on_line);
    while (!rl_have) {
        if (got_sigint) {                   /* Ctrl-C at the prompt: drop the line */
            got_sigint = 0;
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_replace_line("", 0);
            rl_point = rl_end = 0;
            rl_callback_handler_remove();
            fputs("^C\n", stdout);
            fflush(stdout);
            *cancelled = 1;
            break;
        }
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fileno(rl_instream), &fds);
        int r = pselect(fileno(rl_instream) + 1, &fds, NULL, NULL, NULL, &orig);
        if (r < 0) {
            if (errno == EINTR) continue;
            rl_callback_handler_remove();
            break;
        }
        rl_callback_read_char();
    }
    sigprocmask(SIG_SETMASK, &orig, NULL);
    return rl_have ? rl_result : NULL;
}

static char *read_line(const char *prompt, int *cancelled) {
    *cancelled = 0;
    return ui.readline ? read_rl(prompt, cancelled) : read_plain(prompt, cancelled);
}

/* ---- completion ---- */

static char **cands;
static size_t ncands, icand;

static void free_cands(void) {
    for (size_t i = 0; i < ncands; i++) free(cands[i]);
    free(cands);
    cands = NULL;
    ncands = 0;
}

static char *cand_generator(const char *text, int state) {
    (void)text;
    if (state == 0) icand = 0;
    return icand < ncands ? strdup(cands[icand++]) : NULL;
}

static int complete_lua(lua_State *L) {             /* protected: R.complete(text) → list */
    push_repl_fn(L, "complete");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

/* Lua names, fields after '.', methods after ':'; inside a string, file names. */
static char **attempt_completion(const char *text, int start, int end) {
    (void)start; (void)end;
    if (rl_completion_quote_character) return NULL;  /* readline's file name completion */
    rl_attempted_completion_over = 1;
    rl_completion_append_character = '\0';
    free_cands();
    lua_State *L = gL;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 8)) return NULL;
    lua_pushcfunction(L, complete_lua);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
        lua_Integer n = luaL_len(L, -1);
        if (n > 0 && n < 100000) cands = calloc((size_t)n, sizeof *cands);
        for (lua_Integer i = 1; cands && i <= n; i++) {
            lua_rawgeti(L, -1, i);
            const char *s = lua_tostring(L, -1);
            if (s && (cands[ncands] = strdup(s)) != NULL) ncands++;
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
    if (ncands == 0) return NULL;
    return rl_completion_matches(text, cand_generator);
}

/* ---- history ---- */

static char history_path[4096];

static void history_open(void) {
    const char *env = getenv("LUNETTE_HISTORY"), *home = getenv("HOME");
    if (env && *env) snprintf(history_path, sizeof history_path, "%s", env);
    else if (home && *home) snprintf(history_path, sizeof history_path, "%s/.lunette_history", home);
    else history_path[0] = '\0';
    using_history();
    history_write_timestamps = 1;        /* with multiline entries: a cell stays one entry */
    history_multiline_entries = 1;
    history_comment_char = '#';   /* timestamps are written as "#<seconds>" lines */
    stifle_history(HISTORY_MAX);
    if (history_path[0]) read_history(history_path);
}

static void history_save(void) {
    if (history_path[0]) write_history(history_path);    /* the stifled list: bounded */
}

/* ---- the loop ---- */

/* 1 when buf is an unfinished chunk: it fails to compile with an error at <eof>. */
static int incomplete(lua_State *L, const char *buf, size_t len) {
    lua_pushliteral(L, "return ");
    lua_pushlstring(L, buf, len);
    lua_concat(L, 2);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    int st = luaL_loadbuffer(L, s, n, "=In");
    lua_pop(L, 2);
    if (st == LUA_OK) return 0;
    st = luaL_loadbuffer(L, buf, len, "=In");
    int more = 0;
    if (st == LUA_ERRSYNTAX) {
        const char *msg = lua_tolstring(L, -1, &n);
        more = msg && n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
    }
    lua_pop(L, 1);
    const char *semi = more ? memrchr(buf, ';', len) : NULL;
    if (semi) {                     /* "x = 1; x" runs as "x = 1; return x" (repl.lua) */
        lua_pushlstring(L, buf, (size_t)(semi - buf) + 1);
        lua_pushliteral(L, " return ");
        lua_pushlstring(L, semi + 1, len - (size_t)(semi - buf) - 1);
        lua_concat(L, 3);
        s = lua_tolstring(L, -1, &n);
        if (luaL_loadbuffer(L, s, n, "=In") == LUA_OK) more = 0;
        lua_pop(L, 2);
    }
    return more;
}

static int is_magic(const char *buf) {
    while (*buf == ' ' || *buf == '\t') buf++;
    return *buf == '%';
}

static int is_blank(const char *s) {
    for (; *s; s++) if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

static void report_error(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    if (lt_repl_is_interrupt(L, -1)) fputs("interrupted\n", stdout);
    else fprintf(stdout, "%s\n", msg ? msg : "(error object is not a string)");
    lua_pop(L, 1);
}

static void make_prompts(lua_State *L, char *prompt, char *cont, size_t size) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, repl_ref);
    lua_getfield(L, -1, "n");
    long n = (long)lua_tointeger(L, -1);
    lua_pop(L, 2);
    char plain[64];
    int w = snprintf(plain, sizeof plain, "In [%ld]: ", n);
    int pad = w > 5 ? w - 5 : 0;
    /* \001 \002 tell Readline the colour codes take no room on screen */
    const char *on = ui.readline ? "\001\033[32m\002" : "\033[32m";
    const char *off = ui.readline ? "\001\033[0m\002" : "\033[0m";
    if (ui.color) {
        snprintf(prompt, size, "%s%s%s", on, plain, off);
        snprintf(cont, size, "%s%*s...: %s", on, pad, "", off);
    } else {
        snprintf(prompt, size, "%s", plain);
        snprintf(cont, size, "%*s...: ", pad, "");
    }
}

void lt_repl_loop(lua_State *L) {
    if (ui.readline) {
        rl_readline_name = "lunette";
        rl_catch_signals = 0;
        rl_attempted_completion_function = attempt_completion;
        rl_completer_word_break_characters = " \t\n\"'`@$><=;|&{(,+-*/%^#~[])}";
        rl_completer_quote_characters = "\"'";
        rl_filename_quote_characters = " ";
        rl_variable_bind("show-all-if-ambiguous", "on");   /* list at once, as IPython does;
                                                              ~/.inputrc may override it */
        if (ui.plain) {                     /* plain: editing, but no escape sequences */
            rl_variable_bind("enable-bracketed-paste", "off");
            rl_variable_bind("colored-stats", "off");
            rl_variable_bind("colored-completion-prefix", "off");
        }
        history_open();
    }
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    char prompt[128], cont[128];
    for (;;) {
        if (blen == 0) make_prompts(L, prompt, cont, sizeof prompt);
        int cancelled;
        fflush(stdout);
        char *line = read_line(blen ? cont : prompt, &cancelled);
        if (cancelled) { blen = 0; continue; }
        if (!line) {                         /* Ctrl-D or end of input */
            if (ui.readline) fputs("\n", stdout);
            if (blen && !ui.readline) {      /* piped input ending mid-chunk: show its error */
                push_repl_fn(L, "cell");
                lua_pushlstring(L, buf, blen);
                if (lt_repl_pcall(L, 1, 0) != LUA_OK) report_error(L);
            }
            break;
        }
        if (blen == 0 && is_blank(line)) { free(line); continue; }
        size_t ll = strlen(line);
        if (blen + ll + 2 > bcap) {
            size_t ncap = 2 * (blen + ll + 2);
            char *nb = realloc(buf, ncap);
            if (!nb) { free(line); fputs("lunette: out of memory\n", stdout); blen = 0; continue; }
            buf = nb;
            bcap = ncap;
        }
        if (blen) buf[blen++] = '\n';
        memcpy(buf + blen, line, ll + 1);
        blen += ll;
        free(line);
        if (!is_magic(buf) && incomplete(L, buf, blen)) continue;
        if (ui.readline) {
            add_history(buf);
            history_save();
        }
        push_repl_fn(L, "cell");
        lua_pushlstring(L, buf, blen);
        if (lt_repl_pcall(L, 1, 0) != LUA_OK) report_error(L);
        fflush(stdout);
        blen = 0;
    }
    free(buf);
    free_cands();
    if (ui.readline) {
        history_save();
        clear_history();
    }
}

int lt_repl_notebook(lua_State *L, const char *path, int check, int step) {
    push_repl_fn(L, "run_file");
    lua_pushstring(L, path);
    lua_pushboolean(L, check);
    lua_pushboolean(L, step);
    int st = lt_repl_pcall(L, 3, 1);
    if (st != LUA_OK) {
        int intr = lt_repl_is_interrupt(L, -1);
        report_error(L);
        return intr ? 130 : 1;
    }
    int code = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    fflush(stdout);
    return code;
}

/* main.c: the lunette program. `lunette -e CODE` runs Lua with the engine's modules
 * as globals; `lunette FILE.lua [-- ARGS]` replays a notebook (--check compares, --step
 * pauses, -i stays); with no file, the REPL (repl.c). The output style (--plain,
 * colour) is chosen here from the terminal, TERM and NO_COLOR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/rng.h"
#include "core/tensor.h"
#include "dist/dist.h"
#include "lua/l_util.h"
#include "repl/repl.h"

static const char *usage =
    "usage: lunette [options] [FILE.lua [-- ARGS]]\n"
    "  (no FILE)     start the REPL\n"
    "  FILE.lua      run a Lua script, or replay a notebook (a file with -- %% cells)\n"
    "  -i            stay in the REPL after the notebook\n"
    "  -e CODE       run CODE (after FILE, if any)\n"
    "  --step        pause before each cell\n"
    "  --check       compare each cell's output with its recorded output\n"
    "  --plain       ASCII only, no colour, no full screen\n"
    "  --seed N      seed the random generator\n"
    "  --threads N   compute threads\n"
    "  --version     print the version\n"
    "  --help        this text\n";

static int report(lua_State *L, int status) {
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "lunette: %s\n", msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

/* Opens the standard libraries and lunette, and sets lunette's globals. */
static int open_lunette(lua_State *L) {
    luaL_openlibs(L);
    luaL_requiref(L, "lunette", luaopen_lunette, 1);
    lua_getfield(L, -1, "globals");
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_getfield(L, -3, lua_tostring(L, -1));
        lua_setglobal(L, lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return 0;
}

static int open_repl(lua_State *L) {
    return lt_repl_open(L, (const lt_repl_ui *)lua_touserdata(L, 1));
}

int main(int argc, char **argv) {
    const char *code = NULL, *file = NULL;
    int first_arg = argc, interactive = 0, check = 0, step = 0, plain = 0;
    long seed = -1, threads = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(usage, stdout); return 0; }
        if (strcmp(a, "--version") == 0) { printf("lunette %s\n", LUNETTE_VERSION); return 0; }
        if (strcmp(a, "-e") == 0 && i + 1 < argc) { code = argv[++i]; continue; }
        if (strcmp(a, "--seed") == 0 && i + 1 < argc) { seed = strtol(argv[++i], NULL, 10); continue; }
        if (strcmp(a, "--threads") == 0 && i + 1 < argc) { threads = strtol(argv[++i], NULL, 10); continue; }
        if (strcmp(a, "-i") == 0) { interactive = 1; continue; }
        if (strcmp(a, "--check") == 0) { check = 1; continue; }
        if (strcmp(a, "--step") == 0) { step = 1; continue; }
        if (strcmp(a, "--plain") == 0) { plain = 1; continue; }
        if (strcmp(a, "--") == 0) { first_arg = i + 1; break; }
        if (a[0] == '-' && a[1]) { fprintf(stderr, "lunette: unknown option %s\n%s", a, usage); return 2; }
        if (!file) { file = a; continue; }
        first_arg = i;
        break;
    }
    if ((check || step) && !file) {
        fprintf(stderr, "lunette: --check and --step need a notebook FILE.lua\n%s", usage);
        return 2;
    }
    /* Output style: plain off a terminal, on TERM=dumb, with --plain, and with --check
     * (recorded outputs are plain text, so a check must not depend on the terminal);
     * colour only when not plain and NO_COLOR is unset or empty. Readline whenever stdin
     * and stdout are terminals, whatever the style: TERM=dumb, NO_COLOR and --plain
     * change what is drawn, not whether the line can be edited. */
    const char *term = getenv("TERM"), *nocolor = getenv("NO_COLOR");
    int dumb = !term || !*term || strcmp(term, "dumb") == 0;
    lt_repl_ui ui;
    ui.plain = plain || check || dumb || !isatty(1);
    ui.color = !ui.plain && !(nocolor && *nocolor);
    ui.readline = !check && isatty(0) && isatty(1);
    ui.pager = !check && isatty(0) && isatty(1);
    ui.fixed_columns = check ? 80 : 0;

    lua_State *L = luaL_newstate();
    if (!L) { fputs("lunette: cannot create the Lua state\n", stderr); return 1; }
    lua_pushcfunction(L, open_lunette);
    if (report(L, lua_pcall(L, 0, 0, 0)) != LUA_OK) { lua_close(L); return 1; }
    if (seed >= 0) lt_rng_seed_global((uint64_t)seed);
    if (threads > 0) lt_set_threads((int)threads);
    /* arg, as lua.c sets it: arg[0] is the script, arg[1..] what follows `--`. */
    lua_createtable(L, argc, 1);
    if (file) { lua_pushstring(L, file); lua_rawseti(L, -2, 0); }
    for (int i = first_arg; i < argc; i++) { lua_pushstring(L, argv[i]); lua_rawseti(L, -2, i - first_arg + 1); }
    lua_setglobal(L, "arg");
    lua_pushcfunction(L, open_repl);
    lua_pushlightuserdata(L, &ui);
    if (report(L, lua_pcall(L, 1, 0, 0)) != LUA_OK) { lua_close(L); return 1; }

    /* Under mpirun (lunette.dist): an error on one rank ends every rank, naming it,
     * instead of leaving the others waiting in a collective; the REPL is not distributed. */
    int nranks = lt_dist_size();
    int status = 0;
    if (file) status = lt_repl_notebook(L, file, check, step);
    if (status != 0 && nranks > 1) lt_dist_abort(status, "stopped by the error above; stopping every rank");
    if (status != 130 && code) {
        int st = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
        if (st == LUA_OK) st = lt_repl_pcall(L, 0, 0);
        if (st != LUA_OK) status = lt_repl_is_interrupt(L, -1) ? 130 : 1;
        report(L, st);
        if (status != 0 && nranks > 1) lt_dist_abort(status, "stopped by the error above; stopping every rank");
    }
    if ((interactive || (!file && !code)) && nranks > 1) {
        fprintf(stderr, "lunette: the REPL is not distributed: give mpirun a script "
                "(mpirun -np %d lunette script.lua)\n", nranks);
        lt_dist_abort(2, NULL);
    }
    if (interactive || (!file && !code)) {
        lt_repl_loop(L);
        status = 0;
    }
    fflush(stdout);
    lua_close(L);
    return status;
}

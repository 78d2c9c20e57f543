/* main.c: the lunette program. `lunette -e CODE` and `lunette FILE.lua [-- ARGS]`
 * run Lua with the engine's modules as globals; with no arguments, the REPL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/rng.h"
#include "core/tensor.h"
#include "lua/l_util.h"

static const char *usage =
    "usage: lunette [options] [FILE.lua [-- ARGS]]\n"
    "  (no FILE)     start the REPL\n"
    "  FILE.lua      replay a notebook\n"
    "  -i            stay in the REPL after the notebook\n"
    "  -e CODE       run CODE (after FILE, if any)\n"
    "  --step        pause before each cell\n"
    "  --check       compare each cell's output with its recorded output\n"
    "  --plain       ASCII only, no colour, no full screen\n"
    "  --seed N      seed the random generator\n"
    "  --threads N   compute threads\n"
    "  --version     print the version\n"
    "  --help        this text\n";

static int traceback(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int report(lua_State *L, int status) {
    if (status != LUA_OK) {
        fprintf(stderr, "lunette: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return status;
}

static int docall(lua_State *L, int nargs) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, 0, base);
    lua_remove(L, base);
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

int main(int argc, char **argv) {
    const char *code = NULL, *file = NULL;
    int first_arg = argc;
    long seed = -1, threads = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(usage, stdout); return 0; }
        if (strcmp(a, "--version") == 0) { printf("lunette %s\n", LUNETTE_VERSION); return 0; }
        if (strcmp(a, "-e") == 0 && i + 1 < argc) { code = argv[++i]; continue; }
        if (strcmp(a, "--seed") == 0 && i + 1 < argc) { seed = strtol(argv[++i], NULL, 10); continue; }
        if (strcmp(a, "--threads") == 0 && i + 1 < argc) { threads = strtol(argv[++i], NULL, 10); continue; }
        if (strcmp(a, "--") == 0) { first_arg = i + 1; break; }
        if (a[0] == '-' && a[1]) { fprintf(stderr, "lunette: unknown option %s\n%s", a, usage); return 2; }
        if (!file) { file = a; continue; }
        first_arg = i;
        break;
    }
    lua_State *L = luaL_newstate();
    if (!L) { fputs("lunette: cannot create the Lua state\n", stderr); return 1; }
    lua_pushcfunction(L, open_lunette);
    if (report(L, docall(L, 0)) != LUA_OK) { lua_close(L); return 1; }
    if (seed >= 0) lt_rng_seed_global((uint64_t)seed);
    if (threads > 0) lt_set_threads((int)threads);
    /* arg, as lua.c sets it: arg[0] is the script, arg[1..] what follows `--`. */
    lua_createtable(L, argc, 1);
    if (file) { lua_pushstring(L, file); lua_rawseti(L, -2, 0); }
    for (int i = first_arg; i < argc; i++) { lua_pushstring(L, argv[i]); lua_rawseti(L, -2, i - first_arg + 1); }
    lua_setglobal(L, "arg");
    int status = LUA_OK;
    if (file) {
        status = luaL_loadfile(L, file);
        if (status == LUA_OK) status = docall(L, 0);
        report(L, status);
    }
    if (status == LUA_OK && code) {
        status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
        if (status == LUA_OK) status = docall(L, 0);
        report(L, status);
    }
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}

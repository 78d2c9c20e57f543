/* l_lunette.c: luaopen_lunette, the module `require "lunette"` returns: the C
 * submodules (tensor, nn, optim, data, plot, ...), lunette.seed/threads/version,
 * and the Lua-side library under lua/lunette/ (found as set_paths says). */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <sys/stat.h>
#include <time.h>

#include "core/rng.h"
#include "kernels/isa.h"
#include "lua/l_util.h"

/* The C submodules, in load order. Each opener returns its table (set as lunette.<name>),
 * or nothing when it only extends an earlier one (augment adds layers to nn). */
static const luaL_Reg submodules[] = {
    {"tensor", luaopen_lunette_tensor},
    {"nn", luaopen_lunette_nn},
    {"optim", luaopen_lunette_optim},
    {"safetensors", luaopen_lunette_safetensors},
    {"json", luaopen_lunette_json},
    {"plot", luaopen_lunette_plot},
    {"metrics", luaopen_lunette_metrics},
    {"data", luaopen_lunette_data},
    {"augment", luaopen_lunette_augment},
    {"dist", luaopen_lunette_dist},
    {NULL, NULL}};

static int lunette_seed(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1);
    lt_rng_seed(&lt_global_rng, (uint64_t)n);
    return 0;
}

static int lunette_threads(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = luaL_checkinteger(L, 1);
        luaL_argcheck(L, n >= 1 && n <= 1024, 1, "thread count must be 1 to 1024");
        lt_set_threads((int)n);
    }
    lua_pushinteger(L, lt_get_threads());
    return 1;
}

static int lunette_clock(lua_State *L) {              /* monotonic wall-clock seconds */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + 1e-9 * (lua_Number)ts.tv_nsec);
    return 1;
}

/* lunette.columns() → columns, rows, tty: the terminal's size when stdout is one; else
 * $COLUMNS (and $LINES), else 80×24. Widths under 20 or over 1000 count as unknown (80).
 * registry["lunette.columns"], when an integer, is a fixed width (lunette --check: the
 * recorded outputs must not depend on the terminal the check runs in). */
static int lunette_columns(lua_State *L) {
    int rows, tty;
    lua_pushinteger(L, lt_lua_columns(L, &rows, &tty));
    lua_pushinteger(L, rows);
    lua_pushboolean(L, tty);
    return 3;
}

static int lunette_max_elements(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = luaL_checkinteger(L, 1);
        lt_lua_check(L, lt_set_max_numel(n));
    }
    lua_pushinteger(L, lt_get_max_numel());
    return 1;
}

/* lunette._test_interrupt([on=true]) → was_set: sets (or clears) the Ctrl-C flag the way
 * the REPL's SIGINT handler does, so tests can interrupt a C loop deterministically. */
static int lunette_test_interrupt(lua_State *L) {
    int was = lt_interrupted != 0;
    lt_interrupted = (lua_isnone(L, 1) || lua_toboolean(L, 1)) ? 1 : 0;
    lua_pushboolean(L, was);
    return 1;
}

static int lunette_sethelp(lua_State *L) {           /* lunette._sethelp(value, name, text) */
    const char *name = luaL_checkstring(L, 2), *text = luaL_checkstring(L, 3);
    lt_lua_sethelp(L, 1, name, text);
    return 0;
}

static int lunette_gethelp(lua_State *L) {           /* lunette._gethelp(value_or_name) → text, name */
    lua_getfield(L, LUA_REGISTRYINDEX, "lunette.help");
    if (!lua_istable(L, -1)) return 0;
    lua_pushvalue(L, 1);
    lua_gettable(L, -2);
    if (lua_type(L, 1) != LUA_TSTRING) {              /* value → name → text */
        if (!lua_isstring(L, -1)) return 0;
        lua_pushvalue(L, -1);
        lua_gettable(L, -3);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushvalue(L, 1);
    return 2;
}

static int lunette_helptopics(lua_State *L) {       /* sorted list of documented names */
    lua_newtable(L);
    if (lua_getfield(L, LUA_REGISTRYINDEX, "lunette.help") != LUA_TTABLE) return 1;
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, -4, ++n);
        }
    }
    lua_pop(L, 1);
    return 1;
}

/* lunette._option_error(opts, fn, known [, npos]) → message or nil: the C option check
 * (lt_opt_error) for the Lua modules; known is "a|alias b c" or a list of such strings.
 * Lua code calls it through lunette._options (prelude.lua), which raises at the user's call. */
static int lunette_option_error(lua_State *L) {
    const char *fn = luaL_checkstring(L, 2);
    int npos = (int)luaL_optinteger(L, 4, 0);
    const char *known;
    if (lua_type(L, 3) == LUA_TTABLE) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        lua_Integer n = (lua_Integer)lua_rawlen(L, 3);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, 3, i) != LUA_TSTRING) return luaL_error(L, "known[%I] is not a string", i);
            luaL_addvalue(&b);
            luaL_addchar(&b, ' ');
        }
        luaL_pushresult(&b);
        lua_replace(L, 3);
    }
    known = luaL_checkstring(L, 3);
    if (!lt_opt_error(L, 1, fn, known, npos)) lua_pushnil(L);
    return 1;
}

/* lunette.machine() → {cpu=, isa=, isa_best=, blas_core=, blas_config=}: what a
 * benchmark's figures depend on (the processor, the vector instructions Lunette's kernels
 * use — chosen at run time, lowered by LUNETTE_ISA — and OpenBLAS's kernel). */
static int lunette_machine(lua_State *L) {
    char cpu[256];
    lt_cpu_name(cpu, sizeof cpu);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, cpu);
    lua_setfield(L, -2, "cpu");
    lua_pushstring(L, lt_isa_name(lt_isa()));
    lua_setfield(L, -2, "isa");
    lua_pushstring(L, lt_isa_name(lt_isa_supported()));
    lua_setfield(L, -2, "isa_best");
    lua_pushstring(L, openblas_get_corename());
    lua_setfield(L, -2, "blas_core");
    lua_pushstring(L, openblas_get_config());
    lua_setfield(L, -2, "blas_config");
    return 1;
}

/* lunette._fma_peak(isa) → GFLOP/s of a register-only multiply-add loop on one core for
 * "avx512", "avx2" or "generic" (about 0.2 s), or nil when the processor lacks it: the
 * peak the benchmarks compare against. */
static int lunette_fma_peak(lua_State *L) {
    const char *s = luaL_checkstring(L, 1);
    int isa = lt_isa_parse(s);
    if (isa < 0) return luaL_error(L, "lunette._fma_peak: '%s' is not avx512, avx2 or generic", s);
    double g = lt_fma_peak((lt_isa_level)isa, 0.2);
    if (g <= 0) return 0;
    lua_pushnumber(L, g);
    return 1;
}

static const lt_reg lunette_funcs[] = {
    {"seed", lunette_seed, "lunette.seed(n)\n\nSeeds the random generator behind rand, randn, "
     "initialisers, dropout and shuffling.\nThe same seed gives the same streams on any machine."},
    {"threads", lunette_threads, "lunette.threads([n])\n\nSets the number of compute threads "
     "(OpenBLAS) when n is given; returns the current number."},
    {"clock", lunette_clock, "lunette.clock()\n\nSeconds on a monotonic wall clock (os.clock "
     "counts CPU time, which grows twice as\nfast on two threads). Example: local t0 = "
     "lunette.clock(); model:fit(x, y); print(lunette.clock() - t0)"},
    {"columns", lunette_columns, "lunette.columns() → columns, rows, tty\n\nThe width "
     "Lunette formats its output for: the terminal's columns and rows when stdout is a "
     "terminal (tty is then true), else $COLUMNS and $LINES, else 80 and 24. Help, the fit "
     "progress line, summaries and plots all fit this width.\n"
     "Example: local w = lunette.columns(); print(('-'):rep(w))"},
    {"max_elements", lunette_max_elements, "lunette.max_elements([n])\n\nThe ceiling on a "
     "single tensor's element count (default 2^30): a bigger shape is an error\nnaming the "
     "shape, not an out-of-memory kill. Sets it when n is given; returns it."},
    {"machine", lunette_machine, "lunette.machine() → {cpu, isa, isa_best, blas_core, "
     "blas_config}\n\n"
     "The processor, the vector instructions Lunette's kernels use (isa: \"AVX-512\",\n"
     "\"AVX2+FMA\" or \"generic\", the best the processor has, isa_best, unless the\n"
     "environment variable LUNETTE_ISA=avx512|avx2|generic asks for a lower one) and the\n"
     "kernel OpenBLAS chose (OPENBLAS_CORETYPE changes it): what speed figures depend on.\n"
     "Example: m = lunette.machine(); print(m.cpu, m.isa, m.blas_core)"},
    {"_fma_peak", lunette_fma_peak, NULL},
    {"_test_interrupt", lunette_test_interrupt, NULL},
    {"_sethelp", lunette_sethelp, NULL},
    {"_option_error", lunette_option_error, NULL},
    {"_gethelp", lunette_gethelp, NULL},
    {"_helptopics", lunette_helptopics, NULL},
    {NULL, NULL, NULL}};

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The install prefix this code runs from, found from its own file (dladdr works for the
 * executable, PREFIX/bin/lunette, and the module, PREFIX/lib/lua/5.4/lunette.so), so an
 * installed copy finds its files wherever the prefix was moved; "" when not installed. */
static void find_prefix(char *out, size_t size) {
    Dl_info info;
    out[0] = '\0';
    if (!dladdr((void *)luaopen_lunette, &info) || !info.dli_fname) return;
    char path[4096];
    if (!realpath(info.dli_fname, path)) return;
    static const char *suffixes[] = {"/bin/lunette", "/lib/lua/5.4/lunette.so"};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(path + n - k, suffixes[i]) == 0 && n - k < size) {
            memcpy(out, path, n - k);
            out[n - k] = '\0';
            return;
        }
    }
}

/* Sets lunette.lua_dir and lunette.share_dir, and prepends lua_dir to package.path.
 * Order: $LUNETTE_LUA_DIR; the prefix this copy is installed in; the source tree it was
 * built from; the configured install prefix. */
static void set_paths(lua_State *L) {
    char prefix[4096], lua_dir[4200], share[4200];
    const char *env = getenv("LUNETTE_LUA_DIR");
    find_prefix(prefix, sizeof prefix);
    snprintf(lua_dir, sizeof lua_dir, "%s/share/lua/5.4", prefix);
    snprintf(share, sizeof share, "%s/share/lunette", prefix);
    char probe[4300];
    snprintf(probe, sizeof probe, "%s/lunette", lua_dir);
    if (!prefix[0] || !is_dir(probe)) {
        if (is_dir(LUNETTE_SOURCE_DIR "/lua/lunette")) {
            snprintf(lua_dir, sizeof lua_dir, "%s", LUNETTE_SOURCE_DIR "/lua");
            snprintf(share, sizeof share, "%s", LUNETTE_SOURCE_DIR);
        } else {
            snprintf(lua_dir, sizeof lua_dir, "%s", LUNETTE_INSTALL_LUA_DIR);
            snprintf(share, sizeof share, "%s", LUNETTE_INSTALL_SHARE_DIR);
        }
    }
    if (env && *env) snprintf(lua_dir, sizeof lua_dir, "%s", env);
    lua_pushstring(L, lua_dir);
    lua_setfield(L, -2, "lua_dir");
    lua_pushstring(L, share);
    lua_setfield(L, -2, "share_dir");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s", lua_dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

int luaopen_lunette(lua_State *L) {
    lua_newtable(L);
    lt_lua_setfuncs(L, "lunette", lunette_funcs);
    lua_pushstring(L, LUNETTE_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, LUNETTE_SOURCE_DIR);
    lua_setfield(L, -2, "source_dir");
    /* Openers find the module (and earlier submodules) in the registry. */
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "lunette.module");
    for (const luaL_Reg *m = submodules; m->name; m++) {
        lua_pushcfunction(L, m->func);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) lua_pop(L, 1);
        else lua_setfield(L, -2, m->name);
    }
    /* Lua-side library: lunette.prelude extends these tables (help, nn.Sequential, ...). */
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "lunette");                    /* so lua files can require "lunette" */
    lua_pop(L, 1);
    set_paths(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "lunette.prelude");
    lua_call(L, 1, 0);
    return 1;
}

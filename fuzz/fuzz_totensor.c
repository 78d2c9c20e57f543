/* fuzz_totensor.c: libFuzzer target for lt_lua_totensor (src/lua/l_util.h), the
 * tensor-from-nested-table constructor. The input is Lua source for one expression
 * ("return " .. input), compiled in text mode and run in an empty environment (no
 * libraries) under an instruction-count hook and a memory cap; the value it gives is
 * passed to lt_lua_totensor inside lua_pcall. Any value must give a tensor whose size
 * matches the table, or a Lua error; never a crash or a leak (LeakSanitizer is on). */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/l_util.h"

#define MEM_LIMIT ((size_t)64 << 20)
#define STEP_LIMIT 200000

typedef struct { size_t used; } mem_state;

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    mem_state *m = ud;
    if (ptr == NULL) osize = 0;
    if (nsize == 0) {
        free(ptr);
        m->used -= osize;
        return NULL;
    }
    if (nsize > osize && m->used + (nsize - osize) > MEM_LIMIT) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) m->used = m->used - osize + nsize;
    return p;
}

static void step_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    luaL_error(L, "step limit");
}

static int tensor_gc(lua_State *L) {
    LTensor *u = luaL_checkudata(L, 1, TENSOR_MT);
    lt_tensor_free(u->t);
    u->t = NULL;
    return 0;
}

static int convert(lua_State *L) {       /* value → tensor; checks numel vs. the value */
    lua_sethook(L, NULL, 0, 0);           /* lt_lua_totensor runs no Lua code */
    lt_tensor *t = lt_lua_totensor(L, 1, "fuzz");
    if (!t || t->numel < 1 || t->ndim < 1 || t->ndim > LT_MAX_DIMS) abort();
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    if (n != t->numel) abort();
    return 0;
}

/* A ceiling well under the fuzzer's memory limit: big shapes must be errors, not OOMs. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    lt_set_max_numel((int64_t)1 << 24);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    mem_state m = {0};
    lua_State *L = lua_newstate(limited_alloc, &m);
    if (!L) return 0;
    luaL_newmetatable(L, TENSOR_MT);
    lua_pushcfunction(L, tensor_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    char *src = malloc(size + 8);
    memcpy(src, "return ", 7);
    memcpy(src + 7, data, size);
    if (luaL_loadbufferx(L, src, size + 7, "=fuzz", "t") == LUA_OK) {
        lua_newtable(L);                               /* empty _ENV: no libraries */
        lua_setupvalue(L, -2, 1);
        lua_sethook(L, step_hook, LUA_MASKCOUNT, STEP_LIMIT);
        if (lua_pcall(L, 0, 1, 0) == LUA_OK) {
            lua_sethook(L, NULL, 0, 0);
            lua_pushcfunction(L, convert);
            lua_insert(L, -2);
            lua_pcall(L, 1, 0, 0);                     /* errors are fine; crashes are not */
        }
    }
    free(src);
    lua_close(L);
    return 0;
}

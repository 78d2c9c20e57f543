/* fuzz_json.c: libFuzzer target for lunette.json.decode/encode (src/lua/l_files.c, on
 * Debian's libcjson): model metadata holds JSON from untrusted files. Any bytes decode to
 * a value or raise a Lua error; never a crash or a leak. Property: when
 * s1 = encode(decode(input)) succeeds, encode(decode(s1)) gives s1 again. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/l_util.h"

static const char *script =
    "local json, s = ...\n"
    "local ok, v = pcall(json.decode, s)\n"
    "if not ok then return end\n"
    "local ok2, s1 = pcall(json.encode, v)\n"
    "if not ok2 then return end\n"
    "local s2 = json.encode(json.decode(s1))\n"
    "if s1 ~= s2 then error('not idempotent: ' .. s1 .. ' vs ' .. s2) end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lua_State *L = luaL_newstate();
    if (!L) return 0;
    luaL_requiref(L, "_G", luaopen_base, 1);      /* pcall, error: all the script uses */
    lua_pop(L, 1);
    if (luaL_loadstring(L, script) != LUA_OK) abort();
    luaL_requiref(L, "lunette.json", luaopen_lunette_json, 0);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        abort();
    }
    lua_close(L);
    return 0;
}

/* l_util.h: what every binding file shares: tensors as userdata, help texts, and
 * turning a failed lt_status into a Lua error. Only src/lua/ includes lua.h.
 * Conventions (STYLE.md section 4): check arguments with luaL_check* before any
 * allocation; never raise while holding C heap memory that nothing will free.
 *
 * Ownership at the Lua boundary: no Lua code, however hostile, may make C read freed or
 * half-changed memory. The rules every binding follows (fuzz/lua_api.lua tries to break
 * them; the debug library, which can reach any value, is outside what they promise):
 * 1. What C keeps, it owns. A network holds a reference on each of its layers (lt_layer
 *    is reference counted) and anchors their Lua objects in a table of its own, never in
 *    a table the user can change; model.layers is a read-only view. An explicit __gc on a
 *    layer, tensor or network only drops that object's own reference.
 * 2. Read, check and anchor before any Lua code runs again. Options and data tables are
 *    read raw (lt_lua_rawfield, lua_rawgeti: no __index runs); the tensors a call reads
 *    are held as C-owned views for the call (a network's Hold box), so a Lua layer or a
 *    callback that finalises the caller's objects frees nothing the call uses.
 * 3. After Lua code ran, re-fetch: a loop that calls Lua (tensor:apply) reads its tensor
 *    through the userdata again and stops if it was freed.
 * 4. Nothing changes under a running network: while a network runs, calls back into it
 *    are refused and its layers refuse a set-up (lt_layer.running); a layer's set-up is
 *    all or nothing (lt_layer_setup_n puts back what a failed one wrote).
 * 5. Sizes are checked, not trusted: shapes go through lt_shape_check (the max_elements
 *    limit), products of sizes from options through lt_mul_sat, counts against what they
 *    index (train_rows, shuffle) without overflowing. */
#ifndef LT_L_UTIL_H
#define LT_L_UTIL_H

#include <lauxlib.h>
#include <lua.h>

#include "core/tensor.h"

#define TENSOR_MT "lunette.Tensor"

typedef struct { lt_tensor *t; } LTensor;        /* t == NULL: not yet built, or freed */

/* A function with its help text: "signature\n\nwhat it does, arguments, defaults,
 * an example". help(fn) and %help print it. */
typedef struct {
    const char *name;
    lua_CFunction func;
    const char *help;
} lt_reg;

/* Sets regs into the table at the top of the stack and records each help text under
 * "<prefix>.<name>", or "<prefix><name>" for a method prefix ending in ':' ("Tensor:");
 * prefix may be NULL for top-level functions. */
void lt_lua_setfuncs(lua_State *L, const char *prefix, const lt_reg *regs);
/* Creates the metatable `name` (a class of userdata): the metamethods in metas, and __index
 * as the C closure `index` whose upvalue 1 is the methods table (help recorded under
 * prefix, e.g. "Tensor:"), so index can serve fields before methods. Leaves the stack as
 * it was. */
void lt_lua_newclass(lua_State *L, const char *name, const luaL_Reg *metas,
                     const lt_reg *methods, const char *prefix, lua_CFunction index);
/* Records help text for the value at index idx under `name` (for objects, methods
 * and functions defined in Lua, see lunette._sethelp). */
/* The width output is formatted for: the terminal's columns (rows in *rows, *tty = 1)
 * when stdout is one, else $COLUMNS/$LINES, else 80×24; registry["lunette.columns"]
 * fixes it (--check). rows and tty may be NULL. */
int lt_lua_columns(lua_State *L, int *rows, int *tty);
void lt_lua_sethelp(lua_State *L, int idx, const char *name, const char *help);

/* Pushes a new userdata owning t (or raises lt_lasterror() when t is NULL). */
lt_tensor *lt_lua_pushtensor(lua_State *L, lt_tensor *t);
/* The tensor at idx, or a "bad argument" error naming lunette.Tensor. */
lt_tensor *lt_lua_checktensor(lua_State *L, int idx);
lt_tensor *lt_lua_testtensor(lua_State *L, int idx);   /* NULL when not a tensor */
/* A tensor at idx, or a new one built from a nested table / number at idx; in that case
 * the new tensor's userdata replaces the value at idx so the GC owns it. */
lt_tensor *lt_lua_totensor(lua_State *L, int idx, const char *fn);

/* Raises lt_lasterror() when s is not LT_OK. Returns 0 so `return lt_lua_check(L, s)` works. */
int lt_lua_check(lua_State *L, lt_status s);

/* t[k] without metamethods (nil when t is not a table): what C reads from a user's options
 * or data tables, so that reading runs no Lua code (an __index that closes or collects an
 * argument C already holds). */
static inline int lt_lua_rawfield(lua_State *L, int idx, const char *k) {
    if (lua_type(L, idx) != LUA_TTABLE) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    idx = lua_absindex(L, idx);
    lua_pushstring(L, k);
    return lua_rawget(L, idx);
}

/* ---- Options tables: the one reader every binding uses (C here, Lua through
 * lunette._options, see prelude.lua) ----
 * A function taking options first checks the table's keys against everything it knows,
 * then reads the fields. `known` lists the options as space-separated groups, each the
 * Keras name first and then its accepted aliases: "filters kernel_size|kernel strides|stride".
 * Readers take `names` in the same group form ("kernel_size|kernel") and return the first
 * present; `pos` > 0 also accepts the value at that array index ({8, 3}) or, when the
 * argument at idx is not a table, the argument itself for pos 1 (nn.Dropout(0.2)).
 * Errors name the function: "nn.Conv2D: unknown option 'paddding' (did you mean 'padding'?)". */

/* Raises unless every key of the table at idx is a known name or an array index
 * 1..npos. A non-table (nil, a positional number) passes. */
void lt_opt_check(lua_State *L, int idx, const char *fn, const char *known, int npos);
/* The message lt_opt_check would raise, pushed as a string, or 0 and nothing pushed. */
int lt_opt_error(lua_State *L, int idx, const char *fn, const char *known, int npos);
/* The known name closest to key (edit distance, with a bound scaled to the length; a name
 * the key begins counts as close), or NULL; writes it into out (size n). */
const char *lt_opt_suggest(const char *key, const char *known, char *out, size_t n);

/* Pushes the first present option among names (or the positional value); returns 1 when
 * found, else pushes nothing and returns 0. */
int         lt_opt_field(lua_State *L, int idx, int pos, const char *names);
lua_Integer lt_opt_int(lua_State *L, const char *fn, int idx, int pos, const char *names,
                       lua_Integer def, int required);
lua_Number  lt_opt_num(lua_State *L, const char *fn, int idx, int pos, const char *names,
                       lua_Number def);
int         lt_opt_bool(lua_State *L, const char *fn, int idx, const char *names, int def);
/* A string (false counts as absent); the string stays alive in the options table. */
const char *lt_opt_str(lua_State *L, const char *fn, int idx, const char *names, const char *def);
/* An integer or a pair {a, b} (kernel sizes, strides); a pair's second entry defaults to the first. */
void        lt_opt_pair(lua_State *L, const char *fn, int idx, int pos, const char *names,
                        lua_Integer def, int required, int64_t *a, int64_t *b);

/* Pushes the float32 v as the shortest decimal that reads back as v: what a user wrote
 * (lr = 0.1 stored as a float shows as 0.1, not 0.10000000149012). For configs. */
void lt_lua_pushfloat(lua_State *L, float v);

/* Module openers, one per binding file; each returns its table. */
int luaopen_lunette_tensor(lua_State *L);
int luaopen_lunette_nn(lua_State *L);             /* l_nn.c */
int luaopen_lunette_optim(lua_State *L);          /* l_optim.c */
int luaopen_lunette_safetensors(lua_State *L);   /* l_files.c */
int luaopen_lunette_json(lua_State *L);          /* l_files.c */
int luaopen_lunette_plot(lua_State *L);          /* l_plot.c */
int luaopen_lunette_metrics(lua_State *L);       /* l_metrics.c */
int luaopen_lunette_data(lua_State *L);
int luaopen_lunette_augment(lua_State *L);
int luaopen_lunette_dist(lua_State *L);         /* l_dist.c */      /* l_augment.c: adds nn.Random* */
int luaopen_lunette(lua_State *L);

#endif

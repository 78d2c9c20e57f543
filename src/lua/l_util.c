/* l_util.c: shared helpers for the bindings (see l_util.h). */
#include "lua/l_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Registry table: help texts by qualified name, and qualified names by value. */
#define HELP_KEY "lunette.help"

static void push_help_table(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, HELP_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, HELP_KEY);
    }
}

void lt_lua_sethelp(lua_State *L, int idx, const char *name, const char *help) {
    idx = lua_absindex(L, idx);
    push_help_table(L);
    lua_pushstring(L, help);
    lua_setfield(L, -2, name);             /* help["nn.Conv2D"] = text */
    if (!lua_isnil(L, idx)) {
        lua_pushvalue(L, idx);
        lua_pushstring(L, name);
        lua_settable(L, -3);               /* help[fn] = "nn.Conv2D" */
    }
    lua_pop(L, 1);
}

void lt_lua_setfuncs(lua_State *L, const char *prefix, const lt_reg *regs) {
    for (; regs->name; regs++) {
        lua_pushcfunction(L, regs->func);
        if (regs->help) {
            /* "tensor" + "zeros" → "tensor.zeros"; a method prefix "Tensor:" → "Tensor:sum" */
            if (prefix) lua_pushfstring(L, prefix[strlen(prefix) - 1] == ':' ? "%s%s" : "%s.%s",
                                        prefix, regs->name);
            else lua_pushstring(L, regs->name);
            lt_lua_sethelp(L, -2, lua_tostring(L, -1), regs->help);
            lua_pop(L, 1);
        }
        lua_setfield(L, -2, regs->name);
    }
}

void lt_lua_newclass(lua_State *L, const char *name, const luaL_Reg *metas,
                     const lt_reg *methods, const char *prefix, lua_CFunction index) {
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, metas, 0);
    lua_newtable(L);
    lt_lua_setfuncs(L, prefix, methods);
    lua_pushcclosure(L, index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

int lt_lua_check(lua_State *L, lt_status s) {
    if (s != LT_OK) return luaL_error(L, "%s", lt_lasterror());
    return 0;
}

lt_tensor *lt_lua_pushtensor(lua_State *L, lt_tensor *t) {
    if (!t) {
        luaL_error(L, "%s", lt_lasterror());
        return NULL;
    }
    LTensor *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->t = t;
    luaL_setmetatable(L, TENSOR_MT);
    return t;
}

/* A view of parameters that moved (see lt_storage.detached) is refused, never read. */
static lt_tensor *live(lua_State *L, lt_tensor *t) {
    if (t && t->storage->detached)
        luaL_error(L, "this tensor is a view of a layer's parameters that moved into a model's "
                   "buffer since: take layer.weight (or parameters()) again");
    return t;
}

lt_tensor *lt_lua_testtensor(lua_State *L, int idx) {
    LTensor *u = luaL_testudata(L, idx, TENSOR_MT);
    return u ? live(L, u->t) : NULL;
}

lt_tensor *lt_lua_checktensor(lua_State *L, int idx) {
    LTensor *u = luaL_checkudata(L, idx, TENSOR_MT);
    if (!u->t) luaL_argerror(L, idx, "tensor has been freed");
    return live(L, u->t);
}

/* ---- nested tables to tensors ---- */

/* Finds the shape from the first element at each level. */
static void table_shape(lua_State *L, int idx, const char *fn, int *nd, int64_t *shape) {
    lua_pushvalue(L, idx);
    *nd = 0;
    while (lua_type(L, -1) == LUA_TTABLE) {
        if (*nd == LT_MAX_DIMS) luaL_error(L, "%s: nested more than %d levels", fn, LT_MAX_DIMS);
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        if (n == 0) luaL_error(L, "%s: empty table at nesting level %d", fn, *nd + 1);
        shape[(*nd)++] = n;
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
}

/* Copies the nested table at the top into data, checking it is rectangular.
 * path holds the 1-based position for messages. Raises before any C allocation
 * is live: the caller's tensor is already owned by a userdata. */
static void table_fill(lua_State *L, const char *fn, int dim, int nd, const int64_t *shape,
                       float **data, int64_t *path) {
    char where[200];
    size_t w = 0;
    if (lua_type(L, -1) != LUA_TTABLE || (int64_t)lua_rawlen(L, -1) != shape[dim]) {
        for (int i = 0; i < dim && w < sizeof where; i++)
            w += snprintf(where + w, sizeof where - w, "[%lld]", (long long)path[i]);
        if (lua_type(L, -1) != LUA_TTABLE)
            luaL_error(L, "%s: ragged nested table: element %s is a %s, expected a table of %I",
                       fn, dim ? where : "(top)", luaL_typename(L, -1), (lua_Integer)shape[dim]);
        luaL_error(L, "%s: ragged nested table: %s has %I items, expected %I", fn,
                   dim ? where : "the top level", (lua_Integer)lua_rawlen(L, -1),
                   (lua_Integer)shape[dim]);
    }
    for (int64_t i = 1; i <= shape[dim]; i++) {
        path[dim] = i;
        lua_rawgeti(L, -1, (lua_Integer)i);
        if (dim + 1 < nd) {
            table_fill(L, fn, dim + 1, nd, shape, data, path);
        } else {
            int isnum;
            lua_Number v = lua_tonumberx(L, -1, &isnum);
            if (!isnum || lua_type(L, -1) == LUA_TSTRING) {
                w = 0;
                for (int k = 0; k <= dim && w < sizeof where; k++)
                    w += snprintf(where + w, sizeof where - w, "[%lld]", (long long)path[k]);
                luaL_error(L, "%s: element %s is a %s, expected a number", fn, where,
                           luaL_typename(L, -1));
            }
            *(*data)++ = (float)v;
        }
        lua_pop(L, 1);
    }
}

lt_tensor *lt_lua_totensor(lua_State *L, int idx, const char *fn) {
    idx = lua_absindex(L, idx);
    lt_tensor *t = lt_lua_testtensor(L, idx);
    if (t) return t;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        int64_t one = 1;
        t = lt_lua_pushtensor(L, lt_tensor_full(1, &one, (float)lua_tonumber(L, idx)));
        lua_replace(L, idx);
        return t;
    }
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: expected a tensor or a nested table of numbers, got a %s", fn,
                   luaL_typename(L, idx));
    int nd;
    int64_t shape[LT_MAX_DIMS], path[LT_MAX_DIMS];
    table_shape(L, idx, fn, &nd, shape);
    t = lt_lua_pushtensor(L, lt_tensor_empty(nd, shape));
    float *p = t->data;
    lua_pushvalue(L, idx);
    table_fill(L, fn, 0, nd, shape, &p, path);
    lua_pop(L, 1);
    lua_replace(L, idx);
    return t;
}

/* ---- option tables ---- */

static int getopt_field(lua_State *L, int idx, const char *key) {
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    if (lt_lua_rawfield(L, idx, key) == LUA_TNIL) { lua_pop(L, 1); return 0; }
    return 1;
}

lua_Integer lt_lua_optfield_int(lua_State *L, int idx, const char *key, lua_Integer def) {
    idx = lua_absindex(L, idx);
    if (!getopt_field(L, idx, key)) return def;
    int ok;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "option '%s' must be an integer, got %s", key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

lua_Number lt_lua_optfield_num(lua_State *L, int idx, const char *key, lua_Number def) {
    idx = lua_absindex(L, idx);
    if (!getopt_field(L, idx, key)) return def;
    int ok;
    lua_Number v = lua_tonumberx(L, -1, &ok);
    if (!ok) luaL_error(L, "option '%s' must be a number, got %s", key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

int lt_lua_optfield_bool(lua_State *L, int idx, const char *key, int def) {
    idx = lua_absindex(L, idx);
    if (!getopt_field(L, idx, key)) return def;
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

const char *lt_lua_optfield_str(lua_State *L, int idx, const char *key, const char *def) {
    idx = lua_absindex(L, idx);
    if (!getopt_field(L, idx, key)) return def;
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "option '%s' must be a string, got %s", key, luaL_typename(L, -1));
    const char *s = lua_tostring(L, -1);   /* stays alive: the options table holds it */
    lua_pop(L, 1);
    return s;
}

int lt_lua_columns(lua_State *L, int *rows, int *tty) {
    struct winsize ws;
    long c = 0, r = 0;
    int is_tty = 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, "lunette.columns") == LUA_TNUMBER) {
        c = (long)lua_tointeger(L, -1);
        r = 24;
    } else {
        is_tty = isatty(STDOUT_FILENO);
        if (is_tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) { c = ws.ws_col; r = ws.ws_row; }
        if (c <= 0 && getenv("COLUMNS")) c = strtol(getenv("COLUMNS"), NULL, 10);
        if (r <= 0 && getenv("LINES")) r = strtol(getenv("LINES"), NULL, 10);
    }
    lua_pop(L, 1);
    if (rows) *rows = r >= 5 && r <= 1000 ? (int)r : 24;
    if (tty) *tty = is_tty;
    return c >= 20 && c <= 1000 ? (int)c : 80;
}

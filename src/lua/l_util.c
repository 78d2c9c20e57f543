/* l_util.c: shared helpers for the bindings (see l_util.h). */
#include "lua/l_util.h"

#include <math.h>
#include <stdio.h>
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

/* Calls f(name, len, first, ud) for each name of a known list ("a|b c"): first is 1 for a
 * group's first (Keras) name. Stops when f returns nonzero, and returns that. */
static int each_name(const char *known, int (*f)(const char *, size_t, int, void *), void *ud) {
    const char *p = known;
    int first = 1;
    while (*p) {
        if (*p == ' ' || *p == '|') { first = *p == ' '; p++; continue; }
        size_t n = strcspn(p, " |");
        int r = f(p, n, first, ud);
        if (r) return r;
        p += n;
    }
    return 0;
}

typedef struct { const char *key; size_t len; } name_query;

static int name_is(const char *name, size_t n, int first, void *ud) {
    (void)first;
    name_query *q = ud;
    return n == q->len && memcmp(name, q->key, n) == 0;
}

#define NAME_MAX_LEN 64

/* Optimal string alignment distance (Levenshtein with adjacent transpositions), case
 * folded: "paddding" → "padding" is 1, "activaton" → "activation" 1, "kernel_sise" 1. */
static int edit_distance(const char *a, size_t n, const char *b, size_t m) {
    int d[NAME_MAX_LEN + 1][NAME_MAX_LEN + 1];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;    /* ASCII letters case-folded */
            int v = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == (b[j - 2] | 0x20) && (a[i - 2] | 0x20) == cb &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

typedef struct { const char *key; size_t len; const char *best; size_t best_len; int dist; } suggest_state;

static int suggest_one(const char *name, size_t n, int first, void *ud) {
    (void)first;
    suggest_state *s = ud;
    if (n > NAME_MAX_LEN) return 0;
    size_t shorter = n < s->len ? n : s->len;
    int bound = shorter <= 4 ? 1 : shorter <= 8 ? 2 : 3;     /* a third of the length, at least 1 */
    int d = edit_distance(s->key, s->len, name, n);
    if (d > bound && s->len >= 4 && n > s->len && strncmp(name, s->key, s->len) == 0)
        d = bound;                          /* a prefix: "save_best" → "save_best_only" */
    if (d <= bound && d < s->dist) { s->dist = d; s->best = name; s->best_len = n; }
    return 0;
}

const char *lt_opt_suggest(const char *key, const char *known, char *out, size_t n) {
    size_t len = strlen(key);
    if (len == 0 || len > NAME_MAX_LEN || n == 0) return NULL;
    suggest_state s = {key, len, NULL, 0, NAME_MAX_LEN + 1};
    each_name(known, suggest_one, &s);
    if (!s.best) return NULL;
    snprintf(out, n, "%.*s", (int)s.best_len, s.best);
    return out;
}

typedef struct { char buf[600]; size_t used; } name_list;

static int list_first(const char *name, size_t n, int first, void *ud) {
    name_list *l = ud;
    if (!first || l->used >= sizeof l->buf - 1) return 0;
    int w = snprintf(l->buf + l->used, sizeof l->buf - l->used, "%s%.*s", l->used ? ", " : "",
                     (int)n, name);
    if (w > 0) l->used += (size_t)w;
    if (l->used > sizeof l->buf - 1) l->used = sizeof l->buf - 1;
    return 0;
}

int lt_opt_error(lua_State *L, int idx, const char *fn, const char *known, int npos) {
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);                                 /* the value; the key stays for lua_next */
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *k = lua_tolstring(L, -1, &len);
            name_query q = {k, len};
            if (each_name(known, name_is, &q)) continue;
            char sug[NAME_MAX_LEN + 1];
            if (strlen(k) == len && lt_opt_suggest(k, known, sug, sizeof sug)) {
                lua_pushfstring(L, "%s: unknown option '%s' (did you mean '%s'?)", fn, k, sug);
            } else {
                name_list l = {{0}, 0};
                each_name(known, list_first, &l);
                if (l.used)
                    lua_pushfstring(L, "%s: unknown option '%s' (options: %s)", fn, k, l.buf);
                else
                    lua_pushfstring(L, "%s: unknown option '%s' (it takes no options)", fn, k);
            }
        } else if (lua_isinteger(L, -1)) {
            lua_Integer i = lua_tointeger(L, -1);
            if (i >= 1 && i <= npos) continue;
            if (npos > 0)
                lua_pushfstring(L, "%s: unexpected positional argument %I (it takes %d)", fn, i, npos);
            else
                lua_pushfstring(L, "%s: options must be named (name=value), got a value at index %I",
                                fn, i);
        } else {
            lua_pushfstring(L, "%s: option names must be strings, got a %s key", fn,
                            luaL_typename(L, -1));
        }
        lua_remove(L, -2);                             /* the key */
        return 1;
    }
    return 0;
}

void lt_opt_check(lua_State *L, int idx, const char *fn, const char *known, int npos) {
    if (lt_opt_error(L, idx, fn, known, npos)) lua_error(L);
}

int lt_opt_field(lua_State *L, int idx, int pos, const char *names) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        if (pos == 1 && !lua_isnoneornil(L, idx)) {   /* nn.Dropout(0.2), nn.Dense(10) */
            lua_pushvalue(L, idx);
            return 1;
        }
        return 0;
    }
    for (const char *p = names; *p;) {
        size_t n = strcspn(p, "|");
        lua_pushlstring(L, p, n);
        if (lua_rawget(L, idx) != LUA_TNIL) return 1;
        lua_pop(L, 1);
        p += n;
        if (*p) p++;
    }
    if (pos > 0) {
        if (lua_rawgeti(L, idx, pos) != LUA_TNIL) return 1;
        lua_pop(L, 1);
    }
    return 0;
}

/* The group's first (Keras) name, for messages. */
static const char *first_name(const char *names, char *buf, size_t n) {
    snprintf(buf, n, "%.*s", (int)strcspn(names, "|"), names);
    return buf;
}

static void missing(lua_State *L, const char *fn, const char *names) {
    char nm[NAME_MAX_LEN + 1];
    luaL_error(L, "%s: missing argument '%s'", fn, first_name(names, nm, sizeof nm));
}

lua_Integer lt_opt_int(lua_State *L, const char *fn, int idx, int pos, const char *names,
                       lua_Integer def, int required) {
    if (!lt_opt_field(L, idx, pos, names)) {
        if (required) missing(L, fn, names);
        return def;
    }
    int ok;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    char nm[NAME_MAX_LEN + 1];
    if (!ok) luaL_error(L, "%s: '%s' must be an integer, got %s", fn,
                        first_name(names, nm, sizeof nm), luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

lua_Number lt_opt_num(lua_State *L, const char *fn, int idx, int pos, const char *names,
                      lua_Number def) {
    if (!lt_opt_field(L, idx, pos, names)) return def;
    int ok;
    lua_Number v = lua_tonumberx(L, -1, &ok);
    char nm[NAME_MAX_LEN + 1];
    if (!ok) luaL_error(L, "%s: '%s' must be a number, got %s", fn,
                        first_name(names, nm, sizeof nm), luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

void lt_opt_pair(lua_State *L, const char *fn, int idx, int pos, const char *names,
                 lua_Integer def, int required, int64_t *a, int64_t *b) {
    char nm[NAME_MAX_LEN + 1];
    if (!lt_opt_field(L, idx, pos, names)) {
        if (required) missing(L, fn, names);
        *a = *b = def;
        return;
    }
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        int ok1, ok2 = 1;
        *a = lua_tointegerx(L, -2, &ok1);
        *b = lua_isnil(L, -1) ? *a : lua_tointegerx(L, -1, &ok2);
        if (!ok1 || !ok2) luaL_error(L, "%s: '%s' must be an integer or a pair of integers", fn,
                                     first_name(names, nm, sizeof nm));
        lua_pop(L, 3);
        return;
    }
    int ok;
    *a = *b = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "%s: '%s' must be an integer or a pair of integers, got %s", fn,
                        first_name(names, nm, sizeof nm), luaL_typename(L, -1));
    lua_pop(L, 1);
}

const char *lt_opt_str(lua_State *L, const char *fn, int idx, const char *names, const char *def) {
    if (!lt_opt_field(L, idx, 0, names)) return def;
    if (lua_type(L, -1) != LUA_TSTRING) {
        if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) { lua_pop(L, 1); return def; }
        char nm[NAME_MAX_LEN + 1];
        luaL_error(L, "%s: '%s' must be a string, got %s", fn, first_name(names, nm, sizeof nm),
                   luaL_typename(L, -1));
    }
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1);        /* still referenced by the options table */
    return s;
}

int lt_opt_bool(lua_State *L, const char *fn, int idx, const char *names, int def) {
    if (!lt_opt_field(L, idx, 0, names)) return def;
    if (!lua_isboolean(L, -1)) {
        char nm[NAME_MAX_LEN + 1];
        luaL_error(L, "%s: '%s' must be true or false, got %s", fn, first_name(names, nm, sizeof nm),
                   luaL_typename(L, -1));
    }
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

void lt_lua_pushfloat(lua_State *L, float v) {
    char buf[40];
    if (!isfinite(v)) { lua_pushnumber(L, (lua_Number)v); return; }
    for (int p = 1; p <= 9; p++) {          /* 9 significant digits always round-trip */
        snprintf(buf, sizeof buf, "%.*g", p, (double)v);
        if ((float)strtod(buf, NULL) == v) break;
    }
    lua_pushnumber(L, strtod(buf, NULL));
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

/* l_files.c: lunette.safetensors (save/load model files, src/core/safetensors.h) and
 * lunette.json (encode/decode on Debian's libcjson). C heap objects built here (the loaded
 * file, cJSON trees, printed text) live in "box" userdata whose __gc frees them, so a Lua
 * error at any point leaks nothing (STYLE.md section 3, Lua's newprefile). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "lua/l_util.h"

#define ST_BOX_MT "lunette.SafetensorsFile"
#define JSON_BOX_MT "lunette.JsonTree"
#define JSON_ARRAY_MT "lunette.json.array"

/* ---- lunette.safetensors ---- */

typedef struct { lt_safetensors *st; } StBox;

static int stbox__gc(lua_State *L) {
    StBox *b = luaL_checkudata(L, 1, ST_BOX_MT);
    lt_safetensors_free(b->st);
    b->st = NULL;
    return 0;
}

static StBox *push_stbox(lua_State *L) {
    StBox *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->st = NULL;
    if (luaL_newmetatable(L, ST_BOX_MT)) {
        lua_pushcfunction(L, stbox__gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return b;
}

/* Pushes tensors_by_name, metadata_by_key, names (file order) from the box at the top,
 * moving each tensor into its own userdata (the box keeps whatever is not moved yet). */
static int push_contents(lua_State *L, StBox *b) {
    lt_safetensors *st = b->st;
    lua_createtable(L, 0, (int)st->n);
    lua_createtable(L, 0, (int)st->nmeta);
    lua_createtable(L, (int)st->n, 0);
    for (size_t i = 0; i < st->n; i++) {
        lua_pushstring(L, st->names[i]);
        LTensor *u = lua_newuserdatauv(L, sizeof *u, 0);
        u->t = NULL;
        luaL_setmetatable(L, TENSOR_MT);
        u->t = st->tensors[i];
        st->tensors[i] = NULL;
        lua_setfield(L, -5, st->names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    for (size_t i = 0; i < st->nmeta; i++) {
        lua_pushstring(L, st->meta_values[i]);
        lua_setfield(L, -3, st->meta_keys[i]);
    }
    return 3;
}

static int st_load(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    StBox *b = push_stbox(L);
    lt_status s = lt_safetensors_load(path, &b->st);
    if (s == LT_EIO) {
        luaL_pushfail(L);
        lua_pushstring(L, lt_lasterror());
        return 2;
    }
    lt_lua_check(L, s);
    return push_contents(L, b);
}

static int st_parse(lua_State *L) {
    size_t len;
    const char *bytes = luaL_checklstring(L, 1, &len);
    const char *what = luaL_optstring(L, 2, "safetensors data");
    StBox *b = push_stbox(L);
    lt_lua_check(L, lt_safetensors_parse((const unsigned char *)bytes, len, what, &b->st));
    return push_contents(L, b);
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Collects the arguments of save/header into GC-owned arrays: names (sorted, or in the
 * order given by the list at order_idx), tensors, metadata keys and values. */
typedef struct {
    size_t n, nmeta;
    const char **names, **keys, **values;
    const lt_tensor **tensors;
} save_args;

static void check_save_args(lua_State *L, const char *fn, int tidx, int midx, int oidx,
                            save_args *a) {
    luaL_checktype(L, tidx, LUA_TTABLE);
    lua_settop(L, oidx);                  /* scratch arrays go above the arguments */
    if (!lua_isnoneornil(L, midx)) luaL_checktype(L, midx, LUA_TTABLE);
    if (!lua_isnoneornil(L, oidx)) luaL_checktype(L, oidx, LUA_TTABLE);
    memset(a, 0, sizeof *a);
    lua_pushnil(L);
    while (lua_next(L, tidx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s: tensor names must be strings, got a %s key", fn,
                       luaL_typename(L, -2));
        if (!lt_lua_testtensor(L, -1))
            luaL_error(L, "%s: tensors['%s'] is a %s, expected a tensor", fn,
                       lua_tostring(L, -2), luaL_typename(L, -1));
        lua_pop(L, 1);
        a->n++;
    }
    if (!lua_isnoneornil(L, midx)) {
        lua_pushnil(L);
        while (lua_next(L, midx)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "%s: metadata keys must be strings, got a %s key", fn,
                           luaL_typename(L, -2));
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "%s: metadata['%s'] is a %s, expected a string (encode tables "
                           "with lunette.json.encode)", fn, lua_tostring(L, -2),
                           luaL_typename(L, -1));
            size_t kl, vl;
            const char *ks = lua_tolstring(L, -2, &kl), *vs = lua_tolstring(L, -1, &vl);
            if (strlen(ks) != kl || strlen(vs) != vl)      /* C strings would cut it short */
                luaL_error(L, "%s: metadata['%s'] contains a NUL byte", fn, ks);
            lua_pop(L, 1);
            a->nmeta++;
        }
    }
    /* GC-owned scratch arrays; the strings stay alive in the argument tables. */
    a->names = lua_newuserdatauv(L, (a->n + 1) * sizeof *a->names, 0);
    a->tensors = lua_newuserdatauv(L, (a->n + 1) * sizeof *a->tensors, 0);
    a->keys = lua_newuserdatauv(L, (a->nmeta + 1) * sizeof *a->keys, 0);
    a->values = lua_newuserdatauv(L, (a->nmeta + 1) * sizeof *a->values, 0);
    if (lua_isnoneornil(L, oidx)) {
        size_t i = 0;
        lua_pushnil(L);
        while (lua_next(L, tidx)) {
            lua_pop(L, 1);
            a->names[i++] = lua_tostring(L, -1);
        }
        qsort(a->names, a->n, sizeof *a->names, cmp_cstr);
    } else {
        size_t len = (size_t)lua_rawlen(L, oidx);
        if (len != a->n)
            luaL_error(L, "%s: the order list has %d names but there are %d tensors", fn,
                       (int)len, (int)a->n);
        for (size_t i = 0; i < len; i++) {
            lua_rawgeti(L, oidx, (lua_Integer)i + 1);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "%s: order[%d] is a %s, expected a tensor name", fn, (int)i + 1,
                           luaL_typename(L, -1));
            a->names[i] = lua_tostring(L, -1);
            lua_pop(L, 1);                      /* still referenced by the order list */
        }
        /* a name listed twice: the save's own check names it (sorted: n log n, where a
         * pairwise check here took seconds for a model of 8,000 layers) */
    }
    for (size_t i = 0; i < a->n; i++) {
        lt_lua_rawfield(L, tidx, a->names[i]);
        a->tensors[i] = lt_lua_testtensor(L, -1);
        if (!a->tensors[i])
            luaL_error(L, "%s: order names '%s', which is not in the tensors table", fn,
                       a->names[i]);
        lua_pop(L, 1);
    }
    if (!lua_isnoneornil(L, midx)) {
        size_t i = 0;
        lua_pushnil(L);
        while (lua_next(L, midx)) {
            a->keys[i] = lua_tostring(L, -2);
            a->values[i++] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        /* deterministic files: metadata in key order */
        size_t m = a->nmeta;
        const char **pairs = lua_newuserdatauv(L, (2 * m + 1) * sizeof *pairs, 0);
        for (size_t k = 0; k < m; k++) pairs[k] = a->keys[k];
        qsort(pairs, m, sizeof *pairs, cmp_cstr);
        for (size_t k = 0; k < m; k++) {
            lt_lua_rawfield(L, midx, pairs[k]);
            a->keys[k] = pairs[k];
            a->values[k] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
}

static int st_save(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    save_args a;
    check_save_args(L, "safetensors.save", 2, 3, 4, &a);
    lt_status s = lt_safetensors_save(path, a.n, a.names, a.tensors, a.nmeta, a.keys, a.values);
    if (s == LT_EIO) {
        luaL_pushfail(L);
        lua_pushstring(L, lt_lasterror());
        return 2;
    }
    lt_lua_check(L, s);
    lua_pushboolean(L, 1);
    return 1;
}

static int st_serialize(lua_State *L) {
    save_args a;
    check_save_args(L, "safetensors.serialize", 1, 2, 3, &a);
    size_t hlen;
    unsigned char *hdr = lt_safetensors_header(a.n, a.names, a.tensors, a.nmeta, a.keys,
                                               a.values, &hlen);
    if (!hdr) return luaL_error(L, "%s", lt_lasterror());
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    /* luaL_addlstring may raise on memory errors: copy the header out first. */
    lua_pushlstring(L, (const char *)hdr, hlen);
    free(hdr);
    luaL_addvalue(&B);
    for (size_t i = 0; i < a.n; i++)
        luaL_addlstring(&B, (const char *)a.tensors[i]->data,
                        (size_t)a.tensors[i]->numel * sizeof(float));
    luaL_pushresult(&B);
    return 1;
}

static const lt_reg st_funcs[] = {
    {"save", st_save,
     "safetensors.save(path, tensors, metadata [, order]) -> true | nil, message\n\n"
     "Writes tensors (a table name -> tensor) and metadata (a table key -> string, may be\n"
     "nil) to path as a safetensors file (F32, little-endian), readable by any safetensors\n"
     "reader. Tensors are stored in sorted name order, or in the order of the optional list\n"
     "of names `order`; metadata keys are sorted. The write is atomic: a temporary file in\n"
     "the same directory is fsync'ed and renamed over path, so a failed or interrupted save\n"
     "leaves any previous file intact. File-system failures (missing directory, disk full,\n"
     "read-only) return nil and a message naming the path; bad arguments raise.\n"
     "Example:\n  safetensors.save('w.safetensors', {w = tensor{{1, 2}}, b = tensor{0}},\n"
     "                   {note = 'hello'})"},
    {"load", st_load,
     "safetensors.load(path) -> tensors, metadata, names | nil, message\n\n"
     "Reads a safetensors file: tensors is a table name -> tensor, metadata a table\n"
     "key -> string (from __metadata__), names the tensor names in header order. Only F32\n"
     "tensors are supported. A missing, unreadable or non-regular file returns nil and a\n"
     "message; a corrupt file (bad header, wrong dtype, offsets out of range, overlapping\n"
     "or leaving gaps, trailing data, ...) raises an error naming the file and the problem.\n"
     "Example:\n  local t, meta = safetensors.load('w.safetensors'); print(t.w, meta.note)"},
    {"parse", st_parse,
     "safetensors.parse(bytes [, name]) -> tensors, metadata, names\n\n"
     "Like safetensors.load, from a string holding a whole file's bytes; name (default\n"
     "'safetensors data') is used in error messages. Corrupt data raises.\n"
     "Example:\n  local t = safetensors.parse(io.open('w.safetensors', 'rb'):read('a'))"},
    {"serialize", st_serialize,
     "safetensors.serialize(tensors, metadata [, order]) -> string\n\n"
     "The exact bytes safetensors.save would write, as a string (arguments as for save).\n"
     "Example:\n  local bytes = safetensors.serialize({x = tensor{1, 2}})"},
    {NULL, NULL, NULL}};

int luaopen_lunette_safetensors(lua_State *L) {
    lua_newtable(L);
    lt_lua_setfuncs(L, "safetensors", st_funcs);
    return 1;
}

/* ---- lunette.json ---- */

#define JSON_MAX_DEPTH 500

typedef struct {
    cJSON *root;                       /* a holder array whose only child is the value */
    char *text;                        /* printed text awaiting lua_pushstring */
} JsonBox;

static int jsonbox__gc(lua_State *L) {
    JsonBox *b = luaL_checkudata(L, 1, JSON_BOX_MT);
    cJSON_Delete(b->root);
    cJSON_free(b->text);
    b->root = NULL;
    b->text = NULL;
    return 0;
}

static JsonBox *push_jsonbox(lua_State *L) {
    JsonBox *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->root = NULL;
    b->text = NULL;
    if (luaL_newmetatable(L, JSON_BOX_MT)) {
        lua_pushcfunction(L, jsonbox__gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return b;
}

typedef struct {
    lua_State *L;
    int seen;                          /* stack index of the table set being visited */
    char path[256];                    /* where we are, for messages: value.layers[2].units */
} enc_state;

static int is_array_marked(lua_State *L, int idx) {
    if (!lua_getmetatable(L, idx)) return 0;
    luaL_getmetatable(L, JSON_ARRAY_MT);
    int r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return r;
}

static void attach(lua_State *L, enc_state *E, cJSON *parent, const char *key, cJSON *item) {
    if (!item) luaL_error(L, "json.encode: out of memory at %s", E->path);
    if (key) cJSON_AddItemToObject(parent, key, item);
    else cJSON_AddItemToArray(parent, item);
}

static void encode_value(enc_state *E, int idx, cJSON *parent, const char *key, int depth);

static void encode_table(enc_state *E, int idx, cJSON *parent, const char *key, int depth) {
    lua_State *L = E->L;
    if (depth > JSON_MAX_DEPTH)
        luaL_error(L, "json.encode: tables nested deeper than %d levels at %s", JSON_MAX_DEPTH,
                   E->path);
    lua_pushvalue(L, idx);
    if (lua_rawget(L, E->seen) != LUA_TNIL)
        luaL_error(L, "json.encode: cycle: the table at %s contains itself", E->path);
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, E->seen);
    luaL_checkstack(L, 8, "json.encode: nesting too deep");
    /* Classify: all keys 1..n → array; all keys strings → object; else an error. */
    lua_Integer count = 0, nint = 0, maxint = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (lua_type(L, -1) == LUA_TSTRING) continue;
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            nint++;
            if (lua_tointeger(L, -1) > maxint) maxint = lua_tointeger(L, -1);
            continue;
        }
        if (lua_type(L, -1) == LUA_TNUMBER)
            luaL_error(L, "json.encode: cannot encode the number key %s at %s (only string "
                       "keys and array positions 1..n)", lua_tostring(L, -1), E->path);
        luaL_error(L, "json.encode: cannot encode a key of type %s at %s", luaL_typename(L, -1),
                   E->path);
    }
    size_t plen = strlen(E->path);
    if (nint > 0 && nint < count)
        luaL_error(L, "json.encode: the table at %s mixes array positions and string keys",
                   E->path);
    if (nint > 0 || (count == 0 && is_array_marked(L, idx))) {
        if (maxint != nint)
            luaL_error(L, "json.encode: the table at %s is a sparse array (%d items, largest "
                       "index %d)", E->path, (int)nint, (int)maxint);
        cJSON *arr = cJSON_CreateArray();
        attach(L, E, parent, key, arr);
        for (lua_Integer i = 1; i <= nint; i++) {
            snprintf(E->path + plen, sizeof E->path - plen, "[%lld]", (long long)i);
            lua_rawgeti(L, idx, i);
            encode_value(E, lua_gettop(L), arr, NULL, depth + 1);
            lua_pop(L, 1);
        }
    } else {
        /* Sorted keys: the same table always gives the same text (reproducible files). */
        const char **keys = lua_newuserdatauv(L, (size_t)(count + 1) * sizeof *keys, 0);
        lua_Integer k = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            size_t kl;
            keys[k] = lua_tolstring(L, -1, &kl);
            if (strlen(keys[k]) != kl)
                luaL_error(L, "json.encode: a key at %s contains a zero byte", E->path);
            k++;
        }
        qsort(keys, (size_t)count, sizeof *keys, cmp_cstr);
        cJSON *obj = cJSON_CreateObject();
        attach(L, E, parent, key, obj);
        for (lua_Integer i = 0; i < count; i++) {
            snprintf(E->path + plen, sizeof E->path - plen, ".%s", keys[i]);
            lt_lua_rawfield(L, idx, keys[i]);
            encode_value(E, lua_gettop(L), obj, keys[i], depth + 1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);                                   /* keys */
    }
    E->path[plen] = '\0';
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, E->seen);
}

static void encode_value(enc_state *E, int idx, cJSON *parent, const char *key, int depth) {
    lua_State *L = E->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        attach(L, E, parent, key, cJSON_CreateNull());
        return;
    case LUA_TBOOLEAN:
        attach(L, E, parent, key, cJSON_CreateBool(lua_toboolean(L, idx)));
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {                     /* exact, not through a double */
            char b[32];
            snprintf(b, sizeof b, "%lld", (long long)lua_tointeger(L, idx));
            attach(L, E, parent, key, cJSON_CreateRaw(b));
        } else {
            double d = lua_tonumber(L, idx);
            if (isnan(d)) luaL_error(L, "json.encode: cannot encode NaN at %s", E->path);
            if (isinf(d))
                luaL_error(L, "json.encode: cannot encode %s at %s", d > 0 ? "inf" : "-inf",
                           E->path);
            /* The shortest text that reads back as exactly d (cJSON's own printing may
             * drop the last bit), so decode(encode(x)) == x and encoding is idempotent. */
            char b[40];
            for (int prec = 15; prec <= 17; prec++) {
                snprintf(b, sizeof b, "%.*g", prec, d);
                if (strtod(b, NULL) == d) break;
            }
            attach(L, E, parent, key, cJSON_CreateRaw(b));
        }
        return;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (strlen(s) != len)
            luaL_error(L, "json.encode: the string at %s contains a zero byte", E->path);
        attach(L, E, parent, key, cJSON_CreateString(s));
        return;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {            /* json.null */
            attach(L, E, parent, key, cJSON_CreateNull());
            return;
        }
        break;
    case LUA_TTABLE:
        encode_table(E, idx, parent, key, depth);
        return;
    default:
        break;
    }
    const char *tn = luaL_typename(L, idx);
    if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) tn = lua_tostring(L, -1);
    luaL_error(L, "json.encode: cannot encode a %s at %s", tn, E->path);
}

static int json_encode(lua_State *L) {
    luaL_checkany(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
    lt_opt_check(L, 2, "json.encode", "pretty", 0);
    int pretty = lt_opt_bool(L, "json.encode", 2, "pretty", 0);
    lua_settop(L, 1);
    JsonBox *b = push_jsonbox(L);                        /* 2 */
    lua_newtable(L);                                     /* 3: tables being visited */
    enc_state E = {L, 3, "value"};
    if (!(b->root = cJSON_CreateArray())) return luaL_error(L, "json.encode: out of memory");
    encode_value(&E, 1, b->root, NULL, 0);
    b->text = pretty ? cJSON_Print(b->root->child) : cJSON_PrintUnformatted(b->root->child);
    if (!b->text) return luaL_error(L, "json.encode: out of memory");
    lua_pushstring(L, b->text);
    return 1;
}

static void decode_value(lua_State *L, const cJSON *v) {
    luaL_checkstack(L, 4, "json.decode: nesting too deep");
    if (cJSON_IsNull(v)) {
        lua_pushlightuserdata(L, NULL);
    } else if (cJSON_IsBool(v)) {
        lua_pushboolean(L, cJSON_IsTrue(v));
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) <= 9007199254740992.0 && !(d == 0 && signbit(d)))
            lua_pushinteger(L, (lua_Integer)d);
        else lua_pushnumber(L, d);
    } else if (cJSON_IsString(v)) {
        lua_pushstring(L, v->valuestring);
    } else if (cJSON_IsArray(v)) {
        lua_createtable(L, cJSON_GetArraySize(v), 0);
        luaL_setmetatable(L, JSON_ARRAY_MT);
        lua_Integer i = 0;
        for (const cJSON *c = v->child; c; c = c->next) {
            decode_value(L, c);
            lua_rawseti(L, -2, ++i);
        }
    } else {
        lua_newtable(L);
        for (const cJSON *c = v->child; c; c = c->next) {
            lua_pushstring(L, c->string);
            decode_value(L, c);
            lua_rawset(L, -3);
        }
    }
}

static int json_decode(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    JsonBox *b = push_jsonbox(L);
    const char *end = NULL;
    b->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!b->root) {
        size_t at = (end && end >= text && end <= text + len) ? (size_t)(end - text) : 0;
        int line = 1;
        for (size_t i = 0; i < at; i++) line += text[i] == '\n';
        char msg[160];
        snprintf(msg, sizeof msg, "json.decode: invalid JSON at byte %zu (line %d) near '%.20s'",
                 at + 1, line, text + at);
        return luaL_error(L, "%s", msg);
    }
    for (const char *p = end; p < text + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return luaL_error(L, "json.decode: unexpected text after the JSON value at byte %d",
                              (int)(p - text) + 1);
    decode_value(L, b->root);
    return 1;
}

static int json_array(lua_State *L) {
    if (lua_isnoneornil(L, 1)) lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    luaL_setmetatable(L, JSON_ARRAY_MT);
    return 1;
}

static const lt_reg json_funcs[] = {
    {"encode", json_encode,
     "json.encode(value [, {pretty = false}]) -> string\n\n"
     "JSON text for value: tables with string keys become objects (keys sorted, so the\n"
     "output is reproducible), sequences 1..n become arrays, integers are written exactly,\n"
     "strings and booleans as such, nil and json.null as null. An empty table is {} unless\n"
     "marked with json.array. Raises on cycles, functions, userdata, NaN and inf, mixed or sparse\n"
     "keys, and strings with zero bytes, naming where (e.g. value.layers[2].units).\n"
     "Example:\n  json.encode{name = 'dense', units = 10, shape = {28, 28, 1}}\n"
     "  --> {\"name\":\"dense\",\"shape\":[28,28,1],\"units\":10}"},
    {"decode", json_decode,
     "json.decode(text) -> value\n\n"
     "Parses JSON text: objects become tables, arrays sequences (marked with json.array so\n"
     "they encode back as arrays, even when empty), integral numbers integers, and null\n"
     "becomes the sentinel json.null (not nil, so arrays keep their length). Invalid JSON\n"
     "or text after the value raises an error giving the byte position.\n"
     "Example:\n  json.decode('{\"units\": 10, \"shape\": [28, 28]}').shape[2]  --> 28"},
    {"array", json_array,
     "json.array([t]) -> t\n\n"
     "Marks table t (default a new one) as a JSON array, so that an empty t encodes as []\n"
     "instead of {}. Returns t.\nExample:\n  json.encode{items = json.array()}  --> {\"items\":[]}"},
    {NULL, NULL, NULL}};

int luaopen_lunette_json(lua_State *L) {
    lua_newtable(L);
    lt_lua_setfuncs(L, "json", json_funcs);
    lua_pushlightuserdata(L, NULL);
    lt_lua_sethelp(L, -1, "json.null",
                   "json.null\n\nThe value json.decode gives for JSON null (a light userdata, as "
                   "in lua-cjson);\njson.encode writes it as null.");
    lua_setfield(L, -2, "null");
    luaL_newmetatable(L, JSON_ARRAY_MT);
    lua_pushstring(L, "json.array");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    return 1;
}

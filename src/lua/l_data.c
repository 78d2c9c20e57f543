/* l_data.c: the `data` module's C half: file readers (data.idx, data.cifar10_batch),
 * the batch iterator (data.batches, on lt_tensor_gather_rows), data.take,
 * data.one_hot and data.augment. data.load, split, normalize and scale live in
 * lua/lunette/datasets.lua. Positions are 1-based, class ids 0-based. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "data/readers.h"
#include "lua/l_data.h"

/* ---- readers ---- */

/* A path that is not a readable regular file (missing, unreadable, a directory, a FIFO
 * or a device) is an environment failure, as for nn.load: pushes nil and "path: reason"
 * (io.open's form) and returns 2; 0 when path can be read. What the file holds is checked
 * by the reader, which raises on anything truncated or corrupt. */
static int unreadable(lua_State *L, const char *path) {
    struct stat st;
    const char *why = NULL;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) why = strerror(errno);
    else if (S_ISDIR(st.st_mode)) why = "is a directory, not a file";
    else if (!S_ISREG(st.st_mode)) why = "not a regular file";
    if (!why) return 0;
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, why);
    return 2;
}

static int data_idx(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    if (unreadable(L, path)) return 2;
    lt_tensor *t;
    lt_lua_check(L, lt_idx_load(path, &t));
    lt_lua_pushtensor(L, t);
    return 1;
}

static int data_cifar10_batch(lua_State *L) {
    const char *paths[64];
    int n = 0;
    if (lua_istable(L, 1)) {
        lua_Integer k = (lua_Integer)lua_rawlen(L, 1);
        luaL_argcheck(L, k >= 1 && k <= 64, 1, "expected 1 to 64 paths");
        for (lua_Integer i = 1; i <= k; i++) {
            lua_rawgeti(L, 1, i);
            if (!lua_isstring(L, -1)) luaL_error(L, "data.cifar10_batch: path %d is not a string", (int)i);
            paths[n++] = lua_tostring(L, -1);     /* stays alive: the table holds it */
            lua_pop(L, 1);
        }
    } else {
        paths[n++] = luaL_checkstring(L, 1);
    }
    for (int i = 0; i < n; i++)
        if (unreadable(L, paths[i])) return 2;
    lt_tensor *img, *lab;
    lt_lua_check(L, lt_cifar10_load(paths, n, &img, &lab));
    LTensor *u = lua_newuserdatauv(L, sizeof *u, 0);   /* box both before raising anything */
    u->t = img;
    luaL_setmetatable(L, TENSOR_MT);
    u = lua_newuserdatauv(L, sizeof *u, 0);
    u->t = lab;
    luaL_setmetatable(L, TENSOR_MT);
    return 2;
}

static int data_stat(lua_State *L) {                  /* data._stat(path) → "file"|"directory"|nil */
    struct stat st;
    if (stat(luaL_checkstring(L, 1), &st) != 0) return 0;
    lua_pushstring(L, S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : "other");
    return 1;
}

/* ---- batches ---- */

#define BATCHES_MT "lunette.DataBatches"

typedef struct {
    int64_t n, bs, pos, batch;
    int fresh;                 /* 1: new tensors per batch instead of reused buffers */
    int64_t idx[];             /* the epoch's order, 0-based */
} batch_state;

/* Upvalues: 1 state, 2 x, 3 y (or nil), 4 x buffer, 5 y buffer (or nil). */
static int batches_next(lua_State *L) {
    batch_state *st = lua_touserdata(L, lua_upvalueindex(1));
    if (st->pos >= st->n) return 0;
    int64_t m = st->n - st->pos < st->bs ? st->n - st->pos : st->bs;
    const int64_t *idx = st->idx + st->pos;
    st->pos += m;
    st->batch++;
    for (int k = 0; k < 2; k++) {
        if (lua_isnil(L, lua_upvalueindex(2 + k))) { lua_pushnil(L); continue; }
        lt_tensor *src = lt_lua_checktensor(L, lua_upvalueindex(2 + k));
        lt_tensor *buf = st->fresh ? NULL : lt_lua_checktensor(L, lua_upvalueindex(4 + k));
        if (st->fresh || m < st->bs) {             /* a new tensor (or a view of the buffer) */
            lt_tensor *t = st->fresh ? NULL : lt_tensor_narrow(buf, 0, 0, m);
            if (st->fresh) {
                int64_t shape[LT_MAX_DIMS];
                memcpy(shape, src->shape, sizeof shape);
                shape[0] = m;
                t = lt_tensor_empty(src->ndim, shape);
            }
            lt_lua_pushtensor(L, t);
            buf = t;
        } else {
            lua_pushvalue(L, lua_upvalueindex(4 + k));
        }
        lt_lua_check(L, lt_tensor_gather_rows(src, idx, m, buf));
    }
    lua_pushinteger(L, st->batch);
    return 3;
}

static int data_batches(lua_State *L) {
    lt_tensor *x = lt_lua_checktensor(L, 1);
    lt_tensor *y = lua_isnoneornil(L, 2) ? NULL : lt_lua_checktensor(L, 2);
    int o = 3;
    const char *fn = "data.batches";
    if (!lua_isnoneornil(L, o)) luaL_checktype(L, o, LUA_TTABLE);
    lt_opt_check(L, o, fn, "batch_size shuffle copy seed", 0);
    lua_Integer bs = lt_opt_int(L, fn, o, 0, "batch_size", 32, 0);
    int shuffle = lt_opt_bool(L, fn, o, "shuffle", 1);
    int fresh = lt_opt_bool(L, fn, o, "copy", 0);
    int has_seed = lt_opt_field(L, o, 0, "seed");
    if (has_seed) lua_pop(L, 1);
    lua_Integer seed = lt_opt_int(L, fn, o, 0, "seed", 0, 0);
    luaL_argcheck(L, bs >= 1, o, "batch_size must be positive");
    if (x->ndim < 1) luaL_error(L, "data.batches: x must have a sample dimension");
    int64_t n = x->shape[0];
    if (y && (y->ndim < 1 || y->shape[0] != n))
        luaL_error(L, "data.batches: x has %I samples, y has %I", (lua_Integer)n,
                   (lua_Integer)(y->ndim ? y->shape[0] : 1));
    if (bs > n) bs = n;
    lua_settop(L, 2);
    if (!y) { lua_pushnil(L); lua_replace(L, 2); }
    batch_state *st = lua_newuserdatauv(L, sizeof *st + (size_t)n * sizeof(int64_t), 0); /* 3 */
    st->n = n; st->bs = bs; st->pos = 0; st->batch = 0; st->fresh = fresh;
    for (int64_t i = 0; i < n; i++) st->idx[i] = i;
    if (shuffle) {
        lt_rng r;
        if (has_seed) lt_rng_seed(&r, (uint64_t)seed);
        lt_rng_shuffle(has_seed ? &r : &lt_global_rng, st->idx, n);
    }
    lua_pushvalue(L, 1);                                                          /* 4: x */
    lua_pushvalue(L, 2);                                                          /* 5: y */
    for (int k = 0; k < 2; k++) {                                                 /* 6, 7 */
        lt_tensor *src = k ? y : x;
        if (!src || fresh) { lua_pushnil(L); continue; }
        int64_t shape[LT_MAX_DIMS];
        memcpy(shape, src->shape, sizeof shape);
        shape[0] = bs;
        lt_lua_pushtensor(L, lt_tensor_empty(src->ndim, shape));
    }
    lua_pushcclosure(L, batches_next, 5);
    return 1;
}

/* ---- rows, labels ---- */

static const char *num(double v, char *buf) {          /* %g for messages (buf: 32 chars) */
    snprintf(buf, 32, "%g", v);
    return buf;
}

/* Reads 1-based row positions from a table or 1-d tensor at idx into a new userdata
 * array (GC-owned); returns it and sets *n. */
static int64_t *check_positions(lua_State *L, int idx, int64_t rows, int64_t *n, const char *fn) {
    lt_tensor *t = lt_lua_testtensor(L, idx);
    if (!t) luaL_checktype(L, idx, LUA_TTABLE);
    int64_t k = t ? t->numel : (int64_t)lua_rawlen(L, idx);
    if (k < 1) luaL_error(L, "%s: no positions given", fn);
    int64_t *p = lua_newuserdatauv(L, (size_t)k * sizeof(int64_t), 0);
    for (int64_t i = 0; i < k; i++) {
        double v;
        if (t) v = t->data[i];
        else {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            int ok;
            v = (double)lua_tonumberx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok) luaL_error(L, "%s: position %I is not a number", fn, (lua_Integer)i + 1);
        }
        if (!(v >= 1 && v <= (double)rows) || v != (double)(int64_t)v)
            {
            char b[32];
            luaL_error(L, "%s: position %s is outside 1..%I", fn, num(v, b), (lua_Integer)rows);
        }
        p[i] = (int64_t)v - 1;
    }
    *n = k;
    return p;
}

static int data_take(lua_State *L) {
    lt_tensor *x = lt_lua_checktensor(L, 1);
    int64_t n;
    int64_t *p = check_positions(L, 2, x->shape[0], &n, "data.take");
    int64_t shape[LT_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[0] = n;
    lt_tensor *r = lt_lua_pushtensor(L, lt_tensor_empty(x->ndim, shape));
    lt_lua_check(L, lt_tensor_gather_rows(x, p, n, r));
    return 1;
}

static int data_one_hot(lua_State *L) {
    lt_tensor *y = lt_lua_totensor(L, 1, "data.one_hot");
    if (!(y->ndim == 1 || (y->ndim == 2 && y->shape[1] == 1)))
        luaL_error(L, "data.one_hot: expected a 1-d tensor of class ids, got %d dimensions", y->ndim);
    int64_t n = y->shape[0];
    double top = -1;
    for (int64_t i = 0; i < n; i++) {
        float v = y->data[i];
        if (!(v >= 0 && v < 1e9f) || v != (float)(int64_t)v)
            {
            char b[32];
            luaL_error(L, "data.one_hot: label %s at position %I is not a class id (0, 1, 2, ...)",
                       num(v, b), (lua_Integer)i + 1);
        }
        if (v > top) top = v;
    }
    lua_Integer k = luaL_optinteger(L, 2, (lua_Integer)top + 1);
    luaL_argcheck(L, k >= 1, 2, "the class count must be positive");
    if (top >= (double)k)
        {
        char b[32];
        luaL_error(L, "data.one_hot: label %s is outside 0..%I", num(top, b), (lua_Integer)k - 1);
    }
    lt_tensor *r = lt_lua_pushtensor(L, lt_tensor_new2(n, k));
    for (int64_t i = 0; i < n; i++) r->data[i * k + (int64_t)y->data[i]] = 1;
    return 1;
}

/* ---- augmentation ---- */

void lt_lua_factor(lua_State *L, int idx, const char *key, const char *fn, float *r, float def) {
    int t = lua_istable(L, idx) ? lt_lua_rawfield(L, idx, key) : LUA_TNIL;
    if (t == LUA_TNIL) { r[0] = -def; r[1] = def; }
    else if (t == LUA_TNUMBER) {
        float f = (float)lua_tonumber(L, -1);
        r[0] = -f; r[1] = f;
        if (f < 0) luaL_error(L, "%s: %s factor %f must not be negative (use {lo, hi} for a "
                              "one-sided range)", fn, key, (lua_Number)f);
    } else if (t == LUA_TTABLE && lua_rawlen(L, -1) == 2) {
        for (int i = 0; i < 2; i++) {
            lua_rawgeti(L, -1, i + 1);
            if (!lua_isnumber(L, -1)) luaL_error(L, "%s: %s range must be two numbers", fn, key);
            r[i] = (float)lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        if (r[0] > r[1]) luaL_error(L, "%s: %s range {%f, %f} has lo > hi", fn, key,
                                    (lua_Number)r[0], (lua_Number)r[1]);
    } else {
        luaL_error(L, "%s: %s must be a number or a {lo, hi} pair", fn, key);
    }
    if (lua_istable(L, idx)) lua_pop(L, 1);
}

void lt_lua_fill_opts(lua_State *L, int idx, const char *fn, lt_augment_opts *o) {
    const char *fill = lt_opt_str(L, fn, idx, "fill_mode|fill", "reflect");
    if (!strcmp(fill, "reflect")) o->fill = LT_FILL_REFLECT;
    else if (!strcmp(fill, "wrap")) o->fill = LT_FILL_WRAP;
    else if (!strcmp(fill, "nearest")) o->fill = LT_FILL_NEAREST;
    else if (!strcmp(fill, "constant")) o->fill = LT_FILL_CONSTANT;
    else luaL_error(L, "%s: fill_mode must be 'reflect', 'wrap', 'nearest' or 'constant', "
                    "not '%s'", fn, fill);
    o->fill_value = (float)lt_opt_num(L, fn, idx, 0, "fill_value", 0);
    const char *in = lt_opt_str(L, fn, idx, "interpolation", "bilinear");
    if (!strcmp(in, "bilinear")) o->interp = LT_INTERP_BILINEAR;
    else if (!strcmp(in, "nearest")) o->interp = LT_INTERP_NEAREST;
    else luaL_error(L, "%s: interpolation must be 'bilinear' or 'nearest', not '%s'", fn, in);
}

int lt_lua_flip_mode(lua_State *L, const char *mode, const char *fn) {
    if (!strcmp(mode, "horizontal")) return LT_FLIP_H;
    if (!strcmp(mode, "vertical")) return LT_FLIP_V;
    if (!strcmp(mode, "horizontal_and_vertical") || !strcmp(mode, "both"))
        return LT_FLIP_H | LT_FLIP_V;
    if (!strcmp(mode, "none")) return 0;
    return luaL_error(L, "%s: flip must be 'horizontal', 'vertical' or 'horizontal_and_vertical', "
                      "not '%s'", fn, mode);
}

static int data_augment(lua_State *L) {
    const char *fn = "data.augment";
    lt_tensor *x = lt_lua_checktensor(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
    lt_opt_check(L, 2, fn, "flip rotation zoom zoom_width translation translation_width "
                 "fill_mode|fill fill_value interpolation seed", 0);
    lt_augment_opts o;
    lt_augment_defaults(&o);
    o.flip = lt_lua_flip_mode(L, lt_opt_str(L, fn, 2, "flip", "none"), fn);
    lt_lua_factor(L, 2, "rotation", fn, o.rotation, 0);
    lt_lua_factor(L, 2, "zoom", fn, o.zoom_h, 0);
    o.zoom_keep_aspect = 1;
    if (lua_istable(L, 2) && lt_lua_rawfield(L, 2, "zoom_width") != LUA_TNIL) {
        lua_pop(L, 1);
        o.zoom_keep_aspect = 0;
        lt_lua_factor(L, 2, "zoom_width", fn, o.zoom_w, 0);
    } else if (lua_istable(L, 2)) lua_pop(L, 1);
    lt_lua_factor(L, 2, "translation", fn, o.translate_h, 0);
    memcpy(o.translate_w, o.translate_h, sizeof o.translate_w);
    if (lua_istable(L, 2) && lt_lua_rawfield(L, 2, "translation_width") != LUA_TNIL) {
        lua_pop(L, 1);
        lt_lua_factor(L, 2, "translation_width", fn, o.translate_w, 0);
    } else if (lua_istable(L, 2)) lua_pop(L, 1);
    lt_lua_fill_opts(L, 2, fn, &o);
    int has_seed = lua_istable(L, 2) && lt_lua_rawfield(L, 2, "seed") != LUA_TNIL;
    if (lua_istable(L, 2)) lua_pop(L, 1);
    lt_rng r;
    if (has_seed) lt_rng_seed(&r, (uint64_t)lt_opt_int(L, fn, 2, 0, "seed", 0, 0));
    if (x->ndim != 3 && x->ndim != 4) lt_lua_check(L, lt_augment(x, x, &o, NULL)); /* the message */
    lt_tensor *y = lt_lua_pushtensor(L, lt_tensor_empty(x->ndim, x->shape));
    lt_lua_check(L, lt_augment(x, y, &o, has_seed ? &r : NULL));
    return 1;
}

/* ---- registration ---- */

static const lt_reg data_funcs[] = {
    {"idx", data_idx, "data.idx(path)\n\nReads an IDX file (the MNIST / Fashion-MNIST format), "
     "raw or gzip-compressed (told\napart by its first bytes, not its name), of any IDX type "
     "(unsigned/signed byte,\nshort, int, float, double), into a float tensor of the file's "
     "shape.\nA path that is not a readable file (missing, unreadable, a directory or device) "
     "returns nil\nand a message, as io.open does; a truncated or corrupt file raises an error "
     "naming it.\n"
     "Example: x = data.idx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz')  "
     "--> 10000x28x28"},
    {"cifar10_batch", data_cifar10_batch, "data.cifar10_batch(path or {path, ...}) → images, "
     "labels\n\nReads CIFAR-10 binary batches (records of 1 label byte + 1024 red, 1024 green, "
     "1024 blue\nbytes). images: N×32×32×3 floats 0..255 (channels last); labels: a 1-d tensor "
     "of\n0-based class ids. Several paths are read into one pair of tensors, in order. A "
     "path that\nis not a readable file returns nil and a message; a corrupt file raises.\n"
     "Example: x, y = data.cifar10_batch('datasets/cifar10/test_batch.bin')"},
    {"batches", data_batches, "data.batches(x [, y] [, {batch_size=32, shuffle=true, seed, "
     "copy=false}])\n\nAn iterator over one epoch of mini-batches: for xb, yb, i in "
     "data.batches(x, y) do ... end.\nEvery sample appears exactly once per epoch (the last "
     "batch may be smaller). With\nshuffle the order is a fresh permutation from the global "
     "generator, or from `seed`.\nxb and yb are REUSED buffers, overwritten by the next batch "
     "(copy them, or pass\ncopy=true, to keep one). y may be nil; i is the 1-based batch number.\n"
     "Example: for xb, yb in data.batches(x, y, {batch_size=64}) do model:train_on_batch(xb, yb) end"},
    {"take", data_take, "data.take(x, positions)\n\nA new tensor of the rows of x at the "
     "1-based positions (a table or 1-d tensor).\nExample: first = data.take(x, {1, 2, 3})"},
    {"one_hot", data_one_hot, "data.one_hot(y [, k])\n\nAn N×k tensor with a 1 in column y[i] "
     "of row i, for 0-based class ids y (a 1-d tensor\nor table). k defaults to max(y) + 1.\n"
     "Example: data.one_hot({0, 2, 1}, 3)  --> {{1,0,0},{0,0,1},{0,1,0}}"},
    {"augment", data_augment, "data.augment(x, {flip, rotation, zoom, translation, seed, ...}) "
     "→ new tensor\n\nRandomly transformed copies of images x (N×H×W×C or H×W×C), each image "
     "drawn\nindependently, with Keras's meaning of the factors:\n"
     "  flip='horizontal'|'vertical'|'horizontal_and_vertical': each axis flips with p=1/2\n"
     "  rotation=f: angle in [-f, f] of a full turn (0.25 = 90°; positive = counter-clockwise)\n"
     "  zoom=f: scale in [1-f, 1+f] (positive zooms out), aspect kept unless zoom_width=f2\n"
     "  translation=f: shift in [-f, f] of the height and width (translation_width=f2 for "
     "the width)\n  A {lo, hi} pair instead of f gives the range directly.\n"
     "  fill='reflect' (default) | 'wrap' | 'nearest' | 'constant' (with fill_value=0);\n"
     "    fill_mode= is accepted too (Keras's name)\n"
     "  interpolation='bilinear' (default) | 'nearest'\n"
     "  seed=n: a private generator (else the global one, see lunette.seed)\n"
     "The transforms are composed (flip, rotate, zoom, shift) and sampled once.\n"
     "Example: xa = data.augment(x, {flip='horizontal', rotation=0.1, zoom=0.1, translation=0.1})"},
    {"_stat", data_stat, NULL},
    {NULL, NULL, NULL}};

int luaopen_lunette_data(lua_State *L) {
    lua_newtable(L);
    lt_lua_setfuncs(L, "data", data_funcs);
    lt_lua_sethelp(L, -1, "data", "data: datasets, batches and augmentation.\n\n"
                   "Load: data.load('fashion_mnist' | 'mnist' | 'cifar10' [, {path}]) → {x_train, "
                   "y_train, x_test, y_test, classes}\nRead: data.idx(path), "
                   "data.cifar10_batch(path)\nPipeline: data.batches, data.split, data.take, "
                   "data.scale, data.normalize, data.one_hot\nAugment: data.augment, and the "
                   "layers nn.RandomFlip, nn.RandomRotation, nn.RandomZoom, nn.RandomTranslation");
    return 1;
}

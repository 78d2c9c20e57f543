/* l_augment.c: the augmentation layers nn.RandomFlip, nn.RandomRotation, nn.RandomZoom
 * and nn.RandomTranslation (src/nn/augment_layers.c), added to the nn table by this
 * module's opener (listed after nn in submodules[]). Arguments follow Keras: factors are
 * fractions (a number f means [-f, f], a pair {lo, hi} the range itself), fill_mode
 * 'reflect', interpolation 'bilinear'; active only in training (model:fit, layer:train()). */
#include <string.h>

#include "lua/l_data.h"
#include "lua/l_nn.h"
#include "nn/augment_layers.h"

/* Options every augmentation layer takes besides its own. */
#define AUG_OPTS " seed name input_shape class"
#define FILL_OPTS " fill_mode|fill fill_value interpolation"

/* Builds a normalised options table at the top of the stack from the constructor's
 * arguments: nn.X(a [, b]) or nn.X{a, b, key=...} put a and b under key1 and key2. Checks
 * the keys against known first (positional: 1 with key1, 2 with key2). */
static int normalise(lua_State *L, const char *fn, const char *known, const char *key1,
                     const char *key2) {
    int nargs = lua_gettop(L);
    lt_opt_check(L, 1, fn, known, key2 ? 2 : 1);
    lua_newtable(L);
    int t = lua_gettop(L);
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            if (lua_type(L, -2) == LUA_TNUMBER && lua_tointeger(L, -2) == 1) {
                lua_remove(L, -2); lua_setfield(L, t, key1);
            } else if (key2 && lua_type(L, -2) == LUA_TNUMBER && lua_tointeger(L, -2) == 2) {
                lua_remove(L, -2); lua_setfield(L, t, key2);
            } else {
                lua_settable(L, t);
            }
        }
    } else if (!lua_isnoneornil(L, 1)) {
        lua_pushvalue(L, 1);
        lua_setfield(L, t, key1);
        if (key2 && nargs >= 2 && !lua_isnil(L, 2)) { lua_pushvalue(L, 2); lua_setfield(L, t, key2); }
    }
    return t;
}

static void cfg_pair(lua_State *L, int cfg, const char *key, const float *r) {
    lua_createtable(L, 2, 0);
    lt_lua_pushfloat(L, r[0]); lua_rawseti(L, -2, 1);
    lt_lua_pushfloat(L, r[1]); lua_rawseti(L, -2, 2);
    lua_setfield(L, cfg, key);
}

static const char *fill_names[] = {"reflect", "wrap", "nearest", "constant"};

/* The shared tail: fill options, seed, name, input_shape; builds and pushes the layer. */
static int finish(lua_State *L, const char *fn, lt_aug_kind kind, lt_augment_opts *o, int t,
                  int cfg) {
    if (kind != LT_AUG_FLIP) {
        lt_lua_fill_opts(L, t, fn, o);
        lua_pushstring(L, fill_names[o->fill]); lua_setfield(L, cfg, "fill_mode");
        lua_pushstring(L, o->interp == LT_INTERP_NEAREST ? "nearest" : "bilinear");
        lua_setfield(L, cfg, "interpolation");
        lt_lua_pushfloat(L, o->fill_value); lua_setfield(L, cfg, "fill_value");
    }
    int has_seed = lt_opt_field(L, t, 0, "seed");
    if (has_seed) lua_pop(L, 1);
    lua_Integer seed = lt_opt_int(L, fn, t, 0, "seed", 0, 0);
    if (has_seed) { lua_pushinteger(L, seed); lua_setfield(L, cfg, "seed"); }
    const char *cls = lt_opt_str(L, fn, t, "class", NULL);
    if (cls && strcmp(cls, fn + 3) != 0) return luaL_error(L, "%s: the options say class '%s'", fn, cls);
    const char *name = lt_opt_str(L, fn, t, "name", NULL);
    if (name) { lua_pushstring(L, name); lua_setfield(L, cfg, "name"); }
    int64_t shape[3];
    int nd = 0;
    if (lt_lua_rawfield(L, t, "input_shape") == LUA_TTABLE) {
        nd = (int)lua_rawlen(L, -1);
        if (nd != 3) luaL_error(L, "%s: input_shape must be {H, W, C}", fn);
        for (int i = 0; i < 3; i++) {
            lua_rawgeti(L, -1, i + 1);
            int ok;
            shape[i] = lua_tointegerx(L, -1, &ok);
            if (!ok || shape[i] < 1) luaL_error(L, "%s: input_shape must be {H, W, C}", fn);
            lua_pop(L, 1);
        }
        lua_setfield(L, cfg, "input_shape");
    } else {
        lua_pop(L, 1);
    }
    /* Everything is read: nothing below raises while the C layer is not yet owned. */
    lt_layer *l = lt_augment_layer_new(kind, o, has_seed, (uint64_t)seed);
    if (!l) return luaL_error(L, "%s: %s", fn, lt_lasterror());
    if (name) snprintf(l->name, sizeof l->name, "%s", name);
    lt_lua_pushlayer(L, l, cfg);
    if (nd) lt_lua_check(L, lt_layer_setup(l, nd, shape));
    return 1;
}

static int nn_random_flip(lua_State *L) {
    const char *fn = "nn.RandomFlip";
    int t = normalise(L, fn, "mode" AUG_OPTS, "mode", NULL);
    lua_newtable(L);
    int cfg = lua_gettop(L);
    lt_augment_opts o;
    lt_augment_defaults(&o);
    const char *mode = lt_opt_str(L, fn, t, "mode", "horizontal_and_vertical");
    o.flip = lt_lua_flip_mode(L, mode, fn);
    lua_pushstring(L, mode); lua_setfield(L, cfg, "mode");
    return finish(L, fn, LT_AUG_FLIP, &o, t, cfg);
}

/* Raises "<fn>: missing argument '<key>'" when the options table at t lacks key. */
static void need_field(lua_State *L, int t, const char *key, const char *fn) {
    if (lt_lua_rawfield(L, t, key) == LUA_TNIL) luaL_error(L, "%s: missing argument '%s'", fn, key);
    lua_pop(L, 1);
}

static int nn_random_rotation(lua_State *L) {
    const char *fn = "nn.RandomRotation";
    int t = normalise(L, fn, "factor" FILL_OPTS AUG_OPTS, "factor", NULL);
    need_field(L, t, "factor", fn);
    lua_newtable(L);
    int cfg = lua_gettop(L);
    lt_augment_opts o;
    lt_augment_defaults(&o);
    lt_lua_factor(L, t, "factor", fn, o.rotation, 0);
    cfg_pair(L, cfg, "factor", o.rotation);
    return finish(L, fn, LT_AUG_ROTATION, &o, t, cfg);
}

static int nn_random_zoom(lua_State *L) {
    const char *fn = "nn.RandomZoom";
    int t = normalise(L, fn, "height_factor width_factor" FILL_OPTS AUG_OPTS, "height_factor",
                      "width_factor");
    need_field(L, t, "height_factor", fn);
    lua_newtable(L);
    int cfg = lua_gettop(L);
    lt_augment_opts o;
    lt_augment_defaults(&o);
    lt_lua_factor(L, t, "height_factor", fn, o.zoom_h, 0);
    cfg_pair(L, cfg, "height_factor", o.zoom_h);
    o.zoom_keep_aspect = lt_lua_rawfield(L, t, "width_factor") == LUA_TNIL;   /* Keras: None */
    lua_pop(L, 1);
    if (!o.zoom_keep_aspect) {
        lt_lua_factor(L, t, "width_factor", fn, o.zoom_w, 0);
        cfg_pair(L, cfg, "width_factor", o.zoom_w);
    }
    return finish(L, fn, LT_AUG_ZOOM, &o, t, cfg);
}

static int nn_random_translation(lua_State *L) {
    const char *fn = "nn.RandomTranslation";
    int t = normalise(L, fn, "height_factor width_factor" FILL_OPTS AUG_OPTS, "height_factor",
                      "width_factor");
    need_field(L, t, "height_factor", fn);
    if (lt_lua_rawfield(L, t, "width_factor") == LUA_TNIL) {   /* one factor: both axes */
        lua_pop(L, 1);
        lt_lua_rawfield(L, t, "height_factor");
        lua_setfield(L, t, "width_factor");
    } else {
        lua_pop(L, 1);
    }
    lua_newtable(L);
    int cfg = lua_gettop(L);
    lt_augment_opts o;
    lt_augment_defaults(&o);
    lt_lua_factor(L, t, "height_factor", fn, o.translate_h, 0);
    lt_lua_factor(L, t, "width_factor", fn, o.translate_w, 0);
    cfg_pair(L, cfg, "height_factor", o.translate_h);
    cfg_pair(L, cfg, "width_factor", o.translate_w);
    return finish(L, fn, LT_AUG_TRANSLATION, &o, t, cfg);
}

#define COMMON "Active only in training (model:fit, layer:train()); the identity at inference.\n" \
    "Options: seed=n (the layer's own generator; else the global one), name, input_shape={H,W,C}."
#define FILL "fill_mode='reflect' (default) | 'wrap' | 'nearest' | 'constant' (fill_value=0),\n" \
    "interpolation='bilinear' (default) | 'nearest'. "

static const lt_reg augment_funcs[] = {
    {"RandomFlip", nn_random_flip, "nn.RandomFlip([mode]) or nn.RandomFlip{mode, seed}\n\n"
     "Flips each image of a training batch with probability 1/2 per axis.\nmode: "
     "'horizontal', 'vertical' or 'horizontal_and_vertical' (the default, as Keras).\n"
     COMMON "\nExample: nn.RandomFlip('horizontal')"},
    {"RandomRotation", nn_random_rotation, "nn.RandomRotation(factor) or "
     "nn.RandomRotation{factor, fill_mode, interpolation, seed}\n\nRotates each image of a "
     "training batch about its centre by a random angle in\n[-factor, factor] of a full turn "
     "(factor 0.1 = ±36°; {lo, hi} for a range; positive\nis counter-clockwise). " FILL "\n"
     COMMON "\nExample: nn.RandomRotation(0.1)"},
    {"RandomZoom", nn_random_zoom, "nn.RandomZoom(height_factor [, width_factor]) or "
     "nn.RandomZoom{height_factor, width_factor, ...}\n\nZooms each image of a training batch "
     "by a random factor: the sampling grid is scaled\nby 1 + U(-f, f) ({lo, hi} for a range); "
     "positive zooms out, negative zooms in (Keras).\nWithout width_factor the aspect ratio "
     "is kept. " FILL "\n" COMMON "\nExample: nn.RandomZoom(0.1)"},
    {"RandomTranslation", nn_random_translation, "nn.RandomTranslation(height_factor, "
     "width_factor) or nn.RandomTranslation{height_factor, width_factor, ...}\n\nShifts each "
     "image of a training batch by a random fraction of its height and width\n(U(-f, f), or "
     "{lo, hi}; positive moves down / right). One factor applies to both axes.\n" FILL "\n"
     COMMON "\nExample: nn.RandomTranslation(0.1, 0.1)"},
    {NULL, NULL, NULL}};

/* Adds nn.RandomFlip, ... to the nn table opened before it; returns nothing. */
int luaopen_lunette_augment(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "lunette.module");
    if (lt_lua_rawfield(L, -1, "nn") != LUA_TTABLE)
        return luaL_error(L, "lunette: the augmentation layers need nn opened first");
    lt_lua_setfuncs(L, "nn", augment_funcs);
    return 0;
}

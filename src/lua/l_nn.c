/* l_nn.c: the `nn` module's C side: layer objects (lunette.Layer) with forward,
 * backward, parameters, weight/bias, train/evaluate; the network object (lunette.Net)
 * that lua/lunette/model.lua drives (one C call per training step); losses.
 * A layer userdata owns its lt_layer; its user value is a table holding its Keras-style
 * config (for save/load) and any fields Lua code sets on it. A net's user value holds its
 * layer objects, which keeps them alive while the net borrows them. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lua/l_nn.h"
#include "nn/monitor.h"
#include "nn/net.h"
#include "plot/canvas.h"

#define LAYER_MT "lunette.Layer"
#define NET_MT "lunette.Net"

typedef struct {
    lt_layer *l;
    float *cache, *scratch;      /* standalone forward → backward state */
    size_t ccap, scap;
    lt_tensor *y;                /* the last forward's output (a view), or NULL */
    lt_tensor *x;                /* a copy of its input: backward checks it was this one */
    uint64_t setup_id;           /* the layer's setup it ran in */
} LLayer;


static int raise_status(lua_State *L, lt_status s) {
    if (s == LT_EINTR) return luaL_error(L, "interrupted");
    return luaL_error(L, "%s", lt_lasterror());
}

/* ---- option parsing (the readers are l_util.c's lt_opt_*) ---- */

/* Options every layer constructor takes besides its own (see finish_layer); class is
 * there so that nn[cfg.class](layer:config()) rebuilds a layer (it must match). */
#define LAYER_OPTS " name input_shape trainable class"

static lt_padding opt_padding(lua_State *L, const char *fn, int idx) {
    const char *p = lt_opt_str(L, fn, idx, "padding", "valid");
    if (strcmp(p, "valid") == 0) return LT_PAD_VALID;
    if (strcmp(p, "same") == 0) return LT_PAD_SAME;
    luaL_error(L, "%s: padding must be 'valid' or 'same', got '%s'", fn, p);
    return LT_PAD_VALID;
}

static lt_act opt_act(lua_State *L, const char *fn, int idx) {
    const char *s = lt_opt_str(L, fn, idx, "activation", NULL);
    lt_act a = LT_ACT_NONE;
    if (s && !lt_act_parse(s, &a))
        luaL_error(L, "%s: unknown activation '%s' (expected relu, sigmoid, tanh, softmax, "
                   "leaky_relu or linear)", fn, s);
    return a;
}

/* Reads a shape table (e.g. input_shape) into shape; returns its length (0 if absent). */
static int read_shape(lua_State *L, const char *fn, int tidx, const char *what, int64_t *shape) {
    tidx = lua_absindex(L, tidx);
    if (lua_type(L, tidx) != LUA_TTABLE) luaL_error(L, "%s: %s must be a table of sizes", fn, what);
    int n = (int)lua_rawlen(L, tidx);
    if (n < 1 || n > 4) luaL_error(L, "%s: %s must have 1 to 4 sizes, got %d", fn, what, n);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, tidx, i + 1);
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 1) luaL_error(L, "%s: %s entry %d must be a positive integer", fn, what, i + 1);
        shape[i] = v;
        lua_pop(L, 1);
    }
    return n;
}

static void push_shape(lua_State *L, int nd, const int64_t *s) {
    lua_createtable(L, nd, 0);
    for (int i = 0; i < nd; i++) { lua_pushinteger(L, s[i]); lua_rawseti(L, -2, i + 1); }
}

/* ---- layer objects ---- */

static lua_State *running_L;

static LLayer *checklayer(lua_State *L, int idx) {
    LLayer *u = luaL_checkudata(L, idx, LAYER_MT);
    if (!u->l) luaL_argerror(L, idx, "layer has been freed");
    running_L = L;                  /* for Lua layers the call may run (see nn.Lambda) */
    return u;
}

/* Creates the userdata box (empty) with a config table as user value, before building
 * the C layer, so that an error afterwards cannot leak. Leaves the box on the stack and
 * the config table at config_idx. */
static LLayer *newlayer_box(lua_State *L, const char *cls) {
    LLayer *u = lua_newuserdatauv(L, sizeof *u, 1);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, LAYER_MT);
    lua_newtable(L);
    lua_pushstring(L, cls);
    lua_setfield(L, -2, "class");
    lua_setiuservalue(L, -2, 1);
    return u;
}

void lt_lua_pushlayer(lua_State *L, lt_layer *l, int config_idx) {
    if (config_idx) config_idx = lua_absindex(L, config_idx);
    LLayer *u = lua_newuserdatauv(L, sizeof *u, 1);
    memset(u, 0, sizeof *u);
    u->l = l;
    l->training = 0;
    luaL_setmetatable(L, LAYER_MT);
    if (config_idx) lua_pushvalue(L, config_idx);
    else lua_newtable(L);
    if (lt_lua_rawfield(L, -1, "class") == LUA_TNIL) {
        lua_pushstring(L, l->vt->kind);
        lua_setfield(L, -3, "class");
    }
    lua_pop(L, 1);
    lua_setiuservalue(L, -2, 1);
}

lt_layer *lt_lua_checklayer(lua_State *L, int idx) { return checklayer(L, idx)->l; }

static void cfg_set(lua_State *L, int box) {      /* config[k] = v, k and v on the stack */
    lua_getiuservalue(L, box, 1);
    lua_insert(L, -3);
    lua_settable(L, -3);
    lua_pop(L, 1);
}

static void cfg_int(lua_State *L, int box, const char *k, lua_Integer v) {
    lua_pushstring(L, k); lua_pushinteger(L, v); cfg_set(L, box);
}
static void cfg_num(lua_State *L, int box, const char *k, double v) {
    lua_pushstring(L, k); lua_pushnumber(L, v); cfg_set(L, box);
}
static void cfg_str(lua_State *L, int box, const char *k, const char *v) {
    lua_pushstring(L, k); lua_pushstring(L, v); cfg_set(L, box);
}
static void cfg_bool(lua_State *L, int box, const char *k, int v) {
    lua_pushstring(L, k); lua_pushboolean(L, v); cfg_set(L, box);
}
static void cfg_pair(lua_State *L, int box, const char *k, int64_t a, int64_t b) {
    lua_pushstring(L, k);
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, a); lua_rawseti(L, -2, 1);
    lua_pushinteger(L, b); lua_rawseti(L, -2, 2);
    cfg_set(L, box);
}

static int layer_has_params(const lt_layer *l);

/* Common tail of every constructor: takes ownership of l (NULL: raise), applies name,
 * input_shape (set up now: shapes known, nothing allocated), trainable and inference mode. */
static int finish_layer(lua_State *L, LLayer *u, int box, lt_layer *l, int opts) {
    if (!l) return luaL_error(L, "%s", lt_lasterror());
    u->l = l;
    l->training = 0;              /* calling a layer is inference, as in Keras; :train() */
    char fn[80];
    snprintf(fn, sizeof fn, "nn.%s", l->vt->kind);
    const char *cls = lt_opt_str(L, fn, opts, "class", NULL);
    if (cls && strcmp(cls, l->vt->kind) != 0)
        return luaL_error(L, "%s: the options say class '%s'", fn, cls);
    const char *name = lt_opt_str(L, fn, opts, "name", NULL);
    if (name) {
        snprintf(l->name, sizeof l->name, "%s", name);
        cfg_str(L, box, "name", name);
    }
    if (lua_type(L, opts) == LUA_TTABLE && lt_opt_field(L, opts, 0, "trainable")) {
        lua_pop(L, 1);
        int t = lt_opt_bool(L, fn, opts, "trainable", 1);
        if (!layer_has_params(l))
            return luaL_error(L, "%s: trainable=%s: a %s layer has no parameters to train or freeze",
                              fn, t ? "true" : "false", l->vt->kind);
        l->frozen = !t;
        cfg_bool(L, box, "trainable", t);
    }
    if (lua_type(L, opts) == LUA_TTABLE && lt_opt_field(L, opts, 0, "input_shape")) {
        int64_t shape[4];
        int nd = read_shape(L, fn, -1, "input_shape", shape);
        lua_pop(L, 1);
        lua_pushstring(L, "input_shape");
        lua_createtable(L, nd, 0);
        for (int i = 0; i < nd; i++) { lua_pushinteger(L, shape[i]); lua_rawseti(L, -2, i + 1); }
        cfg_set(L, box);
        lt_lua_check(L, lt_layer_setup(l, nd, shape));
        lt_layer_fix_shape(l);    /* a standalone forward of another shape is an error */
    }
    lua_settop(L, box);
    return 1;
}

/* kernel_regularizer = nn.l1(x) / nn.l2(x) / nn.l1_l2{l1, l2} (or the plain {l1=, l2=} a
 * saved config holds): the factors into l (NULL: read and checked only) and the config. */
static void opt_regularizer(lua_State *L, const char *fn, int opts, int box, lt_layer *l) {
    if (lua_type(L, opts) != LUA_TTABLE || !lt_opt_field(L, opts, 0, "kernel_regularizer")) return;
    int idx = lua_gettop(L);
    char what[96];
    snprintf(what, sizeof what, "%s: kernel_regularizer", fn);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s must be nn.l1(x), nn.l2(x) or nn.l1_l2{l1=, l2=}, got %s", what,
                   luaL_typename(L, idx));
    lt_opt_check(L, idx, what, "l1 l2", 0);
    double f[2] = {lt_opt_num(L, what, idx, 0, "l1", 0), lt_opt_num(L, what, idx, 0, "l2", 0)};
    for (int i = 0; i < 2; i++) {
        char b[40];
        snprintf(b, sizeof b, "%.14g", f[i]);
        if (!(f[i] >= 0 && f[i] < 1e30))
            luaL_error(L, "%s: l%d must be a finite number >= 0, got %s", what, i + 1, b);
    }
    lua_pop(L, 1);
    if (!l) return;
    l->l1 = (float)f[0];
    l->l2 = (float)f[1];
    lua_pushstring(L, "kernel_regularizer");
    lua_createtable(L, 0, 2);
    lua_pushnumber(L, f[0]); lua_setfield(L, -2, "l1");
    lua_pushnumber(L, f[1]); lua_setfield(L, -2, "l2");
    cfg_set(L, box);
}

static int conv_ctor(lua_State *L, int dims) {
    const char *fn = dims == 2 ? "nn.Conv2D" : "nn.Conv1D";
    luaL_checktype(L, 1, LUA_TTABLE);
    lt_opt_check(L, 1, fn, "filters kernel_size|kernel strides|stride padding activation use_bias"
                 " kernel_regularizer" LAYER_OPTS, 2);
    lt_conv_opts o;
    o.filters = lt_opt_int(L, fn, 1, 1, "filters", 0, 1);
    lt_opt_pair(L, fn, 1, 2, "kernel_size|kernel", 0, 1, &o.kh, &o.kw);
    lt_opt_pair(L, fn, 1, 0, "strides|stride", 1, 0, &o.sh, &o.sw);
    o.pad = opt_padding(L, fn, 1);
    o.act = opt_act(L, fn, 1);
    o.use_bias = lt_opt_bool(L, fn, 1, "use_bias", 1);
    if (dims == 1) { o.kh = 1; o.sh = 1; }
    LLayer *u = newlayer_box(L, dims == 2 ? "Conv2D" : "Conv1D");
    int box = lua_gettop(L);
    cfg_int(L, box, "filters", o.filters);
    if (dims == 2) {
        cfg_pair(L, box, "kernel_size", o.kh, o.kw);
        cfg_pair(L, box, "strides", o.sh, o.sw);
    } else {
        cfg_int(L, box, "kernel_size", o.kw);
        cfg_int(L, box, "strides", o.sw);
    }
    cfg_str(L, box, "padding", o.pad == LT_PAD_SAME ? "same" : "valid");
    cfg_str(L, box, "activation", lt_act_name(o.act));
    cfg_bool(L, box, "use_bias", o.use_bias);
    opt_regularizer(L, fn, 1, box, NULL);       /* checked before the layer exists */
    lt_layer *l = dims == 2 ? lt_conv2d_new(&o) : lt_conv1d_new(&o);
    if (l) opt_regularizer(L, fn, 1, box, l);   /* cannot raise now */
    return finish_layer(L, u, box, l, 1);
}
static int nn_conv2d(lua_State *L) { return conv_ctor(L, 2); }
static int nn_conv1d(lua_State *L) { return conv_ctor(L, 1); }

static int nn_dense(lua_State *L) {
    const char *fn = "nn.Dense";
    if (lua_isnoneornil(L, 1)) luaL_error(L, "nn.Dense: missing argument 'units'");
    lt_opt_check(L, 1, fn, "units activation use_bias kernel_regularizer" LAYER_OPTS, 1);
    lua_Integer units = lt_opt_int(L, fn, 1, 1, "units", 0, 1);
    lt_act act = opt_act(L, fn, 1);
    int bias = lt_opt_bool(L, fn, 1, "use_bias", 1);
    LLayer *u = newlayer_box(L, "Dense");
    int box = lua_gettop(L);
    cfg_int(L, box, "units", units);
    cfg_str(L, box, "activation", lt_act_name(act));
    cfg_bool(L, box, "use_bias", bias);
    opt_regularizer(L, fn, 1, box, NULL);       /* checked before the layer exists */
    lt_layer *l = lt_dense_new(units, act, bias);
    if (l) opt_regularizer(L, fn, 1, box, l);   /* cannot raise now */
    return finish_layer(L, u, box, l, 1);
}

static int pool_ctor(lua_State *L, int dims, int is_max, const char *cls) {
    char fn[40];
    snprintf(fn, sizeof fn, "nn.%s", cls);
    lt_opt_check(L, 1, fn, "pool_size|size strides|stride padding" LAYER_OPTS, 2);
    int64_t size, s2, stride;
    lt_opt_pair(L, fn, 1, 1, "pool_size|size", 2, 0, &size, &s2);
    lt_opt_pair(L, fn, 1, 2, "strides|stride", size, 0, &stride, &s2);
    lt_padding pad = opt_padding(L, fn, 1);
    LLayer *u = newlayer_box(L, cls);
    int box = lua_gettop(L);
    cfg_int(L, box, "pool_size", size);
    cfg_int(L, box, "strides", stride);
    cfg_str(L, box, "padding", pad == LT_PAD_SAME ? "same" : "valid");
    return finish_layer(L, u, box, lt_pool_new(dims, is_max, size, stride, pad), 1);
}
static int nn_maxpool2d(lua_State *L) { return pool_ctor(L, 2, 1, "MaxPool2D"); }
static int nn_avgpool2d(lua_State *L) { return pool_ctor(L, 2, 0, "AvgPool2D"); }
static int nn_maxpool1d(lua_State *L) { return pool_ctor(L, 1, 1, "MaxPool1D"); }

/* A layer without options of its own: only the common ones. */
static LLayer *plain_box(lua_State *L, const char *cls) {
    char fn[40];
    snprintf(fn, sizeof fn, "nn.%s", cls);
    if (!lua_isnoneornil(L, 1) && lua_type(L, 1) != LUA_TTABLE)
        luaL_error(L, "%s: expected an options table {name=...} or nothing, got a %s", fn,
                   luaL_typename(L, 1));
    lt_opt_check(L, 1, fn, LAYER_OPTS, 0);
    return newlayer_box(L, cls);
}

static int gpool_ctor(lua_State *L, int dims, int is_max, const char *cls) {
    LLayer *u = plain_box(L, cls);
    return finish_layer(L, u, lua_gettop(L), lt_global_pool_new(dims, is_max), 1);
}
static int nn_gmaxpool2d(lua_State *L) { return gpool_ctor(L, 2, 1, "GlobalMaxPool2D"); }
static int nn_gavgpool2d(lua_State *L) { return gpool_ctor(L, 2, 0, "GlobalAvgPool2D"); }
static int nn_gmaxpool1d(lua_State *L) { return gpool_ctor(L, 1, 1, "GlobalMaxPool1D"); }

static int nn_flatten(lua_State *L) {
    LLayer *u = plain_box(L, "Flatten");
    return finish_layer(L, u, lua_gettop(L), lt_flatten_new(), 1);
}

static int nn_dropout(lua_State *L) {
    lt_opt_check(L, 1, "nn.Dropout", "rate" LAYER_OPTS, 1);
    if (!lt_opt_field(L, 1, 1, "rate")) luaL_error(L, "nn.Dropout: missing argument 'rate'");
    lua_pop(L, 1);
    double rate = lt_opt_num(L, "nn.Dropout", 1, 1, "rate", 0);
    LLayer *u = newlayer_box(L, "Dropout");
    int box = lua_gettop(L);
    cfg_num(L, box, "rate", rate);
    return finish_layer(L, u, box, lt_dropout_new((float)rate), 1);
}

static int nn_batchnorm(lua_State *L) {
    lt_opt_check(L, 1, "nn.BatchNorm", "momentum epsilon|eps" LAYER_OPTS, 0);
    double m = lt_opt_num(L, "nn.BatchNorm", 1, 0, "momentum", 0.99);
    double e = lt_opt_num(L, "nn.BatchNorm", 1, 0, "epsilon|eps", 1e-3);
    LLayer *u = newlayer_box(L, "BatchNorm");
    int box = lua_gettop(L);
    cfg_num(L, box, "momentum", m);
    cfg_num(L, box, "epsilon", e);
    return finish_layer(L, u, box, lt_batchnorm_new((float)m, (float)e), 1);
}

static int nn_embedding(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lt_opt_check(L, 1, "nn.Embedding", "input_dim|vocab output_dim|dim" LAYER_OPTS, 2);
    lua_Integer v = lt_opt_int(L, "nn.Embedding", 1, 1, "input_dim|vocab", 0, 1);
    lua_Integer d = lt_opt_int(L, "nn.Embedding", 1, 2, "output_dim|dim", 0, 1);
    LLayer *u = newlayer_box(L, "Embedding");
    int box = lua_gettop(L);
    cfg_int(L, box, "input_dim", v);
    cfg_int(L, box, "output_dim", d);
    return finish_layer(L, u, box, lt_embedding_new(v, d), 1);
}

static int act_ctor(lua_State *L, lt_act a, const char *cls) {
    float alpha = 0.3f;
    LLayer *u;
    if (a == LT_ACT_LEAKY_RELU) {
        lt_opt_check(L, 1, "nn.LeakyReLU", "negative_slope|alpha" LAYER_OPTS, 1);
        alpha = (float)lt_opt_num(L, "nn.LeakyReLU", 1, 1, "negative_slope|alpha", 0.3);
        u = newlayer_box(L, cls);
    } else {
        u = plain_box(L, cls);
    }
    int box = lua_gettop(L);
    if (a == LT_ACT_LEAKY_RELU) {
        lua_pushstring(L, "negative_slope");
        lt_lua_pushfloat(L, alpha);
        cfg_set(L, box);
    }
    return finish_layer(L, u, box, lt_activation_new(a, alpha), 1);
}
static int nn_relu(lua_State *L) { return act_ctor(L, LT_ACT_RELU, "ReLU"); }
static int nn_leaky(lua_State *L) { return act_ctor(L, LT_ACT_LEAKY_RELU, "LeakyReLU"); }
static int nn_sigmoid(lua_State *L) { return act_ctor(L, LT_ACT_SIGMOID, "Sigmoid"); }
static int nn_tanh(lua_State *L) { return act_ctor(L, LT_ACT_TANH, "Tanh"); }
static int nn_softmax(lua_State *L) { return act_ctor(L, LT_ACT_SOFTMAX, "Softmax"); }

/* nn.Add(), nn.Subtract(), ..., nn.Concatenate{axis=-1}: merge layers (graph models). */
static int merge_ctor(lua_State *L, lt_merge_op op, const char *cls) {
    int axis = -1;
    LLayer *u;
    if (op == LT_MERGE_CONCAT) {
        lt_opt_check(L, 1, "nn.Concatenate", "axis" LAYER_OPTS, 1);
        lua_Integer a = lt_opt_int(L, "nn.Concatenate", 1, 1, "axis", -1, 0);
        if (a < -LT_MAX_DIMS || a > LT_MAX_DIMS)
            return luaL_error(L, "nn.Concatenate: axis %I is outside -%d..%d", a, LT_MAX_DIMS,
                              LT_MAX_DIMS);
        axis = (int)a;
        u = newlayer_box(L, cls);
    } else {
        u = plain_box(L, cls);
    }
    int box = lua_gettop(L);
    if (op == LT_MERGE_CONCAT) cfg_int(L, box, "axis", axis);
    return finish_layer(L, u, box, lt_merge_new(op, axis), 1);
}
static int nn_add(lua_State *L) { return merge_ctor(L, LT_MERGE_ADD, "Add"); }
static int nn_subtract(lua_State *L) { return merge_ctor(L, LT_MERGE_SUBTRACT, "Subtract"); }
static int nn_multiply(lua_State *L) { return merge_ctor(L, LT_MERGE_MULTIPLY, "Multiply"); }
static int nn_average(lua_State *L) { return merge_ctor(L, LT_MERGE_AVERAGE, "Average"); }
static int nn_maximum(lua_State *L) { return merge_ctor(L, LT_MERGE_MAXIMUM, "Maximum"); }
static int nn_concatenate(lua_State *L) { return merge_ctor(L, LT_MERGE_CONCAT, "Concatenate"); }

static int nn_input(lua_State *L) {
    int64_t shape[4];
    int nd;
    luaL_checktype(L, 1, LUA_TTABLE);
    lt_opt_check(L, 1, "nn.Input", "shape name", 4);
    if (lt_opt_field(L, 1, 0, "shape")) {
        nd = read_shape(L, "nn.Input", -1, "shape", shape);
        lua_pop(L, 1);
    } else {
        nd = read_shape(L, "nn.Input", 1, "shape", shape);
    }
    LLayer *u = newlayer_box(L, "Input");
    int box = lua_gettop(L);
    lua_pushstring(L, "shape");
    lua_createtable(L, nd, 0);
    for (int i = 0; i < nd; i++) { lua_pushinteger(L, shape[i]); lua_rawseti(L, -2, i + 1); }
    cfg_set(L, box);
    return finish_layer(L, u, box, lt_input_new(nd, shape), 1);
}

/* ---- layers written in Lua (nn.Lambda, nn.Layer) ----
 * A C layer whose forward and backward call Lua functions kept in its object's config
 * table ("forward", "backward"). The net calls layers without a lua_State: the bindings
 * record the running one in `running_L` at every entry that may run layers, and a Lua
 * layer finds its object through a weak table keyed by its lt_layer. Lua layers never
 * run on the worker thread (they do not declare LT_LAYER_SPLITTABLE). */

#define LUALAYER_OBJECTS "lunette.lua_layers"

typedef struct {
    lt_layer h;
    int with_self;                     /* nn.Layer: the functions take self first */
    int out_nd;                        /* declared output shape (0: inferred) */
    int64_t out_shape[LT_MAX_DIMS];
    int wnd;                           /* declared weight shape (0: none) */
    int64_t wshape[4], nb;
    float *init_w, *init_b;            /* initial values given as tensors (owned) */
} lua_layer;

/* Pushes the layer's Lua object and its function `fn` (nil when absent); 0 when the
 * object is gone (cannot happen while a net or the caller holds it). */
static int push_lua_fn(lua_State *L, lt_layer *l, const char *fn) {
    char key[32];
    snprintf(key, sizeof key, "_%s", fn[0] == '_' ? fn + 1 : fn);
    fn = key;
    lua_getfield(L, LUA_REGISTRYINDEX, LUALAYER_OBJECTS);
    lua_rawgetp(L, -1, l);
    lua_remove(L, -2);
    if (!lua_isuserdata(L, -1)) { lua_pop(L, 1); return 0; }
    lua_getiuservalue(L, -1, 1);
    lt_lua_rawfield(L, -1, fn);
    lua_remove(L, -2);
    return 1;
}

/* Pushes a new tensor N×shape holding a copy of data. */
static void push_copy(lua_State *L, int nd, const int64_t *shape, int64_t N, const float *data) {
    int64_t s[LT_MAX_DIMS + 1];
    s[0] = N;
    memcpy(s + 1, shape, (size_t)nd * 8);
    lt_tensor *t = lt_lua_pushtensor(L, lt_tensor_empty(nd + 1, s));
    memcpy(t->data, data, (size_t)t->numel * sizeof(float));
}

/* Calls the layer's function fn with (self,) the given args already pushed after it; on
 * success leaves nres results. Errors become the engine's error naming the layer. */
static lt_status call_lua(lua_State *L, lt_layer *l, int nargs, int nres) {
    int ok = lua_pcall(L, nargs, nres, 0) == LUA_OK;
    running_L = L;                  /* the Lua code may have run a model from a coroutine */
    if (!ok) {
        const char *msg = lua_tostring(L, -1);
        lt_status s = lt_seterr(LT_EARG, "%s (%s): %s", l->name, l->vt->kind,
                                msg ? msg : "error object is not a string");
        lua_pop(L, 1);
        return s;
    }
    return LT_OK;
}

/* Checks that the value at idx is a tensor of N×shape; its data, or NULL with an error. */
static const float *lua_result(lua_State *L, lt_layer *l, int idx, const char *what, int nd,
                               const int64_t *shape, int64_t N) {
    lt_tensor *t = lt_lua_testtensor(L, idx);
    char a[160], b[160];
    if (!t) {
        lt_seterr(LT_EARG, "%s (%s): %s must return a tensor, got %s", l->name, l->vt->kind,
                  what, luaL_typename(L, idx));
        return NULL;
    }
    if (t->ndim != nd + 1 || t->shape[0] != N || memcmp(t->shape + 1, shape, (size_t)nd * 8) != 0) {
        int64_t s[LT_MAX_DIMS + 1];
        s[0] = N;
        memcpy(s + 1, shape, (size_t)nd * 8);
        lt_seterr(LT_ESHAPE, "%s (%s): %s returned shape %s, expected %s", l->name, l->vt->kind,
                  what, lt_shape_str(t->ndim, t->shape, a, sizeof a),
                  lt_shape_str(nd + 1, s, b, sizeof b));
        return NULL;
    }
    return t->data;
}

/* Runs fn(self?, args...) for the layer: pushes the function and self, then the caller's
 * pushes follow. Returns the stack top to restore, or -1 (error set). */
static int begin_call(lua_State *L, lt_layer *l, const char *fn) {
    if (!L) {
        lt_seterr(LT_EARG, "%s (%s): a Lua layer runs only from Lua", l->name, l->vt->kind);
        return -1;
    }
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 12) || !push_lua_fn(L, l, fn)) {
        lua_settop(L, top);
        lt_seterr(LT_EARG, "%s (%s): its Lua object is gone", l->name, l->vt->kind);
        return -1;
    }
    if (lua_type(L, -1) != LUA_TFUNCTION) {
        lua_settop(L, top);
        lt_seterr(LT_EARG, "%s (%s) has no %s function", l->name, l->vt->kind, fn);
        return -1;
    }
    lua_insert(L, -2);                              /* fn, self */
    if (!((lua_layer *)l)->with_self) lua_pop(L, 1);
    return top;
}

static lt_status lual_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                              float *scratch) {
    (void)cache; (void)scratch;
    lua_State *L = running_L;
    int top = begin_call(L, l, "forward");
    if (top < 0) return LT_EARG;
    int self = ((lua_layer *)l)->with_self;
    push_copy(L, l->in_nd, l->in_shape, N, x);
    lt_status s = call_lua(L, l, 1 + self, 1);
    if (s == LT_OK) {
        const float *r = lua_result(L, l, -1, "forward", l->out_nd, l->out_shape, N);
        if (r) memcpy(y, r, (size_t)(N * l->out_size) * sizeof(float));
        else s = LT_ESHAPE;
    }
    lua_settop(L, top);
    return s;
}

/* Accumulates a returned parameter gradient (nil: none) into g. */
static lt_status add_grad(lua_State *L, lt_layer *l, int idx, const char *what, lt_tensor *g) {
    if (lua_isnil(L, idx) || !g) return LT_OK;
    lt_tensor *t = lt_lua_testtensor(L, idx);
    char a[160], b[160];
    if (!t || !lt_same_shape(t, g))
        return lt_seterr(LT_ESHAPE, "%s (%s): backward's %s gradient has shape %s, expected %s",
                         l->name, l->vt->kind, what,
                         t ? lt_shape_str(t->ndim, t->shape, a, sizeof a) : luaL_typename(L, idx),
                         lt_shape_str(g->ndim, g->shape, b, sizeof b));
    for (int64_t i = 0; i < g->numel; i++) g->data[i] += t->data[i];
    return LT_OK;
}

/* backward(self?, x, dy) → dx [, dweight [, dbias]]; a failure is recorded in l->err. */
static void lual_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                          int64_t N, const float *cache, float *scratch) {
    (void)y; (void)cache; (void)scratch;
    lua_State *L = running_L;
    int top = begin_call(L, l, "backward");
    if (top < 0) { l->err = LT_EARG; return; }
    int self = ((lua_layer *)l)->with_self;
    push_copy(L, l->in_nd, l->in_shape, N, x);
    push_copy(L, l->out_nd, l->out_shape, N, dy);
    lt_status s = call_lua(L, l, 2 + self, 3);
    if (s == LT_OK && dx) {
        const float *r = lua_result(L, l, -3, "backward", l->in_nd, l->in_shape, N);
        if (r) memcpy(dx, r, (size_t)(N * l->in_size) * sizeof(float));
        else s = LT_ESHAPE;
    }
    if (s == LT_OK) s = add_grad(L, l, -2, "weight", l->dw);
    if (s == LT_OK) s = add_grad(L, l, -1, "bias", l->db);
    if (s != LT_OK) l->err = s;
    lua_settop(L, top);
}

static lt_status lual_setup(lt_layer *l, int nd, const int64_t *in) {
    lua_layer *p = (lua_layer *)l;
    l->wnd = p->wnd;
    memcpy(l->wshape, p->wshape, sizeof l->wshape);
    l->nw = 0;
    if (p->wnd) {
        l->nw = 1;
        for (int i = 0; i < p->wnd; i++) l->nw *= p->wshape[i];
    }
    l->nb = p->nb;
    if (p->out_nd) {
        l->out_nd = p->out_nd;
        memcpy(l->out_shape, p->out_shape, sizeof l->out_shape);
        return LT_OK;
    }
    /* infer the output shape: output_shape(input_shape) when it is a function, else a
     * forward on one sample of zeros (a layer with weights must say: they do not exist yet) */
    lua_State *L = running_L;
    if (!L)
        return lt_seterr(LT_EARG, "%s (%s): a Lua layer runs only from Lua", l->name, l->vt->kind);
    int top = lua_gettop(L);
    lt_status s = LT_OK;
    if (!lua_checkstack(L, 12) || !push_lua_fn(L, l, "_output_shape")) {
        lua_settop(L, top);
        return lt_seterr(LT_EARG, "%s (%s): its Lua object is gone", l->name, l->vt->kind);
    }
    if (lua_type(L, -1) == LUA_TFUNCTION) {
        lua_createtable(L, nd, 0);
        for (int i = 0; i < nd; i++) { lua_pushinteger(L, in[i]); lua_rawseti(L, -2, i + 1); }
        s = call_lua(L, l, 1, 1);
        int n = s == LT_OK && lua_type(L, -1) == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
        if (s == LT_OK && (n < 1 || n > LT_MAX_DIMS))
            s = lt_seterr(LT_EARG, "%s (%s): output_shape must return a shape {d, ...}", l->name,
                          l->vt->kind);
        for (int i = 0; s == LT_OK && i < n; i++) {
            lua_rawgeti(L, -1, i + 1);
            lua_Integer v = lua_tointeger(L, -1);
            if (v < 1)
                s = lt_seterr(LT_EARG, "%s (%s): output_shape entry %d must be a positive integer",
                              l->name, l->vt->kind, i + 1);
            l->out_shape[i] = v;
            lua_pop(L, 1);
        }
        l->out_nd = n;
        lua_settop(L, top);
        return s;
    }
    lua_settop(L, top);
    if (p->wnd)
        return lt_seterr(LT_EARG, "%s (%s): give output_shape (a shape, or a function of the "
                         "input shape): a layer with weights cannot be run before they exist",
                         l->name, l->vt->kind);
    if ((top = begin_call(L, l, "forward")) < 0) return LT_EARG;
    int64_t s1[LT_MAX_DIMS + 1] = {1};
    memcpy(s1 + 1, in, (size_t)nd * 8);
    lt_lua_pushtensor(L, lt_tensor_new(nd + 1, s1));
    s = call_lua(L, l, 1, 1);
    if (s == LT_OK) {
        lt_tensor *t = lt_lua_testtensor(L, -1);
        if (!t || t->ndim < 2 || t->ndim > LT_MAX_DIMS + 1 || t->shape[0] != 1) {
            s = lt_seterr(LT_EARG, "%s (%s): forward must return a tensor with the batch of its "
                          "input (tried one sample; give output_shape otherwise)", l->name,
                          l->vt->kind);
        } else {
            l->out_nd = t->ndim - 1;
            memcpy(l->out_shape, t->shape + 1, (size_t)l->out_nd * 8);
        }
    }
    lua_settop(L, top);
    return s;
}

static void lual_init(lt_layer *l, lt_rng *r) {
    lua_layer *p = (lua_layer *)l;
    if (!l->w) return;
    if (p->init_w) memcpy(l->w->data, p->init_w, (size_t)l->nw * sizeof(float));
    else {
        int64_t fan_in = 1;
        for (int i = 0; i + 1 < l->wnd; i++) fan_in *= l->wshape[i];
        lt_glorot_uniform(l->w->data, l->nw, fan_in, l->wshape[l->wnd - 1], r);
    }
    if (l->b && p->init_b) memcpy(l->b->data, p->init_b, (size_t)l->nb * sizeof(float));
}

static void lual_destroy(lt_layer *l) {
    lua_layer *p = (lua_layer *)l;
    free(p->init_w);
    free(p->init_b);
}

/* Whether a layer has (or, before its set-up, will have) parameters: what `trainable`
 * applies to. */
static int layer_has_params(const lt_layer *l) {
    if (l->set_up) return lt_layer_nparams(l) > 0;
    static const char *const kinds[] = {"Conv2D", "Conv1D", "Dense", "BatchNormalization", "Embedding", NULL};
    for (int i = 0; kinds[i]; i++)
        if (strcmp(l->vt->kind, kinds[i]) == 0) return 1;
    return strcmp(l->vt->kind, "Layer") == 0 && ((const lua_layer *)l)->wnd > 0;
}

static const lt_layer_vt lambda_vt = {"Lambda", lual_setup, lual_init, NULL, NULL, lual_forward,
                                      lual_backward, lual_destroy, NULL, LT_LAYER_FALLIBLE,
                                      NULL, NULL, NULL};
static const lt_layer_vt lualayer_vt = {"Layer", lual_setup, lual_init, NULL, NULL, lual_forward,
                                        lual_backward, lual_destroy, NULL, LT_LAYER_FALLIBLE,
                                        NULL, NULL, NULL};

/* Reads a declared parameter at field k of the options: a shape {d, ...} or a tensor (its
 * values then initialise it). Returns its number of dimensions (0: absent). */
static int declared_param(lua_State *L, const char *fn, const char *k, int64_t *shape,
                          float **init) {
    if (lt_lua_rawfield(L, 1, k) == LUA_TNIL) { lua_pop(L, 1); return 0; }
    lt_tensor *t = lt_lua_testtensor(L, -1);
    int nd;
    if (t) {
        if (t->ndim < 1 || t->ndim > 4) luaL_error(L, "%s: %s must have 1 to 4 dimensions", fn, k);
        nd = t->ndim;
        memcpy(shape, t->shape, (size_t)nd * 8);
        if (!(*init = malloc((size_t)t->numel * sizeof(float))))
            luaL_error(L, "%s: out of memory", fn);
        memcpy(*init, t->data, (size_t)t->numel * sizeof(float));
    } else {
        nd = read_shape(L, fn, -1, k, shape);
        int64_t n;
        lt_lua_check(L, lt_shape_check(fn, nd, shape, &n));
    }
    lua_pop(L, 1);
    return nd;
}

/* nn.Lambda{forward=fn(x), backward=fn(x, dy) → dx, output_shape} and
 * nn.Layer{weight=, bias=, forward=fn(self, x), backward=fn(self, x, dy) → dx, dw, db} */
static int lua_layer_ctor(lua_State *L, int with_self) {
    const char *fn = with_self ? "nn.Layer" : "nn.Lambda";
    luaL_checktype(L, 1, LUA_TTABLE);
    if (with_self)
        lt_opt_check(L, 1, fn, "forward backward output_shape weight bias" LAYER_OPTS, 0);
    else
        lt_opt_check(L, 1, fn, "forward backward output_shape name input_shape", 0);
    if (lt_lua_rawfield(L, 1, "forward") != LUA_TFUNCTION)
        return luaL_error(L, "%s: 'forward' must be a function", fn);
    int tb = lt_lua_rawfield(L, 1, "backward");
    if (tb != LUA_TNIL && tb != LUA_TFUNCTION)
        return luaL_error(L, "%s: 'backward' must be a function", fn);
    lua_pop(L, 2);
    LLayer *u = newlayer_box(L, with_self ? "Layer" : "Lambda");
    int box = lua_gettop(L);
    /* kept under "_" names: the config table also answers field reads (layer.forward is the
     * method) */
    lua_pushstring(L, "_forward"); lt_lua_rawfield(L, 1, "forward"); cfg_set(L, box);
    lua_pushstring(L, "_backward"); lt_lua_rawfield(L, 1, "backward"); cfg_set(L, box);
    lua_layer *p = (lua_layer *)lt_layer_alloc(sizeof *p, with_self ? &lualayer_vt : &lambda_vt);
    if (!p) return luaL_error(L, "%s", lt_lasterror());
    u->l = &p->h;                                  /* owned by the box from here on */
    p->with_self = with_self;
    snprintf(p->h.name, sizeof p->h.name, "%s", with_self ? "layer" : "lambda");
    int to = lt_lua_rawfield(L, 1, "output_shape");
    if (to == LUA_TFUNCTION) {
        lua_pushstring(L, "_output_shape");
        lua_insert(L, -2);
        cfg_set(L, box);
    } else {
        if (to != LUA_TNIL) p->out_nd = read_shape(L, fn, -1, "output_shape", p->out_shape);
        lua_pop(L, 1);
    }
    if (with_self) {
        int64_t bs[4];
        p->wnd = declared_param(L, fn, "weight", p->wshape, &p->init_w);
        int bnd = declared_param(L, fn, "bias", bs, &p->init_b);
        if (bnd && !p->wnd) return luaL_error(L, "%s: a bias needs a weight", fn);
        if (bnd > 1) return luaL_error(L, "%s: bias must be one-dimensional", fn);
        p->nb = bnd ? bs[0] : 0;
        p->h.use_bias = bnd != 0;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, LUALAYER_OBJECTS);
    lua_pushvalue(L, box);
    lua_rawsetp(L, -2, &p->h);
    lua_pop(L, 1);
    return finish_layer(L, u, box, &p->h, 1);
}
static int nn_lambda(lua_State *L) { return lua_layer_ctor(L, 0); }
static int nn_layer(lua_State *L) { return lua_layer_ctor(L, 1); }

/* ---- layer methods ---- */

static lt_tensor *param_view(const lt_tensor *t) {
    return t ? lt_tensor_reshape(t, t->ndim, t->shape) : NULL;
}

/* Sets the layer up for x's per-sample shape (N = x.shape[1]). A layer whose input shape
 * is fixed (input_shape, or set up by a model) only takes that shape, with the model's
 * message. */
static void layer_setup_for(lua_State *L, lt_layer *l, const lt_tensor *x) {
    char a[160], b[160];
    if (x->ndim < 2)
        luaL_error(L, "%s (%s): input %s has no batch dimension: expected N×(sample shape)",
                   l->name, l->vt->kind, lt_shape_str(x->ndim, x->shape, a, sizeof a));
    int nd = x->ndim - 1;
    if (l->fixed_nd && (l->fixed_nd != nd ||
                        memcmp(l->fixed_shape, x->shape + 1, (size_t)nd * 8) != 0))
        luaL_error(L, "%s (%s): expected input of shape %s, got %s", l->name, l->vt->kind,
                   lt_layer_shape_str(l->fixed_nd, l->fixed_shape, a, sizeof a),
                   lt_shape_str(x->ndim, x->shape, b, sizeof b));
    if (!l->set_up || l->in_nd != nd || memcmp(l->in_shape, x->shape + 1, (size_t)nd * 8) != 0)
        lt_lua_check(L, lt_layer_setup(l, nd, x->shape + 1));
}

static void layer_build(lua_State *L, lt_layer *l) {
    if (!l->set_up)
        luaL_error(L, "%s (%s): its input shape is not known yet: call forward once, or give "
                   "input_shape", l->name, l->vt->kind);
    lt_lua_check(L, lt_layer_build(l, &lt_global_rng));
    lt_lua_check(L, lt_layer_build_state(l));
}

static int grow(float **buf, size_t *cap, size_t n) {
    if (n <= *cap && *buf) return 1;
    float *p = realloc(*buf, (n + 1) * sizeof(float));
    if (!p) return 0;
    *buf = p;
    *cap = n;
    return 1;
}

/* A merge layer run standalone: xs is a list of tensors with one batch size. Sets the
 * layer up for their shapes and returns their per-sample shapes. Leaves the tensors on
 * the stack (anchored). */
static int merge_inputs(lua_State *L, lt_layer *l, int idx, lt_tensor **xs) {
    if (lua_type(L, idx) != LUA_TTABLE || lt_lua_testtensor(L, idx))
        luaL_error(L, "%s (%s): expected a list of tensors {a, b, ...}", l->name, l->vt->kind);
    int n = (int)lua_rawlen(L, idx), nd[LT_MAX_MERGE];
    int64_t shape[LT_MAX_MERGE][LT_MAX_DIMS] = {{0}};
    if (n < 2 || n > LT_MAX_MERGE)
        luaL_error(L, "%s (%s): takes 2 to %d inputs, got %d", l->name, l->vt->kind,
                   LT_MAX_MERGE, n);
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, idx, k + 1);
        xs[k] = lt_lua_totensor(L, lua_gettop(L), "forward");
        if (xs[k]->ndim < 2 || xs[k]->ndim > LT_MAX_DIMS + 1 || xs[k]->shape[0] != xs[0]->shape[0])
            luaL_error(L, "%s (%s): input %d must be N×(sample shape) with the batch of input 1",
                       l->name, l->vt->kind, k + 1);
        nd[k] = xs[k]->ndim - 1;
        memcpy(shape[k], xs[k]->shape + 1, (size_t)nd[k] * 8);
    }
    lt_lua_check(L, lt_layer_setup_n(l, n, nd, (const int64_t(*)[LT_MAX_DIMS])shape));
    return n;
}

/* merge:forward({a, b, ...}) → y; merge:backward({a, b, ...}, dy) → {da, db, ...} */
static int merge_call(lua_State *L, lt_layer *l, int backward) {
    lt_tensor *xs[LT_MAX_MERGE] = {NULL};
    const float *xp[LT_MAX_MERGE];
    float *dxp[LT_MAX_MERGE];
    int n = merge_inputs(L, l, 2, xs);
    int64_t N = xs[0]->shape[0], shape[LT_MAX_DIMS + 1];
    for (int k = 0; k < n; k++) xp[k] = xs[k]->data;
    shape[0] = N;
    memcpy(shape + 1, l->out_shape, (size_t)l->out_nd * 8);
    lt_tensor *y = lt_lua_pushtensor(L, lt_tensor_empty(1 + l->out_nd, shape));
    lt_lua_check(L, l->vt->forward_n(l, n, xp, y->data, N));
    if (!backward) return 1;
    lt_tensor *dy = lt_lua_totensor(L, 3, "backward");
    char a[160], b[160];
    if (!lt_same_shape(dy, y))
        return luaL_error(L, "%s (%s): gradient has shape %s, the output is %s", l->name,
                          l->vt->kind, lt_shape_str(dy->ndim, dy->shape, a, sizeof a),
                          lt_shape_str(y->ndim, y->shape, b, sizeof b));
    lua_createtable(L, n, 0);
    for (int k = 0; k < n; k++) {
        dxp[k] = lt_lua_pushtensor(L, lt_tensor_new(xs[k]->ndim, xs[k]->shape))->data;
        lua_rawseti(L, -2, k + 1);
    }
    l->vt->backward_n(l, n, xp, y->data, dy->data, dxp, N);
    return 1;
}

static int layer_forward(lua_State *L) {
    LLayer *u = checklayer(L, 1);
    lt_layer *l = u->l;
    if (l->vt->forward_n) return merge_call(L, l, 0);
    lt_tensor *x = lt_lua_totensor(L, 2, "forward");
    layer_setup_for(L, l, x);
    layer_build(L, l);
    int64_t N = x->shape[0], shape[LT_MAX_DIMS];
    shape[0] = N;
    memcpy(shape + 1, l->out_shape, (size_t)l->out_nd * 8);
    size_t cs = l->vt->cache_size ? l->vt->cache_size(l, N) : 0;
    size_t ss = l->vt->scratch_size ? l->vt->scratch_size(l, N) : 0;
    if (!grow(&u->cache, &u->ccap, cs) || !grow(&u->scratch, &u->scap, ss))
        return luaL_error(L, "%s: out of memory", l->name);
    lt_tensor *y = lt_lua_pushtensor(L, lt_tensor_empty(1 + l->out_nd, shape));
    lt_status s = l->vt->forward(l, x->data, y->data, N, u->cache, u->scratch);
    if (s != LT_OK) return raise_status(L, s);
    lt_layer_commit(l, u->cache);     /* a standalone training forward updates its state */
    lt_tensor *xc = lt_tensor_clone(x);
    if (!xc) return luaL_error(L, "%s: out of memory", l->name);
    lt_tensor_free(u->y);
    lt_tensor_free(u->x);
    u->y = param_view(y);
    u->x = xc;
    u->setup_id = l->setup_id;
    return 1;
}

static int layer_backward(lua_State *L) {
    LLayer *u = checklayer(L, 1);
    lt_layer *l = u->l;
    if (l->vt->forward_n) return merge_call(L, l, 1);
    char a[160], b[160];
    lt_tensor *x = lt_lua_totensor(L, 2, "backward");
    lt_tensor *dy = lt_lua_totensor(L, 3, "backward");
    if (!u->y || u->setup_id != l->setup_id || !lt_same_shape(x, u->x) ||
        memcmp(x->data, u->x->data, (size_t)x->numel * sizeof(float)) != 0) {
        /* not the last forward's input, or the layer was set up again since (by a model):
         * run the forward (Torch's contract is forward then backward; what backward reads,
         * argmax, masks, ids, must be this input's) */
        lua_pushcfunction(L, layer_forward);
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_call(L, 2, 0);
    }
    if (!lt_same_shape(dy, u->y))
        return luaL_error(L, "%s (%s): gradient has shape %s, the output is %s", l->name,
                          l->vt->kind, lt_shape_str(dy->ndim, dy->shape, a, sizeof a),
                          lt_shape_str(u->y->ndim, u->y->shape, b, sizeof b));
    lt_tensor *g = lt_lua_pushtensor(L, lt_tensor_clone(dy));   /* backward may overwrite dy */
    lt_tensor *dx = lt_lua_pushtensor(L, lt_tensor_new(x->ndim, x->shape));
    l->vt->backward(l, x->data, u->y->data, g->data, dx->data, x->shape[0], u->cache, u->scratch);
    return 1;
}

/* params, grads: lists of views. */
static int layer_parameters(lua_State *L) {
    LLayer *u = checklayer(L, 1);
    lt_layer *l = u->l;
    /* it will have parameters: an empty list would train nothing */
    if (!l->set_up && l->vt->init)
        return luaL_error(L, "%s (%s): its parameters do not exist yet (the input shape is not "
                          "known): "
                          "give input_shape, call forward once, or take model:parameters()",
                          l->name, l->vt->kind);
    lua_newtable(L);
    lua_newtable(L);
    if (lt_layer_nparams(l) == 0) return 2;
    layer_build(L, l);
    lt_lua_pushtensor(L, param_view(l->w)); lua_rawseti(L, -3, 1);
    lt_lua_pushtensor(L, param_view(l->dw)); lua_rawseti(L, -2, 1);
    if (l->b) {
        lt_lua_pushtensor(L, param_view(l->b)); lua_rawseti(L, -3, 2);
        lt_lua_pushtensor(L, param_view(l->db)); lua_rawseti(L, -2, 2);
    }
    return 2;
}

static int layer_train(lua_State *L) {
    LLayer *u = checklayer(L, 1);
    u->l->training = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
    lua_settop(L, 1);
    return 1;
}

static int layer_evaluate(lua_State *L) {
    checklayer(L, 1)->l->training = 0;
    lua_settop(L, 1);
    return 1;
}

static int layer_zero_grad(lua_State *L) {
    lt_layer *l = checklayer(L, 1)->l;
    if (l->dw) memset(l->dw->data, 0, (size_t)l->nw * 4);
    if (l->db) memset(l->db->data, 0, (size_t)l->nb * 4);
    lua_settop(L, 1);
    return 1;
}

static int layer_count_params(lua_State *L) {
    lt_layer *l = checklayer(L, 1)->l;
    lua_pushinteger(L, l->set_up ? lt_layer_nparams(l) + l->nstate : 0);
    return 1;
}

/* a copy of the config table, without the "_" entries (user fields, Lua functions) */
static int layer_config(lua_State *L) {
    checklayer(L, 1);
    lua_getiuservalue(L, 1, 1);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_tostring(L, -2)[0] == '_') {
            lua_pop(L, 1);
            continue;
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -4);
    }
    return 1;
}

/* internal: layer:_out_shape({shape, ...}) → the per-sample output shape for these input
 * shapes (sets the layer up for them; a graph model calls it on symbolic tensors) */
static int layer_out_shape(lua_State *L) {
    lt_layer *l = checklayer(L, 1)->l;
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 2), nd[LT_MAX_MERGE];
    int64_t shape[LT_MAX_MERGE][LT_MAX_DIMS] = {{0}};
    if (n < 1 || n > LT_MAX_MERGE)
        return luaL_error(L, "%s: takes 1 to %d inputs", l->name, LT_MAX_MERGE);
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, 2, k + 1);
        nd[k] = read_shape(L, l->vt->kind, -1, "shape", shape[k]);
        lua_pop(L, 1);
    }
    if (n == 1 && l->fixed_nd && (l->fixed_nd != nd[0] ||
                                  memcmp(l->fixed_shape, shape[0], (size_t)nd[0] * 8) != 0)) {
        char a[160], b[160];
        return luaL_error(L, "%s (%s): expected input of shape %s, got %s", l->name, l->vt->kind,
                          lt_layer_shape_str(l->fixed_nd, l->fixed_shape, a, sizeof a),
                          lt_layer_shape_str(nd[0], shape[0], b, sizeof b));
    }
    lt_lua_check(L, lt_layer_setup_n(l, n, nd, (const int64_t(*)[LT_MAX_DIMS])shape));
    push_shape(L, l->out_nd, l->out_shape);
    return 1;
}

static int layer__index(lua_State *L) {
    LLayer *u = checklayer(L, 1);
    lt_layer *l = u->l;
    /* not lua_tostring on any key: it turned a number key into a string in place, and
     * layer[1] then looked up "1" (a field set as layer[1] = v read back as nil) */
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    if (k) {
        if (strcmp(k, "weight") == 0 || strcmp(k, "bias") == 0) {
            if (lt_layer_nparams(l) == 0 || (k[0] == 'b' && l->nb == 0)) return 0;
            if (!l->set_up) return 0;       /* unknown until the input shape is */
            layer_build(L, l);
            lt_lua_pushtensor(L, param_view(k[0] == 'w' ? l->w : l->b));
            return 1;
        }
        if (strcmp(k, "grad_weight") == 0 || strcmp(k, "grad_bias") == 0) {
            lt_tensor *t = k[5] == 'w' ? l->dw : l->db;
            if (!t) return 0;
            lt_lua_pushtensor(L, param_view(t));
            return 1;
        }
        if (strcmp(k, "moving_mean") == 0 || strcmp(k, "moving_variance") == 0) {
            if (l->nstate == 0) return 0;
            layer_build(L, l);
            int64_t C = l->nstate / 2;
            lt_tensor *v = lt_tensor_narrow(l->state, 0, k[7] == 'm' ? 0 : C, C);
            lt_lua_pushtensor(L, v);
            return 1;
        }
        if (strcmp(k, "name") == 0) { lua_pushstring(L, l->name); return 1; }
        if (strcmp(k, "kind") == 0) { lua_pushstring(L, l->vt->kind); return 1; }
        if (strcmp(k, "training") == 0) { lua_pushboolean(L, l->training); return 1; }
        if (strcmp(k, "trainable") == 0) {
            if (!layer_has_params(l)) return 0;     /* nil: nothing to train or freeze */
            lua_pushboolean(L, !l->frozen);
            return 1;
        }
        if (strcmp(k, "built") == 0) { lua_pushboolean(L, l->w != NULL); return 1; }
        if (strcmp(k, "output_shape") == 0 || strcmp(k, "input_shape") == 0) {
            if (!l->set_up) return 0;
            if (k[0] == 'o') push_shape(L, l->out_nd, l->out_shape);
            else push_shape(L, l->in_nd, l->in_shape);
            return 1;
        }
    }
    lua_getiuservalue(L, 1, 1);                  /* fields set from Lua, then the config */
    if (lt_lua_rawfield(L, -1, "_fields") == LUA_TTABLE) {
        lua_pushvalue(L, 2);
        if (lua_rawget(L, -2) != LUA_TNIL) return 1;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) return 1;
    lua_pushvalue(L, 2);                         /* methods */
    lua_gettable(L, lua_upvalueindex(1));
    return 1;
}

static int layer__newindex(lua_State *L) {
    LLayer *u = checklayer(L, 1);
    lt_layer *l = u->l;
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    char a[160], b[160];
    if (k && (strcmp(k, "weight") == 0 || strcmp(k, "bias") == 0 ||
              strcmp(k, "moving_mean") == 0 || strcmp(k, "moving_variance") == 0)) {
        lt_tensor *src = lt_lua_totensor(L, 3, k);
        int isw = k[0] == 'w', isb = k[0] == 'b', isstate = k[0] == 'm';
        if (!l->set_up && l->vt->init) layer_build(L, l);     /* raises: shape unknown */
        if (lt_layer_nparams(l) == 0 || (isb && l->nb == 0) || (isstate && l->nstate == 0))
            return luaL_error(L, "%s (%s) has no %s", l->name, l->vt->kind, k);
        layer_build(L, l);
        lt_tensor *dst = isw ? l->w : isb ? l->b : NULL;
        int64_t C = l->nstate / 2;
        lt_tensor *sv = isstate ? lt_tensor_narrow(l->state, 0, k[7] == 'm' ? 0 : C, C) : NULL;
        if (isstate) {
            lt_lua_pushtensor(L, sv);     /* the GC owns the view */
            dst = sv;
        }
        if (!lt_same_shape(src, dst))
            return luaL_error(L, "%s.%s: expected a tensor of shape %s, got %s", l->name, k,
                              lt_shape_str(dst->ndim, dst->shape, a, sizeof a),
                              lt_shape_str(src->ndim, src->shape, b, sizeof b));
        memmove(dst->data, src->data, (size_t)dst->numel * sizeof(float));   /* may overlap */
        return 0;
    }
    if (k && strcmp(k, "trainable") == 0) {
        if (!lua_isboolean(L, 3))
            return luaL_error(L, "%s.trainable must be true or false, got %s", l->name,
                              luaL_typename(L, 3));
        if (!layer_has_params(l))
            return luaL_error(L, "%s.trainable = %s: a %s layer has no parameters to train or "
                              "freeze", l->name, lua_toboolean(L, 3) ? "true" : "false",
                              l->vt->kind);
        if (l->running)
            return luaL_error(L, "%s.trainable: cannot change while its model runs", l->name);
        l->frozen = !lua_toboolean(L, 3);
        lua_getiuservalue(L, 1, 1);
        lua_pushvalue(L, 3);
        lua_setfield(L, -2, "trainable");        /* saved with the config */
        return 0;
    }
    if (k && strcmp(k, "name") == 0) {
        const char *v = luaL_checkstring(L, 3);
        snprintf(l->name, sizeof l->name, "%s", v);
        lua_getiuservalue(L, 1, 1);
        lua_pushvalue(L, 3);
        lua_setfield(L, -2, "name");
        return 0;
    }
    if (k && (strcmp(k, "grad_weight") == 0 || strcmp(k, "grad_bias") == 0 ||
              strcmp(k, "kind") == 0 || strcmp(k, "output_shape") == 0 ||
              strcmp(k, "input_shape") == 0 || strcmp(k, "training") == 0 ||
              strcmp(k, "built") == 0))
        return luaL_error(L, "%s.%s is read-only", l->name, k);
    /* Other fields are the user's (a Lua layer's state, notes): kept in config._fields, out
     * of the config that save writes and constructors read; the config's own keys are the
     * layer's architecture and read-only. */
    lua_getiuservalue(L, 1, 1);
    int cfg = lua_gettop(L);
    if (k && strcmp(k, "kernel_regularizer") == 0 &&     /* a user field would be ignored */
        (strcmp(l->vt->kind, "Dense") == 0 || strncmp(l->vt->kind, "Conv", 4) == 0))
        return luaL_error(L, "%s.kernel_regularizer is set when the layer is made (nn.%s{..., "
                          "kernel_regularizer=nn.l2(1e-4)}): build a new layer", l->name,
                          l->vt->kind);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, cfg) != LUA_TNIL && k && k[0] != '_')
        return luaL_error(L, "%s.%s is part of the layer's config (read-only): build a new layer",
                          l->name, k);
    lua_pop(L, 1);
    if (lt_lua_rawfield(L, cfg, "_fields") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, cfg, "_fields");
    }
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

static int layer__tostring(lua_State *L) {
    lt_layer *l = checklayer(L, 1)->l;
    char a[160];
    if (l->set_up)
        lua_pushfstring(L, "%s (%s): output %s, %I parameters", l->name, l->vt->kind,
                        lt_layer_shape_str(l->out_nd, l->out_shape, a, sizeof a),
                        (lua_Integer)(lt_layer_nparams(l) + l->nstate));
    else
        lua_pushfstring(L, "%s (%s): not built (input shape unknown)", l->name, l->vt->kind);
    return 1;
}

static int layer__gc(lua_State *L) {
    LLayer *u = luaL_checkudata(L, 1, LAYER_MT);
    lt_layer_free(u->l);
    lt_tensor_free(u->y);
    lt_tensor_free(u->x);
    free(u->cache);
    free(u->scratch);
    u->l = NULL; u->y = NULL; u->x = NULL; u->cache = u->scratch = NULL;
    return 0;
}

/* ---- networks ---- */

/* A network object. Its user value: a table of the layer objects it uses (its own copy:
 * the C net also holds a reference on each layer, so nothing the user does to a model's
 * layer list reaches the net). It owns views of the last training forward's inputs, which
 * backward reads. The losses per output are set by set_loss (compile). */
typedef struct {
    lt_net *net;
    lt_net_loss loss[LT_MAX_MERGE];
    int has_loss;
    lt_tensor *fwd_in[LT_MAX_MERGE];   /* views of the last training forward's inputs */
} LNet;

static void drop_fwd_inputs(LNet *u) {
    for (int k = 0; k < LT_MAX_MERGE; k++) {
        lt_tensor_free(u->fwd_in[k]);
        u->fwd_in[k] = NULL;
    }
}

static LNet *checklnet(lua_State *L, int idx) {
    LNet *u = luaL_checkudata(L, idx, NET_MT);
    if (!u->net) luaL_argerror(L, idx, "network has been freed");
    if (u->net->busy)
        luaL_error(L, "the model is already running (a layer's Lua code called back into its "
                   "own model)");
    running_L = L;
    luaL_checkstack(L, 4 * LT_MAX_MERGE + 8, "model call");
    return u;
}
static lt_net *checknet(lua_State *L, int idx) { return checklnet(L, idx)->net; }
lt_net *lt_lua_checknet(lua_State *L, int idx) { return checknet(L, idx); }

/* Pushes a new network object for net (NULL: raises the engine's message), anchoring the
 * layer objects at stack index anchors. */
static int push_net(lua_State *L, lt_net *net, int anchors) {
    if (!net) return luaL_error(L, "%s", lt_lasterror());
    LNet *u = lua_newuserdatauv(L, sizeof *u, 1);
    memset(u, 0, sizeof *u);
    u->net = net;
    luaL_setmetatable(L, NET_MT);
    lua_pushvalue(L, anchors);
    lua_setiuservalue(L, -2, 1);
    return 1;
}

/* Reads the layer object at stack index idx into *l and appends it to the anchor table at
 * anchors (a layer used twice is anchored twice: harmless). */
static lt_layer *anchor_layer(lua_State *L, int idx, int anchors) {
    lt_layer *l = checklayer(L, idx)->l;
    lua_pushvalue(L, idx);
    lua_rawseti(L, anchors, (lua_Integer)lua_rawlen(L, anchors) + 1);
    return l;
}

/* nn._net(layers, input_shape) → net: a chain (Sequential); sets the layers up, allocates
 * no parameters. */
static int nn_net(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    running_L = L;
    int64_t shape[4];
    int nd = read_shape(L, "Sequential", 2, "input shape", shape);
    int n = (int)lua_rawlen(L, 1);
    if (n < 1) return luaL_error(L, "Sequential: the model has no layers");
    lua_newtable(L);
    int anchors = lua_gettop(L);
    lt_layer **layers = lua_newuserdatauv(L, (size_t)n * sizeof *layers, 0);   /* GC-owned */
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        layers[i] = anchor_layer(L, -1, anchors);
        lua_pop(L, 1);
    }
    return push_net(L, lt_net_new(n, layers, nd, shape), anchors);
}

/* A node id of a graph spec (1-based, 1..n) as a 0-based index. */
static int node_id(lua_State *L, int idx, int n) {
    lua_Integer v = luaL_checkinteger(L, idx);
    if (v < 1 || v > n) luaL_error(L, "Model: node id %I is outside 1..%d", v, n);
    return (int)v - 1;
}

/* nn._graph{inputs={shape, ...}, nodes={{layer=, inputs={id, ...}}, ...}, outputs={id, ...}}
 * → net. Ids are 1-based over the inputs then the nodes, each node reading earlier ids. */
static int nn_graph(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    running_L = L;
    lua_newtable(L);
    int anchors = lua_gettop(L);
    /* raw reads: no Lua code runs while this holds layer pointers (the net takes its
     * references before any Lua layer runs) */
    lua_pushliteral(L, "inputs"); lua_rawget(L, 1);
    lua_pushliteral(L, "nodes"); lua_rawget(L, 1);
    lua_pushliteral(L, "outputs"); lua_rawget(L, 1);
    int ti = anchors + 1, tn = anchors + 2, to = anchors + 3;
    luaL_checktype(L, ti, LUA_TTABLE);
    luaL_checktype(L, tn, LUA_TTABLE);
    luaL_checktype(L, to, LUA_TTABLE);
    int ni = (int)lua_rawlen(L, ti), nl = (int)lua_rawlen(L, tn), no = (int)lua_rawlen(L, to);
    if (ni < 1 || ni > LT_MAX_MERGE || no < 1 || no > LT_MAX_MERGE)
        return luaL_error(L, "Model: needs 1 to %d inputs and outputs", LT_MAX_MERGE);
    if (nl < 1) return luaL_error(L, "Model: the model has no layers");
    int in_nd[LT_MAX_MERGE], outs[LT_MAX_MERGE];
    int64_t in_shape[LT_MAX_MERGE][LT_MAX_DIMS] = {{0}};
    for (int k = 0; k < ni; k++) {
        lua_rawgeti(L, ti, k + 1);
        in_nd[k] = read_shape(L, "Input", -1, "shape", in_shape[k]);
        lua_pop(L, 1);
    }
    for (int o = 0; o < no; o++) {
        lua_rawgeti(L, to, o + 1);
        outs[o] = node_id(L, -1, ni + nl);
        lua_pop(L, 1);
    }
    lt_layer **layers = lua_newuserdatauv(L, (size_t)nl * sizeof *layers, 0);   /* GC-owned */
    int *nin = lua_newuserdatauv(L, (size_t)nl * sizeof *nin, 0);
    int (*in)[LT_MAX_MERGE] = lua_newuserdatauv(L, (size_t)nl * sizeof *in, 0);
    for (int j = 0; j < nl; j++) {
        lua_rawgeti(L, tn, j + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_pushliteral(L, "layer"); lua_rawget(L, -2);
        layers[j] = anchor_layer(L, -1, anchors);
        lua_pop(L, 1);
        lua_pushliteral(L, "inputs"); lua_rawget(L, -2);
        luaL_checktype(L, -1, LUA_TTABLE);
        nin[j] = (int)lua_rawlen(L, -1);
        if (nin[j] < 1 || nin[j] > LT_MAX_MERGE)
            return luaL_error(L, "%s: takes 1 to %d inputs, got %d", layers[j]->name,
                              LT_MAX_MERGE, nin[j]);
        for (int k = 0; k < nin[j]; k++) {
            lua_rawgeti(L, -1, k + 1);
            in[j][k] = node_id(L, -1, ni + nl);
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
    lt_net *net = lt_net_new_graph(ni, in_nd, (const int64_t(*)[LT_MAX_DIMS])in_shape, nl,
                                   layers, nin, (const int(*)[LT_MAX_MERGE])in, no, outs);
    return push_net(L, net, anchors);
}

static int net__gc(lua_State *L) {
    LNet *u = luaL_checkudata(L, 1, NET_MT);
    if (u->net && u->net->busy) return 0;    /* collected mid-call: cannot happen, be safe */
    drop_fwd_inputs(u);
    lt_net_free(u->net);
    u->net = NULL;
    return 0;
}

/* net:info() → {params= (the flat buffer's floats), trainable=, nontrainable= (state and
 * frozen layers' parameters), built=, inputs={shape...}, outputs={id...},
 * nodes={{name, kind, output_shape, params, state, trainable (nil: no parameters),
 * inputs={id...}}}} (ids 1-based; the
 * inputs are nodes 1..#inputs with kind "InputLayer") */
static int net_info(lua_State *L) {
    lt_net *net = checknet(L, 1);
    lua_newtable(L);
    int64_t state = 0;
    lua_createtable(L, net->n, 0);
    for (int i = 0; i < net->n; i++) {
        const lt_node *d = &net->nodes[i];
        lt_layer *l = d->layer;
        lua_createtable(L, 0, 6);
        if (l) lua_pushstring(L, l->name); else lua_pushfstring(L, "input_%d", i + 1);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, l ? l->vt->kind : "InputLayer"); lua_setfield(L, -2, "kind");
        push_shape(L, d->nd, d->shape); lua_setfield(L, -2, "output_shape");
        int first = 1;                      /* a shared layer's parameters count once */
        for (int j = net->ninputs; l && j < i; j++) first &= net->nodes[j].layer != l;
        lua_pushinteger(L, l && first ? lt_layer_nparams(l) : 0); lua_setfield(L, -2, "params");
        lua_pushinteger(L, l && first ? l->nstate : 0); lua_setfield(L, -2, "state");
        if (l && lt_layer_nparams(l) > 0) {
            lua_pushboolean(L, !l->frozen);
            lua_setfield(L, -2, "trainable");
        }
        lua_createtable(L, d->nin, 0);
        for (int k = 0; k < d->nin; k++) {
            lua_pushinteger(L, d->in[k] + 1);
            lua_rawseti(L, -2, k + 1);
        }
        lua_setfield(L, -2, "inputs");
        lua_rawseti(L, -2, i + 1);
    }
    lua_createtable(L, net->n - net->ninputs, 0);     /* the layer nodes alone */
    for (int i = net->ninputs; i < net->n; i++) {
        lua_rawgeti(L, -2, i + 1);
        lua_rawseti(L, -2, i - net->ninputs + 1);
    }
    lua_setfield(L, -3, "layers");
    lua_setfield(L, -2, "nodes");
    int64_t frozen = 0;
    for (int m = 0; m < net->nlayers; m++) {
        state += net->layers[m]->nstate;
        if (net->layers[m]->frozen) frozen += lt_layer_nparams(net->layers[m]);
    }
    lua_createtable(L, net->noutputs, 0);
    for (int o = 0; o < net->noutputs; o++) {
        lua_pushinteger(L, net->outputs[o] + 1);
        lua_rawseti(L, -2, o + 1);
    }
    lua_setfield(L, -2, "outputs");
    lua_pushinteger(L, net->ninputs); lua_setfield(L, -2, "ninputs");
    lua_pushinteger(L, net->nparams); lua_setfield(L, -2, "params");
    lua_pushinteger(L, net->nparams - frozen); lua_setfield(L, -2, "trainable");
    lua_pushinteger(L, state + frozen); lua_setfield(L, -2, "nontrainable");
    lua_pushboolean(L, net->params != NULL); lua_setfield(L, -2, "built");
    return 1;
}

static int net_build(lua_State *L) {
    lt_net *net = checknet(L, 1);
    lt_lua_check(L, lt_net_build(net, &lt_global_rng));
    return 0;
}

/* net:flat() → params, grads (flat views of the network's buffers) */
static int net_flat(lua_State *L) {
    lt_net *net = checknet(L, 1);
    lt_lua_check(L, lt_net_build(net, &lt_global_rng));
    lt_lua_pushtensor(L, param_view(net->params));
    lt_lua_pushtensor(L, param_view(net->grads));
    return 2;
}

/* net:zero_grad() */
static int net_zero_grad(lua_State *L) {
    lt_net *net = checknet(L, 1);
    if (net->grads) memset(net->grads->data, 0, (size_t)net->nparams * sizeof(float));
    return 0;
}

static lt_loss_kind check_loss(lua_State *L, int idx) {
    const char *name = luaL_checkstring(L, idx);
    lt_loss_kind k;
    if (!lt_loss_parse(name, &k))
        luaL_error(L, "unknown loss '%s' (expected mse, binary_crossentropy, "
                   "categorical_crossentropy or sparse_categorical_crossentropy)", name);
    return k;
}

/* net:set_loss(names, weights): one loss name per output (a string: the same for all),
 * weights a list (nil: all 1). */
static int net_set_loss(lua_State *L) {
    LNet *u = checklnet(L, 1);
    int no = u->net->noutputs;
    for (int o = 0; o < no; o++) {
        if (lua_type(L, 2) == LUA_TTABLE) lua_rawgeti(L, 2, o + 1);
        else lua_pushvalue(L, 2);
        u->loss[o].kind = check_loss(L, -1);
        lua_pop(L, 1);
        u->loss[o].weight = 1.0f;
        if (lua_type(L, 3) == LUA_TTABLE) {
            lua_rawgeti(L, 3, o + 1);
            int ok;
            lua_Number w = lua_tonumberx(L, -1, &ok);
            if (!ok || !(w >= 0) || w > 1e30)
                return luaL_error(L, "loss_weights: entry %d must be a non-negative number", o + 1);
            u->loss[o].weight = (float)w;
            lua_pop(L, 1);
        }
    }
    u->has_loss = 1;
    return 0;
}

static const lt_net_loss *losses(lua_State *L, LNet *u) {
    if (!u->has_loss) luaL_error(L, "the model is not compiled");
    return u->loss;
}

/* Reads n tensors from idx (a tensor when n is 1, or a list of n), leaving them on the stack
 * for the moment of reading (see read_tensors). */
static void read_tensors_raw(lua_State *L, int idx, int n, lt_tensor **out, const char *fn,
                             const char *what) {
    idx = lua_absindex(L, idx);
    if (lt_lua_testtensor(L, idx) || lua_type(L, idx) != LUA_TTABLE ||
        (n == 1 && lua_rawlen(L, idx) != 1)) {
        if (n != 1) luaL_error(L, "%s: the model has %d %ss: expected a list of %d tensors", fn,
                               n, what, n);
        lua_pushvalue(L, idx);
        out[0] = lt_lua_totensor(L, lua_gettop(L), fn);
        return;
    }
    if ((int)lua_rawlen(L, idx) != n)
        luaL_error(L, "%s: the model has %d %s%s, got a list of %d", fn, n, what, n > 1 ? "s" : "",
                   (int)lua_rawlen(L, idx));
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, idx, k + 1);
        out[k] = lt_lua_totensor(L, lua_gettop(L), fn);
    }
}

/* A box of tensor views owned by C for one call: Lua code that runs inside the call (a Lua
 * layer) may finalise the caller's tensor objects explicitly; the views keep the storage.
 * The box is on the stack, so it goes with the call, however the call ends. */
#define HOLD_MT "lunette.Hold"
typedef struct { int n; lt_tensor *t[2 * LT_MAX_MERGE + 1]; } Hold;

static int hold__gc(lua_State *L) {
    Hold *h = luaL_checkudata(L, 1, HOLD_MT);
    for (int k = 0; k < h->n; k++) lt_tensor_free(h->t[k]);
    h->n = 0;
    return 0;
}

static Hold *hold_new(lua_State *L) {
    Hold *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->n = 0;
    luaL_setmetatable(L, HOLD_MT);
    return h;
}

static lt_tensor *hold(lua_State *L, Hold *h, const lt_tensor *t) {
    lt_tensor *v = h->n < 2 * LT_MAX_MERGE + 1 ? lt_tensor_reshape(t, t->ndim, t->shape) : NULL;
    if (!v) luaL_error(L, "out of memory");
    return h->t[h->n++] = v;
}

/* Reads n tensors from idx (a tensor when n is 1, or a list of n) as views held in h. */
static void read_tensors(lua_State *L, int idx, int n, lt_tensor **out, const char *fn,
                         const char *what, Hold *h) {
    idx = lua_absindex(L, idx);
    read_tensors_raw(L, idx, n, out, fn, what);
    for (int k = 0; k < n; k++) out[k] = hold(L, h, out[k]);
}

/* Reads the inputs at idx and checks them against the net, with one batch size. */
static int64_t read_inputs(lua_State *L, lt_net *net, int idx, lt_tensor **xs, const char *fn,
                           Hold *h) {
    read_tensors(L, idx, net->ninputs, xs, fn, "input", h);
    for (int k = 0; k < net->ninputs; k++) {
        lt_lua_check(L, lt_net_check_input(net, k, xs[k]));
        if (xs[k]->shape[0] != xs[0]->shape[0])
            luaL_error(L, "%s: input 1 has %I samples but input %d has %I", fn,
                       (lua_Integer)xs[0]->shape[0], k + 1, (lua_Integer)xs[k]->shape[0]);
    }
    return xs[0]->shape[0];
}

/* Reads the targets at idx: one per output, each with N rows. */
static void read_targets(lua_State *L, lt_net *net, int idx, int64_t N, lt_tensor **ys,
                         const char *fn, Hold *h) {
    read_tensors(L, idx, net->noutputs, ys, fn, "output", h);
    for (int o = 0; o < net->noutputs; o++)
        if (ys[o]->ndim < 1 || ys[o]->shape[0] != N)
            luaL_error(L, "%s: x has %I samples but y%s has %I", fn, (lua_Integer)N,
                       net->noutputs > 1 ? " of an output" : "",
                       (lua_Integer)(ys[o]->ndim ? ys[o]->shape[0] : 1));
}

/* Pushes loss, correct, total, or nil, message for a non-finite loss. */
static int push_step(lua_State *L, lt_status s, double loss, int64_t c, int64_t t) {
    if (s == LT_ENAN) {
        lua_pushnil(L);
        lua_pushstring(L, lt_lasterror());
        return 2;
    }
    if (s != LT_OK) return raise_status(L, s);
    lua_pushnumber(L, loss);
    lua_pushinteger(L, c);
    lua_pushinteger(L, t);
    return 3;
}

/* net:train_on_batch(xs, ys, opt) → loss, correct, total | nil, "the loss is nan" */
static int net_train_on_batch(lua_State *L) {
    lua_settop(L, 5);                    /* optional sample weights, before the Hold box */
    LNet *u = checklnet(L, 1);
    lt_net *net = u->net;
    lt_optim *o = lt_lua_checkoptim(L, 4);
    const lt_net_loss *ls = losses(L, u);
    lt_tensor *xs[LT_MAX_MERGE], *ys[LT_MAX_MERGE];
    Hold *h = hold_new(L);
    int64_t N = read_inputs(L, net, 2, xs, "train_on_batch", h), tn[LT_MAX_MERGE];
    read_targets(L, net, 3, N, ys, "train_on_batch", h);
    const float *xp[LT_MAX_MERGE], *yp[LT_MAX_MERGE];
    for (int k = 0; k < net->ninputs; k++) xp[k] = xs[k]->data;
    for (int k = 0; k < net->noutputs; k++) { yp[k] = ys[k]->data; tn[k] = ys[k]->numel; }
    lt_tensor *w = NULL;
    if (!lua_isnoneornil(L, 5)) {
        w = hold(L, h, lt_lua_checktensor(L, 5));
        if (w->numel != N) luaL_error(L, "train_on_batch: %I sample weights for %I samples",
                                      (lua_Integer)w->numel, (lua_Integer)N);
    }
    double loss = 0;
    int64_t c = 0, t = 0;
    net->step_weights = w ? w->data : NULL;
    lt_status s = lt_net_step(net, xp, yp, tn, N, ls, o, &loss, &c, &t);
    net->step_weights = NULL;
    return push_step(L, s, loss, c, t);
}

/* net:check_targets(ys): all of ys against the outputs (labels by sample position) */
static int net_check_targets(lua_State *L) {
    LNet *u = checklnet(L, 1);
    lt_net *net = u->net;
    const lt_net_loss *ls = losses(L, u);
    lt_tensor *ys[LT_MAX_MERGE];
    read_tensors(L, 2, net->noutputs, ys, "fit", "output", hold_new(L));
    for (int o = 0; o < net->noutputs; o++) {
        int64_t K = lt_net_out_width(net, o), rows = ys[o]->shape[0] * lt_net_out_size(net, o) / K;
        lt_lua_check(L, lt_loss_check(ls[o].kind, rows, K, ys[o]->data, ys[o]->numel));
    }
    return 0;
}

/* net:shuffle(n, shuffle) */
static int net_shuffle(lua_State *L) {
    lt_net *net = checknet(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 0 || n > lt_get_max_numel()) return luaL_error(L, "fit: %I samples", n);
    lt_lua_check(L, lt_net_shuffle(net, n, lua_toboolean(L, 3) ? &lt_global_rng : NULL));
    return 0;
}

/* net:train_rows(xs, ys, start, count, opt): rows perm[start..start+count) (0-based) */
static int net_train_rows(lua_State *L) {
    lua_settop(L, 7);                    /* the weights' slot, before the Hold box */
    LNet *u = checklnet(L, 1);
    lt_net *net = u->net;
    lua_Integer start = luaL_checkinteger(L, 4), count = luaL_checkinteger(L, 5);
    lt_optim *o = lt_lua_checkoptim(L, 6);
    const lt_net_loss *ls = losses(L, u);
    lt_tensor *xs[LT_MAX_MERGE], *ys[LT_MAX_MERGE];
    Hold *h = hold_new(L);
    int64_t N = read_inputs(L, net, 2, xs, "fit", h);
    read_targets(L, net, 3, N, ys, "fit", h);
    if (net->perm_n > N) luaL_error(L, "fit: shuffle order is longer than the data");
    lt_tensor *w = NULL;                 /* sample weights, one per row (model.lua checks them) */
    if (!lua_isnoneornil(L, 7)) {
        w = hold(L, h, lt_lua_checktensor(L, 7));
        if (w->numel != N) luaL_error(L, "fit: %I sample weights for %I samples", (lua_Integer)w->numel,
                                      (lua_Integer)N);
    }
    double loss = 0;
    int64_t c = 0, t = 0;
    net->row_weights = w ? w->data : NULL;
    lt_status s = lt_net_train_rows(net, (const lt_tensor *const *)xs,
                                    (const lt_tensor *const *)ys, start, count, ls, o, &loss,
                                    &c, &t);
    net->row_weights = NULL;
    return push_step(L, s, loss, c, t);
}

/* Pushes a new tensor N×(shape of node i). */
static lt_tensor *push_node_tensor(lua_State *L, const lt_net *net, int i, int64_t N) {
    const lt_node *d = &net->nodes[i];
    int64_t shape[LT_MAX_DIMS + 1];
    shape[0] = N;
    memcpy(shape + 1, d->shape, (size_t)d->nd * 8);
    return lt_lua_pushtensor(L, lt_tensor_empty(1 + d->nd, shape));
}

/* net:predict(xs, batch) → one tensor per output, N×(output shape) */
static int net_predict(lua_State *L) {
    lt_net *net = checknet(L, 1);
    lua_Integer batch = luaL_optinteger(L, 3, 32);
    lt_tensor *xs[LT_MAX_MERGE], *outs[LT_MAX_MERGE];
    Hold *h = hold_new(L);
    int64_t N = read_inputs(L, net, 2, xs, "predict", h);
    lt_lua_check(L, lt_net_build(net, &lt_global_rng));
    int top = lua_gettop(L);
    for (int o = 0; o < net->noutputs; o++) outs[o] = push_node_tensor(L, net, net->outputs[o], N);
    lt_status s = lt_net_predict(net, (const lt_tensor *const *)xs, batch, outs);
    if (s != LT_OK) return raise_status(L, s);
    return lua_gettop(L) - top;
}

/* net:forward(xs, training) → one tensor per output (one batch). A training forward keeps
 * its inputs for backward. */
static int net_forward(lua_State *L) {
    LNet *u = checklnet(L, 1);
    lt_net *net = u->net;
    int training = lua_toboolean(L, 3);
    lt_tensor *xs[LT_MAX_MERGE];
    Hold *h = hold_new(L);
    int64_t N = read_inputs(L, net, 2, xs, "forward", h);
    const float *xp[LT_MAX_MERGE];
    if (training) {                 /* backward reads these inputs: the net keeps views */
        drop_fwd_inputs(u);
        for (int k = 0; k < net->ninputs; k++)
            if (!(u->fwd_in[k] = lt_tensor_reshape(xs[k], xs[k]->ndim, xs[k]->shape)))
                return luaL_error(L, "forward: out of memory");
        memcpy(xs, u->fwd_in, (size_t)net->ninputs * sizeof *xs);
    }
    for (int k = 0; k < net->ninputs; k++) xp[k] = xs[k]->data;
    lt_status s = lt_net_forward(net, xp, N, training);
    if (s != LT_OK) return raise_status(L, s);
    int top = lua_gettop(L);
    for (int o = 0; o < net->noutputs; o++) {
        lt_tensor *y = push_node_tensor(L, net, net->outputs[o], N);
        memcpy(y->data, lt_net_output(net, o), (size_t)y->numel * sizeof(float));
    }
    return lua_gettop(L) - top;
}

/* net:backward(dys) → one gradient per input. Accumulates the parameter gradients. */
static int net_backward(lua_State *L) {
    lt_net *net = checknet(L, 1);
    int64_t N = net->fwd_n;
    if (N == 0) lt_lua_check(L, lt_net_backward(net, NULL, NULL));     /* raises */
    lt_tensor *dys[LT_MAX_MERGE], *dxs[LT_MAX_MERGE];
    read_tensors(L, 2, net->noutputs, dys, "backward", "output", hold_new(L));
    const float *dp[LT_MAX_MERGE];
    for (int o = 0; o < net->noutputs; o++) {
        const lt_node *d = &net->nodes[net->outputs[o]];
        if (dys[o]->ndim != d->nd + 1 || dys[o]->shape[0] != N ||
            memcmp(dys[o]->shape + 1, d->shape, (size_t)d->nd * 8) != 0) {
            char a[160], b[160];
            return luaL_error(L, "backward: the gradient of output %d has shape %s, the output "
                              "is %s (batch %I)", o + 1,
                              lt_shape_str(dys[o]->ndim, dys[o]->shape, a, sizeof a),
                              lt_layer_shape_str(d->nd, d->shape, b, sizeof b), (lua_Integer)N);
        }
        dp[o] = dys[o]->data;
    }
    int top = lua_gettop(L);
    float *dxp[LT_MAX_MERGE];
    for (int k = 0; k < net->ninputs; k++) {
        dxs[k] = push_node_tensor(L, net, k, N);
        dxp[k] = dxs[k]->data;
    }
    lt_status s = lt_net_backward(net, dp, dxp);
    if (s != LT_OK) return raise_status(L, s);
    return lua_gettop(L) - top;
}

/* net:explain(xs, dys, logits, node) → node output, d/d node output (nil, nil when node is
 * nil), then one input gradient per input: lt_net_explain (saliency, Grad-CAM). dys: one
 * per output, N×(output shape); node: a 1-based node id (see net:info()). */
static int net_explain(lua_State *L) {
    lua_settop(L, 5);     /* the node's slot, before the Hold box: without it, a call with no
                           * node read the box as the node ("got lunette.Hold") */
    lt_net *net = checknet(L, 1);
    lt_tensor *xs[LT_MAX_MERGE], *dys[LT_MAX_MERGE];
    Hold *h = hold_new(L);
    int64_t N = read_inputs(L, net, 2, xs, "explain", h);
    read_tensors(L, 3, net->noutputs, dys, "explain", "output", h);
    int logits = lua_toboolean(L, 4);
    int node = lua_isnoneornil(L, 5) ? -1 : node_id(L, 5, net->n);
    const float *xp[LT_MAX_MERGE], *dp[LT_MAX_MERGE];
    for (int k = 0; k < net->ninputs; k++) xp[k] = xs[k]->data;
    for (int o = 0; o < net->noutputs; o++) {
        if (dys[o]->numel != N * lt_net_out_size(net, o))
            return luaL_error(L, "explain: the gradient of output %d has %I values, expected %I",
                              o + 1, (lua_Integer)dys[o]->numel,
                              (lua_Integer)(N * lt_net_out_size(net, o)));
        dp[o] = dys[o]->data;
    }
    int top = lua_gettop(L);
    float *on = NULL, *dn = NULL, *dxp[LT_MAX_MERGE];
    if (node >= 0) {
        on = push_node_tensor(L, net, node, N)->data;
        dn = push_node_tensor(L, net, node, N)->data;
    } else {
        lua_pushnil(L);
        lua_pushnil(L);
    }
    for (int k = 0; k < net->ninputs; k++) dxp[k] = push_node_tensor(L, net, k, N)->data;
    lt_status s = lt_net_explain(net, xp, N, dp, logits, node, on, dn, dxp);
    if (s != LT_OK) return raise_status(L, s);
    return lua_gettop(L) - top;
}

/* net:_outputs(xs) → {node output, ...}: every layer node's output (in node order, the
 * inputs left out) for xs in inference mode, from one forward (the per-epoch activation
 * histograms of fit{monitor=true}). */
static int net_outputs(lua_State *L) {
    lt_net *net = checknet(L, 1);
    lt_tensor *xs[LT_MAX_MERGE];
    Hold *h = hold_new(L);
    int64_t N = read_inputs(L, net, 2, xs, "outputs", h);
    const float *xp[LT_MAX_MERGE];
    for (int k = 0; k < net->ninputs; k++) xp[k] = xs[k]->data;
    lua_createtable(L, net->n - net->ninputs, 0);
    int tbl = lua_gettop(L);
    for (int i = net->ninputs; i < net->n; i++) {    /* boxes first: nothing raises after */
        push_node_tensor(L, net, i, N);
        lua_rawseti(L, tbl, i - net->ninputs + 1);
    }
    lt_status s = lt_net_explain(net, xp, N, NULL, 0, -1, NULL, NULL, NULL);
    if (s != LT_OK) return raise_status(L, s);
    for (int i = net->ninputs; i < net->n; i++) {
        lua_rawgeti(L, tbl, i - net->ninputs + 1);
        lt_tensor *t = lt_lua_checktensor(L, -1);
        memcpy(t->data, net->out[i], (size_t)t->numel * sizeof(float));
        lua_pop(L, 1);
    }
    return 1;
}

/* net:_monitor(on [, every=1]): layer health statistics of every `every`-th training step
 * from now on (the first included), or none (monitor.h); turning it on clears the sums. */
static int net_monitor(lua_State *L) {
    lt_net *net = checknet(L, 1);
    int on = lua_toboolean(L, 2);
    lua_Integer every = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, every >= 1 && every <= 1000000, 3, "every must be 1..1000000");
    if (!on) {
        lt_monitor_free(net->monitor);
        net->monitor = NULL;
        return 0;
    }
    if (!net->monitor && !(net->monitor = lt_monitor_new(net->n, (int)every)))
        return luaL_error(L, "monitor: out of memory");
    lt_monitor_restart(net->monitor, (int)every);
    return 0;
}

static void set_stat(lua_State *L, const char *k, double v) {
    if (v < 0) return;                   /* -1: not measured for this node */
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* net:_health([reset [, since]]) → {steps=, nodes={{name, kind, dead, mean, std, grad_norm,
 * update_ratio, last={...}}, ...}} for the non-input nodes in order (their means over the
 * steps since the last reset; last: the last step's), then clears the sums when reset.
 * nil when monitoring is off, or when the step count is still `since` (nothing new). */
static int net_health(lua_State *L) {
    lt_net *net = checknet(L, 1);
    lt_monitor *m = net->monitor;
    int reset = lua_toboolean(L, 2);
    if (!m || (lua_isinteger(L, 3) && lua_tointeger(L, 3) == m->steps)) return 0;
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)m->steps);
    lua_setfield(L, -2, "steps");
    lua_createtable(L, net->n - net->ninputs, 0);
    double k = m->steps ? 1.0 / (double)m->steps : 0;
    for (int i = net->ninputs; i < net->n && i < m->n; i++) {
        const lt_health *s = &m->sum[i], *h = &m->last[i];
        lua_createtable(L, 0, 8);
        lua_pushstring(L, net->nodes[i].layer->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, net->nodes[i].layer->vt->kind);
        lua_setfield(L, -2, "kind");
        if (m->steps) {
            set_stat(L, "dead", h->dead < 0 ? -1 : s->dead * k);
            lua_pushnumber(L, s->mean * k);
            lua_setfield(L, -2, "mean");
            lua_pushnumber(L, s->std * k);
            lua_setfield(L, -2, "std");
            set_stat(L, "grad_norm", h->gnorm < 0 ? -1 : s->gnorm * k);
            set_stat(L, "update_ratio", h->ratio < 0 ? -1 : s->ratio * k);
            lua_createtable(L, 0, 5);
            set_stat(L, "dead", h->dead);
            lua_pushnumber(L, h->mean);
            lua_setfield(L, -2, "mean");
            lua_pushnumber(L, h->std);
            lua_setfield(L, -2, "std");
            set_stat(L, "grad_norm", h->gnorm);
            set_stat(L, "update_ratio", h->ratio);
            lua_setfield(L, -2, "last");
        }
        lua_rawseti(L, -2, i - net->ninputs + 1);
    }
    lua_setfield(L, -2, "nodes");
    if (reset) lt_monitor_reset(m);
    return 1;
}

/* net:_nonfinite() → layer name, "weights" | "output" of the first node holding a NaN or
 * an infinity after a refused step, or nothing. */
static int net_nonfinite(lua_State *L) {
    lt_net *net = checknet(L, 1);
    int weights = 0;
    int i = lt_monitor_first_nonfinite(net, net->cap, &weights);
    if (i < 0) return 0;
    lua_pushstring(L, net->nodes[i].layer->name);
    lua_pushstring(L, weights ? "weights" : "output");
    return 2;
}

/* net:_timing(on) → {steps, forward, loss, backward, optimizer (seconds summed), allocs}
 * since the last call, then sets timing on or off (tests/bench). allocs is -1 when the
 * build does not count allocations (LUNETTE_COUNT_ALLOCS). */
static int net_timing(lua_State *L) {
    lt_net *net = checknet(L, 1);
    lt_net_timing *t = &net->timing;
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, t->steps); lua_setfield(L, -2, "steps");
    lua_pushnumber(L, t->forward); lua_setfield(L, -2, "forward");
    lua_pushnumber(L, t->loss); lua_setfield(L, -2, "loss");
    lua_pushnumber(L, t->backward); lua_setfield(L, -2, "backward");
    lua_pushnumber(L, t->optimizer); lua_setfield(L, -2, "optimizer");
    lua_pushinteger(L, lt_alloc_count() < 0 ? -1 : t->allocs); lua_setfield(L, -2, "allocs");
    memset(t, 0, sizeof *t);
    t->on = lua_toboolean(L, 2);
    return 1;
}

static int nn_alloc_count(lua_State *L) {        /* process heap allocations, or -1 */
    lua_pushinteger(L, lt_alloc_count());
    return 1;
}

/* net:evaluate(xs, ys, batch [, n]) → loss, correct, total */
static int net_evaluate(lua_State *L) {
    LNet *u = checklnet(L, 1);
    lt_net *net = u->net;
    lua_Integer batch = luaL_optinteger(L, 4, 32);
    lua_Integer n = luaL_optinteger(L, 5, 0);
    const lt_net_loss *ls = losses(L, u);
    lt_tensor *xs[LT_MAX_MERGE], *ys[LT_MAX_MERGE];
    Hold *h = hold_new(L);
    int64_t N = read_inputs(L, net, 2, xs, "evaluate", h);
    read_targets(L, net, 3, N, ys, "evaluate", h);
    if (n == 0) n = N;
    if (n < 1 || n > N) luaL_error(L, "evaluate: %I rows of %I", n, (lua_Integer)N);
    double loss;
    int64_t c, t;
    lt_status s = lt_net_evaluate(net, (const lt_tensor *const *)xs,
                                  (const lt_tensor *const *)ys, n, batch, ls, &loss, &c, &t);
    if (s != LT_OK) return raise_status(L, s);
    lua_pushnumber(L, loss);
    lua_pushinteger(L, c);
    lua_pushinteger(L, t);
    return 3;
}

/* ---- losses (standalone objects are built in model.lua on these) ---- */

static void loss_args(lua_State *L, lt_loss_kind *k, lt_tensor **p, lt_tensor **t,
                      int64_t *rows, int64_t *K) {
    *k = check_loss(L, 1);
    *p = lt_lua_totensor(L, 2, lt_loss_name(*k));
    *t = lt_lua_totensor(L, 3, lt_loss_name(*k));
    *K = (*p)->ndim ? (*p)->shape[(*p)->ndim - 1] : 1;
    *rows = (*p)->numel / *K;
    lt_lua_check(L, lt_loss_check(*k, *rows, *K, (*t)->data, (*t)->numel));
}

static int nn_loss_forward(lua_State *L) {
    lt_loss_kind k;
    lt_tensor *p, *t;
    int64_t rows, K;
    loss_args(L, &k, &p, &t, &rows, &K);
    double v;
    lt_loss_eval(k, p->data, rows, K, t->data, &v, NULL);
    lua_pushnumber(L, v);
    return 1;
}

static int nn_loss_backward(lua_State *L) {
    lt_loss_kind k;
    lt_tensor *p, *t;
    int64_t rows, K;
    loss_args(L, &k, &p, &t, &rows, &K);
    lt_tensor *g = lt_lua_pushtensor(L, lt_tensor_empty(p->ndim, p->shape));
    double v;
    lt_loss_eval(k, p->data, rows, K, t->data, &v, g->data);
    return 1;
}

static int nn_isatty(lua_State *L) {
    lua_pushboolean(L, isatty(1));
    return 1;
}

/* nn._ascii(): whether text output should be plain ASCII (lunette.plain, dumb or non-
 * terminal stdout, non-UTF-8 locale): the rule the plots use. */
static int nn_ascii(lua_State *L) {
    int plain = 0, tc;
    if (lua_getfield(L, LUA_REGISTRYINDEX, "lunette.module") == LUA_TTABLE) {
        lt_lua_rawfield(L, -1, "plain");
        plain = lua_toboolean(L, -1);
    }
    lua_pushboolean(L, lt_style_detect(plain, &tc) == LT_STYLE_ASCII);
    return 1;
}

/* ---- registration ---- */

#define LAYER_COMMON "\nEvery layer has :forward(x), :backward(x, grad_out), :parameters(), .weight, " \
    ".bias,\n:train(), :evaluate(). Calling forward on a standalone layer is inference mode " \
    "(Keras);\n:train() switches dropout and batch normalisation to training behaviour.\n" \
    "Options of every layer: name, input_shape, and (layers with parameters) trainable=true.\n" \
    "trainable=false (or layer.trainable = false, model.trainable = false for all) freezes\n" \
    "the layer: fit and train_on_batch leave its weights as they are, summary() counts them\n" \
    "as non-trainable, model:parameters() leaves them out, and a frozen BatchNorm runs in\n" \
    "inference mode (its moving statistics, as Keras). The flag is read at every step: a\n" \
    "change after compile takes effect at the next step, no compile needed (Keras asks for\n" \
    "one). It is saved with the model. An unknown option is an error naming it."

static const lt_reg nn_funcs[] = {
    {"Conv2D", nn_conv2d, "nn.Conv2D{filters, kernel, stride=1, padding='valid', activation, "
     "use_bias=true, input_shape}\n\n2-d convolution over N×H×W×C images (Keras Conv2D). kernel "
     "(or kernel_size) and stride\n(or strides) are a number or {h, w}; padding 'valid' or "
     "'same' (TensorFlow's, asymmetric at\nstride 2); activation 'relu', 'sigmoid', 'tanh', "
     "'softmax', 'leaky_relu' or none.\nKernel KH×KW×C×filters (glorot uniform), bias zeros."
     LAYER_COMMON "\nExample: nn.Conv2D{filters=32, kernel=3, stride=2, activation='relu', "
     "input_shape={32,32,3}}"},
    {"Conv1D", nn_conv1d, "nn.Conv1D{filters, kernel, stride=1, padding='valid', activation, "
     "use_bias=true}\n\n1-d convolution over N×L×C sequences (Keras Conv1D); kernel K×C×filters."
     LAYER_COMMON "\nExample: nn.Conv1D{filters=16, kernel=3, activation='relu'}"},
    {"Dense", nn_dense, "nn.Dense{units, activation, use_bias=true, input_shape}\n\nFully "
     "connected layer on the last axis: y = act(x·W + b), W in×units (glorot uniform)."
     LAYER_COMMON "\nExample: nn.Dense{10, activation='softmax'}"},
    {"MaxPool2D", nn_maxpool2d, "nn.MaxPool2D{size=2, stride=size, padding='valid'}\n\nMax "
     "over size×size windows of N×H×W×C (Keras MaxPooling2D; pool_size/strides also work)."
     LAYER_COMMON "\nExample: nn.MaxPool2D{2}"},
    {"AvgPool2D", nn_avgpool2d, "nn.AvgPool2D{size=2, stride=size, padding='valid'}\n\nAverage "
     "over size×size windows (padded cells are not counted)." LAYER_COMMON
     "\nExample: nn.AvgPool2D{2}"},
    {"MaxPool1D", nn_maxpool1d, "nn.MaxPool1D{size=2, stride=size, padding='valid'}\n\nMax over "
     "windows of N×L×C sequences." LAYER_COMMON "\nExample: nn.MaxPool1D{2}"},
    {"GlobalMaxPool2D", nn_gmaxpool2d, "nn.GlobalMaxPool2D()\n\nMaximum of each channel over "
     "all positions: N×H×W×C → N×C." LAYER_COMMON "\nExample: nn.GlobalMaxPool2D()"},
    {"GlobalAvgPool2D", nn_gavgpool2d, "nn.GlobalAvgPool2D()\n\nMean of each channel over all "
     "positions: N×H×W×C → N×C." LAYER_COMMON "\nExample: nn.GlobalAvgPool2D()"},
    {"GlobalMaxPool1D", nn_gmaxpool1d, "nn.GlobalMaxPool1D()\n\nMaximum of each channel over a "
     "sequence: N×L×C → N×C." LAYER_COMMON "\nExample: nn.GlobalMaxPool1D()"},
    {"Flatten", nn_flatten, "nn.Flatten()\n\nN×H×W×C → N×(H·W·C) in channels-last order (as "
     "Keras)." LAYER_COMMON "\nExample: nn.Flatten()"},
    {"Dropout", nn_dropout, "nn.Dropout(rate)\n\nInverted dropout: in training, zeroes each "
     "value with probability rate and scales the\nothers by 1/(1-rate); the identity at "
     "inference." LAYER_COMMON "\nExample: nn.Dropout(0.2)"},
    {"BatchNorm", nn_batchnorm, "nn.BatchNorm{momentum=0.99, epsilon=1e-3}\n\nBatch "
     "normalisation over the last axis (Keras BatchNormalization): batch statistics in\n"
     "training, moving averages at inference. weight = gamma, bias = beta; .moving_mean,\n"
     ".moving_variance." LAYER_COMMON "\nExample: nn.BatchNorm()"},
    {"Embedding", nn_embedding, "nn.Embedding{vocab, dim}\n\nMaps integer ids 0..vocab-1 (N×L) "
     "to rows of a vocab×dim table: N×L×dim (Keras\nEmbedding; input_dim/output_dim also work)."
     LAYER_COMMON "\nExample: nn.Embedding{1000, 16}"},
    {"ReLU", nn_relu, "nn.ReLU()\n\nmax(x, 0)." LAYER_COMMON "\nExample: nn.ReLU()"},
    {"LeakyReLU", nn_leaky, "nn.LeakyReLU{negative_slope=0.3}\n\nx for x > 0, slope·x "
     "otherwise (Keras default slope 0.3; alpha also works)." LAYER_COMMON
     "\nExample: nn.LeakyReLU(0.1)"},
    {"Sigmoid", nn_sigmoid, "nn.Sigmoid()\n\n1 / (1 + exp(-x))." LAYER_COMMON
     "\nExample: nn.Sigmoid()"},
    {"Tanh", nn_tanh, "nn.Tanh()\n\ntanh(x)." LAYER_COMMON "\nExample: nn.Tanh()"},
    {"Softmax", nn_softmax, "nn.Softmax()\n\nSoftmax over the last axis." LAYER_COMMON
     "\nExample: nn.Softmax()"},
    {"Add", nn_add, "nn.Add()\n\nMerge layer: the elementwise sum of its inputs (same shapes). "
     "Call it on a list of\nsymbolic tensors in a graph model (Keras Add).\n"
     "Example: y = nn.Add()({x, "
     "shortcut})"},
    {"Subtract", nn_subtract, "nn.Subtract()\n\nMerge layer: the first input minus the second "
     "(same shapes).\nExample: d = nn.Subtract()({a, b})"},
    {"Multiply", nn_multiply, "nn.Multiply()\n\nMerge layer: the elementwise product of its "
     "inputs (same shapes).\nExample: g = nn.Multiply()({x, gate})"},
    {"Average", nn_average, "nn.Average()\n\nMerge layer: the elementwise mean of its inputs "
     "(same shapes).\nExample: m = nn.Average()({a, b, c})"},
    {"Maximum", nn_maximum, "nn.Maximum()\n\nMerge layer: the elementwise maximum of its "
     "inputs (same shapes);\nthe gradient goes to the first input holding the maximum.\n"
     "Example: m = nn.Maximum()({a, b})"},
    {"Concatenate", nn_concatenate, "nn.Concatenate{axis=-1}\n\nMerge layer: joins its inputs "
     "along axis (-1: the last, the channels; or 1..rank\ncounting the batch axis as 0, as "
     "Keras); the other sizes must agree.\nExample: y = nn.Concatenate{axis=-1}({a, b})"},
    {"Lambda", nn_lambda,
     "nn.Lambda{forward=fn(x) → y, backward=fn(x, dy) → dx, output_shape}\n\n"
     "A layer without parameters written in Lua (Keras Lambda): forward maps a batch to a\n"
     "batch; backward (needed to train through it) returns the gradient w.r.t. x. The\n"
     "output shape is found by running forward on one sample, or given (a shape, or a\n"
     "function of the input shape). Check a backward with nn.gradcheck. Lua layers run\n"
     "on one thread. A saved model needs the layer again at load (nn.load's custom_objects)."
     LAYER_COMMON "\nExample: sq = nn.Lambda{forward=function(x) return x * x end,\n"
     "                       backward=function(x, dy) return dy * x * 2 end}"},
    {"Layer", nn_layer,
     "nn.Layer{weight=, bias=, forward=fn(self, x) → y,\n"
     "         backward=fn(self, x, dy) → dx, dw, db, output_shape}\n\n"
     "A layer with parameters written in Lua (Keras's subclassing, "
     "Torch7's Lua modules).\nweight and bias are shapes (glorot-uniform weight, zero bias) or "
     "tensors of initial\nvalues; forward and backward read self.weight and self.bias, and "
     "backward returns the\ngradients w.r.t. x, the weight and the bias (nil for none), which "
     "accumulate like a\nbuilt-in layer's. The optimizer updates the weights and save stores "
     "them. output_shape\n(a shape or a function of the input shape) is required with a weight."
     LAYER_COMMON
     "\nExample: nn.Layer{weight={4, 3}, bias={3}, output_shape=function(s) return {3} end,\n"
     "  forward=function(self, x) return x:matmul(self.weight) + self.bias end,\n"
     "  backward=function(self, x, dy) return dy:matmul(self.weight:transpose(1, 2)),\n"
     "    x:transpose(1, 2):matmul(dy), dy:sum(1) end}"},
    {"Input", nn_input, "nn.Input{H, W, C} or nn.Input{shape={...}}\n\nFixes the per-sample "
     "input shape of a model (Keras Input).\nExample: nn.Sequential{nn.Input{28, 28, 1}, "
     "nn.Flatten(), nn.Dense{10}}"},
    {"_net", nn_net, NULL},
    {"_graph", nn_graph, NULL},
    {"_loss_forward", nn_loss_forward, NULL},
    {"_loss_backward", nn_loss_backward, NULL},
    {"_isatty", nn_isatty, NULL},
    {"_alloc_count", nn_alloc_count, NULL},
    {"_ascii", nn_ascii, NULL},
    {NULL, NULL, NULL}};

static const lt_reg layer_meths[] = {
    {"forward", layer_forward, "layer:forward(x) → y\n\nRuns the layer on a batch x (N×sample "
     "shape); builds the parameters on the first call.\nA layer given input_shape, or set up by a "
     "model, takes only that sample shape\n(an error names the expected shape).\n"
     "Example: y = nn.Dense{3}:forward(tensor.randn(2, 4))"},
    {"backward", layer_backward, "layer:backward(x, grad_out) → grad_in\n\nThe gradient w.r.t. "
     "x given the gradient w.r.t. the output of the last forward(x);\naccumulates the parameter "
     "gradients (see :parameters(), :zero_grad()).\nExample: l:forward(x); dx = l:backward(x, dy)"},
    {"parameters", layer_parameters, "layer:parameters() → params, grads\n\nLists of tensors "
     "(views: updating them updates the layer), e.g. {weight, bias}. When the\nlayer's "
     "parameters move into a model's buffer (its first fit or predict), views taken\nbefore "
     "are refused with an error: take them again.\nExample: p, g = "
     "layer:parameters(); opt:step(p, g)"},
    {"train", layer_train, "layer:train()\n\nTraining mode (dropout drops, batchnorm uses batch "
     "statistics). Returns the layer."},
    {"evaluate", layer_evaluate, "layer:evaluate()\n\nInference mode (the default for a "
     "standalone layer). Returns the layer."},
    {"zero_grad", layer_zero_grad, "layer:zero_grad()\n\nSets the accumulated parameter "
     "gradients to zero."},
    {"count_params", layer_count_params, "layer:count_params() → n\n\nParameters of the layer "
     "(0 until its input shape is known)."},
    {"config", layer_config, "layer:config() → table\n\nThe layer's Keras-style configuration "
     "(class, filters, kernel_size, ...)."},
    {"_out_shape", layer_out_shape, NULL},
    {NULL, NULL, NULL}};

static const lt_reg net_meths[] = {
    {"info", net_info, NULL}, {"build", net_build, NULL}, {"flat", net_flat, NULL},
    {"train_on_batch", net_train_on_batch, NULL}, {"shuffle", net_shuffle, NULL},
    {"train_rows", net_train_rows, NULL}, {"check_targets", net_check_targets, NULL}, {"predict", net_predict, NULL},
    {"forward", net_forward, NULL}, {"evaluate", net_evaluate, NULL},
    {"backward", net_backward, NULL}, {"zero_grad", net_zero_grad, NULL},
    {"explain", net_explain, NULL}, {"_monitor", net_monitor, NULL},
    {"_health", net_health, NULL}, {"_nonfinite", net_nonfinite, NULL},
    {"_outputs", net_outputs, NULL},
    {"set_loss", net_set_loss, NULL},
    {"_timing", net_timing, NULL}, {NULL, NULL, NULL}};

static const luaL_Reg layer_metas[] = {
    {"__gc", layer__gc}, {"__tostring", layer__tostring}, {"__newindex", layer__newindex},
    {NULL, NULL}};

int luaopen_lunette_nn(lua_State *L) {
    lua_newtable(L);                                   /* Lua layers' objects, weakly */
    lua_createtable(L, 0, 1);
    lua_pushstring(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, LUALAYER_OBJECTS);

    lt_lua_newclass(L, LAYER_MT, layer_metas, layer_meths, "Layer:", layer__index);

    luaL_newmetatable(L, HOLD_MT);
    lua_pushcfunction(L, hold__gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_newmetatable(L, NET_MT);
    lua_pushcfunction(L, net__gc); lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    lt_lua_setfuncs(L, NULL, net_meths);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_newtable(L);
    lt_lua_setfuncs(L, "nn", nn_funcs);
    lt_lua_sethelp(L, -1, "nn", "nn: layers, models and losses (Keras style, channels-last).\n\n"
                   "Layers: Input, Conv2D, Conv1D, MaxPool2D, AvgPool2D, GlobalMaxPool2D,\n"
                   "GlobalAvgPool2D, MaxPool1D, GlobalMaxPool1D, Flatten, Dense, Dropout, "
                   "BatchNorm,\nEmbedding, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax.\n"
                   "Models: nn.Sequential{...}, nn.load(path). Losses: nn.loss(name).\n"
                   "See help(nn.Conv2D), help(nn.Sequential).");
    return 1;
}

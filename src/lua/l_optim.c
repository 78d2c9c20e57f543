/* l_optim.c: the `optim` module: SGD, Adam and RMSprop objects (lunette.Optimizer) on
 * the fused C updates of src/nn/optim.c. opt:step(params, grads) updates lists of
 * tensors in place; a model's training step passes its one flat parameter buffer.
 * opt:state() / opt:set_state(t) expose the iteration count and moment buffers so a
 * saved model resumes training where it stopped. */
#include <string.h>

#include "lua/l_nn.h"

lt_optim *lt_lua_checkoptim(lua_State *L, int idx) {
    LOptim *u = luaL_checkudata(L, idx, OPTIM_MT);
    if (!u->o) luaL_argerror(L, idx, "optimizer has been freed");
    return u->o;
}

/* The first of several option names present in the table at idx (Keras and SPEC names). */
static double num_opt(lua_State *L, int idx, const char *fn, const char *a, const char *b,
                      double def) {
    if (lua_type(L, idx) != LUA_TTABLE) return def;
    const char *names[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (!names[i]) continue;
        if (lt_lua_rawfield(L, idx, names[i]) != LUA_TNIL) {
            int ok;
            double v = lua_tonumberx(L, -1, &ok);
            if (!ok) luaL_error(L, "%s: '%s' must be a number, got %s", fn, names[i],
                                luaL_typename(L, -1));
            lua_pop(L, 1);
            return v;
        }
        lua_pop(L, 1);
    }
    return def;
}

static LOptim *newbox(lua_State *L, lt_optim_kind kind) {
    LOptim *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->o = NULL;
    luaL_setmetatable(L, OPTIM_MT);
    if (!(u->o = lt_optim_new(kind))) luaL_error(L, "%s", lt_lasterror());
    return u;
}

static void check_positive(lua_State *L, const char *fn, const char *what, double v) {
    if (!(v > 0)) luaL_error(L, "%s: %s must be positive, got %f", fn, what, v);
}

static int optim_sgd(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
    double lr = num_opt(L, 1, "optim.SGD", "lr", "learning_rate", 0.01);
    double mom = num_opt(L, 1, "optim.SGD", "momentum", NULL, 0);
    check_positive(L, "optim.SGD", "lr", lr);
    if (!(mom >= 0 && mom < 1)) luaL_error(L, "optim.SGD: momentum must be in [0, 1), got %f", mom);
    int nesterov = 0;
    if (lua_type(L, 1) == LUA_TTABLE) {
        lt_lua_rawfield(L, 1, "nesterov");
        nesterov = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lt_optim *o = newbox(L, LT_OPT_SGD)->o;
    o->lr = (float)lr;
    o->momentum = (float)mom;
    o->nesterov = nesterov;
    return 1;
}

static int optim_adam(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
    double lr = num_opt(L, 1, "optim.Adam", "lr", "learning_rate", 1e-3);
    double b1 = num_opt(L, 1, "optim.Adam", "beta1", "beta_1", 0.9);
    double b2 = num_opt(L, 1, "optim.Adam", "beta2", "beta_2", 0.999);
    double eps = num_opt(L, 1, "optim.Adam", "eps", "epsilon", 1e-7);
    check_positive(L, "optim.Adam", "lr", lr);
    check_positive(L, "optim.Adam", "eps", eps);
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1))
        luaL_error(L, "optim.Adam: beta1 and beta2 must be in [0, 1), got %f and %f", b1, b2);
    lt_optim *o = newbox(L, LT_OPT_ADAM)->o;
    o->lr = (float)lr;
    o->beta1 = (float)b1;
    o->beta2 = (float)b2;
    o->eps = (float)eps;
    return 1;
}

static int optim_rmsprop(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
    double lr = num_opt(L, 1, "optim.RMSprop", "lr", "learning_rate", 1e-3);
    double rho = num_opt(L, 1, "optim.RMSprop", "rho", NULL, 0.9);
    double eps = num_opt(L, 1, "optim.RMSprop", "eps", "epsilon", 1e-7);
    check_positive(L, "optim.RMSprop", "lr", lr);
    check_positive(L, "optim.RMSprop", "eps", eps);
    if (!(rho >= 0 && rho < 1)) luaL_error(L, "optim.RMSprop: rho must be in [0, 1), got %f", rho);
    lt_optim *o = newbox(L, LT_OPT_RMSPROP)->o;
    o->lr = (float)lr;
    o->rho = (float)rho;
    o->eps = (float)eps;
    return 1;
}

/* opt:step(params, grads): lists of tensors (or single tensors) */
static int optim_m_step(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    const char *fn = lt_optim_name(o);
    if (lt_lua_testtensor(L, 2) && lt_lua_testtensor(L, 3)) {   /* step(w, g) */
        lua_createtable(L, 1, 0); lua_pushvalue(L, 2); lua_rawseti(L, -2, 1); lua_replace(L, 2);
        lua_createtable(L, 1, 0); lua_pushvalue(L, 3); lua_rawseti(L, -2, 1); lua_replace(L, 3);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 2), ng = (int)lua_rawlen(L, 3);
    if (n != ng) return luaL_error(L, "%s:step: %d parameters but %d gradients", fn, n, ng);
    if (n == 0) return 0;
    /* GC-owned arrays: no leak if a check below raises */
    float **p = lua_newuserdatauv(L, (size_t)n * sizeof *p, 0);
    const float **g = lua_newuserdatauv(L, (size_t)n * sizeof *g, 0);
    int64_t *sz = lua_newuserdatauv(L, (size_t)n * sizeof *sz, 0);
    char a[160], b[160];
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        lua_rawgeti(L, 3, i + 1);
        lt_tensor *w = lt_lua_testtensor(L, -2), *d = lt_lua_testtensor(L, -1);
        if (!w || !d)
            return luaL_error(L, "%s:step: %s %d is a %s, expected a tensor", fn,
                              w ? "gradient" : "parameter", i + 1, luaL_typename(L, w ? -1 : -2));
        if (!lt_same_shape(w, d))
            return luaL_error(L, "%s:step: parameter %d has shape %s but its gradient %s", fn,
                              i + 1, lt_shape_str(w->ndim, w->shape, a, sizeof a),
                              lt_shape_str(d->ndim, d->shape, b, sizeof b));
        p[i] = w->data;
        g[i] = d->data;
        sz[i] = w->numel;
        lua_pop(L, 2);
    }
    lt_lua_check(L, lt_optim_step(o, n, p, g, sz));
    return 0;
}

/* opt:state() → {iterations=t, m=tensor|nil, v=tensor|nil} (copies) */
static int optim_m_state(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    lua_newtable(L);
    lua_pushinteger(L, o->t);
    lua_setfield(L, -2, "iterations");
    int64_t n = o->n;
    if (n > 0 && o->m) { lt_lua_pushtensor(L, lt_tensor_from(1, &n, o->m)); lua_setfield(L, -2, "m"); }
    if (n > 0 && o->v) { lt_lua_pushtensor(L, lt_tensor_from(1, &n, o->v)); lua_setfield(L, -2, "v"); }
    return 1;
}

/* opt:set_state{iterations=, m=, v=} */
static int optim_m_set_state(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lt_lua_rawfield(L, 2, "m");
    lt_lua_rawfield(L, 2, "v");
    lt_tensor *m = lua_isnil(L, -2) ? NULL : lt_lua_checktensor(L, -2);
    lt_tensor *v = lua_isnil(L, -1) ? NULL : lt_lua_checktensor(L, -1);
    int64_t n = m ? m->numel : v ? v->numel : 0;
    if (m && v && m->numel != v->numel)
        return luaL_error(L, "%s:set_state: m has %I values but v has %I", lt_optim_name(o),
                          (lua_Integer)m->numel, (lua_Integer)v->numel);
    lua_Integer t = lt_lua_optfield_int(L, 2, "iterations", 0);
    /* 2^53: beyond it the step count cannot grow (and Adam's bias correction is 1 long
     * before); math.maxinteger overflowed at the next step and made the weights NaN */
    if (t < 0) return luaL_error(L, "%s:set_state: iterations must be >= 0", lt_optim_name(o));
    if (t > ((lua_Integer)1 << 53))
        return luaL_error(L, "%s:set_state: iterations must be at most 2^53, got %I",
                          lt_optim_name(o), t);
    lt_lua_check(L, lt_optim_reserve(o, n));
    if (m && o->m) memcpy(o->m, m->data, (size_t)n * sizeof(float));
    if (v && o->v) memcpy(o->v, v->data, (size_t)n * sizeof(float));
    o->t = t;
    return 0;
}

/* opt:config() → {name=, lr=, ...} (what compile/save record) */
static int optim_m_config(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    lua_newtable(L);
    lua_pushstring(L, lt_optim_name(o)); lua_setfield(L, -2, "name");
    lua_pushnumber(L, o->lr); lua_setfield(L, -2, "lr");
    switch (o->kind) {
    case LT_OPT_SGD:
        lua_pushnumber(L, o->momentum); lua_setfield(L, -2, "momentum");
        lua_pushboolean(L, o->nesterov); lua_setfield(L, -2, "nesterov");
        break;
    case LT_OPT_ADAM:
        lua_pushnumber(L, o->beta1); lua_setfield(L, -2, "beta1");
        lua_pushnumber(L, o->beta2); lua_setfield(L, -2, "beta2");
        lua_pushnumber(L, o->eps); lua_setfield(L, -2, "eps");
        break;
    case LT_OPT_RMSPROP:
        lua_pushnumber(L, o->rho); lua_setfield(L, -2, "rho");
        lua_pushnumber(L, o->eps); lua_setfield(L, -2, "eps");
        break;
    }
    return 1;
}

static int optim__index(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    const char *k = lua_tostring(L, 2);
    if (k && (strcmp(k, "lr") == 0 || strcmp(k, "learning_rate") == 0)) {
        lua_pushnumber(L, o->lr);
        return 1;
    }
    if (k && strcmp(k, "iterations") == 0) { lua_pushinteger(L, o->t); return 1; }
    if (k && strcmp(k, "name") == 0) { lua_pushstring(L, lt_optim_name(o)); return 1; }
    lua_pushvalue(L, 2);
    lua_gettable(L, lua_upvalueindex(1));
    return 1;
}

static int optim__newindex(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "lr") == 0 || strcmp(k, "learning_rate") == 0) {
        double v = luaL_checknumber(L, 3);
        check_positive(L, lt_optim_name(o), "lr", v);
        o->lr = (float)v;
        return 0;
    }
    return luaL_error(L, "%s: cannot set '%s' (only lr can change)", lt_optim_name(o), k);
}

static int optim__tostring(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    lua_pushfstring(L, "%s(lr=%f, iterations=%I)", lt_optim_name(o), (double)o->lr,
                    (lua_Integer)o->t);
    return 1;
}

static int optim__gc(lua_State *L) {
    LOptim *u = luaL_checkudata(L, 1, OPTIM_MT);
    lt_optim_free(u->o);
    u->o = NULL;
    return 0;
}

static const lt_reg optim_funcs[] = {
    {"SGD", optim_sgd, "optim.SGD{lr=0.01, momentum=0, nesterov=false}\n\nStochastic gradient "
     "descent (Keras): w -= lr·g; with momentum v = μv - lr·g, w += v\n(Nesterov: w += μv - "
     "lr·g).\nExample: opt = optim.SGD{lr=0.1, momentum=0.9}; opt:step(params, grads)"},
    {"Adam", optim_adam, "optim.Adam{lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7}\n\nAdam (Kingma "
     "& Ba 2015) with Keras's defaults and update:\nw -= lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) "
     "+ eps). learning_rate, beta_1, beta_2, epsilon also work.\nExample: "
     "model:compile{optimizer=optim.Adam{lr=3e-4}, loss='sparse_categorical_crossentropy'}"},
    {"RMSprop", optim_rmsprop, "optim.RMSprop{lr=1e-3, rho=0.9, eps=1e-7}\n\nRMSprop (Keras): "
     "v = ρv + (1-ρ)g², w -= lr·g / sqrt(v + eps).\nExample: opt = optim.RMSprop{lr=1e-3}"},
    {NULL, NULL, NULL}};

static const lt_reg optim_meths[] = {
    {"step", optim_m_step, "opt:step(params, grads)\n\nOne update of each parameter tensor "
     "from its gradient, in place (lists as returned by\nlayer:parameters(), or two tensors). "
     "The optimizer's state follows the list's layout.\nExample: p, g = layer:parameters(); "
     "opt:step(p, g)"},
    {"state", optim_m_state, "opt:state() → {iterations, m, v}\n\nA copy of the optimizer's "
     "state (moment buffers as flat tensors)."},
    {"set_state", optim_m_set_state, "opt:set_state{iterations, m, v}\n\nRestores a state from "
     "opt:state() (used by nn.load to resume training)."},
    {"config", optim_m_config, "opt:config() → table\n\nThe optimizer's name and settings."},
    {NULL, NULL, NULL}};

static const luaL_Reg optim_metas[] = {
    {"__gc", optim__gc}, {"__tostring", optim__tostring}, {"__newindex", optim__newindex},
    {NULL, NULL}};

int luaopen_lunette_optim(lua_State *L) {
    lt_lua_newclass(L, OPTIM_MT, optim_metas, optim_meths, "Optimizer:", optim__index);
    lua_newtable(L);
    lt_lua_setfuncs(L, "optim", optim_funcs);
    lt_lua_sethelp(L, -1, "optim", "optim: optimizers with Keras semantics and defaults.\n\n"
                   "optim.SGD{lr=0.01, momentum=0, nesterov=false}, optim.Adam{lr=1e-3, ...}, "
                   "optim.RMSprop{lr=1e-3, rho=0.9}.\nopt:step(params, grads) updates in place. "
                   "See help(optim.Adam).");
    return 1;
}

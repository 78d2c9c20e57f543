/* l_optim.c: the `optim` module: SGD, Adam, AdamW and RMSprop objects (lunette.Optimizer)
 * on the fused C updates of src/nn/optim.c, and the learning-rate schedules of
 * optim.schedules (lunette.Schedule). opt:step(params, grads) updates lists of tensors in
 * place; a model's training step passes its parameters straight from C. The state is kept
 * per parameter tensor (see optim.h): opt:state() shows it, opt:state(params) and
 * opt:set_state(params, s) move it in and out of saved models. Settings are kept as the
 * user's doubles, so they print as written (lr=0.1, not 0.10000000149012). */
#include <math.h>
#include <string.h>

#include "lua/l_nn.h"

#define SCHED_MT "lunette.Schedule"

lt_optim *lt_lua_checkoptim(lua_State *L, int idx) {
    LOptim *u = luaL_checkudata(L, idx, OPTIM_MT);
    if (!u->o) luaL_argerror(L, idx, "optimizer has been freed");
    return u->o;
}

/* ---- reading options ---- */

/* Pushes v as the user wrote it: "0.1", "5", "-0.001", "nan", "inf". */
static const char *numstr(lua_State *L, double v) {
    char b[40];
    snprintf(b, sizeof b, "%.14g", v);
    return lua_pushstring(L, b);
}

/* Errors name the value as written ("got -0.1", "got nan", "got inf"). */
static void check_positive(lua_State *L, const char *fn, const char *what, double v) {
    if (!(v > 0) || !isfinite(v))
        luaL_error(L, "%s: %s must be a positive finite number, got %s", fn, what,
                   numstr(L, v));
}

static void check_nonneg(lua_State *L, const char *fn, const char *what, double v) {
    if (!(v >= 0) || !isfinite(v))
        luaL_error(L, "%s: %s must be a finite number >= 0, got %s", fn, what,
                   numstr(L, v));
}

static void check_unit(lua_State *L, const char *fn, const char *what, double v) {
    if (!(v >= 0 && v < 1))
        luaL_error(L, "%s: %s must be in [0, 1), got %s", fn, what, numstr(L, v));
}

static lt_schedule *test_sched(lua_State *L, int idx) { return luaL_testudata(L, idx, SCHED_MT); }

/* lr (or learning_rate) from the table at idx: a number or a schedule. */
static void read_lr(lua_State *L, int idx, const char *fn, lt_optim *o) {
    if (lua_type(L, idx) != LUA_TTABLE) return;
    const char *key = "lr";
    if (lt_lua_rawfield(L, idx, "lr") == LUA_TNIL) {
        lua_pop(L, 1);
        key = "learning_rate";
        lt_lua_rawfield(L, idx, key);
    }
    lt_schedule *s = test_sched(L, -1);
    if (s) {
        o->sched = *s;
    } else if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: '%s' must be a number or an optim.schedules object, got %s", fn,
                       key, luaL_typename(L, -1));
        o->lr = lua_tonumber(L, -1);
        check_positive(L, fn, key, o->lr);
    }
    lua_pop(L, 1);
}

/* What every optimizer takes: lr, weight_decay and the clipping options (Keras's names;
 * as in Keras, at most one kind of clipping). */
static void read_common(lua_State *L, const char *fn, lt_optim *o) {
    read_lr(L, 1, fn, o);
    o->weight_decay = lt_opt_num(L, fn, 1, 0, "weight_decay", o->weight_decay);
    check_nonneg(L, fn, "weight_decay", o->weight_decay);
    const char *clips[3] = {"clipnorm", "clipvalue", "global_clipnorm"};
    double *dst[3] = {&o->clipnorm, &o->clipvalue, &o->global_clipnorm};
    int nset = 0;
    for (int i = 0; i < 3; i++) {
        *dst[i] = lt_opt_num(L, fn, 1, 0, clips[i], 0);
        if (lt_lua_rawfield(L, 1, clips[i]) != LUA_TNIL) {
            check_positive(L, fn, clips[i], *dst[i]);
            nset++;
        }
        lua_pop(L, 1);
    }
    if (nset > 1)
        luaL_error(L, "%s: only one of clipnorm, clipvalue and global_clipnorm can be set", fn);
}

static lt_optim *newbox(lua_State *L, lt_optim_kind kind) {
    LOptim *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->o = NULL;
    luaL_setmetatable(L, OPTIM_MT);
    if (!(u->o = lt_optim_new(kind))) luaL_error(L, "%s", lt_lasterror());
    return u->o;
}

#define COMMON_KEYS "learning_rate|lr weight_decay clipnorm clipvalue global_clipnorm"

/* The options table at 1 (or nothing), its keys checked against known (l_util.h). */
static void opts_table(lua_State *L, const char *fn, const char *known) {
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
    lt_opt_check(L, 1, fn, known, 0);
}

static int optim_sgd(lua_State *L) {
    opts_table(L, "optim.SGD", COMMON_KEYS " momentum nesterov");
    lt_optim *o = newbox(L, LT_OPT_SGD);
    read_common(L, "optim.SGD", o);
    o->momentum = lt_opt_num(L, "optim.SGD", 1, 0, "momentum", 0);
    check_unit(L, "optim.SGD", "momentum", o->momentum);
    o->nesterov = lt_opt_bool(L, "optim.SGD", 1, "nesterov", 0);
    return 1;
}

static int adam_like(lua_State *L, lt_optim_kind kind, const char *fn) {
    opts_table(L, fn, COMMON_KEYS " beta_1|beta1 beta_2|beta2 epsilon|eps");
    lt_optim *o = newbox(L, kind);
    read_common(L, fn, o);
    o->beta1 = lt_opt_num(L, fn, 1, 0, "beta_1|beta1", o->beta1);
    o->beta2 = lt_opt_num(L, fn, 1, 0, "beta_2|beta2", o->beta2);
    o->eps = lt_opt_num(L, fn, 1, 0, "epsilon|eps", o->eps);
    check_positive(L, fn, "eps", o->eps);
    check_unit(L, fn, "beta1", o->beta1);
    check_unit(L, fn, "beta2", o->beta2);
    return 1;
}

static int optim_adam(lua_State *L) { return adam_like(L, LT_OPT_ADAM, "optim.Adam"); }
static int optim_adamw(lua_State *L) { return adam_like(L, LT_OPT_ADAMW, "optim.AdamW"); }

static int optim_rmsprop(lua_State *L) {
    opts_table(L, "optim.RMSprop", COMMON_KEYS " rho epsilon|eps");
    lt_optim *o = newbox(L, LT_OPT_RMSPROP);
    read_common(L, "optim.RMSprop", o);
    o->rho = lt_opt_num(L, "optim.RMSprop", 1, 0, "rho", 0.9);
    o->eps = lt_opt_num(L, "optim.RMSprop", 1, 0, "epsilon|eps", 1e-7);
    check_positive(L, "optim.RMSprop", "eps", o->eps);
    check_unit(L, "optim.RMSprop", "rho", o->rho);
    return 1;
}

/* ---- steps and state ---- */

/* The parameter list at idx as a table (a single tensor is wrapped), replacing it. */
static int tensor_list(lua_State *L, int idx, const char *fn, const char *what) {
    if (lt_lua_testtensor(L, idx)) {
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, idx);
        lua_rawseti(L, -2, 1);
        lua_replace(L, idx);
    }
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: %s must be a tensor or a list of tensors, got %s", fn, what,
                   luaL_typename(L, idx));
    lua_Unsigned n = lua_rawlen(L, idx);
    if (n > 1000000) luaL_error(L, "%s: %I %s", fn, (lua_Integer)n, what);
    for (lua_Unsigned i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        if (!lt_lua_testtensor(L, -1))
            luaL_error(L, "%s: %s %I is a %s, expected a tensor", fn, what, (lua_Integer)i,
                       luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return (int)n;
}

static lt_tensor *list_at(lua_State *L, int idx, int i) {
    lua_rawgeti(L, idx, i);
    lt_tensor *t = lt_lua_checktensor(L, -1);
    lua_pop(L, 1);   /* the list holds it */
    return t;
}

/* opt:step(params, grads): lists of tensors (or single tensors) */
static int optim_m_step(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    char fn[32], a[160], b[160];
    snprintf(fn, sizeof fn, "%s:step", lt_optim_name(o));
    int n = tensor_list(L, 2, fn, "parameter"), ng = tensor_list(L, 3, fn, "gradient");
    if (n != ng) return luaL_error(L, "%s: %d parameters but %d gradients", fn, n, ng);
    if (n == 0) return 0;
    /* GC-owned: no leak if a check below raises */
    lt_optim_seg *seg = lua_newuserdatauv(L, (size_t)n * sizeof *seg, 0);
    for (int i = 0; i < n; i++) {
        lt_tensor *w = list_at(L, 2, i + 1), *d = list_at(L, 3, i + 1);
        if (!lt_same_shape(w, d))
            return luaL_error(L, "%s: parameter %d has shape %s but its gradient %s", fn, i + 1,
                              lt_shape_str(w->ndim, w->shape, a, sizeof a),
                              lt_shape_str(d->ndim, d->shape, b, sizeof b));
        seg[i] = (lt_optim_seg){.param = w, .off = 0, .n = w->numel, .g = d->data,
                                .decay = w->ndim >= 2};
    }
    lt_lua_check(L, lt_optim_step(o, n, seg, 0));
    return 0;
}

static void push_flat(lua_State *L, const float *src, int64_t n, const char *k) {
    lt_lua_pushtensor(L, lt_tensor_from(1, &n, src));
    lua_setfield(L, -2, k);
}

/* opt:state() → {iterations, params = {{size, t, m, v}, ...}} (copies), or
 * opt:state(params) → {iterations, m, v}: those parameters' state concatenated in their
 * order (zeros and t = 0 for a parameter not stepped yet), as saved models store it. */
static int optim_m_state(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    if (lua_isnoneornil(L, 2)) {
        lua_newtable(L);
        lua_pushinteger(L, o->t);
        lua_setfield(L, -2, "iterations");
        lua_createtable(L, o->nparam, 0);
        for (int i = 0; i < o->nparam; i++) {
            const lt_optim_param *p = &o->param[i];
            int64_t n = p->key->numel;
            lua_createtable(L, 0, 4);
            lua_pushinteger(L, n); lua_setfield(L, -2, "size");
            lua_pushinteger(L, p->t); lua_setfield(L, -2, "t");
            if (p->m) push_flat(L, p->m, n, "m");
            if (p->v) push_flat(L, p->v, n, "v");
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "params");
        return 1;
    }
    char fn[32];
    snprintf(fn, sizeof fn, "%s:state", lt_optim_name(o));
    int n = tensor_list(L, 2, fn, "parameter");
    int64_t total = 0, t = 0;
    for (int i = 0; i < n; i++) total += list_at(L, 2, i + 1)->numel;
    int slots = lt_optim_nslots(o);
    int has_m = slots >= 1 && o->kind != LT_OPT_RMSPROP, has_v = o->kind != LT_OPT_SGD;
    lua_newtable(L);
    lt_tensor *m = NULL, *v = NULL;
    if (total > 0 && has_m) { m = lt_lua_pushtensor(L, lt_tensor_new(1, &total)); lua_setfield(L, -2, "m"); }
    if (total > 0 && has_v) { v = lt_lua_pushtensor(L, lt_tensor_new(1, &total)); lua_setfield(L, -2, "v"); }
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        lt_tensor *w = list_at(L, 2, i + 1);
        const lt_optim_param *p = lt_optim_find(o, w, 0, w->numel, 0);
        if (p) {
            if (p->t > t) t = p->t;
            if (m && p->m) memcpy(m->data + off, p->m, (size_t)w->numel * sizeof(float));
            if (v && p->v) memcpy(v->data + off, p->v, (size_t)w->numel * sizeof(float));
        }
        off += w->numel;
    }
    lua_pushinteger(L, t);
    lua_setfield(L, -2, "iterations");
    return 1;
}

/* opt:set_state(params, {iterations, m, v}): the inverse of opt:state(params) */
static int optim_m_set_state(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    char fn[40];
    snprintf(fn, sizeof fn, "%s:set_state", lt_optim_name(o));
    int n = tensor_list(L, 2, fn, "parameter");
    if (!lua_istable(L, 3))
        return luaL_error(L, "%s: the state must be a table {iterations, m, v} (as opt:state(params) "
                          "returns), got %s", fn, luaL_typename(L, 3));
    lt_lua_rawfield(L, 3, "m");
    lt_lua_rawfield(L, 3, "v");
    lt_tensor *mv[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {                  /* named in the error, not "bad argument #-2" */
        int idx = -2 + i;
        if (lua_isnil(L, idx)) continue;
        if (!(mv[i] = lt_lua_testtensor(L, idx)))
            return luaL_error(L, "%s: state.%s must be a tensor, got %s", fn, i ? "v" : "m",
                              luaL_typename(L, idx));
    }
    lt_tensor *m = mv[0], *v = mv[1];
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += list_at(L, 2, i + 1)->numel;
    if ((m && m->numel != total) || (v && v->numel != total))
        return luaL_error(L, "%s: the state has %I values for %I parameter values", fn,
                          (lua_Integer)(m ? m->numel : v->numel), (lua_Integer)total);
    lua_Integer t = lt_opt_int(L, fn, 3, 0, "iterations", 0, 0);
    /* 2^53: beyond it the step count cannot grow (and Adam's bias correction is 1 long
     * before); math.maxinteger overflowed at the next step and made the weights NaN */
    if (t < 0) return luaL_error(L, "%s: iterations must be >= 0", fn);
    if (t > ((lua_Integer)1 << 53))
        return luaL_error(L, "%s: iterations must be at most 2^53, got %I", fn, t);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        lt_tensor *w = list_at(L, 2, i + 1);
        lt_optim_param *p = lt_optim_find(o, w, 0, w->numel, 1);
        if (!p) return lt_lua_check(L, LT_ENOMEM);
        p->t = t;
        size_t bytes = (size_t)w->numel * sizeof(float);
        if (p->m) { if (m) memcpy(p->m, m->data + off, bytes); else memset(p->m, 0, bytes); }
        if (p->v) { if (v) memcpy(p->v, v->data + off, bytes); else memset(p->v, 0, bytes); }
        off += w->numel;
    }
    if (t > o->t || n > 0) {
        o->t = 0;
        for (int i = 0; i < o->nparam; i++)
            if (o->param[i].t > o->t) o->t = o->param[i].t;
    }
    return 0;
}

/* ---- schedules ---- */

static const char *sched_name(const lt_schedule *s) {
    static const char *names[] = {"Constant", "ExponentialDecay", "PiecewiseConstant",
                                  "CosineDecay", "OneCycle"};
    return names[s->kind];
}

/* Pushes a table of the schedule's settings (name first), as written by the user. */
static void push_sched_config(lua_State *L, const lt_schedule *s) {
    lua_newtable(L);
    lua_pushstring(L, sched_name(s)); lua_setfield(L, -2, "name");
#define NUM(k, v) (lua_pushnumber(L, v), lua_setfield(L, -2, k))
    switch (s->kind) {
    case LT_SCHED_NONE: break;
    case LT_SCHED_EXPONENTIAL:
        NUM("initial_learning_rate", s->initial); NUM("decay_steps", s->decay_steps);
        NUM("decay_rate", s->decay_rate);
        lua_pushboolean(L, s->staircase); lua_setfield(L, -2, "staircase");
        break;
    case LT_SCHED_PIECEWISE:
        lua_createtable(L, s->nb, 0);
        for (int i = 0; i < s->nb; i++) { lua_pushnumber(L, s->bounds[i]); lua_rawseti(L, -2, i + 1); }
        lua_setfield(L, -2, "boundaries");
        lua_createtable(L, s->nb + 1, 0);
        for (int i = 0; i <= s->nb; i++) { lua_pushnumber(L, s->values[i]); lua_rawseti(L, -2, i + 1); }
        lua_setfield(L, -2, "values");
        break;
    case LT_SCHED_COSINE:
        NUM("initial_learning_rate", s->initial); NUM("decay_steps", s->decay_steps);
        NUM("alpha", s->alpha);
        if (s->warmup_steps > 0) { NUM("warmup_target", s->warmup_target); NUM("warmup_steps", s->warmup_steps); }
        break;
    case LT_SCHED_ONECYCLE:
        NUM("max_lr", s->max_lr); NUM("total_steps", s->total_steps);
        NUM("pct_start", s->pct_start); NUM("div_factor", s->div_factor);
        NUM("final_div_factor", s->final_div_factor);
        break;
    }
#undef NUM
}

static lt_schedule *new_sched(lua_State *L, lt_sched_kind kind) {
    lt_schedule *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->kind = kind;
    luaL_setmetatable(L, SCHED_MT);
    return s;
}

/* A required number in the options table at 1. */
static double need_num(lua_State *L, const char *fn, const char *k) {
    if (lt_lua_rawfield(L, 1, k) == LUA_TNIL) luaL_error(L, "%s: missing argument '%s'", fn, k);
    lua_pop(L, 1);
    return lt_opt_num(L, fn, 1, 0, k, 0);
}

static int sched_exponential(lua_State *L) {
    const char *fn = "optim.schedules.ExponentialDecay";
    luaL_checktype(L, 1, LUA_TTABLE);
    lt_opt_check(L, 1, fn, "initial_learning_rate decay_steps decay_rate staircase", 0);
    lt_schedule *s = new_sched(L, LT_SCHED_EXPONENTIAL);
    s->initial = need_num(L, fn, "initial_learning_rate");
    s->decay_steps = need_num(L, fn, "decay_steps");
    s->decay_rate = need_num(L, fn, "decay_rate");
    s->staircase = lt_opt_bool(L, fn, 1, "staircase", 0);
    check_positive(L, fn, "initial_learning_rate", s->initial);
    check_positive(L, fn, "decay_steps", s->decay_steps);
    check_positive(L, fn, "decay_rate", s->decay_rate);
    return 1;
}

static int sched_piecewise(lua_State *L) {
    const char *fn = "optim.schedules.PiecewiseConstant";
    luaL_checktype(L, 1, LUA_TTABLE);
    lt_opt_check(L, 1, fn, "boundaries values", 0);
    lt_schedule *s = new_sched(L, LT_SCHED_PIECEWISE);
    if (lt_lua_rawfield(L, 1, "boundaries") != LUA_TTABLE) luaL_error(L, "%s: 'boundaries' must be a list of steps", fn);
    if (lt_lua_rawfield(L, 1, "values") != LUA_TTABLE) luaL_error(L, "%s: 'values' must be a list of rates", fn);
    lua_Unsigned nb = lua_rawlen(L, -2), nv = lua_rawlen(L, -1);
    if (nb < 1 || nb > LT_SCHED_MAX_BOUNDS)
        luaL_error(L, "%s: 1 to %d boundaries, got %I", fn, LT_SCHED_MAX_BOUNDS, (lua_Integer)nb);
    if (nv != nb + 1)
        luaL_error(L, "%s: %I boundaries need %I values, got %I", fn, (lua_Integer)nb,
                   (lua_Integer)nb + 1, (lua_Integer)nv);
    s->nb = (int)nb;
    for (int i = 0; i <= s->nb; i++) {
        for (int k = 0; k < 2; k++) {
            if (k == 0 && i == s->nb) continue;
            lua_rawgeti(L, k == 0 ? -2 : -1, i + 1);
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "%s: %s[%d] must be a number, got %s", fn,
                           k == 0 ? "boundaries" : "values", i + 1, luaL_typename(L, -1));
            double x = lua_tonumber(L, -1);
            lua_pop(L, 1);
            if (k == 0) {
                check_nonneg(L, fn, "a boundary", x);
                if (i > 0 && !(x > s->bounds[i - 1]))
                    luaL_error(L, "%s: boundaries must increase, got %s after %s", fn,
                               numstr(L, x), numstr(L, s->bounds[i - 1]));
                s->bounds[i] = x;
            } else {
                check_positive(L, fn, "a value", x);
                s->values[i] = x;
            }
        }
    }
    lua_pop(L, 2);
    return 1;
}

static int sched_cosine(lua_State *L) {
    const char *fn = "optim.schedules.CosineDecay";
    luaL_checktype(L, 1, LUA_TTABLE);
    lt_opt_check(L, 1, fn, "initial_learning_rate decay_steps alpha warmup_target warmup_steps", 0);
    lt_schedule *s = new_sched(L, LT_SCHED_COSINE);
    s->initial = need_num(L, fn, "initial_learning_rate");
    s->decay_steps = need_num(L, fn, "decay_steps");
    s->alpha = lt_opt_num(L, fn, 1, 0, "alpha", 0);
    s->warmup_steps = lt_opt_num(L, fn, 1, 0, "warmup_steps", 0);
    s->warmup_target = lt_opt_num(L, fn, 1, 0, "warmup_target", 0);
    check_nonneg(L, fn, "initial_learning_rate", s->initial);   /* warm-up may start at 0 */
    check_positive(L, fn, "decay_steps", s->decay_steps);
    if (!(s->alpha >= 0 && s->alpha <= 1))
        luaL_error(L, "%s: alpha must be in [0, 1], got %s", fn, numstr(L, s->alpha));
    check_nonneg(L, fn, "warmup_steps", s->warmup_steps);
    if (s->warmup_steps > 0) check_positive(L, fn, "warmup_target", s->warmup_target);
    else if (s->warmup_target != 0)
        luaL_error(L, "%s: warmup_target needs warmup_steps > 0", fn);
    else check_positive(L, fn, "initial_learning_rate", s->initial);
    return 1;
}

static int sched_onecycle(lua_State *L) {
    const char *fn = "optim.schedules.OneCycle";
    luaL_checktype(L, 1, LUA_TTABLE);
    lt_opt_check(L, 1, fn, "max_lr total_steps pct_start div_factor final_div_factor", 0);
    lt_schedule *s = new_sched(L, LT_SCHED_ONECYCLE);
    s->max_lr = need_num(L, fn, "max_lr");
    s->total_steps = need_num(L, fn, "total_steps");
    s->pct_start = lt_opt_num(L, fn, 1, 0, "pct_start", 0.3);
    s->div_factor = lt_opt_num(L, fn, 1, 0, "div_factor", 25);
    s->final_div_factor = lt_opt_num(L, fn, 1, 0, "final_div_factor", 1e4);
    check_positive(L, fn, "max_lr", s->max_lr);
    if (!(s->total_steps >= 2) || !isfinite(s->total_steps))
        luaL_error(L, "%s: total_steps must be at least 2, got %s", fn,
                   numstr(L, s->total_steps));
    if (!(s->pct_start > 0 && s->pct_start < 1))
        luaL_error(L, "%s: pct_start must be in (0, 1), got %s", fn, numstr(L, s->pct_start));
    check_positive(L, fn, "div_factor", s->div_factor);
    check_positive(L, fn, "final_div_factor", s->final_div_factor);
    return 1;
}

/* sched(step) → the rate at 0-based step */
static int sched__call(lua_State *L) {
    lt_schedule *s = luaL_checkudata(L, 1, SCHED_MT);
    double step = luaL_checknumber(L, 2);
    if (!(step >= 0) || !isfinite(step))
        return luaL_error(L, "%s: step must be a finite number >= 0, got %s", sched_name(s),
                          numstr(L, step));
    lua_pushnumber(L, lt_schedule_lr(s, step));
    return 1;
}

static int sched_m_config(lua_State *L) {
    push_sched_config(L, luaL_checkudata(L, 1, SCHED_MT));
    return 1;
}

/* Appends to buf (size n, used *len) like snprintf, never past the end. */
static void add(char *buf, size_t n, size_t *len, const char *fmt, double v) {
    if (*len + 1 >= n) return;
    int k = snprintf(buf + *len, n - *len, fmt, v);
    if (k > 0) *len += (size_t)k < n - *len ? (size_t)k : n - *len - 1;
}

/* "CosineDecay(initial_learning_rate=0.1, decay_steps=1000, alpha=0)": numbers as Lua
 * prints them (%.14g), so as the user wrote them */
static void push_sched_str(lua_State *L, const lt_schedule *s) {
    char buf[4096];
    size_t len = (size_t)snprintf(buf, sizeof buf, "%s(", sched_name(s)), open = len;
#define F(k, v) add(buf, sizeof buf, &len, len > open ? ", " k "=%.14g" : k "=%.14g", v)
    switch (s->kind) {
    case LT_SCHED_NONE: break;
    case LT_SCHED_EXPONENTIAL:
        F("initial_learning_rate", s->initial); F("decay_steps", s->decay_steps);
        F("decay_rate", s->decay_rate);
        if (s->staircase) add(buf, sizeof buf, &len, ", staircase=true", 0);
        break;
    case LT_SCHED_PIECEWISE:
        add(buf, sizeof buf, &len, "boundaries={", 0);
        for (int i = 0; i < s->nb; i++) add(buf, sizeof buf, &len, i ? ", %.14g" : "%.14g", s->bounds[i]);
        add(buf, sizeof buf, &len, "}, values={", 0);
        for (int i = 0; i <= s->nb; i++) add(buf, sizeof buf, &len, i ? ", %.14g" : "%.14g", s->values[i]);
        add(buf, sizeof buf, &len, "}", 0);
        break;
    case LT_SCHED_COSINE:
        F("initial_learning_rate", s->initial); F("decay_steps", s->decay_steps);
        if (s->alpha > 0) F("alpha", s->alpha);
        if (s->warmup_steps > 0) { F("warmup_target", s->warmup_target); F("warmup_steps", s->warmup_steps); }
        break;
    case LT_SCHED_ONECYCLE:
        F("max_lr", s->max_lr); F("total_steps", s->total_steps); F("pct_start", s->pct_start);
        F("div_factor", s->div_factor); F("final_div_factor", s->final_div_factor);
        break;
    }
#undef F
    add(buf, sizeof buf, &len, ")", 0);
    lua_pushlstring(L, buf, len);
}

static int sched__tostring(lua_State *L) {
    push_sched_str(L, luaL_checkudata(L, 1, SCHED_MT));
    return 1;
}

static int sched__index(lua_State *L) {
    lt_schedule *s = luaL_checkudata(L, 1, SCHED_MT);
    const char *k = lua_tostring(L, 2);
    if (k && strcmp(k, "name") == 0) { lua_pushstring(L, sched_name(s)); return 1; }
    lua_pushvalue(L, 2);
    lua_gettable(L, lua_upvalueindex(1));
    if (lua_isnil(L, -1) && k) {
        push_sched_config(L, s);
        lua_getfield(L, -1, k);
    }
    return 1;
}

/* ---- optimizer fields and printing ---- */

/* opt:config() → {name=, lr=, ...} (what compile/save record; lr: a number or the
 * schedule's config table) */
static int optim_m_config(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    lua_newtable(L);
    lua_pushstring(L, lt_optim_name(o)); lua_setfield(L, -2, "name");
    if (o->sched.kind != LT_SCHED_NONE) push_sched_config(L, &o->sched);
    else lua_pushnumber(L, o->lr);
    lua_setfield(L, -2, "lr");
#define NUM(k, v) (lua_pushnumber(L, v), lua_setfield(L, -2, k))
    switch (o->kind) {
    case LT_OPT_SGD:
        NUM("momentum", o->momentum);
        lua_pushboolean(L, o->nesterov); lua_setfield(L, -2, "nesterov");
        break;
    case LT_OPT_ADAM: case LT_OPT_ADAMW:
        NUM("beta1", o->beta1); NUM("beta2", o->beta2); NUM("eps", o->eps);
        break;
    case LT_OPT_RMSPROP:
        NUM("rho", o->rho); NUM("eps", o->eps);
        break;
    }
    if (o->weight_decay > 0 || o->kind == LT_OPT_ADAMW) NUM("weight_decay", o->weight_decay);
    if (o->clipnorm > 0) NUM("clipnorm", o->clipnorm);
    if (o->clipvalue > 0) NUM("clipvalue", o->clipvalue);
    if (o->global_clipnorm > 0) NUM("global_clipnorm", o->global_clipnorm);
#undef NUM
    return 1;
}

static int optim__index(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    const char *k = lua_tostring(L, 2);
    if (k && (strcmp(k, "lr") == 0 || strcmp(k, "learning_rate") == 0)) {
        lua_pushnumber(L, lt_optim_lr_at(o, o->t));   /* the rate of the next step */
        return 1;
    }
    if (k && strcmp(k, "schedule") == 0) {
        if (o->sched.kind == LT_SCHED_NONE) lua_pushnil(L);
        else *new_sched(L, o->sched.kind) = o->sched;
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
        lt_schedule *s = test_sched(L, 3);
        if (s) {
            o->sched = *s;
            return 0;
        }
        if (lua_type(L, 3) != LUA_TNUMBER)
            return luaL_error(L, "%s: lr must be a number or an optim.schedules object, got %s",
                              lt_optim_name(o), luaL_typename(L, 3));
        double v = lua_tonumber(L, 3);
        check_positive(L, lt_optim_name(o), "lr", v);
        o->lr = v;
        o->sched.kind = LT_SCHED_NONE;
        return 0;
    }
    return luaL_error(L, "%s: cannot set '%s' (only lr can change)", lt_optim_name(o), k);
}

static int optim__tostring(lua_State *L) {
    lt_optim *o = lt_lua_checkoptim(L, 1);
    char buf[4400];
    size_t len = (size_t)snprintf(buf, sizeof buf, "%s(lr=", lt_optim_name(o));
    if (o->sched.kind != LT_SCHED_NONE) {
        push_sched_str(L, &o->sched);
        size_t k = 0;
        const char *str = lua_tolstring(L, -1, &k);
        if (k > sizeof buf - len - 64) k = sizeof buf - len - 64;
        memcpy(buf + len, str, k);
        len += k;
        lua_pop(L, 1);
    } else {
        add(buf, sizeof buf, &len, "%.14g", o->lr);
    }
    if (o->weight_decay > 0) add(buf, sizeof buf, &len, ", weight_decay=%.14g", o->weight_decay);
    if (o->clipnorm > 0) add(buf, sizeof buf, &len, ", clipnorm=%.14g", o->clipnorm);
    if (o->clipvalue > 0) add(buf, sizeof buf, &len, ", clipvalue=%.14g", o->clipvalue);
    if (o->global_clipnorm > 0) add(buf, sizeof buf, &len, ", global_clipnorm=%.14g", o->global_clipnorm);
    add(buf, sizeof buf, &len, ", iterations=%.0f)", (double)o->t);
    lua_pushlstring(L, buf, len);
    return 1;
}

static int optim__gc(lua_State *L) {
    LOptim *u = luaL_checkudata(L, 1, OPTIM_MT);
    lt_optim_free(u->o);
    u->o = NULL;
    return 0;
}

#define COMMON_HELP                                                                          \
    "\nEvery optimizer also takes: lr = a number or an optim.schedules object;\n"           \
    "weight_decay (Keras 3's meaning: decoupled, w -= w·wd·lr before the update, on\n"     \
    "kernels only: not biases nor BatchNorm); clipnorm (each gradient tensor's norm at\n"  \
    "most c), global_clipnorm (all gradients scaled so their joint norm is at most c) or\n" \
    "clipvalue (each element clamped to [-c, c]), one of the three at most.\n"

static const lt_reg optim_funcs[] = {
    {"SGD", optim_sgd, "optim.SGD{lr=0.01, momentum=0, nesterov=false, weight_decay=0}\n\n"
     "Stochastic gradient descent (Keras): w -= lr·g; with momentum v = μv - lr·g, w += v\n"
     "(Nesterov: w += μv - lr·g)." COMMON_HELP
     "Example: opt = optim.SGD{lr=0.1, momentum=0.9, weight_decay=1e-4}; opt:step(params, grads)"},
    {"Adam", optim_adam, "optim.Adam{lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0}\n\n"
     "Adam (Kingma & Ba 2015) with Keras's defaults and update:\nw -= lr·sqrt(1-β2^t)/(1-β1^t) · "
     "m / (sqrt(v) + eps). learning_rate, beta_1, beta_2, epsilon also work.\nt counts each "
     "parameter's own steps (as in PyTorch)." COMMON_HELP
     "Example: model:compile{optimizer=optim.Adam{lr=3e-4, clipnorm=1}, loss='sparse_categorical_crossentropy'}"},
    {"AdamW", optim_adamw, "optim.AdamW{lr=1e-3, weight_decay=0.01, beta1=0.9, beta2=0.999, eps=1e-8}\n\n"
     "Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's formula and "
     "defaults:\nw -= lr·wd·w, then w -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps).\n"
     "The decay applies to kernels, not to biases nor BatchNorm's parameters." COMMON_HELP
     "Example: opt = optim.AdamW{lr=1e-3, weight_decay=0.05}"},
    {"RMSprop", optim_rmsprop, "optim.RMSprop{lr=1e-3, rho=0.9, eps=1e-7, weight_decay=0}\n\n"
     "RMSprop (Keras): v = ρv + (1-ρ)g², w -= lr·g / sqrt(v + eps)." COMMON_HELP
     "Example: opt = optim.RMSprop{lr=1e-3}"},
    {NULL, NULL, NULL}};

static const lt_reg sched_funcs[] = {
    {"ExponentialDecay", sched_exponential, "optim.schedules.ExponentialDecay{initial_learning_rate, "
     "decay_steps, decay_rate, staircase=false}\n\nKeras's schedule: lr(step) = initial · "
     "rate^(step / decay_steps), the exponent floored\nwhen staircase. Steps count optimizer "
     "updates from 0.\nExample: optim.SGD{lr=optim.schedules.ExponentialDecay{initial_learning_rate=0.1, "
     "decay_steps=1000, decay_rate=0.5}}"},
    {"PiecewiseConstant", sched_piecewise, "optim.schedules.PiecewiseConstant{boundaries, values}\n\n"
     "Keras's PiecewiseConstantDecay: values[1] while step <= boundaries[1], values[i+1]\nwhile "
     "step <= boundaries[i+1], the last value after the last boundary (one more value\nthan "
     "boundaries).\nExample: optim.schedules.PiecewiseConstant{boundaries={1000, 2000}, values={0.1, 0.01, 0.001}}"},
    {"CosineDecay", sched_cosine, "optim.schedules.CosineDecay{initial_learning_rate, decay_steps, "
     "alpha=0, warmup_target, warmup_steps=0}\n\nKeras's CosineDecay: with warm-up, the rate "
     "rises linearly from initial_learning_rate\nto warmup_target over warmup_steps, then "
     "decays as peak·((1-alpha)·(1+cos(π·s/decay_steps))/2 + alpha)\n(s: steps since the "
     "warm-up, at most decay_steps).\nExample: optim.schedules.CosineDecay{initial_learning_rate=0, "
     "warmup_target=1e-3, warmup_steps=100, decay_steps=900}"},
    {"OneCycle", sched_onecycle, "optim.schedules.OneCycle{max_lr, total_steps, pct_start=0.3, "
     "div_factor=25, final_div_factor=1e4}\n\nSmith's one-cycle policy as PyTorch's OneCycleLR "
     "(cosine annealing; the rate only, not the\nmomentum): from max_lr/div_factor up to max_lr "
     "over pct_start of the steps, then down to\nmax_lr/div_factor/final_div_factor at step "
     "total_steps-1, where it stays.\nExample: optim.Adam{lr=optim.schedules.OneCycle{max_lr=1e-2, total_steps=epochs*batches}}"},
    {NULL, NULL, NULL}};

static const lt_reg sched_meths[] = {
    {"config", sched_m_config, "schedule:config() → table\n\nThe schedule's name and settings. "
     "schedule(step) gives the rate at a 0-based step."},
    {NULL, NULL, NULL}};

static const lt_reg optim_meths[] = {
    {"step", optim_m_step, "opt:step(params, grads)\n\nOne update of each parameter tensor "
     "from its gradient, in place (lists as returned by\nlayer:parameters(), or two tensors). "
     "The state (moments, step count) is kept per\nparameter tensor, as in PyTorch: stepping "
     "layers one by one, once each, gives the same\nresult as one step over all of them (global_clipnorm: the norm is that of the\ngradients "
     "one call is given). Weight decay applies to tensors of 2 or more\ndimensions (kernels).\nExample: opt:step(conv:parameters()); "
     "opt:step(dense:parameters())"},
    {"state", optim_m_state, "opt:state([params]) → table\n\nopt:state() → {iterations, "
     "params={{size, t, m, v}, ...}}; opt:state(params) → {iterations, m, v}.\nA copy of the optimizer's state: per parameter "
     "tensor, its size, its step count t and\nits moment buffers; with a list of parameters, "
     "theirs concatenated in that order."},
    {"set_state", optim_m_set_state, "opt:set_state(params, {iterations, m, v})\n\nRestores "
     "what opt:state(params) returned (used by nn.load to resume training)."},
    {"config", optim_m_config, "opt:config() → table\n\nThe optimizer's name and settings, as "
     "written (lr: a number or the schedule's config).\nopt.lr is the rate of the next step "
     "(a schedule's current value), opt.schedule the\nschedule or nil, opt.iterations the "
     "largest step count."},
    {NULL, NULL, NULL}};

static const luaL_Reg optim_metas[] = {
    {"__gc", optim__gc}, {"__tostring", optim__tostring}, {"__newindex", optim__newindex},
    {NULL, NULL}};

static const luaL_Reg sched_metas[] = {
    {"__call", sched__call}, {"__tostring", sched__tostring}, {NULL, NULL}};

int luaopen_lunette_optim(lua_State *L) {
    lt_lua_newclass(L, OPTIM_MT, optim_metas, optim_meths, "Optimizer:", optim__index);
    lt_lua_newclass(L, SCHED_MT, sched_metas, sched_meths, "Schedule:", sched__index);
    lua_newtable(L);
    lt_lua_setfuncs(L, "optim", optim_funcs);
    lua_newtable(L);
    lt_lua_setfuncs(L, "optim.schedules", sched_funcs);
    lt_lua_sethelp(L, -1, "optim.schedules", "optim.schedules: learning-rate schedules for lr = "
                   "...\n\nExponentialDecay, PiecewiseConstant, CosineDecay (with warm-up), "
                   "OneCycle. A schedule is\ncalled with a 0-based step: s(0) is the first "
                   "update's rate. Each optimizer evaluates it\nat each parameter's own step "
                   "count. See also nn.LearningRateScheduler, nn.ReduceLROnPlateau, lr_find.");
    lua_setfield(L, -2, "schedules");
    lt_lua_sethelp(L, -1, "optim", "optim: optimizers with Keras semantics and defaults.\n\n"
                   "optim.SGD{lr=0.01, momentum=0, nesterov=false}, optim.Adam{lr=1e-3, ...}, "
                   "optim.AdamW{weight_decay=0.01},\noptim.RMSprop{lr=1e-3, rho=0.9}; "
                   "optim.schedules.* for lr. opt:step(params, grads) updates in place.\n"
                   "See help(optim.Adam).");
    return 1;
}

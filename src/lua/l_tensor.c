/* l_tensor.c: the `tensor` module: constructors, methods and metamethods of
 * lunette.Tensor. Positions are 1-based (Lua); argmax/argmin return 0-based indexes
 * because they are used as class ids, which are 0-based everywhere in Lunette. */
#include <math.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "lua/l_util.h"

/* ---- argument helpers ---- */

/* Reads a shape given either as numbers (zeros(2, 3)) or as one table (zeros{2, 3})
 * starting at argument `first`; returns the number of dimensions. */
static int check_shape_args(lua_State *L, int first, int last, int64_t *shape, const char *fn) {
    int nd = 0;
    if (lua_type(L, first) == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, first);
        luaL_argcheck(L, n >= 1 && n <= LT_MAX_DIMS, first, "shape must have 1 to 8 dimensions");
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, first, i);
            int ok;
            lua_Integer d = lua_tointegerx(L, -1, &ok);
            if (!ok) luaL_error(L, "%s: shape entry %d is not an integer", fn, (int)i);
            shape[nd++] = d;
            lua_pop(L, 1);
        }
        return nd;
    }
    for (int i = first; i <= last; i++) {
        if (nd == LT_MAX_DIMS) luaL_error(L, "%s: more than %d dimensions", fn, LT_MAX_DIMS);
        shape[nd++] = luaL_checkinteger(L, i);
    }
    if (nd == 0) luaL_error(L, "%s: expected a shape (numbers or a table)", fn);
    return nd;
}

static int64_t shape_check(lua_State *L, const char *fn, int nd, const int64_t *shape) {
    int64_t n;
    lt_lua_check(L, lt_shape_check(fn, nd, shape, &n));
    return n;
}

/* A 1-based dimension argument → 0-based; negative counts from the end. */
static int check_dim(lua_State *L, const lt_tensor *t, int arg) {
    lua_Integer d = luaL_checkinteger(L, arg);
    if (d < 0) d += t->ndim + 1;
    if (d < 1 || d > t->ndim)
        luaL_error(L, "dimension %I out of range (tensor has %d)", luaL_checkinteger(L, arg),
                   t->ndim);
    return (int)d - 1;
}

/* ---- constructors ---- */

static int tensor_new(lua_State *L) {                  /* tensor{...} or tensor(t) */
    lt_tensor *t = lt_lua_testtensor(L, 1);
    if (t) { lt_lua_pushtensor(L, lt_tensor_clone(t)); return 1; }
    lt_lua_totensor(L, 1, "tensor");
    lua_settop(L, 1);
    return 1;
}

static int tensor_call(lua_State *L) {                 /* the module table is callable */
    lua_remove(L, 1);
    return tensor_new(L);
}

static int tensor_fill_ctor(lua_State *L, float v, const char *fn) {
    int64_t shape[LT_MAX_DIMS];
    int nd = check_shape_args(L, 1, lua_gettop(L), shape, fn);
    shape_check(L, fn, nd, shape);
    lt_lua_pushtensor(L, lt_tensor_full(nd, shape, v));
    return 1;
}

static int tensor_zeros(lua_State *L) { return tensor_fill_ctor(L, 0.0f, "tensor.zeros"); }
static int tensor_ones(lua_State *L) { return tensor_fill_ctor(L, 1.0f, "tensor.ones"); }

static int tensor_full(lua_State *L) {                 /* full(shape, value) */
    int top = lua_gettop(L);
    float v = (float)luaL_checknumber(L, top);
    lua_settop(L, top - 1);
    return tensor_fill_ctor(L, v, "tensor.full");
}

static int tensor_rand(lua_State *L) {
    int64_t shape[LT_MAX_DIMS];
    int nd = check_shape_args(L, 1, lua_gettop(L), shape, "tensor.rand");
    shape_check(L, "tensor.rand", nd, shape);
    lt_lua_pushtensor(L, lt_tensor_rand(nd, shape));
    return 1;
}

static int tensor_randn(lua_State *L) {
    int64_t shape[LT_MAX_DIMS];
    int nd = check_shape_args(L, 1, lua_gettop(L), shape, "tensor.randn");
    shape_check(L, "tensor.randn", nd, shape);
    lt_lua_pushtensor(L, lt_tensor_randn(nd, shape));
    return 1;
}

static int tensor_arange(lua_State *L) {              /* arange(n) | arange(a, b [, step]) */
    double a = 0, b, step = 1;
    if (lua_isnoneornil(L, 2)) b = luaL_checknumber(L, 1);
    else {
        a = luaL_checknumber(L, 1);
        b = luaL_checknumber(L, 2);
        step = luaL_optnumber(L, 3, 1);
    }
    luaL_argcheck(L, step != 0 && isfinite(step), 3, "step must be a non-zero number");
    double count = ceil((b - a) / step);
    if (!isfinite(count))
        return luaL_error(L, "tensor.arange: the range from %f to %f is infinite", (lua_Number)a,
                          (lua_Number)b);
    if (!(count >= 1))
        return luaL_error(L, "tensor.arange: empty range from %f to %f by %f", (lua_Number)a,
                          (lua_Number)b, (lua_Number)step);
    if (count > (double)lt_get_max_numel())
        return luaL_error(L, "tensor.arange: %I elements exceed the tensor size limit of %I",
                          (lua_Integer)count, (lua_Integer)lt_get_max_numel());
    int64_t n = (int64_t)count;
    lt_tensor *t = lt_lua_pushtensor(L, lt_tensor_empty(1, &n));
    for (int64_t i = 0; i < n; i++) t->data[i] = (float)(a + (double)i * step);
    return 1;
}

static int tensor_eye(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1), m = luaL_optinteger(L, 2, n);
    int64_t shape[2] = {n, m};
    shape_check(L, "tensor.eye", 2, shape);
    lt_tensor *t = lt_lua_pushtensor(L, lt_tensor_new(2, shape));
    for (int64_t i = 0; i < n && i < m; i++) t->data[i * m + i] = 1.0f;
    return 1;
}

static int tensor_is(lua_State *L) {
    lua_pushboolean(L, lt_lua_testtensor(L, 1) != NULL);
    return 1;
}

/* ---- functional lesson ops ---- */

static lt_padding check_padding(lua_State *L, const char *fn, int opts) {
    const char *p = lt_opt_str(L, fn, opts, "padding", "valid");
    if (strcmp(p, "valid") == 0) return LT_PAD_VALID;
    if (strcmp(p, "same") == 0) return LT_PAD_SAME;
    luaL_error(L, "padding must be 'valid' or 'same', got '%s'", p);
    return LT_PAD_VALID;
}

static int conv_op(lua_State *L, int dims) {
    const char *fn = dims == 2 ? "tensor.conv2d" : "tensor.conv1d";
    lt_tensor *x = lt_lua_totensor(L, 1, fn), *k = lt_lua_totensor(L, 2, fn);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    lt_opt_check(L, 3, fn, "stride|strides padding", 0);
    int64_t stride = lt_opt_int(L, fn, 3, 0, "stride|strides", 1, 0);
    lt_padding pad = check_padding(L, fn, 3);
    lt_lua_pushtensor(L, dims == 2 ? lt_conv2d_direct(x, k, stride, pad)
                                   : lt_conv1d_direct(x, k, stride, pad));
    return 1;
}
static int tensor_conv2d(lua_State *L) { return conv_op(L, 2); }
static int tensor_conv1d(lua_State *L) { return conv_op(L, 1); }

static int pool_op(lua_State *L, int is_max) {
    const char *fn = is_max ? "tensor.maxpool2d" : "tensor.avgpool2d";
    lt_tensor *x = lt_lua_totensor(L, 1, fn);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
    lt_opt_check(L, 2, fn, "size|pool_size stride|strides padding", 0);
    int64_t size = lt_opt_int(L, fn, 2, 0, "size|pool_size", 2, 0);
    int64_t stride = lt_opt_int(L, fn, 2, 0, "stride|strides", size, 0);
    lt_padding pad = check_padding(L, fn, 2);
    lt_lua_pushtensor(L, lt_pool2d_direct(x, size, stride, pad, is_max));
    return 1;
}
static int tensor_maxpool2d(lua_State *L) { return pool_op(L, 1); }
static int tensor_avgpool2d(lua_State *L) { return pool_op(L, 0); }

/* ---- shape and access ---- */

static void push_shape(lua_State *L, const lt_tensor *t) {
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushinteger(L, t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static int tensor_m_dim(lua_State *L) {
    lua_pushinteger(L, lt_lua_checktensor(L, 1)->ndim);
    return 1;
}

static int tensor_m_numel(lua_State *L) {
    lua_pushinteger(L, lt_lua_checktensor(L, 1)->numel);
    return 1;
}

static int tensor_m_size(lua_State *L) {                /* size() → shape table; size(d) → n */
    lt_tensor *t = lt_lua_checktensor(L, 1);
    if (lua_isnoneornil(L, 2)) push_shape(L, t);
    else lua_pushinteger(L, t->shape[check_dim(L, t, 2)]);
    return 1;
}

/* Flat offset of the 1-based indexes at args first.. (one per dimension). */
static int64_t check_index(lua_State *L, const lt_tensor *t, int first, int count,
                           const char *fn) {
    if (count != t->ndim)
        luaL_error(L, "%s: %d indexes given for a %d-dimensional tensor", fn, count, t->ndim);
    int64_t off = 0;
    for (int i = 0; i < t->ndim; i++) {
        lua_Integer k = luaL_checkinteger(L, first + i);
        if (k < 1 || k > t->shape[i])
            luaL_error(L, "%s: index %d is %I, out of range 1..%I for dimension %d", fn, i + 1,
                       k, (lua_Integer)t->shape[i], i + 1);
        off = off * t->shape[i] + (k - 1);
    }
    return off;
}

static int tensor_m_get(lua_State *L) {                 /* t:get(i, j, ...) */
    lt_tensor *t = lt_lua_checktensor(L, 1);
    lua_pushnumber(L, t->data[check_index(L, t, 2, lua_gettop(L) - 1, "get")]);
    return 1;
}

static int tensor_m_set(lua_State *L) {                 /* t:set(i, j, ..., v) */
    lt_tensor *t = lt_lua_checktensor(L, 1);
    int top = lua_gettop(L);
    float v = (float)luaL_checknumber(L, top);
    t->data[check_index(L, t, 2, top - 2, "set")] = v;
    lua_settop(L, 1);
    return 1;
}

static int tensor_m_item(lua_State *L) {
    lt_tensor *t = lt_lua_checktensor(L, 1);
    if (t->numel != 1)
        return luaL_error(L, "item: tensor has %d elements, expected 1", (int)t->numel);
    lua_pushnumber(L, t->data[0]);
    return 1;
}

static int tensor_m_reshape(lua_State *L) {             /* reshape(2, 3) or reshape{2, -1} */
    lt_tensor *t = lt_lua_checktensor(L, 1);
    int64_t shape[LT_MAX_DIMS];
    int nd = check_shape_args(L, 2, lua_gettop(L), shape, "reshape");
    lt_lua_pushtensor(L, lt_tensor_reshape(t, nd, shape));
    return 1;
}

static int tensor_m_permute(lua_State *L) {             /* permute(3, 1, 2) or permute{...} */
    lt_tensor *t = lt_lua_checktensor(L, 1);
    int64_t p64[LT_MAX_DIMS];
    int perm[LT_MAX_DIMS];
    int n = check_shape_args(L, 2, lua_gettop(L), p64, "permute");
    if (n != t->ndim)
        return luaL_error(L, "permute: %d dimensions given for a %d-dimensional tensor", n,
                          t->ndim);
    for (int i = 0; i < n; i++) {
        if (p64[i] < 1 || p64[i] > n)
            return luaL_error(L, "permute: dimension %I is outside 1..%d", (lua_Integer)p64[i], n);
        perm[i] = (int)p64[i] - 1;
    }
    lt_lua_pushtensor(L, lt_tensor_permute(t, perm));
    return 1;
}

static int tensor_m_transpose(lua_State *L) {           /* transpose([d1, d2]) */
    lt_tensor *t = lt_lua_checktensor(L, 1);
    int d0 = 0, d1 = 1;
    if (!lua_isnoneornil(L, 2)) { d0 = check_dim(L, t, 2); d1 = check_dim(L, t, 3); }
    else if (t->ndim != 2)
        return luaL_error(L, "transpose: give two dimensions for a %d-dimensional tensor",
                          t->ndim);
    lt_lua_pushtensor(L, lt_tensor_transpose(t, d0, d1));
    return 1;
}

static int tensor_m_slice(lua_State *L) {               /* slice(dim, first, last), inclusive */
    lt_tensor *t = lt_lua_checktensor(L, 1);
    int d = check_dim(L, t, 2);
    lua_Integer first = luaL_checkinteger(L, 3);
    lua_Integer last = luaL_optinteger(L, 4, t->shape[d]);
    if (last < 0 && last >= -t->shape[d]) last += t->shape[d] + 1;  /* -1: the last position */
    if (first < 1 || last < first || last > t->shape[d])  /* before any arithmetic on them */
        return luaL_error(L, "slice: range %I..%I out of bounds for dimension %d of size %I", first,
                          last, d + 1, (lua_Integer)t->shape[d]);
    lt_lua_pushtensor(L, lt_tensor_narrow(t, d, first - 1, last - first + 1));
    return 1;
}

static int tensor_m_clone(lua_State *L) {
    lt_lua_pushtensor(L, lt_tensor_clone(lt_lua_checktensor(L, 1)));
    return 1;
}

static int tensor_m_copy(lua_State *L) {                /* dst:copy(src): same element count */
    lt_tensor *dst = lt_lua_checktensor(L, 1);
    lt_tensor *src = lt_lua_totensor(L, 2, "copy");
    lt_lua_check(L, lt_tensor_copy(dst, src));
    lua_settop(L, 1);
    return 1;
}

static int tensor_m_fill(lua_State *L) {
    lt_tensor *t = lt_lua_checktensor(L, 1);
    float v = (float)luaL_checknumber(L, 2);
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = v;
    lua_settop(L, 1);
    return 1;
}

static int tensor_m_zero(lua_State *L) {
    lt_tensor *t = lt_lua_checktensor(L, 1);
    memset(t->data, 0, (size_t)t->numel * sizeof(float));
    lua_settop(L, 1);
    return 1;
}

static void push_table_rec(lua_State *L, const lt_tensor *t, int dim, int64_t off) {
    int64_t n = t->shape[dim], inner = 1;
    for (int i = dim + 1; i < t->ndim; i++) inner *= t->shape[i];
    luaL_checkstack(L, 4, "totable: nesting too deep");
    lua_createtable(L, (int)n, 0);
    for (int64_t i = 0; i < n; i++) {
        if (dim == t->ndim - 1) lua_pushnumber(L, t->data[off + i]);
        else push_table_rec(L, t, dim + 1, off + i * inner);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static int tensor_m_totable(lua_State *L) {
    lt_tensor *t = lt_lua_checktensor(L, 1);
    push_table_rec(L, t, 0, 0);
    return 1;
}

static int tensor_m_apply(lua_State *L) {               /* in place: x = fn(x) */
    lt_lua_checktensor(L, 1);
    LTensor *u = lua_touserdata(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    for (int64_t i = 0; i < u->t->numel; i++) {
        lua_pushvalue(L, 2);
        lua_pushnumber(L, u->t->data[i]);
        lua_call(L, 1, 1);
        int ok;
        lua_Number v = lua_tonumberx(L, -1, &ok);
        if (!ok) return luaL_error(L, "apply: the function returned a %s, expected a number",
                                   luaL_typename(L, -1));
        /* the function may have closed or finalised the tensor (<close>, __gc) */
        if (!u->t) return luaL_error(L, "apply: the function freed the tensor it runs on");
        u->t->data[i] = (float)v;
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    return 1;
}

/* ---- arithmetic ---- */

static int arith(lua_State *L, lt_binop op) {
    lt_tensor *a = lt_lua_testtensor(L, 1), *b = lt_lua_testtensor(L, 2);
    if (a && b) lt_lua_pushtensor(L, lt_tensor_binop(op, a, b));
    else if (a) lt_lua_pushtensor(L, lt_tensor_binop_scalar(op, a, (float)luaL_checknumber(L, 2), 0));
    else if (b) lt_lua_pushtensor(L, lt_tensor_binop_scalar(op, b, (float)luaL_checknumber(L, 1), 1));
    else return luaL_error(L, "tensor arithmetic: expected a tensor operand");
    return 1;
}
static int tensor__add(lua_State *L) { return arith(L, LT_ADD); }
static int tensor__sub(lua_State *L) { return arith(L, LT_SUB); }
static int tensor__mul(lua_State *L) { return arith(L, LT_MUL); }
static int tensor__div(lua_State *L) { return arith(L, LT_DIV); }
static int tensor_m_eq(lua_State *L) { return arith(L, LT_EQ); }
static int tensor_m_ne(lua_State *L) { return arith(L, LT_NE); }
static int tensor_m_lt(lua_State *L) { return arith(L, LT_LT); }
static int tensor_m_le(lua_State *L) { return arith(L, LT_LE); }
static int tensor_m_gt(lua_State *L) { return arith(L, LT_GT); }
static int tensor_m_ge(lua_State *L) { return arith(L, LT_GE); }

static int tensor__unm(lua_State *L) {
    lt_lua_pushtensor(L, lt_tensor_binop_scalar(LT_MUL, lt_lua_checktensor(L, 1), -1.0f, 0));
    return 1;
}

/* Element-wise functions: a new tensor with fn applied to every element. */
typedef float (*unary_fn)(float);
static float f_relu(float x) { return x > 0 ? x : 0; }
static float f_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static int unary(lua_State *L, unary_fn f) {
    lt_tensor *t = lt_lua_checktensor(L, 1);
    lt_tensor *r = lt_lua_pushtensor(L, lt_tensor_empty(t->ndim, t->shape));
    for (int64_t i = 0; i < t->numel; i++) r->data[i] = f(t->data[i]);
    return 1;
}
static int tensor_m_abs(lua_State *L) { return unary(L, fabsf); }
static int tensor_m_exp(lua_State *L) { return unary(L, expf); }
static int tensor_m_log(lua_State *L) { return unary(L, logf); }
static int tensor_m_sqrt(lua_State *L) { return unary(L, sqrtf); }
static int tensor_m_tanh(lua_State *L) { return unary(L, tanhf); }
static int tensor_m_sigmoid(lua_State *L) { return unary(L, f_sigmoid); }
static int tensor_m_relu(lua_State *L) { return unary(L, f_relu); }

static int tensor_m_pow(lua_State *L) {
    lt_tensor *t = lt_lua_checktensor(L, 1);
    float p = (float)luaL_checknumber(L, 2);
    lt_tensor *r = lt_lua_pushtensor(L, lt_tensor_empty(t->ndim, t->shape));
    for (int64_t i = 0; i < t->numel; i++) r->data[i] = powf(t->data[i], p);
    return 1;
}

static int tensor_m_matmul(lua_State *L) {
    lt_tensor *a = lt_lua_checktensor(L, 1), *b = lt_lua_totensor(L, 2, "matmul");
    lt_lua_pushtensor(L, lt_tensor_matmul(a, b));
    return 1;
}

/* ---- reductions: no dimension gives a number, a dimension gives a tensor ---- */

static int reduce(lua_State *L, lt_reduce_op op) {
    lt_tensor *t = lt_lua_checktensor(L, 1);
    if (lua_isnoneornil(L, 2)) {
        lt_tensor *r = lt_tensor_reduce(op, t, -1);
        if (!r) return lt_lua_check(L, LT_ENOMEM);
        float v = r->data[0];
        lt_tensor_free(r);
        if (op == LT_ARGMAX || op == LT_ARGMIN) lua_pushinteger(L, (lua_Integer)v);
        else lua_pushnumber(L, v);
        return 1;
    }
    lt_lua_pushtensor(L, lt_tensor_reduce(op, t, check_dim(L, t, 2)));
    return 1;
}
static int tensor_m_sum(lua_State *L) { return reduce(L, LT_SUM); }
static int tensor_m_mean(lua_State *L) { return reduce(L, LT_MEAN); }
static int tensor_m_max(lua_State *L) { return reduce(L, LT_MAX); }
static int tensor_m_min(lua_State *L) { return reduce(L, LT_MIN); }
static int tensor_m_std(lua_State *L) { return reduce(L, LT_STD); }
static int tensor_m_argmax(lua_State *L) { return reduce(L, LT_ARGMAX); }
static int tensor_m_argmin(lua_State *L) { return reduce(L, LT_ARGMIN); }

/* ---- metamethods ---- */

static int tensor__index(lua_State *L) {
    lt_tensor *t = lt_lua_checktensor(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {                /* t[i]: 1-based along dim 1 */
        int ok;
        lua_Integer i = lua_tointegerx(L, 2, &ok);
        if (!ok) return luaL_error(L, "tensor index must be an integer");
        if (i < 1 || i > t->shape[0])
            return luaL_error(L, "index %d out of range 1..%d", (int)i, (int)t->shape[0]);
        if (t->ndim == 1) lua_pushnumber(L, t->data[i - 1]);
        else lt_lua_pushtensor(L, lt_tensor_select(t, i - 1));
        return 1;
    }
    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "shape") == 0) {
        push_shape(L, t);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_gettable(L, lua_upvalueindex(1));                /* methods */
    return 1;
}

static int tensor__newindex(lua_State *L) {              /* t[i] = number | tensor */
    lt_tensor *t = lt_lua_checktensor(L, 1);
    int ok;
    lua_Integer i = lua_tointegerx(L, 2, &ok);
    if (!ok) return luaL_error(L, "cannot set field '%s' of a tensor", luaL_tolstring(L, 2, NULL));
    if (i < 1 || i > t->shape[0])
        return luaL_error(L, "index %d out of range 1..%d", (int)i, (int)t->shape[0]);
    int64_t inner = t->numel / t->shape[0];
    float *dst = t->data + (i - 1) * inner;
    if (lua_type(L, 3) == LUA_TNUMBER) {
        float v = (float)lua_tonumber(L, 3);
        for (int64_t k = 0; k < inner; k++) dst[k] = v;
        return 0;
    }
    lt_tensor *src = lt_lua_totensor(L, 3, "tensor assignment");
    if (src->numel != inner)
        return luaL_error(L, "tensor assignment: value has %d elements, t[%d] has %d",
                          (int)src->numel, (int)i, (int)inner);
    memmove(dst, src->data, (size_t)inner * sizeof(float));
    return 0;
}

static int tensor__len(lua_State *L) {
    lua_pushinteger(L, lt_lua_checktensor(L, 1)->shape[0]);
    return 1;
}

static int tensor__tostring(lua_State *L) {
    /* rows wrap at numpy's 75 columns in an 80-column window, 5 less than the width */
    char *s = lt_tensor_format_width(lt_lua_checktensor(L, 1), lt_lua_columns(L, NULL, NULL) - 5);
    if (!s) return luaL_error(L, "%s", lt_lasterror());
    lua_pushstring(L, s);
    free(s);
    return 1;
}

static int tensor__gc(lua_State *L) {                    /* also __close; safe twice */
    LTensor *u = luaL_checkudata(L, 1, TENSOR_MT);
    lt_tensor_free(u->t);
    u->t = NULL;
    return 0;
}

/* ---- registration ---- */

static const lt_reg tensor_funcs[] = {
    {"new", tensor_new, "tensor{...} / tensor.new(t)\n\nBuilds a float32 tensor from nested "
     "tables of numbers (rectangular), or copies a tensor.\nExample: tensor{{1, 2}, {3, 4}}"},
    {"zeros", tensor_zeros, "tensor.zeros(d1, d2, ...) or tensor.zeros{d1, d2, ...}\n\n"
     "A tensor of zeros. Example: tensor.zeros(2, 3)"},
    {"ones", tensor_ones, "tensor.ones(d1, ...) or tensor.ones{d1, ...}\n\nA tensor of ones."},
    {"full", tensor_full, "tensor.full(shape, value)\n\nA tensor filled with value.\n"
     "Example: tensor.full({2, 2}, 7)"},
    {"rand", tensor_rand, "tensor.rand(d1, ...)\n\nUniform [0, 1) values from the generator "
     "seeded by lunette.seed(n)."},
    {"randn", tensor_randn, "tensor.randn(d1, ...)\n\nStandard normal values (mean 0, std 1) "
     "from the generator seeded by lunette.seed(n)."},
    {"arange", tensor_arange, "tensor.arange(n) / tensor.arange(a, b [, step=1])\n\n"
     "Values 0..n-1, or a, a+step, ... up to but excluding b (as numpy.arange).\n"
     "Example: tensor.arange(1, 2, 0.25) --> 1, 1.25, 1.5, 1.75"},
    {"eye", tensor_eye, "tensor.eye(n [, m=n])\n\nAn n×m identity matrix."},
    {"is", tensor_is, "tensor.is(x)\n\ntrue when x is a tensor."},
    {"conv2d", tensor_conv2d, "tensor.conv2d(input, kernel [, {stride=1, padding='valid'}])\n\n"
     "Cross-correlation as in Keras: out[i,j] = sum over i',j',c of\n"
     "input[i*s+i', j*s+j', c] * kernel[i', j', c, o].\n"
     "input H×W, H×W×C or N×H×W×C; kernel KH×KW, KH×KW×C or KH×KW×C×OC.\n"
     "padding 'same' pads as TensorFlow (the odd extra row/column goes after).\n"
     "Example: tensor.conv2d({{1,2,3},{4,5,6},{7,8,9}}, {{1,0},{0,-1}})"},
    {"conv1d", tensor_conv1d, "tensor.conv1d(input, kernel [, {stride=1, padding='valid'}])\n\n"
     "1-D cross-correlation: out[i] = sum over k of input[i*s+k] * kernel[k].\n"
     "input L, L×C or N×L×C; kernel K, K×C or K×C×OC.\n"
     "Example: tensor.conv1d({1, 2}, {1, -1}) --> {-1}"},
    {"maxpool2d", tensor_maxpool2d, "tensor.maxpool2d(input [, {size=2, stride=size, "
     "padding='valid'}])\n\nThe maximum of each size×size window. input H×W, H×W×C or "
     "N×H×W×C.\nExample: tensor.maxpool2d(tensor.arange(16):reshape(4, 4))"},
    {"avgpool2d", tensor_avgpool2d, "tensor.avgpool2d(input [, {size=2, stride=size, "
     "padding='valid'}])\n\nThe average of each size×size window (padded cells are not "
     "counted)."},
    {NULL, NULL, NULL}};

static const lt_reg tensor_meths[] = {
    {"dim", tensor_m_dim, "t:dim()\n\nThe number of dimensions."},
    {"numel", tensor_m_numel, "t:numel()\n\nThe number of elements."},
    {"size", tensor_m_size, "t:size([d])\n\nThe shape as a table, or the size of dimension d."},
    {"get", tensor_m_get, "t:get(i, j, ...)\n\nThe element at 1-based position (i, j, ...)."},
    {"set", tensor_m_set, "t:set(i, j, ..., v)\n\nSets the element at (i, j, ...) to v; "
     "returns t."},
    {"item", tensor_m_item, "t:item()\n\nThe value of a one-element tensor."},
    {"reshape", tensor_m_reshape, "t:reshape(d1, d2, ...) or t:reshape{...}\n\nA view with a "
     "new shape and the same elements; one dimension may be -1 (inferred).\n"
     "Example: tensor.arange(6):reshape(2, -1)"},
    {"permute", tensor_m_permute, "t:permute(p1, p2, ...)\n\nA copy with dimensions reordered: "
     "dimension i of the result is dimension p_i of t.\nExample: hwc:permute(3, 1, 2) gives "
     "C×H×W"},
    {"transpose", tensor_m_transpose, "t:transpose([d1, d2])\n\nA copy with dimensions d1 and "
     "d2 swapped (default 1 and 2 of a matrix)."},
    {"slice", tensor_m_slice, "t:slice(dim, first [, last])\n\nElements first..last "
     "(inclusive, 1-based; negative last counts from the end) along dim.\nA view when dim is 1, "
     "else a copy. Example: x:slice(1, 1, 100) -- the first 100 samples"},
    {"clone", tensor_m_clone, "t:clone()\n\nA copy with its own storage."},
    {"copy", tensor_m_copy, "t:copy(src)\n\nCopies src's elements (same count) into t; "
     "returns t."},
    {"fill", tensor_m_fill, "t:fill(v)\n\nSets every element to v; returns t."},
    {"zero", tensor_m_zero, "t:zero()\n\nSets every element to 0; returns t."},
    {"totable", tensor_m_totable, "t:totable()\n\nNested Lua tables of numbers."},
    {"apply", tensor_m_apply, "t:apply(fn)\n\nReplaces each element x by fn(x), in place; "
     "returns t.\nExample: t:apply(function(x) return x * x end)"},
    {"eq", tensor_m_eq, "t:eq(x)\n\nMask (1 or 0) of t == x; x a number or a broadcastable "
     "tensor. Also ne, lt, le, gt, ge."},
    {"ne", tensor_m_ne, "t:ne(x)\n\nMask of t ~= x."},
    {"lt", tensor_m_lt, "t:lt(x)\n\nMask of t < x."},
    {"le", tensor_m_le, "t:le(x)\n\nMask of t <= x."},
    {"gt", tensor_m_gt, "t:gt(x)\n\nMask of t > x."},
    {"ge", tensor_m_ge, "t:ge(x)\n\nMask of t >= x."},
    {"abs", tensor_m_abs, "t:abs()\n\nElement-wise |x| (a new tensor)."},
    {"exp", tensor_m_exp, "t:exp()\n\nElement-wise e^x."},
    {"log", tensor_m_log, "t:log()\n\nElement-wise natural logarithm."},
    {"sqrt", tensor_m_sqrt, "t:sqrt()\n\nElement-wise square root."},
    {"tanh", tensor_m_tanh, "t:tanh()\n\nElement-wise tanh."},
    {"sigmoid", tensor_m_sigmoid, "t:sigmoid()\n\nElement-wise 1 / (1 + e^-x)."},
    {"relu", tensor_m_relu, "t:relu()\n\nElement-wise max(x, 0)."},
    {"pow", tensor_m_pow, "t:pow(p)\n\nElement-wise x^p."},
    {"matmul", tensor_m_matmul, "a:matmul(b)\n\nMatrix product (M×K)(K×N) through OpenBLAS; "
     "1-d operands act as vectors.\nExample: tensor{{1,2},{3,4}}:matmul(tensor{{1},{1}})"},
    {"sum", tensor_m_sum, "t:sum([dim])\n\nThe sum of all elements (a number), or along dim "
     "(a tensor without that dimension)."},
    {"mean", tensor_m_mean, "t:mean([dim])\n\nThe mean, of everything or along dim."},
    {"max", tensor_m_max, "t:max([dim])\n\nThe maximum, of everything or along dim."},
    {"min", tensor_m_min, "t:min([dim])\n\nThe minimum, of everything or along dim."},
    {"std", tensor_m_std, "t:std([dim])\n\nThe population standard deviation (numpy's "
     "default, ddof=0)."},
    {"argmax", tensor_m_argmax, "t:argmax([dim])\n\nThe 0-based index of the maximum (of the "
     "flattened tensor, or along dim).\n0-based so that argmax over class scores gives class "
     "ids. Example: probs:argmax(2)"},
    {"argmin", tensor_m_argmin, "t:argmin([dim])\n\nThe 0-based index of the minimum."},
    {NULL, NULL, NULL}};

static const luaL_Reg tensor_metas[] = {
    {"__add", tensor__add}, {"__sub", tensor__sub}, {"__mul", tensor__mul},
    {"__div", tensor__div}, {"__unm", tensor__unm}, {"__len", tensor__len},
    {"__newindex", tensor__newindex}, {"__tostring", tensor__tostring},
    {"__gc", tensor__gc}, {"__close", tensor__gc}, {NULL, NULL}};

int luaopen_lunette_tensor(lua_State *L) {
    lt_lua_newclass(L, TENSOR_MT, tensor_metas, tensor_meths, "Tensor:", tensor__index);

    lua_newtable(L);                                      /* the module */
    lt_lua_setfuncs(L, "tensor", tensor_funcs);
    lua_newtable(L);
    lua_pushcfunction(L, tensor_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    lt_lua_sethelp(L, -1, "tensor", "tensor: float32 n-d arrays, channels-last (N×H×W×C).\n\n"
                   "Build: tensor{...}, zeros, ones, full, rand, randn, arange, eye.\n"
                   "Inspect: t.shape, t:dim(), t:numel(), t[i] (a view), get/set, totable.\n"
                   "Change: reshape, permute, transpose, slice, clone, copy, fill, zero, apply.\n"
                   "Compute: + - * / (broadcasting), eq/lt/gt..., matmul, sum/mean/max/min/std/"
                   "argmax, conv1d, conv2d, maxpool2d, avgpool2d.\nSee help(tensor.zeros) etc.");
    return 1;
}

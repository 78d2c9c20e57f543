/* l_dist.c: lunette.dist, training on several processes (src/dist/dist.h).
 * The user's API: rank, size, barrier, allreduce, broadcast, print0, available. The
 * functions with a leading underscore are what a distributed fit (lua/lunette/dist.lua)
 * uses: attach a network to a global batch, broadcast a network's weights and state and an
 * optimizer's state from rank 0, share rank 0's random stream, checksum an architecture.
 * Every collective first agrees on the shape (lt_dist_check_len) so that ranks passing
 * different shapes all get an error instead of waiting on each other. */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "dist/dist.h"
#include "lua/l_nn.h"
#include "lua/l_util.h"
#include "nn/net.h"

static int dist_rank(lua_State *L) {
    lua_pushinteger(L, lt_dist_rank());
    return 1;
}

static int dist_size(lua_State *L) {
    lua_pushinteger(L, lt_dist_size());
    return 1;
}

static int dist_available(lua_State *L) {
    lua_pushboolean(L, lt_dist_available());
    return 1;
}

static int dist_barrier(lua_State *L) {
    lt_lua_check(L, lt_dist_barrier());
    return 0;
}

static int check_op(lua_State *L, int idx, lt_dist_op *op) {
    static const char *const names[] = {"sum", "mean", "max", "min", NULL};
    int k = luaL_checkoption(L, idx, "sum", names);
    *op = k == 2 ? LT_DIST_MAX : k == 3 ? LT_DIST_MIN : LT_DIST_SUM;
    return k == 1;                                   /* mean: sum, then divide */
}

/* The shape of a tensor agreed across ranks: the element count exactly (what MPI needs
 * to match), then a hash of the rank and dimensions (a 2×3 against a 3×2). */
static lt_status check_shape(const char *what, const lt_tensor *t) {
    if (lt_dist_check_len(what, t->numel) != LT_OK) {
        char buf[128];
        return lt_seterr(LT_ESHAPE, "dist.%s: the ranks passed tensors of different shapes "
                         "(rank %d: %s): every rank must pass the same shape", what,
                         lt_dist_rank(), lt_shape_str(t->ndim, t->shape, buf, sizeof buf));
    }
    uint64_t code = (uint64_t)t->ndim;      /* one number per shape: a mixing hash */
    for (int d = 0; d < t->ndim; d++) code = code * 1000003u + (uint64_t)t->shape[d];
    /* non-negative: negative lengths stand for numbers and other values (see callers) */
    lt_status s = lt_dist_check_len(what, (int64_t)(code & (UINT64_MAX >> 1)));
    if (s != LT_OK) {
        char buf[128];
        return lt_seterr(LT_ESHAPE, "dist.%s: the ranks passed tensors of different shapes "
                         "(rank %d: %s): every rank must pass the same shape", what,
                         lt_dist_rank(), lt_shape_str(t->ndim, t->shape, buf, sizeof buf));
    }
    return LT_OK;
}

/* dist.allreduce(t [, op]): a tensor in place (returns it), or a number (returns the result) */
static int dist_allreduce(lua_State *L) {
    lt_dist_op op;
    int mean = check_op(L, 2, &op);
    int n = lt_dist_size();
    lt_tensor *t = lt_lua_testtensor(L, 1);
    if (t) {
        lt_lua_check(L, check_shape("allreduce", t));
        lt_lua_check(L, lt_dist_allreduce_f(t->data, t->numel, op));
        if (mean)
            for (int64_t i = 0; i < t->numel; i++) t->data[i] /= (float)n;
        lua_settop(L, 1);
        return 1;
    }
    luaL_argexpected(L, lua_type(L, 1) == LUA_TNUMBER, 1, "tensor or number");
    /* -1: a number (the same on every rank, for the shape check) */
    lt_lua_check(L, lt_dist_check_len("allreduce", -1));
    double v = lua_tonumber(L, 1);
    lt_lua_check(L, lt_dist_allreduce_d(&v, 1, op));
    lua_pushnumber(L, mean ? v / n : v);
    return 1;
}

/* dist.broadcast(v [, root]): a tensor in place (returns it); a number, string or boolean:
 * returns root's value */
static int dist_broadcast(lua_State *L) {
    lua_Integer root = luaL_optinteger(L, 2, 0);
    int n = lt_dist_size();
    luaL_argcheck(L, root >= 0 && root < n, 2, lua_pushfstring(L, "root must be a rank, 0 to %d", n - 1));
    lt_tensor *t = lt_lua_testtensor(L, 1);
    if (t) {
        lt_lua_check(L, check_shape("broadcast", t));
        lt_lua_check(L, lt_dist_broadcast(t->data, t->numel * (int64_t)sizeof(float), (int)root));
        lua_settop(L, 1);
        return 1;
    }
    int type = lua_type(L, 1);
    luaL_argexpected(L, type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TBOOLEAN, 1,
                     "tensor, number, string or boolean");
    /* the kind first (every rank must pass the same kind), then the value */
    int64_t kind = type == LUA_TNUMBER ? (lua_isinteger(L, 1) ? 1 : 2) : type == LUA_TSTRING ? 3 : 4;
    lt_status s = lt_dist_check_len("broadcast", -kind);
    if (s != LT_OK)
        return luaL_error(L, "dist.broadcast: the ranks passed values of different types "
                          "(rank %d: %s)", lt_dist_rank(), luaL_typename(L, 1));
    if (kind == 1) {
        int64_t v = lua_tointeger(L, 1);
        lt_lua_check(L, lt_dist_broadcast(&v, sizeof v, (int)root));
        lua_pushinteger(L, v);
    } else if (kind == 2) {
        double v = lua_tonumber(L, 1);
        lt_lua_check(L, lt_dist_broadcast(&v, sizeof v, (int)root));
        lua_pushnumber(L, v);
    } else if (kind == 4) {
        int64_t v = lua_toboolean(L, 1);
        lt_lua_check(L, lt_dist_broadcast(&v, sizeof v, (int)root));
        lua_pushboolean(L, (int)v);
    } else {
        size_t len;
        const char *str = lua_tolstring(L, 1, &len);
        int64_t n64 = (int64_t)len;
        lt_lua_check(L, lt_dist_broadcast(&n64, sizeof n64, (int)root));
        /* a Lua-owned buffer: nothing leaks if an error is raised below */
        luaL_Buffer b;
        char *p = luaL_buffinitsize(L, &b, (size_t)n64);
        if (lt_dist_rank() == root) memcpy(p, str, len);
        lt_lua_check(L, lt_dist_broadcast(p, n64, (int)root));
        luaL_pushresultsize(&b, (size_t)n64);
    }
    return 1;
}

/* dist.print0(...): print on rank 0 only */
static int dist_print0(lua_State *L) {
    if (lt_dist_rank() != 0) return 0;
    int n = lua_gettop(L);
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    lua_call(L, n, 0);
    return 0;
}

/* dist.abort(msg): stop every rank with msg (naming this rank) */
static int dist_abort(lua_State *L) {
    const char *msg = luaL_optstring(L, 1, "stopped");
    lt_dist_abort(1, msg);
}

/* ---- for the distributed fit (lua/lunette/dist.lua) ---- */

/* dist._attach(net, global_rows): the net's next training steps are this rank's share of
 * a global batch of global_rows rows (0: alone again) */
static int dist_attach(lua_State *L) {
    lt_net *net = lt_lua_checknet(L, 1);
    lua_Integer rows = luaL_checkinteger(L, 2);
    luaL_argcheck(L, rows >= 0, 2, "rows must be >= 0");
    net->dist_rows = lt_dist_size() > 1 ? rows : 0;
    return 0;
}

/* FNV-1a over bytes */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

/* dist._checksum(net) → a hex string of the architecture: kinds, wiring, shapes, sizes */
static int dist_checksum(lua_State *L) {
    lt_net *net = lt_lua_checknet(L, 1);
    uint64_t h = 14695981039346656037ull;
    for (int i = 0; i < net->n; i++) {
        const lt_node *d = &net->nodes[i];
        int64_t v[4 + LT_MAX_DIMS + LT_MAX_MERGE] = {d->nin, d->nd, d->size, 0};
        if (d->layer) {
            h = fnv(h, d->layer->vt->kind, strlen(d->layer->vt->kind));
            v[3] = lt_layer_nparams(d->layer) * 16 + d->layer->act;
        }
        for (int k = 0; k < d->nd && k < LT_MAX_DIMS; k++) v[4 + k] = d->shape[k];
        for (int k = 0; k < d->nin && k < LT_MAX_MERGE; k++) v[4 + LT_MAX_DIMS + k] = d->in[k];
        h = fnv(h, v, sizeof v);
    }
    h = fnv(h, &net->nparams, sizeof net->nparams);
    char hex[24];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    lua_pushstring(L, hex);
    return 1;
}

/* dist._sync_net(net): rank 0's parameters and layer states (batchnorm moving statistics)
 * on every rank. The net must be built (same architecture on every rank: the caller
 * compared checksums). The optimizer's state follows in dist.lua (opt:state/set_state). */
static int dist_sync_net(lua_State *L) {
    lt_net *net = lt_lua_checknet(L, 1);
    if (!net->params) return luaL_error(L, "dist: the model is not built");
    lt_lua_check(L, lt_dist_check_len("sync", net->nparams));
    lt_lua_check(L, lt_dist_broadcast(net->params->data, net->nparams * 4, 0));
    for (int m = 0; m < net->nlayers; m++) {
        lt_layer *l = net->layers[m];
        int64_t ns = l->state ? l->state->numel : 0;
        lt_lua_check(L, lt_dist_check_len("sync", ns));
        if (ns) lt_lua_check(L, lt_dist_broadcast(l->state->data, ns * 4, 0));
    }
    return 0;
}

/* dist._sync_rng(): rank 0's random stream on every rank (shuffles agree); then, with
 * fork=true, ranks other than 0 move to a stream of their own (dropout masks differ across
 * ranks; rank 0 keeps the stream a single process would have). */
static int dist_sync_rng(lua_State *L) {
    int fork = lua_toboolean(L, 1);
    lt_lua_check(L, lt_dist_broadcast(&lt_global_rng, sizeof lt_global_rng, 0));
    if (fork && lt_dist_rank() > 0) {
        lt_rng r = lt_global_rng;
        uint64_t seed = lt_rng_next(&r) ^ (0x9e3779b97f4a7c15ull * (uint64_t)lt_dist_rank());
        lt_rng_seed(&r, seed);
        lt_global_rng = r;
    }
    return 0;
}

/* dist._allreduce_seconds(): seconds spent in allreduce so far (benchmarks) */
static int dist_allreduce_seconds(lua_State *L) {
    lua_pushnumber(L, lt_dist_allreduce_seconds());
    return 1;
}

/* dist._host(): this rank's host name ("" alone) */
static int dist_host(lua_State *L) {
    lua_pushstring(L, lt_dist_host());
    return 1;
}

static const lt_reg dist_funcs[] = {
    {"rank", dist_rank, "dist.rank() → integer\n\nThis process's rank: 0 to dist.size()-1 "
     "(0 when not started by mpirun).\nExample: if dist.rank() == 0 then print('first') end"},
    {"size", dist_size, "dist.size() → integer\n\nThe number of processes training together "
     "(mpirun -np N lunette script.lua); 1 alone or in a build without MPI.\n"
     "Example: dist.print0('training on ' .. dist.size() .. ' processes')"},
    {"available", dist_available, "dist.available() → boolean\n\nWhether this build has MPI "
     "(Open MPI's libopenmpi-dev was present when it was built).\nExample: print(dist.available())"},
    {"barrier", dist_barrier, "dist.barrier()\n\nWaits until every rank has called it.\n"
     "Example: dist.barrier()"},
    {"allreduce", dist_allreduce, "dist.allreduce(t [, op]) → t\n\nCombines a tensor across "
     "all ranks, in place: op is 'sum' (default), 'mean', 'max' or 'min'. Every rank must "
     "call it with a tensor of the same shape (a mismatch is an error on every rank). A "
     "number gives back the combined number.\nExample: t = tensor{dist.rank()}; "
     "dist.allreduce(t, 'sum')  -- 0+1+...+(size-1) on every rank"},
    {"broadcast", dist_broadcast, "dist.broadcast(v [, root]) → v\n\nRank root's value "
     "(default 0) on every rank: a tensor is overwritten in place (same shape on every rank); "
     "a number, string or boolean is returned.\nExample: seed = dist.broadcast(os.time())"},
    {"print0", dist_print0, "dist.print0(...)\n\nprint(...) on rank 0 only.\n"
     "Example: dist.print0('accuracy', acc)"},
    {"abort", dist_abort, "dist.abort([msg])\n\nStops every rank: prints msg naming this rank, "
     "then ends the job (MPI_Abort).\nExample: if bad then dist.abort('bad data') end"},
    {"_attach", dist_attach, NULL},
    {"_checksum", dist_checksum, NULL},
    {"_sync_net", dist_sync_net, NULL},
    {"_sync_rng", dist_sync_rng, NULL},
    {"_allreduce_seconds", dist_allreduce_seconds, NULL},
    {"_host", dist_host, NULL},
    {NULL, NULL, NULL}};

int luaopen_lunette_dist(lua_State *L) {
    lua_newtable(L);
    lt_lua_setfuncs(L, "dist", dist_funcs);
    return 1;
}

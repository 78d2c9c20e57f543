/* l_metrics.c: lunette.metrics: accuracy and the confusion matrix over 0-based class
 * ids (rows true, columns predicted, as sklearn.metrics.confusion_matrix). Predictions
 * are class ids (N or N×1) or scores/probabilities N×K, reduced by argmax (first max).
 * classification_report is in lua/lunette/metrics.lua, on top of confusion_matrix. */
#include <math.h>
#include <string.h>

#include "lua/l_util.h"

/* Labels as a GC-owned array of int64 (pushed on the stack). Accepts N or N×1 ids
 * (integral, >= 0), or, when allow_scores, N×K scores → argmax. */
static int64_t *get_labels(lua_State *L, int idx, const char *fn, const char *what,
                           int allow_scores, int64_t *n) {
    lt_tensor *t = lt_lua_totensor(L, idx, fn);
    int scores = t->ndim == 2 && t->shape[1] > 1;
    if (t->ndim > 2 || (scores && !allow_scores))
        luaL_error(L, "%s: %s must be class ids (N or Nx1), got shape %s", fn, what,
                   lt_shape_str(t->ndim, t->shape, (char[96]){0}, 96));
    *n = t->ndim == 0 ? 1 : t->shape[0];
    int64_t *out = lua_newuserdatauv(L, (size_t)(*n ? *n : 1) * sizeof *out, 0);
    if (scores) {
        int64_t k = t->shape[1];
        for (int64_t i = 0; i < *n; i++) {
            const float *r = t->data + i * k;
            int64_t best = 0;
            for (int64_t j = 1; j < k; j++)
                if (r[j] > r[best]) best = j;
            out[i] = best;
        }
        return out;
    }
    for (int64_t i = 0; i < *n; i++) {
        float v = t->data[i];
        if (!(v >= 0) || v != floorf(v) || v > 1e9f)
            luaL_error(L, "%s: %s[%I] = %f is not a class id (0, 1, 2, ...)", fn, what,
                       (lua_Integer)(i + 1), (lua_Number)v);
        out[i] = (int64_t)v;
    }
    return out;
}

static void check_same_n(lua_State *L, const char *fn, int64_t a, int64_t b) {
    if (a != b)
        luaL_error(L, "%s: y_true has %I labels, y_pred has %I", fn, (lua_Integer)a, (lua_Integer)b);
    if (a == 0) luaL_error(L, "%s: no labels", fn);
}

static int metrics_accuracy(lua_State *L) {
    const char *fn = "metrics.accuracy";
    int64_t n, m;
    lua_settop(L, 2);                            /* the label arrays are pushed above */
    const int64_t *yt = get_labels(L, 1, fn, "y_true", 0, &n);
    const int64_t *yp = get_labels(L, 2, fn, "y_pred", 1, &m);
    check_same_n(L, fn, n, m);
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += yt[i] == yp[i];
    lua_pushnumber(L, (lua_Number)ok / (lua_Number)n);
    return 1;
}

static int metrics_confusion_matrix(lua_State *L) {
    const char *fn = "metrics.confusion_matrix";
    int64_t n, m;
    lua_settop(L, 3);                            /* the label arrays are pushed above */
    const int64_t *yt = get_labels(L, 1, fn, "y_true", 0, &n);
    const int64_t *yp = get_labels(L, 2, fn, "y_pred", 1, &m);
    check_same_n(L, fn, n, m);
    int64_t k = 0;
    if (lua_isnoneornil(L, 3)) {
        for (int64_t i = 0; i < n; i++) {
            if (yt[i] + 1 > k) k = yt[i] + 1;
            if (yp[i] + 1 > k) k = yp[i] + 1;
        }
    } else {
        k = luaL_checkinteger(L, 3);
        luaL_argcheck(L, k >= 1 && k <= 100000, 3, "the class count must be 1..100000");
    }
    if (k > 100000) luaL_error(L, "%s: label %I is too large", fn, (lua_Integer)k - 1);
    for (int64_t i = 0; i < n; i++) {
        if (yt[i] >= k) luaL_error(L, "%s: y_true[%I] = %I is outside 0..%I", fn,
                                   (lua_Integer)(i + 1), (lua_Integer)yt[i], (lua_Integer)(k - 1));
        if (yp[i] >= k) luaL_error(L, "%s: y_pred[%I] = %I is outside 0..%I", fn,
                                   (lua_Integer)(i + 1), (lua_Integer)yp[i], (lua_Integer)(k - 1));
    }
    lt_tensor *cm = lt_lua_pushtensor(L, lt_tensor_new2(k, k));
    for (int64_t i = 0; i < n; i++) cm->data[yt[i] * k + yp[i]] += 1.0f;
    return 1;
}

static const lt_reg metrics_funcs[] = {
    {"accuracy", metrics_accuracy, "metrics.accuracy(y_true, y_pred)\n\nThe fraction of "
     "predictions equal to the true class. y_true: class ids (0-based,\nN or Nx1, a tensor or "
     "a table); y_pred: class ids, or scores/probabilities NxK\n(the argmax is the prediction).\n"
     "Example: metrics.accuracy(ds.y_test, model:predict(ds.x_test))  --> 0.8731"},
    {"confusion_matrix", metrics_confusion_matrix, "metrics.confusion_matrix(y_true, y_pred "
     "[, k])\n\nA kxk tensor of counts: row i, column j counts the samples of true class i-1\n"
     "predicted as class j-1 (rows true, columns predicted, as sklearn). k defaults to the\n"
     "largest label + 1; a label outside 0..k-1 is an error. y_pred may be NxK scores.\n"
     "Example: cm = metrics.confusion_matrix({0,1,1}, {0,1,0}, 2)  --> {{1,0},{1,1}}"},
    {NULL, NULL, NULL}};

int luaopen_lunette_metrics(lua_State *L) {
    lua_newtable(L);
    lt_lua_setfuncs(L, "metrics", metrics_funcs);
    return 1;
}

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

/* metrics.misclassified's core: _misclassified(y_true, y_pred, true_class|nil,
 * pred_class|nil) → the 1-based positions i where y_true[i] ≠ y_pred[i] and, when given,
 * y_true[i] = true_class and y_pred[i] = pred_class (a table, in order). */
static int metrics_misclassified(lua_State *L) {
    const char *fn = "metrics.misclassified";
    int64_t n, m;
    lua_settop(L, 4);
    lua_Integer tc = luaL_optinteger(L, 3, -1), pc = luaL_optinteger(L, 4, -1);
    const int64_t *yt = get_labels(L, 1, fn, "y_true", 0, &n);
    const int64_t *yp = get_labels(L, 2, fn, "y_pred", 1, &m);
    check_same_n(L, fn, n, m);
    lua_newtable(L);
    lua_Integer k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (yt[i] == yp[i] || (tc >= 0 && yt[i] != tc) || (pc >= 0 && yp[i] != pc)) continue;
        lua_pushinteger(L, (lua_Integer)(i + 1));
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

/* A tensor argument of at least `nd` dimensions. */
static lt_tensor *check_nd(lua_State *L, int idx, int nd, const char *fn) {
    lt_tensor *t = lt_lua_checktensor(L, idx);
    if (t->ndim < nd)
        luaL_error(L, "%s: expected a tensor of %d dimensions, got %d", fn, nd, t->ndim);
    return t;
}

/* _cam(A, G) → N×h×w: Grad-CAM's map (Selvaraju et al. 2017) from a layer's maps A and
 * the class score's gradients G (both N×h×w×K): α_k = mean over h, w of G_k, then
 * ReLU(Σ_k α_k·A_k). */
static int metrics_cam(lua_State *L) {
    lt_tensor *A = check_nd(L, 1, 4, "gradcam"), *G = check_nd(L, 2, 4, "gradcam");
    if (A->ndim != 4 || G->ndim != 4 || memcmp(A->shape, G->shape, 4 * sizeof(int64_t)) != 0)
        return luaL_error(L, "gradcam: maps and gradients must both be NxHxWxC of one shape");
    int64_t N = A->shape[0], P = A->shape[1] * A->shape[2], K = A->shape[3];
    if (P < 1) return luaL_error(L, "gradcam: empty maps");
    lt_tensor *cam = lt_lua_pushtensor(L, lt_tensor_new(3, A->shape));
    double *alpha = lua_newuserdatauv(L, (size_t)(K ? K : 1) * sizeof *alpha, 0);
    for (int64_t n = 0; n < N; n++) {
        const float *a = A->data + n * P * K, *g = G->data + n * P * K;
        for (int64_t k = 0; k < K; k++) alpha[k] = 0;
        for (int64_t p = 0; p < P; p++)
            for (int64_t k = 0; k < K; k++) alpha[k] += g[p * K + k];
        for (int64_t k = 0; k < K; k++) alpha[k] /= (double)P;
        for (int64_t p = 0; p < P; p++) {
            double v = 0;
            for (int64_t k = 0; k < K; k++) v += alpha[k] * a[p * K + k];
            cam->data[n * P + p] = v > 0 ? (float)v : 0.0f;
        }
    }
    lua_pop(L, 1);
    return 1;
}

/* Output index i of n along an axis of the source's m: the two source indices *a, *b it
 * lies between and the weight of *b (pixel centres aligned, clamped to the edge). */
static double source_coord(int64_t i, int64_t n, int64_t m, int64_t *a, int64_t *b) {
    double s = ((double)i + 0.5) * (double)m / (double)n - 0.5;
    if (s < 0) s = 0;
    if (s > (double)(m - 1)) s = (double)(m - 1);
    *a = (int64_t)s;
    *b = *a + 1 < m ? *a + 1 : *a;
    return s - (double)*a;
}

/* _resize(m, H, W) → N×H×W: bilinear resampling of N×h×w maps with pixel centres aligned
 * (source x = (X + 0.5)·w/W - 0.5, clamped to the edge, as tf.image.resize and OpenCV). */
static int metrics_resize(lua_State *L) {
    lt_tensor *m = check_nd(L, 1, 3, "resize");
    lua_Integer H = luaL_checkinteger(L, 2), W = luaL_checkinteger(L, 3);
    luaL_argcheck(L, H >= 1 && H <= 65536 && W >= 1 && W <= 65536, 2, "size must be 1..65536");
    if (m->ndim != 3) return luaL_error(L, "resize: expected NxHxW maps");
    int64_t N = m->shape[0], h = m->shape[1], w = m->shape[2];
    if (h < 1 || w < 1) return luaL_error(L, "resize: empty maps");
    if ((double)N * (double)H * (double)W > (double)lt_get_max_numel())
        return luaL_error(L, "resize: %I maps of %Ix%I are too many values", (lua_Integer)N, H, W);
    int64_t shape[3] = {N, H, W};
    lt_tensor *out = lt_lua_pushtensor(L, lt_tensor_empty(3, shape));
    for (int64_t n = 0; n < N; n++) {
        const float *src = m->data + n * h * w;
        for (int64_t Y = 0; Y < H; Y++) {
            int64_t y0, y1;
            double fy = source_coord(Y, H, h, &y0, &y1);
            for (int64_t X = 0; X < W; X++) {
                int64_t x0, x1;
                double fx = source_coord(X, W, w, &x0, &x1);
                double top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
                double bot = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
                out->data[(n * H + Y) * W + X] = (float)(top * (1 - fy) + bot * fy);
            }
        }
    }
    return 1;
}

/* _absmax(g) → g's shape without its last axis: max over the last axis of |g|
 * (saliency: Simonyan et al. 2014, the largest channel magnitude per pixel). */
static int metrics_absmax(lua_State *L) {
    lt_tensor *g = check_nd(L, 1, 2, "saliency");
    int64_t C = g->shape[g->ndim - 1], P = C ? g->numel / C : 0;
    lt_tensor *out = lt_lua_pushtensor(L, lt_tensor_empty(g->ndim - 1, g->shape));
    for (int64_t p = 0; p < P; p++) {
        float best = 0;
        for (int64_t c = 0; c < C; c++) {
            float v = fabsf(g->data[p * C + c]);
            if (v > best) best = v;
        }
        out->data[p] = best;
    }
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
    {"_misclassified", metrics_misclassified, NULL},
    {"_cam", metrics_cam, NULL},
    {"_resize", metrics_resize, NULL},
    {"_absmax", metrics_absmax, NULL},
    {NULL, NULL, NULL}};

int luaopen_lunette_metrics(lua_State *L) {
    lua_newtable(L);
    lt_lua_setfuncs(L, "metrics", metrics_funcs);
    return 1;
}

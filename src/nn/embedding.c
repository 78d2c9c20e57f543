/* embedding.c: Embedding: integer ids (stored as floats) → rows of a vocab×dim table
 * (Keras: uniform(-0.05, 0.05) initialiser). x: N×L → y: N×L×dim.
 * Backward: dW[id] += dy row; ids have no gradient (dx is zero). */
#include "nn/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    int64_t vocab, dim;
} emb_layer;

static lt_status emb_setup(lt_layer *l, int nd, const int64_t *in) {
    emb_layer *e = (emb_layer *)l;
    char a[160];
    if (nd >= LT_MAX_DIMS - 1)
        return lt_seterr(LT_ESHAPE, "%s: sample shape %s has too many dimensions", l->name,
                         lt_shape_str(nd, in, a, sizeof a));
    l->out_nd = nd + 1;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    l->out_shape[nd] = e->dim;
    l->wnd = 2;
    l->wshape[0] = e->vocab; l->wshape[1] = e->dim; l->wshape[2] = l->wshape[3] = 0;
    l->nw = lt_mul_sat(e->vocab, e->dim);
    l->nb = 0;
    return LT_OK;
}

static void emb_init(lt_layer *l, lt_rng *r) {
    for (int64_t i = 0; i < l->nw; i++) l->w->data[i] = (2.0f * lt_rng_uniform(r) - 1.0f) * 0.05f;
}

static lt_status emb_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                             float *scratch) {
    (void)cache; (void)scratch;
    emb_layer *e = (emb_layer *)l;
    int64_t n = N * l->in_size;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!(v >= 0 && v < (float)e->vocab && v == floorf(v)))
            return lt_seterr(LT_EARG, "%s: input %lld is %g, expected an integer id in 0..%lld "
                             "(vocabulary %lld)", l->name, (long long)i + 1, v,
                             (long long)e->vocab - 1, (long long)e->vocab);
        memcpy(y + i * e->dim, l->w->data + (int64_t)v * e->dim, (size_t)e->dim * sizeof(float));
    }
    return LT_OK;
}

static void emb_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                         int64_t N, const float *cache, float *scratch) {
    (void)y; (void)cache; (void)scratch;
    emb_layer *e = (emb_layer *)l;
    int64_t n = N * l->in_size;
    for (int64_t i = 0; i < n; i++) {
        float *row = l->dw->data + (int64_t)x[i] * e->dim;
        const float *g = dy + i * e->dim;
        for (int64_t j = 0; j < e->dim; j++) row[j] += g[j];
    }
    if (dx) memset(dx, 0, (size_t)n * sizeof(float));
}

static const lt_layer_vt emb_vt = {"Embedding", emb_setup, emb_init, NULL, NULL, emb_forward,
                                   emb_backward, NULL, NULL, 0, NULL, NULL, NULL};

lt_layer *lt_embedding_new(int64_t vocab, int64_t dim) {
    if (vocab < 1 || dim < 1) {
        lt_seterr(LT_EARG, "Embedding: vocabulary size and dimension must be positive (got "
                  "%lld, %lld)", (long long)vocab, (long long)dim);
        return NULL;
    }
    emb_layer *e = (emb_layer *)lt_layer_alloc(sizeof *e, &emb_vt);
    if (!e) return NULL;
    e->vocab = vocab;
    e->dim = dim;
    snprintf(e->h.name, sizeof e->h.name, "embedding");
    return &e->h;
}

/* global_pool.c: GlobalMaxPool2D, GlobalAvgPool2D, GlobalMaxPool1D (and the 1-d
 * average): reduce every spatial position of a channels-last sample to one value per
 * channel: N×H×W×C (or N×L×C) → N×C. Max caches the argmax (int32 index into x). */
#include "nn/layer.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    int dims, is_max;
    int64_t S, C;        /* spatial positions per sample, channels */
} gpool_layer;

static lt_status gpool_setup(lt_layer *l, int nd, const int64_t *in) {
    gpool_layer *p = (gpool_layer *)l;
    char a[160];
    if (nd != p->dims + 1)
        return lt_seterr(LT_ESHAPE, "%s (%s): expects input %s, got a sample of shape %s",
                         l->name, l->vt->kind, p->dims == 2 ? "N×H×W×C" : "N×L×C",
                         lt_shape_str(nd, in, a, sizeof a));
    p->S = 1;
    for (int i = 0; i < nd - 1; i++) p->S = lt_mul_sat(p->S, in[i]);
    p->C = in[nd - 1];
    l->out_nd = 1;
    l->out_shape[0] = p->C;
    return LT_OK;
}

static size_t gpool_cache(const lt_layer *l, int64_t N) {
    return ((const gpool_layer *)l)->is_max ? (size_t)(N * l->out_size) : 0;
}

static lt_status gpool_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                               float *scratch) {
    (void)scratch;
    gpool_layer *p = (gpool_layer *)l;
    int32_t *arg = (int32_t *)cache;
    for (int64_t n = 0; n < N; n++) {
        float *yn = y + n * p->C;
        const float *xn = x + n * p->S * p->C;
        for (int64_t c = 0; c < p->C; c++) {
            yn[c] = xn[c];
            if (p->is_max) arg[n * p->C + c] = (int32_t)(n * p->S * p->C + c);
        }
        for (int64_t s = 1; s < p->S; s++) {
            const float *xs = xn + s * p->C;
            if (p->is_max) {
                for (int64_t c = 0; c < p->C; c++)
                    if (xs[c] > yn[c]) {
                        yn[c] = xs[c];
                        arg[n * p->C + c] = (int32_t)((n * p->S + s) * p->C + c);
                    }
            } else {
                for (int64_t c = 0; c < p->C; c++) yn[c] += xs[c];
            }
        }
        if (!p->is_max)
            for (int64_t c = 0; c < p->C; c++) yn[c] /= (float)p->S;
    }
    return LT_OK;
}

static void gpool_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                           int64_t N, const float *cache, float *scratch) {
    (void)x; (void)y; (void)scratch;
    gpool_layer *p = (gpool_layer *)l;
    if (!dx) return;
    if (p->is_max) {
        memset(dx, 0, (size_t)(N * l->in_size) * sizeof(float));
        const int32_t *arg = (const int32_t *)cache;
        for (int64_t k = 0; k < N * p->C; k++) dx[arg[k]] += dy[k];
        return;
    }
    float inv = 1.0f / (float)p->S;
    for (int64_t n = 0; n < N; n++)
        for (int64_t s = 0; s < p->S; s++)
            for (int64_t c = 0; c < p->C; c++)
                dx[(n * p->S + s) * p->C + c] = dy[n * p->C + c] * inv;
}

static const lt_layer_vt vts[2][2] = {
    {{"GlobalAvgPool1D", gpool_setup, NULL, gpool_cache, NULL, gpool_forward, gpool_backward,
      NULL, NULL, LT_LAYER_SPLITTABLE, NULL, NULL, NULL},
     {"GlobalMaxPool1D", gpool_setup, NULL, gpool_cache, NULL, gpool_forward, gpool_backward,
      NULL, NULL, LT_LAYER_SPLITTABLE, NULL, NULL, NULL}},
    {{"GlobalAvgPool2D", gpool_setup, NULL, gpool_cache, NULL, gpool_forward, gpool_backward,
      NULL, NULL, LT_LAYER_SPLITTABLE, NULL, NULL, NULL},
     {"GlobalMaxPool2D", gpool_setup, NULL, gpool_cache, NULL, gpool_forward, gpool_backward,
      NULL, NULL, LT_LAYER_SPLITTABLE, NULL, NULL, NULL}}};

lt_layer *lt_global_pool_new(int dims, int is_max) {
    gpool_layer *p = (gpool_layer *)lt_layer_alloc(sizeof *p, &vts[dims - 1][is_max != 0]);
    if (!p) return NULL;
    p->dims = dims;
    p->is_max = is_max;
    snprintf(p->h.name, sizeof p->h.name, "global_%s_pooling%dd", is_max ? "max" : "average",
             dims);
    return &p->h;
}

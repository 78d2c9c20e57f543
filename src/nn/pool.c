/* pool.c: MaxPool2D, AvgPool2D and MaxPool1D (Keras semantics, channels-last).
 * y[n,i,j,c] = max / mean over the size×size window at (i·s - PT, j·s - PL); padded
 * cells ('same') are ignored: the max is over real cells, the mean divides by their
 * count (as TensorFlow). Max pooling caches the argmax (an int32 index into x) for
 * backward, which routes dy there; average pooling spreads dy evenly. 1-d: H = 1. */
#include "nn/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    int dims, is_max;
    int64_t size, stride;
    lt_padding pad;
    int64_t H, W, C, OH, OW, PT, PL, KH, SH;
} pool_layer;

static lt_status pool_setup(lt_layer *l, int nd, const int64_t *in) {
    pool_layer *p = (pool_layer *)l;
    char a[160];
    if (nd != p->dims + 1)
        return lt_seterr(LT_ESHAPE, "%s (%s): expects input %s, got a sample of shape %s",
                         l->name, l->vt->kind, p->dims == 2 ? "N×H×W×C" : "N×L×C",
                         lt_shape_str(nd, in, a, sizeof a));
    p->H = p->dims == 2 ? in[0] : 1;
    p->W = in[nd - 2];
    p->C = in[nd - 1];
    p->KH = p->dims == 2 ? p->size : 1;
    p->SH = p->dims == 2 ? p->stride : 1;
    if (lt_conv_geometry(l->name, p->H, p->KH, p->SH, p->pad, &p->OH, &p->PT) != LT_OK ||
        lt_conv_geometry(l->name, p->W, p->size, p->stride, p->pad, &p->OW, &p->PL) != LT_OK)
        return LT_ESHAPE;
    l->out_nd = nd;
    if (p->dims == 2) { l->out_shape[0] = p->OH; l->out_shape[1] = p->OW; }
    else l->out_shape[0] = p->OW;
    l->out_shape[nd - 1] = p->C;
    l->nw = l->nb = 0;
    return LT_OK;
}

static size_t pool_cache(const lt_layer *l, int64_t N) {
    const pool_layer *p = (const pool_layer *)l;
    return p->is_max ? (size_t)(N * l->out_size) : 0;
}

static lt_status pool_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                              float *scratch) {
    (void)scratch;
    pool_layer *p = (pool_layer *)l;
    int32_t *arg = (int32_t *)cache;
    const int64_t C = p->C;
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < p->OH; i++)
            for (int64_t j = 0; j < p->OW; j++) {
                float *yo = y + ((n * p->OH + i) * p->OW + j) * C;
                int32_t *ao = p->is_max ? arg + ((n * p->OH + i) * p->OW + j) * C : NULL;
                int64_t count = 0;
                for (int64_t c = 0; c < C; c++) {
                    yo[c] = p->is_max ? -INFINITY : 0.0f;
                    if (ao) ao[c] = -1;
                }
                for (int64_t di = 0; di < p->KH; di++) {
                    int64_t ih = i * p->SH + di - p->PT;
                    if (ih < 0 || ih >= p->H) continue;
                    for (int64_t dj = 0; dj < p->size; dj++) {
                        int64_t iw = j * p->stride + dj - p->PL;
                        if (iw < 0 || iw >= p->W) continue;
                        int64_t base = ((n * p->H + ih) * p->W + iw) * C;
                        const float *xi = x + base;
                        count++;
                        if (p->is_max) {
                            for (int64_t c = 0; c < C; c++)
                                if (xi[c] > yo[c] || ao[c] < 0) {
                                    yo[c] = xi[c];
                                    ao[c] = (int32_t)(base + c);
                                }
                        } else {
                            for (int64_t c = 0; c < C; c++) yo[c] += xi[c];
                        }
                    }
                }
                if (!p->is_max) {
                    float inv = 1.0f / (float)count;
                    for (int64_t c = 0; c < C; c++) yo[c] *= inv;
                }
            }
    return LT_OK;
}

static void pool_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                          int64_t N, const float *cache, float *scratch) {
    (void)x; (void)y; (void)scratch;
    pool_layer *p = (pool_layer *)l;
    if (!dx) return;
    memset(dx, 0, (size_t)(N * l->in_size) * sizeof(float));
    int64_t nout = N * l->out_size;
    if (p->is_max) {
        const int32_t *arg = (const int32_t *)cache;
        for (int64_t k = 0; k < nout; k++) dx[arg[k]] += dy[k];
        return;
    }
    const int64_t C = p->C;
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < p->OH; i++)
            for (int64_t j = 0; j < p->OW; j++) {
                const float *go = dy + ((n * p->OH + i) * p->OW + j) * C;
                int64_t h0 = i * p->SH - p->PT, w0 = j * p->stride - p->PL;
                int64_t h1 = h0 + p->KH, w1 = w0 + p->size;
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                if (h1 > p->H) h1 = p->H;
                if (w1 > p->W) w1 = p->W;
                float inv = 1.0f / (float)((h1 - h0) * (w1 - w0));
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) {
                        float *gi = dx + ((n * p->H + ih) * p->W + iw) * C;
                        for (int64_t c = 0; c < C; c++) gi[c] += go[c] * inv;
                    }
            }
}

static const lt_layer_vt maxpool2d_vt = {"MaxPool2D", pool_setup, NULL, pool_cache, NULL,
                                         pool_forward, pool_backward, NULL, NULL,
                                         LT_LAYER_SPLITTABLE, NULL, NULL, NULL};
static const lt_layer_vt avgpool2d_vt = {"AvgPool2D", pool_setup, NULL, pool_cache, NULL,
                                         pool_forward, pool_backward, NULL, NULL,
                                         LT_LAYER_SPLITTABLE, NULL, NULL, NULL};
static const lt_layer_vt maxpool1d_vt = {"MaxPool1D", pool_setup, NULL, pool_cache, NULL,
                                         pool_forward, pool_backward, NULL, NULL,
                                         LT_LAYER_SPLITTABLE, NULL, NULL, NULL};
static const lt_layer_vt avgpool1d_vt = {"AvgPool1D", pool_setup, NULL, pool_cache, NULL,
                                         pool_forward, pool_backward, NULL, NULL,
                                         LT_LAYER_SPLITTABLE, NULL, NULL, NULL};

lt_layer *lt_pool_new(int dims, int is_max, int64_t size, int64_t stride, lt_padding pad) {
    const lt_layer_vt *vt = dims == 2 ? (is_max ? &maxpool2d_vt : &avgpool2d_vt)
                                      : (is_max ? &maxpool1d_vt : &avgpool1d_vt);
    if (size < 1 || stride < 1) {
        lt_seterr(LT_EARG, "%s: pool size and stride must be positive (got %lld, %lld)",
                  vt->kind, (long long)size, (long long)stride);
        return NULL;
    }
    pool_layer *p = (pool_layer *)lt_layer_alloc(sizeof *p, vt);
    if (!p) return NULL;
    p->dims = dims;
    p->is_max = is_max;
    p->size = size;
    p->stride = stride;
    p->pad = pad;
    snprintf(p->h.name, sizeof p->h.name, "%s_pooling%dd", is_max ? "max" : "average", dims);
    return &p->h;
}

/* batchnorm.c: BatchNormalization over the last (channel) axis (Ioffe & Szegedy 2015,
 * Keras semantics). Rows M = N·(all but the last axis), C channels.
 * Training: μ, σ² = batch mean and biased variance per channel;
 *           y = γ (x - μ) / sqrt(σ² + ε) + β;
 *           moving ← momentum·moving + (1 - momentum)·batch  (Keras: momentum 0.99,
 *           ε 1e-3, biased variance in the moving average).
 *           The training forward only keeps μ and σ² in its cache; commit applies the
 *           moving update, so a step that is not applied (NaN loss, Ctrl-C) changes nothing.
 * Inference: the moving mean and variance replace μ, σ².
 * Backward (training), x̂ = (x - μ)·inv:  dγ += Σ dy·x̂;  dβ += Σ dy;
 *           dx = γ·inv/M · (M·dy - Σdy - x̂·Σ(dy·x̂)).
 * γ is `weight`, β `bias`; the state block holds [moving_mean | moving_variance].
 * Per-channel sums in double. Distributed step (lt_layer_sync_batch): the per-channel sums
 * (Σx, Σ(x-μ)², Σdy, Σdy·x̂) and the row count M are summed over the processes, so μ, σ² and dx are those of the
 * global batch (synchronised batch normalisation); dγ, dβ stay this rank's sums (the
 * network sums the gradients over the ranks). */
#include "dist/dist.h"
#include "nn/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    float momentum, eps;
    int64_t C;
} bn_layer;

static lt_status bn_setup(lt_layer *l, int nd, const int64_t *in) {
    bn_layer *b = (bn_layer *)l;
    int64_t C = in[nd - 1];
    if (l->w && l->wshape[0] != C)
        return lt_seterr(LT_ESHAPE, "%s: input has %lld channels, layer expects %lld", l->name,
                         (long long)C, (long long)l->wshape[0]);
    b->C = C;
    l->out_nd = nd;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    l->wnd = 1;
    l->wshape[0] = C; l->wshape[1] = l->wshape[2] = l->wshape[3] = 0;
    l->nw = C;
    l->nb = C;
    l->nstate = 2 * C;
    return LT_OK;
}

static void bn_init(lt_layer *l, lt_rng *r) {
    (void)r;
    for (int64_t c = 0; c < l->nw; c++) l->w->data[c] = 1.0f;   /* γ = 1, β = 0 */
}

static void bn_init_state(lt_layer *l) {
    int64_t C = l->nstate / 2;
    for (int64_t c = 0; c < C; c++) {
        l->state->data[c] = 0.0f;
        l->state->data[C + c] = 1.0f;
    }
}

/* Per-channel sums are accumulated in double (a batch of 128 32×32 images sums 131072
 * values per channel: a float sum would carry ~1e-5 of rounding) in the scratch block
 * acc, whose last element holds the row count; a distributed step sums acc over the
 * processes (one allreduce of n + 1 doubles). */
static lt_status reduce_sums(double *acc, int64_t n) {
    return lt_layer_sync_batch ? lt_dist_allreduce_d(acc, n + 1, LT_DIST_SUM) : LT_OK;
}

/* scratch: 2C + 1 doubles (acc) */
static double *acc_buf(float *scratch) { return (double *)(void *)scratch; }

/* cache: [mean C | inv C | batch variance C | mode 1] */
static size_t bn_cache(const lt_layer *l, int64_t N) {
    (void)N;
    return (size_t)(3 * ((const bn_layer *)l)->C + 1);
}

static lt_status bn_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                            float *scratch) {
    bn_layer *b = (bn_layer *)l;
    const int64_t C = b->C, M = N * l->in_size / C;
    lt_status st;
    float *mean = cache, *inv = cache + C, *bvar = cache + 2 * C;
    const float *mm = l->state->data, *mv = l->state->data + C;
    cache[3 * C] = (float)l->training;
    if (l->training) {
        /* two passes with per-channel sums; the count of rows (global when distributed) */
        double *acc = acc_buf(scratch);
        for (int64_t c = 0; c < C; c++) acc[c] = 0;
        acc[C] = (double)M;
        for (int64_t r = 0; r < M; r++)
            for (int64_t c = 0; c < C; c++) acc[c] += x[r * C + c];
        if ((st = reduce_sums(acc, C)) != LT_OK) return st;
        const double Mt = acc[C];
        for (int64_t c = 0; c < C; c++) mean[c] = (float)(acc[c] / Mt);
        for (int64_t c = 0; c < C; c++) acc[c] = 0;
        acc[C] = 0;
        for (int64_t r = 0; r < M; r++)
            for (int64_t c = 0; c < C; c++) {
                float d = x[r * C + c] - mean[c];
                acc[c] += d * d;
            }
        if ((st = reduce_sums(acc, C)) != LT_OK) return st;
        for (int64_t c = 0; c < C; c++) {
            float var = (float)(acc[c] / Mt);
            bvar[c] = var;
            inv[c] = 1.0f / sqrtf(var + b->eps);
        }
    } else {
        for (int64_t c = 0; c < C; c++) {
            mean[c] = mm[c];
            inv[c] = 1.0f / sqrtf(mv[c] + b->eps);
        }
    }
    const float *g = l->w->data, *be = l->b->data;
    for (int64_t r = 0; r < M; r++)
        for (int64_t c = 0; c < C; c++)
            y[r * C + c] = g[c] * (x[r * C + c] - mean[c]) * inv[c] + be[c];
    return LT_OK;
}

static void bn_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                        int64_t N, const float *cache, float *scratch) {
    (void)y;
    bn_layer *b = (bn_layer *)l;
    const int64_t C = b->C, M = N * l->in_size / C;
    const float *mean = cache, *inv = cache + C;
    int training = cache[3 * C] != 0.0f;
    double *sdy = acc_buf(scratch), *sdyx = sdy + C;     /* Σ dy, Σ dy·x̂ per channel */
    for (int64_t c = 0; c < C; c++) sdy[c] = sdyx[c] = 0;
    sdy[2 * C] = (double)M;
    for (int64_t r = 0; r < M; r++)
        for (int64_t c = 0; c < C; c++) {
            float d = dy[r * C + c];
            sdy[c] += d;
            sdyx[c] += d * (x[r * C + c] - mean[c]) * inv[c];
        }
    for (int64_t c = 0; c < C; c++) {             /* this rank's: the net sums gradients */
        l->dw->data[c] += (float)sdyx[c];
        l->db->data[c] += (float)sdy[c];
    }
    if (!dx) return;
    if (training) {
        lt_status st = reduce_sums(sdy, 2 * C);
        if (st != LT_OK) {
            l->err = st;
            return;
        }
    }
    const double Mt = sdy[2 * C];                 /* rows of the (global) batch */
    const float *g = l->w->data;
    for (int64_t r = 0; r < M; r++)
        for (int64_t c = 0; c < C; c++) {
            float d = dy[r * C + c];
            if (training) {
                float xh = (x[r * C + c] - mean[c]) * inv[c];
                dx[r * C + c] = g[c] * inv[c] * (d - (float)((sdy[c] + xh * sdyx[c]) / Mt));
            } else {
                dx[r * C + c] = g[c] * inv[c] * d;
            }
        }
}

/* moving ← momentum·moving + (1 - momentum)·batch, from a training forward's cache */
static void bn_commit(lt_layer *l, const float *cache) {
    bn_layer *b = (bn_layer *)l;
    const int64_t C = b->C;
    if (cache[3 * C] == 0.0f) return;            /* an inference forward: nothing to apply */
    const float *mean = cache, *bvar = cache + 2 * C;
    float *mm = l->state->data, *mv = l->state->data + C;
    for (int64_t c = 0; c < C; c++) {
        mm[c] = b->momentum * mm[c] + (1 - b->momentum) * mean[c];
        mv[c] = b->momentum * mv[c] + (1 - b->momentum) * bvar[c];
    }
}

static size_t bn_scratch(const lt_layer *l, int64_t N) {
    (void)N;
    return (size_t)(2 * ((const bn_layer *)l)->C + 1) * 2;   /* see acc_buf */
}

static const lt_layer_vt bn_vt = {"BatchNormalization", bn_setup, bn_init, bn_cache, bn_scratch,
                                  bn_forward, bn_backward, NULL, bn_init_state, 0, NULL, NULL,
                                  NULL};

lt_layer *lt_batchnorm_new(float momentum, float epsilon) {
    if (!(momentum >= 0 && momentum <= 1) || !(epsilon > 0)) {
        lt_seterr(LT_EARG, "BatchNorm: momentum must be in [0, 1] and epsilon positive (got "
                  "%g, %g)", momentum, epsilon);
        return NULL;
    }
    bn_layer *b = (bn_layer *)lt_layer_alloc(sizeof *b, &bn_vt);
    if (!b) return NULL;
    b->momentum = momentum;
    b->eps = epsilon;
    b->h.commit = bn_commit;
    snprintf(b->h.name, sizeof b->h.name, "batch_normalization");
    return &b->h;
}

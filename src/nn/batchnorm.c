/* batchnorm.c: BatchNormalization over the last (channel) axis (Ioffe & Szegedy 2015,
 * Keras semantics). Rows M = N·(all but the last axis), C channels.
 * Training: μ, σ² = batch mean and biased variance per channel;
 *           y = γ (x - μ) / sqrt(σ² + ε) + β, computed as a·(x - μ) + β with
 *           a = γ / sqrt(σ² + ε) per channel;
 *           moving ← momentum·moving + (1 - momentum)·batch  (Keras: momentum 0.99,
 *           ε 1e-3, biased variance in the moving average).
 *           The training forward only keeps μ and σ² in its cache; commit applies the
 *           moving update, so a step that is not applied (NaN loss, Ctrl-C) changes nothing.
 * Inference: the moving mean and variance replace μ, σ².
 * Backward (training), x̂ = (x - μ)·inv:  dγ += Σ dy·x̂;  dβ += Σ dy;
 *           dx = γ·inv/M · (M·dy - Σdy - x̂·Σ(dy·x̂)), as dx = k·dy + q·(x - μ) + t
 *           with per-channel k, q, t.
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

/* scratch: 2C + 1 doubles (acc), then 3C floats of per-channel constants */
static double *acc_buf(float *scratch) { return (double *)(void *)scratch; }
static float *consts_buf(float *scratch, int64_t C) { return scratch + 2 * (2 * C + 1); }

/* Four floats as one value (a GCC/Clang vector the size of an SSE register, which every
 * x86-64 has: wider generic vectors are split through memory on the portable build),
 * read in place (unaligned, aliasing float). */
typedef float v4 __attribute__((vector_size(16)));
typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));
#define AT4(p) (*(const v4u *)(p))

/* What a per-channel sum adds up, per element: x; (x - μ)²; dy·x̂ = dy·(x - μ)·inv.
 * term4 adds it for 4 channels to *acc (pointers: no vector passes by value). */
enum { SUM_X, SUM_SQDEV, SUM_DY_XHAT };
static inline __attribute__((always_inline)) void term4(int what, v4 *acc, const float *x,
                                                        const float *d, const v4 *m,
                                                        const v4 *iv) {
    if (what == SUM_X) *acc += AT4(x);
    else if (what == SUM_SQDEV) *acc += (AT4(x) - *m) * (AT4(x) - *m);
    else *acc += AT4(d) * (AT4(x) - *m) * *iv;
}

static inline __attribute__((always_inline)) float term1(int what, float x, float d, float m,
                                                         float iv) {
    if (what == SUM_X) return x;
    if (what == SUM_SQDEV) return (x - m) * (x - m);
    return d * (x - m) * iv;
}

/* acc[c] += Σ_rows term(x[r][c], dy[r][c], mean[c], inv[c]) (mean, inv, dy NULL when the
 * term does not use them). By blocks of 64 rows; in a block, eight channels at a time
 * with their partial sums in registers (two sets, alternate rows), in float, then into
 * the double acc: a conversion per channel and block instead of a double add per element
 * made BatchNorm's forward and backward ~2× faster; 64 rows of float rounding (~1e-6
 * relative) stay far below what the double sum across blocks keeps. A block's rows stay
 * in L1 from one group of channels to the next; channels past the last 8 go one by one. */
enum { SUM_ROWS = 64, LANES = 8 };
static inline __attribute__((always_inline)) void channel_sums(int what, const float *x,
                                                               const float *dy, int64_t M,
                                                               int64_t C, const float *mean,
                                                               const float *inv, double *acc) {
    const int64_t C8 = C / LANES * LANES;
    for (int64_t r0 = 0; r0 < M; r0 += SUM_ROWS) {
        int64_t r1 = M - r0 < SUM_ROWS ? M : r0 + SUM_ROWS;
        for (int64_t c0 = 0; c0 < C8; c0 += LANES) {
            v4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, m0 = {0}, m1 = {0}, i0 = {0}, i1 = {0};
            if (mean) m0 = AT4(mean + c0), m1 = AT4(mean + c0 + 4);
            if (inv) i0 = AT4(inv + c0), i1 = AT4(inv + c0 + 4);
            int64_t r = r0;
            for (; r + 2 <= r1; r += 2) {
                const float *x0 = x + r * C + c0, *d0 = dy ? dy + r * C + c0 : x0;
                term4(what, &a0, x0, d0, &m0, &i0);
                term4(what, &a1, x0 + 4, d0 + 4, &m1, &i1);
                term4(what, &b0, x0 + C, d0 + C, &m0, &i0);
                term4(what, &b1, x0 + C + 4, d0 + C + 4, &m1, &i1);
            }
            if (r < r1) {
                const float *x0 = x + r * C + c0, *d0 = dy ? dy + r * C + c0 : x0;
                term4(what, &a0, x0, d0, &m0, &i0);
                term4(what, &a1, x0 + 4, d0 + 4, &m1, &i1);
            }
            a0 += b0;
            a1 += b1;
            for (int j = 0; j < 4; j++) {
                acc[c0 + j] += (double)a0[j];
                acc[c0 + 4 + j] += (double)a1[j];
            }
        }
        for (int64_t c = C8; c < C; c++) {
            float m = mean ? mean[c] : 0, iv = inv ? inv[c] : 0, a = 0;
            for (int64_t r = r0; r < r1; r++)
                a += term1(what, x[r * C + c], dy ? dy[r * C + c] : 0, m, iv);
            acc[c] += (double)a;
        }
    }
}

/* out[r][c] = q[c]·(v[r][c] - m[c]) + t[c], plus p[c]·u[r][c] when u is given. v - m
 * first: a row at the mean gives exactly t (x·a + (β - μ·a) would cancel two large
 * products there). */
static void per_channel_affine(float *out, const float *u, const float *p, const float *v,
                               const float *q, const float *m, const float *t, int64_t M,
                               int64_t C) {
    for (int64_t r = 0; r < M; r++) {
        const float *vr = v + r * C;
        float *o = out + r * C;
        if (u) {
            const float *ur = u + r * C;
            for (int64_t c = 0; c < C; c++) o[c] = p[c] * ur[c] + q[c] * (vr[c] - m[c]) + t[c];
        } else {
            for (int64_t c = 0; c < C; c++) o[c] = q[c] * (vr[c] - m[c]) + t[c];
        }
    }
}

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
        channel_sums(SUM_X, x, NULL, M, C, NULL, NULL, acc);
        if ((st = reduce_sums(acc, C)) != LT_OK) return st;
        const double Mt = acc[C];
        for (int64_t c = 0; c < C; c++) mean[c] = (float)(acc[c] / Mt);
        for (int64_t c = 0; c < C; c++) acc[c] = 0;
        acc[C] = 0;
        channel_sums(SUM_SQDEV, x, NULL, M, C, mean, NULL, acc);
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
    float *a = consts_buf(scratch, C);                  /* y = a·(x - μ) + β */
    for (int64_t c = 0; c < C; c++) a[c] = g[c] * inv[c];
    per_channel_affine(y, NULL, NULL, x, a, mean, be, M, C);
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
    channel_sums(SUM_X, dy, NULL, M, C, NULL, NULL, sdy);
    channel_sums(SUM_DY_XHAT, x, dy, M, C, mean, inv, sdyx);
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
    /* dx = k·(dy - Σdy/M - x̂·Σ(dy·x̂)/M), k = γ·inv, x̂ = (x - μ)·inv:
     *    = k·dy + q·(x - μ) + t,  q = -k·inv·Σ(dy·x̂)/M,  t = -k·Σdy/M  (inference: k·dy) */
    float *k = consts_buf(scratch, C), *q = k + C, *t = q + C;
    for (int64_t c = 0; c < C; c++) {
        k[c] = g[c] * inv[c];
        double mdyx = training ? sdyx[c] / Mt : 0, mdy = training ? sdy[c] / Mt : 0;
        q[c] = (float)(-k[c] * inv[c] * mdyx);
        t[c] = (float)(-k[c] * mdy);
    }
    per_channel_affine(dx, dy, k, x, q, mean, t, M, C);
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
    int64_t C = ((const bn_layer *)l)->C;
    return (size_t)((2 * C + 1) * 2 + 3 * C);   /* see acc_buf, consts_buf */
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

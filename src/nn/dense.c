/* dense.c: Dense (fully connected) layer on the last axis, Keras semantics.
 * x: N×…×in viewed as M×in (M = N·…), W: in×out, y = act(x · W + b): M×out.
 * Backward: dz = dy ⊙ act'(y); db += Σ_rows dz; dW += xᵀ · dz; dx = dz · Wᵀ. */
#include "nn/layer.h"
#include "nn/parallel.h"

#include <stdio.h>

typedef struct {
    lt_layer h;
    int64_t units, in, rows;   /* rows per sample (1 for a flat input) */
} dense_layer;

static lt_status dense_setup(lt_layer *l, int nd, const int64_t *in) {
    dense_layer *d = (dense_layer *)l;
    int64_t fin = in[nd - 1];
    if (l->w && l->wshape[0] != fin)
        return lt_seterr(LT_ESHAPE, "%s: input has %lld features, layer expects %lld", l->name,
                         (long long)fin, (long long)l->wshape[0]);
    d->in = fin;
    d->rows = 1;
    for (int i = 0; i < nd - 1; i++) d->rows = lt_mul_sat(d->rows, in[i]);
    l->out_nd = nd;
    for (int i = 0; i < nd - 1; i++) l->out_shape[i] = in[i];
    l->out_shape[nd - 1] = d->units;
    l->wnd = 2;
    l->wshape[0] = fin; l->wshape[1] = d->units; l->wshape[2] = l->wshape[3] = 0;
    l->nw = lt_mul_sat(fin, d->units);
    l->nb = l->use_bias ? d->units : 0;
    return LT_OK;
}

static void dense_init(lt_layer *l, lt_rng *r) {
    dense_layer *d = (dense_layer *)l;
    lt_glorot_uniform(l->w->data, l->nw, d->in, d->units, r);
}

static lt_status dense_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                               float *scratch) {
    (void)cache; (void)scratch;
    dense_layer *d = (dense_layer *)l;
    int64_t M = N * d->rows;
    const float *b = l->b ? l->b->data : NULL;
    if (l->act == LT_ACT_NONE || l->act == LT_ACT_RELU) {   /* in the GEMM's epilogue */
        lt_gemm_ep(0, 0, (int)M, (int)d->units, (int)d->in, 1.0f, x, (int)d->in, l->w->data,
                   (int)d->units, 0.0f, y, (int)d->units, b, l->act == LT_ACT_RELU);
        return LT_OK;
    }
    lt_gemm(0, 0, (int)M, (int)d->units, (int)d->in, 1.0f, x, (int)d->in, l->w->data,
            (int)d->units, 0.0f, y, (int)d->units);
    lt_bias_act(y, b, M, d->units, l->act, l->alpha);
    return LT_OK;
}

/* A fused update's block of the kernel's gradient: whole rows of W, about 256 KB, so the
 * block stays in L2 between the GEMM that writes it and the update that reads it. */
#define UPDATE_BLOCK ((int64_t)65536)

/* A few rows against a wide kernel (a batch of 32 into 1152 inputs): dx is computed as its
 * transpose, dxᵀ = W·dzᵀ, whose GEMM reads W's rows in place (gemm_impl.h,
 * read_a_in_place) where dz·Wᵀ packs every row of W through a transposing copy: 1.10 ->
 * 0.85 ms on the lesson model's 32×1152×1024 (the same sums, in the same order). */
static int wide(const dense_layer *d) { return d->in >= 256; }
static int dx_transposed(const dense_layer *d, int64_t M) { return M <= 64 && wide(d); }

/* The scratch: room for dxᵀ (M×in) for a wide layer, linear in N so that a split batch's
 * rows have theirs (in a convolutional network, the convolutions' scratch is larger), and
 * a fused update's block (only ever on a whole batch). */
static size_t dense_scratch_size(const lt_layer *l, int64_t N) {
    const dense_layer *d = (const dense_layer *)l;
    int64_t dxt = wide(d) ? lt_mul_sat(lt_mul_sat(N, d->rows), d->in) : 0;
    int64_t block = l->nw > UPDATE_BLOCK ? UPDATE_BLOCK : l->nw;
    return (size_t)(dxt > block ? dxt : block);
}

static void dense_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                           int64_t N, const float *cache, float *scratch) {
    (void)cache;
    dense_layer *d = (dense_layer *)l;
    int64_t M = N * d->rows;
    lt_act_bias_backward(l, y, dy, M, d->units);
    /* dx (M×in) = dz (M×out) · Wᵀ (out×in), before any fused update of W */
    if (dx && dx_transposed(d, M)) {
        lt_gemm(0, 1, (int)d->in, (int)M, (int)d->units, 1.0f, l->w->data, (int)d->units, dy,
                (int)d->units, 0.0f, scratch, (int)M);
        lt_transpose_to(dx, scratch, d->in, M, 0);
    } else if (dx) {
        lt_gemm(0, 1, (int)M, (int)d->in, (int)d->units, 1.0f, dy, (int)d->units, l->w->data,
                (int)d->units, 0.0f, dx, (int)d->in);
    }
    if (!l->update) {   /* dW (in×out) += xᵀ (in×M) · dz (M×out) */
        lt_gemm(1, 0, (int)d->in, (int)d->units, (int)M, 1.0f, x, (int)d->in, dy,
                (int)d->units, 1.0f, lt_grad_ptr(l->dw), (int)d->units);
        return;
    }
    /* fused: dW folded into the step tile by tile where the optimizer has a kernel for it,
     * else by blocks of rows into the scratch, each handed to the update at once */
    if (l->update_product && l->update_product(l->update_ctx, (int)d->in, (int)d->units,
                                               (int)M, x, (int)d->in, dy, (int)d->units))
        return;
    int64_t rows = UPDATE_BLOCK / d->units > 0 ? UPDATE_BLOCK / d->units : 1;
    for (int64_t i = 0; i < d->in; i += rows) {
        int64_t n = d->in - i < rows ? d->in - i : rows;
        lt_gemm(1, 0, (int)n, (int)d->units, (int)M, 1.0f, x + i, (int)d->in, dy,
                (int)d->units, 0.0f, scratch, (int)d->units);
        l->update(l->update_ctx, i * d->units, scratch, n * d->units);
    }
}

static const lt_layer_vt dense_vt = {"Dense", dense_setup, dense_init, NULL,
                                     dense_scratch_size, dense_forward, dense_backward, NULL,
                                     NULL,
                                     LT_LAYER_SPLITTABLE | LT_LAYER_FUSABLE_ACT |
                                         LT_LAYER_FUSABLE_UPDATE,
                                     NULL, NULL, NULL};

lt_layer *lt_dense_new(int64_t units, lt_act act, int use_bias) {
    if (units < 1) {
        lt_seterr(LT_EARG, "Dense: units must be positive (got %lld)", (long long)units);
        return NULL;
    }
    dense_layer *d = (dense_layer *)lt_layer_alloc(sizeof *d, &dense_vt);
    if (!d) return NULL;
    d->units = units;
    d->h.act = act;
    d->h.alpha = 0.3f;
    d->h.use_bias = use_bias;
    snprintf(d->h.name, sizeof d->h.name, "dense");
    return &d->h;
}

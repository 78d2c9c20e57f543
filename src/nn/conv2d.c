/* conv2d.c: Conv2D and Conv1D layers (Keras semantics) as im2col + GEMM.
 * Forward:  cols = im2col(x)            (N·OH·OW)×K,  K = KH·KW·C
 *           y = act(cols · W + b)       W: K×OC (the KH×KW×C×OC kernel, flattened)
 * Backward: dz = dy ⊙ act'(y);  db += Σ_rows dz;  dW += colsᵀ · dz;
 *           dx = col2im(dz · Wᵀ).
 * The cols matrix is never built whole: a block of its rows (about 1 MB, an L2's worth:
 * lt_conv_block_floats) is unfolded into the scratch and multiplied while it is in cache,
 * then the next block overwrites it; backward unfolds the same blocks again for dW, and
 * folds dx from blocks of dcols. A whole cols matrix is KH·KW times the input (9× for
 * 3×3), so writing it out in the forward and reading it back in backward cost more than
 * unfolding twice: lesson 13's ResNet-14 step 20 % faster, and no per-layer cache of cols.
 * Where every window lies inside the image ('valid' padding), backward needs no cols at
 * all: both gradients read each patch of x and dx where it lies (dw_by_patches,
 * dx_by_patches).
 * Conv1D is the same layer on N×1×L×C with a 1×K kernel (its K×C×OC kernel has the
 * same memory layout). 1×1 stride-1 'valid' convolutions skip im2col: x is cols.
 * Forwards, in training too (backward does not read anything the forward unfolded), run
 * as a direct kernel where it applies (kernels/conv_direct_impl.h: no cols at all; the
 * lesson CIFAR step 3-4 % faster than by blocks of cols), and so does the input gradient
 * of stride-1 convolutions (dx_by_flipped). */
#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "nn/im2col.h"
#include "nn/layer.h"
#include "nn/parallel.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    lt_conv_opts o;
    int dims;            /* 1 or 2 */
    lt_conv_geom g;      /* per sample (g.N = 1) */
    int64_t K, P;        /* patch length, output pixels per sample */
    int direct;          /* cols == x */
    int flip_dx;         /* dx by the direct kernel on dz with the flipped kernel */
} conv_layer;

static lt_status conv_setup(lt_layer *l, int nd, const int64_t *in) {
    conv_layer *c = (conv_layer *)l;
    char a[160];
    int want = c->dims + 1;
    if (nd != want)
        return lt_seterr(LT_ESHAPE, "%s (%s): expects input %s, got a sample of shape %s",
                         l->name, l->vt->kind, c->dims == 2 ? "N×H×W×C" : "N×L×C",
                         lt_shape_str(nd, in, a, sizeof a));
    int64_t H = c->dims == 2 ? in[0] : 1, W = in[nd - 2], C = in[nd - 1];
    if (l->w && l->wshape[c->dims] != C)
        return lt_seterr(LT_ESHAPE, "%s: input has %lld channels, layer expects %lld", l->name,
                         (long long)C, (long long)l->wshape[c->dims]);
    lt_conv_geom *g = &c->g;
    g->N = 1; g->H = H; g->W = W; g->C = C;
    g->KH = c->o.kh; g->KW = c->o.kw; g->SH = c->o.sh; g->SW = c->o.sw;
    if (lt_conv_geometry(l->name, H, g->KH, g->SH, c->o.pad, &g->OH, &g->PT) != LT_OK ||
        lt_conv_geometry(l->name, W, g->KW, g->SW, c->o.pad, &g->OW, &g->PL) != LT_OK)
        return LT_ESHAPE;
    c->K = lt_mul_sat(lt_mul_sat(g->KH, g->KW), C);
    c->P = lt_mul_sat(g->OH, g->OW);
    c->direct = g->KH == 1 && g->KW == 1 && g->SH == 1 && g->SW == 1;
    int64_t OC = c->o.filters;
    c->flip_dx = !c->direct && g->SH == 1 && g->SW == 1 &&
                 lt_conv_direct_ok(OC, lt_mul_sat(lt_mul_sat(g->KH, g->KW), OC), C);
    if (c->dims == 2) {
        l->out_nd = 3;
        l->out_shape[0] = g->OH; l->out_shape[1] = g->OW; l->out_shape[2] = OC;
        l->wnd = 4;
        l->wshape[0] = g->KH; l->wshape[1] = g->KW; l->wshape[2] = C; l->wshape[3] = OC;
    } else {
        l->out_nd = 2;
        l->out_shape[0] = g->OW; l->out_shape[1] = OC;
        l->wnd = 3;
        l->wshape[0] = g->KW; l->wshape[1] = C; l->wshape[2] = OC; l->wshape[3] = 0;
    }
    l->nw = lt_mul_sat(c->K, OC);
    l->nb = l->use_bias ? OC : 0;
    return LT_OK;
}

static void conv_init(lt_layer *l, lt_rng *r) {
    conv_layer *c = (conv_layer *)l;
    int64_t rf = c->g.KH * c->g.KW;   /* receptive field */
    lt_glorot_uniform(l->w->data, l->nw, rf * c->g.C, rf * c->o.filters, r);
}

/* Rows of cols per block: lt_conv_block_floats floats (tests make it small to cross block
 * boundaries everywhere), at most M. */
int64_t lt_conv_block_floats = 262144;

static int64_t block_rows(const conv_layer *c, int64_t M) {
    int64_t r = lt_conv_block_floats / c->K;
    return r < 1 ? 1 : r > M ? M : r;
}

/* Room for a whole dcols (M×K = N·P·K), which holds any block of rows. Strictly linear in
 * N, as the net's scratch must be: a share of the batch's rows (a data-parallel thread's)
 * gets its share of the scratch, and the flipped kernel of dx_by_flipped (K·OC floats)
 * goes there only when it fits in the share's own M×K (at least OC rows). A room of
 * max(M×K, K·OC) let two threads' flipped kernels overlap on tiny images. */
static size_t conv_scratch(const lt_layer *l, int64_t N) {
    const conv_layer *c = (const conv_layer *)l;
    return c->direct ? 0 : (size_t)(N * c->P * c->K);
}

/* The input gradient of a stride-1 convolution is a convolution of dz ('full'-padded: KH-1-PT
 * rows above) with the kernel flipped in space and its channel axes swapped:
 *   dx[i] = Σ_k dz[i + PT - k] W[k] = Σ_k' dz[i - (KH-1-PT) + k'] W[KH-1-k'].
 * With the direct kernel (C a multiple of 16) that skips the M×K dcols matrix and col2im.
 * wf: KH·KW·OC × C floats of scratch. Returns 0 when the kernel does not apply. */
static int dx_by_flipped(const conv_layer *c, const float *w, const float *dz, float *dx,
                         int64_t N, float *wf) {
    const lt_conv_geom *g = &c->g;
    int64_t C = g->C, OC = c->o.filters;
    for (int64_t kh = 0; kh < g->KH; kh++)
        for (int64_t kw = 0; kw < g->KW; kw++) {
            const float *src = w + ((g->KH - 1 - kh) * g->KW + (g->KW - 1 - kw)) * C * OC;
            float *dst = wf + (kh * g->KW + kw) * OC * C;
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t o = 0; o < OC; o++) dst[o * C + ci] = src[ci * OC + o];
        }
    lt_conv_geom t = {N, g->OH, g->OW, OC, g->KH, g->KW, 1, 1, g->KH - 1 - g->PT,
                      g->KW - 1 - g->PL, g->H, g->W};
    return lt_conv_direct(&t, dz, wf, NULL, C, 0, dx);
}

/* Whether every window lies inside the image (no padding taps): then a patch is KH runs of
 * KW·C floats, W·C apart, from the address patch_table() gives. */
static int windows_inside(const lt_conv_geom *g) {
    return !g->PT && !g->PL && (g->OH - 1) * g->SH + g->KH <= g->H &&
           (g->OW - 1) * g->SW + g->KW <= g->W;
}

/* The first float of each of the N·P patches of x (or of dx, laid out alike), in the
 * scratch, which holds them (2 floats each, fewer than its N·P·K). */
static float **patch_table(const conv_layer *c, const float *x, int64_t N, float *scratch) {
    const lt_conv_geom *g = &c->g;
    float **rows = (float **)(((uintptr_t)scratch + 7) & ~(uintptr_t)7);
    int64_t m = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < g->OH; oh++)
            for (int64_t ow = 0; ow < g->OW; ow++)
                rows[m++] = (float *)x + ((n * g->H + oh * g->SH) * g->W + ow * g->SW) * g->C;
    return rows;
}

/* dW += colsᵀ·dz with each patch read from x where it lies (kernels/gemm.h,
 * lt_sgemm_patches) instead of unfolded into blocks of cols: when every window lies inside
 * the image (no padding taps), a patch is KH runs of KW·C floats. The scratch holds the
 * N·P patches' addresses (2 floats each, fewer than its N·P·K). Returns 0, with nothing
 * done, where the kernel does not apply. */
static int dw_by_patches(const conv_layer *c, const float *x, const float *dz, float *dw,
                         int64_t N, float *scratch) {
    const lt_conv_geom *g = &c->g;
    int64_t M = N * c->P, OC = c->o.filters;
    if (!windows_inside(g) || M > INT32_MAX ||
        !lt_sgemm_patches_ok(lt_isa(), c->K, OC, g->KW * g->C))
        return 0;
    return lt_sgemm_patches(lt_isa(), (int)c->K, (int)OC, (int)M,
                            (const float *const *)patch_table(c, x, N, scratch),
                            (int)(g->KW * g->C), (long)(g->W * g->C), dz, dw,
                            lt_kernel_threads());
}

/* dx += dz·Wᵀ with each row added where its patch of dx lies (kernels/gemm.h,
 * lt_sgemm_patches_dx) instead of through blocks of dcols and col2im, where every window
 * lies inside the image. dx is zero. Returns 0, with nothing done, where the kernel does not
 * apply. */
static int dx_by_patches(const conv_layer *c, const float *w, const float *dz, float *dx,
                         int64_t N, float *scratch) {
    const lt_conv_geom *g = &c->g;
    int64_t M = N * c->P, OC = c->o.filters;
    if (!windows_inside(g) || M > INT32_MAX ||
        !lt_sgemm_patches_dx_ok(lt_isa(), c->K, OC, g->KW * g->C))
        return 0;
    return lt_sgemm_patches_dx(lt_isa(), (int)M, (int)c->K, (int)OC, dz, w,
                               patch_table(c, dx, N, scratch), (int)(g->KW * g->C),
                               (long)(g->W * g->C), (int)c->P, lt_kernel_threads());
}

static lt_status conv_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                              float *scratch) {
    (void)cache;
    conv_layer *c = (conv_layer *)l;
    lt_conv_geom g = c->g;
    g.N = N;
    const float *b = l->b ? l->b->data : NULL;
    int relu = l->act == LT_ACT_RELU;
    int64_t OC = c->o.filters, K = c->K, M = N * c->P;
    if (!c->direct && lt_conv_direct(&g, x, l->w->data, b, OC, relu, y)) {
        if (l->act != LT_ACT_RELU && l->act != LT_ACT_NONE)
            lt_bias_act(y, NULL, M, OC, l->act, l->alpha);
        return LT_OK;
    }
    int in_gemm = l->act == LT_ACT_NONE || relu;   /* bias and ReLU in the GEMM's epilogue */
    int64_t R = c->direct ? M : block_rows(c, M);
    for (int64_t r0 = 0; r0 < M; r0 += R) {
        int64_t n = M - r0 < R ? M - r0 : R;
        const float *cols = x + r0 * K;                 /* 1×1 stride 1: x is cols */
        if (!c->direct) {
            lt_im2col(&g, x, r0, n, scratch);
            cols = scratch;
        }
        float *yr = y + r0 * OC;
        lt_gemm_ep(0, 0, (int)n, (int)OC, (int)K, 1.0f, cols, (int)K, l->w->data, (int)OC, 0.0f,
                   yr, (int)OC, in_gemm ? b : NULL, relu);
        if (!in_gemm) lt_bias_act(yr, b, n, OC, l->act, l->alpha);
    }
    return LT_OK;
}

static void conv_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                          int64_t N, const float *cache, float *scratch) {
    (void)cache;
    conv_layer *c = (conv_layer *)l;
    int64_t M = N * c->P, OC = c->o.filters, K = c->K;
    const float *w = l->w->data;
    float *dw = lt_grad_ptr(l->dw);
    lt_act_bias_backward(l, y, dy, M, OC);
    if (c->direct) {   /* x is cols: dW (K×OC) += xᵀ · dz, dx = dz · Wᵀ */
        lt_gemm(1, 0, (int)K, (int)OC, (int)M, 1.0f, x, (int)K, dy, (int)OC, 1.0f, dw, (int)OC);
        if (dx)
            lt_gemm(0, 1, (int)M, (int)K, (int)OC, 1.0f, dy, (int)OC, w, (int)OC, 0.0f, dx,
                    (int)K);
        return;
    }
    lt_conv_geom g = c->g;
    g.N = N;
    int64_t R = block_rows(c, M);
    if (!dw_by_patches(c, x, dy, dw, N, scratch))
        for (int64_t r0 = 0; r0 < M; r0 += R) {   /* dW (K×OC) += colsᵀ · dz, by blocks */
            int64_t n = M - r0 < R ? M - r0 : R;
            lt_im2col(&g, x, r0, n, scratch);
            lt_gemm(1, 0, (int)K, (int)OC, (int)n, 1.0f, scratch, (int)K, dy + r0 * OC,
                    (int)OC, 1.0f, dw, (int)OC);
        }
    if (!dx) return;
    if (c->flip_dx && M >= OC && dx_by_flipped(c, w, dy, dx, N, scratch)) return;
    memset(dx, 0, (size_t)(N * g.H * g.W * g.C) * sizeof(float));
    if (dx_by_patches(c, w, dy, dx, N, scratch)) return;
    for (int64_t r0 = 0; r0 < M; r0 += R) {   /* dx = col2im(dz · Wᵀ), block by block */
        int64_t n = M - r0 < R ? M - r0 : R;
        lt_gemm(0, 1, (int)n, (int)K, (int)OC, 1.0f, dy + r0 * OC, (int)OC, w, (int)OC, 0.0f,
                scratch, (int)K);
        lt_col2im(&g, scratch, r0, n, dx);
    }
}

static const lt_layer_vt conv2d_vt = {"Conv2D", conv_setup, conv_init, NULL, conv_scratch,
                                      conv_forward, conv_backward, NULL, NULL,
                                      LT_LAYER_SPLITTABLE | LT_LAYER_FUSABLE_ACT, NULL, NULL, NULL};
static const lt_layer_vt conv1d_vt = {"Conv1D", conv_setup, conv_init, NULL, conv_scratch,
                                      conv_forward, conv_backward, NULL, NULL,
                                      LT_LAYER_SPLITTABLE | LT_LAYER_FUSABLE_ACT, NULL, NULL, NULL};

static lt_layer *conv_new(const lt_conv_opts *o, int dims) {
    const char *fn = dims == 2 ? "Conv2D" : "Conv1D";
    if (o->filters < 1 || o->kh < 1 || o->kw < 1 || o->sh < 1 || o->sw < 1) {
        lt_seterr(LT_EARG, "%s: filters, kernel size and strides must be positive (got "
                  "filters %lld, kernel %lldx%lld, strides %lldx%lld)", fn,
                  (long long)o->filters, (long long)o->kh, (long long)o->kw, (long long)o->sh,
                  (long long)o->sw);
        return NULL;
    }
    conv_layer *c = (conv_layer *)lt_layer_alloc(sizeof *c, dims == 2 ? &conv2d_vt : &conv1d_vt);
    if (!c) return NULL;
    c->o = *o;
    c->dims = dims;
    if (dims == 1) { c->o.kh = 1; c->o.sh = 1; }
    c->h.act = o->act;
    c->h.alpha = 0.3f;
    c->h.use_bias = o->use_bias;
    snprintf(c->h.name, sizeof c->h.name, "%s", dims == 2 ? "conv2d" : "conv1d");
    return &c->h;
}

lt_layer *lt_conv2d_new(const lt_conv_opts *o) { return conv_new(o, 2); }
lt_layer *lt_conv1d_new(const lt_conv_opts *o) { return conv_new(o, 1); }

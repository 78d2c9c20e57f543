/* test_nn_layers.c: finite-difference gradient checks of every layer (input, weight and
 * bias gradients separately, odd sizes, strides, both paddings, away from kinks) and the
 * fast paths against the direct loops of core/ops.c.
 * L = Σ y⊙r with a fixed random r, so dL/dy = r; central differences in float with
 * double sums, relative error max |num - ana| / max(1e-2, |num| + |ana|) (the floor
 * absorbs float32 rounding in the loss differences of tiny gradients). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/layer.h"

static float EPS = 1e-3f;   /* 1e-2 for batchnorm, whose float32 output noise is larger */
/* Largest relative error passed; 2e-2 for batchnorm in training, whose small input
 * gradients (~3e-3) carry ~1e-4 of float32 noise in their finite differences: whether the
 * worst lands just under or just over 1e-2 depends on the compiler contracting the
 * forward's multiply-adds into FMAs (a -march=native build does, the portable one not). */
static double TOL = 1e-2;
static lt_rng rng;

typedef struct {
    lt_layer *l;
    int64_t N;
    float *x, *y, *r, *cache, *scratch;
    int64_t nx, ny;
} ctx;

static double loss(ctx *c) {
    lt_rng_seed_global(7);           /* dropout draws the same mask every time */
    LT_ASSERT(c->l->vt->forward(c->l, c->x, c->y, c->N, c->cache, c->scratch) == LT_OK);
    double s = 0;
    for (int64_t i = 0; i < c->ny; i++) s += (double)c->y[i] * c->r[i];
    return s;
}

static double worst_diff(ctx *c, float *p, const float *g, int64_t n) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        float s = p[i];
        p[i] = s + EPS; double lp = loss(c);
        p[i] = s - EPS; double lm = loss(c);
        p[i] = s;
        double num = (lp - lm) / (2.0 * EPS);
        double d = fabs(num - g[i]) / fmax(1e-2, fabs(num) + fabs(g[i]));
        if (d > worst) worst = d;
        if (getenv("GC_DEBUG") && d > 1e-2) fprintf(stderr, "  [%lld] num %g ana %g\n", (long long)i, num, g[i]);
    }
    return worst;
}

/* x values: distinct, spaced by `gap` (no max-pool ties), shifted away from 0. */
static void fill_x(float *x, int64_t n, float gap, int away) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(i - n / 2) * gap;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)lt_rng_below(&rng, (uint64_t)i + 1);
        float t = x[i]; x[i] = x[j]; x[j] = t;
    }
    if (away)
        for (int64_t i = 0; i < n; i++) x[i] += x[i] >= 0 ? 0.05f : -0.05f;
}

static void gradcheck(const char *name, lt_layer *l, int64_t N, int nd, const int64_t *in,
                      int check_dx, float gap, int away) {
    char msg[200];
    LT_ASSERT(lt_layer_setup(l, nd, in) == LT_OK);
    LT_ASSERT(lt_layer_build(l, &rng) == LT_OK);
    LT_ASSERT(lt_layer_build_state(l) == LT_OK);
    ctx c = {.l = l, .N = N};
    c.nx = N * l->in_size;
    c.ny = N * l->out_size;
    c.x = malloc((size_t)c.nx * 4);
    c.y = malloc((size_t)c.ny * 4);
    c.r = malloc((size_t)c.ny * 4);
    float *dy = malloc((size_t)c.ny * 4), *dx = malloc((size_t)c.nx * 4);
    size_t cs = l->vt->cache_size ? l->vt->cache_size(l, N) : 0;
    size_t ss = l->vt->scratch_size ? l->vt->scratch_size(l, N) : 0;
    c.cache = malloc((cs + 1) * 4);
    c.scratch = malloc((ss + 1) * 4);
    fill_x(c.x, c.nx, gap, away);
    if (strcmp(l->vt->kind, "Embedding") == 0)
        for (int64_t i = 0; i < c.nx; i++) c.x[i] = (float)lt_rng_below(&rng, 5);
    for (int64_t i = 0; i < c.ny; i++) c.r[i] = 2 * lt_rng_uniform(&rng) - 1;
    /* nudge biases off zero so they matter */
    if (l->b) for (int64_t i = 0; i < l->nb; i++) l->b->data[i] = 0.1f * (float)(i % 3) - 0.1f;
    loss(&c);
    memcpy(dy, c.r, (size_t)c.ny * 4);
    if (l->dw) memset(l->dw->data, 0, (size_t)l->nw * 4);
    if (l->db) memset(l->db->data, 0, (size_t)l->nb * 4);
    l->vt->backward(l, c.x, c.y, dy, dx, N, c.cache, c.scratch);
    if (check_dx) {
        double w = worst_diff(&c, c.x, dx, c.nx);
        snprintf(msg, sizeof msg, "%s dx gradcheck (worst %.2g)", name, w);
        CHECK(w < TOL, msg);
        if (getenv("GC_DEBUG")) fprintf(stderr, "%s\n", msg);
    }
    if (l->w) {
        double w = worst_diff(&c, l->w->data, l->dw->data, l->nw);
        snprintf(msg, sizeof msg, "%s dw gradcheck (worst %.2g)", name, w);
        CHECK(w < TOL, msg);
        if (getenv("GC_DEBUG")) fprintf(stderr, "%s\n", msg);
    }
    if (l->b) {
        double w = worst_diff(&c, l->b->data, l->db->data, l->nb);
        snprintf(msg, sizeof msg, "%s db gradcheck (worst %.2g)", name, w);
        CHECK(w < TOL, msg);
        if (getenv("GC_DEBUG")) fprintf(stderr, "%s\n", msg);
    }
    /* backward accumulates: a second call doubles dw */
    if (l->w) {
        float *dw1 = malloc((size_t)l->nw * 4);
        memset(l->dw->data, 0, (size_t)l->nw * 4);
        loss(&c);
        memcpy(dy, c.r, (size_t)c.ny * 4);
        l->vt->backward(l, c.x, c.y, dy, dx, N, c.cache, c.scratch);
        memcpy(dw1, l->dw->data, (size_t)l->nw * 4);
        memcpy(dy, c.r, (size_t)c.ny * 4);
        l->vt->backward(l, c.x, c.y, dy, dx, N, c.cache, c.scratch);
        for (int64_t i = 0; i < l->nw; i++) dw1[i] *= 2;
        snprintf(msg, sizeof msg, "%s backward accumulates dw", name);
        check_close(l->dw->data, dw1, (size_t)l->nw, 1e-4, msg);
        free(dw1);
    }
    free(c.x); free(c.y); free(c.r); free(dy); free(dx); free(c.cache); free(c.scratch);
    lt_layer_free(l);
}

static lt_layer *conv(int dims, int64_t f, int64_t kh, int64_t kw, int64_t s, lt_padding p,
                      lt_act a) {
    lt_conv_opts o = {f, kh, kw, s, s, p, a, 1};
    return dims == 2 ? lt_conv2d_new(&o) : lt_conv1d_new(&o);
}

/* Conv2D through im2col + GEMM against lt_conv2d_direct. */
static void conv_vs_direct(int64_t H, int64_t W, int64_t C, int64_t OC, int64_t k, int64_t s,
                           lt_padding p) {
    int64_t in[3] = {H, W, C}, N = 3;
    lt_layer *l = conv(2, OC, k, k, s, p, LT_ACT_NONE);
    LT_ASSERT(lt_layer_setup(l, 3, in) == LT_OK && lt_layer_build(l, &rng) == LT_OK);
    int64_t xs[4] = {N, H, W, C};
    lt_tensor *x = lt_tensor_randn(4, xs);
    lt_tensor *ref = lt_conv2d_direct(x, l->w, s, p);
    float *y = malloc((size_t)(N * l->out_size) * 4);
    float *scratch = malloc((l->vt->scratch_size(l, N) + 1) * 4);
    /* training and inference forwards (the direct kernel where it applies, im2col + GEMM
     * by blocks otherwise) against the reference loops */
    for (int training = 1; training >= 0; training--) {
        l->training = training;
        memset(y, 0, (size_t)(N * l->out_size) * 4);
        l->vt->forward(l, x->data, y, N, NULL, scratch);
        char msg[140];
        snprintf(msg, sizeof msg, "conv2d %s vs direct %lldx%lldx%lld->%lld k%lld s%lld %s",
                 training ? "training" : "inference", (long long)H, (long long)W, (long long)C,
                 (long long)OC, (long long)k, (long long)s, p ? "same" : "valid");
        CHECK(ref->numel == N * l->out_size, msg);
        check_close(y, ref->data, (size_t)ref->numel, 1e-4, msg);
    }
    free(y); free(scratch);
    lt_tensor_free(x); lt_tensor_free(ref); lt_layer_free(l);
}

/* Conv1D (N×L×C, bias 0) in training and inference mode against lt_conv1d_direct: OC a
 * multiple of 16 takes the direct kernel (H = KH = 1). */
static void conv1d_vs_direct(int64_t Lx, int64_t C, int64_t OC, int64_t k, int64_t s,
                             lt_padding p) {
    int64_t in[2] = {Lx, C}, N = 3, xs[3] = {N, Lx, C};
    lt_layer *l = conv(1, OC, 1, k, s, p, LT_ACT_NONE);
    LT_ASSERT(lt_layer_setup(l, 2, in) == LT_OK && lt_layer_build(l, &rng) == LT_OK);
    lt_tensor *x = lt_tensor_randn(3, xs);
    lt_tensor *ref = lt_conv1d_direct(x, l->w, s, p);
    float *y = malloc((size_t)(N * l->out_size) * 4);
    float *scratch = malloc((l->vt->scratch_size(l, N) + 1) * 4);
    for (int training = 1; training >= 0; training--) {
        l->training = training;
        memset(y, 0, (size_t)(N * l->out_size) * 4);
        l->vt->forward(l, x->data, y, N, NULL, scratch);
        char msg[120];
        snprintf(msg, sizeof msg, "conv1d %s vs direct L%lld C%lld->%lld k%lld s%lld",
                 training ? "training" : "inference", (long long)Lx, (long long)C,
                 (long long)OC, (long long)k, (long long)s);
        CHECK(ref->numel == N * l->out_size, msg);
        check_close(y, ref->data, (size_t)ref->numel, 1e-4, msg);
    }
    free(y); free(scratch);
    lt_tensor_free(x); lt_tensor_free(ref); lt_layer_free(l);
}

static void pool_vs_direct(int is_max, int64_t size, int64_t s, lt_padding p) {
    int64_t in[3] = {7, 6, 3}, N = 2, xs[4] = {2, 7, 6, 3};
    lt_layer *l = lt_pool_new(2, is_max, size, s, p);
    LT_ASSERT(lt_layer_setup(l, 3, in) == LT_OK);
    lt_tensor *x = lt_tensor_randn(4, xs);
    lt_tensor *ref = lt_pool2d_direct(x, size, s, p, is_max);
    float *y = malloc((size_t)(N * l->out_size) * 4), *cache = malloc((size_t)(N * l->out_size) * 4);
    l->vt->forward(l, x->data, y, N, cache, NULL);
    CHECK(ref->numel == N * l->out_size, "pool output size");
    check_close(y, ref->data, (size_t)ref->numel, 1e-5, is_max ? "maxpool vs direct" : "avgpool vs direct");
    free(y); free(cache);
    lt_tensor_free(x); lt_tensor_free(ref); lt_layer_free(l);
}

/* BatchNorm in training mode against sums in double over the same data: y (mean, biased
 * variance, γ, β) and dx of L = Σ y⊙r (dx = γ·inv/M·(M·r - Σr - x̂·Σ(r·x̂))), dγ, dβ, on
 * C channels (16 at a time in the layer, the rest one by one) and M rows (blocks of 64,
 * pairs of rows, an odd last row). */
static void bn_vs_naive(int64_t N, int64_t H, int64_t W, int64_t C) {
    int64_t in[3] = {H, W, C}, M = N * H * W, n = M * C;
    lt_layer *l = lt_batchnorm_new(0.99f, 1e-3f);
    lt_rng rng_bn;              /* its own draws: the gradchecks after it see the same data */
    lt_rng_seed(&rng_bn, (uint64_t)(N * 1000 + C));
    LT_ASSERT(lt_layer_setup(l, 3, in) == LT_OK && lt_layer_build(l, &rng_bn) == LT_OK &&
              lt_layer_build_state(l) == LT_OK);
    l->training = 1;
    for (int64_t c = 0; c < C; c++) {
        l->w->data[c] = 0.5f + 0.1f * (float)(c % 7);
        l->b->data[c] = 0.2f * (float)(c % 3) - 0.2f;
    }
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4), *dy = malloc((size_t)n * 4);
    float *dx = malloc((size_t)n * 4), *ry = malloc((size_t)n * 4), *rdx = malloc((size_t)n * 4);
    float *cache = malloc((l->vt->cache_size(l, N) + 1) * 4);
    float *scratch = malloc((l->vt->scratch_size(l, N) + 1) * 4);
    float *rdg = malloc((size_t)C * 4), *rdb = malloc((size_t)C * 4);
    for (int64_t i = 0; i < n; i++) {
        x[i] = 3.0f + 2.0f * lt_rng_uniform(&rng_bn) * (float)(1 + i % C % 5);   /* off-centre */
        dy[i] = 2 * lt_rng_uniform(&rng_bn) - 1;
    }
    for (int64_t c = 0; c < C; c++) {
        double s = 0, q = 0, sd = 0, sdx = 0;
        for (int64_t r = 0; r < M; r++) s += x[r * C + c];
        double mu = s / (double)M;
        for (int64_t r = 0; r < M; r++) q += (x[r * C + c] - mu) * (x[r * C + c] - mu);
        double inv = 1 / sqrt(q / (double)M + 1e-3), g = l->w->data[c];
        for (int64_t r = 0; r < M; r++) {
            double xh = (x[r * C + c] - mu) * inv;
            ry[r * C + c] = (float)(g * xh + l->b->data[c]);
            sd += dy[r * C + c];
            sdx += dy[r * C + c] * xh;
        }
        for (int64_t r = 0; r < M; r++) {
            double xh = (x[r * C + c] - mu) * inv;
            rdx[r * C + c] = (float)(g * inv / (double)M *
                                     ((double)M * dy[r * C + c] - sd - xh * sdx));
        }
        rdg[c] = (float)sdx;
        rdb[c] = (float)sd;
    }
    memset(l->dw->data, 0, (size_t)C * 4);
    memset(l->db->data, 0, (size_t)C * 4);
    LT_ASSERT(l->vt->forward(l, x, y, N, cache, scratch) == LT_OK);
    l->vt->backward(l, x, y, dy, dx, N, cache, scratch);
    char msg[120];
    snprintf(msg, sizeof msg, "batchnorm %lldx%lldx%lldx%lld y vs double sums", (long long)N,
             (long long)H, (long long)W, (long long)C);
    check_close(y, ry, (size_t)n, 1e-5, msg);
    snprintf(msg, sizeof msg, "batchnorm %lldx%lldx%lldx%lld dx vs double sums", (long long)N,
             (long long)H, (long long)W, (long long)C);
    check_close(dx, rdx, (size_t)n, 1e-4, msg);
    check_close(l->dw->data, rdg, (size_t)C, 1e-4, "batchnorm dgamma vs double sums");
    check_close(l->db->data, rdb, (size_t)C, 1e-4, "batchnorm dbeta vs double sums");
    free(x); free(y); free(dy); free(dx); free(ry); free(rdx); free(cache); free(scratch);
    free(rdg); free(rdb);
    lt_layer_free(l);
}

int main(void) {
    if (check_isa_missing()) return 77;
    lt_rng_seed(&rng, 42);
    lt_rng_seed_global(1);
    int64_t img[3] = {7, 6, 3}, seq[2] = {9, 2}, vec[1] = {5}, seq3[2] = {3, 5};

    gradcheck("conv2d 3x3 s1 valid tanh", conv(2, 4, 3, 3, 1, LT_PAD_VALID, LT_ACT_TANH), 2, 3,
              img, 1, 0.01f, 0);
    gradcheck("conv2d 3x3 s2 same", conv(2, 4, 3, 3, 2, LT_PAD_SAME, LT_ACT_NONE), 2, 3, img, 1,
              0.01f, 0);
    gradcheck("conv2d 2x3 s2 same sigmoid", conv(2, 3, 2, 3, 2, LT_PAD_SAME, LT_ACT_SIGMOID), 2, 3,
              img, 1, 0.01f, 0);
    gradcheck("conv2d 1x1", conv(2, 5, 1, 1, 1, LT_PAD_VALID, LT_ACT_NONE), 2, 3, img, 1, 0.01f, 0);
    gradcheck("conv2d 4x4 s3 same", conv(2, 2, 4, 4, 3, LT_PAD_SAME, LT_ACT_NONE), 1, 3, img, 1,
              0.01f, 0);
    gradcheck("conv1d k3 s2 same", conv(1, 3, 1, 3, 2, LT_PAD_SAME, LT_ACT_NONE), 2, 2, seq, 1,
              0.01f, 0);
    gradcheck("conv1d k2 s1 valid tanh", conv(1, 4, 1, 2, 1, LT_PAD_VALID, LT_ACT_TANH), 3, 2, seq,
              1, 0.01f, 0);
    gradcheck("dense sigmoid", lt_dense_new(4, LT_ACT_SIGMOID, 1), 3, 1, vec, 1, 0.05f, 0);
    gradcheck("dense softmax", lt_dense_new(4, LT_ACT_SOFTMAX, 1), 3, 1, vec, 1, 0.05f, 0);
    gradcheck("dense 3-d input", lt_dense_new(3, LT_ACT_NONE, 1), 2, 2, seq3, 1, 0.05f, 0);
    gradcheck("dense no bias", lt_dense_new(3, LT_ACT_NONE, 0), 2, 1, vec, 1, 0.05f, 0);
    gradcheck("maxpool2d 2 valid", lt_pool_new(2, 1, 2, 2, LT_PAD_VALID), 2, 3, img, 1, 0.01f, 0);
    gradcheck("maxpool2d 3 s2 same", lt_pool_new(2, 1, 3, 2, LT_PAD_SAME), 2, 3, img, 1, 0.01f, 0);
    gradcheck("avgpool2d 2 s2 same", lt_pool_new(2, 0, 2, 2, LT_PAD_SAME), 2, 3, img, 1, 0.01f, 0);
    gradcheck("avgpool2d 3 s1 valid", lt_pool_new(2, 0, 3, 1, LT_PAD_VALID), 2, 3, img, 1, 0.01f, 0);
    gradcheck("maxpool1d 2", lt_pool_new(1, 1, 2, 2, LT_PAD_VALID), 2, 2, seq, 1, 0.01f, 0);
    gradcheck("globalmaxpool2d", lt_global_pool_new(2, 1), 2, 3, img, 1, 0.01f, 0);
    gradcheck("globalavgpool2d", lt_global_pool_new(2, 0), 2, 3, img, 1, 0.01f, 0);
    gradcheck("globalmaxpool1d", lt_global_pool_new(1, 1), 2, 2, seq, 1, 0.01f, 0);
    gradcheck("flatten", lt_flatten_new(), 2, 3, img, 1, 0.01f, 0);
    gradcheck("dropout", lt_dropout_new(0.3f), 2, 3, img, 1, 0.01f, 0);
    gradcheck("relu", lt_activation_new(LT_ACT_RELU, 0), 2, 3, img, 1, 0.01f, 1);
    gradcheck("leaky relu", lt_activation_new(LT_ACT_LEAKY_RELU, 0.3f), 2, 3, img, 1, 0.01f, 1);
    gradcheck("sigmoid", lt_activation_new(LT_ACT_SIGMOID, 0), 2, 3, img, 1, 0.01f, 0);
    gradcheck("tanh", lt_activation_new(LT_ACT_TANH, 0), 2, 3, img, 1, 0.01f, 0);
    gradcheck("softmax", lt_activation_new(LT_ACT_SOFTMAX, 0), 2, 3, img, 1, 0.01f, 0);
    EPS = 1e-2f;
    TOL = 2e-2;
    gradcheck("batchnorm training", lt_batchnorm_new(0.99f, 1e-3f), 4, 3, img, 1, 0.01f, 0);
    TOL = 1e-2;
    lt_layer *bn = lt_batchnorm_new(0.9f, 1e-3f);
    bn->training = 0;
    gradcheck("batchnorm inference", bn, 3, 2, seq, 1, 0.01f, 0);
    bn_vs_naive(3, 5, 5, 20);      /* 75 rows: a block of 64 and 11; 16 channels + 4 */
    bn_vs_naive(2, 8, 8, 32);      /* whole blocks, two groups of 16 */
    bn_vs_naive(1, 1, 3, 5);       /* 3 rows, no group of 16 */
    bn_vs_naive(1, 1, 1, 24);      /* one pixel, batch 1: a single row, variance 0 */
    int64_t img20[3] = {3, 3, 20};
    gradcheck("batchnorm training, 20 channels", lt_batchnorm_new(0.99f, 1e-3f), 3, 3, img20, 1,
              0.01f, 0);
    int64_t ids[1] = {4};
    EPS = 1e-3f;
    gradcheck("embedding", lt_embedding_new(5, 3), 3, 1, ids, 0, 0.01f, 0);

    conv_vs_direct(8, 8, 3, 5, 3, 1, LT_PAD_VALID);
    conv_vs_direct(32, 32, 3, 8, 3, 2, LT_PAD_VALID);
    conv_vs_direct(9, 7, 2, 4, 3, 2, LT_PAD_SAME);
    conv_vs_direct(8, 8, 4, 3, 5, 2, LT_PAD_SAME);
    conv_vs_direct(6, 6, 3, 4, 1, 1, LT_PAD_VALID);
    /* thin patches (K <= 32) with OC a multiple of 16 take the direct kernel
     * (kernels/conv_direct_impl.h) on the AVX-512 and AVX2 paths: RGB and grey first
     * layers, padding, odd pixel counts */
    conv_vs_direct(32, 32, 3, 32, 3, 2, LT_PAD_VALID);
    conv_vs_direct(28, 28, 1, 32, 3, 2, LT_PAD_VALID);
    conv_vs_direct(9, 7, 3, 16, 3, 1, LT_PAD_SAME);
    conv_vs_direct(11, 5, 1, 48, 5, 2, LT_PAD_SAME);
    conv_vs_direct(7, 7, 2, 64, 4, 3, LT_PAD_SAME);
    /* wider patches: the direct kernel (the lesson model's conv2 and
     * conv3, padding, 64-channel groups plus a rest of 16 or 48, a 1-pixel tail) */
    conv_vs_direct(15, 15, 32, 64, 3, 2, LT_PAD_VALID);
    conv_vs_direct(7, 7, 64, 128, 3, 2, LT_PAD_VALID);
    conv_vs_direct(9, 6, 20, 80, 3, 1, LT_PAD_SAME);
    conv_vs_direct(5, 7, 17, 48, 5, 2, LT_PAD_SAME);
    conv_vs_direct(4, 3, 40, 16, 2, 1, LT_PAD_SAME);
    conv1d_vs_direct(20, 12, 32, 5, 2, LT_PAD_SAME);
    conv1d_vs_direct(9, 40, 80, 3, 1, LT_PAD_VALID);
    gradcheck("conv2d thin 3x3x3 -> 16 s2 same tanh", conv(2, 16, 3, 3, 2, LT_PAD_SAME, LT_ACT_TANH),
              2, 3, img, 1, 0.01f, 0);
    gradcheck("conv2d thin 3x3x3 -> 32 s1 valid", conv(2, 32, 3, 3, 1, LT_PAD_VALID, LT_ACT_NONE),
              1, 3, img, 1, 0.01f, 0);
    /* the cols matrix by blocks (conv2d.c) of a few rows (1 to 5 here), so that every
     * unfold, product and fold crosses block boundaries, a partial last block included */
    int64_t img16[3] = {4, 4, 16};
    lt_conv_block_floats = 100;
    gradcheck("conv2d 3x3 s1 valid tanh, blocks of 3 rows",
              conv(2, 4, 3, 3, 1, LT_PAD_VALID, LT_ACT_TANH), 2, 3, img, 1, 0.01f, 0);
    gradcheck("conv2d 3x3 s2 same, blocks of 3 rows", conv(2, 4, 3, 3, 2, LT_PAD_SAME, LT_ACT_NONE),
              2, 3, img, 1, 0.01f, 0);
    gradcheck("conv2d 4x4 s3 same, blocks of 2 rows", conv(2, 2, 4, 4, 3, LT_PAD_SAME, LT_ACT_NONE),
              2, 3, img, 1, 0.01f, 0);
    EPS = 1e-2f;   /* linear layers: exact differences at any step, less float32 noise */
    gradcheck("conv2d 16 channels 3x3 s1 same (dx by the flipped kernel), 1-row blocks",
              conv(2, 4, 3, 3, 1, LT_PAD_SAME, LT_ACT_NONE), 2, 3, img16, 1, 0.004f, 0);
    gradcheck("conv2d 16 channels 3x3 s2 same (dx by col2im), 1-row blocks",
              conv(2, 4, 3, 3, 2, LT_PAD_SAME, LT_ACT_NONE), 2, 3, img16, 1, 0.004f, 0);
    EPS = 1e-3f;
    gradcheck("conv1d k3 s2 same, blocks of 16 rows", conv(1, 3, 1, 3, 2, LT_PAD_SAME, LT_ACT_NONE),
              3, 2, seq, 1, 0.01f, 0);
    conv_vs_direct(9, 7, 2, 4, 3, 2, LT_PAD_SAME);
    conv_vs_direct(8, 8, 4, 3, 5, 2, LT_PAD_SAME);
    conv_vs_direct(15, 15, 32, 64, 3, 2, LT_PAD_VALID);
    conv1d_vs_direct(20, 12, 32, 5, 2, LT_PAD_SAME);
    lt_conv_block_floats = 262144;
    /* too many weights for the direct kernel (K·OC > 160 Ki): im2col + GEMM with OC a
     * multiple of 16, whole tiles of the GEMM */
    conv_vs_direct(5, 5, 64, 320, 3, 1, LT_PAD_SAME);
    /* one-pixel images: every tap but the centre in the padding */
    conv_vs_direct(1, 1, 16, 32, 3, 1, LT_PAD_SAME);
    conv_vs_direct(1, 1, 3, 5, 3, 2, LT_PAD_SAME);
    pool_vs_direct(1, 2, 2, LT_PAD_VALID);
    pool_vs_direct(1, 3, 2, LT_PAD_SAME);
    pool_vs_direct(0, 3, 2, LT_PAD_SAME);
    pool_vs_direct(0, 2, 1, LT_PAD_VALID);

    /* shape errors name the layer and the numbers */
    lt_layer *c = conv(2, 4, 3, 3, 1, LT_PAD_VALID, LT_ACT_NONE);
    int64_t one[3] = {8, 8, 1}, three[3] = {8, 8, 3}, tiny[3] = {2, 2, 1};
    LT_ASSERT(lt_layer_setup(c, 3, one) == LT_OK && lt_layer_build(c, &rng) == LT_OK);
    CHECK(lt_layer_setup(c, 3, three) == LT_ESHAPE, "conv2d channel mismatch fails");
    CHECK(strstr(lt_lasterror(), "conv2d: input has 3 channels, layer expects 1") != NULL,
          lt_lasterror());
    CHECK(lt_layer_setup(c, 3, tiny) == LT_ESHAPE, "input smaller than kernel fails");
    CHECK(strstr(lt_lasterror(), "input size 2 is smaller than the kernel 3") != NULL,
          lt_lasterror());
    CHECK(lt_layer_setup(c, 2, tiny) == LT_ESHAPE, "conv2d on 2-d sample fails");
    CHECK(strstr(lt_lasterror(), "expects input N×H×W×C") != NULL, lt_lasterror());
    lt_layer_free(c);
    CHECK(lt_dropout_new(1.0f) == NULL && strstr(lt_lasterror(), "rate must be in [0, 1)"),
          "dropout rate 1 rejected");
    lt_layer *e = lt_embedding_new(5, 2);
    int64_t l3[1] = {3};
    LT_ASSERT(lt_layer_setup(e, 1, l3) == LT_OK && lt_layer_build(e, &rng) == LT_OK);
    float xs[3] = {1, 5, 2}, ys[6];
    CHECK(e->vt->forward(e, xs, ys, 1, NULL, NULL) == LT_EARG, "embedding id out of range");
    CHECK(strstr(lt_lasterror(), "input 2 is 5, expected an integer id in 0..4") != NULL,
          lt_lasterror());
    lt_layer_free(e);
    CHECK_DONE();
}

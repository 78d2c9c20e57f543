/* test_nn_net.c: the sequential network: parameter counts of the lesson models and VGG16
 * from shapes alone (nothing allocated), a whole-network finite-difference check of the
 * fused training step's gradients (conv, pool, dense, softmax + cross-entropy), that
 * training reduces the loss, that steady-state steps keep their buffers, input shape
 * errors, that a refused step (NaN loss, interrupt) leaves batchnorm's moving
 * statistics as they were, and that chunked inference equals the layers run in turn. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/isa.h"
#include "nn/net.h"

/* The one-input, one-output forward the tests use: *y is the output. */
static lt_status net_fwd(lt_net *net, const float *x, int64_t N, int training, const float **y) {
    lt_status s = lt_net_forward(net, &x, N, training);
    *y = lt_net_output(net, 0);
    return s;
}

static lt_layer *conv(int64_t f, int64_t k, int64_t s, lt_padding p, lt_act a) {
    lt_conv_opts o = {f, k, k, s, s, p, a, 1};
    return lt_conv2d_new(&o);
}

static int lesson_model(lt_layer **L) {
    int n = 0;
    L[n++] = conv(32, 3, 2, LT_PAD_VALID, LT_ACT_RELU);
    L[n++] = conv(64, 3, 2, LT_PAD_VALID, LT_ACT_RELU);
    L[n++] = conv(128, 3, 2, LT_PAD_VALID, LT_ACT_RELU);
    L[n++] = lt_flatten_new();
    L[n++] = lt_dropout_new(0.2f);
    L[n++] = lt_dense_new(1024, LT_ACT_RELU, 1);
    L[n++] = lt_dropout_new(0.2f);
    L[n++] = lt_dense_new(10, LT_ACT_SOFTMAX, 1);
    return n;
}

static void free_layers(lt_layer **L, int n) {
    for (int i = 0; i < n; i++) lt_layer_free(L[i]);
}

static void counts(void) {
    lt_layer *L[40];
    int n = lesson_model(L);
    int64_t cifar[3] = {32, 32, 3}, fm[3] = {28, 28, 1};
    lt_net *net = lt_net_new(n, L, 3, cifar);
    CHECK(net && net->nparams == 1284170, "CIFAR lesson model: 1,284,170 parameters");
    CHECK(net && net->params == NULL && L[5]->w == NULL, "counted without allocating");
    lt_net_free(net);
    free_layers(L, n);
    n = lesson_model(L);
    net = lt_net_new(n, L, 3, fm);
    CHECK(net && net->nparams == 628234, "Fashion-MNIST lesson model: 628,234 parameters");
    lt_net_free(net);
    free_layers(L, n);
    /* VGG16: 13 convolutions (3×3 same) in 5 blocks with max pooling, 3 dense layers */
    int64_t blocks[5][2] = {{64, 2}, {128, 2}, {256, 3}, {512, 3}, {512, 3}};
    n = 0;
    for (int b = 0; b < 5; b++) {
        for (int i = 0; i < blocks[b][1]; i++)
            L[n++] = conv(blocks[b][0], 3, 1, LT_PAD_SAME, LT_ACT_RELU);
        L[n++] = lt_pool_new(2, 1, 2, 2, LT_PAD_VALID);
    }
    L[n++] = lt_flatten_new();
    L[n++] = lt_dense_new(4096, LT_ACT_RELU, 1);
    L[n++] = lt_dense_new(4096, LT_ACT_RELU, 1);
    L[n++] = lt_dense_new(1000, LT_ACT_SOFTMAX, 1);
    int64_t img[3] = {224, 224, 3};
    net = lt_net_new(n, L, 3, img);
    CHECK(net && net->nparams == 138357544, "VGG16: 138,357,544 parameters");
    CHECK(net && net->params == NULL, "VGG16 not allocated");
    lt_net_free(net);
    free_layers(L, n);
}

/* loss of the net on (x, y) in inference mode (no dropout here) */
static double net_loss(lt_net *net, const float *x, const float *y, int64_t N, lt_loss_kind k) {
    const float *p;
    double l;
    LT_ASSERT(net_fwd(net, x, N, 0, &p) == LT_OK);
    lt_loss_eval(k, p, N, lt_net_out_width(net, 0), y, &l, NULL);
    return l;
}

static void whole_net_gradcheck(lt_loss_kind k, lt_act out_act) {
    lt_layer *L[8];
    int n = 0;
    L[n++] = conv(3, 3, 2, LT_PAD_SAME, LT_ACT_TANH);
    L[n++] = lt_pool_new(2, 0, 2, 1, LT_PAD_VALID);
    L[n++] = conv(4, 2, 1, LT_PAD_VALID, LT_ACT_SIGMOID);
    L[n++] = lt_flatten_new();
    L[n++] = lt_dense_new(6, LT_ACT_TANH, 1);
    L[n++] = lt_dense_new(3, out_act, 1);
    int64_t in[3] = {7, 7, 2}, N = 4;
    lt_net *net = lt_net_new(n, L, 3, in);
    lt_rng r;
    lt_rng_seed(&r, 3);
    LT_ASSERT(net && lt_net_build(net, &r) == LT_OK);
    float x[4 * 98], ys[4] = {0, 2, 1, 2}, yd[12];
    for (int i = 0; i < 4 * 98; i++) x[i] = 2 * lt_rng_uniform(&r) - 1;
    for (int i = 0; i < 12; i++) yd[i] = k == LT_LOSS_CCE ? (i % 3 == (int)ys[i / 3]) : lt_rng_uniform(&r);
    const float *y = k == LT_LOSS_SCCE ? ys : yd;
    /* the step zeroes the gradients behind it, so read them off an SGD step with lr = 1:
     * g = w_before - w_after; then put the weights back */
    lt_optim *sgd = lt_optim_new(LT_OPT_SGD);
    sgd->lr = 1;
    double l;
    int64_t c, t, P = net->nparams;
    float *p = net->params->data, *g = malloc((size_t)P * 4);
    memcpy(g, p, (size_t)P * 4);
    double l0 = net_loss(net, x, y, N, k);
    LT_ASSERT(lt_net_train_step(net, x, y, N, k == LT_LOSS_SCCE ? 4 : 12, k, sgd, &l, &c, &t) == LT_OK);
    CHECK(fabs(l - l0) < 1e-6, "train step loss = forward loss");
    int zeroed = 1;
    for (int64_t i = 0; i < P; i++) {
        float before = g[i];
        g[i] = before - p[i];
        p[i] = before;
        zeroed &= net->grads->data[i] == 0;
    }
    CHECK(zeroed, "the step leaves the gradients zeroed");
    double worst = 0;
    for (int64_t i = 0; i < net->nparams; i++) {
        float s = p[i];
        p[i] = s + 1e-3f; double lp = net_loss(net, x, y, N, k);
        p[i] = s - 1e-3f; double lm = net_loss(net, x, y, N, k);
        p[i] = s;
        double num = (lp - lm) / 2e-3, d = fabs(num - g[i]) / fmax(1e-2, fabs(num) + fabs(g[i]));
        if (d > worst) worst = d;
    }
    char msg[100];
    snprintf(msg, sizeof msg, "whole-net gradcheck %s (worst %.2g over %lld params)",
             lt_loss_name(k), worst, (long long)net->nparams);
    CHECK(worst < 1e-2, msg);
    lt_optim_free(sgd);
    free(g);
    lt_net_free(net);
    free_layers(L, n);
}

static void learns(void) {
    /* two classes: the sign of the mean of a 6×6×1 image */
    lt_layer *L[8];
    int n = 0;
    L[n++] = conv(4, 3, 1, LT_PAD_SAME, LT_ACT_RELU);
    L[n++] = lt_global_pool_new(2, 0);
    L[n++] = lt_dense_new(2, LT_ACT_SOFTMAX, 1);
    int64_t in[3] = {6, 6, 1}, N = 16;
    lt_net *net = lt_net_new(n, L, 3, in);
    lt_rng r;
    lt_rng_seed(&r, 5);
    LT_ASSERT(net && lt_net_build(net, &r) == LT_OK);
    lt_optim *adam = lt_optim_new(LT_OPT_ADAM);
    adam->lr = 0.05f;
    float x[16 * 36], y[16];
    double first = 0, l = 0;
    int64_t c = 0, t = 0;
    float *mem0 = NULL;
    for (int step = 0; step < 150; step++) {
        for (int i = 0; i < 16; i++) {
            float sgn = (i % 2) ? 1.0f : -1.0f;
            y[i] = (float)(i % 2);
            for (int j = 0; j < 36; j++) x[i * 36 + j] = sgn * 0.3f + lt_rng_uniform(&r) - 0.5f;
        }
        LT_ASSERT(lt_net_train_step(net, x, y, N, N, LT_LOSS_SCCE, adam, &l, &c, &t) == LT_OK);
        if (step == 0) { first = l; mem0 = net->mem; }
    }
    CHECK(l < first * 0.5 && c >= 14, "training reduces the loss and learns the task");
    CHECK(net->mem == mem0, "buffers reused across steps");
    /* wrong input shape names the first layer and both shapes */
    int64_t bad[4] = {2, 5, 5, 1};
    lt_tensor *bx = lt_tensor_new(4, bad);
    CHECK(lt_net_check_input(net, 0, bx) == LT_ESHAPE &&
          strstr(lt_lasterror(), "conv2d (Conv2D): expected input of shape (None, 6, 6, 1), got 2x5x5x1"),
          lt_lasterror());
    lt_tensor_free(bx);
    /* NaN loss: the step refuses, parameters untouched */
    float before = net->params->data[0];
    L[2]->b->data[0] = NAN;          /* relu would swallow a nan input; a nan bias cannot hide */
    CHECK(lt_net_train_step(net, x, y, N, N, LT_LOSS_SCCE, adam, &l, &c, &t) == LT_ENAN,
          "nan loss reported");
    CHECK(net->params->data[0] == before, "nan step leaves parameters");
    /* Ctrl-C: the step returns LT_EINTR before touching anything, and clears the flag */
    L[2]->b->data[0] = 0;
    float w0 = net->params->data[3];
    int64_t t0 = adam->t;
    lt_interrupted = 1;
    CHECK(lt_net_train_step(net, x, y, N, N, LT_LOSS_SCCE, adam, &l, &c, &t) == LT_EINTR &&
          strcmp(lt_lasterror(), "interrupted") == 0, "interrupt reported");
    CHECK(!lt_interrupted && net->params->data[3] == w0 && adam->t == t0, "interrupt leaves the model");
    CHECK(lt_net_train_step(net, x, y, N, N, LT_LOSS_SCCE, adam, &l, &c, &t) == LT_OK,
          "training continues after an interrupt");
    lt_optim_free(adam);
    lt_net_free(net);
    free_layers(L, n);
}

/* An identity layer that raises the Ctrl-C flag during its forward when armed: an
 * interrupt that arrives after the forward has run, caught before the step is applied. */
static int probe_armed;
static lt_status probe_setup(lt_layer *l, int nd, const int64_t *in) {
    l->out_nd = nd;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    return LT_OK;
}
static lt_status probe_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                               float *scratch) {
    (void)cache; (void)scratch;
    memcpy(y, x, (size_t)(N * l->in_size) * sizeof(float));
    if (probe_armed) { lt_interrupted = 1; probe_armed = 0; }
    return LT_OK;
}
static void probe_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                           int64_t N, const float *cache, float *scratch) {
    (void)x; (void)y; (void)cache; (void)scratch;
    if (dx) memcpy(dx, dy, (size_t)(N * l->in_size) * sizeof(float));
}
static const lt_layer_vt probe_vt = {"Probe", probe_setup, NULL, NULL, NULL, probe_forward,
                                     probe_backward, NULL, NULL, 0, NULL, NULL, NULL};

static int all_finite(const float *a, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* A training step is all or nothing for batchnorm's moving statistics too: a NaN batch or
 * an interrupt after the forward leaves them (and the weights, and Adam) as they were; an
 * applied step moves them by (1 - momentum)·(batch statistic - moving). */
static void batchnorm_all_or_nothing(void) {
    int threads = lt_get_threads();
    lt_set_threads(2);               /* the data-parallel path, if the net were splittable */
    lt_layer *L[4] = {lt_dense_new(4, LT_ACT_NONE, 1), lt_batchnorm_new(0.99f, 1e-3f),
                      lt_layer_alloc(sizeof(lt_layer), &probe_vt),
                      lt_dense_new(2, LT_ACT_SOFTMAX, 1)};
    int64_t in[1] = {3}, N = 8, C = 4;
    lt_net *net = lt_net_new(4, L, 1, in);
    lt_rng r;
    lt_rng_seed(&r, 9);
    LT_ASSERT(L[2] && net && lt_net_build(net, &r) == LT_OK);
    CHECK(!net->splittable, "a net with batchnorm keeps its steps on one thread");
    lt_optim *adam = lt_optim_new(LT_OPT_ADAM);
    float x[8 * 3], y[8], *mm = L[1]->state->data, *mv = mm + C;
    for (int i = 0; i < 8 * 3; i++) x[i] = 2 * lt_rng_uniform(&r) - 1;
    for (int i = 0; i < 8; i++) y[i] = (float)(i % 2);
    double l;
    int64_t c, t;
    /* an applied step: moving ← 0.99·moving + 0.01·batch (mean, biased variance) of the
     * dense output, recomputed here in double from the activations the step kept */
    LT_ASSERT(lt_net_train_step(net, x, y, N, N, LT_LOSS_SCCE, adam, &l, &c, &t) == LT_OK);
    double worst = 0;
    for (int64_t j = 0; j < C; j++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < N; i++) m += net->out[1][i * C + j];
        m /= (double)N;
        for (int64_t i = 0; i < N; i++) v += pow(net->out[1][i * C + j] - m, 2);
        v /= (double)N;
        worst = fmax(worst, fabs(mm[j] - 0.01 * m) + fabs(mv[j] - (0.99 + 0.01 * v)));
    }
    CHECK(worst < 1e-6 && mm[0] != 0, "an applied step moves the moving statistics");
    float state[8], params[64];
    LT_ASSERT(net->nparams <= 64);
    memcpy(state, mm, sizeof state);
    memcpy(params, net->params->data, (size_t)net->nparams * sizeof(float));
    int64_t steps = adam->t;
    /* a NaN batch: refused, nothing moves */
    float xn[8 * 3];
    memcpy(xn, x, sizeof xn);
    xn[4] = NAN;
    CHECK(lt_net_train_step(net, xn, y, N, N, LT_LOSS_SCCE, adam, &l, &c, &t) == LT_ENAN,
          "NaN batch refused");
    CHECK(memcmp(state, mm, sizeof state) == 0, "a NaN batch leaves the moving statistics");
    CHECK(memcmp(params, net->params->data, (size_t)net->nparams * sizeof(float)) == 0 &&
          adam->t == steps, "a NaN batch leaves the weights and the optimizer");
    /* an interrupt raised during the forward (after batchnorm ran), caught before the step */
    probe_armed = 1;
    CHECK(lt_net_train_step(net, x, y, N, N, LT_LOSS_SCCE, adam, &l, &c, &t) == LT_EINTR &&
          !lt_interrupted, "interrupt after the forward reported");
    CHECK(memcmp(state, mm, sizeof state) == 0, "an interrupted step leaves the moving statistics");
    CHECK(memcmp(params, net->params->data, (size_t)net->nparams * sizeof(float)) == 0 &&
          adam->t == steps, "an interrupted step leaves the weights and the optimizer");
    const float *p;
    LT_ASSERT(net_fwd(net, x, N, 0, &p) == LT_OK);
    CHECK(all_finite(p, N * 2), "inference after a NaN batch and an interrupt is finite");
    CHECK(memcmp(state, mm, sizeof state) == 0, "inference leaves the moving statistics");
    /* a training forward outside a step updates them, as a Keras training call does */
    LT_ASSERT(net_fwd(net, x, N, 1, &p) == LT_OK);
    CHECK(memcmp(state, mm, sizeof state) != 0, "a training-mode forward updates them");
    lt_optim_free(adam);
    lt_net_free(net);
    free_layers(L, 4);
    lt_set_threads(threads);
}

/* An inference forward of a splittable net on one thread runs its leading layers chunk by
 * chunk (net.c, infer_rows): its output must equal the layers run one after another on the
 * whole batch. The lesson model at 32×32×3 (chunks of 18 samples: 40 = 18 + 18 + 4) and a
 * net without Dense (all layers chunked, the last writes the output). */
static void chunked_inference(int dense) {
    int threads = lt_get_threads();
    lt_set_threads(1);
    lt_layer *L[8];
    int n = 0;
    if (dense) {
        n = lesson_model(L);
    } else {
        L[n++] = conv(32, 3, 2, LT_PAD_VALID, LT_ACT_RELU);
        L[n++] = conv(16, 3, 1, LT_PAD_SAME, LT_ACT_TANH);
        L[n++] = lt_flatten_new();
    }
    int64_t in[3] = {32, 32, 3}, N = 40;
    lt_net *net = lt_net_new(n, L, 3, in);
    lt_rng r;
    lt_rng_seed(&r, 11);
    LT_ASSERT(net && lt_net_build(net, &r) == LT_OK);
    float *x = malloc((size_t)(N * net->in_size) * sizeof(float));
    for (int64_t i = 0; i < N * net->in_size; i++) x[i] = 2 * lt_rng_uniform(&r) - 1;
    const float *y;
    LT_ASSERT(net_fwd(net, x, N, 0, &y) == LT_OK);
    /* reference: each layer on the whole batch, in inference mode, own buffers */
    float *cur = x, *ref = NULL;
    for (int i = 0; i < n; i++) {
        lt_layer *l = L[i];
        l->training = 0;
        size_t cs = l->vt->cache_size ? l->vt->cache_size(l, N) : 0;
        size_t ss = l->vt->scratch_size ? l->vt->scratch_size(l, N) : 0;
        float *o = malloc((size_t)(N * l->out_size) * sizeof(float));
        float *cache = malloc((cs + 1) * sizeof(float));
        float *scratch = malloc((ss + 1) * sizeof(float));
        LT_ASSERT(l->vt->forward(l, cur, o, N, cache, scratch) == LT_OK);
        l->training = 1;
        free(cache);
        free(scratch);
        if (cur != x) free(cur);
        cur = ref = o;
    }
    check_close(y, ref, (size_t)(N * lt_net_out_size(net, 0)), 1e-6,
                dense ? "chunked inference = layer by layer (lesson model, 40 samples)"
                      : "chunked inference = layer by layer (no Dense layer)");
    free(ref);
    free(x);
    lt_net_free(net);
    free_layers(L, n);
    lt_set_threads(threads);
}

/* A dense layer's optimizer step fused into the backward pass (net.c) gives the weights
 * and optimizer state of the unfused step, bit for bit: the same net trained twice, once
 * with a clipnorm too large to clip (which turns fusion off), for each optimizer. Adam's
 * and AdamW's steps take the weight gradient's product tile by tile (lt_sgemm_adam): 250
 * rows and 300 columns cut tiles at both edges on every path. */
static lt_net *fused_net(lt_layer **L, lt_rng *r) {
    L[0] = lt_dense_new(300, LT_ACT_RELU, 1);     /* 250×300 = 75,000 weights: fused */
    L[1] = lt_dense_new(7, LT_ACT_SOFTMAX, 1);    /* small: never fused */
    int64_t in[1] = {250};
    lt_net *net = lt_net_new(2, L, 1, in);
    lt_rng_seed(r, 11);
    LT_ASSERT(net && lt_net_build(net, r) == LT_OK);
    return net;
}

static void fused_update_equals_unfused(lt_optim_kind kind, int threads, double clipvalue) {
    enum { N = 24, STEPS = 4 };
    int was = lt_get_threads();
    lt_set_threads(threads);           /* 2: the batch is split, nothing is fused */
    lt_layer *L[2][2];
    lt_net *net[2];
    lt_optim *opt[2];
    lt_rng r;
    for (int k = 0; k < 2; k++) {
        net[k] = fused_net(L[k], &r);
        opt[k] = lt_optim_new(kind);
        opt[k]->momentum = 0.9;        /* SGD: the velocity slot too */
        opt[k]->weight_decay = 0.01;
        opt[k]->clipvalue = clipvalue;
    }
    opt[1]->clipnorm = 1e30;           /* scale exactly 1, and no fusion */
    float x[N * 250], y[N];
    lt_rng_seed(&r, 3);
    for (int step = 0; step < STEPS; step++) {
        for (int i = 0; i < N * 250; i++) x[i] = (float)lt_rng_uniform(&r) - 0.5f;
        for (int i = 0; i < N; i++) y[i] = (float)(i % 7);
        for (int k = 0; k < 2; k++) {
            double l;
            int64_t c = 0, t = 0;
            LT_ASSERT(lt_net_train_step(net[k], x, y, N, N, LT_LOSS_SCCE, opt[k], &l, &c, &t) == LT_OK);
        }
    }
    /* bit for bit on Lunette's own GEMM; OpenBLAS (the generic path) sums a block of rows
     * in its own order, so there the weights agree to rounding */
    int exact = lt_isa() != LT_ISA_GENERIC;
    char msg[96];
    snprintf(msg, sizeof msg, "%s, %d thread(s), clipvalue %g: fused update == unfused (weights)",
             lt_optim_name(opt[0]), threads, clipvalue);
    if (exact)
        CHECK(memcmp(net[0]->params->data, net[1]->params->data,
                     (size_t)net[0]->nparams * sizeof(float)) == 0, msg);
    else
        check_close(net[0]->params->data, net[1]->params->data, net[0]->nparams, 1e-5, msg);
    const lt_optim_param *p[2];
    for (int k = 0; k < 2; k++)
        p[k] = lt_optim_find(opt[k], net[k]->params, 0, L[k][0]->nw, 0);
    int same = p[0] && p[1] && p[0]->t == STEPS && p[1]->t == STEPS;
    for (int s = 0; same && exact && s < lt_optim_nslots(opt[0]); s++) {
        const float *a = s ? p[0]->v : p[0]->m, *b = s ? p[1]->v : p[1]->m;
        if (!a) a = p[0]->v, b = p[1]->v;    /* RMSprop keeps v only */
        same = memcmp(a, b, (size_t)L[0][0]->nw * sizeof(float)) == 0;
    }
    snprintf(msg, sizeof msg, "%s, %d thread(s), clipvalue %g: fused update == unfused (state, step count)",
             lt_optim_name(opt[0]), threads, clipvalue);
    CHECK(same, msg);
    int zero = 1;
    for (int64_t e = 0; e < net[0]->nparams; e++) zero &= net[0]->grads->data[e] == 0.0f;
    CHECK(zero && !L[0][0]->update, "gradients read zero and the hook is cleared after a fused step");
    for (int k = 0; k < 2; k++) {
        lt_optim_free(opt[k]);
        lt_net_free(net[k]);
        free_layers(L[k], 2);
    }
    lt_set_threads(was);
}

int main(void) {
    if (check_isa_missing()) return 77;
    for (int threads = 1; threads <= 2; threads++) {
        fused_update_equals_unfused(LT_OPT_ADAM, threads, 0);
        fused_update_equals_unfused(LT_OPT_ADAM, threads, 0.002);   /* some gradients clipped */
        fused_update_equals_unfused(LT_OPT_ADAMW, threads, 0);
        fused_update_equals_unfused(LT_OPT_SGD, threads, 0);
        fused_update_equals_unfused(LT_OPT_RMSPROP, threads, 0);
    }
    counts();
    chunked_inference(1);
    chunked_inference(0);
    batchnorm_all_or_nothing();
    whole_net_gradcheck(LT_LOSS_SCCE, LT_ACT_SOFTMAX);
    whole_net_gradcheck(LT_LOSS_CCE, LT_ACT_SOFTMAX);
    whole_net_gradcheck(LT_LOSS_BCE, LT_ACT_SIGMOID);
    whole_net_gradcheck(LT_LOSS_MSE, LT_ACT_NONE);
    learns();
    CHECK_DONE();
}

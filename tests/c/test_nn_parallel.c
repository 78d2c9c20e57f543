/* test_nn_parallel.c: the data-parallel network steps (2 threads, each on a row range of
 * the batch, the worker accumulating into its own gradient block) against the serial
 * steps on one thread: same parameters after several Adam steps on an odd batch, same
 * inference output, dropout drawing on the worker's stream, and the split optimizer
 * (lt_optim_begin/apply with a second gradient block) against lt_optim_step on the
 * summed gradients. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ops.h"
#include "core/rng.h"
#include "nn/im2col.h"
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

static int small_model(lt_layer **L, int dropout) {
    int n = 0;
    L[n++] = conv(4, 3, 1, LT_PAD_SAME, LT_ACT_RELU);
    L[n++] = lt_pool_new(2, 1, 2, 2, LT_PAD_VALID);
    L[n++] = conv(6, 3, 2, LT_PAD_VALID, LT_ACT_TANH);
    L[n++] = lt_flatten_new();
    if (dropout) L[n++] = lt_dropout_new(0.25f);
    L[n++] = lt_dense_new(16, LT_ACT_RELU, 1);
    L[n++] = lt_dense_new(5, LT_ACT_SOFTMAX, 1);
    return n;
}

static void free_layers(lt_layer **L, int n) {
    for (int i = 0; i < n; i++) lt_layer_free(L[i]);
}

static int all_zero(const float *a, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (a[i] != 0) return 0;
    return 1;
}

/* Trains a fresh model (seeded init) for `steps` steps at `threads`; returns its params. */
static float *train(int threads, int steps, const float *x, const float *y, int64_t N,
                    float *pred, int *used_worker, int64_t *np) {
    lt_layer *L[16];
    int n = small_model(L, 0);
    int64_t in[3] = {9, 9, 2};
    lt_net *net = lt_net_new(n, L, 3, in);
    lt_rng r;
    lt_rng_seed(&r, 7);
    lt_net_build(net, &r);
    /* SGD, not Adam: Adam's first steps move by ±lr whatever |g|, so a gradient that is
     * rounding noise around 0 would flip sign between summation orders */
    lt_optim *o = lt_optim_new(LT_OPT_SGD);
    o->lr = 0.1f;
    lt_set_threads(threads);
    double loss;
    int64_t c, t;
    for (int i = 0; i < steps; i++)
        CHECK(lt_net_train_step(net, x, y, N, N, LT_LOSS_SCCE, o, &loss, &c, &t) == LT_OK,
              "train step");
    *used_worker = net->g1 != NULL;
    *np = net->nparams;
    CHECK(all_zero(net->grads->data, net->nparams), "gradients read zero between steps");
    if (net->g1) CHECK(all_zero(net->g1, net->nparams), "worker gradients read zero too");
    const float *yo;
    CHECK(net_fwd(net, x, N, 0, &yo) == LT_OK, "inference forward");
    memcpy(pred, yo, (size_t)(N * 5) * sizeof(float));
    float *p = malloc((size_t)net->nparams * sizeof *p);
    memcpy(p, net->params->data, (size_t)net->nparams * sizeof *p);
    lt_optim_free(o);
    lt_net_free(net);
    free_layers(L, n);
    return p;
}

static void same_training(void) {
    enum { N = 7 };
    int STEPS = getenv("STEPS") ? atoi(getenv("STEPS")) : 4;
    lt_rng r;
    lt_rng_seed(&r, 3);
    float x[N * 9 * 9 * 2], y[N], p1[N * 5], p2[N * 5];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = lt_rng_uniform(&r) * 2 - 1;
    for (int i = 0; i < N; i++) y[i] = (float)lt_rng_below(&r, 5);
    int w1, w2;
    int64_t np, np2;
    float *a = train(1, STEPS, x, y, N, p1, &w1, &np);
    float *b = train(2, STEPS, x, y, N, p2, &w2, &np2);
    CHECK(!w1 && w2, "1 thread runs serially, 2 threads use the worker");
    /* the two runs differ only in the order of float sums (each half's dW, then their
     * sum) */
    CHECK(np == (3 * 3 * 2 + 1) * 4 + (3 * 3 * 4 + 1) * 6 + (6 + 1) * 16 + (16 + 1) * 5 &&
          np2 == np, "parameter count");
    check_close(a, b, (size_t)np, 2e-5, "parameters after 2-thread vs 1-thread steps");
    check_close(p1, p2, N * 5, 2e-5, "inference output at 2 vs 1 threads");
    free(a);
    free(b);
}

/* Dropout on the worker's rows draws from the worker's stream: about 25% zeros there. */
static void dropout_rows(void) {
    enum { N = 64 };
    lt_layer *L[16];
    int n = small_model(L, 1);
    int64_t in[3] = {9, 9, 2};
    lt_net *net = lt_net_new(n, L, 3, in);
    lt_rng r;
    lt_rng_seed(&r, 5);
    lt_net_build(net, &r);
    static float x[N * 9 * 9 * 2];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = lt_rng_uniform(&r) + 0.5f;
    lt_set_threads(2);
    const float *yo;
    CHECK(net_fwd(net, x, N, 1, &yo) == LT_OK, "training forward with dropout");
    const float *d = net->out[5];   /* dropout output: N×6 */
    int zeros[2] = {0, 0}, nonzero_in[2] = {0, 0};
    for (int64_t i = 0; i < N * 6; i++) {
        int h = i >= (N / 2) * 6;
        if (net->out[4][i] != 0) {
            nonzero_in[h]++;
            zeros[h] += d[i] == 0;
        }
    }
    double f0 = (double)zeros[0] / nonzero_in[0], f1 = (double)zeros[1] / nonzero_in[1];
    if (!(f0 > 0.15 && f0 < 0.35 && f1 > 0.15 && f1 < 0.35))
        fprintf(stderr, "dropout zero fractions %g, %g (%d, %d)\n", f0, f1, nonzero_in[0], nonzero_in[1]);
    CHECK(f0 > 0.15 && f0 < 0.35 && f1 > 0.15 && f1 < 0.35, "dropout rate 0.25 on both halves");
    lt_net_free(net);
    free_layers(L, n);
}

static void split_optimizer(void) {
    enum { P = 1003, A = 700 };
    static float g[P], gs[P];
    int64_t np = P;
    lt_tensor *w1 = lt_tensor_new(1, &np), *w2 = lt_tensor_new(1, &np);
    lt_tensor *ga = lt_tensor_new(1, &np), *gb = lt_tensor_new(1, &np);
    lt_rng r;
    lt_rng_seed(&r, 11);
    lt_optim_kind kinds[4] = {LT_OPT_ADAM, LT_OPT_SGD, LT_OPT_RMSPROP, LT_OPT_ADAMW};
    for (int k = 0; k < 4; k++) {
        lt_optim *o1 = lt_optim_new(kinds[k]), *o2 = lt_optim_new(kinds[k]);
        o1->momentum = o2->momentum = 0.9;
        o1->global_clipnorm = o2->global_clipnorm = 5;
        for (int i = 0; i < P; i++) w1->data[i] = w2->data[i] = lt_rng_uniform(&r) - 0.5f;
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < P; i++) {
                ga->data[i] = lt_rng_uniform(&r) - 0.5f;
                gb->data[i] = lt_rng_uniform(&r) - 0.5f;
                g[i] = ga->data[i] + gb->data[i];
            }
            memcpy(gs, g, sizeof g);
            /* two parameters (a kernel and a bias) in one flat buffer */
            lt_optim_seg s1[2] = {{.param = w1, .off = 0, .n = A, .g = gs, .decay = 1},
                                  {.param = w1, .off = A, .n = P - A, .g = gs + A}};
            lt_optim_seg s2[2] = {{.param = w2, .off = 0, .n = A, .g = ga->data, .g2 = gb->data,
                                   .decay = 1},
                                  {.param = w2, .off = A, .n = P - A, .g = ga->data + A,
                                   .g2 = gb->data + A}};
            lt_optim_step(o1, 2, s1, 1);
            CHECK(lt_optim_begin(o2, 2, s2, 1) == LT_OK && lt_optim_size(o2) == P, "optim begin");
            lt_optim_apply(o2, 0, 512);
            lt_optim_apply(o2, 512, P);
        }
        check_close(w1->data, w2->data, P, 1e-6, lt_optim_name(o1));
        CHECK(all_zero(ga->data, P) && all_zero(gb->data, P) && all_zero(gs, P),
              "both gradient blocks zeroed");
        lt_optim_free(o1);
        lt_optim_free(o2);
    }
    lt_tensor_free(w1); lt_tensor_free(w2); lt_tensor_free(ga); lt_tensor_free(gb);
}

/* The direct convolution split over 2 threads by samples (im2col.c) gives the 1-thread
 * output bit for bit, an odd batch included, and the reference loops'. */
static void direct_conv_threads(void) {
    lt_conv_geom g = {9, 16, 16, 16, 3, 3, 1, 1, 1, 1, 16, 16};   /* 'same', 16 → 32 */
    int64_t OC = 32, K = 3 * 3 * 16;
    int64_t xs[4] = {g.N, g.H, g.W, g.C}, ws[2] = {K, OC};
    lt_tensor *x = lt_tensor_randn(4, xs), *w = lt_tensor_randn(2, ws);
    size_t ny = (size_t)(g.N * g.OH * g.OW * OC);
    float *y1 = malloc(ny * 4), *y2 = malloc(ny * 4);
    lt_set_threads(1);
    int ok1 = lt_conv_direct(&g, x->data, w->data, NULL, OC, 1, y1);
    lt_set_threads(2);
    int ok2 = lt_conv_direct(&g, x->data, w->data, NULL, OC, 1, y2);
    if (!ok1) {   /* no direct kernel on this path (generic) */
        CHECK(!ok2, "direct conv: same answer on 1 and 2 threads");
    } else {
        CHECK(ok2 && memcmp(y1, y2, ny * 4) == 0, "direct conv: 2 threads = 1 thread, bit for bit");
        int64_t ks[4] = {3, 3, 16, OC};
        lt_tensor *k4 = lt_tensor_from(4, ks, w->data);
        lt_tensor *ref = lt_conv2d_direct(x, k4, 1, LT_PAD_SAME);
        for (int64_t i = 0; i < ref->numel; i++) ref->data[i] = ref->data[i] > 0 ? ref->data[i] : 0;
        check_close(y2, ref->data, ny, 1e-4, "direct conv on 2 threads vs the reference loops");
        lt_tensor_free(k4);
        lt_tensor_free(ref);
    }
    free(y1);
    free(y2);
    lt_tensor_free(x);
    lt_tensor_free(w);
}

int main(void) {
    if (check_isa_missing()) return 77;
    direct_conv_threads();
    same_training();
    dropout_rows();
    split_optimizer();
    lt_set_threads(1);
    CHECK_DONE();
}

/* test_nn_optim.c: optimizer steps against values computed by hand from the Keras update
 * rules (see optim.h), two steps each so the state (velocity, m, v) and the bias
 * correction are exercised; weight decay, clipping and AdamW against hand-worked steps
 * and PyTorch's numbers; the state kept per parameter tensor; schedules against their
 * closed forms. */
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"
#include "nn/optim.h"

static lt_tensor *vec(int64_t n, const float *v) { return lt_tensor_from(1, &n, v); }

/* One step of o on k tensors p[i] with gradient tensors g[i]. */
static lt_status step(lt_optim *o, int k, lt_tensor **p, lt_tensor **g, const int *decay) {
    lt_optim_seg seg[8];
    for (int i = 0; i < k; i++)
        seg[i] = (lt_optim_seg){.param = p[i], .n = p[i]->numel, .g = g[i]->data,
                                .decay = decay ? decay[i] : 0};
    return lt_optim_step(o, k, seg, 0);
}

/* Two steps on w = {1, 1} (two tensors of one element): g = 0.5, then g = -0.25. */
static void two_steps(lt_optim *o, double want1, double want2, const char *name) {
    float one = 1, half = 0.5f;
    lt_tensor *p[2] = {vec(1, &one), vec(1, &one)}, *g[2] = {vec(1, &half), vec(1, &half)};
    char msg[120];
    CHECK(step(o, 2, p, g, NULL) == LT_OK, name);
    snprintf(msg, sizeof msg, "%s step 1: %.7f vs %.7f", name, p[0]->data[0], want1);
    CHECK(fabs(p[0]->data[0] - want1) < 2e-6 && p[1]->data[0] == p[0]->data[0], msg);
    g[0]->data[0] = g[1]->data[0] = -0.25f;
    CHECK(step(o, 2, p, g, NULL) == LT_OK, name);
    snprintf(msg, sizeof msg, "%s step 2: %.7f vs %.7f", name, p[0]->data[0], want2);
    CHECK(fabs(p[0]->data[0] - want2) < 2e-6 && p[1]->data[0] == p[0]->data[0], msg);
    CHECK(o->t == 2 && o->nparam == 2 && o->param[0].t == 2 && o->param[1].t == 2,
          "iterations counted per parameter");
    lt_optim_free(o);
    for (int i = 0; i < 2; i++) { lt_tensor_free(p[i]); lt_tensor_free(g[i]); }
}

static void keras_rules(void) {
    lt_optim *o = lt_optim_new(LT_OPT_SGD);
    CHECK(o->lr == 0.01 && o->momentum == 0 && !o->nesterov, "SGD Keras defaults");
    o->lr = 0.1;
    two_steps(o, 0.95, 0.975, "sgd");            /* w -= lr·g: 1 - .05, then + .025 */

    o = lt_optim_new(LT_OPT_SGD);
    o->lr = 0.1; o->momentum = 0.9;
    /* v = -.05, w = .95; v = .9·-.05 + .025 = -.02, w = .93 */
    two_steps(o, 0.95, 0.93, "sgd momentum");

    o = lt_optim_new(LT_OPT_SGD);
    o->lr = 0.1; o->momentum = 0.9; o->nesterov = 1;
    /* v = -.05, w += .9·-.05 - .05 → .905; v = -.045 + .025 = -.02, w += -.018 + .025 → .912 */
    two_steps(o, 0.905, 0.912, "sgd nesterov");

    o = lt_optim_new(LT_OPT_ADAM);
    CHECK(o->lr == 1e-3 && o->beta1 == 0.9 && o->beta2 == 0.999 && o->eps == 1e-7,
          "Adam Keras defaults");
    o->lr = 0.1;
    /* m = .05, v = 2.5e-4, α = .1·sqrt(.001)/.1; w = 1 - α·m/(sqrt(v)+ε) = 0.90000063;
     * m = .02, v = 3.1225e-4, α = .1·sqrt(1-.999²)/(1-.9²); w = 0.87336708 */
    two_steps(o, 0.9000006324515321, 0.8733670792079219, "adam");

    o = lt_optim_new(LT_OPT_RMSPROP);
    CHECK(o->lr == 1e-3 && o->rho == 0.9 && o->eps == 1e-7, "RMSprop Keras defaults");
    o->lr = 0.1;
    /* v = .025, w = 1 - .1·.5/sqrt(.025+ε); v = .02875, w += .1·.25/sqrt(.02875+ε) */
    two_steps(o, 0.6837728664367966, 0.8312145661715693, "rmsprop");

    /* a larger array: the vectorised loop agrees with the scalar formula everywhere */
    enum { N = 1003 };
    int64_t n = N;
    lt_tensor *w = lt_tensor_new(1, &n), *g = lt_tensor_new(1, &n);
    float *ref = malloc(N * 4);
    for (int i = 0; i < N; i++) {
        w->data[i] = ref[i] = (float)i / N;
        g->data[i] = (float)(i % 7) - 3;
    }
    o = lt_optim_new(LT_OPT_ADAM);
    step(o, 1, &w, &g, NULL);
    for (int i = 0; i < N; i++) {
        double m = 0.1 * g->data[i], v = 0.001 * g->data[i] * g->data[i];
        ref[i] -= (float)(1e-3 * sqrt(0.001) / 0.1 * m / (sqrt(v) + 1e-7));
    }
    check_close(w->data, ref, N, 1e-6, "adam over 1003 values");
    lt_optim_free(o);
    lt_tensor_free(w); lt_tensor_free(g);
    free(ref);
}

/* Weight decay with Keras 3's meaning (w -= w·wd·lr before the update) on the decayed
 * tensor only, and AdamW against PyTorch. */
static void decay(void) {
    float w0[3] = {1, -2, 0.5f}, g1[3] = {0.5f, -0.25f, 0.1f}, g2[3] = {-0.25f, 0.5f, 0.3f};
    float b0 = 1, gb = 0.5f;
    lt_tensor *p[2] = {vec(3, w0), vec(1, &b0)}, *g[2] = {vec(3, g1), vec(1, &gb)};
    int dec[2] = {1, 0};
    lt_optim *o = lt_optim_new(LT_OPT_SGD);
    o->lr = 0.1;
    o->weight_decay = 0.2;
    CHECK(step(o, 2, p, g, dec) == LT_OK, "sgd decay step");
    /* w = w - w·.02 - .1·g: 1 → .98 - .05 = .93; -2 → -1.96 + .025 = -1.935; .5 → .49 - .01 */
    float want[3] = {0.93f, -1.935f, 0.48f};
    check_close(p[0]->data, want, 3, 1e-6, "SGD weight_decay: w - w·wd·lr - lr·g");
    CHECK(fabs(p[1]->data[0] - 0.95) < 1e-7, "no decay on the bias: 1 - .1·.5");
    lt_optim_free(o);

    memcpy(p[0]->data, w0, sizeof w0);
    p[1]->data[0] = 1;
    o = lt_optim_new(LT_OPT_ADAM);
    o->lr = 0.1;
    o->weight_decay = 0.2;
    CHECK(step(o, 2, p, g, dec) == LT_OK, "adam decay step");
    /* the first Adam step: m = .1g, v = .001g², α = .1·sqrt(.001)/.1, so
     * w = w - .02w - α·m/(sqrt(v) + ε) */
    float wa[3];
    for (int i = 0; i < 3; i++) {
        double a = 0.1 * sqrt(0.001) / 0.1, m = 0.1 * g1[i], v = 0.001 * g1[i] * g1[i];
        wa[i] = (float)(w0[i] - 0.02 * w0[i] - a * m / (sqrt(v) + 1e-7));
    }
    check_close(p[0]->data, wa, 3, 1e-6, "Adam weight_decay: w - w·wd·lr - Adam step");
    CHECK(fabs(p[1]->data[0] - 0.9) < 2e-6, "Adam: no decay on the bias");
    lt_optim_free(o);

    /* AdamW{lr=.1, weight_decay=.1} on w (decayed); the references are from
     * torch.optim.AdamW(lr=0.1, weight_decay=0.1) in float64, PyTorch 1.13 */
    memcpy(p[0]->data, w0, sizeof w0);
    o = lt_optim_new(LT_OPT_ADAMW);
    CHECK(o->weight_decay == 0.01 && o->eps == 1e-8 && o->lr == 1e-3, "AdamW PyTorch defaults");
    o->lr = 0.1;
    o->weight_decay = 0.1;
    CHECK(step(o, 1, p, g, dec) == LT_OK, "adamw step 1");
    float t1[3] = {0.8900000020f, -1.8800000040f, 0.3950000100f};
    check_close(p[0]->data, t1, 3, 1e-6, "AdamW step 1 = PyTorch");
    memcpy(g[0]->data, g2, sizeof g2);
    CHECK(step(o, 1, p, g, dec) == LT_OK, "adamw step 2");
    float t2[3] = {0.8544662987f, -1.8978103557f, 0.2992719021f};
    check_close(p[0]->data, t2, 3, 1e-6, "AdamW step 2 = PyTorch");
    lt_optim_free(o);
    for (int i = 0; i < 2; i++) { lt_tensor_free(p[i]); lt_tensor_free(g[i]); }
}

static void clipping(void) {
    /* g = {3, 4} (norm 5) and {12} (norm 12): global norm 13 */
    float w0[2] = {0, 0}, ga[2] = {3, 4}, b0 = 0, gb = 12;
    lt_tensor *p[2] = {vec(2, w0), vec(1, &b0)}, *g[2] = {vec(2, ga), vec(1, &gb)};
    lt_optim *o = lt_optim_new(LT_OPT_SGD);
    o->lr = 1;
    o->clipnorm = 2.5;    /* per tensor: {3,4}·2.5/5 = {1.5, 2}; {12}·2.5/12 = 2.5 */
    CHECK(step(o, 2, p, g, NULL) == LT_OK, "clipnorm step");
    CHECK(fabs(p[0]->data[0] + 1.5) < 1e-6 && fabs(p[0]->data[1] + 2) < 1e-6 &&
          fabs(p[1]->data[0] + 2.5) < 1e-6, "clipnorm: each tensor's norm at most c");
    CHECK(g[0]->data[0] == 3 && g[1]->data[0] == 12, "opt:step leaves the gradients");
    lt_optim_free(o);

    memset(p[0]->data, 0, 8);
    p[1]->data[0] = 0;
    o = lt_optim_new(LT_OPT_SGD);
    o->lr = 1;
    o->global_clipnorm = 6.5;   /* scale 6.5/13 = .5 */
    CHECK(step(o, 2, p, g, NULL) == LT_OK, "global_clipnorm step");
    CHECK(fabs(p[0]->data[0] + 1.5) < 1e-6 && fabs(p[0]->data[1] + 2) < 1e-6 &&
          fabs(p[1]->data[0] + 6) < 1e-6, "global_clipnorm: all scaled by c/global norm");
    lt_optim_free(o);

    memset(p[0]->data, 0, 8);
    p[1]->data[0] = 0;
    o = lt_optim_new(LT_OPT_SGD);
    o->lr = 1;
    o->clipnorm = 100;   /* norms under c: unchanged */
    CHECK(step(o, 2, p, g, NULL) == LT_OK, "clipnorm above the norm");
    CHECK(p[0]->data[0] == -3 && p[0]->data[1] == -4 && p[1]->data[0] == -12,
          "a norm under clipnorm leaves the gradient");
    lt_optim_free(o);

    /* clipvalue on a long gradient (the vector loop and its tail), Adam with clipped
     * g: the first Adam step is lr·sign(g) whatever |g|, so use RMSprop: lr·g/sqrt(.1g²) */
    enum { N = 21 };
    int64_t n = N;
    lt_tensor *w = lt_tensor_new(1, &n), *gr = lt_tensor_new(1, &n);
    for (int i = 0; i < N; i++) gr->data[i] = (float)(i - 10) / 4;   /* -2.5 .. 2.5 */
    o = lt_optim_new(LT_OPT_RMSPROP);
    o->lr = 0.1;
    o->clipvalue = 1;
    CHECK(step(o, 1, &w, &gr, NULL) == LT_OK, "clipvalue step");
    int ok = 1;
    for (int i = 0; i < N; i++) {
        double c = fmax(-1, fmin(1, gr->data[i]));
        double want = c == 0 ? 0 : -0.1 * c / sqrt(0.1 * c * c + 1e-7);
        ok &= fabs(w->data[i] - want) < 1e-6;
    }
    CHECK(ok, "clipvalue clamps every element before the update");
    lt_optim_free(o);
    lt_tensor_free(w); lt_tensor_free(gr);
    for (int i = 0; i < 2; i++) { lt_tensor_free(p[i]); lt_tensor_free(g[i]); }
}

/* Stepping tensors one by one (once each per iteration) gives bit for bit the result of
 * one step over all of them; a flat buffer's segments are the same parameters as views of
 * it; state of a freed parameter is dropped. */
static void per_parameter_state(void) {
    enum { A = 37, B = 5 };
    int64_t P = A + B, na = A, nb = B;
    lt_tensor *flat1 = lt_tensor_new(1, &P), *flat2 = lt_tensor_new(1, &P);
    lt_tensor *g = lt_tensor_new(1, &P);
    lt_rng r;
    lt_rng_seed(&r, 3);
    for (int i = 0; i < P; i++) flat1->data[i] = flat2->data[i] = lt_rng_uniform(&r) - 0.5f;
    lt_tensor *a2 = lt_tensor_narrow(flat2, 0, 0, A), *b2 = lt_tensor_narrow(flat2, 0, A, B);
    lt_optim *o1 = lt_optim_new(LT_OPT_ADAM), *o2 = lt_optim_new(LT_OPT_ADAM);
    o1->weight_decay = o2->weight_decay = 0.1;
    o1->clipnorm = o2->clipnorm = 0.5;
    for (int it = 0; it < 4; it++) {
        for (int i = 0; i < P; i++) g->data[i] = lt_rng_uniform(&r) - 0.5f;
        lt_optim_seg all[2] = {{.param = flat1, .off = 0, .n = A, .g = g->data, .decay = 1},
                               {.param = flat1, .off = A, .n = B, .g = g->data + A}};
        CHECK(lt_optim_step(o1, 2, all, 0) == LT_OK, "one step over both");
        lt_optim_seg s1 = {.param = a2, .n = na, .g = g->data, .decay = 1};
        lt_optim_seg s2 = {.param = b2, .n = nb, .g = g->data + A};
        CHECK(lt_optim_step(o2, 1, &s1, 0) == LT_OK && lt_optim_step(o2, 1, &s2, 0) == LT_OK,
              "one step per tensor");
    }
    CHECK(memcmp(flat1->data, flat2->data, (size_t)P * 4) == 0,
          "layer by layer = one step over all, bit for bit");
    CHECK(o1->t == 4 && o2->t == 4 && o2->nparam == 2 && o2->param[0].t == 4,
          "4 iterations either way");
    CHECK(memcmp(o1->param[0].m, o2->param[0].m, A * 4) == 0 &&
          memcmp(o1->param[1].v, o2->param[1].v, B * 4) == 0, "the same moments");
    /* the views and the flat buffer's segments are the same parameters */
    CHECK(lt_optim_find(o2, flat2, A, B, 0) == &o2->param[1], "a segment finds its view's state");
    lt_tensor_free(a2);
    lt_tensor_free(b2);
    lt_tensor_free(flat2);   /* only the optimizer holds the storage now */
    float z = 0;
    lt_tensor *other = vec(1, &z), *og = vec(1, &z);
    CHECK(step(o2, 1, &other, &og, NULL) == LT_OK && o2->nparam == 1,
          "a freed parameter's state is dropped when a new one comes");
    lt_optim_free(o1);
    lt_optim_free(o2);
    lt_tensor_free(other); lt_tensor_free(og);
    lt_tensor_free(flat1);
    lt_tensor_free(g);
}

/* The schedules against their closed forms, written out here. */
static void schedules(void) {
    lt_schedule s = {.kind = LT_SCHED_EXPONENTIAL, .initial = 0.1, .decay_steps = 10,
                     .decay_rate = 0.5};
    CHECK(lt_schedule_lr(&s, 0) == 0.1 && fabs(lt_schedule_lr(&s, 10) - 0.05) < 1e-15 &&
          fabs(lt_schedule_lr(&s, 5) - 0.1 / sqrt(2)) < 1e-15, "exponential decay");
    s.staircase = 1;
    CHECK(lt_schedule_lr(&s, 9) == 0.1 && fabs(lt_schedule_lr(&s, 25) - 0.025) < 1e-15,
          "staircase");
    lt_schedule p = {.kind = LT_SCHED_PIECEWISE, .nb = 2, .bounds = {100, 200},
                     .values = {1, 0.5, 0.1}};
    CHECK(lt_schedule_lr(&p, 0) == 1 && lt_schedule_lr(&p, 100) == 1 &&
          lt_schedule_lr(&p, 101) == 0.5 && lt_schedule_lr(&p, 200) == 0.5 &&
          lt_schedule_lr(&p, 201) == 0.1, "piecewise: values[i] while step <= bounds[i]");
    lt_schedule c = {.kind = LT_SCHED_COSINE, .initial = 0.2, .decay_steps = 100, .alpha = 0.1};
    CHECK(lt_schedule_lr(&c, 0) == 0.2 && fabs(lt_schedule_lr(&c, 50) - 0.2 * (0.9 * 0.5 + 0.1)) < 1e-15 &&
          fabs(lt_schedule_lr(&c, 100) - 0.02) < 1e-15 && fabs(lt_schedule_lr(&c, 500) - 0.02) < 1e-15,
          "cosine decay to alpha·initial");
    c = (lt_schedule){.kind = LT_SCHED_COSINE, .initial = 0, .decay_steps = 100,
                      .warmup_target = 1, .warmup_steps = 10};
    CHECK(fabs(lt_schedule_lr(&c, 5) - 0.5) < 1e-15 && lt_schedule_lr(&c, 10) == 1 &&
          fabs(lt_schedule_lr(&c, 60) - 0.5) < 1e-15 && fabs(lt_schedule_lr(&c, 110)) < 1e-15,
          "cosine with linear warm-up");
    /* OneCycle{max_lr=1, total_steps=101, pct_start=.3}: up over steps 0..29.3, down to
     * 1/25/1e4 at step 100; PyTorch: lr(0) = 1/25, lr(100) = 4e-6 */
    lt_schedule oc = {.kind = LT_SCHED_ONECYCLE, .max_lr = 1, .total_steps = 101,
                      .pct_start = 0.3, .div_factor = 25, .final_div_factor = 1e4};
    double up = 0.3 * 101 - 1, mid = up / 2;
    CHECK(fabs(lt_schedule_lr(&oc, 0) - 0.04) < 1e-15 &&
          fabs(lt_schedule_lr(&oc, mid) - (1 + 0.04) / 2) < 1e-12 &&
          fabs(lt_schedule_lr(&oc, up) - 1) < 1e-15 &&
          fabs(lt_schedule_lr(&oc, 100) - 4e-6) < 1e-15 &&
          fabs(lt_schedule_lr(&oc, 1000) - 4e-6) < 1e-15, "one-cycle");
    /* an optimizer evaluates the schedule at each parameter's step count before the step */
    lt_optim *o = lt_optim_new(LT_OPT_SGD);
    o->sched = s;   /* staircase 0.1·0.5^floor(t/10) */
    float one = 1, gg = 1;
    lt_tensor *w = vec(1, &one), *g = vec(1, &gg);
    for (int i = 0; i < 12; i++) step(o, 1, &w, &g, NULL);
    CHECK(fabs(w->data[0] - (1 - 10 * 0.1 - 2 * 0.05)) < 1e-6, "SGD under a schedule");
    CHECK(lt_optim_lr_at(o, o->t) == 0.05, "the next step's rate");
    lt_optim_free(o);
    lt_tensor_free(w); lt_tensor_free(g);
}

int main(void) {
    if (check_isa_missing()) return 77;
    keras_rules();
    decay();
    clipping();
    per_parameter_state();
    schedules();
    CHECK_DONE();
}

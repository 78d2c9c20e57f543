/* test_nn_optim.c: optimizer steps against values computed by hand from the Keras update
 * rules (see optim.h), two steps each so the state (velocity, m, v) and the bias
 * correction are exercised; the state is laid out across several arrays. */
#include <stdlib.h>

#include "check.h"
#include "nn/optim.h"

/* Two steps on w = {1, 1} (two arrays of one element): g = 0.5, then g = -0.25. */
static void two_steps(lt_optim *o, double want1, double want2, const char *name) {
    float w[2] = {1, 1}, g[2] = {0.5f, 0.5f};
    float *p[2] = {&w[0], &w[1]};
    const float *gp[2] = {&g[0], &g[1]};
    int64_t n[2] = {1, 1};
    char msg[120];
    CHECK(lt_optim_step(o, 2, p, gp, n) == LT_OK, name);
    snprintf(msg, sizeof msg, "%s step 1: %.7f vs %.7f", name, w[0], want1);
    CHECK(fabs(w[0] - want1) < 2e-6 && w[1] == w[0], msg);
    g[0] = g[1] = -0.25f;
    CHECK(lt_optim_step(o, 2, p, gp, n) == LT_OK, name);
    snprintf(msg, sizeof msg, "%s step 2: %.7f vs %.7f", name, w[0], want2);
    CHECK(fabs(w[0] - want2) < 2e-6 && w[1] == w[0], msg);
    CHECK(o->t == 2, "iterations counted");
    lt_optim_free(o);
}

int main(void) {
    lt_optim *o = lt_optim_new(LT_OPT_SGD);
    CHECK(o->lr == 0.01f && o->momentum == 0 && !o->nesterov, "SGD Keras defaults");
    o->lr = 0.1f;
    two_steps(o, 0.95, 0.975, "sgd");            /* w -= lr·g: 1 - .05, then + .025 */

    o = lt_optim_new(LT_OPT_SGD);
    o->lr = 0.1f; o->momentum = 0.9f;
    /* v = -.05, w = .95; v = .9·-.05 + .025 = -.02, w = .93 */
    two_steps(o, 0.95, 0.93, "sgd momentum");

    o = lt_optim_new(LT_OPT_SGD);
    o->lr = 0.1f; o->momentum = 0.9f; o->nesterov = 1;
    /* v = -.05, w += .9·-.05 - .05 → .905; v = -.045 + .025 = -.02, w += -.018 + .025 → .912 */
    two_steps(o, 0.905, 0.912, "sgd nesterov");

    o = lt_optim_new(LT_OPT_ADAM);
    CHECK(o->lr == 1e-3f && o->beta1 == 0.9f && o->beta2 == 0.999f && o->eps == 1e-7f,
          "Adam Keras defaults");
    o->lr = 0.1f;
    /* m = .05, v = 2.5e-4, α = .1·sqrt(.001)/.1; w = 1 - α·m/(sqrt(v)+ε) = 0.90000063;
     * m = .02, v = 3.1225e-4, α = .1·sqrt(1-.999²)/(1-.9²); w = 0.87336708 */
    two_steps(o, 0.9000006324515321, 0.8733670792079219, "adam");

    o = lt_optim_new(LT_OPT_RMSPROP);
    CHECK(o->lr == 1e-3f && o->rho == 0.9f && o->eps == 1e-7f, "RMSprop Keras defaults");
    o->lr = 0.1f;
    /* v = .025, w = 1 - .1·.5/sqrt(.025+ε); v = .02875, w += .1·.25/sqrt(.02875+ε) */
    two_steps(o, 0.6837728664367966, 0.8312145661715693, "rmsprop");

    /* a larger array: the vectorised loop agrees with the scalar formula everywhere */
    enum { N = 1003 };
    float *w = malloc(N * 4), *g = malloc(N * 4), *ref = malloc(N * 4);
    for (int i = 0; i < N; i++) { w[i] = ref[i] = (float)i / N; g[i] = (float)(i % 7) - 3; }
    o = lt_optim_new(LT_OPT_ADAM);
    int64_t n = N;
    lt_optim_step(o, 1, &w, (const float *const *)&g, &n);
    for (int i = 0; i < N; i++) {
        double m = 0.1 * g[i], v = 0.001 * g[i] * g[i];
        ref[i] -= (float)(1e-3 * sqrt(0.001) / 0.1 * m / (sqrt(v) + 1e-7));
    }
    check_close(w, ref, N, 1e-6, "adam over 1003 values");
    lt_optim_free(o);
    free(w); free(g); free(ref);
    CHECK_DONE();
}

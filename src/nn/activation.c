/* activation.c: the standalone activation layers ReLU, LeakyReLU, Sigmoid, Tanh and
 * Softmax (over the last axis). They share the fused kernels of layer.c (lt_bias_act,
 * lt_act_backward) that Conv2D and Dense apply to their outputs, so one file holds all
 * five: each is a vtable differing only in its name. */
#include "nn/layer.h"

#include <stdio.h>
#include <string.h>

static lt_status act_setup(lt_layer *l, int nd, const int64_t *in) {
    l->out_nd = nd;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    return LT_OK;
}

static lt_status act_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                             float *scratch) {
    (void)cache; (void)scratch;
    int64_t width = l->in_shape[l->in_nd - 1];
    memcpy(y, x, (size_t)(N * l->in_size) * sizeof(float));
    lt_bias_act(y, NULL, N * l->in_size / width, width, l->act, l->alpha);
    return LT_OK;
}

static void act_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                         int64_t N, const float *cache, float *scratch) {
    (void)x; (void)cache; (void)scratch;
    if (!dx) return;
    int64_t width = l->in_shape[l->in_nd - 1];
    memcpy(dx, dy, (size_t)(N * l->in_size) * sizeof(float));
    if (!l->skip_act_grad) lt_act_backward(y, dx, N * l->in_size / width, width, l->act, l->alpha);
}

#define ACT_VT(kind) {kind, act_setup, NULL, NULL, NULL, act_forward, act_backward, NULL, NULL, \
                     LT_LAYER_SPLITTABLE | LT_LAYER_FUSABLE_ACT, NULL, NULL, NULL}
static const lt_layer_vt act_vts[] = {ACT_VT("Activation"), ACT_VT("ReLU"), ACT_VT("Sigmoid"),
                                      ACT_VT("Tanh"), ACT_VT("Softmax"), ACT_VT("LeakyReLU")};
static const char *act_lnames[] = {"activation", "re_lu", "sigmoid", "tanh", "softmax",
                                   "leaky_re_lu"};

lt_layer *lt_activation_new(lt_act act, float alpha) {
    lt_layer *l = lt_layer_alloc(sizeof *l, &act_vts[act]);
    if (!l) return NULL;
    l->act = act;
    l->alpha = alpha;
    snprintf(l->name, sizeof l->name, "%s", act_lnames[act]);
    return l;
}

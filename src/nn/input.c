/* input.c: Input: an identity layer that fixes the per-sample input shape of a model
 * (Keras `Input(shape)`); a sample of another shape is an error naming both. */
#include "nn/layer.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    int nd;
    int64_t shape[LT_MAX_DIMS];
} input_layer;

static lt_status input_setup(lt_layer *l, int nd, const int64_t *in) {
    input_layer *p = (input_layer *)l;
    if (nd != p->nd || memcmp(in, p->shape, (size_t)nd * sizeof *in) != 0) {
        char a[160], b[160];
        return lt_seterr(LT_ESHAPE, "%s (Input): expected input of shape %s, got a sample of "
                         "shape %s", l->name, lt_layer_shape_str(p->nd, p->shape, a, sizeof a),
                         lt_shape_str(nd, in, b, sizeof b));
    }
    l->out_nd = nd;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    return LT_OK;
}

static lt_status input_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                               float *scratch) {
    (void)cache; (void)scratch;
    memcpy(y, x, (size_t)(N * l->in_size) * sizeof(float));
    return LT_OK;
}

static void input_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                           int64_t N, const float *cache, float *scratch) {
    (void)x; (void)y; (void)cache; (void)scratch;
    if (dx) memcpy(dx, dy, (size_t)(N * l->in_size) * sizeof(float));
}

static const lt_layer_vt input_vt = {"Input", input_setup, NULL, NULL, NULL, input_forward,
                                     input_backward, NULL, NULL, 0, NULL, NULL, NULL};

lt_layer *lt_input_new(int nd, const int64_t *shape) {
    int64_t n;
    if (nd < 1 || nd > 4) {
        lt_seterr(LT_EARG, "Input: shape must have 1 to 4 dimensions (got %d)", nd);
        return NULL;
    }
    if (lt_shape_check("Input", nd, shape, &n) != LT_OK) return NULL;
    input_layer *p = (input_layer *)lt_layer_alloc(sizeof *p, &input_vt);
    if (!p) return NULL;
    p->nd = nd;
    memcpy(p->shape, shape, (size_t)nd * sizeof *shape);
    snprintf(p->h.name, sizeof p->h.name, "input_layer");
    lt_layer_setup(&p->h, nd, shape);
    return &p->h;
}

/* flatten.c: Flatten: N×d1×…×dk → N×(d1·…·dk) in channels-last (row-major) order, the
 * order Keras uses, so a Dense layer after it sees the same features as in Keras. */
#include "nn/layer.h"

#include <stdio.h>
#include <string.h>

static lt_status flatten_setup(lt_layer *l, int nd, const int64_t *in) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= in[i];
    l->out_nd = 1;
    l->out_shape[0] = n;
    return LT_OK;
}

static lt_status flatten_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                                 float *scratch) {
    (void)cache; (void)scratch;
    memcpy(y, x, (size_t)(N * l->in_size) * sizeof(float));
    return LT_OK;
}

static void flatten_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                             int64_t N, const float *cache, float *scratch) {
    (void)x; (void)y; (void)cache; (void)scratch;
    if (dx) memcpy(dx, dy, (size_t)(N * l->in_size) * sizeof(float));
}

static const lt_layer_vt flatten_vt = {"Flatten", flatten_setup, NULL, NULL, NULL,
                                       flatten_forward, flatten_backward, NULL, NULL,
                                       LT_LAYER_SPLITTABLE, NULL, NULL, NULL};

lt_layer *lt_flatten_new(void) {
    lt_layer *l = lt_layer_alloc(sizeof *l, &flatten_vt);
    if (l) snprintf(l->name, sizeof l->name, "flatten");
    return l;
}

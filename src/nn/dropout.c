/* dropout.c: inverted dropout (Srivastava et al. 2014, as Keras): in training each
 * element is zeroed with probability `rate` and the survivors scaled by 1/(1-rate), so
 * inference is the identity. The mask (0 or the scale) is cached for backward; an identity
 * forward marks its cache instead (IDENTITY below), so backward follows what the forward
 * did, whatever the mode flag says by then. */
#include "nn/layer.h"
#include "nn/parallel.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    float rate;
} dropout_layer;

/* Whether forward applies a mask. Decided from the mode, not stored in the layer: two
 * data-parallel threads run forward on the same layer at once. */
static int masking(const lt_layer *l) { return l->training && ((const dropout_layer *)l)->rate > 0; }

/* What an identity forward writes in the first element of its rows' cache. A mask value is
 * 0 or 1/(1-rate) ≥ 1, never negative, so backward tells the two forwards apart from the
 * cache of its own rows (each thread's rows have their own cache range). Not the mode flag:
 * a net restores its layers' flags once the forward is done (a layer built in Lua is in
 * inference mode outside fit), and a backward that read the flag then passed the gradient
 * through dropped units, unscaled (issue 19). */
#define IDENTITY (-1.0f)

static lt_status dropout_setup(lt_layer *l, int nd, const int64_t *in) {
    l->out_nd = nd;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    return LT_OK;
}

static size_t dropout_cache(const lt_layer *l, int64_t N) { return (size_t)(N * l->in_size); }

static lt_status dropout_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                                 float *scratch) {
    (void)scratch;
    dropout_layer *d = (dropout_layer *)l;
    int64_t n = N * l->in_size;
    if (!masking(l)) {
        memcpy(y, x, (size_t)n * sizeof(float));
        if (n > 0) cache[0] = IDENTITY;
        return LT_OK;
    }
    /* two 32-bit uniforms per 64-bit draw: dropped when u < rate·2³² */
    float scale = 1.0f / (1.0f - d->rate);
    uint64_t thr = (uint64_t)((double)d->rate * 4294967296.0);
    lt_rng *shared = lt_layer_rng(), rng = *shared;   /* a worker has its own stream */
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {     /* state in registers, no branches */
        uint64_t r = lt_rng_next(&rng);
        float m0 = (r & 0xffffffffu) < thr ? 0.0f : scale, m1 = (r >> 32) < thr ? 0.0f : scale;
        cache[i] = m0;
        cache[i + 1] = m1;
        y[i] = x[i] * m0;
        y[i + 1] = x[i + 1] * m1;
    }
    if (i < n) {
        cache[i] = (lt_rng_next(&rng) & 0xffffffffu) < thr ? 0.0f : scale;
        y[i] = x[i] * cache[i];
    }
    *shared = rng;
    return LT_OK;
}

static void dropout_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                             int64_t N, const float *cache, float *scratch) {
    (void)x; (void)y; (void)scratch;
    if (!dx) return;
    int64_t n = N * l->in_size;
    if (n > 0 && cache[0] == IDENTITY) memcpy(dx, dy, (size_t)n * sizeof(float));
    else for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * cache[i];
}

static const lt_layer_vt dropout_vt = {"Dropout", dropout_setup, NULL, dropout_cache, NULL,
                                       dropout_forward, dropout_backward, NULL, NULL,
                                       LT_LAYER_SPLITTABLE, NULL, NULL, NULL};

lt_layer *lt_dropout_new(float rate) {
    if (!(rate >= 0 && rate < 1)) {
        lt_seterr(LT_EARG, "Dropout: rate must be in [0, 1) (got %g)", rate);
        return NULL;
    }
    dropout_layer *d = (dropout_layer *)lt_layer_alloc(sizeof *d, &dropout_vt);
    if (!d) return NULL;
    d->rate = rate;
    snprintf(d->h.name, sizeof d->h.name, "dropout");
    return &d->h;
}

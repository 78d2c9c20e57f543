/* dropout.c: inverted dropout (Srivastava et al. 2014, as Keras): in training each
 * element is zeroed with probability `rate` and the survivors scaled by 1/(1-rate), so
 * inference is the identity. The mask is not kept: forward draws a seed from the layer's
 * generator, records it in its cache and draws the mask from it (kernels/mask.h), and
 * backward draws the same mask again (a cache of 16 floats per sample instead of the whole
 * input; a mask costs far less to draw than to write and read back). An identity forward
 * marks its cache instead (IDENTITY below), so backward follows what the forward did,
 * whatever the mode flag says by then. */
#include "nn/layer.h"
#include "nn/parallel.h"

#include <stdio.h>
#include <string.h>

#include "kernels/mask.h"

typedef struct {
    lt_layer h;
    float rate;
} dropout_layer;

/* Whether forward applies a mask. Decided from the mode, not stored in the layer: two
 * data-parallel threads run forward on the same layer at once. */
static int masking(const lt_layer *l) { return l->training && ((const dropout_layer *)l)->rate > 0; }

/* What a forward writes in the first float of its rows' cache: IDENTITY or MASKED, then,
 * when masked, the mask's seed. Each thread's rows have their own cache
 * range (and stream), so backward finds what its own rows' forward did. Not the mode flag:
 * a net restores its layers' flags once the forward is done (a layer built in Lua is in
 * inference mode outside fit), and a backward that read the flag then passed the gradient
 * through dropped units, unscaled (issue 19). */
#define IDENTITY (-1.0f)
#define MASKED 1.0f
#define CACHE_PER_ROW 16    /* room for the flag and the seed in any share of rows */
_Static_assert(1 + sizeof(uint64_t) / sizeof(float) <= CACHE_PER_ROW, "dropout's cache row");

static lt_status dropout_setup(lt_layer *l, int nd, const int64_t *in) {
    l->out_nd = nd;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    return LT_OK;
}

static size_t dropout_cache(const lt_layer *l, int64_t N) {
    (void)l;
    return (size_t)(N * CACHE_PER_ROW);
}

/* out[i] = in[i] · mask[i] for the mask drawn from seed (kernels/mask.h): dropped when its
 * uniform is below rate·2³², kept ones scaled. */
static void apply_mask(const dropout_layer *d, uint64_t seed, const float *in, float *out,
                       int64_t n) {
    lt_rng8 r;
    lt_rng8_seed(&r, seed);
    lt_mask_apply(&r, (uint32_t)((double)d->rate * 4294967296.0), 1.0f / (1.0f - d->rate), in,
                  out, n);
}

static lt_status dropout_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                                 float *scratch) {
    (void)scratch;
    int64_t n = N * l->in_size;
    if (n <= 0) return LT_OK;
    if (!masking(l)) {
        memcpy(y, x, (size_t)n * sizeof(float));
        cache[0] = IDENTITY;
        return LT_OK;
    }
    uint64_t seed = lt_rng_next(lt_layer_rng());   /* a data-parallel worker: its own stream */
    cache[0] = MASKED;
    memcpy(cache + 1, &seed, sizeof seed);
    apply_mask((const dropout_layer *)l, seed, x, y, n);
    return LT_OK;
}

static void dropout_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                             int64_t N, const float *cache, float *scratch) {
    (void)x; (void)y; (void)scratch;
    int64_t n = N * l->in_size;
    if (!dx || n <= 0) return;
    if (cache[0] == IDENTITY) {
        memcpy(dx, dy, (size_t)n * sizeof(float));
        return;
    }
    uint64_t seed;                   /* the forward's draws again */
    memcpy(&seed, cache + 1, sizeof seed);
    apply_mask((const dropout_layer *)l, seed, dy, dx, n);
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

/* dropout.c: inverted dropout (Srivastava et al. 2014, as Keras): in training each
 * element is zeroed with probability `rate` and the survivors scaled by 1/(1-rate), so
 * inference is the identity. The mask is not kept: forward records in its cache where in
 * the generator's stream it started, and backward draws the same mask again (a cache of
 * 16 floats per sample instead of the whole input; a mask costs far less to draw than to
 * write and read back). An identity forward marks its cache instead (IDENTITY below), so
 * backward follows what the forward did, whatever the mode flag says by then. */
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

/* What a forward writes in the first float of its rows' cache: IDENTITY or MASKED, then,
 * when masked, the generator's state it drew from. Each thread's rows have their own cache
 * range (and stream), so backward finds what its own rows' forward did. Not the mode flag:
 * a net restores its layers' flags once the forward is done (a layer built in Lua is in
 * inference mode outside fit), and a backward that read the flag then passed the gradient
 * through dropped units, unscaled (issue 19). */
#define IDENTITY (-1.0f)
#define MASKED 1.0f
#define CACHE_PER_ROW 16    /* room for the flag and the state in any share of rows */
_Static_assert(1 + sizeof(lt_rng) / sizeof(float) <= CACHE_PER_ROW, "dropout's cache row");

static lt_status dropout_setup(lt_layer *l, int nd, const int64_t *in) {
    l->out_nd = nd;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    return LT_OK;
}

static size_t dropout_cache(const lt_layer *l, int64_t N) {
    (void)l;
    return (size_t)(N * CACHE_PER_ROW);
}

/* 0 or scale for a uniform u, by masking scale's bits: no branch to mispredict on a
 * random mask (GCC turns a select, even (float)(u >= thr) · scale, into one, and the
 * mispredictions cost 4× the draw). */
static inline float mask_value(uint32_t u, uint64_t thr, float scale) {
    uint32_t bits, keep = -(uint32_t)(u >= thr);
    memcpy(&bits, &scale, sizeof bits);
    bits &= keep;
    float m;
    memcpy(&m, &bits, sizeof m);
    return m;
}

/* out[i] = in[i] · mask[i] for the mask drawn from rng: two 32-bit uniforms per 64-bit draw,
 * dropped when u < rate·2³², kept ones scaled. rng is left after the draws. */
static void apply_mask(const dropout_layer *d, lt_rng *rng, const float *in, float *out,
                       int64_t n) {
    float scale = 1.0f / (1.0f - d->rate);
    uint64_t thr = (uint64_t)((double)d->rate * 4294967296.0);
    lt_rng r = *rng;                 /* state in registers */
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {
        uint64_t u = lt_rng_next(&r);
        out[i] = in[i] * mask_value((uint32_t)u, thr, scale);
        out[i + 1] = in[i + 1] * mask_value((uint32_t)(u >> 32), thr, scale);
    }
    if (i < n) out[i] = in[i] * mask_value((uint32_t)lt_rng_next(&r), thr, scale);
    *rng = r;
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
    lt_rng *rng = lt_layer_rng();    /* a data-parallel worker has its own stream */
    cache[0] = MASKED;
    memcpy(cache + 1, rng, sizeof *rng);
    apply_mask((const dropout_layer *)l, rng, x, y, n);
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
    lt_rng rng;                      /* the forward's draws again */
    memcpy(&rng, cache + 1, sizeof rng);
    apply_mask((const dropout_layer *)l, &rng, dy, dx, n);
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

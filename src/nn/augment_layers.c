/* augment_layers.c: RandomFlip / RandomRotation / RandomZoom / RandomTranslation as
 * engine layers (see augment_layers.h): one struct for the four kinds, each with its
 * Keras class name. The cache keeps the per-image maps (8 floats each) that forward drew,
 * so backward can apply their adjoint. */
#include "nn/augment_layers.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    lt_layer h;
    lt_augment_opts o;
    lt_rng rng;
    int own_rng;
    int applied;            /* the last forward transformed (training), so backward must too */
} aug_layer;

static lt_status aug_setup(lt_layer *l, int nd, const int64_t *in) {
    char sb[160];
    if (nd != 3)
        return lt_seterr(LT_ESHAPE, "%s: expects images H×W×C, got input shape %s", l->name,
                         lt_shape_str(nd, in, sb, sizeof sb));
    l->out_nd = nd;
    memcpy(l->out_shape, in, (size_t)nd * sizeof *in);
    return LT_OK;
}

static size_t aug_cache(const lt_layer *l, int64_t N) { (void)l; return (size_t)(8 * N); }

static lt_status aug_forward(lt_layer *l, const float *x, float *y, int64_t N, float *cache,
                             float *scratch) {
    (void)scratch;
    aug_layer *a = (aug_layer *)l;
    a->applied = l->training;
    if (!l->training) {
        memcpy(y, x, (size_t)(N * l->in_size) * sizeof(float));
        return LT_OK;
    }
    return lt_augment_raw(x, y, N, l->in_shape[0], l->in_shape[1], l->in_shape[2], &a->o,
                          a->own_rng ? &a->rng : NULL, cache);
}

static void aug_backward(lt_layer *l, const float *x, const float *y, float *dy, float *dx,
                         int64_t N, const float *cache, float *scratch) {
    (void)x; (void)y; (void)scratch;
    aug_layer *a = (aug_layer *)l;
    if (!dx) return;
    if (!a->applied) memcpy(dx, dy, (size_t)(N * l->in_size) * sizeof(float));
    else lt_augment_backward(dy, dx, N, l->in_shape[0], l->in_shape[1], l->in_shape[2], &a->o,
                             cache);
}

#define AUG_VT(kind) {kind, aug_setup, NULL, aug_cache, NULL, aug_forward, aug_backward, NULL, \
                     NULL, 0, NULL, NULL, NULL}
static const lt_layer_vt aug_vts[4] = {AUG_VT("RandomFlip"), AUG_VT("RandomRotation"),
                                       AUG_VT("RandomZoom"), AUG_VT("RandomTranslation")};
static const char *const aug_names[4] = {"random_flip", "random_rotation", "random_zoom",
                                         "random_translation"};

lt_layer *lt_augment_layer_new(lt_aug_kind kind, const lt_augment_opts *o, int has_seed,
                               uint64_t seed) {
    if ((unsigned)kind > LT_AUG_TRANSLATION) {
        lt_seterr(LT_EARG, "augmentation layer: unknown kind %d", (int)kind);
        return NULL;
    }
    /* Validate the options once, on an empty batch, so that forward cannot fail on them. */
    if (lt_augment_raw(NULL, NULL, 0, 1, 1, 1, o, NULL, NULL) != LT_OK) return NULL;
    aug_layer *a = (aug_layer *)lt_layer_alloc(sizeof *a, &aug_vts[kind]);
    if (!a) return NULL;
    a->o = *o;
    a->own_rng = has_seed;
    if (has_seed) lt_rng_seed(&a->rng, seed);
    snprintf(a->h.name, sizeof a->h.name, "%s", aug_names[kind]);
    return &a->h;
}

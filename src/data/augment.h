/* augment.h: image augmentation for N×H×W×C (or H×W×C) float tensors: random flips,
 * rotations, zooms and translations with the meaning Keras gives their factors
 * (keras.layers.RandomFlip/RandomRotation/RandomZoom/RandomTranslation), 'reflect'
 * fill and bilinear interpolation by default. The four transforms are composed into
 * one affine map per image (output pixel → input position), sampled once. */
#ifndef LT_DATA_AUGMENT_H
#define LT_DATA_AUGMENT_H

#include "core/rng.h"
#include "core/tensor.h"

enum { LT_FLIP_H = 1, LT_FLIP_V = 2 };      /* bits of lt_augment_opts.flip */
typedef enum { LT_FILL_REFLECT, LT_FILL_WRAP, LT_FILL_NEAREST, LT_FILL_CONSTANT } lt_fill_mode;
typedef enum { LT_INTERP_BILINEAR, LT_INTERP_NEAREST } lt_interp;

/* Each range [lo, hi] is sampled uniformly per image; lo == hi == 0 disables the
 * transform (and draws nothing from the generator).
 * - flip: LT_FLIP_H and/or LT_FLIP_V; each enabled axis flips with probability 1/2.
 * - rotation: angle as a fraction of a full turn (0.25 = 90°); positive turns the
 *   image counter-clockwise, about its centre (Keras: factor 0.1 → [-0.1, 0.1]).
 * - zoom_h, zoom_w: the sampling grid is scaled by 1 + factor about the centre:
 *   positive zooms out (the image looks smaller), negative zooms in (Keras). With
 *   zoom_keep_aspect the width uses the height's draw (Keras width_factor=None).
 * - translate_h, translate_w: shift by factor × height / width pixels; positive moves
 *   the image down / right.
 * The composed map applies flip, then rotation, then zoom, then translation, as a
 * Keras Sequential of those layers would, but interpolates once; fill applies to
 * positions outside the input: reflect (d c b a | a b c d | d c b a), wrap, nearest
 * (edge pixel) or constant (fill_value). */
typedef struct {
    int flip;
    float rotation[2];
    float zoom_h[2], zoom_w[2];
    int zoom_keep_aspect;
    float translate_h[2], translate_w[2];
    lt_fill_mode fill;
    float fill_value;
    lt_interp interp;
} lt_augment_opts;

/* Everything off, reflect fill, bilinear interpolation. */
void lt_augment_defaults(lt_augment_opts *o);

/* Writes an augmented copy of x into y (same shape, 3-d H×W×C or 4-d N×H×W×C; y must
 * not share storage with x). Random draws come from rng (lt_global_rng when NULL),
 * per image in a fixed order, so a seeded generator reproduces the output exactly.
 * Returns LT_EARG/LT_ESHAPE for bad options or shapes, LT_EINTR when interrupted
 * (y then holds a mix of augmented and unwritten images). */
lt_status lt_augment(const lt_tensor *x, lt_tensor *y, const lt_augment_opts *o, lt_rng *rng);

/* The same on raw N×H×W×C buffers (for layers): checks the options, not the buffers.
 * When maps is not NULL it receives 8 floats per image (the affine map m[0..5], then
 * the flip bits x and y, with m all zero for a pure flip) for lt_augment_backward. */
lt_status lt_augment_raw(const float *x, float *y, int64_t N, int64_t H, int64_t W, int64_t C,
                         const lt_augment_opts *o, lt_rng *rng, float *maps);
/* The adjoint of a forward lt_augment_raw pass recorded in maps: dx = Aᵀ·dy per image
 * (flips map back; bilinear samples scatter their weights; constant fill gets none).
 * dx is overwritten. */
void lt_augment_backward(const float *dy, float *dx, int64_t N, int64_t H, int64_t W, int64_t C,
                         const lt_augment_opts *o, const float *maps);

#endif

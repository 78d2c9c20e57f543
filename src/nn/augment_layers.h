/* augment_layers.h: the augmentation layers RandomFlip, RandomRotation, RandomZoom and
 * RandomTranslation (Keras's preprocessing layers): in training each image of the batch
 * gets a random transform (data/augment.h); at inference they are the identity.
 * Per-sample shape H×W×C in and out; no parameters. */
#ifndef LT_NN_AUGMENT_LAYERS_H
#define LT_NN_AUGMENT_LAYERS_H

#include "data/augment.h"
#include "nn/layer.h"

typedef enum { LT_AUG_FLIP, LT_AUG_ROTATION, LT_AUG_ZOOM, LT_AUG_TRANSLATION } lt_aug_kind;

/* A new augmentation layer of the given kind (its vt->kind is the Keras class name)
 * applying o (only the fields of that kind are expected to be set). With has_seed the
 * layer draws from its own generator seeded once with seed (its stream continues across
 * calls); otherwise from lt_global_rng. Free with lt_layer_free; NULL on bad options.
 * backward is the exact adjoint of the last training forward (identity otherwise). */
lt_layer *lt_augment_layer_new(lt_aug_kind kind, const lt_augment_opts *o, int has_seed,
                               uint64_t seed);

#endif

/* loss.h: the losses of Keras (mse, binary, categorical and sparse categorical
 * cross-entropy) with Keras's clipping of probabilities to [ε, 1-ε], ε = 1e-7, and the
 * accuracy that goes with each. pred is rows×K (K = the last axis); target has pred's
 * shape, or (sparse) one 0-based class id per row. Losses are means over rows (and,
 * for mse and binary cross-entropy, over the last axis too, as Keras). */
#ifndef LT_LOSS_H
#define LT_LOSS_H

#include "core/tensor.h"

typedef enum { LT_LOSS_MSE = 0, LT_LOSS_BCE, LT_LOSS_CCE, LT_LOSS_SCCE } lt_loss_kind;

#define LT_LOSS_EPS 1e-7f

int         lt_loss_parse(const char *name, lt_loss_kind *k);   /* 1 on success */
const char *lt_loss_name(lt_loss_kind k);

/* Checks target against pred: the count; for sparse, integer labels in 0..K-1; for binary
 * cross-entropy, finite targets in [0, 1]; for categorical, finite non-negative targets.
 * Errors name the loss, the value and its 1-based position ([row, column] when K > 1). */
lt_status lt_loss_check(lt_loss_kind k, int64_t rows, int64_t K, const float *target,
                        int64_t tn);
/* *loss = mean loss; grad (rows×K, may be NULL) = dloss/dpred. Call lt_loss_check first. */
void lt_loss_eval(lt_loss_kind k, const float *pred, int64_t rows, int64_t K,
                  const float *target, double *loss, float *grad);
/* Gradient w.r.t. the logits z when pred = softmax(z) (cce, scce) or sigmoid(z) (bce):
 * (pred - target) / count. The fused softmax + cross-entropy of the training step. */
void lt_loss_fused_grad(lt_loss_kind k, const float *pred, int64_t rows, int64_t K,
                        const float *target, float *grad);
/* Correct predictions and their count: argmax match (K > 1), or p > 0.5 against the
 * target for binary cross-entropy and K = 1. */
void lt_loss_accuracy(lt_loss_kind k, const float *pred, int64_t rows, int64_t K,
                      const float *target, int64_t *correct, int64_t *total);

#endif

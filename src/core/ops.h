/* ops.h: functional convolution and pooling (direct loops, used by the lessons and as
 * the reference the fast layers are tested against), and the padding arithmetic
 * that every convolution and pooling layer shares.
 * Layout is channels-last: images N×H×W×C, kernels KH×KW×C×OC, sequences N×L×C.
 * These compute cross-correlation, as every deep-learning library does. */
#ifndef LT_OPS_H
#define LT_OPS_H

#include "core/tensor.h"

typedef enum { LT_PAD_VALID = 0, LT_PAD_SAME = 1 } lt_padding;

#define LT_MAX_WINDOW ((int64_t)1 << 30)   /* the largest kernel size or stride accepted */

/* Output size and leading padding along one axis, exactly as Keras/TensorFlow:
 *   valid: out = floor((in - k) / stride) + 1, no padding (error when in < k)
 *   same:  out = ceil(in / stride); total = max((out-1)*stride + k - in, 0);
 *          before = total / 2, the extra one (if odd) goes after (asymmetric). */
lt_status lt_conv_geometry(const char *fn, int64_t in, int64_t k, int64_t stride,
                           lt_padding pad, int64_t *out, int64_t *pad_before);

/* input: H×W, H×W×C or N×H×W×C; kernel: KH×KW (with 2-d input), KH×KW×C (one
 * filter) or KH×KW×C×OC. Output drops the dimensions the inputs lacked. */
lt_tensor *lt_conv2d_direct(const lt_tensor *input, const lt_tensor *kernel,
                            int64_t stride, lt_padding pad);
/* input: L, L×C or N×L×C; kernel: K (with 1-d input), K×C or K×C×OC. */
lt_tensor *lt_conv1d_direct(const lt_tensor *input, const lt_tensor *kernel,
                            int64_t stride, lt_padding pad);
/* input: H×W, H×W×C or N×H×W×C; window size×size moved by stride. Padded cells are
 * ignored: max over the real cells, average divided by the count of real cells. */
lt_tensor *lt_pool2d_direct(const lt_tensor *input, int64_t size, int64_t stride,
                            lt_padding pad, int is_max);

#endif

/* ops.c: direct-loop convolution and pooling (see ops.h). Plain loops on purpose:
 * they are the readable definition and the tests' independent reference. */
#include "core/ops.h"

#include <math.h>

lt_status lt_conv_geometry(const char *fn, int64_t in, int64_t k, int64_t stride,
                           lt_padding pad, int64_t *out, int64_t *pad_before) {
    if (stride < 1) return lt_seterr(LT_EARG, "%s: stride %lld (must be positive)", fn,
                                     (long long)stride);
    if (k < 1) return lt_seterr(LT_EARG, "%s: kernel size %lld (must be positive)", fn,
                                (long long)k);
    if (k > LT_MAX_WINDOW || stride > LT_MAX_WINDOW)   /* keeps the arithmetic below exact */
        return lt_seterr(LT_EARG, "%s: kernel %lld or stride %lld over the limit of %lld", fn,
                         (long long)k, (long long)stride, (long long)LT_MAX_WINDOW);
    if (pad == LT_PAD_SAME) {
        *out = in / stride + (in % stride != 0);
        int64_t total = (*out - 1) * stride + k - in;
        *pad_before = total > 0 ? total / 2 : 0;
        return LT_OK;
    }
    if (in < k)
        return lt_seterr(LT_ESHAPE, "%s: input size %lld is smaller than the kernel %lld "
                         "with 'valid' padding", fn, (long long)in, (long long)k);
    *out = (in - k) / stride + 1;
    *pad_before = 0;
    return LT_OK;
}

/* The one direct convolution, on data seen as N×H×W×C with a KH×KW×KC×OC kernel; returns
 * N×OH×OW×OC. fn names the public caller in messages, which quote its own operands.
 *   out[n,i,j,o] = sum over di,dj,c of in[n, i*s+di-PT, j*s+dj-PL, c] * k[di,dj,c,o] */
static lt_tensor *conv_nhwc(const char *fn, const lt_tensor *input, const lt_tensor *kernel,
                            int64_t N, int64_t H, int64_t W, int64_t C, int64_t KH, int64_t KW,
                            int64_t KC, int64_t OC, int64_t stride, lt_padding pad) {
    char b[160];
    if (KC != C) {
        lt_seterr(LT_ESHAPE, "%s: input has %lld channels, kernel %s expects %lld", fn,
                  (long long)C, lt_shape_str(kernel->ndim, kernel->shape, b, sizeof b),
                  (long long)KC);
        return NULL;
    }
    int64_t OH, OW, PT, PL;
    if (lt_conv_geometry(fn, H, KH, stride, pad, &OH, &PT) != LT_OK ||
        lt_conv_geometry(fn, W, KW, stride, pad, &OW, &PL) != LT_OK)
        return NULL;
    int64_t shape[4] = {N, OH, OW, OC};
    lt_tensor *out = lt_tensor_empty(4, shape);
    if (!out) return NULL;
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < OH; i++)
            for (int64_t j = 0; j < OW; j++)
                for (int64_t o = 0; o < OC; o++) {
                    double acc = 0;
                    for (int64_t di = 0; di < KH; di++) {
                        int64_t y = i * stride + di - PT;
                        if (y < 0 || y >= H) continue;
                        for (int64_t dj = 0; dj < KW; dj++) {
                            int64_t x = j * stride + dj - PL;
                            if (x < 0 || x >= W) continue;
                            for (int64_t c = 0; c < C; c++)
                                acc += (double)input->data[((n * H + y) * W + x) * C + c] *
                                       kernel->data[((di * KW + dj) * C + c) * OC + o];
                        }
                    }
                    out->data[((n * OH + i) * OW + j) * OC + o] = (float)acc;
                }
    return out;
}

/* t4 (N×OH×OW×OC) as a view keeping only the dimensions flagged in keep[4]; frees t4. */
static lt_tensor *keep_dims(lt_tensor *t4, const int keep[4]) {
    if (!t4) return NULL;
    int64_t shape[4];
    int nd = 0;
    for (int i = 0; i < 4; i++)
        if (keep[i]) shape[nd++] = t4->shape[i];
    lt_tensor *r = lt_tensor_reshape(t4, nd, shape);
    lt_tensor_free(t4);
    return r;
}

lt_tensor *lt_conv2d_direct(const lt_tensor *input, const lt_tensor *kernel, int64_t stride,
                            lt_padding pad) {
    char a[160], b[160];
    int ind = input->ndim, knd = kernel->ndim;
    int ok = (ind == 2 && knd == 2) || (ind == 3 && (knd == 3 || knd == 4)) ||
             (ind == 4 && knd == 4);
    if (!ok) {
        lt_seterr(LT_ESHAPE, "conv2d: input %s and kernel %s: expected H×W with KH×KW, H×W×C "
                  "with KH×KW×C or KH×KW×C×OC, or N×H×W×C with KH×KW×C×OC",
                  lt_shape_str(ind, input->shape, a, sizeof a),
                  lt_shape_str(knd, kernel->shape, b, sizeof b));
        return NULL;
    }
    int64_t N = ind == 4 ? input->shape[0] : 1;
    int64_t H = input->shape[ind == 4], W = input->shape[(ind == 4) + 1];
    int64_t C = ind == 2 ? 1 : input->shape[ind - 1];
    int64_t KC = knd == 2 ? 1 : kernel->shape[2], OC = knd == 4 ? kernel->shape[3] : 1;
    int keep[4] = {ind == 4, 1, 1, knd == 4};   /* output drops what the inputs lacked */
    return keep_dims(conv_nhwc("conv2d", input, kernel, N, H, W, C, kernel->shape[0],
                               kernel->shape[1], KC, OC, stride, pad), keep);
}

/* A 1-d convolution is the 2-d one on N×1×L×C with a 1×K kernel. */
lt_tensor *lt_conv1d_direct(const lt_tensor *input, const lt_tensor *kernel, int64_t stride,
                            lt_padding pad) {
    char a[160], b[160];
    int ind = input->ndim, knd = kernel->ndim;
    int ok = (ind == 1 && knd == 1) || (ind == 2 && (knd == 2 || knd == 3)) ||
             (ind == 3 && knd == 3);
    if (!ok) {
        lt_seterr(LT_ESHAPE, "conv1d: input %s and kernel %s: expected L with K, L×C with "
                  "K×C or K×C×OC, or N×L×C with K×C×OC",
                  lt_shape_str(ind, input->shape, a, sizeof a),
                  lt_shape_str(knd, kernel->shape, b, sizeof b));
        return NULL;
    }
    int64_t N = ind == 3 ? input->shape[0] : 1, L = input->shape[ind == 3];
    int64_t C = ind == 1 ? 1 : input->shape[ind - 1];
    int64_t KC = knd == 1 ? 1 : kernel->shape[1], OC = knd == 3 ? kernel->shape[2] : 1;
    int keep[4] = {ind == 3, 0, 1, knd == 3};
    return keep_dims(conv_nhwc("conv1d", input, kernel, N, 1, L, C, 1, kernel->shape[0], KC, OC,
                               stride, pad), keep);
}

lt_tensor *lt_pool2d_direct(const lt_tensor *input, int64_t size, int64_t stride,
                            lt_padding pad, int is_max) {
    const char *fn = is_max ? "maxpool2d" : "avgpool2d";
    char a[160];
    int ind = input->ndim;
    if (ind < 2 || ind > 4) {
        lt_seterr(LT_ESHAPE, "%s: input %s: expected H×W, H×W×C or N×H×W×C", fn,
                  lt_shape_str(ind, input->shape, a, sizeof a));
        return NULL;
    }
    int64_t N = ind == 4 ? input->shape[0] : 1;
    int64_t H = input->shape[ind == 4], W = input->shape[(ind == 4) + 1];
    int64_t C = ind == 2 ? 1 : input->shape[ind - 1];
    int64_t OH, OW, PT, PL;
    if (lt_conv_geometry(fn, H, size, stride, pad, &OH, &PT) != LT_OK ||
        lt_conv_geometry(fn, W, size, stride, pad, &OW, &PL) != LT_OK)
        return NULL;
    int64_t shape[4];
    int nd = 0;
    if (ind == 4) shape[nd++] = N;
    shape[nd++] = OH;
    shape[nd++] = OW;
    if (ind >= 3) shape[nd++] = C;
    lt_tensor *out = lt_tensor_empty(nd, shape);
    if (!out) return NULL;
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < OH; i++)
            for (int64_t j = 0; j < OW; j++)
                for (int64_t c = 0; c < C; c++) {
                    double acc = is_max ? -INFINITY : 0;
                    int64_t count = 0;
                    for (int64_t di = 0; di < size; di++) {
                        int64_t y = i * stride + di - PT;
                        if (y < 0 || y >= H) continue;
                        for (int64_t dj = 0; dj < size; dj++) {
                            int64_t x = j * stride + dj - PL;
                            if (x < 0 || x >= W) continue;
                            float v = input->data[((n * H + y) * W + x) * C + c];
                            if (is_max) acc = v > acc ? v : acc;
                            else acc += v;
                            count++;
                        }
                    }
                    out->data[((n * OH + i) * OW + j) * C + c] =
                        (float)(is_max ? acc : acc / (double)count);
                }
    return out;
}

/* im2col.c: unfold/fold for channels-last convolution (see im2col.h). Each patch row
 * is built from runs of C contiguous floats (KW·C when the whole kernel row is inside
 * the image), so the copy is memcpy-bound. */
#include "nn/im2col.h"

#include <string.h>

#include "kernels/isa.h"

/* n floats: a loop for short runs (a 3×3 RGB patch row is 9 floats, where a call to memcpy
 * per run made the unfold 2× slower), memcpy for long ones. */
static inline void copy_run(float *restrict dst, const float *restrict src, int64_t n) {
    if (n > 64) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    for (int64_t i = 0; i < n; i++) dst[i] = src[i];
}

void lt_im2col(const lt_conv_geom *g, const float *x, int64_t r0, int64_t nrows, float *cols) {
    const int64_t C = g->C, KWC = g->KW * C, K = g->KH * KWC, P = g->OH * g->OW;
    float *row = cols;
    for (int64_t r = r0; r < r0 + nrows; r++, row += K) {
        int64_t n = r / P, oh = r % P / g->OW, ow = r % g->OW;
        const float *xn = x + n * g->H * g->W * C;
        int64_t iw0 = ow * g->SW - g->PL;
        int full = iw0 >= 0 && iw0 + g->KW <= g->W;
        for (int64_t kh = 0; kh < g->KH; kh++) {
            float *dst = row + kh * KWC;
            int64_t ih = oh * g->SH + kh - g->PT;
            if (ih < 0 || ih >= g->H) {
                memset(dst, 0, (size_t)KWC * sizeof(float));
                continue;
            }
            const float *src = xn + (ih * g->W) * C;
            if (full) {
                copy_run(dst, src + iw0 * C, KWC);
                continue;
            }
            for (int64_t kw = 0; kw < g->KW; kw++) {
                int64_t iw = iw0 + kw;
                if (iw < 0 || iw >= g->W) memset(dst + kw * C, 0, (size_t)C * sizeof(float));
                else copy_run(dst + kw * C, src + iw * C, C);
            }
        }
    }
}

void lt_col2im(const lt_conv_geom *g, const float *dcols, int64_t r0, int64_t nrows, float *dx) {
    const int64_t C = g->C, KWC = g->KW * C, K = g->KH * KWC, P = g->OH * g->OW;
    const float *row = dcols;
    for (int64_t r = r0; r < r0 + nrows; r++, row += K) {
        int64_t n = r / P, oh = r % P / g->OW, ow = r % g->OW;
        float *xn = dx + n * g->H * g->W * C;
        int64_t iw0 = ow * g->SW - g->PL;
        for (int64_t kh = 0; kh < g->KH; kh++) {
            int64_t ih = oh * g->SH + kh - g->PT;
            if (ih < 0 || ih >= g->H) continue;
            const float *src = row + kh * KWC;
            float *dst = xn + (ih * g->W) * C;
            for (int64_t kw = 0; kw < g->KW; kw++) {
                int64_t iw = iw0 + kw;
                if (iw < 0 || iw >= g->W) continue;
                float *d = dst + iw * C;
                const float *s = src + kw * C;
                for (int64_t c = 0; c < C; c++) d[c] += s[c];
            }
        }
    }
}

static void conv_direct(const lt_conv_geom *g, const float *x, const float *w, const float *b,
                        int64_t OC, int relu, float *y) {
    if (lt_isa() == LT_ISA_AVX512) lt_conv_direct_avx512(g, x, w, b, OC, relu, y);
    else lt_conv_direct_avx2(g, x, w, b, OC, relu, y);
}

int lt_conv_direct_ok(int64_t C, int64_t K, int64_t OC) {
    return lt_isa() >= LT_ISA_AVX2 && C <= LT_CONV_DIRECT_MAXC && OC > 0 && OC % 16 == 0 &&
           K <= 160 * 1024 / OC;
}

int lt_conv_direct(const lt_conv_geom *g, const float *x, const float *w, const float *b,
                   int64_t OC, int relu, float *y) {
    if (!lt_conv_direct_ok(g->C, g->KH * g->KW * g->C, OC)) return 0;
    conv_direct(g, x, w, b, OC, relu, y);
    return 1;
}

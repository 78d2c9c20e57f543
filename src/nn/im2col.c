/* im2col.c: unfold/fold for channels-last convolution (see im2col.h). Each patch row
 * is built from runs of C contiguous floats (KW·C when the whole kernel row is inside
 * the image), so the copy is memcpy-bound. */
#include "nn/im2col.h"

#include <string.h>

#include "core/tensor.h"
#include "kernels/isa.h"
#include "nn/parallel.h"

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

typedef struct {
    const lt_conv_geom *g;
    const float *x, *w, *b;
    int64_t OC, cut;       /* thread 0 takes samples [0, cut), thread 1 the rest */
    int relu;
    float *y;
} direct_job;

static void direct_half(void *arg, int tid) {
    const direct_job *j = arg;
    lt_conv_geom h = *j->g;
    int64_t n0 = tid ? j->cut : 0;
    h.N = tid ? j->g->N - j->cut : j->cut;
    conv_direct(&h, j->x + n0 * h.H * h.W * h.C, j->w, j->b, j->OC, j->relu,
                j->y + n0 * h.OH * h.OW * j->OC);
}

int lt_conv_direct(const lt_conv_geom *g, const float *x, const float *w, const float *b,
                   int64_t OC, int relu, float *y) {
    int64_t K = g->KH * g->KW * g->C;
    if (!lt_conv_direct_ok(g->C, K, OC)) return 0;
    /* Two threads, half of the samples each, from LT_SPLIT_MACS (as a GEMM splits)
     * when no data-parallel step has the threads: a net with BatchNorm runs its layers on
     * the whole batch. Each output pixel is computed alike either way. */
    double macs = (double)g->N * (double)(g->OH * g->OW) * (double)K * (double)OC;
    if (g->N >= 2 && macs >= LT_SPLIT_MACS && lt_kernel_threads() >= 2) {
        direct_job j = {g, x, w, b, OC, g->N / 2, relu, y};
        lt_par_run2(direct_half, &j);
        return 1;
    }
    conv_direct(g, x, w, b, OC, relu, y);
    return 1;
}

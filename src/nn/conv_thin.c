/* conv_thin.c: direct AVX-512 convolution without a cols matrix (see im2col.h): lt_conv_thin
 * for the thin first layer of a CNN (K = KH·KW·C ≤ 32, e.g. 3×3 on RGB: 27) in training
 * and inference, lt_conv_direct for the other convolutions in inference. Q output pixels
 * at a time, J ≤ 4 vector accumulators of 16 channels per pixel seeded with the bias (OC
 * in groups of 16·J columns): for each tap (kh, kw, c) the row w[k, group] is loaded once
 * and multiplied into the Q pixels' accumulators by broadcasting their input values (the
 * outer-product form of a GEMM micro-kernel, with the im2col gather folded into the
 * loads). Taps in the padding read a zero row. */
#include <immintrin.h>

#include "nn/im2col.h"

/* Compiled with -mavx512f (CMakeLists.txt): reached only through lt_conv_thin and
 * lt_conv_direct (im2col.c), which check lt_isa() first. */
static const float zeros[LT_CONV_DIRECT_MAXC];   /* the row of a tap in the padding */

/* Pointer to the C input values of pixel m's tap (kh, kw), or to zeros in the padding. */
static inline const float *tap(const lt_conv_geom *g, const float *x, int64_t n, int64_t ih0,
                               int64_t iw0, int64_t kh, int64_t kw) {
    int64_t ih = ih0 + kh, iw = iw0 + kw;
    if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) return zeros;
    return x + ((n * g->H + ih) * g->W + iw) * g->C;
}

/* Output channels [o0, o0 + 16·J) of the `cnt` (≤ Q) pixels starting at m. */
static inline __attribute__((always_inline)) void block(const lt_conv_geom *g, const float *x,
                                                        const float *w, const float *b,
                                                        int64_t OC, int64_t o0, int64_t m,
                                                        int cnt, const int Q, const int J,
                                                        int relu, float *y) {
    const int64_t P = g->OH * g->OW;
    __m512 acc[8][4];
    int64_t n[8], ih0[8], iw0[8];
    for (int q = 0; q < Q; q++) {
        int64_t mm = m + (q < cnt ? q : 0);
        n[q] = mm / P;
        int64_t p = mm % P, oh = p / g->OW, ow = p % g->OW;
        ih0[q] = oh * g->SH - g->PT;
        iw0[q] = ow * g->SW - g->PL;
        for (int j = 0; j < J; j++)
            acc[q][j] = b ? _mm512_loadu_ps(b + o0 + 16 * j) : _mm512_setzero_ps();
    }
    int wfull = 1;      /* every pixel's kernel rows lie inside the image horizontally */
    for (int q = 0; q < Q; q++) wfull &= iw0[q] >= 0 && iw0[q] + g->KW <= g->W;
    const float *wk = w + o0;
    for (int64_t kh = 0; kh < g->KH; kh++) {
        int hfull = wfull;
        for (int q = 0; q < Q; q++) hfull &= ih0[q] + kh >= 0 && ih0[q] + kh < g->H;
        /* a whole kernel row of each pixel is one run of KW·C floats: one run per row */
        int64_t runs = hfull ? 1 : g->KW, len = hfull ? g->KW * g->C : g->C;
        for (int64_t kw = 0; kw < runs; kw++) {
            const float *src[8];
            for (int q = 0; q < Q; q++) src[q] = tap(g, x, n[q], ih0[q], iw0[q], kh, kw);
            for (int64_t c = 0; c < len; c++, wk += OC) {
                __m512 wv[4];
                for (int j = 0; j < J; j++) wv[j] = _mm512_loadu_ps(wk + 16 * j);
                for (int q = 0; q < Q; q++) {
                    __m512 xv = _mm512_set1_ps(src[q][c]);
                    for (int j = 0; j < J; j++) acc[q][j] = _mm512_fmadd_ps(xv, wv[j], acc[q][j]);
                }
            }
        }
    }
    const __m512 zero = _mm512_setzero_ps();
    for (int q = 0; q < Q; q++)
        for (int j = 0; j < J && q < cnt; j++)
            _mm512_storeu_ps(y + (m + q) * OC + o0 + 16 * j,
                             relu ? _mm512_max_ps(acc[q][j], zero) : acc[q][j]);
}

/* All pixels, channel groups of 16·J from o0 up to o1, Q pixels per block (Q·J ≤ 24
 * accumulators leave registers for the J weight vectors and a broadcast). */
static inline __attribute__((always_inline)) void run(const lt_conv_geom *g, const float *x,
                                                      const float *w, const float *b,
                                                      int64_t OC, int64_t o0, int64_t o1,
                                                      const int Q, const int J, int relu,
                                                      float *y) {
    const int64_t M = g->N * g->OH * g->OW;
    int64_t m = 0;
    for (; m + Q <= M; m += Q)
        for (int64_t o = o0; o < o1; o += 16 * J) block(g, x, w, b, OC, o, m, Q, Q, J, relu, y);
    if (m < M)
        for (int64_t o = o0; o < o1; o += 16 * J)
            block(g, x, w, b, OC, o, m, (int)(M - m), Q, J, relu, y);
}

static void conv(const lt_conv_geom *g, const float *x, const float *w, const float *b,
                 int64_t OC, int relu, float *y) {
    int64_t wide = OC / 64 * 64;      /* groups of 64 channels, then one group of the rest */
    if (wide) run(g, x, w, b, OC, 0, wide, 6, 4, relu, y);
    switch ((OC - wide) / 16) {
    case 1: run(g, x, w, b, OC, wide, OC, 4, 1, relu, y); break;
    case 2: run(g, x, w, b, OC, wide, OC, 4, 2, relu, y); break;
    case 3: run(g, x, w, b, OC, wide, OC, 4, 3, relu, y); break;
    default: break;
    }
}

void lt_conv_direct_avx512(const lt_conv_geom *g, const float *x, const float *w,
                           const float *b, int64_t OC, int relu, float *y) {
    conv(g, x, w, b, OC, relu, y);
}

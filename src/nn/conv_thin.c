/* conv_thin.c: lt_conv_thin (see im2col.h), a direct AVX-512 convolution for the thin
 * first layer of a CNN (K = KH·KW·C ≤ 32, e.g. 3×3 on RGB: 27). Four output pixels at a
 * time, OC/16 vector accumulators per pixel seeded with the bias: for each tap (kh, kw, c)
 * the row w[k, :] is loaded once and multiplied into the four pixels' accumulators by
 * broadcasting their input values (the outer-product form of a GEMM micro-kernel, with
 * the im2col gather folded into the loads). Taps in the padding read a zero row. */
#include "nn/im2col.h"

#ifdef __AVX512F__
#include <immintrin.h>

enum { Q = 4 };   /* output pixels per block */

/* Pointer to the C input values of pixel m's tap (kh, kw), or to zeros in the padding. */
static inline const float *tap(const lt_conv_geom *g, const float *x, int64_t n, int64_t ih0,
                               int64_t iw0, int64_t kh, int64_t kw, const float *zeros) {
    int64_t ih = ih0 + kh, iw = iw0 + kw;
    if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) return zeros;
    return x + ((n * g->H + ih) * g->W + iw) * g->C;
}

/* One block of `cnt` (≤ Q) pixels starting at m, J = OC/16 accumulators each. */
static inline __attribute__((always_inline)) void block(const lt_conv_geom *g, const float *x,
                                                        const float *w, const float *b,
                                                        int64_t m, int cnt, const int J,
                                                        int relu, float *y,
                                                        const float *zeros) {
    const int64_t OC = 16 * J, P = g->OH * g->OW;
    __m512 acc[Q][4];
    int64_t n[Q], ih0[Q], iw0[Q];
    for (int q = 0; q < Q; q++) {
        int64_t mm = m + (q < cnt ? q : 0);
        n[q] = mm / P;
        int64_t p = mm % P, oh = p / g->OW, ow = p % g->OW;
        ih0[q] = oh * g->SH - g->PT;
        iw0[q] = ow * g->SW - g->PL;
        for (int j = 0; j < J; j++)
            acc[q][j] = b ? _mm512_loadu_ps(b + 16 * j) : _mm512_setzero_ps();
    }
    const float *wk = w;
    for (int64_t kh = 0; kh < g->KH; kh++)
        for (int64_t kw = 0; kw < g->KW; kw++) {
            const float *src[Q];
            for (int q = 0; q < Q; q++) src[q] = tap(g, x, n[q], ih0[q], iw0[q], kh, kw, zeros);
            for (int64_t c = 0; c < g->C; c++, wk += OC) {
                __m512 wv[4];
                for (int j = 0; j < J; j++) wv[j] = _mm512_loadu_ps(wk + 16 * j);
                for (int q = 0; q < Q; q++) {
                    __m512 xv = _mm512_set1_ps(src[q][c]);
                    for (int j = 0; j < J; j++) acc[q][j] = _mm512_fmadd_ps(xv, wv[j], acc[q][j]);
                }
            }
        }
    const __m512 zero = _mm512_setzero_ps();
    for (int q = 0; q < cnt; q++)
        for (int j = 0; j < J; j++)
            _mm512_storeu_ps(y + (m + q) * OC + 16 * j,
                             relu ? _mm512_max_ps(acc[q][j], zero) : acc[q][j]);
}

static inline __attribute__((always_inline)) void run(const lt_conv_geom *g, const float *x, const float *w, const float *b,
                const int J, int relu, float *y) {
    static const float zeros[32];
    const int64_t M = g->N * g->OH * g->OW;
    int64_t m = 0;
    for (; m + Q <= M; m += Q) block(g, x, w, b, m, Q, J, relu, y, zeros);
    if (m < M) block(g, x, w, b, m, (int)(M - m), J, relu, y, zeros);
}

int lt_conv_thin_ok(int64_t K, int64_t OC) { return K <= 32 && OC % 16 == 0 && OC <= 64; }

int lt_conv_thin(const lt_conv_geom *g, const float *x, const float *w, const float *b,
                 int64_t OC, int relu, float *y) {
    if (!lt_conv_thin_ok(g->KH * g->KW * g->C, OC)) return 0;
    switch (OC / 16) {
    case 1: run(g, x, w, b, 1, relu, y); break;
    case 2: run(g, x, w, b, 2, relu, y); break;
    case 3: run(g, x, w, b, 3, relu, y); break;
    default: run(g, x, w, b, 4, relu, y); break;
    }
    return 1;
}
#else
int lt_conv_thin_ok(int64_t K, int64_t OC) {
    (void)K; (void)OC;
    return 0;
}

int lt_conv_thin(const lt_conv_geom *g, const float *x, const float *w, const float *b,
                 int64_t OC, int relu, float *y) {
    (void)g; (void)x; (void)w; (void)b; (void)OC; (void)relu; (void)y;
    return 0;
}
#endif

/* conv_direct_impl.h: direct convolution without a cols matrix (lt_conv_direct, see
 * im2col.h): convolution forwards, and the input gradients of stride-1 convolutions. Q
 * output pixels at a time, J ≤ 4 vector accumulators of VF channels per pixel seeded with
 * the bias (OC in groups of VF·J columns): for each tap (kh, kw, c) the row w[k, group] is
 * loaded once and multiplied into the Q pixels' accumulators by broadcasting their input
 * values (the outer-product form of a GEMM micro-kernel, with the im2col gather folded
 * into the loads). Taps in the padding read a zero row.
 * Included by conv_direct_avx512.c and conv_direct_avx2.c after they define
 *   CONV_NAME                    the function's name,
 *   VF, V, VLOAD, VSTORE, VSET1, VZERO, VFMADD, VMAX
 *                                the vector: floats, type, and operations,
 *   JW, QW                       channel vectors and pixels of a block over the wide
 *                                groups (QW·JW accumulators + JW weights + 1 broadcast
 *                                fill the registers), QR1 and QR the pixels of the rest's
 *                                blocks of one vector and of two or three (at most 8).
 * Compiled for that instruction set (CMakeLists.txt): reached only through lt_conv_direct
 * (im2col.c), which checks lt_isa() first. */
#include "nn/im2col.h"

static const float zeros[LT_CONV_DIRECT_MAXC];   /* the row of a tap in the padding */

/* Pointer to the C input values of pixel m's tap (kh, kw), or to zeros in the padding. */
static inline const float *tap(const lt_conv_geom *g, const float *x, int64_t n, int64_t ih0,
                               int64_t iw0, int64_t kh, int64_t kw) {
    int64_t ih = ih0 + kh, iw = iw0 + kw;
    if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) return zeros;
    return x + ((n * g->H + ih) * g->W + iw) * g->C;
}

/* Output channels [o0, o0 + VF·J) of the `cnt` (≤ Q) pixels starting at m. */
static inline __attribute__((always_inline)) void block(const lt_conv_geom *g, const float *x,
                                                        const float *w, const float *b,
                                                        int64_t OC, int64_t o0, int64_t m,
                                                        int cnt, const int Q, const int J,
                                                        int relu, float *y) {
    const int64_t P = g->OH * g->OW;
    V acc[8][4];
    int64_t n[8], ih0[8], iw0[8];
    /* pixel m's place by division, then the next ones by steps (with a patch of 27 floats,
     * three divisions per pixel cost as much as its products); pixels past cnt repeat m */
    int64_t nn = m / P, oh = m % P / g->OW, ow = m % g->OW;
    const int64_t n_m = nn, ih_m = oh * g->SH - g->PT, iw_m = ow * g->SW - g->PL;
    for (int q = 0; q < Q; q++) {
        int past = q >= cnt;
        n[q] = past ? n_m : nn;
        ih0[q] = past ? ih_m : oh * g->SH - g->PT;
        iw0[q] = past ? iw_m : ow * g->SW - g->PL;
        if (++ow == g->OW) {
            ow = 0;
            if (++oh == g->OH) oh = 0, nn++;
        }
        for (int j = 0; j < J; j++)
            acc[q][j] = b ? VLOAD(b + o0 + VF * j) : VZERO();
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
                V wv[4];
                for (int j = 0; j < J; j++) wv[j] = VLOAD(wk + VF * j);
                for (int q = 0; q < Q; q++) {
                    V xv = VSET1(src[q][c]);
                    for (int j = 0; j < J; j++) acc[q][j] = VFMADD(xv, wv[j], acc[q][j]);
                }
            }
        }
    }
    const V zero = VZERO();
    for (int q = 0; q < Q; q++)
        for (int j = 0; j < J && q < cnt; j++)
            VSTORE(y + (m + q) * OC + o0 + VF * j, relu ? VMAX(acc[q][j], zero) : acc[q][j]);
}

/* All pixels, channel groups of VF·J from o0 up to o1, Q pixels per block. */
static inline __attribute__((always_inline)) void run(const lt_conv_geom *g, const float *x,
                                                      const float *w, const float *b,
                                                      int64_t OC, int64_t o0, int64_t o1,
                                                      const int Q, const int J, int relu,
                                                      float *y) {
    const int64_t M = g->N * g->OH * g->OW;
    int64_t m = 0;
    for (; m + Q <= M; m += Q)
        for (int64_t o = o0; o < o1; o += VF * J) block(g, x, w, b, OC, o, m, Q, Q, J, relu, y);
    if (m < M)
        for (int64_t o = o0; o < o1; o += VF * J)
            block(g, x, w, b, OC, o, m, (int)(M - m), Q, J, relu, y);
}

void CONV_NAME(const lt_conv_geom *g, const float *x, const float *w, const float *b,
               int64_t OC, int relu, float *y) {
    int64_t wide = OC / (VF * JW) * (VF * JW);   /* groups of VF·JW channels, then the rest */
    if (wide) run(g, x, w, b, OC, 0, wide, QW, JW, relu, y);
    switch ((OC - wide) / VF) {
    case 1: run(g, x, w, b, OC, wide, OC, QR1, 1, relu, y); break;
    case 2: run(g, x, w, b, OC, wide, OC, QR, 2, relu, y); break;
    case 3: run(g, x, w, b, OC, wide, OC, QR, 3, relu, y); break;
    default: break;
    }
}

/* im2col.h: unfolding of channels-last images into patch matrices, the shared kernel
 * that turns a convolution into one GEMM (Chellapilla et al. 2006; darknet im2col.c,
 * THNN unfold.c). Layout: x is N×H×W×C; cols is (N·OH·OW)×(KH·KW·C), one row per output
 * pixel, columns ordered (kh, kw, c) so that cols · W(KH·KW·C × OC) is the output
 * N×OH×OW×OC directly. Padded cells are zeros. 1-d convolutions use H = KH = 1. */
#ifndef LT_IM2COL_H
#define LT_IM2COL_H

#include <stdint.h>

typedef struct {
    int64_t N, H, W, C, KH, KW, SH, SW, PT, PL, OH, OW;
} lt_conv_geom;

/* Rows [r0, r0 + nrows) of the cols matrix (row (n·OH + oh)·OW + ow: one output pixel)
 * into cols, which holds only those rows: a convolution unfolds its input a block of rows
 * at a time, never the whole matrix. */
void lt_im2col(const lt_conv_geom *g, const float *x, int64_t r0, int64_t nrows, float *cols);
/* dx += fold(dcols), dcols holding rows [r0, r0 + nrows): the adjoint of lt_im2col, summing
 * overlapping windows. */
void lt_col2im(const lt_conv_geom *g, const float *dcols, int64_t r0, int64_t nrows, float *dx);

/* Direct convolution without the cols matrix, used by forwards where it applies:
 * y = x ⊛ w + b, then ReLU when relu is set; w: K×OC (kh, kw, c order), b: OC floats or
 * NULL, y: (N·OH·OW)×OC. Faster than a GEMM on a cols matrix while the K×OC weights stay
 * in L2. Returns 0 (nothing written) when the build or shape has no direct kernel (needs
 * AVX-512 or AVX2, C ≤ 1024, OC a multiple of 16, K·OC ≤ 160 Ki). */
int lt_conv_direct(const lt_conv_geom *g, const float *x, const float *w, const float *b,
                   int64_t OC, int relu, float *y);
/* Whether lt_conv_direct handles C channels, patches of K floats, OC output channels. */
int lt_conv_direct_ok(int64_t C, int64_t K, int64_t OC);

/* The kernels behind both (kernels/conv_direct_impl.h), for any shape the _ok functions
 * accept; call only when lt_isa() has the instruction set. */
enum { LT_CONV_DIRECT_MAXC = 1024 };   /* most channels per tap */
void lt_conv_direct_avx512(const lt_conv_geom *g, const float *x, const float *w,
                           const float *b, int64_t OC, int relu, float *y);
void lt_conv_direct_avx2(const lt_conv_geom *g, const float *x, const float *w,
                         const float *b, int64_t OC, int relu, float *y);

#endif

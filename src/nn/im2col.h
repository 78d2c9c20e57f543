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

/* cols ← unfold(x). cols: (N·OH·OW)×(KH·KW·C). */
void lt_im2col(const lt_conv_geom *g, const float *x, float *cols);
/* dx ← fold(dcols): the adjoint of im2col, summing overlapping windows (dx is overwritten). */
void lt_col2im(const lt_conv_geom *g, const float *dcols, float *dx);

#endif

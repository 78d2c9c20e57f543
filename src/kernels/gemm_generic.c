/* gemm_generic.c: the GEMM (gemm_impl.h) with a plain C micro-kernel of 4×8 (compiled for
 * the baseline instruction set, which the compiler vectorises with SSE2 on x86-64): the
 * path for processors without AVX2+FMA and for LUNETTE_ISA=generic. */
#include "kernels/gemm.h"

#define GEMM_NAME lt_sgemm_generic
#define GEMM_BUF lt_gemm_buf_generic
#define MR 4
#define NR 8
#define KC 256
#define MC 64
#define NC 512

static inline void micro(int kc, const float *a, const float *b, float *c, long ldc,
                         float alpha, int acc) {
    float t[MR][NR] = {{0}};
    for (int p = 0; p < kc; p++, a += MR, b += NR)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) t[r][j] += a[r] * b[j];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) {
            float x = alpha * t[r][j];
            c[r * ldc + j] = acc ? c[r * ldc + j] + x : x;
        }
}

#include "kernels/gemm_impl.h"

double lt_fma_loop_generic(long n) {
    enum { CH = 8 };
    float acc[CH];
    for (int i = 0; i < CH; i++) acc[i] = (float)i;
    volatile float xv = 0.999999f, yv = 1e-6f;   /* volatile: not folded at compile time */
    float x = xv, y = yv;
    for (long k = 0; k < n; k++)
        for (int i = 0; i < CH; i++) acc[i] = acc[i] * x + y;
    float s = 0;
    for (int i = 0; i < CH; i++) s += acc[i];
    volatile float sink = s;
    (void)sink;
    return (double)n * CH * 2;
}

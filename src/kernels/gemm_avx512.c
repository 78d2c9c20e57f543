/* gemm_avx512.c: the GEMM (gemm_impl.h) with an AVX-512 micro-kernel of 12×32: 24 zmm
 * accumulators, two vectors of B and one broadcast of A per row and k (the broadcast
 * folds into the FMA's memory operand). Compiled with -mavx512f (CMakeLists.txt); called
 * only when lt_isa() is LT_ISA_AVX512. */
#include <immintrin.h>

#include "kernels/gemm.h"

#define GEMM_NAME lt_sgemm_avx512
#define GEMM_BUF lt_gemm_buf_avx512
#define MR 12
#define NR 32
#define KC 256
#define MC 144
#define NC 1024

static inline __attribute__((always_inline)) void micro(int kc, const float *a, const float *b,
                                                        float *c, long ldc, float alpha, int acc) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++, a += MR, b += NR) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(a[r]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        float *cr = c + r * ldc;
        __m512 x0 = _mm512_mul_ps(va, c0[r]), x1 = _mm512_mul_ps(va, c1[r]);
        if (acc) {
            x0 = _mm512_add_ps(x0, _mm512_loadu_ps(cr));
            x1 = _mm512_add_ps(x1, _mm512_loadu_ps(cr + 16));
        }
        _mm512_storeu_ps(cr, x0);
        _mm512_storeu_ps(cr + 16, x1);
    }
}

#include "kernels/gemm_impl.h"

double lt_fma_loop_avx512(long n) {
    enum { CH = 16 };          /* independent chains: FMA latency 4 × 2 ports, and some */
    __m512 acc[CH], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-6f);
    for (int i = 0; i < CH; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < n; k++)
#pragma GCC unroll 16
        for (int i = 0; i < CH; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    __m512 s = acc[0];
    for (int i = 1; i < CH; i++) s = _mm512_add_ps(s, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)n * CH * 16 * 2;
}

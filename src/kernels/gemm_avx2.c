/* gemm_avx2.c: the GEMM (gemm_impl.h) with an AVX2+FMA micro-kernel of 6×16: 12 ymm
 * accumulators, two vectors of B and one broadcast of A per row and k (15 of the 16
 * registers). Compiled with -mavx2 -mfma (CMakeLists.txt); called only when lt_isa() is
 * LT_ISA_AVX2 or better. */
#include <immintrin.h>

#include "kernels/gemm.h"

#define GEMM_NAME lt_sgemm_avx2
#define GEMM_BUF lt_gemm_buf_avx2
#define MR 6
#define NR 16
#define KC 256
#define MC 120
#define NC 1024

static inline __attribute__((always_inline)) void micro(int kc, const float *a, const float *b,
                                                        float *c, long ldc, float alpha, int acc) {
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++, a += MR, b += NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            __m256 av = _mm256_broadcast_ss(a + r);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
    __m256 va = _mm256_set1_ps(alpha);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        float *cr = c + r * ldc;
        __m256 x0 = _mm256_mul_ps(va, c0[r]), x1 = _mm256_mul_ps(va, c1[r]);
        if (acc) {
            x0 = _mm256_add_ps(x0, _mm256_loadu_ps(cr));
            x1 = _mm256_add_ps(x1, _mm256_loadu_ps(cr + 8));
        }
        _mm256_storeu_ps(cr, x0);
        _mm256_storeu_ps(cr + 8, x1);
    }
}

#include "kernels/gemm_impl.h"

double lt_fma_loop_avx2(long n) {
    enum { CH = 12 };
    __m256 acc[CH], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-6f);
    for (int i = 0; i < CH; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < n; k++)
#pragma GCC unroll 12
        for (int i = 0; i < CH; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    __m256 s = acc[0];
    for (int i = 1; i < CH; i++) s = _mm256_add_ps(s, acc[i]);
    float v[8];
    _mm256_storeu_ps(v, s);
    volatile float sink = v[0] + v[7];
    (void)sink;
    return (double)n * CH * 8 * 2;
}

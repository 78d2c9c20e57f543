/* gemm_avx2.c: the GEMM (gemm_impl.h) with an AVX2+FMA micro-kernel of 6×16: 12 ymm
 * accumulators, two vectors of B and one broadcast of A per row and k (15 of the 16
 * registers). Compiled with -mavx2 -mfma (CMakeLists.txt); called only when lt_isa() is
 * LT_ISA_AVX2 or better. */
#include <immintrin.h>

#include "kernels/gemm.h"

#define GEMM_NAME lt_sgemm_avx2
#define GEMM_BUF lt_gemm_buf_avx2
#define GEMM_ADAM_NAME lt_sgemm_adam_avx2
#define GEMM_PATCHES_DX_NAME lt_sgemm_patches_dx_avx2
#define MR 6
#define NR 16
#define KC 256
#define MC 120
#define NC 1024

/* Rows [0, R) and the first 8·J columns of the tile (J = 1: panels of at most 8
 * columns); R = 6, 4 or 2 (the last rows of M). */
static inline __attribute__((always_inline)) void micro_jr(int kc, const float *a, long ak,
                                                           long ar, const float *b, float *c,
                                                           long ldc, float alpha, int acc,
                                                           const float *bias, int relu,
                                                           const int J, const int R) {
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++, a += ak, b += NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = J > 1 ? _mm256_load_ps(b + 8) : b0;
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * ar);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            if (J > 1) c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
    __m256 va = _mm256_set1_ps(alpha), zero = _mm256_setzero_ps();
    __m256 bias0 = bias ? _mm256_loadu_ps(bias) : zero;
    __m256 bias1 = bias && J > 1 ? _mm256_loadu_ps(bias + 8) : zero;
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {   /* alpha·ab (+ c), then the epilogue: + bias, ReLU */
        float *cr = c + r * ldc;
        __m256 x0 = _mm256_mul_ps(va, c0[r]);
        if (acc) x0 = _mm256_add_ps(x0, _mm256_loadu_ps(cr));
        if (bias) x0 = _mm256_add_ps(x0, bias0);
        if (relu) x0 = _mm256_max_ps(x0, zero);    /* a NaN becomes 0, as in lt_bias_act */
        _mm256_storeu_ps(cr, x0);
        if (J > 1) {
            __m256 x1 = _mm256_mul_ps(va, c1[r]);
            if (acc) x1 = _mm256_add_ps(x1, _mm256_loadu_ps(cr + 8));
            if (bias) x1 = _mm256_add_ps(x1, bias1);
            if (relu) x1 = _mm256_max_ps(x1, zero);
            _mm256_storeu_ps(cr + 8, x1);
        }
    }
}

/* out[j] = column j of the 8×8 block in[0..7] (rows). */
static inline __attribute__((always_inline)) void transpose8(const __m256 in[8], __m256 out[8]) {
    __m256 t[8], u[8];
    for (int g = 0; g < 8; g += 4) {
        t[g] = _mm256_unpacklo_ps(in[g], in[g + 1]);
        t[g + 1] = _mm256_unpackhi_ps(in[g], in[g + 1]);
        t[g + 2] = _mm256_unpacklo_ps(in[g + 2], in[g + 3]);
        t[g + 3] = _mm256_unpackhi_ps(in[g + 2], in[g + 3]);
        u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);       /* lane L: column 4L of rows g..g+3 */
        u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
        u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        out[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        out[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

/* n (6 or 16) rows of kc floats, ld apart → kc groups of n floats: blocks of 8 rows × 8 k
 * through transpose8 (6 rows: 2 zero rows, 6 lanes stored), the k tail scalar. */
static void pack_rows(const float *src, int ld, int kc, int n, float *dst) {
    int k = 0;
    for (; k + 8 <= kc; k += 8)
        for (int r0 = 0; r0 < n; r0 += 8) {
            int rows = n - r0 < 8 ? n - r0 : 8;
            __m256 in[8], out[8];
            for (int r = 0; r < 8; r++)
                in[r] = r < rows ? _mm256_loadu_ps(src + (size_t)(r0 + r) * ld + k)
                                 : _mm256_setzero_ps();
            transpose8(in, out);
            __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(rows),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (int t = 0; t < 8; t++) _mm256_maskstore_ps(dst + (k + t) * n + r0, m, out[t]);
        }
    for (; k < kc; k++)
        for (int r = 0; r < n; r++) dst[k * n + r] = src[(size_t)r * ld + k];
}

/* Adam's step on 8 floats g at w, m, v under the mask k (all ones: plain loads and stores),
 * as in gemm_avx512.c. */
static inline __attribute__((always_inline)) void adam8(const lt_adam_step *s, __m256 g,
                                                        float *w, float *m, float *v,
                                                        __m256i k, int all) {
    g = _mm256_mul_ps(g, _mm256_set1_ps(s->scale));
    if (s->clip > 0) {
        g = _mm256_min_ps(_mm256_set1_ps(s->clip), g);
        g = _mm256_max_ps(_mm256_set1_ps(-s->clip), g);
    }
    __m256 mi = all ? _mm256_loadu_ps(m) : _mm256_maskload_ps(m, k);
    __m256 vi = all ? _mm256_loadu_ps(v) : _mm256_maskload_ps(v, k);
    __m256 wi = all ? _mm256_loadu_ps(w) : _mm256_maskload_ps(w, k);
    mi = _mm256_add_ps(mi, _mm256_mul_ps(_mm256_set1_ps(s->c1), _mm256_sub_ps(g, mi)));
    vi = _mm256_add_ps(vi, _mm256_mul_ps(_mm256_set1_ps(s->c2),
                                         _mm256_sub_ps(_mm256_mul_ps(g, g), vi)));
    wi = _mm256_sub_ps(wi, _mm256_mul_ps(wi, _mm256_set1_ps(s->wdl)));
    __m256 upd = _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(s->alpha), mi),
                               _mm256_add_ps(_mm256_sqrt_ps(vi), _mm256_set1_ps(s->eps)));
    wi = _mm256_sub_ps(wi, upd);
    if (all) {
        _mm256_storeu_ps(m, mi);
        _mm256_storeu_ps(v, vi);
        _mm256_storeu_ps(w, wi);
    } else {
        _mm256_maskstore_ps(m, k, mi);
        _mm256_maskstore_ps(v, k, vi);
        _mm256_maskstore_ps(w, k, wi);
    }
}

/* Adam's step on the tile t, as in gemm_avx512.c. */
static inline __attribute__((always_inline)) void adam_tile(const lt_adam_step *s,
                                                            const float *t, int i, int j,
                                                            int mr, int nr, long ldw) {
    size_t o = (size_t)i * ldw + j;
    const __m256i ones = _mm256_set1_epi32(-1);
    if (mr == MR && nr == NR) {
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++, o += ldw) {
            adam8(s, _mm256_load_ps(t + r * NR), s->w + o, s->m + o, s->v + o, ones, 1);
            adam8(s, _mm256_load_ps(t + r * NR + 8), s->w + o + 8, s->m + o + 8, s->v + o + 8,
                  ones, 1);
        }
        return;
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int r = 0; r < mr; r++, o += ldw)
        for (int c = 0; c < nr; c += 8) {
            __m256i k = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - c), lane);
            adam8(s, _mm256_load_ps(t + r * NR + c), s->w + o + c, s->m + o + c, s->v + o + c,
                  k, 0);
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

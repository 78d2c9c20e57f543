/* gemm_avx512.c: the GEMM (gemm_impl.h) with an AVX-512 micro-kernel of 12×32: 24 zmm
 * accumulators, two vectors of B and one broadcast of A per row and k (the broadcast
 * folds into the FMA's memory operand); Adam's step on a tile (lt_sgemm_adam), and the
 * weight gradient of patches read where they lie (lt_sgemm_patches, AVX-512 only).
 * Compiled with -mavx512f (CMakeLists.txt); called only when lt_isa() is LT_ISA_AVX512. */
#include <immintrin.h>

#include "kernels/gemm.h"

#define GEMM_NAME lt_sgemm_avx512
#define GEMM_BUF lt_gemm_buf_avx512
#define GEMM_ADAM_NAME lt_sgemm_adam_avx512
#define GEMM_PATCHES_DX_NAME lt_sgemm_patches_dx_avx512
#define MR 12
#define NR 32
#define KC 256
#define MC 144
#define NC 1024

/* Rows [0, R) and the first 16·J columns of the tile: J = 2 is all 32 columns, J = 1 the
 * left half (panels of at most 16 columns: 16-channel convolutions); R = 12, 8 or 4 (the
 * last rows of M: a batch of 16 or 32 rows is 12 + 4 or 12 + 12 + 8, not 24 or 36). */
static inline __attribute__((always_inline)) void micro_jr(int kc, const float *a, long ak,
                                                           long ar, const float *b, float *c,
                                                           long ldc, float alpha, int acc,
                                                           const float *bias, int relu,
                                                           const int J, const int R) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++, a += ak, b += NR) {
        __m512 b0 = _mm512_load_ps(b), b1 = J > 1 ? _mm512_load_ps(b + 16) : b0;
#pragma GCC unroll 12
        for (int r = 0; r < R; r++) {
            __m512 av = _mm512_set1_ps(a[r * ar]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            if (J > 1) c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), zero = _mm512_setzero_ps();
    __m512 bias0 = bias ? _mm512_loadu_ps(bias) : zero;
    __m512 bias1 = bias && J > 1 ? _mm512_loadu_ps(bias + 16) : zero;
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {   /* alpha·ab (+ c), then the epilogue: + bias, ReLU */
        float *cr = c + r * ldc;
        __m512 x0 = _mm512_mul_ps(va, c0[r]);
        if (acc) x0 = _mm512_add_ps(x0, _mm512_loadu_ps(cr));
        if (bias) x0 = _mm512_add_ps(x0, bias0);
        if (relu) x0 = _mm512_max_ps(x0, zero);    /* a NaN becomes 0, as in lt_bias_act */
        _mm512_storeu_ps(cr, x0);
        if (J > 1) {
            __m512 x1 = _mm512_mul_ps(va, c1[r]);
            if (acc) x1 = _mm512_add_ps(x1, _mm512_loadu_ps(cr + 16));
            if (bias) x1 = _mm512_add_ps(x1, bias1);
            if (relu) x1 = _mm512_max_ps(x1, zero);
            _mm512_storeu_ps(cr + 16, x1);
        }
    }
}

/* out[j] = column j of the 16×16 block in[0..15] (rows): unpack pairs of floats, then
 * pairs of doubles, then 128-bit lanes twice. */
static inline __attribute__((always_inline)) void transpose16(const __m512 in[16], __m512 out[16]) {
    __m512 t[16], u[16];
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) {
        t[g] = _mm512_unpacklo_ps(in[g], in[g + 1]);
        t[g + 1] = _mm512_unpackhi_ps(in[g], in[g + 1]);
        t[g + 2] = _mm512_unpacklo_ps(in[g + 2], in[g + 3]);
        t[g + 3] = _mm512_unpackhi_ps(in[g + 2], in[g + 3]);
    }
#define PD(x) _mm512_castps_pd(x)
#define PS(x) _mm512_castpd_ps(x)
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) {   /* u[g + c], lane L: column 4L + c of rows g..g+3 */
        u[g] = PS(_mm512_unpacklo_pd(PD(t[g]), PD(t[g + 2])));
        u[g + 1] = PS(_mm512_unpackhi_pd(PD(t[g]), PD(t[g + 2])));
        u[g + 2] = PS(_mm512_unpacklo_pd(PD(t[g + 1]), PD(t[g + 3])));
        u[g + 3] = PS(_mm512_unpackhi_pd(PD(t[g + 1]), PD(t[g + 3])));
    }
#undef PD
#undef PS
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);
        __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        out[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        out[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        out[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        out[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}

/* n (12 or 32) rows of kc floats, ld apart → kc groups of n floats: blocks of 16 rows ×
 * 16 k through transpose16 (12 rows: 4 zero rows, 12 lanes stored), the k tail scalar. */
static void pack_rows(const float *src, int ld, int kc, int n, float *dst) {
    int k = 0;
    for (; k + 16 <= kc; k += 16)
        for (int r0 = 0; r0 < n; r0 += 16) {
            int rows = n - r0 < 16 ? n - r0 : 16;
            __m512 in[16], out[16];
            for (int r = 0; r < 16; r++)
                in[r] = r < rows ? _mm512_loadu_ps(src + (size_t)(r0 + r) * ld + k)
                                 : _mm512_setzero_ps();
            transpose16(in, out);
            __mmask16 m = (__mmask16)((1u << rows) - 1);
            for (int t = 0; t < 16; t++) _mm512_mask_storeu_ps(dst + (k + t) * n + r0, m, out[t]);
        }
    for (; k < kc; k++)
        for (int r = 0; r < n; r++) dst[k * n + r] = src[(size_t)r * ld + k];
}

/* Adam's step (gemm.h, lt_adam_step) on 16 floats g at w, m, v under the mask k, in the
 * operations and order of the optimizer's kernels (nn/optim_update_impl.h, adam), so the
 * results are theirs, bit for bit. */
static inline __attribute__((always_inline)) void adam16(const lt_adam_step *s, __m512 g,
                                                         float *w, float *m, float *v,
                                                         __mmask16 k) {
    g = _mm512_mul_ps(g, _mm512_set1_ps(s->scale));
    if (s->clip > 0) {
        g = _mm512_min_ps(_mm512_set1_ps(s->clip), g);
        g = _mm512_max_ps(_mm512_set1_ps(-s->clip), g);
    }
    int all = k == (__mmask16)0xFFFF;      /* plain loads and stores: faster than masked */
    __m512 mi = all ? _mm512_loadu_ps(m) : _mm512_maskz_loadu_ps(k, m);
    __m512 vi = all ? _mm512_loadu_ps(v) : _mm512_maskz_loadu_ps(k, v);
    __m512 wi = all ? _mm512_loadu_ps(w) : _mm512_maskz_loadu_ps(k, w);
    mi = _mm512_add_ps(mi, _mm512_mul_ps(_mm512_set1_ps(s->c1), _mm512_sub_ps(g, mi)));
    vi = _mm512_add_ps(vi, _mm512_mul_ps(_mm512_set1_ps(s->c2),
                                         _mm512_sub_ps(_mm512_mul_ps(g, g), vi)));
    wi = _mm512_sub_ps(wi, _mm512_mul_ps(wi, _mm512_set1_ps(s->wdl)));
    __m512 upd = _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(s->alpha), mi),
                               _mm512_add_ps(_mm512_sqrt_ps(vi), _mm512_set1_ps(s->eps)));
    wi = _mm512_sub_ps(wi, upd);
    if (all) {
        _mm512_storeu_ps(m, mi);
        _mm512_storeu_ps(v, vi);
        _mm512_storeu_ps(w, wi);
    } else {
        _mm512_mask_storeu_ps(m, k, mi);
        _mm512_mask_storeu_ps(v, k, vi);
        _mm512_mask_storeu_ps(w, k, wi);
    }
}

/* Adam's step on the tile t: the first nr floats of its first mr rows, at row i, column j
 * of w, m, v (rows ldw apart). A whole tile is unrolled, so that its loads of w, m and v
 * are all in flight at once. */
static inline __attribute__((always_inline)) void adam_tile(const lt_adam_step *s,
                                                            const float *t, int i, int j,
                                                            int mr, int nr, long ldw) {
    size_t o = (size_t)i * ldw + j;
    if (mr == MR && nr == NR) {
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++, o += ldw) {
            adam16(s, _mm512_load_ps(t + r * NR), s->w + o, s->m + o, s->v + o, 0xFFFF);
            adam16(s, _mm512_load_ps(t + r * NR + 16), s->w + o + 16, s->m + o + 16,
                   s->v + o + 16, 0xFFFF);
        }
        return;
    }
    for (int r = 0; r < mr; r++, o += ldw)
        for (int c = 0; c < nr; c += 16) {
            __mmask16 k = nr - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nr - c)) - 1);
            adam16(s, _mm512_load_ps(t + r * NR + c), s->w + o + c, s->m + o + c,
                   s->v + o + c, k);
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

/* dW's tile of 12 rows × 32 columns at c (rows ldc apart) += Σ_p a_pᵀ·b_p over kc pixels:
 * pixel p's 12 floats at rows[p] + off, b packed kc×32. As micro_jr with acc, alpha 1. */
static void micro_rows(int kc, const float *const *rows, long off, const float *b, float *c,
                       long ldc) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++, b += NR) {
        const float *a = rows[p] + off;
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(a[r]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        float *cr = c + r * ldc;
        _mm512_storeu_ps(cr, _mm512_add_ps(c0[r], _mm512_loadu_ps(cr)));
        _mm512_storeu_ps(cr + 16, _mm512_add_ps(c1[r], _mm512_loadu_ps(cr + 16)));
    }
}

/* gemm.h, lt_sgemm_patches: the pixels in k blocks (dz's rows packed, as lt_sgemm packs
 * B), then each tile of 12 rows of dW (one run's floats: seg is a multiple of 12) over each
 * panel of 32 columns, its pixels' 12 floats read from x where they lie. */
void lt_sgemm_patches_avx512(int i0, int i1, int N, int M, const float *const *rows, int seg,
                             long jump, const float *dz, float *dw, float *buf) {
    float *pb = buf + (size_t)MC * KC;
    int kblocks = (M + KC - 1) / KC, kstep = (M + kblocks - 1) / kblocks;
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        for (int pc = 0; pc < M; pc += kstep) {
            int kc = M - pc < kstep ? M - pc : kstep;
            pack_b(0, dz, N, pc, jc, kc, nc, pb);
            for (int ir = i0; ir < i1; ir += MR)
                for (int jr = 0; jr < nc; jr += NR)
                    micro_rows(kc, rows + pc, (long)(ir / seg) * jump + ir % seg,
                               pb + (size_t)jr * kc, dw + (size_t)ir * N + jc + jr, N);
        }
    }
}

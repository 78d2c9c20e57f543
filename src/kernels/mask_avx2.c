/* mask_avx2.c: dropout's mask (mask.h) on AVX2: generators 0-3 and 4-7 in two sets of
 * registers (four 64-bit lanes each), giving elements 0-7 and 8-15 of each step. AVX2 has
 * neither 64-bit rotates nor multiplies: shifts and adds (x·5 = (x << 2) + x). Compiled
 * with -mavx2 (CMakeLists.txt). */
#include <immintrin.h>

#include "kernels/mask.h"

#define ROL(x, k) _mm256_or_si256(_mm256_slli_epi64(x, k), _mm256_srli_epi64(x, 64 - (k)))

/* One step of four generators; returns their outputs. */
static inline __m256i step4(__m256i *s0, __m256i *s1, __m256i *s2, __m256i *s3) {
    __m256i x = _mm256_add_epi64(_mm256_slli_epi64(*s1, 2), *s1);
    x = ROL(x, 7);
    __m256i u = _mm256_add_epi64(_mm256_slli_epi64(x, 3), x);
    __m256i t = _mm256_slli_epi64(*s1, 17);
    *s2 = _mm256_xor_si256(*s2, *s0);
    *s3 = _mm256_xor_si256(*s3, *s1);
    *s1 = _mm256_xor_si256(*s1, *s2);
    *s0 = _mm256_xor_si256(*s0, *s3);
    *s2 = _mm256_xor_si256(*s2, t);
    *s3 = ROL(*s3, 45);
    return u;
}

/* in · (u ≥ thr ? scale : 0), u unsigned: compared signed with both sign bits flipped. */
static inline __m256 keep8(__m256i u, __m256i thr_flipped, __m256 vs, __m256 x) {
    __m256i u_flipped = _mm256_xor_si256(u, _mm256_set1_epi32(INT32_MIN));
    __m256i below = _mm256_cmpgt_epi32(thr_flipped, u_flipped);
    return _mm256_mul_ps(x, _mm256_andnot_ps(_mm256_castsi256_ps(below), vs));
}

int64_t lt_mask_avx2(lt_rng8 *r, uint32_t thr, float scale, const float *in, float *out,
                     int64_t n) {
    __m256i a0 = _mm256_loadu_si256((const __m256i *)r->s[0]);
    __m256i a1 = _mm256_loadu_si256((const __m256i *)r->s[1]);
    __m256i a2 = _mm256_loadu_si256((const __m256i *)r->s[2]);
    __m256i a3 = _mm256_loadu_si256((const __m256i *)r->s[3]);
    __m256i b0 = _mm256_loadu_si256((const __m256i *)(r->s[0] + 4));
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(r->s[1] + 4));
    __m256i b2 = _mm256_loadu_si256((const __m256i *)(r->s[2] + 4));
    __m256i b3 = _mm256_loadu_si256((const __m256i *)(r->s[3] + 4));
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i vt = _mm256_set1_epi32((int)(thr ^ 0x80000000u));
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i ua = step4(&a0, &a1, &a2, &a3), ub = step4(&b0, &b1, &b2, &b3);
        _mm256_storeu_ps(out + i, keep8(ua, vt, vs, _mm256_loadu_ps(in + i)));
        _mm256_storeu_ps(out + i + 8, keep8(ub, vt, vs, _mm256_loadu_ps(in + i + 8)));
    }
    _mm256_storeu_si256((__m256i *)r->s[0], a0);
    _mm256_storeu_si256((__m256i *)r->s[1], a1);
    _mm256_storeu_si256((__m256i *)r->s[2], a2);
    _mm256_storeu_si256((__m256i *)r->s[3], a3);
    _mm256_storeu_si256((__m256i *)(r->s[0] + 4), b0);
    _mm256_storeu_si256((__m256i *)(r->s[1] + 4), b1);
    _mm256_storeu_si256((__m256i *)(r->s[2] + 4), b2);
    _mm256_storeu_si256((__m256i *)(r->s[3] + 4), b3);
    return i;
}

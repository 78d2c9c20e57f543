/* mask_avx512.c: dropout's mask (mask.h) on AVX-512: the eight generators are the 64-bit
 * lanes of four registers (one per state word), and their outputs, read as sixteen 32-bit
 * lanes, are the sixteen elements' uniforms in order. Compiled with -mavx512f
 * (CMakeLists.txt). */
#include <immintrin.h>

#include "kernels/mask.h"

int64_t lt_mask_avx512(lt_rng8 *r, uint32_t thr, float scale, const float *in, float *out,
                       int64_t n) {
    __m512i s0 = _mm512_loadu_si512(r->s[0]), s1 = _mm512_loadu_si512(r->s[1]);
    __m512i s2 = _mm512_loadu_si512(r->s[2]), s3 = _mm512_loadu_si512(r->s[3]);
    const __m512 vs = _mm512_set1_ps(scale);
    const __m512i vt = _mm512_set1_epi32((int)thr);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i x = _mm512_add_epi64(_mm512_slli_epi64(s1, 2), s1);      /* s1·5 */
        x = _mm512_rol_epi64(x, 7);
        __m512i u = _mm512_add_epi64(_mm512_slli_epi64(x, 3), x);        /* ·9 */
        __m512i t = _mm512_slli_epi64(s1, 17);
        s2 = _mm512_xor_si512(s2, s0);
        s3 = _mm512_xor_si512(s3, s1);
        s1 = _mm512_xor_si512(s1, s2);
        s0 = _mm512_xor_si512(s0, s3);
        s2 = _mm512_xor_si512(s2, t);
        s3 = _mm512_rol_epi64(s3, 45);
        /* in · (0 or scale): a NaN or infinite input stays NaN where it is dropped */
        __m512 m = _mm512_maskz_mov_ps(_mm512_cmpge_epu32_mask(u, vt), vs);
        _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_loadu_ps(in + i), m));
    }
    _mm512_storeu_si512(r->s[0], s0);
    _mm512_storeu_si512(r->s[1], s1);
    _mm512_storeu_si512(r->s[2], s2);
    _mm512_storeu_si512(r->s[3], s3);
    return i;
}

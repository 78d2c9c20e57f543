/* mask.c: dropout's mask (mask.h): the seeding, the dispatch and the portable path. */
#include "kernels/mask.h"

#include <string.h>

#include "core/rng.h"
#include "kernels/isa.h"

void lt_rng8_seed(lt_rng8 *r, uint64_t seed) {
    for (int l = 0; l < 8; l++) {
        lt_rng g;
        lt_rng_seed(&g, seed + (uint64_t)l);
        for (int k = 0; k < 4; k++) r->s[k][l] = g.s[k];
    }
}

/* One step of the eight generators (xoshiro256**, as lt_rng_next): u[l] is l's output. */
static void rng8_next(lt_rng8 *r, uint64_t u[8]) {
    for (int l = 0; l < 8; l++) {
        lt_rng g = {{r->s[0][l], r->s[1][l], r->s[2][l], r->s[3][l]}};
        u[l] = lt_rng_next(&g);
        for (int k = 0; k < 4; k++) r->s[k][l] = g.s[k];
    }
}

/* 0 or scale by masking scale's bits: no branch to mispredict on a random mask. */
static inline float keep_value(uint32_t u, uint32_t thr, float scale) {
    uint32_t bits;
    memcpy(&bits, &scale, sizeof bits);
    bits &= -(uint32_t)(u >= thr);
    float m;
    memcpy(&m, &bits, sizeof m);
    return m;
}

void lt_mask_apply(lt_rng8 *r, uint32_t thr, float scale, const float *in, float *out,
                   int64_t n) {
    int64_t i = 0;
    if (lt_isa() == LT_ISA_AVX512) i = lt_mask_avx512(r, thr, scale, in, out, n);
    else if (lt_isa() == LT_ISA_AVX2) i = lt_mask_avx2(r, thr, scale, in, out, n);
    for (; i < n; i += 16) {
        uint64_t u[8];
        rng8_next(r, u);
        for (int e = 0; e < 16 && i + e < n; e++) {
            uint32_t h = (uint32_t)(u[e / 2] >> (e % 2 ? 32 : 0));
            out[i + e] = in[i + e] * keep_value(h, thr, scale);
        }
    }
}

/* mask.h: dropout's mask (nn/dropout.c), drawn and applied in one pass:
 *   out[i] = in[i] · (u_i ≥ thr ? scale : 0)
 * where u_i are the 32-bit uniforms of eight xoshiro256** generators in step: each step of
 * all eight gives sixteen elements, generator l the pair 2l (the low half of its output)
 * and 2l + 1 (the high half). A scalar generator's chain of dependent operations per two
 * elements took 2-3 % of the lesson model's training step; eight in step are eight 64-bit
 * lanes of one AVX-512 register (two of AVX2), about 9× faster. Every path draws the same
 * stream (tests/c/test_kernels.c checks each against a scalar version of its own). */
#ifndef LT_MASK_H
#define LT_MASK_H

#include <stdint.h>

typedef struct {
    uint64_t s[4][8];   /* s[k][l]: word k of generator l's state */
} lt_rng8;

/* The eight generators' states from one 64-bit seed (generator l: lt_rng_seed(seed + l)). */
void lt_rng8_seed(lt_rng8 *r, uint64_t seed);

/* The pass above over n elements (in and out may be the same array); r is left after the
 * draws, rounded up to whole steps of sixteen. */
void lt_mask_apply(lt_rng8 *r, uint32_t thr, float scale, const float *in, float *out,
                   int64_t n);

/* The per-instruction-set loops (mask_avx512.c, mask_avx2.c) over the whole steps of
 * sixteen in n; they return how many elements they did. */
int64_t lt_mask_avx512(lt_rng8 *r, uint32_t thr, float scale, const float *in, float *out,
                       int64_t n);
int64_t lt_mask_avx2(lt_rng8 *r, uint32_t thr, float scale, const float *in, float *out,
                     int64_t n);

#endif

/* rng.h: a seedable random generator with identical streams on every machine.
 * xoshiro256** (Blackman & Vigna 2018) seeded through splitmix64; floats use the top
 * 24 bits, normals use Box-Muller in double precision. No libc rand(), no time seeds. */
#ifndef LT_RNG_H
#define LT_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } lt_rng;

void     lt_rng_seed(lt_rng *r, uint64_t seed);

/* The next 64 bits. Inline: dropout draws one per two elements of every training batch. */
static inline uint64_t lt_rng_next(lt_rng *r) {
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

float    lt_rng_uniform(lt_rng *r);                 /* [0, 1) */
double   lt_rng_normal(lt_rng *r);                  /* N(0, 1) */
uint64_t lt_rng_below(lt_rng *r, uint64_t n);       /* uniform in [0, n), unbiased; n > 0 */
void     lt_rng_shuffle(lt_rng *r, int64_t *a, int64_t n); /* Fisher-Yates */

/* The process-wide generator behind lunette.seed(n): initialisers, dropout, shuffling. */
extern lt_rng lt_global_rng;
void lt_rng_seed_global(uint64_t seed);

#endif

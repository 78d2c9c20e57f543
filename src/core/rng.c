/* rng.c: xoshiro256** + splitmix64 seeding (https://prng.di.unimi.it/). */
#include "core/rng.h"

#include <math.h>

lt_rng lt_global_rng = {{0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL,
                         0x94d049bb133111ebULL, 0x2545f4914f6cdd1dULL}};

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void lt_rng_seed(lt_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}


float lt_rng_uniform(lt_rng *r) { return (float)(lt_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

double lt_rng_normal(lt_rng *r) {
    /* Box-Muller; u1 in (0, 1] so the log is finite. */
    double u1 = ((double)(lt_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(lt_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t lt_rng_below(lt_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;   /* reject the biased tail */
    do x = lt_rng_next(r); while (x >= limit);
    return x % n;
}

void lt_rng_shuffle(lt_rng *r, int64_t *a, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)lt_rng_below(r, (uint64_t)i + 1);
        int64_t t = a[i]; a[i] = a[j]; a[j] = t;
    }
}

void lt_rng_seed_global(uint64_t seed) { lt_rng_seed(&lt_global_rng, seed); }

/* isa.c: run-time choice of the kernels' instruction set (see isa.h). GCC's
 * __builtin_cpu_supports reads cpuid and checks with xgetbv that the OS saves the
 * AVX / AVX-512 registers. */
#include "kernels/isa.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"

static lt_isa_level chosen;
static pthread_once_t once = PTHREAD_ONCE_INIT;

lt_isa_level lt_isa_supported(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma"))
        return LT_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return LT_ISA_AVX2;
#endif
    return LT_ISA_GENERIC;
}

int lt_isa_parse(const char *s) {
    if (!strcmp(s, "avx512")) return LT_ISA_AVX512;
    if (!strcmp(s, "avx2")) return LT_ISA_AVX2;
    if (!strcmp(s, "generic")) return LT_ISA_GENERIC;
    return -1;
}

static void choose(void) {
    lt_isa_level best = lt_isa_supported();
    chosen = best;
    const char *env = getenv("LUNETTE_ISA");
    if (!env || !*env) return;
    int want = lt_isa_parse(env);
    /* Not an error a user can catch (it is read before any script runs): say it on stderr
     * and carry on with the best path; lunette.machine().isa shows the path in use. */
    if (want < 0)
        fprintf(stderr, "lunette: LUNETTE_ISA=%s is not one of avx512, avx2, generic; using %s\n",
                env, lt_isa_name(best));
    else if (want > (int)best)
        fprintf(stderr, "lunette: LUNETTE_ISA=%s: this processor lacks %s; using %s\n", env,
                lt_isa_name((lt_isa_level)want), lt_isa_name(best));
    else
        chosen = (lt_isa_level)want;
}

lt_isa_level lt_isa(void) {
    pthread_once(&once, choose);
    return chosen;
}

const char *lt_isa_name(lt_isa_level isa) {
    switch (isa) {
    case LT_ISA_AVX512: return "AVX-512";
    case LT_ISA_AVX2: return "AVX2+FMA";
    default: return "generic";
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

double lt_fma_peak(lt_isa_level isa, double seconds) {
    if (isa > lt_isa_supported()) return 0;
    double (*loop)(long) = isa == LT_ISA_AVX512 ? lt_fma_loop_avx512
                         : isa == LT_ISA_AVX2 ? lt_fma_loop_avx2 : lt_fma_loop_generic;
    long n = 1 << 16;
    double flops = loop(n), t0 = now(), t;
    for (;;) {               /* grow the loop until one run takes a tenth of the time */
        t0 = now();
        flops = loop(n);
        t = now() - t0;
        if (t > seconds / 10 || n > (1L << 40)) break;
        n *= 2;
    }
    double best = flops / t;   /* the best of ten runs: the least disturbed by other load */
    for (int i = 0; i < 9; i++) {
        t0 = now();
        flops = loop(n);
        t = now() - t0;
        if (flops / t > best) best = flops / t;
    }
    return best / 1e9;
}

/* isa.c: run-time choice of the kernels' instruction set (see isa.h). GCC's
 * __builtin_cpu_supports reads cpuid and checks with xgetbv that the OS saves the
 * AVX / AVX-512 registers. */
#include "kernels/isa.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

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

void lt_cpu_name(char *buf, size_t n) {
    char line[512];
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(buf, n, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = 0;
            break;
        }
    }
    if (f) fclose(f);
}

const char *lt_isa_name(lt_isa_level isa) {
    switch (isa) {
    case LT_ISA_AVX512: return "AVX-512";
    case LT_ISA_AVX2: return "AVX2+FMA";
    default: return "generic";
    }
}

/* The generic path's peak: SSE2 (every x86-64 has it) multiply and add, 4 floats wide. */
static double fma_loop_generic(long n) {
    enum { CH = 12 };
#ifdef __SSE2__
    __m128 acc[CH], x = _mm_set1_ps(0.999999f), y = _mm_set1_ps(1e-6f);
    for (int i = 0; i < CH; i++) acc[i] = _mm_set1_ps((float)i);
    for (long k = 0; k < n; k++)
        for (int i = 0; i < CH; i++) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], x), y);
    __m128 s = acc[0];
    for (int i = 1; i < CH; i++) s = _mm_add_ps(s, acc[i]);
    float v[4];
    _mm_storeu_ps(v, s);
    volatile float sink = v[0];
    (void)sink;
    return (double)n * CH * 4 * 2;
#else
    float acc[CH];
    volatile float xv = 0.999999f, yv = 1e-6f;   /* not folded at compile time */
    float x = xv, y = yv;
    for (int i = 0; i < CH; i++) acc[i] = (float)i;
    for (long k = 0; k < n; k++)
        for (int i = 0; i < CH; i++) acc[i] = acc[i] * x + y;
    volatile float sink = acc[0] + acc[CH - 1];
    (void)sink;
    return (double)n * CH * 2;
#endif
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

double lt_fma_peak(lt_isa_level isa, double seconds) {
    if (isa > lt_isa_supported()) return 0;
    double (*loop)(long) = isa == LT_ISA_AVX512 ? lt_fma_loop_avx512
                         : isa == LT_ISA_AVX2 ? lt_fma_loop_avx2 : fma_loop_generic;
    long n = 1024;
    double t0 = now(), t = 0, flops;
    for (;;) {               /* grow one run to about 2 ms */
        t0 = now();
        flops = loop(n);
        t = now() - t0;
        if (t > 2e-3 || n > (1L << 40)) break;
        n *= 2;
    }
    /* The fastest of many short runs: on a machine shared with other work (or a virtual
     * one), the runs that were not interrupted show what the core can do. */
    double best = flops / t, end = now() + seconds;
    while (now() < end) {
        t0 = now();
        flops = loop(n);
        t = now() - t0;
        if (flops / t > best) best = flops / t;
    }
    return best / 1e9;
}

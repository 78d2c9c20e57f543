/* bench.h: what the C benchmarks share: the machine line train_step.lua prints (the
 * processor, the instruction set Lunette's kernels use and the best one here, OpenBLAS's
 * core), a clock, and the comparison that sorts times for their median. */
#ifndef LT_BENCH_H
#define LT_BENCH_H

#include <cblas.h>
#include <stdio.h>
#include <time.h>

#include "kernels/isa.h"

static void print_machine(void) {
    char cpu[256];
    lt_cpu_name(cpu, sizeof cpu);
    printf("machine: %s; kernels %s (best here %s); OpenBLAS core %s\n", cpu,
           lt_isa_name(lt_isa()), lt_isa_name(lt_isa_supported()), openblas_get_corename());
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif

/* machine.h: the first line of the C benchmarks, as train_step.lua prints it: the processor
 * (/proc/cpuinfo's model name), the instruction set Lunette's kernels use and the best one
 * here, and OpenBLAS's core. */
#ifndef LT_BENCH_MACHINE_H
#define LT_BENCH_MACHINE_H

#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "kernels/isa.h"

static void print_machine(void) {
    char cpu[256] = "unknown processor", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(cpu, sizeof cpu, "%s", colon + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    }
    if (f) fclose(f);
    printf("machine: %s; kernels %s (best here %s); OpenBLAS core %s\n", cpu,
           lt_isa_name(lt_isa()), lt_isa_name(lt_isa_supported()), openblas_get_corename());
}

#endif

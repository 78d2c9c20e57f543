/* isa.h: the vector instruction set Lunette's own kernels use, chosen once at run time
 * (one binary for any x86-64): the best the processor and the OS support, or a lower one
 * forced by LUNETTE_ISA=avx512|avx2|generic (so every path can be tested on one machine).
 * Each kernel file is compiled for its own instruction set (CMakeLists.txt) and only ever
 * called after lt_isa() said the processor has it. */
#ifndef LT_ISA_H
#define LT_ISA_H

#include <stddef.h>

typedef enum { LT_ISA_GENERIC = 0, LT_ISA_AVX2 = 1, LT_ISA_AVX512 = 2 } lt_isa_level;

/* The path in use: detected on first call (thread-safe), then constant. */
lt_isa_level lt_isa(void);
/* The best path this processor supports, whatever LUNETTE_ISA says. */
lt_isa_level lt_isa_supported(void);
/* The processor's name (/proc/cpuinfo's "model name"), or "unknown", into buf: what a
 * benchmark's figures are printed next to. */
void lt_cpu_name(char *buf, size_t n);
/* "AVX-512", "AVX2+FMA" or "generic". */
const char *lt_isa_name(lt_isa_level isa);
/* Parses "avx512", "avx2", "generic" (as LUNETTE_ISA does); -1 when unknown. */
int lt_isa_parse(const char *s);

/* GFLOP/s of a register-only FMA loop on this core for the given path (its peak, for
 * benchmarks; about `seconds` long), or 0 when the processor lacks that path. The
 * generic path measures SSE2 multiplies and adds (no FMA). */
double lt_fma_peak(lt_isa_level isa, double seconds);

#endif

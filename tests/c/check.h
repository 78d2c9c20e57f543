/* check.h: the tiny C test harness (as redis's test_cond): CHECK counts failures,
 * check_close reports the worst difference and the first mismatches (llm.c
 * check_tensor), CHECK_DONE prints "N passed, N failed" and sets the exit status. */
#ifndef LT_CHECK_H
#define LT_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"

static int check_passed, check_failed;

#define CHECK(cond, name) do { \
    if (cond) check_passed++; \
    else { check_failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, name); } \
} while (0)

/* Compares n floats; passes when max |a-b| <= tol. */
static inline int check_close(const float *a, const float *b, size_t n, double tol,
                              const char *name) {
    double worst = 0;
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= tol)) {
            if (shown++ < 5) fprintf(stderr, "  %s[%zu]: %g vs %g\n", name, i, a[i], b[i]);
            if (isnan(d)) d = INFINITY;
        }
        if (d > worst) worst = d;
    }
    int ok = worst <= tol;
    if (ok) check_passed++;
    else {
        check_failed++;
        fprintf(stderr, "FAIL %s: max abs diff %g > %g\n", name, worst, tol);
    }
    return ok;
}

/* Under LUNETTE_ISA (tests.cmake runs some tests once per path): true when the processor
 * lacks the path asked for, after saying so; the test then exits 77 (SKIPPED). */
static inline int check_isa_missing(void) {
    const char *env = getenv("LUNETTE_ISA");
    int want = env && *env ? lt_isa_parse(env) : -1;
    if (want <= (int)lt_isa_supported()) return 0;
    printf("SKIP: this processor lacks %s (LUNETTE_ISA=%s)\n", lt_isa_name((lt_isa_level)want), env);
    return 1;
}

#define CHECK_DONE() do { \
    printf("%d passed, %d failed\n", check_passed, check_failed); \
    return check_failed ? 1 : 0; \
} while (0)

#endif

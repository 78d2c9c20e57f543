/* alloc_count.c: lt_alloc_count (see net.h), the heap-allocation counter of the benchmarks.
 * Only a build configured with -DLUNETTE_COUNT_ALLOCS=ON counts: it defines malloc, calloc,
 * realloc, posix_memalign and aligned_alloc in the executable, which interposes them for
 * every library of the process (glibc supports replacing malloc this way), and forwards
 * to glibc's __libc_* entry points. Not for sanitizer builds (ASan owns malloc). */
#include "nn/net.h"

#ifdef LUNETTE_COUNT_ALLOCS
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_llong count;

void *malloc(size_t n) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}

int posix_memalign(void **p, size_t align, size_t n) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    void *q = __libc_memalign(align, n);
    if (!q) return ENOMEM;
    *p = q;
    return 0;
}

void *aligned_alloc(size_t align, size_t n) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_memalign(align, n);
}

int64_t lt_alloc_count(void) { return (int64_t)atomic_load(&count); }
#else
int64_t lt_alloc_count(void) { return -1; }
#endif

/* parallel.h: the engine's own second thread, for data-parallel network steps on 2 cores
 * (each thread runs the layers on half of the batch with single-threaded OpenBLAS, so
 * OpenBLAS's thread pool and ours never compete for the cores). One worker thread is
 * started on first use and waits (briefly spinning, then on a condition variable) for
 * jobs. Thread-local hooks let a layer's backward and dropout find the worker's own
 * gradient block and random stream. */
#ifndef LT_PARALLEL_H
#define LT_PARALLEL_H

#include <stddef.h>

#include "core/rng.h"
#include "core/tensor.h"

/* Runs fn(arg, 0) in the caller and fn(arg, 1) on the worker thread; returns when both
 * have returned. When the worker cannot be started, runs both in the caller, in order.
 * Not reentrant: call it from one thread at a time (the Lua thread). */
void lt_par_run2(void (*fn)(void *arg, int tid), void *arg);

/* Per-thread redirection of parameter gradients: while *dst is set on a thread, the
 * gradient view g (a view into the block starting at src) is accumulated at the same
 * offset in dst instead. NULL (the default) means g itself. */
extern _Thread_local const float *lt_tls_grad_src;
extern _Thread_local float *lt_tls_grad_dst;
static inline float *lt_grad_ptr(const lt_tensor *g) {
    return lt_tls_grad_dst ? lt_tls_grad_dst + (g->data - lt_tls_grad_src) : g->data;
}

/* The random stream of layers that draw during forward (dropout): the thread's own when
 * set, otherwise lt_global_rng. */
extern _Thread_local lt_rng *lt_tls_rng;
static inline lt_rng *lt_layer_rng(void) { return lt_tls_rng ? lt_tls_rng : &lt_global_rng; }

#endif

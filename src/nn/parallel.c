/* parallel.c: the engine's worker thread (see parallel.h). Handshake: the caller publishes
 * a job and bumps `gen` under the mutex (signalling a sleeping worker); the worker spins on
 * `gen` for a short while before sleeping, runs the job, and publishes `done = gen`; the
 * caller spins on `done` the same way. Spinning keeps the per-layer-phase handoff in the
 * microsecond range while a training loop is running; sleeping keeps an idle REPL idle. */
#include "nn/parallel.h"

#include <pthread.h>
#include <stdatomic.h>

_Thread_local const float *lt_tls_grad_src;
_Thread_local float *lt_tls_grad_dst;
_Thread_local lt_rng *lt_tls_rng;

enum { SPINS = 20000 };    /* about 1 ms of pause instructions before sleeping */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static atomic_ulong gen, done;
static void (*job_fn)(void *, int);
static void *job_arg;
static int started;

static inline void pause_cpu(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker(void *unused) {
    (void)unused;
    unsigned long seen = 0;
    for (;;) {
        int i = 0;
        while (atomic_load_explicit(&gen, memory_order_acquire) == seen && i < SPINS) {
            pause_cpu();
            i++;
        }
        if (atomic_load_explicit(&gen, memory_order_acquire) == seen) {
            pthread_mutex_lock(&mu);
            while (atomic_load_explicit(&gen, memory_order_acquire) == seen)
                pthread_cond_wait(&job_cv, &mu);
            pthread_mutex_unlock(&mu);
        }
        seen = atomic_load_explicit(&gen, memory_order_acquire);
        job_fn(job_arg, 1);
        pthread_mutex_lock(&mu);
        atomic_store_explicit(&done, seen, memory_order_release);
        pthread_cond_signal(&done_cv);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void start(void) {
    pthread_t t;
    pthread_attr_t a;
    if (pthread_attr_init(&a) != 0) return;
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    started = pthread_create(&t, &a, worker, NULL) == 0;
    pthread_attr_destroy(&a);
}

void lt_par_run2(void (*fn)(void *arg, int tid), void *arg) {
    pthread_once(&once, start);
    if (!started) {
        fn(arg, 0);
        fn(arg, 1);
        return;
    }
    pthread_mutex_lock(&mu);
    job_fn = fn;
    job_arg = arg;
    unsigned long g = atomic_load_explicit(&gen, memory_order_relaxed) + 1;
    atomic_store_explicit(&gen, g, memory_order_release);
    pthread_cond_signal(&job_cv);
    pthread_mutex_unlock(&mu);
    fn(arg, 0);
    for (int i = 0; atomic_load_explicit(&done, memory_order_acquire) != g && i < SPINS; i++)
        pause_cpu();
    if (atomic_load_explicit(&done, memory_order_acquire) != g) {
        pthread_mutex_lock(&mu);
        while (atomic_load_explicit(&done, memory_order_acquire) != g)
            pthread_cond_wait(&done_cv, &mu);
        pthread_mutex_unlock(&mu);
    }
}

/* dist.h: processes that train one model together (data parallelism over MPI).
 * Under `mpirun -np N lunette script.lua` each process is a rank 0..N-1 of one world; run
 * alone (or built without MPI) the world is this process: rank 0 of size 1 and every
 * collective is a copy. MPI starts on the first call that needs it, only when a launcher
 * (mpirun, srun with PMIx/PMI) started this process, so a plain `lunette` never pays for it.
 * Collectives are blocking and over MPI_COMM_WORLD: every rank must make the same calls in
 * the same order with the same lengths (lt_dist_check_len detects a length mismatch).
 * Errors: a failed MPI call returns LT_EIO with MPI's message; MPI's own error handler is
 * replaced so that nothing aborts behind the caller's back. */
#ifndef LT_DIST_H
#define LT_DIST_H

#include <stdint.h>

#include "core/err.h"

typedef enum { LT_DIST_SUM = 0, LT_DIST_MAX, LT_DIST_MIN } lt_dist_op;

/* 1 when this build has MPI. */
int lt_dist_available(void);
/* This process's rank and the number of processes (starts MPI when launched by one). */
int lt_dist_rank(void);
int lt_dist_size(void);
/* A name for where this rank runs ("host" under MPI, "" alone), for messages. */
const char *lt_dist_host(void);

lt_status lt_dist_barrier(void);
/* In place over all ranks: floats (summed in double), doubles, 64-bit integers. */
lt_status lt_dist_allreduce_f(float *buf, int64_t n, lt_dist_op op);
lt_status lt_dist_allreduce_d(double *buf, int64_t n, lt_dist_op op);
lt_status lt_dist_allreduce_i(int64_t *buf, int64_t n, lt_dist_op op);
/* buf (bytes) from root to every rank. */
lt_status lt_dist_broadcast(void *buf, int64_t bytes, int root);
/* Before a collective on n elements: agrees on n across ranks; when the ranks disagree,
 * every rank gets LT_ESHAPE with a message naming what (e.g. "allreduce") and the lengths
 * (its own and the smallest and largest). */
lt_status lt_dist_check_len(const char *what, int64_t n);

/* Ends every rank: prints msg (when not NULL) prefixed by this rank, then MPI_Abort. Alone,
 * exits with code. Never returns. */
_Noreturn void lt_dist_abort(int code, const char *msg);

/* Time spent inside allreduce since the start (seconds, for tests/bench). */
double lt_dist_allreduce_seconds(void);

#endif

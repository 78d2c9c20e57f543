/* dist.c: the process world over MPI (see dist.h), or a world of one without it.
 * MPI is started lazily (MPI_Init_thread, FUNNELED: only the Lua thread calls MPI; the
 * engine's worker thread never does) and finished at exit. Errors come back as statuses:
 * MPI_ERRORS_RETURN on MPI_COMM_WORLD. Open MPI's mpirun ends the whole job when a rank
 * dies or calls MPI_Abort, which is how one rank's error stops the others. */
#include "dist/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef LUNETTE_MPI
#include <mpi.h>
#include <unistd.h>

/* Open MPI keeps much of what MPI_Init allocates until exit, in libraries without frame
 * pointers (so LeakSanitizer cannot name them cheaply): under the sanitizers, what start-up
 * and finish allocate is not reported (lsan_interface.h). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

static double allreduce_time;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double lt_dist_allreduce_seconds(void) { return allreduce_time; }

static int started, world_rank, world_size = 1;
static char host[64];

/* At exit: wait for every rank to finish (MPI_Finalize would too, silently), saying so
 * after 10 s, since a rank left waiting in a collective this rank never called (fit or
 * evaluate on rank 0 only) would otherwise hang the job without a word. */
static void wait_for_all(void) {
    MPI_Request req;
    if (world_size == 1 || MPI_Ibarrier(MPI_COMM_WORLD, &req) != MPI_SUCCESS) return;
    double t0 = now();
    int done = 0, told = 0;
    while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) {
        if (!told && now() - t0 > 10) {
            fprintf(stderr, "lunette: rank %d of %d (%s) has finished and waits for the other "
                    "ranks; if one of them waits in fit, evaluate or a lunette.dist collective "
                    "that this rank did not call, the job will not end: every rank must make "
                    "the same collective calls\n", world_rank, world_size, host);
            told = 1;
        }
        struct timespec ts = {0, 2000000};       /* 2 ms */
        nanosleep(&ts, NULL);
    }
}

static void finish(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) {
        wait_for_all();
        LSAN_OFF();
        MPI_Finalize();
        LSAN_ON();
    }
}

/* Whether a launcher started us: Open MPI's mpirun, a PMIx or PMI-2 launcher (srun). */
static int launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") ||
           getenv("PMI_SIZE");
}

static void start(void) {
    if (started) return;
    started = 1;
    if (!launched()) return;
    int provided, init = 0;
    MPI_Initialized(&init);
    LSAN_OFF();
    int rc = init ? MPI_SUCCESS : MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    LSAN_ON();
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "lunette: MPI could not start: running as a single process\n");
        return;
    }
    if (!init) atexit(finish);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "?");
}

static lt_status mpierr(const char *what, int rc) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", rc);
    return lt_seterr(LT_EIO, "dist.%s: MPI failed on rank %d: %s", what, world_rank, msg);
}

static MPI_Op mpi_op(lt_dist_op op) {
    return op == LT_DIST_MAX ? MPI_MAX : op == LT_DIST_MIN ? MPI_MIN : MPI_SUM;
}

/* MPI counts are int: long buffers go in chunks of at most 1 Gi elements. */
enum { CHUNK = 1 << 30 };

static lt_status reduce(void *buf, int64_t n, MPI_Datatype type, size_t esz, lt_dist_op op) {
    start();
    if (world_size == 1 || n <= 0) return LT_OK;
    double t0 = now();
    for (int64_t i = 0; i < n; i += CHUNK) {
        int c = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + (size_t)i * esz, c, type, mpi_op(op),
                               MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpierr("allreduce", rc);
    }
    allreduce_time += now() - t0;
    return LT_OK;
}

int lt_dist_available(void) { return 1; }
int lt_dist_rank(void) { start(); return world_rank; }
int lt_dist_size(void) { start(); return world_size; }
const char *lt_dist_host(void) { start(); return host; }

lt_status lt_dist_barrier(void) {
    start();
    if (world_size == 1) return LT_OK;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? LT_OK : mpierr("barrier", rc);
}

lt_status lt_dist_allreduce_f(float *buf, int64_t n, lt_dist_op op) {
    return reduce(buf, n, MPI_FLOAT, sizeof *buf, op);
}
lt_status lt_dist_allreduce_d(double *buf, int64_t n, lt_dist_op op) {
    return reduce(buf, n, MPI_DOUBLE, sizeof *buf, op);
}
lt_status lt_dist_allreduce_i(int64_t *buf, int64_t n, lt_dist_op op) {
    return reduce(buf, n, MPI_INT64_T, sizeof *buf, op);
}

lt_status lt_dist_broadcast(void *buf, int64_t bytes, int root) {
    start();
    if (root < 0 || root >= world_size)
        return lt_seterr(LT_EARG, "dist.broadcast: root %d is not a rank (0 to %d)", root,
                         world_size - 1);
    if (world_size == 1 || bytes <= 0) return LT_OK;
    for (int64_t i = 0; i < bytes; i += CHUNK) {
        int c = (int)(bytes - i < CHUNK ? bytes - i : CHUNK);
        int rc = MPI_Bcast((char *)buf + i, c, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpierr("broadcast", rc);
    }
    return LT_OK;
}

_Noreturn void lt_dist_abort(int code, const char *msg) {
    start();
    if (msg) fprintf(stderr, "lunette: rank %d of %d (%s): %s\n", world_rank, world_size, host, msg);
    fflush(stdout);
    fflush(stderr);
    if (world_size > 1) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
    exit(code);
}

#else /* a world of one */

double lt_dist_allreduce_seconds(void) { return 0; }
int lt_dist_available(void) { return 0; }
int lt_dist_rank(void) { return 0; }
int lt_dist_size(void) { return 1; }
const char *lt_dist_host(void) { return ""; }
lt_status lt_dist_barrier(void) { return LT_OK; }
lt_status lt_dist_allreduce_f(float *buf, int64_t n, lt_dist_op op) {
    (void)buf; (void)n; (void)op;
    return LT_OK;
}
lt_status lt_dist_allreduce_d(double *buf, int64_t n, lt_dist_op op) {
    (void)buf; (void)n; (void)op;
    return LT_OK;
}
lt_status lt_dist_allreduce_i(int64_t *buf, int64_t n, lt_dist_op op) {
    (void)buf; (void)n; (void)op;
    return LT_OK;
}
lt_status lt_dist_broadcast(void *buf, int64_t bytes, int root) {
    (void)buf; (void)bytes;
    if (root != 0) return lt_seterr(LT_EARG, "dist.broadcast: root %d is not a rank (0 to 0)", root);
    return LT_OK;
}
_Noreturn void lt_dist_abort(int code, const char *msg) {
    if (msg) fprintf(stderr, "lunette: %s\n", msg);
    fflush(stdout);
    exit(code);
}

#endif

lt_status lt_dist_check_len(const char *what, int64_t n) {
    if (lt_dist_size() == 1) return LT_OK;
    int64_t mm[2] = {-n, n};               /* max of -n is -min: one reduction for both */
    lt_status s = lt_dist_allreduce_i(mm, 2, LT_DIST_MAX);
    if (s != LT_OK) return s;
    if (-mm[0] == mm[1]) return LT_OK;
    return lt_seterr(LT_ESHAPE, "dist.%s: the ranks passed different lengths (this rank %d: "
                     "%lld; smallest %lld, largest %lld): every rank must pass the same shape",
                     what, lt_dist_rank(), (long long)n, (long long)-mm[0], (long long)mm[1]);
}

/* gemm.c: lt_sgemm, the dispatch to the per-instruction-set GEMM drivers (see gemm.h),
 * their per-thread packing buffers, and the split of a large product over the engine's
 * two threads. */
#include "kernels/gemm.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn/parallel.h"

/* One buffer per thread, big enough for every path, freed when its thread ends. */
static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static int buf_key_ok;

static void buf_init(void) { buf_key_ok = pthread_key_create(&buf_key, free) == 0; }

static float *thread_buf(void) {
    pthread_once(&buf_once, buf_init);
    if (!buf_key_ok) return NULL;
    float *b = pthread_getspecific(buf_key);
    if (b) return b;
    size_t n = lt_gemm_buf_avx512;
    if (lt_gemm_buf_avx2 > n) n = lt_gemm_buf_avx2;
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    b = aligned_alloc(64, bytes);
    if (b && pthread_setspecific(buf_key, b) != 0) {
        free(b);
        b = NULL;
    }
    return b;
}

typedef struct {
    lt_isa_level isa;
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
    const float *bias;
    int relu;
    int split_n, cut;      /* thread 0 takes rows (or columns) [0, cut), thread 1 the rest */
    int ok[2];
} job;

static int run(lt_isa_level isa, int ta, int tb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc,
               const float *bias, int relu) {
    float *buf = thread_buf();
    if (!buf) return 0;
    switch (isa) {
    case LT_ISA_AVX512:
        lt_sgemm_avx512(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu, buf);
        break;
    case LT_ISA_AVX2:
        lt_sgemm_avx2(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu, buf);
        break;
    default:
        return 0;
    }
    return 1;
}

static void half(void *arg, int tid) {
    job *j = arg;
    int lo = tid ? j->cut : 0, hi = tid ? (j->split_n ? j->N : j->M) : j->cut;
    if (hi <= lo) { j->ok[tid] = 1; return; }
    if (j->split_n) {          /* columns [lo, hi): op(B)'s columns are B's rows when tb */
        const float *B = j->tb ? j->B + (size_t)lo * j->ldb : j->B + lo;
        j->ok[tid] = run(j->isa, j->ta, j->tb, j->M, hi - lo, j->K, j->alpha, j->A, j->lda, B,
                         j->ldb, j->beta, j->C + lo, j->ldc, j->bias ? j->bias + lo : NULL,
                         j->relu);
    } else {                   /* rows [lo, hi): op(A)'s rows are A's columns when ta */
        const float *A = j->ta ? j->A + lo : j->A + (size_t)lo * j->lda;
        j->ok[tid] = run(j->isa, j->ta, j->tb, hi - lo, j->N, j->K, j->alpha, A, j->lda, j->B,
                         j->ldb, j->beta, j->C + (size_t)lo * j->ldc, j->ldc, j->bias, j->relu);
    }
}

int lt_sgemm(lt_isa_level isa, int ta, int tb, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc,
             int threads) {
    return lt_sgemm_ep(isa, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0,
                       threads);
}

int lt_sgemm_adam(lt_isa_level isa, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, const lt_adam_step *s) {
    float *buf = isa == LT_ISA_GENERIC ? NULL : thread_buf();
    if (!buf || M <= 0 || N <= 0 || K <= 0) return 0;
    return isa == LT_ISA_AVX512 ? lt_sgemm_adam_avx512(M, N, K, A, lda, B, ldb, s, buf)
                                : lt_sgemm_adam_avx2(M, N, K, A, lda, B, ldb, s, buf);
}

typedef struct {
    int K, N, M, seg, cut, ok[2];   /* thread 0 takes dW's rows [0, cut), thread 1 the rest */
    long jump;
    const float *const *rows;
    const float *dz;
    float *dw;
} patches_job;

static void patches_half(void *arg, int tid) {
    patches_job *j = arg;
    float *buf = thread_buf();
    if (!buf) return;
    lt_sgemm_patches_avx512(tid ? j->cut : 0, tid ? j->K : j->cut, j->N, j->M, j->rows, j->seg,
                            j->jump, j->dz, j->dw, buf);
    j->ok[tid] = 1;
}

int lt_sgemm_patches_ok(lt_isa_level isa, int64_t K, int64_t N, int64_t seg) {
    return isa == LT_ISA_AVX512 && K > 0 && K <= INT32_MAX && K % 12 == 0 && seg > 0 &&
           seg % 12 == 0 && N > 0 && N <= INT32_MAX && N % 32 == 0;
}

int lt_sgemm_patches(lt_isa_level isa, int K, int N, int M, const float *const *rows, int seg,
                     long jump, const float *dz, float *dw, int threads) {
    if (!lt_sgemm_patches_ok(isa, K, N, seg) || M <= 0 || !thread_buf()) return 0;
    patches_job j = {K, N, M, seg, K, {0, 0}, jump, rows, dz, dw};
    if (threads < 2 || (double)K * N * M < LT_SPLIT_MACS || K < 24) {
        patches_half(&j, 0);        /* this thread has its buffer (above) */
        return 1;
    }
    j.cut = (K / 2 + 11) / 12 * 12;   /* whole tiles: each dW element summed by one thread */
    lt_par_run2(patches_half, &j);
    if (!j.ok[1]) patches_half(&j, 1);   /* the worker had no buffer: its half here */
    return 1;
}

int lt_sgemm_patches_dx_ok(lt_isa_level isa, int64_t K, int64_t OC, int64_t seg) {
    int64_t nr = isa == LT_ISA_AVX512 ? 32 : 16;
    return isa != LT_ISA_GENERIC && seg > 0 && seg % nr == 0 && K > 0 && K % seg == 0 &&
           K <= 1024 && OC > 0 && OC <= 256;
}

typedef struct {
    lt_isa_level isa;
    int M, K, OC, seg, cut, ok[2];   /* thread 0 takes pixels [0, cut), thread 1 the rest */
    long jump;
    const float *dz, *W;
    float *const *rows;
} patches_dx_job;

static void patches_dx_half(void *arg, int tid) {
    patches_dx_job *j = arg;
    float *buf = thread_buf();
    if (!buf) return;
    int p0 = tid ? j->cut : 0, p1 = tid ? j->M : j->cut;
    if (j->isa == LT_ISA_AVX512)
        lt_sgemm_patches_dx_avx512(p0, p1, j->K, j->OC, j->dz, j->W, j->rows, j->seg, j->jump, buf);
    else
        lt_sgemm_patches_dx_avx2(p0, p1, j->K, j->OC, j->dz, j->W, j->rows, j->seg, j->jump, buf);
    j->ok[tid] = 1;
}

int lt_sgemm_patches_dx(lt_isa_level isa, int M, int K, int OC, const float *dz, const float *W,
                        float *const *rows, int seg, long jump, int P, int threads) {
    if (!lt_sgemm_patches_dx_ok(isa, K, OC, seg) || M <= 0 || P <= 0 || !thread_buf()) return 0;
    patches_dx_job j = {isa, M, K, OC, seg, M, {0, 0}, jump, dz, W, rows};
    int samples = M / P;
    if (threads >= 2 && samples >= 2 && (double)M * K * OC >= LT_SPLIT_MACS) {
        j.cut = samples / 2 * P;      /* whole samples: their patches never overlap */
        lt_par_run2(patches_dx_half, &j);
        if (!j.ok[1]) patches_dx_half(&j, 1);   /* the worker had no buffer: its half here */
    } else {
        patches_dx_half(&j, 0);
    }
    return 1;
}

int lt_sgemm_ep(lt_isa_level isa, int ta, int tb, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C,
                int ldc, const float *bias, int relu, int threads) {
    /* Two threads pay from about a millisecond of work. Cuts fall on multiples of 64
     * columns or 12 rows (whole tiles of every path), so each C element is computed by
     * the same tiles, in the same order, as on one thread. */
    if (isa == LT_ISA_GENERIC) return 0;
    if (threads < 2 || (double)M * N * K < LT_SPLIT_MACS || (N < 128 && M < 24) || !thread_buf())
        return run(isa, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
    job j = {isa, ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C, bias, relu, 0, 0,
             {0, 0}};
    if (N >= 128) {
        j.split_n = 1;
        j.cut = (N / 2 + 63) / 64 * 64;
    } else {
        j.cut = (M / 2 + 11) / 12 * 12;
    }
    lt_par_run2(half, &j);
    if (!j.ok[1]) half(&j, 1);   /* the worker had no buffer (this thread has one): its half here */
    return 1;
}

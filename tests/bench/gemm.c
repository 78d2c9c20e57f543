/* bench_gemm: Lunette's GEMM (src/kernels) against OpenBLAS, BLIS and oneDNN on the
 * products of a training step of the lesson 4 CIFAR-10 model at batch 32 (1 thread:
 * forward, weight gradient, input gradient of each layer) and of lesson 13's ResNet-14,
 * side by side: each repetition runs every path on the same operands, one after the other,
 * so load from other processes hits all alike. Prints the machine (processor, OpenBLAS
 * core, FMA peak of each instruction set), then per product the median ms of each path and
 * its GFLOP/s, and the totals. The products are those the layers run: "(dxT)" a dense input
 * gradient (dense.c). BLIS (Debian's libblis4, its BLAS interface) and oneDNN (libdnnl2,
 * dnnl_sgemm) are loaded at run time when installed (apt-get install libblis-dev
 * libdnnl-dev), one thread each; "n/a" otherwise. Not a ctest. Build and run (see
 * tests/bench/README.md):
 *   cmake --build build-perf --target bench_gemm && build-perf/bench_gemm [reps]   */
#include <cblas.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "bench.h"

typedef struct { const char *what; int ta, tb, M, N, K; } shape;

static const shape shapes[] = {
    {"cifar conv2 forward", 0, 0, 1568, 64, 288},
    {"cifar conv3 forward", 0, 0, 288, 128, 576},
    {"cifar dense1 forward", 0, 0, 32, 1024, 1152},
    {"cifar dense2 forward", 0, 0, 32, 10, 1024},
    {"cifar conv1 dW", 1, 0, 27, 32, 7200},
    {"cifar conv2 dW", 1, 0, 288, 64, 1568},
    {"cifar conv2 dx", 0, 1, 1568, 288, 64},
    {"cifar conv3 dW", 1, 0, 576, 128, 288},
    {"cifar conv3 dx", 0, 1, 288, 576, 128},
    {"cifar dense1 dW", 1, 0, 1152, 1024, 32},
    {"cifar dense1 dx (dxT)", 0, 1, 1152, 32, 1024},   /* Dense runs dxᵀ = W·dzᵀ */
    {"cifar dense2 dW", 1, 0, 1024, 10, 32},
    {"cifar dense2 dx", 0, 1, 32, 1024, 10},
    {"resnet 16ch forward", 0, 0, 8192, 16, 144},
    {"resnet 16ch dW", 1, 0, 144, 16, 8192},
    {"resnet 16ch dx", 0, 1, 8192, 144, 16},
    {"resnet 32ch forward", 0, 0, 2048, 32, 288},
    {"resnet 32ch dx", 0, 1, 2048, 288, 32},
    {"resnet 64ch forward", 0, 0, 512, 64, 576},
};
enum { NS = sizeof shapes / sizeof *shapes, NP = 5 };   /* AVX-512, AVX2, OpenBLAS, BLIS, oneDNN */

/* BLIS through its BLAS interface (column-major: C = A·B row-major is Cᵀ = Bᵀ·Aᵀ), oneDNN's
 * row-major dnnl_sgemm; both found with dlopen, so the benchmark builds without them. */
typedef void (*blas_sgemm_fn)(const char *, const char *, const int *, const int *,
                              const int *, const float *, const float *, const int *,
                              const float *, const int *, const float *, float *, const int *);
typedef int (*dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float *,
                             int64_t, const float *, int64_t, float, float *, int64_t);
static blas_sgemm_fn blis_sgemm;
static dnnl_sgemm_fn dnnl_sgemm;

static void load_libraries(void) {
    setenv("BLIS_NUM_THREADS", "1", 1);   /* read when the libraries start */
    setenv("OMP_NUM_THREADS", "1", 1);
    void *b = dlopen("libblis.so.4", RTLD_NOW | RTLD_LOCAL);
    if (b) blis_sgemm = (blas_sgemm_fn)dlsym(b, "sgemm_");
    void *d = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (d) dnnl_sgemm = (dnnl_sgemm_fn)dlsym(d, "dnnl_sgemm");
}

static int run(int p, const shape *h, const float *A, int lda, const float *B, int ldb,
               float *C, lt_isa_level best) {
    static const lt_isa_level isas[] = {LT_ISA_AVX512, LT_ISA_AVX2};
    float one = 1.0f;
    switch (p) {
    case 0: case 1:
        if (isas[p] > best) return 0;
        lt_sgemm(isas[p], h->ta, h->tb, h->M, h->N, h->K, 1.0f, A, lda, B, ldb, 1.0f, C, h->N, 1);
        return 1;
    case 2:
        cblas_sgemm(CblasRowMajor, h->ta ? CblasTrans : CblasNoTrans,
                    h->tb ? CblasTrans : CblasNoTrans, h->M, h->N, h->K, 1.0f, A, lda, B, ldb,
                    1.0f, C, h->N);
        return 1;
    case 3:
        if (!blis_sgemm) return 0;
        blis_sgemm(h->tb ? "T" : "N", h->ta ? "T" : "N", &h->N, &h->M, &h->K, &one, B, &ldb, A,
                   &lda, &one, C, &h->N);
        return 1;
    default:
        if (!dnnl_sgemm) return 0;
        return dnnl_sgemm(h->ta ? 'T' : 'N', h->tb ? 'T' : 'N', h->M, h->N, h->K, 1.0f, A, lda,
                          B, ldb, 1.0f, C, h->N) == 0;
    }
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 30;
    if (reps < 1) reps = 1;
    openblas_set_num_threads(1);
    load_libraries();
    lt_isa_level best = lt_isa_supported();
    print_machine();
    printf("FMA peak of one core:");
    static const lt_isa_level isas[] = {LT_ISA_AVX512, LT_ISA_AVX2, LT_ISA_GENERIC};
    for (int i = 0; i < 3; i++)
        if (isas[i] <= best)
            printf(" %s %.1f GFLOP/s", lt_isa_name(isas[i]), lt_fma_peak(isas[i], 0.3));
    static const char *names[NP] = {"AVX-512", "AVX2", "OpenBLAS", "BLIS", "oneDNN"};
    printf("\n%-22s %-2s %5s %5s %5s", "product", "op", "M", "N", "K");
    for (int p = 0; p < NP; p++) printf(" | %8s ms GF/s", names[p]);
    printf("\n");
    size_t big = 1 << 22;
    float *A = malloc(big * 4), *B = malloc(big * 4), *C = malloc(big * 4);
    double *t = malloc(sizeof(double) * (size_t)reps * NP);
    if (!A || !B || !C || !t) return 1;
    for (size_t i = 0; i < big; i++) {
        A[i] = (float)rand() / RAND_MAX - 0.5f;
        B[i] = (float)rand() / RAND_MAX - 0.5f;
    }
    memset(C, 0, big * 4);
    double total[NP] = {0};
    int have[NP];
    for (int s = 0; s < NS; s++) {
        const shape *h = &shapes[s];
        int lda = h->ta ? h->M : h->K, ldb = h->tb ? h->K : h->N;
        for (int r = 0; r < reps; r++)
            for (int p = 0; p < NP; p++) {
                double t0 = now();
                have[p] = run(p, h, A, lda, B, ldb, C, best);
                t[p * reps + r] = now() - t0;
            }
        printf("%-22s %c%c %5d %5d %5d", h->what, h->ta ? 'T' : 'N', h->tb ? 'T' : 'N', h->M,
               h->N, h->K);
        for (int p = 0; p < NP; p++) {
            qsort(t + p * reps, (size_t)reps, sizeof(double), cmp);
            double med = t[p * reps + reps / 2];
            total[p] += med;
            if (!have[p]) printf(" | %19s", "n/a");
            else printf(" | %8.3f %8.1f ", med * 1e3, 2.0 * h->M * h->N * h->K / med / 1e9);
        }
        printf("\n");
    }
    printf("total (medians, ms):");
    for (int p = 0; p < NP; p++)
        if (have[p]) printf(" %s %.3f", names[p], total[p] * 1e3);
    printf("\n");
    free(A); free(B); free(C); free(t);
    return 0;
}

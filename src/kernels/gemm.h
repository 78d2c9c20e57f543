/* gemm.h: Lunette's own single-precision GEMM, C = alpha·op(A)·op(B) + beta·C on row-major
 * matrices (op = transpose when ta / tb is set), the kernel under every convolution and
 * dense layer. One packed implementation (gemm_impl.h, after Goto & van de Geijn 2008 and
 * BLIS) compiled once per instruction set with its own register-blocked micro-kernel:
 * AVX-512 12×32 and AVX2+FMA 6×16. The generic path is OpenBLAS (lt_gemm's fallback): on
 * these shapes its SSE kernels ran 1.5× faster than the same driver with a C micro-kernel
 * compiled for the baseline x86-64 (measured on the lesson model's GEMMs, 1 thread).
 * Packing buffers are per thread, allocated on a thread's first call (and grown only for a
 * larger block size, which the fixed block sizes rule out): steady-state training
 * allocates nothing. */
#ifndef LT_GEMM_H
#define LT_GEMM_H

#include <stddef.h>

#include "kernels/isa.h"

/* threads > 1 lets a large product be split over the engine's two threads (callers pass
 * 1 from inside a data-parallel phase); the result is bit-identical to threads = 1.
 * Returns 0, with nothing written, for the generic path or when no packing buffer could
 * be allocated (the caller then uses OpenBLAS), else 1. */
int lt_sgemm(lt_isa_level isa, int ta, int tb, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc,
             int threads);
/* The same with an epilogue on each element of C once its sum is complete: + bias[j] (N
 * floats; NULL: none), then ReLU when relu; as lt_bias_act would do after the product. */
int lt_sgemm_ep(lt_isa_level isa, int ta, int tb, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C,
                int ldc, const float *bias, int relu, int threads);

/* The per-instruction-set drivers (gemm_avx512.c, gemm_avx2.c): buf holds
 * lt_gemm_buf_avx512 / lt_gemm_buf_avx2 floats, 64-byte aligned. */
#define LT_GEMM_DECL(name)                                                                    \
    void name(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,      \
              const float *B, int ldb, float beta, float *C, int ldc, const float *bias,      \
              int relu, float *buf)
LT_GEMM_DECL(lt_sgemm_avx512);
LT_GEMM_DECL(lt_sgemm_avx2);
extern const size_t lt_gemm_buf_avx512, lt_gemm_buf_avx2;

/* Register-only multiply-add loops for lt_fma_peak: n iterations, returns the FLOPs done. */
double lt_fma_loop_avx512(long n);
double lt_fma_loop_avx2(long n);

#endif

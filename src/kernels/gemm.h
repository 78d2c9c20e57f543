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
#include <stdint.h>

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

/* Adam's step (AdamW's with wdl) on a kernel's elements, as the optimizer's update kernels
 * compute it (nn/optim_update_impl.h, adam), from a gradient g: g·scale, clamped to
 * [-clip, clip] when clip > 0; m += c1·(g - m); v += c2·(g² - v); w -= w·wdl;
 * w -= alpha·m / (sqrt(v) + eps). w, m, v: M×N, rows N apart. */
typedef struct {
    float *w, *m, *v;
    float c1, c2, alpha, eps, wdl, scale, clip;
} lt_adam_step;

/* A weight gradient G = Aᵀ·B (A: K×M, B: K×N; a Dense layer's xᵀ·dz) handed to Adam's step
 * tile by tile while each tile is in L1, never written whole: the tile's products on the
 * FMA units overlap the previous tile's divides and square roots. Each element of G is
 * summed as lt_sgemm sums it, and updated as the optimizer's kernels update it. Returns 0,
 * with nothing done, for the generic path, K above one k block (lt_sgemm sums more in
 * blocks) or when no packing buffer could be had; else 1. One thread. Call under the
 * update's flush-to-zero (nn/optim.c). */
int lt_sgemm_adam(lt_isa_level isa, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, const lt_adam_step *s);

/* A convolution's weight gradient without its cols matrix: dW (K×N, rows N apart) +=
 * colsᵀ·dz, dz M×N, where row p of cols is read where it lies, as runs of `seg` floats
 * `jump` apart: its i-th float is rows[p][(i / seg)·jump + i % seg] (a 'valid' patch: KH
 * runs of KW·C floats of x, one image row apart). threads > 1 lets the rows of dW be split
 * over the engine's two threads (the same bits). Returns 0, with nothing done, unless the
 * path has a kernel for it: AVX-512, seg a multiple of 12 and N of 32 (whole tiles). */
int lt_sgemm_patches(lt_isa_level isa, int K, int N, int M, const float *const *rows, int seg,
                     long jump, const float *dz, float *dw, int threads);
/* Whether the path has that kernel for K, N and seg (but for a packing buffer). */
int lt_sgemm_patches_ok(lt_isa_level isa, int64_t K, int64_t N, int64_t seg);

/* A convolution's input gradient without its dcols matrix: row p of dz·Wᵀ (dz M×OC, W the
 * K×OC kernel) added to dx where patch p lies, rows[p][(i / seg)·jump + i % seg] for its
 * i-th float (as lt_sgemm_patches reads x). The patches of one sample overlap, those of
 * two never: threads > 1 splits whole samples of P pixels over the engine's two threads.
 * Returns 0, with nothing done, unless lt_sgemm_patches_dx_ok. */
int lt_sgemm_patches_dx(lt_isa_level isa, int M, int K, int OC, const float *dz, const float *W,
                        float *const *rows, int seg, long jump, int P, int threads);
/* Whether the path has that kernel: AVX-512 or AVX2, seg a multiple of the panel width
 * (32, 16), OC at most one k block (256), K at most one column block (1024). */
int lt_sgemm_patches_dx_ok(lt_isa_level isa, int64_t K, int64_t OC, int64_t seg);

/* The per-instruction-set drivers (gemm_avx512.c, gemm_avx2.c): buf holds
 * lt_gemm_buf_avx512 / lt_gemm_buf_avx2 floats, 64-byte aligned. */
#define LT_GEMM_DECL(name)                                                                    \
    void name(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,      \
              const float *B, int ldb, float beta, float *C, int ldc, const float *bias,      \
              int relu, float *buf)
LT_GEMM_DECL(lt_sgemm_avx512);
LT_GEMM_DECL(lt_sgemm_avx2);
#define LT_GEMM_ADAM_DECL(name)                                                               \
    int name(int M, int N, int K, const float *A, int lda, const float *B, int ldb,           \
             const lt_adam_step *s, float *buf)
LT_GEMM_ADAM_DECL(lt_sgemm_adam_avx512);
LT_GEMM_ADAM_DECL(lt_sgemm_adam_avx2);
/* lt_sgemm_patches_dx for pixels [p0, p1), per instruction set. */
#define LT_GEMM_PATCHES_DX_DECL(name)                                                         \
    void name(int p0, int p1, int K, int OC, const float *dz, const float *W,                 \
              float *const *rows, int seg, long jump, float *buf)
LT_GEMM_PATCHES_DX_DECL(lt_sgemm_patches_dx_avx512);
LT_GEMM_PATCHES_DX_DECL(lt_sgemm_patches_dx_avx2);
/* lt_sgemm_patches on AVX-512 for rows [i0, i1) of dW (multiples of 12; seg a multiple of
 * 12, N of 32). */
void lt_sgemm_patches_avx512(int i0, int i1, int N, int M, const float *const *rows, int seg,
                             long jump, const float *dz, float *dw, float *buf);
extern const size_t lt_gemm_buf_avx512, lt_gemm_buf_avx2;

/* Register-only multiply-add loops for lt_fma_peak: n iterations, returns the FLOPs done. */
double lt_fma_loop_avx512(long n);
double lt_fma_loop_avx2(long n);

#endif

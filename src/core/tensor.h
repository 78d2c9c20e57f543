/* tensor.h: float32 n-d tensors, row-major and always contiguous.
 * A tensor is a window (data, shape) onto a reference-counted storage; views
 * (lt_tensor_select, lt_tensor_reshape, lt_tensor_narrow on dim 0) share it, and
 * the storage is freed with its last tensor. Copies are explicit (clone, permute).
 * Dimension legend used across Lunette: N batch, H W height width, C/IC in-channels,
 * OC out-channels, KH KW kernel, OH OW output, L sequence length. Images are N×H×W×C.
 * Ownership: every function returning lt_tensor* returns a new tensor the caller
 * frees with lt_tensor_free; arguments are borrowed. NULL means failure, with the
 * reason in lt_lasterror(). */
#ifndef LT_TENSOR_H
#define LT_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define LT_MAX_DIMS 8

typedef struct lt_storage {
    float *data;
    int64_t numel;
    int refs;
    /* The parameters it held moved to another buffer (a layer bound into a network): the
     * views still pointing here are stale, and the bindings refuse them. */
    int detached;
} lt_storage;

typedef struct lt_tensor {
    float *data;                    /* first element, inside storage->data */
    int ndim;                       /* 0 for a scalar tensor (numel 1) */
    int64_t shape[LT_MAX_DIMS];
    int64_t numel;
    lt_storage *storage;
} lt_tensor;

/* ---- limits ---- */
/* Ceiling on a single tensor's element count (default 2^30, i.e. 4 GiB of floats):
 * a mistyped shape is an error naming the shape and the ceiling, not an OOM kill. */
#define LT_MAX_NUMEL_CEILING ((int64_t)1 << 40)   /* keeps byte sizes far from overflow */
lt_status lt_set_max_numel(int64_t n);              /* 1..LT_MAX_NUMEL_CEILING */
int64_t lt_get_max_numel(void);

/* ---- construction ---- */
lt_tensor *lt_tensor_new(int ndim, const int64_t *shape);    /* zero-filled */
lt_tensor *lt_tensor_empty(int ndim, const int64_t *shape);  /* uninitialised */
lt_tensor *lt_tensor_new2(int64_t d0, int64_t d1);           /* zero-filled 2-d */
lt_tensor *lt_tensor_full(int ndim, const int64_t *shape, float v);
lt_tensor *lt_tensor_from(int ndim, const int64_t *shape, const float *src); /* copies src */
lt_tensor *lt_tensor_clone(const lt_tensor *t);
void       lt_tensor_free(lt_tensor *t);                     /* NULL is a no-op */
/* Formats "3x4x5" (or "scalar") into buf; returns buf. */
const char *lt_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);
/* Checks a shape (1..LT_MAX_DIMS dims, each >= 1, product under the ceiling); sets numel. */
lt_status  lt_shape_check(const char *fn, int ndim, const int64_t *shape, int64_t *numel);
int        lt_same_shape(const lt_tensor *a, const lt_tensor *b);

/* ---- views (share storage) ---- */
lt_tensor *lt_tensor_select(const lt_tensor *t, int64_t i);  /* t[i], 0-based, drops dim 0 */
lt_tensor *lt_tensor_narrow(const lt_tensor *t, int dim, int64_t start, int64_t len);
                                                   /* a view when dim == 0, else a copy */
lt_tensor *lt_tensor_reshape(const lt_tensor *t, int ndim, const int64_t *shape);
                                                   /* one entry may be -1 (inferred) */

/* ---- copies ---- */
lt_tensor *lt_tensor_permute(const lt_tensor *t, const int *perm);
lt_tensor *lt_tensor_transpose(const lt_tensor *t, int d0, int d1);
lt_status  lt_tensor_copy(lt_tensor *dst, const lt_tensor *src);  /* same numel */

/* Copies rows idx[0..n-1] (0-based, along dim 0) of src into the first n rows of dst
 * (same trailing shape). The batching primitive of fit, predict and data.batches. */
lt_status  lt_tensor_gather_rows(const lt_tensor *src, const int64_t *idx, int64_t n,
                                 lt_tensor *dst);

/* ---- element-wise with numpy broadcasting ---- */
typedef enum { LT_ADD, LT_SUB, LT_MUL, LT_DIV, LT_EQ, LT_LT, LT_LE, LT_GT, LT_GE, LT_NE } lt_binop;
lt_tensor *lt_tensor_binop(lt_binop op, const lt_tensor *a, const lt_tensor *b);
lt_tensor *lt_tensor_binop_scalar(lt_binop op, const lt_tensor *a, float s, int scalar_first);
/* The broadcast shape of a and b, or LT_ESHAPE naming both shapes. */
lt_status  lt_broadcast_shape(const char *fn, const lt_tensor *a, const lt_tensor *b,
                              int *ndim, int64_t *shape);

/* ---- reductions: dim < 0 reduces everything to a 1-element 1-d tensor ---- */
typedef enum { LT_SUM, LT_MEAN, LT_MAX, LT_MIN, LT_STD, LT_ARGMAX, LT_ARGMIN } lt_reduce_op;
/* Reducing along dim removes that dimension (keeps a 1-d tensor of size 1 when it
 * was the only one). ARGMAX/ARGMIN give 0-based indexes as floats. STD is the
 * population standard deviation (numpy's default, ddof=0). */
lt_tensor *lt_tensor_reduce(lt_reduce_op op, const lt_tensor *t, int dim);

/* ---- linear algebra ---- */
/* (M×K)·(K×N) → M×N through cblas_sgemm; 1-d operands act as row/column vectors. */
lt_tensor *lt_tensor_matmul(const lt_tensor *a, const lt_tensor *b);
/* C = alpha·op(A)·op(B) + beta·C, row-major, the one place Lunette calls sgemm. */
void lt_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The same, then on each element of C: + bias[j] (N floats; NULL: none), then ReLU when
 * relu (the epilogue of a layer's forward, fused into the GEMM's last pass over C). */
void lt_gemm_ep(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                int lda, const float *B, int ldb, float beta, float *C, int ldc,
                const float *bias, int relu);
/* Naive triple loop with double accumulation: the reference the tests compare against. */
void lt_gemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void lt_set_threads(int n);     /* compute threads (OpenBLAS's and the engine's); n >= 1 */
int  lt_get_threads(void);
/* OpenBLAS's own threads only, for code running its own threads (the engine's
 * data-parallel steps set 1, then 0 = back to lt_get_threads()). */
void lt_blas_threads(int n);
/* The threads a kernel may use now: 1 inside a data-parallel step (each thread has its
 * own half of the batch), lt_get_threads() otherwise. */
int lt_kernel_threads(void);
/* Multiply-adds from which a kernel (GEMM, direct convolution) splits over two threads:
 * about a millisecond of work, what a hand-off to the worker thread pays for. */
#define LT_SPLIT_MACS 4e6

/* ---- random ---- */
lt_tensor *lt_tensor_rand(int ndim, const int64_t *shape);   /* U[0,1) from lt_global_rng */
lt_tensor *lt_tensor_randn(int ndim, const int64_t *shape);  /* N(0,1) */

/* ---- printing ---- */
/* numpy-style text: "tensor(2x3)\n[[1, 2, 3],\n [4, 5, 6]]"; elides the middle of any
 * dimension past `edge`*2 items when numel > threshold. Returns a malloc'd string.
 * Only the elements shown are read (the format and column width come from them), so a
 * 150M-element tensor prints at once. lt_tensor_format_width wraps rows longer than
 * `width` columns (numpy's linewidth) onto indented lines; lt_tensor_format uses 75. */
char *lt_tensor_format(const lt_tensor *t);
char *lt_tensor_format_width(const lt_tensor *t, int width);

#endif

/* tensor.c: construction, views, copies, broadcasting, reductions, matmul and
 * printing of float32 tensors (see tensor.h for layout and ownership). */
#include "core/tensor.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/gemm.h"

static int64_t max_numel = (int64_t)1 << 30;

lt_status lt_set_max_numel(int64_t n) {
    if (n < 1 || n > LT_MAX_NUMEL_CEILING)
        return lt_seterr(LT_EARG, "max_elements: %lld is outside 1..%lld", (long long)n,
                         (long long)LT_MAX_NUMEL_CEILING);
    max_numel = n;
    return LT_OK;
}
int64_t lt_get_max_numel(void) { return max_numel; }

/* ---- shapes ---- */

const char *lt_shape_str(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    if (ndim == 0) { snprintf(buf, size, "scalar"); return buf; }
    for (int i = 0; i < ndim && n < size; i++)
        n += snprintf(buf + n, size - n, i ? "x%lld" : "%lld", (long long)shape[i]);
    return buf;
}

lt_status lt_shape_check(const char *fn, int ndim, const int64_t *shape, int64_t *numel) {
    char sb[160];
    if (ndim < 1 || ndim > LT_MAX_DIMS)
        return lt_seterr(LT_ESHAPE, "%s: %d dimensions (expected 1 to %d)", fn, ndim, LT_MAX_DIMS);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return lt_seterr(LT_ESHAPE, "%s: dimension %d is %lld (must be positive)", fn, i + 1,
                             (long long)shape[i]);
        if (shape[i] > max_numel || n > max_numel / shape[i])
            return lt_seterr(LT_ENOMEM, "%s: shape %s exceeds the tensor size limit of %lld "
                             "elements (lunette.max_elements)", fn,
                             lt_shape_str(ndim, shape, sb, sizeof sb), (long long)max_numel);
        n *= shape[i];
    }
    *numel = n;
    return LT_OK;
}

int lt_same_shape(const lt_tensor *a, const lt_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

/* ---- construction ---- */

static lt_tensor *alloc_tensor(int ndim, const int64_t *shape, int zero) {
    int64_t n;
    if (lt_shape_check("tensor", ndim, shape, &n) != LT_OK) return NULL;
    lt_tensor *t = malloc(sizeof *t);
    lt_storage *s = malloc(sizeof *s);
    /* 64-byte alignment so AVX-512 loads of whole rows never split cache lines. */
    size_t bytes = ((size_t)n * sizeof(float) + 63) & ~(size_t)63;
    float *d = aligned_alloc(64, bytes);
    if (!t || !s || !d) {
        char sb[160];
        free(t); free(s); free(d);
        lt_seterr(LT_ENOMEM, "tensor: out of memory allocating %s (%lld floats)",
                  lt_shape_str(ndim, shape, sb, sizeof sb), (long long)n);
        return NULL;
    }
    if (zero) memset(d, 0, bytes);
    s->data = d; s->numel = n; s->refs = 1; s->detached = 0;
    t->storage = s; t->data = d; t->ndim = ndim; t->numel = n;
    memset(t->shape, 0, sizeof t->shape);
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    return t;
}

lt_tensor *lt_tensor_new(int ndim, const int64_t *shape) { return alloc_tensor(ndim, shape, 1); }
lt_tensor *lt_tensor_empty(int ndim, const int64_t *shape) { return alloc_tensor(ndim, shape, 0); }

lt_tensor *lt_tensor_new2(int64_t d0, int64_t d1) {
    int64_t shape[2] = {d0, d1};
    return lt_tensor_new(2, shape);
}

lt_tensor *lt_tensor_full(int ndim, const int64_t *shape, float v) {
    lt_tensor *t = alloc_tensor(ndim, shape, 0);
    if (t) for (int64_t i = 0; i < t->numel; i++) t->data[i] = v;
    return t;
}

lt_tensor *lt_tensor_from(int ndim, const int64_t *shape, const float *src) {
    lt_tensor *t = alloc_tensor(ndim, shape, 0);
    if (t) memcpy(t->data, src, (size_t)t->numel * sizeof(float));
    return t;
}

lt_tensor *lt_tensor_clone(const lt_tensor *t) { return lt_tensor_from(t->ndim, t->shape, t->data); }

void lt_tensor_free(lt_tensor *t) {
    if (!t) return;
    if (--t->storage->refs == 0) {
        free(t->storage->data);
        free(t->storage);
    }
    free(t);
}

/* ---- views ---- */

static lt_tensor *make_view(const lt_tensor *t, float *data, int ndim, const int64_t *shape,
                            int64_t numel) {
    lt_tensor *v = malloc(sizeof *v);
    if (!v) { lt_seterr(LT_ENOMEM, "tensor: out of memory"); return NULL; }
    v->storage = t->storage;
    v->storage->refs++;
    v->data = data; v->ndim = ndim; v->numel = numel;
    memset(v->shape, 0, sizeof v->shape);
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    return v;
}

lt_tensor *lt_tensor_select(const lt_tensor *t, int64_t i) {
    if (t->ndim < 1 || i < 0 || i >= t->shape[0]) {
        lt_seterr(LT_EARG, "index %lld out of range for dimension 1 of size %lld",
                  (long long)i + 1, (long long)(t->ndim ? t->shape[0] : 0));
        return NULL;
    }
    int64_t inner = t->numel / t->shape[0];
    if (t->ndim == 1) {           /* t[i] of a vector: a 1-element 1-d view */
        int64_t one = 1;
        return make_view(t, t->data + i, 1, &one, 1);
    }
    return make_view(t, t->data + i * inner, t->ndim - 1, t->shape + 1, inner);
}

lt_tensor *lt_tensor_reshape(const lt_tensor *t, int ndim, const int64_t *shape) {
    int64_t s[LT_MAX_DIMS], known = 1;
    int infer = -1;
    char a[160], b[160];
    if (ndim < 1 || ndim > LT_MAX_DIMS) {
        lt_seterr(LT_ESHAPE, "reshape: %d dimensions (expected 1 to %d)", ndim, LT_MAX_DIMS);
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (s[i] == -1 && infer < 0) { infer = i; continue; }
        if (s[i] < 1) {
            lt_seterr(LT_ESHAPE, "reshape: dimension %d is %lld (must be positive, or -1 once)",
                      i + 1, (long long)s[i]);
            return NULL;
        }
        if (s[i] > t->numel / known) {   /* the product would exceed numel (or overflow) */
            known = t->numel + 1;
            break;
        }
        known *= s[i];
    }
    if (infer >= 0) {
        if (known > t->numel || t->numel % known != 0) {
            s[infer] = 1;
            lt_seterr(LT_ESHAPE, "reshape: cannot infer -1: %lld elements (shape %s) "
                      "do not divide into %lld", (long long)t->numel,
                      lt_shape_str(t->ndim, t->shape, a, sizeof a), (long long)known);
            return NULL;
        }
        s[infer] = t->numel / known;
        known = t->numel;
    }
    if (known != t->numel) {
        lt_seterr(LT_ESHAPE, "reshape: cannot reshape %s (%lld elements) into %s",
                  lt_shape_str(t->ndim, t->shape, a, sizeof a), (long long)t->numel,
                  lt_shape_str(ndim, s, b, sizeof b));
        return NULL;
    }
    return make_view(t, t->data, ndim, s, t->numel);
}

lt_tensor *lt_tensor_narrow(const lt_tensor *t, int dim, int64_t start, int64_t len) {
    if (dim < 0 || dim >= t->ndim) {
        lt_seterr(LT_EARG, "slice: dimension %d out of range (tensor has %d)", dim + 1, t->ndim);
        return NULL;
    }
    if (start < 0 || len < 1 || len > t->shape[dim] || start > t->shape[dim] - len) {
        lt_seterr(LT_EARG, "slice: range %lld..%lld out of bounds for dimension %d of size %lld",
                  (long long)start + 1, (long long)(start + len), dim + 1,
                  (long long)t->shape[dim]);
        return NULL;
    }
    int64_t outer = 1, inner = 1, shape[LT_MAX_DIMS];
    for (int i = 0; i < dim; i++) outer *= t->shape[i];
    for (int i = dim + 1; i < t->ndim; i++) inner *= t->shape[i];
    memcpy(shape, t->shape, sizeof shape);
    shape[dim] = len;
    if (dim == 0) return make_view(t, t->data + start * inner, t->ndim, shape, len * inner);
    lt_tensor *r = lt_tensor_empty(t->ndim, shape);
    if (!r) return NULL;
    for (int64_t o = 0; o < outer; o++)
        memcpy(r->data + o * len * inner, t->data + (o * t->shape[dim] + start) * inner,
               (size_t)(len * inner) * sizeof(float));
    return r;
}

/* ---- copies ---- */

lt_tensor *lt_tensor_permute(const lt_tensor *t, const int *perm) {
    int64_t shape[LT_MAX_DIMS], istride[LT_MAX_DIMS], pstride[LT_MAX_DIMS], idx[LT_MAX_DIMS] = {0};
    int seen[LT_MAX_DIMS] = {0};
    int nd = t->ndim;
    for (int i = 0; i < nd; i++) {
        if (perm[i] < 0 || perm[i] >= nd || seen[perm[i]]) {
            lt_seterr(LT_EARG, "permute: not a permutation of the %d dimensions", nd);
            return NULL;
        }
        seen[perm[i]] = 1;
    }
    int64_t st = 1;
    for (int i = nd - 1; i >= 0; i--) { istride[i] = st; st *= t->shape[i]; }
    for (int i = 0; i < nd; i++) { shape[i] = t->shape[perm[i]]; pstride[i] = istride[perm[i]]; }
    lt_tensor *r = lt_tensor_empty(nd, shape);
    if (!r) return NULL;
    /* Walk the output in order, carrying the source offset like an odometer. */
    int64_t off = 0;
    for (int64_t k = 0; k < r->numel; k++) {
        r->data[k] = t->data[off];
        for (int d = nd - 1; d >= 0; d--) {
            off += pstride[d];
            if (++idx[d] < shape[d]) break;
            off -= pstride[d] * shape[d];
            idx[d] = 0;
        }
    }
    return r;
}

lt_tensor *lt_tensor_transpose(const lt_tensor *t, int d0, int d1) {
    int perm[LT_MAX_DIMS];
    if (d0 < 0 || d1 < 0 || d0 >= t->ndim || d1 >= t->ndim) {
        lt_seterr(LT_EARG, "transpose: dimensions %d and %d out of range (tensor has %d)",
                  d0 + 1, d1 + 1, t->ndim);
        return NULL;
    }
    for (int i = 0; i < t->ndim; i++) perm[i] = i;
    perm[d0] = d1; perm[d1] = d0;
    return lt_tensor_permute(t, perm);
}

lt_status lt_tensor_copy(lt_tensor *dst, const lt_tensor *src) {
    char a[160], b[160];
    if (dst->numel != src->numel)
        return lt_seterr(LT_ESHAPE, "copy: source %s has %lld elements, destination %s has %lld",
                         lt_shape_str(src->ndim, src->shape, a, sizeof a), (long long)src->numel,
                         lt_shape_str(dst->ndim, dst->shape, b, sizeof b), (long long)dst->numel);
    memmove(dst->data, src->data, (size_t)src->numel * sizeof(float));
    return LT_OK;
}

lt_status lt_tensor_gather_rows(const lt_tensor *src, const int64_t *idx, int64_t n,
                                lt_tensor *dst) {
    int64_t row = src->numel / src->shape[0];
    if (dst->ndim < 1 || dst->numel / dst->shape[0] != row || n > dst->shape[0])
        return lt_seterr(LT_ESHAPE, "gather: destination cannot hold %lld rows of %lld values",
                         (long long)n, (long long)row);
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= src->shape[0])
            return lt_seterr(LT_EARG, "gather: row %lld out of range 0..%lld", (long long)idx[i],
                             (long long)src->shape[0] - 1);
        memcpy(dst->data + i * row, src->data + idx[i] * row, (size_t)row * sizeof(float));
    }
    return LT_OK;
}

/* ---- element-wise ---- */

lt_status lt_broadcast_shape(const char *fn, const lt_tensor *a, const lt_tensor *b,
                             int *ndim, int64_t *shape) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {      /* align trailing dimensions, as numpy does */
        int ia = a->ndim - nd + i, ib = b->ndim - nd + i;
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[160], sb[160];
            return lt_seterr(LT_ESHAPE, "%s: shapes %s and %s cannot be broadcast "
                             "(dimension %d: %lld vs %lld)", fn,
                             lt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                             lt_shape_str(b->ndim, b->shape, sb, sizeof sb), i + 1,
                             (long long)da, (long long)db);
        }
        shape[i] = da > db ? da : db;
    }
    *ndim = nd;
    return LT_OK;
}

static inline float apply_op(lt_binop op, float x, float y) {
    switch (op) {
    case LT_ADD: return x + y;
    case LT_SUB: return x - y;
    case LT_MUL: return x * y;
    case LT_DIV: return x / y;
    case LT_EQ: return x == y;
    case LT_NE: return x != y;
    case LT_LT: return x < y;
    case LT_LE: return x <= y;
    case LT_GT: return x > y;
    case LT_GE: return x >= y;
    }
    return 0;
}

static const char *binop_name(lt_binop op) {
    static const char *names[] = {"add", "sub", "mul", "div", "eq", "lt", "le", "gt", "ge", "ne"};
    return names[op];
}

lt_tensor *lt_tensor_binop(lt_binop op, const lt_tensor *a, const lt_tensor *b) {
    int nd;
    int64_t shape[LT_MAX_DIMS], sa[LT_MAX_DIMS], sb[LT_MAX_DIMS], idx[LT_MAX_DIMS] = {0};
    if (lt_broadcast_shape(binop_name(op), a, b, &nd, shape) != LT_OK) return NULL;
    lt_tensor *r = lt_tensor_empty(nd, shape);
    if (!r) return NULL;
    if (lt_same_shape(a, b)) {
        for (int64_t i = 0; i < r->numel; i++) r->data[i] = apply_op(op, a->data[i], b->data[i]);
        return r;
    }
    /* Strides of a and b in the broadcast index space: 0 along broadcast dimensions. */
    int64_t st_a = 1, st_b = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int ia = a->ndim - nd + i, ib = b->ndim - nd + i;
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        sa[i] = da == 1 ? 0 : st_a; st_a *= da;
        sb[i] = db == 1 ? 0 : st_b; st_b *= db;
    }
    int64_t oa = 0, ob = 0;
    for (int64_t k = 0; k < r->numel; k++) {
        r->data[k] = apply_op(op, a->data[oa], b->data[ob]);
        for (int d = nd - 1; d >= 0; d--) {
            oa += sa[d]; ob += sb[d];
            if (++idx[d] < shape[d]) break;
            oa -= sa[d] * shape[d]; ob -= sb[d] * shape[d];
            idx[d] = 0;
        }
    }
    return r;
}

lt_tensor *lt_tensor_binop_scalar(lt_binop op, const lt_tensor *a, float s, int scalar_first) {
    lt_tensor *r = lt_tensor_empty(a->ndim, a->shape);
    if (!r) return NULL;
    if (scalar_first)
        for (int64_t i = 0; i < r->numel; i++) r->data[i] = apply_op(op, s, a->data[i]);
    else
        for (int64_t i = 0; i < r->numel; i++) r->data[i] = apply_op(op, a->data[i], s);
    return r;
}

/* ---- reductions ---- */

/* Reduces n values spaced `stride` apart (double accumulation). */
static float reduce_line(lt_reduce_op op, const float *x, int64_t n, int64_t stride) {
    double acc, mean;
    int64_t best = 0;
    switch (op) {
    case LT_SUM:
    case LT_MEAN:
        acc = 0;
        for (int64_t i = 0; i < n; i++) acc += x[i * stride];
        return (float)(op == LT_MEAN ? acc / (double)n : acc);
    case LT_STD:
        acc = 0;
        for (int64_t i = 0; i < n; i++) acc += x[i * stride];
        mean = acc / (double)n;
        acc = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = x[i * stride] - mean;
            acc += d * d;
        }
        return (float)sqrt(acc / (double)n);
    case LT_MAX:
    case LT_ARGMAX:    /* NaN wins, as in numpy */
        for (int64_t i = 1; i < n; i++) {
            float v = x[i * stride], b = x[best * stride];
            if (isnan(b)) break;
            if (v > b || isnan(v)) best = i;
        }
        return op == LT_MAX ? x[best * stride] : (float)best;
    case LT_MIN:
    case LT_ARGMIN:
        for (int64_t i = 1; i < n; i++) {
            float v = x[i * stride], b = x[best * stride];
            if (isnan(b)) break;
            if (v < b || isnan(v)) best = i;
        }
        return op == LT_MIN ? x[best * stride] : (float)best;
    }
    return 0;
}

lt_tensor *lt_tensor_reduce(lt_reduce_op op, const lt_tensor *t, int dim) {
    if (dim < 0) {
        int64_t one = 1;
        lt_tensor *r = lt_tensor_empty(1, &one);
        if (r) r->data[0] = reduce_line(op, t->data, t->numel, 1);
        return r;
    }
    if (dim >= t->ndim) {
        lt_seterr(LT_EARG, "reduce: dimension %d out of range (tensor has %d)", dim + 1, t->ndim);
        return NULL;
    }
    int64_t outer = 1, inner = 1, n = t->shape[dim], shape[LT_MAX_DIMS];
    for (int i = 0; i < dim; i++) outer *= t->shape[i];
    for (int i = dim + 1; i < t->ndim; i++) inner *= t->shape[i];
    int nd = 0;
    for (int i = 0; i < t->ndim; i++)
        if (i != dim) shape[nd++] = t->shape[i];
    if (nd == 0) shape[nd++] = 1;
    lt_tensor *r = lt_tensor_empty(nd, shape);
    if (!r) return NULL;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            r->data[o * inner + i] = reduce_line(op, t->data + o * n * inner + i, n, inner);
    return r;
}

/* ---- linear algebra ---- */

static int blas_threads = 0, blas_now = 0;

void lt_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    lt_gemm_ep(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0);
}

void lt_gemm_ep(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                int lda, const float *B, int ldb, float beta, float *C, int ldc,
                const float *bias, int relu) {
    /* Lunette's own kernels (kernels/gemm.h) on the instruction set lt_isa() chose, split
     * over the engine's threads outside data-parallel phases; OpenBLAS on the generic
     * path, or when they cannot get their packing buffer. */
    int threads = lt_kernel_threads();
    if (lt_sgemm_ep(lt_isa(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                    bias, relu, threads))
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (int i = 0; i < M && (bias || relu); i++)     /* the epilogue after OpenBLAS */
        for (int j = 0; j < N; j++) {
            float *c = C + (size_t)i * ldc + j;
            if (bias) *c += bias[j];
            if (relu) *c = *c > 0 ? *c : 0;
        }
}

void lt_gemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                acc += (double)a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

void lt_set_threads(int n) {
    if (n < 1) n = 1;
    openblas_set_num_threads(n);
    blas_threads = blas_now = n;
}

void lt_blas_threads(int n) {
    if (!blas_threads) blas_threads = blas_now = openblas_get_num_threads();
    if (n < 1) n = blas_threads ? blas_threads : openblas_get_num_threads();
    if (n == blas_now) return;
    openblas_set_num_threads(n);
    blas_now = n;
}

int lt_get_threads(void) { return blas_threads ? blas_threads : openblas_get_num_threads(); }

int lt_kernel_threads(void) { return blas_now ? blas_now : lt_get_threads(); }

lt_tensor *lt_tensor_matmul(const lt_tensor *a, const lt_tensor *b) {
    char sa[160], sb[160];
    if (a->ndim > 2 || b->ndim > 2) {
        lt_seterr(LT_ESHAPE, "matmul: expected 1-d or 2-d tensors, got %s and %s",
                  lt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                  lt_shape_str(b->ndim, b->shape, sb, sizeof sb));
        return NULL;
    }
    /* A 1-d left operand is a row vector, a 1-d right operand a column vector. */
    int64_t M = a->ndim == 2 ? a->shape[0] : 1, K = a->shape[a->ndim - 1];
    int64_t K2 = b->shape[0], N = b->ndim == 2 ? b->shape[1] : 1;
    if (K != K2) {
        lt_seterr(LT_ESHAPE, "matmul: inner dimensions differ: %s times %s (%lld vs %lld)",
                  lt_shape_str(a->ndim, a->shape, sa, sizeof sa),
                  lt_shape_str(b->ndim, b->shape, sb, sizeof sb), (long long)K, (long long)K2);
        return NULL;
    }
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) {
        lt_seterr(LT_ESHAPE, "matmul: dimensions too large for BLAS");
        return NULL;
    }
    int64_t shape[2];
    int nd = 0;
    if (a->ndim == 2) shape[nd++] = M;
    if (b->ndim == 2) shape[nd++] = N;
    if (nd == 0) shape[nd++] = 1;
    lt_tensor *r = lt_tensor_empty(nd, shape);
    if (!r) return NULL;
    lt_gemm(0, 0, (int)M, (int)N, (int)K, 1.0f, a->data, (int)K, b->data, (int)N, 0.0f, r->data,
            (int)N);
    return r;
}

/* ---- random ---- */

lt_tensor *lt_tensor_rand(int ndim, const int64_t *shape) {
    lt_tensor *t = lt_tensor_empty(ndim, shape);
    if (t) for (int64_t i = 0; i < t->numel; i++) t->data[i] = lt_rng_uniform(&lt_global_rng);
    return t;
}

lt_tensor *lt_tensor_randn(int ndim, const int64_t *shape) {
    lt_tensor *t = lt_tensor_empty(ndim, shape);
    if (t) for (int64_t i = 0; i < t->numel; i++) t->data[i] = (float)lt_rng_normal(&lt_global_rng);
    return t;
}

/* ---- printing ---- */

typedef struct { char *s; size_t n, cap; int failed; } strbuf;

static void sb_add(strbuf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) { b->failed = 1; return; }
        b->s = p; b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}
static void sb_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

#define PRINT_THRESHOLD 1000   /* numpy's: elide when there are more elements */
#define PRINT_EDGE 3           /* items kept at each end of an elided dimension */

/* How values print, chosen once per tensor as numpy/torch do: integers without a
 * decimal point, otherwise 4 decimals, or scientific notation when the range needs it. */
typedef enum { FMT_INT, FMT_FIXED, FMT_SCI } fmt_mode;

static int fmt_value(char *buf, size_t size, float v, fmt_mode mode) {
    if (isnan(v)) return snprintf(buf, size, "nan");
    if (isinf(v)) return snprintf(buf, size, v > 0 ? "inf" : "-inf");
    if (mode == FMT_INT) return snprintf(buf, size, "%.0f", (double)v);
    if (mode == FMT_FIXED) return snprintf(buf, size, "%.4f", (double)v);
    return snprintf(buf, size, "%.4e", (double)v);
}

typedef struct {
    const lt_tensor *t;
    int elide, width;       /* width: of the widest value shown */
    int linewidth, col;     /* wrap rows past linewidth; col: the current output column */
    fmt_mode mode;
    strbuf *b;
} fmt_ctx;

static void out_str(fmt_ctx *c, const char *s) {
    sb_str(c->b, s);
    const char *nl = strrchr(s, '\n');
    c->col = nl ? (int)strlen(nl + 1) : c->col + (int)strlen(s);
}

static void out_pad(fmt_ctx *c, int n) {
    for (int k = 0; k < n; k++) out_str(c, " ");
}

/* Calls fn on each element the text shows (the ends of elided dimensions only). */
static void visit_shown(const fmt_ctx *c, int dim, int64_t off, void (*fn)(void *, float), void *ud) {
    const lt_tensor *t = c->t;
    int64_t n = t->shape[dim], inner = 1;
    for (int i = dim + 1; i < t->ndim; i++) inner *= t->shape[i];
    for (int64_t i = 0; i < n; i++) {
        if (c->elide && n > 2 * PRINT_EDGE && i == PRINT_EDGE) i = n - PRINT_EDGE;
        if (dim == t->ndim - 1) fn(ud, t->data[off + i]);
        else visit_shown(c, dim + 1, off + i * inner, fn, ud);
    }
}

typedef struct { fmt_mode mode; float amax, amin; int width; } fmt_scan;

static void scan_mode(void *ud, float v) {
    fmt_scan *s = ud;
    float a = fabsf(v);
    if (!isfinite(v)) return;
    if (v != floorf(v) || a >= 1e7f) s->mode = FMT_FIXED;
    if (a > s->amax) s->amax = a;
    if (a > 0 && a < s->amin) s->amin = a;
}

static void scan_width(void *ud, float v) {
    fmt_scan *s = ud;
    char buf[48];
    int w = fmt_value(buf, sizeof buf, v, s->mode);
    if (w > s->width) s->width = w;
}

static void fmt_rec(fmt_ctx *c, int dim, int64_t off, int indent) {
    const lt_tensor *t = c->t;
    int64_t n = t->shape[dim], inner = 1;
    int last = dim == t->ndim - 1;
    for (int i = dim + 1; i < t->ndim; i++) inner *= t->shape[i];
    out_str(c, "[");
    for (int64_t i = 0; i < n; i++) {
        if (c->elide && n > 2 * PRINT_EDGE && i == PRINT_EDGE) {
            if (last) {
                out_str(c, "...,");
                if (c->col + 1 + c->width + 1 > c->linewidth) { out_str(c, "\n"); out_pad(c, indent + 1); }
                else out_str(c, " ");
            } else {
                out_str(c, "...,\n");
                out_pad(c, indent + 1);
            }
            i = n - PRINT_EDGE;
        }
        if (last) {
            char v[48], p[64];
            fmt_value(v, sizeof v, t->data[off + i], c->mode);
            snprintf(p, sizeof p, "%*s", c->width, v);
            out_str(c, p);
        } else {
            fmt_rec(c, dim + 1, off + i * inner, indent + 1);
        }
        if (i + 1 < n) {
            if (last) {
                out_str(c, ",");
                /* the next value, and its "," or the closing brackets, must fit the line */
                int next = 1 + c->width + (i + 2 < n ? 1 : dim + 1);
                if (c->col + next > c->linewidth) { out_str(c, "\n"); out_pad(c, indent + 1); }
                else out_str(c, " ");
            } else {
                out_str(c, ",");
                for (int k = dim; k < t->ndim - 1; k++) out_str(c, "\n");
                out_pad(c, indent + 1);
            }
        }
    }
    out_str(c, "]");
}

char *lt_tensor_format(const lt_tensor *t) { return lt_tensor_format_width(t, 75); }

char *lt_tensor_format_width(const lt_tensor *t, int width) {
    strbuf b = {0};
    char sh[160];
    fmt_ctx c = {t, t->numel > PRINT_THRESHOLD, 1, width < 20 ? 20 : width, 0, FMT_INT, &b};
    fmt_scan sc = {FMT_INT, 0, INFINITY, 1};
    if (t->ndim > 0 && t->numel > 0) visit_shown(&c, 0, 0, scan_mode, &sc);
    else if (t->ndim == 0) scan_mode(&sc, t->data[0]);
    if (sc.mode == FMT_FIXED && (sc.amax >= 1e5f || sc.amin < 1e-4f)) sc.mode = FMT_SCI;
    if (t->ndim > 0 && t->numel > 0) visit_shown(&c, 0, 0, scan_width, &sc);   /* align columns */
    c.mode = sc.mode;
    c.width = sc.width;
    sb_str(&b, "tensor(");
    sb_str(&b, lt_shape_str(t->ndim, t->shape, sh, sizeof sh));
    sb_str(&b, ")\n");
    if (t->ndim == 0) {
        char v[48];
        fmt_value(v, sizeof v, t->data[0], c.mode);
        sb_str(&b, v);
    } else {
        fmt_rec(&c, 0, 0, 0);
    }
    if (b.failed) { free(b.s); lt_seterr(LT_ENOMEM, "tostring: out of memory"); return NULL; }
    return b.s;
}

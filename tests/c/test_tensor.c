/* test_tensor.c: the tensor core against independent computations: broadcasting vs
 * an index-by-index numpy-rule loop, OpenBLAS matmul vs the naive triple loop,
 * reductions vs hand values, views sharing storage, permute vs explicit indexing,
 * the direct conv/pool ops vs worked examples, and the error messages. */
#include <stdlib.h>

#include "check.h"
#include "core/ops.h"
#include "core/rng.h"
#include "core/tensor.h"

static lt_tensor *mk(int nd, const int64_t *shape, const float *v) {
    return lt_tensor_from(nd, shape, v);
}

/* Reference broadcasting: for each output index, map to a and b by the numpy rule. */
static float ref_bcast(const lt_tensor *t, int nd, const int64_t *idx) {
    int64_t off = 0;
    for (int i = 0; i < t->ndim; i++) {
        int64_t k = idx[nd - t->ndim + i];
        off = off * t->shape[i] + (t->shape[i] == 1 ? 0 : k);
    }
    return t->data[off];
}

static void test_broadcast(void) {
    /* shape pairs and their numpy broadcast result */
    struct { int na; int64_t a[4]; int nb; int64_t b[4]; int nr; int64_t r[4]; } cases[] = {
        {2, {3, 4}, 1, {4}, 2, {3, 4}},
        {2, {3, 1}, 2, {1, 4}, 2, {3, 4}},
        {3, {2, 1, 4}, 2, {3, 1}, 3, {2, 3, 4}},
        {1, {1}, 3, {2, 3, 2}, 3, {2, 3, 2}},
        {4, {2, 1, 3, 1}, 3, {4, 1, 5}, 4, {2, 4, 3, 5}},
    };
    lt_rng_seed_global(1);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lt_tensor *a = lt_tensor_randn(cases[c].na, cases[c].a);
        lt_tensor *b = lt_tensor_randn(cases[c].nb, cases[c].b);
        lt_tensor *r = lt_tensor_binop(LT_SUB, a, b);
        CHECK(r && r->ndim == cases[c].nr, "broadcast rank");
        int ok = r != NULL;
        for (int i = 0; ok && i < r->ndim; i++) ok = r->shape[i] == cases[c].r[i];
        CHECK(ok, "broadcast shape");
        if (ok) {
            int64_t idx[LT_MAX_DIMS] = {0};
            float worst = 0;
            for (int64_t k = 0; k < r->numel; k++) {
                int64_t rem = k;
                for (int d = r->ndim - 1; d >= 0; d--) { idx[d] = rem % r->shape[d]; rem /= r->shape[d]; }
                float want = ref_bcast(a, r->ndim, idx) - ref_bcast(b, r->ndim, idx);
                worst = fmaxf(worst, fabsf(want - r->data[k]));
            }
            CHECK(worst == 0, "broadcast values");
        }
        lt_tensor_free(a); lt_tensor_free(b); lt_tensor_free(r);
    }
    int64_t s1[2] = {3, 4}, s2[1] = {3};
    lt_tensor *a = lt_tensor_new(2, s1), *b = lt_tensor_new(1, s2);
    CHECK(lt_tensor_binop(LT_ADD, a, b) == NULL, "incompatible broadcast fails");
    CHECK(strstr(lt_lasterror(), "add: shapes 3x4 and 3 cannot be broadcast") != NULL,
          "broadcast message names shapes");
    lt_tensor_free(a); lt_tensor_free(b);
}

static void test_matmul(void) {
    int M = 37, K = 53, N = 29;
    lt_rng_seed_global(2);
    int64_t sa[2] = {M, K}, sb[2] = {K, N};
    lt_tensor *a = lt_tensor_randn(2, sa), *b = lt_tensor_randn(2, sb);
    lt_tensor *c = lt_tensor_matmul(a, b);
    float *ref = calloc((size_t)M * N, sizeof(float));
    for (int i = 0; i < M; i++)              /* independent loop, double accumulation */
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) acc += (double)a->data[i * K + k] * b->data[k * N + j];
            ref[i * N + j] = (float)acc;
        }
    CHECK(c && c->shape[0] == M && c->shape[1] == N, "matmul shape");
    if (c) check_close(c->data, ref, (size_t)M * N, 1e-4, "matmul vs loop");
    /* transposed variants of lt_gemm vs the naive reference */
    float *c1 = calloc((size_t)M * N, sizeof(float)), *c2 = calloc((size_t)M * N, sizeof(float));
    lt_tensor *at = lt_tensor_transpose(a, 0, 1), *bt = lt_tensor_transpose(b, 0, 1);
    lt_gemm(1, 1, M, N, K, 0.5f, at->data, M, bt->data, K, 0.0f, c1, N);
    lt_gemm_naive(1, 1, M, N, K, 0.5f, at->data, M, bt->data, K, 0.0f, c2, N);
    check_close(c1, c2, (size_t)M * N, 1e-4, "gemm TT vs naive");
    for (int i = 0; i < M * N; i++) c2[i] = ref[i] * 0.5f;
    check_close(c1, c2, (size_t)M * N, 1e-4, "gemm TT alpha vs loop");
    int64_t s3[2] = {K + 1, N};
    lt_tensor *bad = lt_tensor_new(2, s3);
    CHECK(lt_tensor_matmul(a, bad) == NULL && strstr(lt_lasterror(), "matmul: inner dimensions "
          "differ: 37x53 times 54x29") != NULL, "matmul mismatch message");
    free(ref); free(c1); free(c2);
    lt_tensor_free(a); lt_tensor_free(b); lt_tensor_free(c); lt_tensor_free(at);
    lt_tensor_free(bt); lt_tensor_free(bad);
}

static void test_views_and_copies(void) {
    int64_t s[3] = {2, 3, 4};
    lt_tensor *t = lt_tensor_empty(3, s);
    for (int i = 0; i < 24; i++) t->data[i] = (float)i;
    lt_tensor *v = lt_tensor_select(t, 1);           /* t[2] in Lua: values 12..23 */
    CHECK(v && v->ndim == 2 && v->data[0] == 12 && v->storage == t->storage, "select view");
    v->data[0] = 100;
    CHECK(t->data[12] == 100, "view writes through");
    lt_tensor_free(t);                               /* the view keeps the storage alive */
    CHECK(v->data[1] == 13, "view outlives parent");
    int64_t r[2] = {-1, 6};
    lt_tensor *rv = lt_tensor_reshape(v, 2, r);
    CHECK(rv && rv->shape[0] == 2 && rv->shape[1] == 6, "reshape infers -1");
    int64_t bad[2] = {5, 5};
    CHECK(lt_tensor_reshape(v, 2, bad) == NULL &&
          strstr(lt_lasterror(), "cannot reshape 3x4 (12 elements) into 5x5") != NULL,
          "reshape size message");
    lt_tensor_free(rv);
    lt_tensor_free(v);

    t = lt_tensor_empty(3, s);
    for (int i = 0; i < 24; i++) t->data[i] = (float)i;
    int perm[3] = {2, 0, 1};
    lt_tensor *p = lt_tensor_permute(t, perm);       /* p[k][i][j] = t[i][j][k] */
    int ok = p && p->shape[0] == 4 && p->shape[1] == 2 && p->shape[2] == 3;
    for (int i = 0; ok && i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                if (p->data[(k * 2 + i) * 3 + j] != t->data[(i * 3 + j) * 4 + k]) ok = 0;
    CHECK(ok, "permute values");
    lt_tensor *n = lt_tensor_narrow(t, 2, 1, 2);     /* t[:, :, 1:3] */
    ok = n && n->shape[2] == 2;
    for (int i = 0; ok && i < 6; i++)
        if (n->data[i * 2] != t->data[i * 4 + 1] || n->data[i * 2 + 1] != t->data[i * 4 + 2]) ok = 0;
    CHECK(ok, "narrow along last dim");
    CHECK(lt_tensor_narrow(t, 1, 2, 2) == NULL &&
          strstr(lt_lasterror(), "range 3..4 out of bounds for dimension 2 of size 3"),
          "narrow bounds message");
    int64_t idx[2] = {1, 0};
    int64_t bs[3] = {2, 3, 4};
    lt_tensor *g = lt_tensor_empty(3, bs);
    CHECK(lt_tensor_gather_rows(t, idx, 2, g) == LT_OK && g->data[0] == 12 && g->data[12] == 0,
          "gather rows");
    lt_tensor_free(g); lt_tensor_free(n); lt_tensor_free(p); lt_tensor_free(t);
}

static void test_reduce(void) {
    int64_t s[2] = {2, 3};
    float v[6] = {1, 5, 3, 4, 2, 6};
    lt_tensor *t = mk(2, s, v);
    lt_tensor *r = lt_tensor_reduce(LT_SUM, t, 0);
    float want_sum0[3] = {5, 7, 9};
    CHECK(r && r->ndim == 1 && r->shape[0] == 3, "sum dim shape");
    if (r) check_close(r->data, want_sum0, 3, 0, "sum over dim 1");
    lt_tensor_free(r);
    r = lt_tensor_reduce(LT_ARGMAX, t, 1);
    float want_am[2] = {1, 2};
    if (r) check_close(r->data, want_am, 2, 0, "argmax over dim 2 (0-based)");
    lt_tensor_free(r);
    r = lt_tensor_reduce(LT_STD, t, -1);               /* population std of 1..6 */
    float want_std = sqrtf(35.0f / 12.0f);
    if (r) check_close(r->data, &want_std, 1, 1e-6, "std of all");
    lt_tensor_free(r);
    r = lt_tensor_reduce(LT_MEAN, t, 1);
    float want_mean[2] = {3, 4};
    if (r) check_close(r->data, want_mean, 2, 1e-6, "mean over dim 2");
    lt_tensor_free(r);
    lt_tensor_free(t);
}

static void test_ops(void) {
    /* conv1d({1,2},{1,-1}) = {-1} (lesson 8) */
    int64_t s2[1] = {2}, s3[1] = {3}, s4[1] = {4};
    float x1[2] = {1, 2}, k1[2] = {1, -1};
    lt_tensor *a = mk(1, s2, x1), *k = mk(1, s2, k1);
    lt_tensor *r = lt_conv1d_direct(a, k, 1, LT_PAD_VALID);
    float want1 = -1;
    CHECK(r && r->numel == 1, "conv1d shape");
    if (r) check_close(r->data, &want1, 1, 0, "conv1d {1,2}*{1,-1}");
    lt_tensor_free(a); lt_tensor_free(k); lt_tensor_free(r);

    /* 'same' at stride 2 pads as TensorFlow: the odd extra zero goes after.
     * {1,2,3,4} with {1,1,1}: TF gives {1+2+3, 3+4+0} = {6, 7}; symmetric would give {3, 9}. */
    float x4[4] = {1, 2, 3, 4}, ones3[3] = {1, 1, 1};
    a = mk(1, s4, x4); k = mk(1, s3, ones3);
    r = lt_conv1d_direct(a, k, 2, LT_PAD_SAME);
    float want_same[2] = {6, 7};
    CHECK(r && r->numel == 2, "same stride 2 size");
    if (r) check_close(r->data, want_same, 2, 0, "TF asymmetric same padding");
    lt_tensor_free(a); lt_tensor_free(k); lt_tensor_free(r);
    int64_t out, pad;
    CHECK(lt_conv_geometry("g", 5, 3, 2, LT_PAD_SAME, &out, &pad) == LT_OK && out == 3 && pad == 1,
          "geometry same 5/3/2");
    CHECK(lt_conv_geometry("g", 32, 3, 2, LT_PAD_VALID, &out, &pad) == LT_OK && out == 15,
          "geometry valid 32/3/2");
    CHECK(lt_conv_geometry("conv2d", 2, 3, 1, LT_PAD_VALID, &out, &pad) == LT_ESHAPE &&
          strstr(lt_lasterror(), "input size 2 is smaller than the kernel 3"), "geometry error");

    /* conv2d worked by hand: A (3x3) * w (2x2) */
    int64_t s33[2] = {3, 3}, s22[2] = {2, 2};
    float A[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 2, 3, 4};
    a = mk(2, s33, A); k = mk(2, s22, w);
    r = lt_conv2d_direct(a, k, 1, LT_PAD_VALID);
    float want2[4] = {37, 47, 67, 77};
    CHECK(r && r->ndim == 2 && r->shape[0] == 2 && r->shape[1] == 2, "conv2d shape");
    if (r) check_close(r->data, want2, 4, 0, "conv2d by hand");
    lt_tensor_free(r);
    /* the same with a channel dimension and 2 output filters (the second is 2w) */
    int64_t sk4[4] = {2, 2, 1, 2}, sx3[3] = {3, 3, 1};
    float w2[8] = {1, 2, 2, 4, 3, 6, 4, 8};
    lt_tensor *a3 = mk(3, sx3, A), *k4 = mk(4, sk4, w2);
    r = lt_conv2d_direct(a3, k4, 1, LT_PAD_VALID);
    float want3[8] = {37, 74, 47, 94, 67, 134, 77, 154};
    CHECK(r && r->ndim == 3 && r->shape[2] == 2, "conv2d HWC shape");
    if (r) check_close(r->data, want3, 8, 0, "conv2d HWC x 2 filters");
    lt_tensor_free(r);
    int64_t sbad[4] = {2, 2, 3, 1};
    lt_tensor *kb = lt_tensor_new(4, sbad);
    CHECK(lt_conv2d_direct(a3, kb, 1, LT_PAD_VALID) == NULL &&
          strstr(lt_lasterror(), "conv2d: input has 1 channels, kernel 2x2x3x1 expects 3"),
          "conv2d channel message");
    lt_tensor_free(kb); lt_tensor_free(a3); lt_tensor_free(k4); lt_tensor_free(a); lt_tensor_free(k);

    /* 2x2 max and average pooling of a 4x4 matrix, worked by hand */
    int64_t s44[2] = {4, 4};
    float M[16] = {1, 3, 2, 1, 4, 6, 5, 0, 7, 2, 9, 8, 1, 0, 3, 4};
    a = mk(2, s44, M);
    r = lt_pool2d_direct(a, 2, 2, LT_PAD_VALID, 1);
    float want_max[4] = {6, 5, 7, 9}, want_avg[4] = {3.5f, 2, 2.5f, 6};
    if (r) check_close(r->data, want_max, 4, 0, "maxpool 4x4 by hand");
    lt_tensor_free(r);
    r = lt_pool2d_direct(a, 2, 2, LT_PAD_VALID, 0);
    if (r) check_close(r->data, want_avg, 4, 1e-6, "avgpool 4x4 by hand");
    lt_tensor_free(r);
    /* 3x3 windows, stride 2, 'same' on 4x4: windows rows/cols {0,1,2} and {2,3}; padded
     * cells are ignored, so the average divides by the real cell count. */
    r = lt_pool2d_direct(a, 3, 2, LT_PAD_SAME, 0);
    float want_same_avg[4] = {(1 + 3 + 2 + 4 + 6 + 5 + 7 + 2 + 9) / 9.0f, (2 + 1 + 5 + 0 + 9 + 8) / 6.0f,
                              (7 + 2 + 9 + 1 + 0 + 3) / 6.0f, (9 + 8 + 3 + 4) / 4.0f};
    CHECK(r && r->shape[0] == 2 && r->shape[1] == 2, "avgpool same shape");
    if (r) check_close(r->data, want_same_avg, 4, 1e-5, "avgpool same ignores padding");
    lt_tensor_free(r);
    lt_tensor_free(a);
}

static void test_limits(void) {
    int64_t huge[3] = {100000, 100000, 1000};
    CHECK(lt_tensor_new(3, huge) == NULL &&
          strstr(lt_lasterror(), "shape 100000x100000x1000 exceeds the tensor size limit of "
                 "1073741824 elements") != NULL, "size ceiling message");
    int64_t neg[2] = {3, 0};
    CHECK(lt_tensor_new(2, neg) == NULL && strstr(lt_lasterror(), "dimension 2 is 0"),
          "zero dimension message");
    lt_set_max_numel(100);
    int64_t s[2] = {10, 11};
    CHECK(lt_tensor_new(2, s) == NULL, "configurable ceiling");
    lt_set_max_numel((int64_t)1 << 30);
}

static void test_rng(void) {
    lt_rng a, b;
    lt_rng_seed(&a, 42);
    lt_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= lt_rng_next(&a) == lt_rng_next(&b);
    CHECK(same, "same seed, same stream");
    /* A fixed value pins the stream across machines and compilers. */
    lt_rng_seed(&a, 0);
    CHECK(lt_rng_next(&a) == 0x99ec5f36cb75f2b4ULL, "xoshiro256** reference value");
    double s = 0, s2 = 0;
    lt_rng_seed(&a, 7);
    for (int i = 0; i < 100000; i++) { double x = lt_rng_normal(&a); s += x; s2 += x * x; }
    CHECK(fabs(s / 1e5) < 0.02 && fabs(s2 / 1e5 - 1) < 0.02, "normal mean 0 var 1");
}

int main(void) {
    test_broadcast();
    test_matmul();
    test_views_and_copies();
    test_reduce();
    test_ops();
    test_limits();
    test_rng();
    CHECK_DONE();
}

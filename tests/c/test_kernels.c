/* test_kernels.c: Lunette's own kernels against naive loops, on the path lt_isa() chose:
 * the GEMM (lt_gemm: OpenBLAS on the generic path) over random shapes, transposes,
 * strides, alpha and beta, the edges of its tiles and blocks; its split over two threads
 * (bit-identical to one thread); Conv2D, Conv1D and Dense forward and backward (dx, dW,
 * db) against loops written from the definitions: odd channel counts, one-pixel images,
 * batch 1, strides, both paddings, the stride-1 input gradient by the flipped kernel.
 * tests.cmake runs this once per LUNETTE_ISA value; a path the processor lacks exits 77
 * (SKIPPED). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "kernels/mask.h"
#include "nn/im2col.h"
#include "nn/layer.h"

static lt_rng rng;

static float uni(void) { return 2.0f * (float)lt_rng_uniform(&rng) - 1.0f; }
static int below(int n) { return (int)lt_rng_below(&rng, (uint64_t)n); }

/* One GEMM on isa against lt_gemm_naive, C embedded in a larger matrix (ldc > N) whose
 * other cells must stay untouched; beta = 0 must overwrite even NaN. ep: the epilogue
 * (lt_gemm_ep): 0 none, 1 + bias, 2 + bias then ReLU (a NaN sum becomes 0). */
static int b_aligned;   /* B 64-byte aligned: with N = NR and no padding, already packed */

static void gemm_check(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad,
                       int ep) {
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
    size_t nc = (size_t)M * ldc;
    float *A = malloc(na * 4 + 4), *C = malloc(nc * 4),
          *B = b_aligned ? aligned_alloc(64, (nb * 4 + 63) / 64 * 64) : malloc(nb * 4 + 4),
          *R = malloc(nc * 4), *bias = malloc((size_t)N * 4);
    for (size_t i = 0; i < na; i++) A[i] = uni();
    for (size_t i = 0; i < nb; i++) B[i] = uni();
    for (size_t i = 0; i < nc; i++) C[i] = R[i] = uni();
    for (int j = 0; j < N; j++) bias[j] = uni();
    if (beta == 0.0f)
        for (int i = 0; i < M; i++) C[(size_t)i * ldc] = R[(size_t)i * ldc] = NAN;
    else if (ep == 2)
        C[0] = R[0] = NAN;
    if (ep) lt_gemm_ep(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, ep == 2);
    else lt_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    lt_gemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    for (int i = 0; i < M && ep; i++)
        for (int j = 0; j < N; j++) {
            float *r = R + (size_t)i * ldc + j;
            *r += bias[j];
            if (ep == 2) *r = *r > 0 ? *r : 0;
        }
    char msg[160];
    snprintf(msg, sizeof msg, "%s gemm%s %c%c M%d N%d K%d alpha %g beta %g pad %d",
             lt_isa_name(lt_isa()), ep == 2 ? "+bias+relu" : ep ? "+bias" : "",
             ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, beta, pad);
    check_close(C, R, nc, 2e-6 * K + 1e-5, msg);   /* the pad cells: equal, untouched */
    free(A); free(B); free(C); free(R); free(bias);
}

static void gemm_case(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad) {
    gemm_check(ta, tb, M, N, K, alpha, beta, pad, 0);
}

static void gemm_tests(void) {
    /* sizes around every path's tiles (4, 6, 12 rows; 8, 16, 32 columns) and blocks
     * (k blocks of 256, row blocks of 64 / 120 / 144, column blocks of 512 / 1024) */
    static const int edge[] = {1, 2, 3, 5, 7, 11, 12, 13, 17, 31, 33, 65, 145};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int i = 0; i < 13; i++)
                gemm_case(ta, tb, edge[i], edge[(i * 5 + 3) % 13], edge[(i * 7 + 1) % 13],
                          1.0f, i % 3 == 0 ? 0.0f : 1.0f, i % 2);
            gemm_case(ta, tb, 1, 1, 1, 1.0f, 0.0f, 0);
            gemm_case(ta, tb, 29, 16, 40, 1.0f, 1.0f, 0);    /* half-width panels */
            gemm_case(ta, tb, 25, 8, 19, 1.0f, 0.0f, 1);
            gemm_case(ta, tb, 13, 48, 70, 1.0f, 1.0f, 2);
            gemm_case(ta, tb, 37, 45, 600, -0.5f, 0.3f, 3);     /* three k blocks */
            gemm_case(ta, tb, 150, 1030, 9, 1.0f, 1.0f, 1);     /* two column blocks */
            gemm_case(ta, tb, 290, 40, 257, 2.0f, 0.0f, 0);     /* row blocks, k 257 */
            gemm_case(ta, tb, 33, 300, 70, 1.0f, 0.0f, 2);      /* few rows, wide */
            gemm_case(ta, tb, 64, 1100, 300, 0.5f, 0.0f, 1);    /* the same, two k blocks */
            for (int r = 0; r < 6; r++)
                gemm_case(ta, tb, 1 + below(200), 1 + below(200), 1 + below(300),
                          r % 2 ? 1.0f : 0.7f, (float[]){0.0f, 1.0f, -1.5f}[r % 3], below(4));
        }
    for (int ep = 1; ep <= 2; ep++) {          /* the epilogue: edges, k blocks, beta */
        gemm_check(0, 0, 37, 45, 600, 1.0f, 0.0f, 1, ep);
        gemm_check(1, 0, 150, 70, 9, 1.0f, 1.0f, 0, ep);
        gemm_check(0, 1, 13, 1030, 300, 1.0f, 0.0f, 2, ep);
        gemm_check(1, 1, 290, 16, 257, 1.0f, 0.5f, 3, ep);
        gemm_check(0, 0, 7200, 32, 27, 1.0f, 0.0f, 0, ep);   /* the CIFAR conv1 forward */
        gemm_check(0, 0, 5, 7, 0, 1.0f, 0.5f, 1, ep);        /* K = 0: beta·C + bias */
    }
    b_aligned = 1;   /* B's rows are its packed panel (gemm_impl.h): read in place */
    for (int ta = 0; ta < 2; ta++) {
        gemm_case(ta, 0, 27, 32, 7200, 1.0f, 0.0f, 0);   /* the CIFAR conv1 weight gradient */
        gemm_case(ta, 0, 29, 16, 600, 1.0f, 1.0f, 0);    /* AVX2's panel, three k blocks */
        gemm_case(ta, 0, 13, 32, 40, 0.5f, 0.0f, 0);
    }
    b_aligned = 0;
    gemm_case(0, 0, 5, 7, 0, 1.0f, 0.5f, 1);   /* K = 0: C = beta·C */
    gemm_case(1, 0, 6, 9, 4, 0.0f, 0.0f, 2);   /* alpha = 0, beta = 0: zeros */
}

/* The split over two threads gives the same bits as one thread (columns, then rows). */
static void gemm_threads(lt_isa_level isa, int ta, int tb, int M, int N, int K, float beta) {
    if (isa == LT_ISA_GENERIC) {   /* OpenBLAS's own threads: not ours to test */
        CHECK(!lt_sgemm(isa, ta, tb, 1, 1, 1, 1.0f, NULL, 1, NULL, 1, 0.0f, NULL, 1, 1),
              "the generic path leaves the GEMM to OpenBLAS");
        return;
    }
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C1 = malloc(nc * 4), *C2 = malloc(nc * 4);
    for (size_t i = 0; i < na; i++) A[i] = uni();
    for (size_t i = 0; i < nb; i++) B[i] = uni();
    for (size_t i = 0; i < nc; i++) C1[i] = C2[i] = uni();
    int lda = ta ? M : K, ldb = tb ? K : N;
    float *bias = malloc((size_t)N * 4);
    for (int j = 0; j < N; j++) bias[j] = uni();
    int relu = beta == 0.0f;           /* the epilogue too, on the forward-like cases */
    LT_ASSERT(lt_sgemm_ep(isa, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C1, N, bias, relu, 1));
    LT_ASSERT(lt_sgemm_ep(isa, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C2, N, bias, relu, 2));
    free(bias);
    char msg[120];
    snprintf(msg, sizeof msg, "%s gemm %c%c %dx%dx%d: 2 threads == 1 thread", lt_isa_name(isa),
             ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K);
    CHECK(memcmp(C1, C2, nc * 4) == 0, msg);
    free(A); free(B); free(C1); free(C2);
}

/* ---- layers on the chosen path against the definitions ---- */

typedef struct {
    int64_t N, H, W, C, OC, KH, KW, SH, SW, OH, OW, PT, PL;
} geom;

static int64_t out_len(int64_t in, int64_t k, int64_t s, lt_padding p, int64_t *pad_lo) {
    if (p == LT_PAD_VALID) { *pad_lo = 0; return (in - k) / s + 1; }
    int64_t out = (in + s - 1) / s, total = (out - 1) * s + k - in;
    *pad_lo = total > 0 ? total / 2 : 0;
    return out;
}

/* y, and from dy: dx, dW, db, by the definition of a channels-last convolution (double sums). */
static void conv_naive(const geom *g, const float *x, const float *w, const float *b,
                       const float *dy, float *y, float *dx, float *dw, float *db) {
    memset(dx, 0, sizeof(float) * (size_t)(g->N * g->H * g->W * g->C));
    memset(dw, 0, sizeof(float) * (size_t)(g->KH * g->KW * g->C * g->OC));
    double *dwd = calloc((size_t)(g->KH * g->KW * g->C * g->OC), sizeof(double));
    double *dxd = calloc((size_t)(g->N * g->H * g->W * g->C), sizeof(double));
    for (int64_t o = 0; o < g->OC; o++) {
        double sb = 0;
        for (int64_t n = 0; n < g->N; n++)
            for (int64_t oh = 0; oh < g->OH; oh++)
                for (int64_t ow = 0; ow < g->OW; ow++) {
                    int64_t yi = ((n * g->OH + oh) * g->OW + ow) * g->OC + o;
                    double s = b[o], d = dy[yi];
                    sb += d;
                    for (int64_t kh = 0; kh < g->KH; kh++)
                        for (int64_t kw = 0; kw < g->KW; kw++) {
                            int64_t ih = oh * g->SH + kh - g->PT, iw = ow * g->SW + kw - g->PL;
                            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                            for (int64_t c = 0; c < g->C; c++) {
                                int64_t xi = ((n * g->H + ih) * g->W + iw) * g->C + c;
                                int64_t wi = ((kh * g->KW + kw) * g->C + c) * g->OC + o;
                                s += (double)x[xi] * w[wi];
                                dwd[wi] += (double)x[xi] * d;
                                dxd[xi] += (double)w[wi] * d;
                            }
                        }
                    y[yi] = (float)s;
                }
        db[o] = (float)sb;
    }
    for (int64_t i = 0; i < g->KH * g->KW * g->C * g->OC; i++) dw[i] = (float)dwd[i];
    for (int64_t i = 0; i < g->N * g->H * g->W * g->C; i++) dx[i] = (float)dxd[i];
    free(dwd); free(dxd);
}

/* Forward and backward of a layer (training mode, no activation) against the naive
 * results; dW and db accumulate onto what is there (checked by seeding them). */
static void layer_vs(lt_layer *l, int64_t N, const float *x, const float *yr, const float *dy,
                     const float *dxr, const float *dwr, const float *dbr, double tol,
                     const char *name) {
    char msg[200];
    size_t ny = (size_t)(N * l->out_size), nx = (size_t)(N * l->in_size);
    size_t cs = l->vt->cache_size ? l->vt->cache_size(l, N) : 0;
    size_t ss = l->vt->scratch_size ? l->vt->scratch_size(l, N) : 0;
    float *y = malloc(ny * 4), *cache = malloc((cs + 1) * 4), *scratch = malloc((ss + 1) * 4);
    float *dyc = malloc(ny * 4), *dx = malloc(nx * 4), *dwr1 = malloc((size_t)l->nw * 4);
    l->training = 1;
    LT_ASSERT(l->vt->forward(l, x, y, N, cache, scratch) == LT_OK);
    snprintf(msg, sizeof msg, "%s forward", name);
    check_close(y, yr, ny, tol, msg);
    for (int64_t i = 0; i < l->nw; i++) {
        l->dw->data[i] = 0.25f;
        dwr1[i] = dwr[i] + 0.25f;
    }
    for (int64_t i = 0; i < l->nb; i++) l->db->data[i] = 0;
    memcpy(dyc, dy, ny * 4);
    for (size_t i = 0; i < nx; i++) dx[i] = NAN;   /* backward must write every cell */
    l->vt->backward(l, x, y, dyc, dx, N, cache, scratch);
    snprintf(msg, sizeof msg, "%s dx", name);
    check_close(dx, dxr, nx, tol, msg);
    snprintf(msg, sizeof msg, "%s dW (accumulated)", name);
    check_close(l->dw->data, dwr1, (size_t)l->nw, tol * 4, msg);
    snprintf(msg, sizeof msg, "%s db", name);
    check_close(l->db->data, dbr, (size_t)l->nb, tol * 4, msg);
    free(y); free(cache); free(scratch); free(dyc); free(dx); free(dwr1);
}

static void conv_case(int dims, int64_t N, int64_t H, int64_t W, int64_t C, int64_t OC,
                      int64_t KH, int64_t KW, int64_t SH, int64_t SW, lt_padding p) {
    if (dims == 1) { H = 1; KH = 1; SH = 1; }
    lt_conv_opts o = {OC, KH, KW, SH, SW, p, LT_ACT_NONE, 1};
    lt_layer *l = dims == 2 ? lt_conv2d_new(&o) : lt_conv1d_new(&o);
    int64_t in2[3] = {H, W, C}, in1[2] = {W, C};
    LT_ASSERT(l && lt_layer_setup(l, dims + 1, dims == 2 ? in2 : in1) == LT_OK);
    LT_ASSERT(lt_layer_build(l, &rng) == LT_OK);
    geom g = {N, H, W, C, OC, KH, KW, SH, SW, 0, 0, 0, 0};
    g.OH = out_len(H, KH, SH, p, &g.PT);
    g.OW = out_len(W, KW, SW, p, &g.PL);
    LT_ASSERT(g.OH * g.OW * OC == l->out_size);
    size_t nx = (size_t)(N * H * W * C), ny = (size_t)(N * l->out_size);
    float *x = malloc(nx * 4), *dy = malloc(ny * 4), *y = malloc(ny * 4), *dx = malloc(nx * 4);
    float *dw = malloc((size_t)l->nw * 4), *db = malloc((size_t)OC * 4);
    for (size_t i = 0; i < nx; i++) x[i] = uni();
    for (size_t i = 0; i < ny; i++) dy[i] = uni();
    for (int64_t i = 0; i < l->nw; i++) l->w->data[i] = uni();
    for (int64_t i = 0; i < OC; i++) l->b->data[i] = uni();
    conv_naive(&g, x, l->w->data, l->b->data, dy, y, dx, dw, db);
    char name[160];
    snprintf(name, sizeof name, "%s conv%dd N%lld %lldx%lldx%lld->%lld k%lldx%lld s%lldx%lld %s",
             lt_isa_name(lt_isa()), dims, (long long)N, (long long)H, (long long)W, (long long)C,
             (long long)OC, (long long)KH, (long long)KW, (long long)SH, (long long)SW,
             p == LT_PAD_SAME ? "same" : "valid");
    double tol = 1e-5 * (double)(KH * KW * C + N * g.OH * g.OW) + 1e-5;
    layer_vs(l, N, x, y, dy, dx, dw, db, tol, name);
    free(x); free(dy); free(y); free(dx); free(dw); free(db);
    lt_layer_free(l);
}

static void dense_case(int64_t N, int64_t in, int64_t units) {
    lt_layer *l = lt_dense_new(units, LT_ACT_NONE, 1);
    LT_ASSERT(l && lt_layer_setup(l, 1, &in) == LT_OK && lt_layer_build(l, &rng) == LT_OK);
    size_t nx = (size_t)(N * in), ny = (size_t)(N * units), nw = (size_t)(in * units);
    float *x = malloc(nx * 4), *dy = malloc(ny * 4), *y = malloc(ny * 4), *dx = malloc(nx * 4);
    float *dw = malloc(nw * 4), *db = malloc((size_t)units * 4);
    for (size_t i = 0; i < nx; i++) x[i] = uni();
    for (size_t i = 0; i < ny; i++) dy[i] = uni();
    for (size_t i = 0; i < nw; i++) l->w->data[i] = uni();
    for (int64_t i = 0; i < units; i++) l->b->data[i] = uni();
    for (int64_t n = 0; n < N; n++)
        for (int64_t u = 0; u < units; u++) {
            double s = l->b->data[u];
            for (int64_t i = 0; i < in; i++) s += (double)x[n * in + i] * l->w->data[i * units + u];
            y[n * units + u] = (float)s;
        }
    for (int64_t i = 0; i < in; i++)
        for (int64_t u = 0; u < units; u++) {
            double s = 0;
            for (int64_t n = 0; n < N; n++) s += (double)x[n * in + i] * dy[n * units + u];
            dw[i * units + u] = (float)s;
        }
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < in; i++) {
            double s = 0;
            for (int64_t u = 0; u < units; u++)
                s += (double)dy[n * units + u] * l->w->data[i * units + u];
            dx[n * in + i] = (float)s;
        }
    for (int64_t u = 0; u < units; u++) {
        double s = 0;
        for (int64_t n = 0; n < N; n++) s += dy[n * units + u];
        db[u] = (float)s;
    }
    char name[120];
    snprintf(name, sizeof name, "%s dense N%lld %lld->%lld", lt_isa_name(lt_isa()), (long long)N,
             (long long)in, (long long)units);
    layer_vs(l, N, x, y, dy, dx, dw, db, 1e-5 * (double)(in + units + N) + 1e-5, name);
    free(x); free(dy); free(y); free(dx); free(dw); free(db);
    lt_layer_free(l);
}

/* Dropout's mask (kernels/mask.h) on the path in use against its definition, written out
 * with eight scalar generators: lt_rng_seed(seed + l), element 16g + e from the g-th output
 * of generator e/2 (its low half for even e), dropped (× 0) below thr, else × scale; bit
 * for bit, the NaN of a dropped NaN or infinity included, in place or not, and the state
 * left after the whole steps drawn. */
static void mask_case(int64_t n, uint64_t seed, uint32_t thr, float scale, int in_place) {
    float *in = malloc((size_t)(n + 1) * 4), *out = malloc((size_t)(n + 1) * 4),
          *ref = malloc((size_t)(n + 1) * 4);
    for (int64_t i = 0; i < n; i++) in[i] = uni() * 4 - 2;
    if (n > 3) in[1] = NAN, in[3] = INFINITY;
    lt_rng g[8];
    for (int l = 0; l < 8; l++) lt_rng_seed(&g[l], seed + (uint64_t)l);
    for (int64_t i = 0; i < n; i += 16) {
        uint64_t u[8];
        for (int l = 0; l < 8; l++) u[l] = lt_rng_next(&g[l]);
        for (int e = 0; e < 16 && i + e < n; e++) {
            uint32_t h = (uint32_t)(e % 2 ? u[e / 2] >> 32 : u[e / 2]);
            ref[i + e] = in[i + e] * (h >= thr ? scale : 0.0f);
        }
    }
    lt_rng8 r;
    lt_rng8_seed(&r, seed);
    if (in_place) {
        memcpy(out, in, (size_t)n * 4);
        lt_mask_apply(&r, thr, scale, out, out, n);
    } else {
        lt_mask_apply(&r, thr, scale, in, out, n);
    }
    int same = 1;
    for (int64_t i = 0; i < n; i++) same &= memcmp(&out[i], &ref[i], 4) == 0;
    for (int l = 0; l < 8; l++)
        for (int k = 0; k < 4; k++) same &= r.s[k][l] == g[l].s[k];
    char msg[128];
    snprintf(msg, sizeof msg, "%s dropout mask: n %lld, thr %u, %s = its definition",
             lt_isa_name(lt_isa()), (long long)n, (unsigned)thr, in_place ? "in place" : "apart");
    CHECK(same, msg);
    free(in); free(out); free(ref);
}

static void mask_tests(void) {
    static const int64_t sizes[] = {0, 1, 15, 16, 17, 33, 1000, 36864};
    for (int i = 0; i < 8; i++)
        mask_case(sizes[i], 1000 + (uint64_t)i, i % 2 ? 0x80000000u : 0x33333333u, 1.25f,
                  i % 3 == 0);
    mask_case(100, 7, 0, 1.0f, 0);                 /* rate 0: all kept */
    mask_case(100, 7, 0xFFFFFFF0u, 16.0f, 1);      /* nearly all dropped */
    mask_case(100, UINT64_MAX - 3, 0xF0000000u, 2.0f, 0);   /* the seeds wrap */
}

static void patches_name(char *buf, size_t n, const char *what, int64_t N, int64_t H,
                         int64_t W, int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t SH,
                         int64_t SW) {
    snprintf(buf, n, "%s patches %s N%lld %lldx%lldx%lld->%lld k%lldx%lld s%lldx%lld",
             lt_isa_name(lt_isa()), what, (long long)N, (long long)H, (long long)W,
             (long long)C, (long long)OC, (long long)KH, (long long)KW, (long long)SH,
             (long long)SW);
}

/* A weight gradient with the patches read where they lie (lt_sgemm_patches) against
 * colsᵀ·dz summed in double from lt_im2col's cols, on 1 and 2 threads (the same bits); on
 * paths without the kernel, a refusal that leaves dW as it was. */
static void patches_case(int64_t N, int64_t H, int64_t W, int64_t C, int64_t OC, int64_t KH,
                         int64_t KW, int64_t SH, int64_t SW) {
    lt_conv_geom g = {N, H, W, C, KH, KW, SH, SW, 0, 0, (H - KH) / SH + 1, (W - KW) / SW + 1};
    int64_t K = KH * KW * C, M = N * g.OH * g.OW;
    float *x = malloc((size_t)(N * H * W * C) * 4), *dz = malloc((size_t)(M * OC) * 4);
    float *cols = malloc((size_t)(M * K) * 4), *dw1 = malloc((size_t)(K * OC) * 4),
          *dw2 = malloc((size_t)(K * OC) * 4), *ref = malloc((size_t)(K * OC) * 4);
    const float **rows = malloc((size_t)M * sizeof *rows);
    for (int64_t i = 0; i < N * H * W * C; i++) x[i] = uni();
    for (int64_t i = 0; i < M * OC; i++) dz[i] = uni();
    for (int64_t i = 0; i < K * OC; i++) dw1[i] = dw2[i] = uni();   /* dW += ...: a start */
    lt_im2col(&g, x, 0, M, cols);
    for (int64_t k = 0; k < K; k++)
        for (int64_t o = 0; o < OC; o++) {
            double sum = dw1[k * OC + o];
            for (int64_t m = 0; m < M; m++) sum += (double)cols[m * K + k] * dz[m * OC + o];
            ref[k * OC + o] = (float)sum;
        }
    int64_t m = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < g.OH; oh++)
            for (int64_t ow = 0; ow < g.OW; ow++)
                rows[m++] = x + ((n * H + oh * SH) * W + ow * SW) * C;
    int ok1 = lt_sgemm_patches(lt_isa(), (int)K, (int)OC, (int)M, rows, (int)(KW * C),
                               (long)(W * C), dz, dw1, 1);
    int ok2 = lt_sgemm_patches(lt_isa(), (int)K, (int)OC, (int)M, rows, (int)(KW * C),
                               (long)(W * C), dz, dw2, 2);
    char msg[160];
    patches_name(msg, sizeof msg, "dW", N, H, W, C, OC, KH, KW, SH, SW);
    int want = lt_sgemm_patches_ok(lt_isa(), K, OC, KW * C);
    CHECK(ok1 == want && ok2 == want, msg);
    if (want) {
        check_close(dw1, ref, (size_t)(K * OC), 1e-5 * (double)M + 1e-5, msg);
        CHECK(memcmp(dw1, dw2, (size_t)(K * OC) * 4) == 0, msg);
    } else {
        CHECK(memcmp(dw1, dw2, (size_t)(K * OC) * 4) == 0 && dw1[0] != ref[0], msg);
    }
    free(x); free(dz); free(cols); free(dw1); free(dw2); free(ref); free(rows);
}

/* An input gradient added at the patches (lt_sgemm_patches_dx) against dz·Wᵀ summed in
 * double and scattered patch by patch, on 1 and 2 threads (the same bits); on paths
 * without the kernel, a refusal that leaves dx as it was. */
static void patches_dx_case(int64_t N, int64_t H, int64_t W, int64_t C, int64_t OC,
                            int64_t KH, int64_t KW, int64_t SH, int64_t SW) {
    int64_t OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1, K = KH * KW * C, M = N * OH * OW;
    size_t nx = (size_t)(N * H * W * C);
    float *dz = malloc((size_t)(M * OC) * 4), *w = malloc((size_t)(K * OC) * 4);
    float *dx1 = malloc(nx * 4), *dx2 = malloc(nx * 4);
    double *ref = calloc(nx, sizeof *ref);
    float **rows1 = malloc((size_t)M * sizeof *rows1), **rows2 = malloc((size_t)M * sizeof *rows2);
    for (int64_t i = 0; i < M * OC; i++) dz[i] = uni();
    for (int64_t i = 0; i < K * OC; i++) w[i] = uni();
    for (size_t i = 0; i < nx; i++) ref[i] = dx1[i] = dx2[i] = uni();   /* dx += ...: a start */
    int64_t m = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++, m++) {
                int64_t at = ((n * H + oh * SH) * W + ow * SW) * C;
                rows1[m] = dx1 + at;
                rows2[m] = dx2 + at;
                for (int64_t i = 0; i < K; i++) {
                    double sum = 0;
                    for (int64_t o = 0; o < OC; o++) sum += (double)dz[m * OC + o] * w[i * OC + o];
                    ref[at + i / (KW * C) * W * C + i % (KW * C)] += sum;
                }
            }
    int ok1 = lt_sgemm_patches_dx(lt_isa(), (int)M, (int)K, (int)OC, dz, w, rows1,
                                  (int)(KW * C), (long)(W * C), (int)(OH * OW), 1);
    int ok2 = lt_sgemm_patches_dx(lt_isa(), (int)M, (int)K, (int)OC, dz, w, rows2,
                                  (int)(KW * C), (long)(W * C), (int)(OH * OW), 2);
    char msg[160];
    patches_name(msg, sizeof msg, "dx", N, H, W, C, OC, KH, KW, SH, SW);
    int want = lt_sgemm_patches_dx_ok(lt_isa(), K, OC, KW * C);
    CHECK(ok1 == want && ok2 == want, msg);
    float *rf = malloc(nx * 4);
    for (size_t i = 0; i < nx; i++) rf[i] = (float)ref[i];
    if (want) check_close(dx1, rf, nx, 1e-5 * (double)(OC * 4) + 1e-5, msg);
    CHECK(memcmp(dx1, dx2, nx * 4) == 0 && (want || dx1[0] != rf[0]), msg);
    free(dz); free(w); free(dx1); free(dx2); free(ref); free(rf); free(rows1); free(rows2);
}

int main(void) {
    lt_rng_seed(&rng, 13);
    const char *env = getenv("LUNETTE_ISA");
    if (env && *env) {
        int want = lt_isa_parse(env);
        CHECK(want >= 0, "LUNETTE_ISA names a path");
        if (check_isa_missing()) return 77;
        CHECK((int)lt_isa() == want, "LUNETTE_ISA selects the path");
    }
    printf("path in use: %s (best here: %s)\n", lt_isa_name(lt_isa()),
           lt_isa_name(lt_isa_supported()));
    CHECK(lt_isa_parse("avx512") == LT_ISA_AVX512 && lt_isa_parse("avx2") == LT_ISA_AVX2 &&
          lt_isa_parse("generic") == LT_ISA_GENERIC && lt_isa_parse("sse") == -1,
          "LUNETTE_ISA values");

    /* the GEMM of the chosen path (each path's own ctest run covers the others) */
    lt_isa_level isa = lt_isa();
    gemm_tests();
    mask_tests();
    patches_case(32, 15, 15, 32, 64, 3, 3, 2, 2);    /* the lesson model's conv2, conv3 */
    patches_case(32, 7, 7, 64, 128, 3, 3, 2, 2);
    patches_case(3, 9, 11, 4, 32, 3, 3, 1, 1);       /* runs of 12 floats, stride 1 */
    patches_case(2, 1, 40, 12, 96, 1, 5, 1, 3);      /* a Conv1D's, strided */
    patches_case(1, 1, 1, 12, 32, 1, 1, 1, 1);       /* one pixel */
    patches_case(40, 12, 12, 8, 64, 2, 3, 2, 1);     /* 4000 pixels: k blocks */
    patches_case(2, 8, 8, 3, 32, 3, 3, 1, 1);        /* runs of 9: no kernel */
    patches_case(2, 8, 8, 4, 48, 3, 3, 1, 1);        /* 48 columns: no kernel */
    patches_dx_case(32, 15, 15, 32, 64, 3, 3, 2, 2); /* the lesson model's conv2, conv3 */
    patches_dx_case(32, 7, 7, 64, 128, 3, 3, 2, 2);
    patches_dx_case(3, 9, 11, 16, 40, 3, 3, 1, 1);   /* stride 1: patches overlap more */
    patches_dx_case(5, 1, 40, 32, 7, 1, 3, 1, 2);    /* a Conv1D's, odd OC */
    patches_dx_case(1, 3, 3, 32, 1, 3, 3, 1, 1);     /* one pixel, one filter */
    patches_dx_case(200, 6, 6, 32, 16, 2, 2, 2, 2);  /* 1,800 pixels: blocks, two threads */
    patches_dx_case(2, 8, 8, 8, 32, 3, 3, 1, 1);     /* runs of 24: no kernel (AVX-512) */
    patches_dx_case(2, 8, 8, 3, 32, 3, 3, 1, 1);     /* runs of 9: no kernel */
    gemm_threads(isa, 0, 0, 100, 300, 200, 1.0f);   /* split on columns */
    gemm_threads(isa, 1, 1, 250, 70, 300, 1.0f);    /* split on rows */
    gemm_threads(isa, 1, 0, 1000, 1000, 20, 1.0f);
    gemm_threads(isa, 0, 1, 30, 1200, 500, 1.0f);
    gemm_threads(isa, 0, 1, 32, 1152, 1024, 0.0f);  /* a dense input gradient's shape */
    gemm_threads(isa, 0, 0, 1568, 64, 288, 0.0f);   /* a conv forward + bias + ReLU: rows */
    gemm_threads(isa, 0, 0, 32, 1024, 1152, 0.0f);  /* a dense forward + bias + ReLU */

    /* convolutions: the lesson's shapes, thin first layers (K <= 32), 1x1 ones (no
     * im2col), odd channel counts, one-pixel images, batch 1, strides, paddings */
    conv_case(2, 2, 32, 32, 3, 32, 3, 3, 2, 2, LT_PAD_VALID);
    conv_case(2, 3, 15, 15, 32, 64, 3, 3, 2, 2, LT_PAD_VALID);
    conv_case(2, 2, 7, 7, 64, 128, 3, 3, 2, 2, LT_PAD_VALID);
    conv_case(2, 1, 9, 7, 3, 16, 3, 3, 1, 1, LT_PAD_SAME);
    conv_case(2, 1, 1, 1, 5, 7, 1, 1, 1, 1, LT_PAD_VALID);     /* one pixel, 1x1 */
    conv_case(2, 3, 1, 1, 17, 20, 3, 3, 1, 1, LT_PAD_SAME);    /* one pixel, 3x3 same */
    conv_case(2, 1, 8, 6, 17, 33, 1, 1, 1, 1, LT_PAD_VALID);   /* 1x1: x is the cols */
    conv_case(2, 2, 8, 8, 16, 24, 1, 1, 2, 2, LT_PAD_VALID);   /* 1x1 stride 2 */
    conv_case(2, 2, 11, 5, 1, 48, 5, 2, 2, 3, LT_PAD_SAME);
    conv_case(2, 1, 6, 9, 33, 13, 2, 3, 3, 1, LT_PAD_SAME);
    conv_case(2, 2, 10, 10, 20, 80, 3, 3, 1, 1, LT_PAD_SAME);
    /* stride 1 with C a multiple of 16: dx by the direct kernel on the flipped kernel */
    conv_case(2, 2, 8, 8, 16, 16, 3, 3, 1, 1, LT_PAD_SAME);
    conv_case(2, 1, 1, 1, 32, 48, 3, 3, 1, 1, LT_PAD_SAME);
    conv_case(2, 3, 9, 7, 16, 24, 2, 3, 1, 1, LT_PAD_SAME);
    conv_case(2, 2, 7, 6, 32, 13, 3, 2, 1, 1, LT_PAD_VALID);
    conv_case(2, 1, 5, 5, 48, 5, 5, 5, 1, 1, LT_PAD_SAME);
    conv_case(1, 2, 1, 12, 16, 8, 1, 5, 1, 1, LT_PAD_SAME);
    conv_case(1, 2, 1, 20, 12, 32, 1, 5, 1, 2, LT_PAD_SAME);
    conv_case(1, 1, 1, 9, 40, 10, 1, 3, 1, 1, LT_PAD_VALID);
    for (int r = 0; r < 6; r++) {
        int64_t kh = 1 + below(4), kw = 1 + below(4);
        conv_case(2, 1 + below(3), kh + below(9), kw + below(9), 1 + below(40), 1 + below(70),
                  kh, kw, 1 + below(3), 1 + below(3), r % 2 ? LT_PAD_SAME : LT_PAD_VALID);
    }
    dense_case(32, 1152, 70);
    dense_case(1, 13, 1);
    dense_case(5, 300, 1030);    /* dx as its transpose (few rows, wide) */
    dense_case(70, 300, 20);     /* dx directly */
    dense_case(17, 33, 10);
    CHECK_DONE();
}

/* gemm_impl.h: the packed GEMM driver, included once per instruction set by gemm_avx512.c
 * and gemm_avx2.c after they define
 *   GEMM_NAME, GEMM_BUF          the driver's name and its buffer-size constant,
 *   GEMM_ADAM_NAME, GEMM_PATCHES_DX_NAME, adam_tile
 *                                the drivers below GEMM_NAME and Adam's step on a tile,
 *   MR, NR                       the micro-kernel's tile (NR floats: whole vectors),
 *   KC, MC, NC                   the cache blocks (MC a multiple of MR, NC of NR),
 *   micro_jr(kc, a, ak, ar, b, c, ldc, alpha, acc, bias, relu, J, R)   (always inline)
 *                                c = alpha·a·b (+ c when acc) (+ bias, then ReLU: the
 *                                epilogue of the last k block) on the tile's first R
 *                                rows and NR/2·J columns, row r of a at k being
 *                                a[k·ak + r·ar] (packed: ak = MR, ar = 1), b packed kc×NR,
 *   pack_rows(src, ld, kc, n, dst)
 *                                the transposing copies (vector transposes): n = MR or NR
 *                                rows of kc floats each, ld apart, to kc groups of n.
 * Loops (BLIS's order): columns in NC blocks → k in KC blocks (B block packed, in L2/L3)
 * → rows in MC blocks (A block packed, in L2, or read in place: read_a_in_place) → NR
 * panels (B panel stays in L1) → MR panels. The last rows and columns take the kernel of
 * the fewest thirds of MR rows and halves of NR columns that cover them; tiles they do not
 * fill exactly go through a local tile. The k blocks are split evenly (K = 288 is two
 * blocks of 144, not 256 + 32). Every C element is summed in the same order whatever the
 * split of rows or columns between threads, and whether A is packed or not.
 * GEMM_ADAM_NAME (lt_sgemm_adam) runs the same tiles, then adam_tile(s, t, i, j, mr, nr)
 * (the ISA's, always inline) on each: Adam's step on the tile t (mr×nr of MR×NR) at row i,
 * column j of w, m, v. GEMM_PATCHES_DX_NAME (lt_sgemm_patches_dx) adds each tile's rows
 * to a convolution's dx where their patches lie. */
#include <stdint.h>
#include <string.h>

/* The instantiations: thirds of MR rows (1..3), half or whole width; A packed (k-major, MR
 * values per k) or read in place: row r at k is a[k·ak + r·ar]. bias (the tile's columns'
 * or NULL) and relu: the epilogue of a product's last k block. */
#define MICRO_CASES(AK, AR)                                                                        \
    switch (thirds * 2 + half) {                                                                   \
    case 2: micro_jr(kc, a, AK, AR, b, c, ldc, alpha, acc, bias, relu, 2, MR / 3); break;          \
    case 3: micro_jr(kc, a, AK, AR, b, c, ldc, alpha, acc, bias, relu, 1, MR / 3); break;          \
    case 4: micro_jr(kc, a, AK, AR, b, c, ldc, alpha, acc, bias, relu, 2, 2 * MR / 3); break;      \
    case 5: micro_jr(kc, a, AK, AR, b, c, ldc, alpha, acc, bias, relu, 1, 2 * MR / 3); break;      \
    case 7: micro_jr(kc, a, AK, AR, b, c, ldc, alpha, acc, bias, relu, 1, MR); break;              \
    default: micro_jr(kc, a, AK, AR, b, c, ldc, alpha, acc, bias, relu, 2, MR); break;             \
    }

static void micro(int thirds, int half, int kc, const float *a, long ak, long ar,
                  const float *b, float *c, long ldc, float alpha, int acc, const float *bias,
                  int relu) {
    if (ak == MR && ar == 1) MICRO_CASES(MR, 1)       /* packed */
    else if (ar == 1) MICRO_CASES(ak, 1)              /* op(A) = Aᵀ: MR floats per k */
    else MICRO_CASES(1, ar)                           /* A's rows, each contiguous in k */
}
#undef MICRO_CASES

static void pack_a(int ta, const float *A, int lda, int i0, int p0, int mc, int kc, float *pa) {
    for (int ir = 0; ir < mc; ir += MR, pa += MR * kc) {
        int mr = mc - ir < MR ? mc - ir : MR;
        if (!ta && mr == MR) {
            pack_rows(A + (size_t)(i0 + ir) * lda + p0, lda, kc, MR, pa);
        } else if (!ta) {      /* op(A)[i][k] = A[i·lda + k]: rows to columns */
            for (int r = 0; r < mr; r++) {
                const float *src = A + (size_t)(i0 + ir + r) * lda + p0;
                for (int k = 0; k < kc; k++) pa[k * MR + r] = src[k];
            }
            for (int r = mr; r < MR; r++)
                for (int k = 0; k < kc; k++) pa[k * MR + r] = 0;
        } else if (mr == MR) { /* op(A)[i][k] = A[k·lda + i]: runs of MR floats */
            for (int k = 0; k < kc; k++)
                memcpy(pa + k * MR, A + (size_t)(p0 + k) * lda + i0 + ir, sizeof(float) * MR);
        } else {               /* runs of mr floats, the padding zeroed at once: a run's
                                * copy and zeros one by one took a quarter of the lesson
                                * model's first weight gradient (27 rows) */
            memset(pa, 0, sizeof(float) * MR * kc);
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(p0 + k) * lda + i0 + ir;
                for (int r = 0; r < mr; r++) pa[k * MR + r] = src[r];
            }
        }
    }
}

static void pack_b(int tb, const float *B, int ldb, int p0, int j0, int kc, int nc, float *pb) {
    if (!tb && nc % NR == 0) { /* whole panels: B read row by row (a Dense forward 3 % faster
                                * than panel by panel, 4 KB apart, with its kernel in L3) */
        for (int k = 0; k < kc; k++) {
            const float *src = B + (size_t)(p0 + k) * ldb + j0;
            for (int jr = 0; jr < nc; jr += NR)
                memcpy(pb + (size_t)jr * kc + k * NR, src + jr, sizeof(float) * NR);
        }
        return;
    }
    for (int jr = 0; jr < nc; jr += NR, pb += NR * kc) {
        int nr = nc - jr < NR ? nc - jr : NR;
        if (!tb) {             /* op(B)[k][j] = B[k·ldb + j]: runs of nr floats */
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(p0 + k) * ldb + j0 + jr;
                float *d = pb + k * NR;
                if (nr == NR) memcpy(d, src, sizeof(float) * NR);
                else {
                    int c = 0;
                    for (; c < nr; c++) d[c] = src[c];
                    for (; c < NR; c++) d[c] = 0;
                }
            }
        } else if (nr == NR) {
            pack_rows(B + (size_t)(j0 + jr) * ldb + p0, ldb, kc, NR, pb);
        } else {               /* op(B)[k][j] = B[j·ldb + k]: rows to columns */
            for (int c = 0; c < nr; c++) {
                const float *src = B + (size_t)(j0 + jr + c) * ldb + p0;
                for (int k = 0; k < kc; k++) pb[k * NR + c] = src[k];
            }
            for (int c = nr; c < NR; c++)
                for (int k = 0; k < kc; k++) pb[k * NR + c] = 0;
        }
    }
}

/* Whether the micro-kernel reads A where it is instead of from a packed copy: always for
 * op(A) = Aᵀ (each k's MR rows are already contiguous), and for A's rows when N is at most
 * 64 (a packed row block would serve only a few column panels, not enough to pay for the
 * transposing copy). Measured on the lesson models' products (tests/bench/gemm.c): the
 * convolutions' weight gradients 10-25 % faster, 16-64-channel forwards 5-25 %. */
static int read_a_in_place(int ta, int N) { return ta || N <= 64; }

const size_t GEMM_BUF = (size_t)MC * KC + (size_t)KC * NC;

/* c + bias[j], then ReLU when relu (the epilogue, in lt_bias_act's operations). */
static inline float epilogue(float c, const float *bias, int j, int relu) {
    if (bias) c += bias[j];
    return relu ? (c > 0 ? c : 0) : c;
}

void GEMM_NAME(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc, const float *bias,
               int relu, float *buf) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f || (beta != 0.0f && beta != 1.0f)) {
        int none = K <= 0 || alpha == 0.0f;  /* C = beta·C first (BLAS: beta 0 overwrites) */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float *c = C + (size_t)i * ldc + j;
                *c = beta == 0.0f ? 0.0f : beta * *c;
                if (none) *c = epilogue(*c, bias, j, relu);
            }
        if (none) return;
        beta = 1.0f;
    }
    float *pa = buf, *pb = buf + (size_t)MC * KC;
    int kblocks = (K + KC - 1) / KC, kstep = (K + kblocks - 1) / kblocks;
    int direct = read_a_in_place(ta, N);
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        for (int pc = 0; pc < K; pc += kstep) {
            int kc = K - pc < kstep ? K - pc : kstep;
            int acc = pc > 0 || beta != 0.0f, final = pc + kc == K;
            const float *bj = final && bias ? bias + jc : NULL;
            int rl = final && relu;
            /* B's rows of NR floats, one after another and aligned, are its packed panel */
            int b_packed = !tb && N == NR && ldb == NR && (uintptr_t)B % 64 == 0;
            const float *bk = b_packed ? B + (size_t)pc * NR : pb;
            if (!b_packed) pack_b(tb, B, ldb, pc, jc, kc, nc, pb);
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                /* In place, a panel's kernel reads whole thirds of MR rows from A: the
                 * last panel, when its rows are not such, is packed (zero-padded). */
                int last = (mc - 1) / MR * MR, edge = (mc - last) % (MR / 3) ? last : mc;
                if (!direct) pack_a(ta, A, lda, ic, pc, mc, kc, pa);
                else if (edge < mc) pack_a(ta, A, lda, ic + edge, pc, mc - edge, kc, pa);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR) {
                        float *c = C + (size_t)(ic + ir) * ldc + jc + jr;
                        const float *a = pa + (size_t)ir * kc, *b = bk + (size_t)jr * kc;
                        long ak = MR, ar = 1;
                        if (direct && ir < edge) {
                            a = ta ? A + (size_t)pc * lda + ic + ir
                                   : A + (size_t)(ic + ir) * lda + pc;
                            ak = ta ? lda : 1;
                            ar = ta ? 1 : lda;
                        } else if (direct) {
                            a = pa;
                        }
                        int mr = mc - ir < MR ? mc - ir : MR, nr = nc - jr < NR ? nc - jr : NR;
                        int thirds = (3 * mr + MR - 1) / MR, half = nr <= NR / 2;
                        if (mr * 3 == thirds * MR && nr == (half ? NR / 2 : NR)) {
                            micro(thirds, half, kc, a, ak, ar, b, c, ldc, alpha, acc,
                                  bj ? bj + jr : NULL, rl);
                            continue;
                        }
                        float t[MR * NR] __attribute__((aligned(64)));
                        micro(thirds, half, kc, a, ak, ar, b, t, NR, alpha, 0, NULL, 0);
                        for (int i = 0; i < mr; i++)
                            for (int j = 0; j < nr; j++) {
                                float *ci = c + (size_t)i * ldc + j;
                                float v = acc ? *ci + t[i * NR + j] : t[i * NR + j];
                                *ci = bj || rl ? epilogue(v, bj, jr + j, rl) : v;
                            }
                    }
            }
        }
    }
}

/* G = Aᵀ·B (A: K×M, B: K×N) by tiles, each given to Adam's step at once (gemm.h,
 * lt_sgemm_adam): B packed by blocks of NC columns, A by panels of MR rows of G (K×MR
 * floats), and every tile through t, so that the step reads it from L1. One k block: the
 * tile's sums are those of GEMM_NAME. */
int GEMM_ADAM_NAME(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                   const lt_adam_step *s, float *buf) {
    if (K > KC) return 0;
    float *pa = buf, *pb = buf + (size_t)MC * KC;
    float t[MR * NR] __attribute__((aligned(64)));
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        pack_b(0, B, ldb, 0, jc, K, nc, pb);
        for (int ir = 0; ir < M; ir += MR) {
            int mr = M - ir < MR ? M - ir : MR, thirds = (3 * mr + MR - 1) / MR;
            pack_a(1, A, lda, ir, 0, mr, K, pa);
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = nc - jr < NR ? nc - jr : NR, half = nr <= NR / 2;
                micro(thirds, half, K, pa, MR, 1, pb + (size_t)jr * K, t, NR, 1.0f, 0, NULL, 0);
                adam_tile(s, t, ir, jc + jr, mr, nr, N);
            }
        }
    }
    return 1;
}

/* dx += dz·Wᵀ row by row at the patches (gemm.h, lt_sgemm_patches_dx), for pixels
 * [p0, p1): Wᵀ packed whole (OC ≤ KC rows, K ≤ NC columns), dz by blocks of MC pixels;
 * each tile of MR pixels × NR floats of their patches (one run's: seg is a multiple of NR)
 * goes through t and is added to dx, pixel after pixel. The blocks start at multiples of MC
 * whatever p0 is, so that a float of dx shared by patches gets their rows in the same order
 * (block, then column panel, then pixel) on one thread or two. */
void GEMM_PATCHES_DX_NAME(int p0, int p1, int K, int OC, const float *dz, const float *W,
                          float *const *rows, int seg, long jump, float *buf) {
    float *pa = buf, *pb = buf + (size_t)MC * KC;
    float t[MR * NR] __attribute__((aligned(64)));
    pack_b(1, W, OC, 0, 0, OC, K, pb);
    for (int ic = p0, next; ic < p1; ic = next) {
        next = (ic / MC + 1) * MC < p1 ? (ic / MC + 1) * MC : p1;
        int mc = next - ic;
        pack_a(0, dz, OC, ic, 0, mc, OC, pa);
        for (int jr = 0; jr < K; jr += NR) {
            long off = (long)(jr / seg) * jump + jr % seg;
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = mc - ir < MR ? mc - ir : MR, thirds = (3 * mr + MR - 1) / MR;
                micro(thirds, 0, OC, pa + (size_t)ir * OC, MR, 1, pb + (size_t)jr * OC, t, NR,
                      1.0f, 0, NULL, 0);
                for (int r = 0; r < mr; r++) {
                    float *d = rows[ic + ir + r] + off;
                    for (int j = 0; j < NR; j++) d[j] += t[r * NR + j];
                }
            }
        }
    }
}

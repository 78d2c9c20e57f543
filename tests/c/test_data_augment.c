/* test_data_augment.c: augmentation invariants and hand-computed transforms:
 * flipping twice under one seed is the identity, zero factors are the identity,
 * a 90° rotation, a one-pixel shift and a 2× zoom-out with 'reflect' fill match
 * index maps worked out by hand; shapes and value ranges are kept; a seed
 * reproduces the output. Also times a CIFAR-sized batch of 32. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "data/augment.h"

static lt_tensor *image(int64_t n, int64_t h, int64_t w, int64_t c) {
    int64_t shape[4] = {n, h, w, c};
    lt_tensor *t = lt_tensor_new(4, shape);
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = (float)((i * 37) % 101);
    return t;
}

static lt_tensor *like(const lt_tensor *x) { return lt_tensor_new(x->ndim, x->shape); }

static void test_identities(void) {
    lt_tensor *x = image(6, 5, 7, 3), *y = like(x), *z = like(x);
    lt_augment_opts o;
    lt_augment_defaults(&o);
    lt_rng r;
    lt_rng_seed(&r, 1);
    CHECK(lt_augment(x, y, &o, &r) == LT_OK, "zero factors run");
    check_close(y->data, x->data, (size_t)x->numel, 0, "zero factors are the identity");
    o.flip = LT_FLIP_H;
    lt_rng_seed(&r, 42);
    lt_augment(x, y, &o, &r);
    lt_rng_seed(&r, 42);
    lt_augment(y, z, &o, &r);
    check_close(z->data, x->data, (size_t)x->numel, 0, "horizontal flip twice is the identity");
    int flipped = 0, kept = 0;         /* each image is either mirrored or untouched */
    for (int n = 0; n < 6; n++) {
        int mirrored = 1, same = 1;
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 7; j++)
                for (int c = 0; c < 3; c++) {
                    float a = y->data[((n * 5 + i) * 7 + j) * 3 + c];
                    if (a != x->data[((n * 5 + i) * 7 + (6 - j)) * 3 + c]) mirrored = 0;
                    if (a != x->data[((n * 5 + i) * 7 + j) * 3 + c]) same = 0;
                }
        flipped += mirrored;
        kept += same;
    }
    CHECK(flipped + kept == 6 && flipped > 0 && kept > 0, "flip: images mirrored or kept");
    o.flip = LT_FLIP_H | LT_FLIP_V;
    lt_rng_seed(&r, 7);
    lt_augment(x, y, &o, &r);
    lt_rng_seed(&r, 7);
    lt_augment(y, z, &o, &r);
    check_close(z->data, x->data, (size_t)x->numel, 0, "both flips twice is the identity");
    lt_tensor_free(x); lt_tensor_free(y); lt_tensor_free(z);
}

/* out[y][x] for a 1-channel image, compared with in[ry][rx] from a hand-made map. */
static void check_map(const char *name, const lt_augment_opts *o, int h, int w,
                      const int *map_y, const int *map_x) {
    lt_tensor *x = image(1, h, w, 1), *y = like(x);
    lt_rng r;
    lt_rng_seed(&r, 3);
    CHECK(lt_augment(x, y, o, &r) == LT_OK, name);
    float *want = malloc(sizeof(float) * (size_t)(h * w));
    for (int i = 0; i < h * w; i++) want[i] = x->data[map_y[i] * w + map_x[i]];
    check_close(y->data, want, (size_t)(h * w), 1e-4, name);
    free(want);
    lt_tensor_free(x); lt_tensor_free(y);
}

static void test_known(void) {
    lt_augment_opts o;
    /* Rotation by a quarter turn, counter-clockwise (Keras: positive factor): numpy's
     * rot90 of [[a b c] [d e f] [g h i]] is [[c f i] [b e h] [a d g]], so
     * out[y][x] = in[x][W-1-y]. */
    lt_augment_defaults(&o);
    o.rotation[0] = o.rotation[1] = 0.25f;
    int ry3[9], rx3[9];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) { ry3[y * 3 + x] = x; rx3[y * 3 + x] = 2 - y; }
    check_map("rotation 90 ccw 3x3", &o, 3, 3, ry3, rx3);
    int ry4[16], rx4[16];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) { ry4[y * 4 + x] = x; rx4[y * 4 + x] = 3 - y; }
    check_map("rotation 90 ccw 4x4", &o, 4, 4, ry4, rx4);
    o.rotation[0] = o.rotation[1] = -0.5f;      /* half a turn: out[y][x] = in[H-1-y][W-1-x] */
    int ryh[12], rxh[12];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) { ryh[y * 4 + x] = 2 - y; rxh[y * 4 + x] = 3 - x; }
    check_map("rotation 180 on 3x4", &o, 3, 4, ryh, rxh);

    /* Translation right by 0.25 of W=4 = one pixel: out[y][x] = in[y][x-1], and the
     * column at x=-1 reflects to column 0 (d c b a | a b c d). */
    lt_augment_defaults(&o);
    o.translate_w[0] = o.translate_w[1] = 0.25f;
    int ty[12], tx[12];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) { ty[y * 4 + x] = y; tx[y * 4 + x] = x == 0 ? 0 : x - 1; }
    check_map("translate right 1 px, reflect", &o, 3, 4, ty, tx);
    /* Down by 1/3 of H=3 = one row, constant fill 0 would leave row 0 at 0: check wrap. */
    o.translate_w[0] = o.translate_w[1] = 0;
    o.translate_h[0] = o.translate_h[1] = 1.0f / 3;
    o.fill = LT_FILL_WRAP;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) { ty[y * 4 + x] = (y + 2) % 3; tx[y * 4 + x] = x; }
    check_map("translate down 1 px, wrap", &o, 3, 4, ty, tx);

    /* Zoom out 2× (factor +1) on 5×5: x_in = 2 + 2(x-2) = -2, 0, 2, 4, 6; reflect maps
     * -2 → 1 and 6 → 3 (period 10: c → 9 - c beyond the edge). */
    lt_augment_defaults(&o);
    o.zoom_h[0] = o.zoom_h[1] = 1;
    o.zoom_keep_aspect = 1;
    int zmap[5] = {1, 0, 2, 4, 3}, zy[25], zx[25];
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) { zy[y * 5 + x] = zmap[y]; zx[y * 5 + x] = zmap[x]; }
    check_map("zoom out 2x, reflect", &o, 5, 5, zy, zx);
    o.fill = LT_FILL_NEAREST;                      /* -2 → 0, 6 → 4 */
    int nmap[5] = {0, 0, 2, 4, 4};
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) { zy[y * 5 + x] = nmap[y]; zx[y * 5 + x] = nmap[x]; }
    check_map("zoom out 2x, nearest fill", &o, 5, 5, zy, zx);

    /* Constant fill: shift by 1 px right leaves column 0 at fill_value. */
    lt_augment_defaults(&o);
    o.translate_w[0] = o.translate_w[1] = 0.25f;
    o.fill = LT_FILL_CONSTANT;
    o.fill_value = -5;
    lt_tensor *x = image(1, 2, 4, 1), *y = like(x);
    lt_augment(x, y, &o, NULL);
    float want[8] = {-5, x->data[0], x->data[1], x->data[2], -5, x->data[4], x->data[5], x->data[6]};
    check_close(y->data, want, 8, 1e-5, "constant fill");
    /* Bilinear halfway: shift by half a pixel averages neighbours. */
    lt_augment_defaults(&o);
    o.translate_w[0] = o.translate_w[1] = 0.125f;
    o.fill = LT_FILL_NEAREST;
    lt_augment(x, y, &o, NULL);
    float half[8] = {x->data[0], (x->data[0] + x->data[1]) / 2, (x->data[1] + x->data[2]) / 2,
                     (x->data[2] + x->data[3]) / 2, x->data[4], (x->data[4] + x->data[5]) / 2,
                     (x->data[5] + x->data[6]) / 2, (x->data[6] + x->data[7]) / 2};
    check_close(y->data, half, 8, 1e-4, "bilinear half-pixel shift");
    lt_tensor_free(x); lt_tensor_free(y);
}

static void test_random(void) {
    lt_tensor *x = image(32, 32, 32, 3), *y = like(x), *z = like(x);
    lt_augment_opts o;
    lt_augment_defaults(&o);
    o.flip = LT_FLIP_H;
    o.rotation[0] = -0.1f; o.rotation[1] = 0.1f;
    o.zoom_h[0] = -0.1f; o.zoom_h[1] = 0.1f; o.zoom_keep_aspect = 1;
    o.translate_h[0] = o.translate_w[0] = -0.1f; o.translate_h[1] = o.translate_w[1] = 0.1f;
    lt_rng r;
    lt_rng_seed(&r, 99);
    CHECK(lt_augment(x, y, &o, &r) == LT_OK, "random augment runs");
    float lo = 1e30f, hi = -1e30f;
    for (int64_t i = 0; i < y->numel; i++) {
        if (y->data[i] < lo) lo = y->data[i];
        if (y->data[i] > hi) hi = y->data[i];
    }
    CHECK(lo >= 0 && hi <= 100, "value range kept (bilinear is a convex combination)");
    lt_rng_seed(&r, 99);
    lt_augment(x, z, &o, &r);
    check_close(z->data, y->data, (size_t)y->numel, 0, "same seed, same output");
    lt_rng_seed(&r, 100);
    lt_augment(x, z, &o, &r);
    double diff = 0;
    for (int64_t i = 0; i < z->numel; i++) diff += fabs(z->data[i] - y->data[i]);
    CHECK(diff > 0, "another seed, another output");

    /* every fill mode and interpolation, with large factors: stays in bounds (ASan) */
    lt_tensor *sx = image(40, 3, 5, 2), *sy = like(sx);
    lt_augment_opts big = o;
    big.rotation[0] = -1; big.rotation[1] = 1;
    big.zoom_h[0] = -0.9f; big.zoom_h[1] = 3; big.zoom_w[0] = -0.5f; big.zoom_w[1] = 2;
    big.zoom_keep_aspect = 0;
    big.translate_h[0] = big.translate_w[0] = -2; big.translate_h[1] = big.translate_w[1] = 2;
    int all_ok = 1;
    for (int fill = 0; fill < 4; fill++)
        for (int in = 0; in < 2; in++) {
            big.fill = (lt_fill_mode)fill;
            big.interp = (lt_interp)in;
            big.fill_value = 50;
            if (lt_augment(sx, sy, &big, &r) != LT_OK) all_ok = 0;
            for (int64_t i = 0; i < sy->numel; i++)
                if (!(sy->data[i] >= 0 && sy->data[i] <= 100)) all_ok = 0;
        }
    CHECK(all_ok, "every fill and interpolation keeps values in range");
    lt_tensor_free(sx); lt_tensor_free(sy);

    /* cost per CIFAR batch of 32 with every transform on */
    int reps = 200;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < reps; k++) lt_augment(x, y, &o, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / reps;
    printf("augment: %.3f ms per batch of 32x32x32x3 (flip+rotation+zoom+translation)\n", ms);
    CHECK(ms < 50, "augmenting a CIFAR batch is cheap");

    /* errors */
    int64_t s3[3] = {2, 2, 2};
    lt_tensor *bad = lt_tensor_new(2, s3);
    CHECK(lt_augment(bad, bad, &o, &r) == LT_ESHAPE, "2-d input refused");
    CHECK(strstr(lt_lasterror(), "augment: expected images N×H×W×C or H×W×C, got shape 2x2") != NULL,
          "2-d input message");
    CHECK(lt_augment(x, x, &o, &r) == LT_EARG, "in-place refused");
    o.zoom_h[0] = -1.5f;
    CHECK(lt_augment(x, y, &o, &r) == LT_EARG, "zoom below -1 refused");
    CHECK(strstr(lt_lasterror(), "augment: zoom height lower bound -1.5 must be greater than -1") != NULL,
          "zoom message");
    lt_tensor_free(bad);
    lt_tensor_free(x); lt_tensor_free(y); lt_tensor_free(z);
}

/* The adjoint test: <A·x, r> = <x, Aᵀ·r> for the map A a forward pass recorded. */
static void test_backward(void) {
    int64_t N = 6, H = 5, W = 7, C = 2, n = N * H * W * C;
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    float *r = malloc(sizeof(float) * (size_t)n), *dx = malloc(sizeof(float) * (size_t)n);
    float *maps = malloc(sizeof(float) * (size_t)(8 * N));
    lt_rng g;
    lt_rng_seed(&g, 5);
    for (int64_t i = 0; i < n; i++) { x[i] = lt_rng_uniform(&g) - 0.5f; r[i] = lt_rng_uniform(&g) - 0.5f; }
    for (int mode = 0; mode < 5; mode++) {
        lt_augment_opts o;
        lt_augment_defaults(&o);
        o.flip = LT_FLIP_H | LT_FLIP_V;
        if (mode > 0) {
            o.rotation[0] = -0.2f; o.rotation[1] = 0.2f;
            o.zoom_h[0] = -0.3f; o.zoom_h[1] = 0.5f; o.zoom_keep_aspect = 1;
            o.translate_w[0] = -0.3f; o.translate_w[1] = 0.3f;
            o.fill = (lt_fill_mode)(mode - 1);
        }
        CHECK(lt_augment_raw(x, y, N, H, W, C, &o, &g, maps) == LT_OK, "raw forward");
        lt_augment_backward(r, dx, N, H, W, C, &o, maps);
        double lhs = 0, rhs = 0;
        for (int64_t i = 0; i < n; i++) { lhs += (double)y[i] * r[i]; rhs += (double)x[i] * dx[i]; }
        char name[64];
        snprintf(name, sizeof name, "adjoint <Ax,r> = <x,A'r> (mode %d): %g vs %g", mode, lhs, rhs);
        CHECK(fabs(lhs - rhs) < 1e-4 * (1 + fabs(lhs)), name);
    }
    free(x); free(y); free(r); free(dx); free(maps);
}

int main(void) {
    test_backward();
    test_identities();
    test_known();
    test_random();
    CHECK_DONE();
}

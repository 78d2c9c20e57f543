/* augment.c: random flips, rotations, zooms and translations of image batches
 * (see augment.h). Coordinates are pixel indices (x column, y row, origin at the top
 * left pixel's centre); matrices map an output pixel to the input position it reads,
 * like the TensorFlow ImageProjectiveTransform op Keras uses:
 *   x_in = m[0]·x + m[1]·y + m[2],   y_in = m[3]·x + m[4]·y + m[5]. */
#include "data/augment.h"

#include <math.h>
#include <string.h>

void lt_augment_defaults(lt_augment_opts *o) {
    memset(o, 0, sizeof *o);
    o->fill = LT_FILL_REFLECT;
    o->interp = LT_INTERP_BILINEAR;
}

/* ---- the per-image map ---- */

static void compose(double *a, const double *b) {      /* a = a·b (2×3 affine, row 3 = 0 0 1) */
    double r[6] = {a[0] * b[0] + a[1] * b[3], a[0] * b[1] + a[1] * b[4],
                   a[0] * b[2] + a[1] * b[5] + a[2], a[3] * b[0] + a[4] * b[3],
                   a[3] * b[1] + a[4] * b[4], a[3] * b[2] + a[4] * b[5] + a[5]};
    memcpy(a, r, sizeof r);
}

static int active(const float *r) { return r[0] != 0 || r[1] != 0; }

static double draw(lt_rng *rng, const float *r) {
    return r[0] + (double)(r[1] - r[0]) * lt_rng_uniform(rng);
}

/* Draws one image's transform. Returns 1 when it is a pure flip (or the identity):
 * then *fx, *fy say which axes flip and no interpolation is needed. */
static int draw_map(const lt_augment_opts *o, lt_rng *rng, int64_t H, int64_t W, double *m,
                    int *fx, int *fy) {
    double w1 = (double)(W - 1), h1 = (double)(H - 1), cx = w1 / 2, cy = h1 / 2;
    *fx = (o->flip & LT_FLIP_H) && lt_rng_uniform(rng) < 0.5f;
    *fy = (o->flip & LT_FLIP_V) && lt_rng_uniform(rng) < 0.5f;
    double f[6] = {*fx ? -1 : 1, 0, *fx ? w1 : 0, 0, *fy ? -1 : 1, *fy ? h1 : 0};
    memcpy(m, f, sizeof f);
    int simple = 1;
    if (active(o->rotation)) {
        /* Keras get_rotation_matrix: rotation by θ about ((W-1)/2, (H-1)/2). */
        double th = 2 * M_PI * draw(rng, o->rotation), c = cos(th), s = sin(th);
        double r[6] = {c, -s, (w1 - (c * w1 - s * h1)) / 2, s, c, (h1 - (s * w1 + c * h1)) / 2};
        compose(m, r);
        simple = 0;
    }
    if (active(o->zoom_h) || active(o->zoom_w)) {
        /* Keras get_zoom_matrix: x_in = cx + zx·(x - cx); zoom = 1 + factor. */
        double zy = 1 + draw(rng, o->zoom_h);
        double zx = o->zoom_keep_aspect ? zy : 1 + draw(rng, o->zoom_w);
        double z[6] = {zx, 0, cx * (1 - zx), 0, zy, cy * (1 - zy)};
        compose(m, z);
        simple = 0;
    }
    if (active(o->translate_h) || active(o->translate_w)) {
        double dy = draw(rng, o->translate_h) * (double)H, dx = draw(rng, o->translate_w) * (double)W;
        double t[6] = {1, 0, -dx, 0, 1, -dy};
        compose(m, t);
        simple = 0;
    }
    return simple;
}

/* ---- sampling ---- */

/* Maps a coordinate outside [0, n-1] back inside, for the non-constant fills
 * (TensorFlow's map_coordinate); the result is clamped to [0, n-1]. */
static float map_coord(float c, int64_t n, lt_fill_mode fill) {
    float len = (float)n;
    if (c >= 0 && c <= len - 1) return c;
    if (n <= 1 || !isfinite(c)) return 0;        /* huge factors: any in-range value will do */
    if (fill == LT_FILL_REFLECT) {               /* period 2n, mirrored about -0.5 and n-0.5 */
        float p = 2 * len;
        c = fmodf(c, p);
        if (c < 0) c += p;
        if (c >= len) c = p - 1 - c;
    } else if (fill == LT_FILL_WRAP) {          /* [0, n): n-1 < c < n blends n-1 with 0 */
        c = fmodf(c, len);
        if (c < 0) c += len;
        return c >= len ? 0 : c;                 /* -tiny + n rounds to n */
    }
    return c < 0 ? 0 : c > len - 1 ? len - 1 : c;
}

/* One image: src and dst H×W×C. */
static void warp(const float *src, float *dst, int64_t H, int64_t W, int64_t C, const double *m,
                 const lt_augment_opts *o) {
    int constant = o->fill == LT_FILL_CONSTANT;
    for (int64_t y = 0; y < H; y++) {
        for (int64_t x = 0; x < W; x++) {
            float *d = dst + (y * W + x) * C;
            float xi = (float)(m[0] * (double)x + m[1] * (double)y + m[2]);
            float yi = (float)(m[3] * (double)x + m[4] * (double)y + m[5]);
            if (o->interp == LT_INTERP_NEAREST) {
                float rx = floorf(xi + 0.5f), ry = floorf(yi + 0.5f);
                int inside = rx >= 0 && ry >= 0 && rx <= (float)(W - 1) && ry <= (float)(H - 1);
                if (constant && !inside) {
                    for (int64_t c = 0; c < C; c++) d[c] = o->fill_value;
                    continue;
                }
                if (!constant) {
                    rx = floorf(map_coord(xi, W, o->fill) + 0.5f);
                    ry = floorf(map_coord(yi, H, o->fill) + 0.5f);
                    if (rx > (float)(W - 1)) rx = o->fill == LT_FILL_WRAP ? 0 : (float)(W - 1);
                    if (ry > (float)(H - 1)) ry = o->fill == LT_FILL_WRAP ? 0 : (float)(H - 1);
                }
                const float *s = src + ((int64_t)ry * W + (int64_t)rx) * C;
                for (int64_t c = 0; c < C; c++) d[c] = s[c];
                continue;
            }
            /* Bilinear: the four neighbours of (xi, yi); in constant mode a neighbour
             * outside the image contributes fill_value (TensorFlow's behaviour). */
            if (!constant) { xi = map_coord(xi, W, o->fill); yi = map_coord(yi, H, o->fill); }
            float x0f = floorf(xi), y0f = floorf(yi), ax = xi - x0f, ay = yi - y0f;
            if (constant && !(x0f >= -1 && y0f >= -1 && x0f <= (float)W && y0f <= (float)H)) {
                for (int64_t c = 0; c < C; c++) d[c] = o->fill_value;
                continue;
            }
            int64_t x0 = (int64_t)x0f, y0 = (int64_t)y0f, x1 = x0 + 1, y1 = y0 + 1;
            if (!constant) {
                if (x1 > W - 1) x1 = o->fill == LT_FILL_WRAP ? 0 : W - 1;
                if (y1 > H - 1) y1 = o->fill == LT_FILL_WRAP ? 0 : H - 1;
            }
            const float *p00 = NULL, *p01 = NULL, *p10 = NULL, *p11 = NULL;
            int in_x0 = x0 >= 0 && x0 < W, in_x1 = x1 >= 0 && x1 < W;
            int in_y0 = y0 >= 0 && y0 < H, in_y1 = y1 >= 0 && y1 < H;
            if (in_y0 && in_x0) p00 = src + (y0 * W + x0) * C;
            if (in_y0 && in_x1) p01 = src + (y0 * W + x1) * C;
            if (in_y1 && in_x0) p10 = src + (y1 * W + x0) * C;
            if (in_y1 && in_x1) p11 = src + (y1 * W + x1) * C;
            float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
            float fv = o->fill_value;
            for (int64_t c = 0; c < C; c++)
                d[c] = w00 * (p00 ? p00[c] : fv) + w01 * (p01 ? p01[c] : fv) +
                       w10 * (p10 ? p10[c] : fv) + w11 * (p11 ? p11[c] : fv);
        }
    }
}

/* Exact flips by index (no arithmetic on values). */
static void flip_copy(const float *src, float *dst, int64_t H, int64_t W, int64_t C, int fx,
                      int fy) {
    for (int64_t y = 0; y < H; y++) {
        const float *srow = src + (fy ? H - 1 - y : y) * W * C;
        float *drow = dst + y * W * C;
        if (!fx) { memcpy(drow, srow, (size_t)(W * C) * sizeof(float)); continue; }
        for (int64_t x = 0; x < W; x++)
            memcpy(drow + x * C, srow + (W - 1 - x) * C, (size_t)C * sizeof(float));
    }
}

/* ---- adjoint (for the layers' backward) ---- */

/* Scatters dy through the same sampling warp() did: dx[src] += w · dy[dst]. */
static void warp_adjoint(const float *dy, float *dx, int64_t H, int64_t W, int64_t C,
                         const double *m, const lt_augment_opts *o) {
    int constant = o->fill == LT_FILL_CONSTANT;
    for (int64_t y = 0; y < H; y++) {
        for (int64_t x = 0; x < W; x++) {
            const float *g = dy + (y * W + x) * C;
            float xi = (float)(m[0] * (double)x + m[1] * (double)y + m[2]);
            float yi = (float)(m[3] * (double)x + m[4] * (double)y + m[5]);
            if (o->interp == LT_INTERP_NEAREST) {
                float rx = floorf(xi + 0.5f), ry = floorf(yi + 0.5f);
                int inside = rx >= 0 && ry >= 0 && rx <= (float)(W - 1) && ry <= (float)(H - 1);
                if (constant && !inside) continue;
                if (!constant) {
                    rx = floorf(map_coord(xi, W, o->fill) + 0.5f);
                    ry = floorf(map_coord(yi, H, o->fill) + 0.5f);
                    if (rx > (float)(W - 1)) rx = o->fill == LT_FILL_WRAP ? 0 : (float)(W - 1);
                    if (ry > (float)(H - 1)) ry = o->fill == LT_FILL_WRAP ? 0 : (float)(H - 1);
                }
                float *s = dx + ((int64_t)ry * W + (int64_t)rx) * C;
                for (int64_t c = 0; c < C; c++) s[c] += g[c];
                continue;
            }
            if (!constant) { xi = map_coord(xi, W, o->fill); yi = map_coord(yi, H, o->fill); }
            float x0f = floorf(xi), y0f = floorf(yi), ax = xi - x0f, ay = yi - y0f;
            if (constant && !(x0f >= -1 && y0f >= -1 && x0f <= (float)W && y0f <= (float)H))
                continue;
            int64_t x0 = (int64_t)x0f, y0 = (int64_t)y0f, x1 = x0 + 1, y1 = y0 + 1;
            if (!constant) {
                if (x1 > W - 1) x1 = o->fill == LT_FILL_WRAP ? 0 : W - 1;
                if (y1 > H - 1) y1 = o->fill == LT_FILL_WRAP ? 0 : H - 1;
            }
            int64_t xs[2] = {x0, x1}, ys[2] = {y0, y1};
            float wx[2] = {1 - ax, ax}, wy[2] = {1 - ay, ay};
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < 2; i++) {
                    if (xs[i] < 0 || xs[i] >= W || ys[j] < 0 || ys[j] >= H) continue;
                    float w = wx[i] * wy[j], *s = dx + (ys[j] * W + xs[i]) * C;
                    for (int64_t c = 0; c < C; c++) s[c] += w * g[c];
                }
        }
    }
}

void lt_augment_backward(const float *dy, float *dx, int64_t N, int64_t H, int64_t W, int64_t C,
                         const lt_augment_opts *o, const float *maps) {
    int64_t per = H * W * C;
    for (int64_t n = 0; n < N; n++) {
        const float *mp = maps + 8 * n;
        if (mp[0] == 0 && mp[1] == 0 && mp[3] == 0 && mp[4] == 0) {
            flip_copy(dy + n * per, dx + n * per, H, W, C, mp[6] != 0, mp[7] != 0);  /* an involution */
            continue;
        }
        double m[6];
        for (int k = 0; k < 6; k++) m[k] = mp[k];
        memset(dx + n * per, 0, (size_t)per * sizeof(float));
        warp_adjoint(dy + n * per, dx + n * per, H, W, C, m, o);
    }
}

/* ---- entry points ---- */

static lt_status check_range(const char *what, const float *r, float lo_min) {
    if (!isfinite(r[0]) || !isfinite(r[1]) || r[0] > r[1])
        return lt_seterr(LT_EARG, "augment: %s range [%g, %g] is not an ordered pair of finite "
                         "numbers", what, r[0], r[1]);
    if (r[0] <= lo_min)
        return lt_seterr(LT_EARG, "augment: %s lower bound %g must be greater than %g", what,
                         r[0], lo_min);
    return LT_OK;
}

lt_status lt_augment_raw(const float *x, float *y, int64_t N, int64_t H, int64_t W, int64_t C,
                         const lt_augment_opts *o, lt_rng *rng, float *maps) {
    lt_status s;
    if ((s = check_range("rotation", o->rotation, -1e30f)) != LT_OK ||
        (s = check_range("zoom height", o->zoom_h, -1)) != LT_OK ||
        (s = check_range("zoom width", o->zoom_w, -1)) != LT_OK ||
        (s = check_range("translation height", o->translate_h, -1e30f)) != LT_OK ||
        (s = check_range("translation width", o->translate_w, -1e30f)) != LT_OK)
        return s;
    if (o->flip & ~(LT_FLIP_H | LT_FLIP_V))
        return lt_seterr(LT_EARG, "augment: bad flip mode %d", o->flip);
    if (!rng) rng = &lt_global_rng;
    int64_t per = H * W * C;
    for (int64_t n = 0; n < N; n++) {
        double m[6];
        int fx, fy;
        const float *src = x + n * per;
        float *dst = y + n * per;
        int simple = draw_map(o, rng, H, W, m, &fx, &fy);
        if (simple) flip_copy(src, dst, H, W, C, fx, fy);
        else warp(src, dst, H, W, C, m, o);
        if (maps) {
            float *mp = maps + 8 * n;
            for (int k = 0; k < 6; k++) mp[k] = simple ? 0 : (float)m[k];
            mp[6] = (float)fx;
            mp[7] = (float)fy;
        }
        if ((n & 255) == 255 && (s = lt_check_interrupt()) != LT_OK) return s;
    }
    return LT_OK;
}

lt_status lt_augment(const lt_tensor *x, lt_tensor *y, const lt_augment_opts *o, lt_rng *rng) {
    char sx[160], sy[160];
    if (x->ndim != 3 && x->ndim != 4)
        return lt_seterr(LT_ESHAPE, "augment: expected images N×H×W×C or H×W×C, got shape %s",
                         lt_shape_str(x->ndim, x->shape, sx, sizeof sx));
    if (!lt_same_shape(x, y))
        return lt_seterr(LT_ESHAPE, "augment: output shape %s differs from input shape %s",
                         lt_shape_str(y->ndim, y->shape, sy, sizeof sy),
                         lt_shape_str(x->ndim, x->shape, sx, sizeof sx));
    if (x->storage == y->storage)
        return lt_seterr(LT_EARG, "augment: output must not share storage with the input");
    int b = x->ndim == 4;
    return lt_augment_raw(x->data, y->data, b ? x->shape[0] : 1, x->shape[b], x->shape[b + 1],
                          x->shape[b + 2], o, rng, NULL);
}

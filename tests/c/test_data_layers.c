/* test_data_layers.c: the augmentation layers through the engine's layer interface:
 * identity at inference, the same transform as lt_augment_raw under a seed in training,
 * backward = the adjoint of that transform (dot-product test), shape errors. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/augment_layers.h"

int main(void) {
    int64_t in[3] = {6, 5, 3}, N = 4, n = N * 6 * 5 * 3;
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    float *ref = malloc(sizeof(float) * (size_t)n), *dy = malloc(sizeof(float) * (size_t)n);
    float *dx = malloc(sizeof(float) * (size_t)n), *cache = malloc(sizeof(float) * 8 * (size_t)N);
    lt_rng g;
    lt_rng_seed(&g, 2);
    for (int64_t i = 0; i < n; i++) { x[i] = lt_rng_uniform(&g); dy[i] = lt_rng_uniform(&g) - 0.5f; }
    const char *kinds[4] = {"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"};
    for (int k = 0; k < 4; k++) {
        lt_augment_opts o;
        lt_augment_defaults(&o);
        if (k == 0) o.flip = LT_FLIP_H | LT_FLIP_V;
        if (k == 1) { o.rotation[0] = -0.2f; o.rotation[1] = 0.2f; }
        if (k == 2) { o.zoom_h[0] = -0.3f; o.zoom_h[1] = 0.3f; o.zoom_keep_aspect = 1; }
        if (k == 3) { o.translate_h[0] = o.translate_w[0] = -0.2f; o.translate_h[1] = o.translate_w[1] = 0.2f; }
        lt_layer *l = lt_augment_layer_new((lt_aug_kind)k, &o, 1, 77);
        CHECK(l && strcmp(l->vt->kind, kinds[k]) == 0, kinds[k]);
        CHECK(lt_layer_setup(l, 3, in) == LT_OK && l->out_nd == 3 && l->out_shape[2] == 3,
              "setup keeps the shape");
        CHECK(l->vt->cache_size(l, N) == (size_t)(8 * N), "cache holds the maps");
        l->training = 0;
        CHECK(l->vt->forward(l, x, y, N, cache, NULL) == LT_OK, "inference forward");
        check_close(y, x, (size_t)n, 0, "inference is the identity");
        l->vt->backward(l, x, y, dy, dx, N, cache, NULL);
        check_close(dx, dy, (size_t)n, 0, "inference backward is the identity");
        l->training = 1;
        CHECK(l->vt->forward(l, x, y, N, cache, NULL) == LT_OK, "training forward");
        lt_rng r;
        lt_rng_seed(&r, 77);
        lt_augment_raw(x, ref, N, 6, 5, 3, &o, &r, NULL);
        check_close(y, ref, (size_t)n, 0, "training applies the seeded transform");
        double diff = 0;
        for (int64_t i = 0; i < n; i++) diff += fabs(y[i] - x[i]);
        CHECK(diff > 0, "training changes the images");
        l->vt->backward(l, x, y, dy, dx, N, cache, NULL);
        double lhs = 0, rhs = 0;
        for (int64_t i = 0; i < n; i++) { lhs += (double)y[i] * dy[i]; rhs += (double)x[i] * dx[i]; }
        CHECK(fabs(lhs - rhs) < 1e-4 * (1 + fabs(lhs)), "backward is the adjoint");
        int64_t flat[1] = {90};
        CHECK(lt_layer_setup(l, 1, flat) == LT_ESHAPE, "1-d input refused");
        lt_layer_free(l);
    }
    lt_layer *l = lt_augment_layer_new(LT_AUG_FLIP, &(lt_augment_opts){.flip = 1}, 0, 0);
    int64_t flat[1] = {90};
    CHECK(l && lt_layer_setup(l, 1, flat) == LT_ESHAPE, "flip on 1-d refused");
    CHECK(strstr(lt_lasterror(), "random_flip: expects images H×W×C, got input shape 90") != NULL,
          "shape message");
    lt_layer_free(l);
    lt_augment_opts bad;
    lt_augment_defaults(&bad);
    bad.zoom_h[0] = -3;
    bad.zoom_h[1] = 0;
    CHECK(lt_augment_layer_new(LT_AUG_ZOOM, &bad, 0, 0) == NULL, "bad zoom refused");
    free(x); free(y); free(ref); free(dy); free(dx); free(cache);
    CHECK_DONE();
}

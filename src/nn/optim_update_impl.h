/* optim_update_impl.h: the optimizers' update kernels, one fused pass over a parameter's
 * elements (gradient plus a worker's block, clipping, decay, the update, and the gradient
 * zeroed behind it for a network), included once per instruction set after defining
 * UPDATE_NAME: by optim.c for the portable path (SSE2, which GCC vectorises itself:
 * -fno-math-errno) and by src/kernels/optim_avx2.c (AVX2, eight lanes of intrinsics).
 * Every path computes the same IEEE operations in the same order (no FMA contraction:
 * -ffp-contract=off), so the result does not depend on the path. */
#include <immintrin.h>
#include <math.h>

#include "nn/optim_update.h"

/* g (+ g2, zeroed) scaled and clamped: the gradient an update uses. */
static inline float grad_at(float *g, float *g2, int64_t i, float scale, float clip) {
    float gi = g[i];
    if (g2) {
        gi += g2[i];
        g2[i] = 0;
    }
    gi *= scale;
    if (clip > 0) {
        if (gi > clip) gi = clip;
        else if (gi < -clip) gi = -clip;
    }
    return gi;
}

#ifdef __AVX__
static inline __m256 grad8(float *g, float *g2, int64_t i, __m256 vs, float clip) {
    __m256 gi = _mm256_loadu_ps(g + i);
    if (g2) {
        gi = _mm256_add_ps(gi, _mm256_loadu_ps(g2 + i));
        _mm256_storeu_ps(g2 + i, _mm256_setzero_ps());
    }
    gi = _mm256_mul_ps(gi, vs);
    if (clip > 0) {   /* min(c, g), max(-c, g) pass a NaN through, like the scalar code */
        gi = _mm256_min_ps(_mm256_set1_ps(clip), gi);
        gi = _mm256_max_ps(_mm256_set1_ps(-clip), gi);
    }
    return gi;
}
#endif

static void sgd(const lt_optim *o, const lt_optim_run *r, int64_t a, int64_t b, float clip,
                int zero_g) {
    float *restrict w = r->w, *restrict g = r->g, *restrict g2 = r->g2, *restrict vel = r->m;
    float lr = r->lr, mu = (float)o->momentum, wdl = r->wdl, sc = r->scale;
    for (int64_t i = a; i < b; i++) {
        float gi = grad_at(g, g2, i, sc, clip), wi = w[i] - w[i] * wdl;
        if (zero_g) g[i] = 0;
        if (!vel) {
            w[i] = wi - lr * gi;
        } else {
            float v = mu * vel[i] - lr * gi;
            vel[i] = v;
            w[i] = o->nesterov ? wi + (mu * v - lr * gi) : wi + v;
        }
    }
}

static void adam(const lt_optim *o, const lt_optim_run *r, int64_t a, int64_t b, float clip,
                 int zero_g) {
    float *restrict w = r->w, *restrict g = r->g, *restrict g2 = r->g2;
    float *restrict m = r->m, *restrict v = r->v;
    const float c1 = (float)(1.0 - o->beta1), c2 = (float)(1.0 - o->beta2);   /* in double: 1 - (float)0.999 is off by 1e-5 */
    const float alpha = r->alpha, eps = r->eps, wdl = r->wdl, sc = r->scale;
    int64_t i = a;
#ifdef __AVX__
    const __m256 vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2), vs = _mm256_set1_ps(sc);
    const __m256 va = _mm256_set1_ps(alpha), ve = _mm256_set1_ps(eps), vd = _mm256_set1_ps(wdl);
    for (; i + 8 <= b; i += 8) {
        __m256 gi = grad8(g, g2, i, vs, clip);
        __m256 mi = _mm256_loadu_ps(m + i), vi = _mm256_loadu_ps(v + i);
        mi = _mm256_add_ps(mi, _mm256_mul_ps(vc1, _mm256_sub_ps(gi, mi)));
        vi = _mm256_add_ps(vi, _mm256_mul_ps(vc2, _mm256_sub_ps(_mm256_mul_ps(gi, gi), vi)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        if (zero_g) _mm256_storeu_ps(g + i, _mm256_setzero_ps());
        __m256 wi = _mm256_loadu_ps(w + i);
        wi = _mm256_sub_ps(wi, _mm256_mul_ps(wi, vd));
        __m256 upd = _mm256_div_ps(_mm256_mul_ps(va, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), ve));
        _mm256_storeu_ps(w + i, _mm256_sub_ps(wi, upd));
    }
#endif
    for (; i < b; i++) {
        float gi = grad_at(g, g2, i, sc, clip);
        float mi = m[i] + c1 * (gi - m[i]);
        float vi = v[i] + c2 * (gi * gi - v[i]);
        m[i] = mi;
        v[i] = vi;
        if (zero_g) g[i] = 0;
        float wi = w[i] - w[i] * wdl;
        w[i] = wi - alpha * mi / (sqrtf(vi) + eps);
    }
}

static void rmsprop(const lt_optim *o, const lt_optim_run *r, int64_t a, int64_t b, float clip,
                    int zero_g) {
    float *restrict w = r->w, *restrict g = r->g, *restrict g2 = r->g2, *restrict v = r->v;
    const float rho = (float)o->rho, c = (float)(1.0 - o->rho), lr = r->lr, eps = (float)o->eps;
    const float wdl = r->wdl, sc = r->scale;
    int64_t i = a;
#ifdef __AVX__
    const __m256 vr = _mm256_set1_ps(rho), vc = _mm256_set1_ps(c), vs = _mm256_set1_ps(sc);
    const __m256 vl = _mm256_set1_ps(lr), ve = _mm256_set1_ps(eps), vd = _mm256_set1_ps(wdl);
    for (; i + 8 <= b; i += 8) {
        __m256 gi = grad8(g, g2, i, vs, clip);
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vr, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(vc, _mm256_mul_ps(gi, gi)));
        _mm256_storeu_ps(v + i, vi);
        if (zero_g) _mm256_storeu_ps(g + i, _mm256_setzero_ps());
        __m256 wi = _mm256_loadu_ps(w + i);
        wi = _mm256_sub_ps(wi, _mm256_mul_ps(wi, vd));
        __m256 upd = _mm256_div_ps(_mm256_mul_ps(vl, gi), _mm256_sqrt_ps(_mm256_add_ps(vi, ve)));
        _mm256_storeu_ps(w + i, _mm256_sub_ps(wi, upd));
    }
#endif
    for (; i < b; i++) {
        float gi = grad_at(g, g2, i, sc, clip);
        float vi = rho * v[i] + c * gi * gi;
        v[i] = vi;
        if (zero_g) g[i] = 0;
        float wi = w[i] - w[i] * wdl;
        w[i] = wi - lr * gi / sqrtf(vi + eps);
    }
}

void UPDATE_NAME(const lt_optim *o, const lt_optim_run *r, int64_t a, int64_t b, int zero_g) {
    float clip = (float)o->clipvalue;
    switch (o->kind) {
    case LT_OPT_SGD: sgd(o, r, a, b, clip, zero_g); break;
    case LT_OPT_ADAM: case LT_OPT_ADAMW: adam(o, r, a, b, clip, zero_g); break;
    case LT_OPT_RMSPROP: rmsprop(o, r, a, b, clip, zero_g); break;
    }
}

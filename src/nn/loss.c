/* loss.c: Keras losses with probability clipping and their gradients (see loss.h).
 * Categorical cross-entropy normalises each row of pred to sum 1 first (as Keras):
 *   q = clip(p / S, ε, 1-ε),  L_row = -Σ_j y_j log q_j,
 *   dL/dp_j = g_j / S - (Σ_i g_i p_i) / S²  with g_i = -y_i / q_i (0 where clipped).
 * Binary: L = -mean_j [y log q + (1-y) log(1-q)], q = clip(p). MSE: mean (p - y)². */
#include "nn/loss.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *names[] = {"mse", "binary_crossentropy", "categorical_crossentropy",
                              "sparse_categorical_crossentropy"};

int lt_loss_parse(const char *name, lt_loss_kind *k) {
    if (strcmp(name, "mean_squared_error") == 0) { *k = LT_LOSS_MSE; return 1; }
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) { *k = (lt_loss_kind)i; return 1; }
    return 0;
}

const char *lt_loss_name(lt_loss_kind k) { return names[k]; }

lt_status lt_loss_check(lt_loss_kind k, int64_t rows, int64_t K, const float *target,
                        int64_t tn) {
    const char *fn = names[k];
    if (k != LT_LOSS_SCCE) {
        if (tn != rows * K)
            return lt_seterr(LT_ESHAPE, "%s: target has %lld values, predictions have %lld "
                             "(%lld rows of %lld)%s", fn, (long long)tn,
                             (long long)(rows * K), (long long)rows, (long long)K,
                             k == LT_LOSS_CCE && tn == rows ? ": for class ids use "
                             "sparse_categorical_crossentropy" : "");
        if (k == LT_LOSS_MSE) return LT_OK;
        /* cross-entropy targets are probabilities: binary in [0, 1] (soft labels allowed,
         * as Keras), categorical non-negative (one-hot or soft rows) */
        for (int64_t i = 0; i < tn; i++) {
            float y = target[i];
            int bad = !isfinite(y) || y < 0 || (k == LT_LOSS_BCE && y > 1);
            if (!bad) continue;
            char pos[64];
            if (K == 1) snprintf(pos, sizeof pos, "%lld", (long long)i + 1);
            else snprintf(pos, sizeof pos, "[%lld, %lld]", (long long)(i / K) + 1,
                          (long long)(i % K) + 1);
            if (!isfinite(y))   /* NaN without its sign: 0/0 is -nan on x86 */
                return lt_seterr(LT_EARG, "%s: target %s at position %s is not a finite number",
                                 fn, isnan(y) ? "nan" : y > 0 ? "inf" : "-inf", pos);
            if (k == LT_LOSS_BCE)
                return lt_seterr(LT_EARG, "%s: target %g at position %s is out of range [0, 1] "
                                 "(targets are probabilities)",
                                 fn, y, pos);
            return lt_seterr(LT_EARG, "%s: target %g at position %s is negative (targets are "
                             "class probabilities, e.g. one-hot rows)", fn, y, pos);
        }
        return LT_OK;
    }
    if (tn != rows)
        return lt_seterr(LT_ESHAPE, "%s: %lld labels for %lld predictions (expected one class "
                         "id per sample)", fn, (long long)tn, (long long)rows);
    for (int64_t i = 0; i < rows; i++) {
        float y = target[i];
        if (y != floorf(y) || isnan(y))
            return lt_seterr(LT_EARG, "%s: label %g at position %lld is not an integer class id",
                             fn, y, (long long)i + 1);
        if (y < 0 || y >= (float)K)
            return lt_seterr(LT_EARG, "%s: label %g at position %lld is out of range 0..%lld "
                             "(the model has %lld outputs)", fn, y, (long long)i + 1,
                             (long long)K - 1, (long long)K);
    }
    return LT_OK;
}

static float clipf(float p) {
    return p < LT_LOSS_EPS ? LT_LOSS_EPS : p > 1.0f - LT_LOSS_EPS ? 1.0f - LT_LOSS_EPS : p;
}

void lt_loss_eval(lt_loss_kind k, const float *pred, int64_t rows, int64_t K,
                  const float *target, double *loss, float *grad) {
    double total = 0;
    int64_t n = rows * K;
    switch (k) {
    case LT_LOSS_MSE:
        for (int64_t i = 0; i < n; i++) {
            double d = (double)pred[i] - target[i];
            total += d * d;
            if (grad) grad[i] = (float)(2.0 * d / (double)n);
        }
        *loss = total / (double)n;
        return;
    case LT_LOSS_BCE:
        for (int64_t i = 0; i < n; i++) {
            float q = clipf(pred[i]), y = target[i];
            total -= y * log((double)q) + (1.0 - y) * log(1.0 - (double)q);
            if (grad) {
                int clipped = q != pred[i];
                grad[i] = clipped ? 0.0f : (float)((-(double)y / q + (1.0 - y) / (1.0 - q)) /
                                                   (double)n);
            }
        }
        *loss = total / (double)n;
        return;
    case LT_LOSS_CCE:
    case LT_LOSS_SCCE:
        for (int64_t r = 0; r < rows; r++) {
            const float *p = pred + r * K;
            double S = 0;
            for (int64_t j = 0; j < K; j++) S += p[j];
            double dot = 0;              /* Σ_i g_i p_i */
            for (int64_t j = 0; j < K; j++) {
                double y = k == LT_LOSS_SCCE ? (j == (int64_t)target[r]) : target[r * K + j];
                float q = clipf((float)(p[j] / S));
                if (y != 0) total -= y * log((double)q);
                if (grad) {
                    double g = (y != 0 && q == (float)(p[j] / S)) ? -y / q : 0.0;
                    grad[r * K + j] = (float)g;
                    dot += g * p[j];
                }
            }
            if (grad)
                for (int64_t j = 0; j < K; j++)
                    grad[r * K + j] = (float)((grad[r * K + j] / S - dot / (S * S)) / (double)rows);
        }
        *loss = total / (double)rows;
        return;
    }
}

void lt_loss_fused_grad(lt_loss_kind k, const float *pred, int64_t rows, int64_t K,
                        const float *target, float *grad) {
    int64_t n = rows * K;
    if (k == LT_LOSS_SCCE) {
        float inv = 1.0f / (float)rows;
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t j = 0; j < K; j++) grad[r * K + j] = pred[r * K + j] * inv;
            grad[r * K + (int64_t)target[r]] -= inv;
        }
        return;
    }
    float inv = 1.0f / (float)(k == LT_LOSS_CCE ? rows : n);
    for (int64_t i = 0; i < n; i++) grad[i] = (pred[i] - target[i]) * inv;
}

static int64_t argmax(const float *p, int64_t K) {
    int64_t best = 0;
    for (int64_t j = 1; j < K; j++)
        if (p[j] > p[best]) best = j;
    return best;
}

void lt_loss_accuracy(lt_loss_kind k, const float *pred, int64_t rows, int64_t K,
                      const float *target, int64_t *correct, int64_t *total) {
    int64_t c = 0;
    if (k == LT_LOSS_BCE || K == 1) {
        for (int64_t i = 0; i < rows * K; i++) c += (pred[i] > 0.5f) == (target[i] > 0.5f);
        *correct = c;
        *total = rows * K;
        return;
    }
    for (int64_t r = 0; r < rows; r++) {
        int64_t a = argmax(pred + r * K, K);
        int64_t t = k == LT_LOSS_SCCE ? (int64_t)target[r] : argmax(target + r * K, K);
        c += a == t;
    }
    *correct = c;
    *total = rows;
}

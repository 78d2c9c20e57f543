/* test_nn_loss.c: the Keras losses on worked examples, their gradients by central
 * differences, the fused softmax/sigmoid + cross-entropy gradient against the chain
 * rule through the activation, accuracy counts, and label errors. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/layer.h"
#include "nn/loss.h"

static void gradcheck(lt_loss_kind k, float *pred, int64_t rows, int64_t K, const float *t) {
    float *g = malloc((size_t)(rows * K) * 4);
    double l, lp, lm, worst = 0;
    lt_loss_eval(k, pred, rows, K, t, &l, g);
    for (int64_t i = 0; i < rows * K; i++) {
        float s = pred[i];
        pred[i] = s + 1e-3f; lt_loss_eval(k, pred, rows, K, t, &lp, NULL);
        pred[i] = s - 1e-3f; lt_loss_eval(k, pred, rows, K, t, &lm, NULL);
        pred[i] = s;
        double num = (lp - lm) / 2e-3;
        double d = fabs(num - g[i]) / fmax(1e-2, fabs(num) + fabs(g[i]));
        if (d > worst) worst = d;
    }
    char msg[100];
    snprintf(msg, sizeof msg, "%s gradcheck (worst %.2g)", lt_loss_name(k), worst);
    CHECK(worst < 1e-2, msg);
    free(g);
}

int main(void) {
    double l;
    /* Keras docs examples */
    float yt[4] = {0, 1, 0, 0}, yp[4] = {0.6f, 0.4f, 0.4f, 0.6f};
    lt_loss_eval(LT_LOSS_BCE, yp, 2, 2, yt, &l, NULL);
    CHECK(fabs(l - 0.8149) < 1e-3, "bce worked example 0.815");
    float ct[6] = {0, 1, 0, 0, 0, 1}, cp[6] = {0.05f, 0.95f, 0, 0.1f, 0.8f, 0.1f};
    lt_loss_eval(LT_LOSS_CCE, cp, 2, 3, ct, &l, NULL);
    CHECK(fabs(l - 1.1769392) < 1e-5, "cce worked example 1.177");
    float st[2] = {1, 2};
    lt_loss_eval(LT_LOSS_SCCE, cp, 2, 3, st, &l, NULL);
    CHECK(fabs(l - 1.1769392) < 1e-5, "scce worked example 1.177");
    float mt[4] = {0, 1, 0, 0}, mp[4] = {1, 1, 1, 0};
    lt_loss_eval(LT_LOSS_MSE, mp, 2, 2, mt, &l, NULL);
    CHECK(fabs(l - 0.5) < 1e-7, "mse worked example 0.5");
    /* clipping: p = 0 for the true class gives -log(1e-7) */
    float z[3] = {0, 1, 0}, zt[1] = {0};
    lt_loss_eval(LT_LOSS_SCCE, z, 1, 3, zt, &l, NULL);
    CHECK(fabs(l - 16.118095) < 1e-3, "clipped at eps 1e-7");

    /* gradients of each loss (probabilities away from the clip) */
    float p[12], t[12], ids[4] = {2, 0, 1, 2};
    for (int i = 0; i < 12; i++) { p[i] = 0.1f + 0.07f * (float)(i % 5); t[i] = (i % 3 == 0); }
    gradcheck(LT_LOSS_MSE, p, 4, 3, t);
    gradcheck(LT_LOSS_BCE, p, 4, 3, t);
    gradcheck(LT_LOSS_CCE, p, 4, 3, t);
    gradcheck(LT_LOSS_SCCE, p, 4, 3, ids);

    /* fused gradient w.r.t. logits = chain rule through softmax / sigmoid */
    float zl[12], sm[12], g1[12], g2[12], oh[12] = {0};
    for (int i = 0; i < 12; i++) zl[i] = sinf((float)i);
    for (int r = 0; r < 4; r++) oh[r * 3 + (int)ids[r]] = 1;
    lt_loss_kind kinds[3] = {LT_LOSS_SCCE, LT_LOSS_CCE, LT_LOSS_BCE};
    for (int k = 0; k < 3; k++) {
        lt_act a = kinds[k] == LT_LOSS_BCE ? LT_ACT_SIGMOID : LT_ACT_SOFTMAX;
        const float *tg = kinds[k] == LT_LOSS_SCCE ? ids : kinds[k] == LT_LOSS_CCE ? oh : t;
        memcpy(sm, zl, sizeof sm);
        lt_bias_act(sm, NULL, 4, 3, a, 0);
        lt_loss_eval(kinds[k], sm, 4, 3, tg, &l, g1);
        lt_act_backward(sm, g1, 4, 3, a, 0);
        lt_loss_fused_grad(kinds[k], sm, 4, 3, tg, g2);
        check_close(g2, g1, 12, 1e-6, lt_loss_name(kinds[k]));
    }

    int64_t c, n;
    float ap[6] = {0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f}, al[2] = {1, 2};
    lt_loss_accuracy(LT_LOSS_SCCE, ap, 2, 3, al, &c, &n);
    CHECK(c == 1 && n == 2, "sparse accuracy");

    CHECK(lt_loss_check(LT_LOSS_SCCE, 2, 3, (float[]){1, 3}, 2) == LT_EARG &&
          strstr(lt_lasterror(), "label 3 at position 2 is out of range 0..2") != NULL,
          lt_lasterror());
    CHECK(lt_loss_check(LT_LOSS_SCCE, 2, 3, (float[]){0.5f, 1}, 2) == LT_EARG &&
          strstr(lt_lasterror(), "label 0.5 at position 1 is not an integer class id") != NULL,
          lt_lasterror());
    CHECK(lt_loss_check(LT_LOSS_SCCE, 2, 3, (float[]){1, 1, 1}, 3) == LT_ESHAPE &&
          strstr(lt_lasterror(), "3 labels for 2 predictions") != NULL, lt_lasterror());
    CHECK(lt_loss_check(LT_LOSS_CCE, 2, 3, (float[]){1, 1}, 2) == LT_ESHAPE &&
          strstr(lt_lasterror(), "use sparse_categorical_crossentropy") != NULL, lt_lasterror());
    /* cross-entropy targets are probabilities: binary in [0, 1] (soft labels are fine),
     * categorical non-negative; non-finite targets are refused by both */
    CHECK(lt_loss_check(LT_LOSS_BCE, 3, 1, (float[]){0, 0.25f, 1}, 3) == LT_OK,
          "binary_crossentropy: soft labels in [0, 1]");
    CHECK(lt_loss_check(LT_LOSS_BCE, 2, 1, (float[]){0, 3}, 2) == LT_EARG &&
          strcmp(lt_lasterror(), "binary_crossentropy: target 3 at position 2 is out of range "
                 "[0, 1] (targets are probabilities)") == 0, lt_lasterror());
    CHECK(lt_loss_check(LT_LOSS_BCE, 2, 2, (float[]){0, 1, -0.5f, 1}, 4) == LT_EARG &&
          strstr(lt_lasterror(), "target -0.5 at position [2, 1] is out of range [0, 1]") != NULL,
          lt_lasterror());
    CHECK(lt_loss_check(LT_LOSS_BCE, 2, 1, (float[]){NAN, 1}, 2) == LT_EARG &&
          strcmp(lt_lasterror(), "binary_crossentropy: target nan at position 1 is not a finite "
                 "number") == 0, lt_lasterror());
    CHECK(lt_loss_check(LT_LOSS_CCE, 2, 3, (float[]){0, 1, 0, 0.2f, 0.3f, 0.5f}, 6) == LT_OK,
          "categorical_crossentropy: one-hot and soft rows");
    CHECK(lt_loss_check(LT_LOSS_CCE, 2, 3, (float[]){0, 1, 0, 0, -1, 2}, 6) == LT_EARG &&
          strcmp(lt_lasterror(), "categorical_crossentropy: target -1 at position [2, 2] is "
                 "negative (targets are class probabilities, e.g. one-hot rows)") == 0,
          lt_lasterror());
    CHECK(lt_loss_check(LT_LOSS_CCE, 2, 3, (float[]){0, 1, 0, INFINITY, 0, 0}, 6) == LT_EARG &&
          strstr(lt_lasterror(), "categorical_crossentropy: target inf at position [2, 1] is "
                 "not a finite number") != NULL, lt_lasterror());
    CHECK(lt_loss_check(LT_LOSS_MSE, 1, 2, (float[]){-5, NAN}, 2) == LT_OK,
          "mse targets are any numbers (a NaN stops training at the loss)");
    CHECK_DONE();
}

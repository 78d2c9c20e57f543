/* optim.h: SGD (momentum, Nesterov), Adam and RMSprop with Keras 3 semantics and
 * defaults. An optimizer updates a list of parameter arrays in place from their
 * gradients; its state (velocity, m, v) is one flat block laid out like the
 * concatenation of the arrays, allocated on the first step (a network passes its one
 * flat parameter buffer, so each step is one fused loop). The step count t is shared.
 *   SGD:      v ← μv - lr·g;  w ← w + v  (Nesterov: w ← w + μv - lr·g); μ = 0: w -= lr·g
 *   Adam:     m ← m + (1-β1)(g - m);  v ← v + (1-β2)(g² - v);
 *             w ← w - lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) + ε)
 *   RMSprop:  v ← ρv + (1-ρ)g²;  w ← w - lr·g / sqrt(v + ε) */
#ifndef LT_OPTIM_H
#define LT_OPTIM_H

#include "core/tensor.h"

typedef enum { LT_OPT_SGD = 0, LT_OPT_ADAM, LT_OPT_RMSPROP } lt_optim_kind;

typedef struct {
    lt_optim_kind kind;
    float lr, momentum, beta1, beta2, eps, rho;
    int nesterov;
    int64_t t;            /* steps taken (Keras `iterations`) */
    int64_t n;            /* state size (0 until the first step) */
    float *m, *v;         /* SGD: m = velocity; Adam: m, v; RMSprop: v */
} lt_optim;

lt_optim *lt_optim_new(lt_optim_kind kind);    /* Keras defaults; caller frees */
void      lt_optim_free(lt_optim *o);          /* NULL is a no-op */
const char *lt_optim_name(const lt_optim *o);  /* "SGD", "Adam", "RMSprop" */
/* One update of k arrays p[i] (n[i] floats) from g[i]. The state is (re)allocated
 * when the total size differs from the last step's (then t restarts at 0). An array
 * of gradients is read only. Fails only on out-of-memory, leaving p untouched. */
lt_status lt_optim_step(lt_optim *o, int k, float *const *p, const float *const *g,
                        const int64_t *n);
/* The network's step: one flat array p (n floats) from g, then g ← 0 in the same pass
 * (the next backward accumulates into zeroed gradients without a separate memset). */
lt_status lt_optim_step_zero(lt_optim *o, float *p, float *g, int64_t n);
/* lt_optim_step_zero split for threads: lt_optim_begin(o, n) once (state, t++; fails only
 * on out-of-memory), then lt_optim_apply on disjoint ranges [lo, hi) of the same arrays,
 * from any threads. g2 (may be NULL) is a second gradient block added to g; both g and
 * g2 are zeroed over the range. */
lt_status lt_optim_begin(lt_optim *o, int64_t n);
void      lt_optim_apply(const lt_optim *o, float *p, float *g, float *g2, int64_t lo,
                         int64_t hi);
/* Number of state arrays (0, 1 or 2) for this kind and settings. */
int       lt_optim_nslots(const lt_optim *o);
/* Makes the state n floats (zeroed) without stepping: used to restore saved state. */
lt_status lt_optim_reserve(lt_optim *o, int64_t n);

#endif

/* optim.c: the optimizers (see optim.h for the update equations and Keras references).
 * Each update is one fused pass over a parameter's elements (optim_update_impl.h, on the
 * best instruction set the processor has). */
#include "nn/optim.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "nn/optim_update.h"

/* ---- schedules ---- */

double lt_schedule_lr(const lt_schedule *s, double step) {
    if (step < 0) step = 0;
    switch (s->kind) {
    case LT_SCHED_NONE: return s->initial;
    case LT_SCHED_EXPONENTIAL: {
        double p = step / s->decay_steps;
        if (s->staircase) p = floor(p);
        return s->initial * pow(s->decay_rate, p);
    }
    case LT_SCHED_PIECEWISE:
        for (int i = 0; i < s->nb; i++)
            if (step <= s->bounds[i]) return s->values[i];
        return s->values[s->nb];
    case LT_SCHED_COSINE: {
        double peak = s->initial;
        if (s->warmup_steps > 0) {
            if (step < s->warmup_steps)
                return s->initial + (s->warmup_target - s->initial) * step / s->warmup_steps;
            peak = s->warmup_target;
            step -= s->warmup_steps;
        }
        if (step > s->decay_steps) step = s->decay_steps;
        double c = 0.5 * (1.0 + cos(M_PI * step / s->decay_steps));
        return peak * ((1.0 - s->alpha) * c + s->alpha);
    }
    case LT_SCHED_ONECYCLE: {
        /* PyTorch's OneCycleLR (two phases, cosine annealing); after the last step the rate
         * stays at its final value */
        double lo = s->max_lr / s->div_factor, fin = lo / s->final_div_factor;
        double up = s->pct_start * s->total_steps - 1, end = s->total_steps - 1;
        double a, b, pct;
        if (step <= up) {
            a = lo; b = s->max_lr; pct = up > 0 ? step / up : 1;
        } else {
            a = s->max_lr; b = fin; pct = end > up ? (step - up) / (end - up) : 1;
        }
        if (pct > 1) pct = 1;
        return b + (a - b) / 2 * (cos(M_PI * pct) + 1);
    }
    }
    return s->initial;
}

/* ---- construction, state ---- */

lt_optim *lt_optim_new(lt_optim_kind kind) {
    lt_optim *o = calloc(1, sizeof *o);
    if (!o) {
        lt_seterr(LT_ENOMEM, "optim: out of memory");
        return NULL;
    }
    o->kind = kind;
    o->lr = kind == LT_OPT_SGD ? 0.01 : 1e-3;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = kind == LT_OPT_ADAMW ? 1e-8 : 1e-7;    /* AdamW: PyTorch's defaults */
    o->weight_decay = kind == LT_OPT_ADAMW ? 0.01 : 0;
    o->rho = 0.9;
    return o;
}

static void free_param(lt_optim_param *p) {
    lt_tensor_free(p->key);
    free(p->m);
    free(p->v);
}

void lt_optim_free(lt_optim *o) {
    if (!o) return;
    for (int i = 0; i < o->nparam; i++) free_param(&o->param[i]);
    free(o->param);
    free(o->run);
    free(o);
}

const char *lt_optim_name(const lt_optim *o) {
    static const char *names[] = {"SGD", "Adam", "RMSprop", "AdamW"};
    return names[o->kind];
}

int lt_optim_nslots(const lt_optim *o) {
    switch (o->kind) {
    case LT_OPT_SGD: return o->momentum != 0 ? 1 : 0;
    case LT_OPT_ADAM: case LT_OPT_ADAMW: return 2;
    case LT_OPT_RMSPROP: return 1;
    }
    return 0;
}

double lt_optim_lr_at(const lt_optim *o, int64_t t) {
    return o->sched.kind == LT_SCHED_NONE ? o->lr : lt_schedule_lr(&o->sched, (double)t);
}

/* Drops the state of parameters nobody else holds any more (their storage's references
 * are all ours) or that moved to another buffer (a layer bound into a network). Run when
 * a parameter is added, so the list cannot grow without end. */
static void prune(lt_optim *o) {
    /* decide first, free after: freeing a key changes its storage's count, and may free
     * the storage other entries still point to */
    for (int i = 0; i < o->nparam; i++) {
        lt_storage *st = o->param[i].key->storage;
        int ours = 0;
        for (int j = 0; j < o->nparam; j++) ours += o->param[j].key->storage == st;
        o->param[i].dead = st->detached || st->refs <= ours;
    }
    int k = 0;
    for (int i = 0; i < o->nparam; i++) {
        if (o->param[i].dead) free_param(&o->param[i]);
        else o->param[k++] = o->param[i];
    }
    o->nparam = k;
}

lt_optim_param *lt_optim_find(lt_optim *o, const lt_tensor *param, int64_t off, int64_t n,
                              int create) {
    const float *d = param->data + off;
    for (int k = 0; k < o->nparam; k++) {     /* from the last hit: a step's order repeats */
        int i = (o->hint + k) % o->nparam;
        lt_optim_param *p = &o->param[i];
        if (p->key->storage == param->storage && p->key->data == d && p->key->numel == n) {
            o->hint = i + 1;
            return p;
        }
    }
    if (!create) return NULL;
    prune(o);
    if (o->nparam == o->capparam) {
        int cap = o->capparam ? 2 * o->capparam : 16;
        lt_optim_param *np = realloc(o->param, (size_t)cap * sizeof *np);
        if (!np) {
            lt_seterr(LT_ENOMEM, "%s: out of memory", lt_optim_name(o));
            return NULL;
        }
        o->param = np;
        o->capparam = cap;
    }
    lt_optim_param p = {0};
    int64_t all = param->numel;
    lt_tensor *flat = lt_tensor_reshape(param, 1, &all);
    p.key = flat ? lt_tensor_narrow(flat, 0, off, n) : NULL;
    lt_tensor_free(flat);
    int slots = lt_optim_nslots(o);
    int want_m = slots >= 1 && o->kind != LT_OPT_RMSPROP, want_v = o->kind != LT_OPT_SGD;
    if (p.key && want_m) p.m = calloc((size_t)n, sizeof(float));
    if (p.key && want_v) p.v = calloc((size_t)n, sizeof(float));
    if (!p.key || (want_m && !p.m) || (want_v && !p.v)) {
        free_param(&p);
        lt_seterr(LT_ENOMEM, "%s: out of memory for %lld state values", lt_optim_name(o),
                  (long long)n);
        return NULL;
    }
    o->param[o->nparam] = p;
    return &o->param[o->nparam++];
}

#define UPDATE_NAME lt_optim_update_portable
#include "nn/optim_update_impl.h"

/* ---- a step ---- */

/* Σ (g + g2)² for the clipping norms: float partial sums over 8 lanes (independent adds,
 * not one serial chain), gathered into a double every block so the rounding stays small. */
static double sumsq(const float *g, const float *g2, int64_t n) {
    double s = 0;
    int64_t i = 0;
    while (i < n) {
        int64_t end = n - i > 4096 ? i + 4096 : n;
        float part[8] = {0};
        for (; i + 8 <= end; i += 8)
            for (int k = 0; k < 8; k++) {
                float x = g2 ? g[i + k] + g2[i + k] : g[i + k];
                part[k] += x * x;
            }
        for (; i < end; i++) {
            float x = g2 ? g[i] + g2[i] : g[i];
            part[0] += x * x;
        }
        for (int k = 0; k < 8; k++) s += part[k];
    }
    return s;
}

lt_status lt_optim_begin(lt_optim *o, int nseg, const lt_optim_seg *seg, int zero_g) {
    if (nseg > o->caprun) {
        lt_optim_run *r = realloc(o->run, (size_t)nseg * sizeof *r);
        if (!r) return lt_seterr(LT_ENOMEM, "%s: out of memory", lt_optim_name(o));
        o->run = r;
        o->caprun = nseg;
    }
    /* find (or make) every parameter's state first: nothing changes on failure */
    for (int i = 0; i < nseg; i++)
        if (!lt_optim_find(o, seg[i].param, seg[i].off, seg[i].n, 1)) return LT_ENOMEM;
    double penalty = 0, gsum = 0;
    int64_t pos = 0;
    for (int i = 0; i < nseg; i++) {
        const lt_optim_seg *s = &seg[i];
        lt_optim_param *p = lt_optim_find(o, s->param, s->off, s->n, 0);   /* present */
        lt_optim_run *r = &o->run[i];
        float *w = s->param->data + s->off;
        if (s->l1 != 0 || s->l2 != 0) {      /* the regularizers join the gradient */
            for (int64_t e = 0; e < s->n; e++) {
                penalty += (double)s->l1 * fabsf(w[e]) + (double)s->l2 * w[e] * w[e];
                s->g[e] += s->l1 * (float)((w[e] > 0) - (w[e] < 0)) + 2 * s->l2 * w[e];
            }
        }
        double lr = lt_optim_lr_at(o, p->t);
        p->t++;
        if (p->t > o->t) o->t = p->t;
        double t = (double)p->t, bc2 = 1.0 - pow(o->beta2, t);
        *r = (lt_optim_run){.w = w, .g = s->g, .g2 = s->g2, .m = p->m, .v = p->v, .n = s->n,
                            .pos = pos, .lr = (float)lr, .scale = 1.0f,
                            .alpha = (float)(lr * sqrt(bc2) / (1.0 - pow(o->beta1, t))),
                            .eps = (float)(o->kind == LT_OPT_ADAMW ? o->eps * sqrt(bc2) : o->eps),
                            .wdl = s->decay ? (float)(lr * o->weight_decay) : 0.0f};
        if (o->clipnorm > 0 || o->global_clipnorm > 0) {
            double q = sumsq(s->g, s->g2, s->n);
            gsum += q;
            if (o->clipnorm > 0) r->scale = (float)(o->clipnorm / fmax(sqrt(q), o->clipnorm));
        }
        pos += s->n;
    }
    if (o->global_clipnorm > 0) {
        float sc = (float)(o->global_clipnorm / fmax(sqrt(gsum), o->global_clipnorm));
        for (int i = 0; i < nseg; i++) o->run[i].scale = sc;
    }
    o->nrun = nseg;
    o->runsize = pos;
    o->zero_g = zero_g;
    o->penalty = penalty;
    return LT_OK;
}

int64_t lt_optim_size(const lt_optim *o) { return o->runsize; }

/* The update on the best path: AVX2's eight lanes measured 5-10 % faster over the lesson
 * model's step than SSE2's four (Adam is bound by the divider and by memory). */
static void apply_run(const lt_optim *o, const lt_optim_run *r, int64_t a, int64_t b,
                      int zero_g) {
    if (lt_isa() >= LT_ISA_AVX2) lt_optim_update_avx2(o, r, a, b, zero_g);
    else lt_optim_update_portable(o, r, a, b, zero_g);
}

/* Flush denormals to zero in an update pass: with real data many gradients are 0 (dead
 * ReLUs, blank image borders), so m decays by β1 each step into the denormal range, where
 * every multiply costs ~100 cycles (a 6× slower step on Fashion-MNIST). */
static unsigned flush_denormals(void) {
#ifdef __SSE__
    unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);   /* FTZ | DAZ */
    return csr;
#else
    return 0;
#endif
}

static void restore_denormals(unsigned csr) {
#ifdef __SSE__
    _mm_setcsr(csr);
#else
    (void)csr;
#endif
}

void lt_optim_apply(const lt_optim *o, int64_t lo, int64_t hi) {
    unsigned csr = flush_denormals();
    for (int i = 0; i < o->nrun; i++) {
        const lt_optim_run *r = &o->run[i];
        int64_t a = lo > r->pos ? lo - r->pos : 0, b = hi < r->pos + r->n ? hi - r->pos : r->n;
        if (a < b) apply_run(o, r, a, b, o->zero_g);
    }
    restore_denormals(csr);
}

int64_t lt_optim_seg_pos(const lt_optim *o, int seg) { return o->run[seg].pos; }

void lt_optim_apply_grad(const lt_optim *o, int seg, int64_t off, int64_t n, const float *g) {
    lt_optim_run r = o->run[seg];      /* the same step, on elements off .. off+n, from g */
    r.w += off;
    if (r.m) r.m += off;
    if (r.v) r.v += off;
    r.g = (float *)g;                  /* only read: zero_g is 0 below */
    r.g2 = NULL;
    unsigned csr = flush_denormals();
    apply_run(o, &r, 0, n, 0);
    restore_denormals(csr);
}

int lt_optim_apply_product(const lt_optim *o, int seg, int M, int N, int K, const float *A,
                           int lda, const float *B, int ldb) {
    const lt_optim_run *r = &o->run[seg];
    if ((o->kind != LT_OPT_ADAM && o->kind != LT_OPT_ADAMW) || r->n != (int64_t)M * N)
        return 0;
    lt_adam_step s = {r->w, r->m, r->v, (float)(1.0 - o->beta1), (float)(1.0 - o->beta2),
                      r->alpha, r->eps, r->wdl, r->scale, (float)o->clipvalue};
    /* The product runs under the update's flush-to-zero too (switching the mode around each
     * tile's step cost 5 %): a gradient element summed from products below FLT_MIN, 1.2e-38,
     * can differ in its last bits from the unfused step's, which then flushes it whole. */
    unsigned csr = flush_denormals();
    int done = lt_sgemm_adam(lt_isa(), M, N, K, A, lda, B, ldb, &s);
    restore_denormals(csr);
    return done;
}

lt_status lt_optim_step(lt_optim *o, int nseg, const lt_optim_seg *seg, int zero_g) {
    lt_status s = lt_optim_begin(o, nseg, seg, zero_g);
    if (s == LT_OK) lt_optim_apply(o, 0, o->runsize);
    return s;
}

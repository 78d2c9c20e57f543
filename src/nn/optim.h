/* optim.h: SGD (momentum, Nesterov), Adam, AdamW and RMSprop with Keras 3 semantics and
 * defaults (AdamW: PyTorch's), learning-rate schedules, weight decay and gradient clipping.
 *
 * State follows the parameters, as in PyTorch: the optimizer keeps, per parameter tensor,
 * its slots (velocity, m, v) and its own step count t. A parameter is known by its storage
 * and its element range (the optimizer holds a reference on the storage, so the key cannot
 * be reused by another tensor; the state of a parameter whose storage nobody else holds any
 * more is dropped). So stepping the layers one by one (once each per iteration) gives
 * exactly the result of one step over all of them, and a network's fused step and
 * opt:step(layer:parameters()) share the state of the same weights.
 *
 * One step on a parameter with gradient g (t: its step count after this step, lr: the
 * rate, or the schedule's value at step t-1, as Keras evaluates it at `iterations`):
 *   regularizer:  g ← g + l1·sign(w) + 2·l2·w          (kernel_regularizer, part of the loss)
 *   clipping:     clipnorm: g ← g·c/max(‖g‖, c) per tensor; global_clipnorm: the same with
 *                 the norm of all the step's gradients; clipvalue: g ← clamp(g, -c, c)
 *   decay:        w ← w - w·wd·lr  (decoupled, Keras 3's weight_decay; AdamW's too: PyTorch
 *                 multiplies by 1 - lr·wd) on tensors of 2 or more dimensions (kernels), not
 *                 on biases nor BatchNorm's scale and offset
 *   SGD:      v ← μv - lr·g;  w ← w + v  (Nesterov: w ← w + μv - lr·g); μ = 0: w -= lr·g
 *   Adam:     m ← m + (1-β1)(g - m);  v ← v + (1-β2)(g² - v);
 *             w ← w - lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) + ε)
 *   AdamW:    PyTorch's w ← w - lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + ε), computed as
 *             Adam's line with ε·sqrt(1-β2^t) for ε (the same value, one fused kernel)
 *   RMSprop:  v ← ρv + (1-ρ)g²;  w ← w - lr·g / sqrt(v + ε) */
#ifndef LT_OPTIM_H
#define LT_OPTIM_H

#include "core/tensor.h"

typedef enum { LT_OPT_SGD = 0, LT_OPT_ADAM, LT_OPT_RMSPROP, LT_OPT_ADAMW } lt_optim_kind;

/* ---- learning-rate schedules (Keras 3's formulas; OneCycle is PyTorch's) ---- */
typedef enum {
    LT_SCHED_NONE = 0,       /* the optimizer's constant lr */
    LT_SCHED_EXPONENTIAL,    /* initial·rate^(step/decay_steps) (floored when staircase) */
    LT_SCHED_PIECEWISE,      /* values[i] while step <= bounds[i]; values[nb] after */
    LT_SCHED_COSINE,         /* linear warm-up to warmup_target, then cosine to alpha·peak */
    LT_SCHED_ONECYCLE        /* cosine up from max_lr/div to max_lr, down to /final_div */
} lt_sched_kind;

#define LT_SCHED_MAX_BOUNDS 64

typedef struct {
    lt_sched_kind kind;
    double initial, decay_steps, decay_rate;     /* exponential; cosine: initial, decay_steps */
    int staircase;
    double alpha, warmup_target, warmup_steps;   /* cosine (no warm-up: warmup_steps 0) */
    int nb;                                      /* piecewise: nb bounds, nb+1 values */
    double bounds[LT_SCHED_MAX_BOUNDS], values[LT_SCHED_MAX_BOUNDS + 1];
    double max_lr, total_steps, pct_start, div_factor, final_div_factor;   /* one-cycle */
} lt_schedule;

/* The rate at 0-based step `step` (>= 0). */
double lt_schedule_lr(const lt_schedule *s, double step);

/* ---- optimizers ---- */
typedef struct {
    lt_tensor *key;          /* a 1-d view of the parameter's elements (holds the storage) */
    int64_t t;               /* steps taken on this parameter */
    float *m, *v;            /* n floats each, or NULL (SGD: m = velocity; RMSprop: v) */
    int dead;                /* scratch of prune (optim.c) */
} lt_optim_param;

typedef struct lt_optim_run lt_optim_run;   /* one step's plan (optim.c) */

typedef struct {
    lt_optim_kind kind;
    /* settings as the user gave them (doubles, so they print as written) */
    double lr, momentum, beta1, beta2, eps, rho;
    double weight_decay, clipnorm, clipvalue, global_clipnorm;   /* 0: off */
    int nesterov;
    lt_schedule sched;       /* kind LT_SCHED_NONE: lr is constant */
    int64_t t;               /* iterations: the largest per-parameter step count */
    int nparam, capparam, hint;
    lt_optim_param *param;
    /* the current step (lt_optim_begin .. lt_optim_apply) */
    int nrun, caprun, zero_g;
    lt_optim_run *run;
    int64_t runsize;
    double penalty;          /* the regularizers' loss at the step's weights */
} lt_optim;

lt_optim *lt_optim_new(lt_optim_kind kind);    /* Keras defaults; caller frees */
void      lt_optim_free(lt_optim *o);          /* NULL is a no-op; drops the references */
const char *lt_optim_name(const lt_optim *o);  /* "SGD", "Adam", "RMSprop", "AdamW" */
/* Number of state arrays (0, 1 or 2) per parameter for this kind and settings. */
int       lt_optim_nslots(const lt_optim *o);
/* The rate a parameter with t steps taken gets at its next step. */
double    lt_optim_lr_at(const lt_optim *o, int64_t t);

/* One parameter tensor of a step: elements off .. off+n of param (flat), their gradient g
 * (+ g2 when not NULL: a worker thread's block, zeroed by the step), whether weight decay
 * applies, and the kernel regularizer's factors (0: none). */
typedef struct {
    const lt_tensor *param;
    int64_t off, n;
    float *g, *g2;
    int decay;
    float l1, l2;
} lt_optim_seg;

/* The state of (param, off, n): found, or (create) made with zeroed slots and t = 0; NULL
 * when absent (create = 0) or out of memory (create = 1, the error set). */
lt_optim_param *lt_optim_find(lt_optim *o, const lt_tensor *param, int64_t off, int64_t n,
                              int create);
/* A step in two parts, so threads can share the update: lt_optim_begin once (finds the
 * state, adds the regularizers' gradients, computes the clipping norms, advances each
 * parameter's t; fails only on out-of-memory, changing nothing), then lt_optim_apply on
 * disjoint ranges [lo, hi) of the concatenated segments (0 .. lt_optim_size) from any
 * threads. zero_g: the gradients are zeroed behind the update (the network's fused step);
 * otherwise g is only read (unless a segment has a regularizer). */
lt_status lt_optim_begin(lt_optim *o, int nseg, const lt_optim_seg *seg, int zero_g);
int64_t   lt_optim_size(const lt_optim *o);
void      lt_optim_apply(const lt_optim *o, int64_t lo, int64_t hi);
/* Segment seg's first element in the concatenation lt_optim_apply ranges over. */
int64_t   lt_optim_seg_pos(const lt_optim *o, int seg);
/* The step begun on segment seg, for its elements off .. off+n only, with the gradient g
 * (n floats, only read) instead of the segment's own: a layer that hands its weight
 * gradient over in blocks as it computes them (net.c's fused updates). The segment's
 * clipping scale is used as it is: a fused segment has no norm clipping. */
void      lt_optim_apply_grad(const lt_optim *o, int seg, int64_t off, int64_t n, const float *g);
/* The same for all of segment seg, from its gradient given as the product G = Aᵀ·B (A: K×M,
 * B: K×N; the segment is M×N, rows N apart: a Dense kernel's xᵀ·dz), where a kernel folds
 * the product into the step tile by tile (Adam and AdamW on the AVX paths, one k block:
 * kernels/gemm.h, lt_sgemm_adam). Returns 0, with nothing done, where none does: the caller
 * then computes G and uses lt_optim_apply_grad. */
int       lt_optim_apply_product(const lt_optim *o, int seg, int M, int N, int K,
                                 const float *A, int lda, const float *B, int ldb);
/* begin + apply over everything. */
lt_status lt_optim_step(lt_optim *o, int nseg, const lt_optim_seg *seg, int zero_g);

#endif

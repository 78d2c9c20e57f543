/* optim_update.h: inside the optimizers (optim.c): one parameter's share of a step and
 * the update kernels of each instruction set (optim_update_impl.h). */
#ifndef LT_OPTIM_UPDATE_H
#define LT_OPTIM_UPDATE_H

#include "nn/optim.h"

/* One parameter's share of a step: pointers already offset, and the step's constants. */
struct lt_optim_run {
    float *w, *g, *g2, *m, *v;
    int64_t n, pos;            /* pos: its first element in the step's concatenation */
    float lr, alpha, eps;      /* alpha, eps: Adam's bias-corrected rate and epsilon */
    float wdl, scale;          /* w -= w·wdl; g ← g·scale (clipnorm, global_clipnorm) */
};

/* The update of elements a .. b of r (zero_g: g and g2 zeroed behind it). */
void lt_optim_update_portable(const lt_optim *o, const lt_optim_run *r, int64_t a, int64_t b,
                              int zero_g);
void lt_optim_update_avx2(const lt_optim *o, const lt_optim_run *r, int64_t a, int64_t b,
                          int zero_g);

#endif

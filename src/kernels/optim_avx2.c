/* optim_avx2.c: the optimizers' update kernels (src/nn/optim_update_impl.h) for AVX2.
 * Compiled with -mavx2 -mfma -ffp-contract=off (CMakeLists.txt); called only when lt_isa()
 * is LT_ISA_AVX2 or better. */
#define UPDATE_NAME lt_optim_update_avx2
#include "nn/optim_update_impl.h"

/* conv_direct_avx2.c: the direct convolution (conv_direct_impl.h) on AVX2+FMA: blocks of
 * 6 pixels × 16 channels (12 of the 16 registers accumulate), the rest of 8 channels 6
 * pixels at a time. Compiled with -mavx2 -mfma (CMakeLists.txt). */
#include <immintrin.h>

#define CONV_NAME lt_conv_direct_avx2
#define VF 8
#define V __m256
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VZERO _mm256_setzero_ps
#define VFMADD _mm256_fmadd_ps
#define VMAX _mm256_max_ps
#define JW 2
#define QW 6
#define QR1 6
#define QR 6

#include "kernels/conv_direct_impl.h"

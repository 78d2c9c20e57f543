/* conv_direct_avx512.c: the direct convolution (conv_direct_impl.h) on AVX-512: blocks of
 * 6 pixels × 64 channels (24 accumulators), the rest of 16, 32 or 48 channels 8 pixels at
 * a time (4 pixels left the FMAs' latency uncovered: a 16-channel 3×3 layer at 50 GFLOP/s,
 * 55 with 8; a 32-channel one 5-10 % and a 48-channel one 40 % faster with 8, interleaved;
 * 10 or 12 pixel pointers spill). Compiled with -mavx512f (CMakeLists.txt). */
#include <immintrin.h>

#define CONV_NAME lt_conv_direct_avx512
#define VF 16
#define V __m512
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#define VSET1 _mm512_set1_ps
#define VZERO _mm512_setzero_ps
#define VFMADD _mm512_fmadd_ps
#define VMAX _mm512_max_ps
#define JW 4
#define QW 6
#define QR1 8
#define QR 8

#include "kernels/conv_direct_impl.h"

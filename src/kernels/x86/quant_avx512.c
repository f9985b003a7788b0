/* quant_avx512.c - AVX-512 VNNI kernels of the quantized formats (body in
 * quant_x86.h): integer dot products by vpdpbusd on 256-bit vectors, one
 * instruction where AVX2 needs two and no 16-bit intermediate.  dispatch.c
 * calls these only when ob_cpu_has_vnni(). */
#include <immintrin.h>

#define SUF avx512

static inline __attribute__((always_inline)) __m256i dot_u8(__m256i w, __m256i x) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, x);
}
static inline __attribute__((always_inline)) __m256i dot_s8_acc(__m256i a, __m256i w, __m256i x) {
    return _mm256_dpbusd_epi32(a, _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}
static inline __attribute__((always_inline)) __m256i dot_s8(__m256i w, __m256i x) {
    return dot_s8_acc(_mm256_setzero_si256(), w, x);
}

#include "kernels/x86/quant_x86.h"

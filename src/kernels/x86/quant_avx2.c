/* quant_avx2.c - AVX2 kernels of the quantized formats (body in
 * quant_x86.h): integer dot products by vpmaddubsw + vpmaddwd. */
#include <immintrin.h>

#define SUF avx2

static inline __attribute__((always_inline)) __m256i dot_u8(__m256i w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}
static inline __attribute__((always_inline)) __m256i dot_s8(__m256i w, __m256i x) {
    return dot_u8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}
static inline __attribute__((always_inline)) __m256i dot_s8_acc(__m256i a, __m256i w, __m256i x) {
    return _mm256_add_epi32(a, dot_s8(w, x));
}

#include "kernels/x86/quant_x86.h"

/* hsum_avx512.h - horizontal sums of 512-bit float vectors, shared by the
 * AVX-512 kernel files (include after <immintrin.h>; needs AVX512F/DQ). */
#ifndef OB_KERNELS_X86_HSUM_AVX512_H
#define OB_KERNELS_X86_HSUM_AVX512_H
#include <immintrin.h>

/* {sum(a), sum(b), sum(c), sum(d)}: each folded to 8 lanes, then per 128-bit
 * lane {a01, a23, b01, b23}, then {a0123, b.., c.., d..}, then the halves */
static inline __attribute__((always_inline)) __m128 ob_hsum4_512(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
    __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
    __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm512_extractf32x8_ps(d, 1));
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a8, b8), _mm256_hadd_ps(c8, d8));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

#endif

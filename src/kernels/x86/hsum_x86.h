/* hsum_x86.h - horizontal sum of 8 floats, shared by the AVX2-level
 * kernel files (needs AVX; include after <immintrin.h>). */
#ifndef OB_KERNELS_X86_HSUM_H
#define OB_KERNELS_X86_HSUM_H
#include <immintrin.h>

static inline __attribute__((always_inline)) float ob_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#endif

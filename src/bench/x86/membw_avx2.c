/* membw_avx2.c - a streaming read loop with 256-bit loads. */
#include <immintrin.h>

#include "bench/membw.h"

float ob_read_sum_avx2(const float *p, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    __m256 t = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    float v[8], s = 0;
    _mm256_storeu_ps(v, t);
    for (int k = 0; k < 8; k++) s += v[k];
    for (; i < n; i++) s += p[i];
    return s;
}

/* vexp_x86.h - exp(x) for 8 or 16 floats at once (AVX2 + FMA, AVX-512F).
 *
 *   x = n * ln2 + r,  n = round(x / ln2),  |r| <= ln2 / 2
 *   exp(x) = 2^n * p(r)
 * r is formed in two steps (ln2 split into a part exact in float and the
 * rest, Cody-Waite), and p is Cephes' expf polynomial: degree 5 in r times
 * r^2, plus r + 1 (relative error about 2 ulp on the reduced range).  x is
 * clamped to [-87.34, 88.38] first, so n stays in [-126, 127] and 2^n is a
 * normal float: below the range the result is about 1e-38 instead of 0,
 * above it about 2.4e38 instead of inf, and NaN is not preserved; the
 * softmax (arguments <= 0) and SiLU that call it never need more.
 * Included by vec_avx2.c and vec_avx512.c, each compiled for its level. */
#ifndef OB_KERNELS_X86_VEXP_X86_H
#define OB_KERNELS_X86_VEXP_X86_H
#include <immintrin.h>

#define OB_VEXP_LO (-87.3365447504f)
#define OB_VEXP_HI 88.3762626647949f
#define OB_VEXP_LOG2E 1.44269504088896341f
#define OB_VEXP_LN2_HI 0.693359375f        /* 355/512, exact in float */
#define OB_VEXP_LN2_LO (-2.12194440e-4f)   /* ln2 - LN2_HI            */
#define OB_VEXP_P0 1.9875691500e-4f
#define OB_VEXP_P1 1.3981999507e-3f
#define OB_VEXP_P2 8.3334519073e-3f
#define OB_VEXP_P3 4.1665795894e-2f
#define OB_VEXP_P4 1.6666665459e-1f
#define OB_VEXP_P5 5.0000001201e-1f

#ifdef __AVX512F__
static inline __m512 ob_vexp512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(OB_VEXP_LO)), _mm512_set1_ps(OB_VEXP_HI));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(OB_VEXP_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(OB_VEXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(OB_VEXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(OB_VEXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(OB_VEXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(OB_VEXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(OB_VEXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(OB_VEXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(OB_VEXP_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n); /* p * 2^n */
}
#endif

static inline __m256 ob_vexp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(OB_VEXP_LO)), _mm256_set1_ps(OB_VEXP_HI));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(OB_VEXP_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(OB_VEXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(OB_VEXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(OB_VEXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(OB_VEXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(OB_VEXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(OB_VEXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(OB_VEXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(OB_VEXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* 2^n built in the exponent field: (n + 127) << 23 */
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

#endif

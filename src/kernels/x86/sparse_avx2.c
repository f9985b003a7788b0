/* sparse_avx2.c - AVX2 kernels of the sparse formats (body in
 * sparse_x86.h).  Needs F16C (dispatch.c checks).
 *
 * Expansion without an expand instruction: ob_sp_expand_lut gives, for 8
 * mask bits, the index of each kept column's value among the kept ones
 * (0x80 for a pruned column).  Floats: 8 values loaded from the body are
 * moved into place by vpermps with those indices and the pruned lanes
 * zeroed.  Bytes (I8, I4): 16 columns at a time, vpshufb with the indices
 * of the two mask bytes (the upper 8 offset by the lower byte's popcount;
 * 0x80 gives zero).  I4 first splits its nibbles into bytes in order,
 * starting at the half's first code (an odd start shifts by one byte).
 * Loads are whole vectors at the current value, so they may read up to 32
 * bytes past the body (OVERREAD).  Integer dots: vpmaddubsw + vpmaddwd with
 * the sign trick (|w| unsigned, x with w's sign). */
#include <immintrin.h>
#include <stdint.h>

#define SUF avx2
#define OVERREAD 32
#define INLINE static inline __attribute__((always_inline))

typedef __m256 VF;
#define VF_N 8
#define vf_zero _mm256_setzero_ps
#define vf_load _mm256_loadu_ps
#define vf_fma _mm256_fmadd_ps
#define vf_hsum ob_hsum8

#include "kernels/quant.h"
#include "kernels/sparse.h"
#include "kernels/x86/hsum_x86.h"

/* 8 values v (in kept order) to the lanes of the set bits of m8 */
INLINE __m256 place8(__m256 v, uint32_t m8) {
    const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)ob_sp_expand_lut[m8]));
    const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(8), idx);
    return _mm256_and_ps(_mm256_permutevar8x32_ps(v, idx), _mm256_castsi256_ps(keep));
}

INLINE uint32_t s24_mask(uint32_t meta) { return ob_s24_meta_mask(meta); }

INLINE void decode_f(int vt, uint32_t mask, int k, int k0, const uint8_t *p, __m256 w[4]) {
    for (int g = 0; g < 4; g++) {
        const uint32_t m8 = (mask >> (8 * g)) & 255;
        __m256 v;
        if (vt == OB_SPV_F32) {
            v = _mm256_loadu_ps((const float *)p);
        } else {
            const __m128i h = _mm_loadu_si128((const __m128i *)p);
            v = vt == OB_SPV_F16 ? _mm256_cvtph_ps(h)
                                 : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        }
        w[g] = place8(v, m8);
        p += (vt == OB_SPV_F32 ? 4 : 2) * __builtin_popcount(m8);
    }
}

/* 16 bytes v (in kept order) to the positions of the set bits of m16 */
INLINE __m128i expand16(__m128i v, uint32_t m16) {
    const uint32_t m0 = m16 & 255, m1 = m16 >> 8;
    __m128i ctrl = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)ob_sp_expand_lut[m0]),
                                      _mm_loadl_epi64((const __m128i *)ob_sp_expand_lut[m1]));
    ctrl = _mm_add_epi8(ctrl, _mm_set_epi64x((long long)(0x0101010101010101ull * (uint64_t)__builtin_popcount(m0)), 0));
    return _mm_shuffle_epi8(v, ctrl);
}

/* I4: 16 codes from the s-th on (codes two per byte, low nibble first),
 * as bytes q - 8 */
INLINE __m128i nib16(const uint8_t *c, int s) {
    const __m128i b = _mm_loadu_si128((const __m128i *)(c + s / 2)), m = _mm_set1_epi8(15);
    const __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    const __m128i even = _mm_unpacklo_epi8(lo, hi), odd = _mm_alignr_epi8(_mm_unpackhi_epi8(lo, hi), even, 1);
    const __m128i q = _mm_blendv_epi8(even, odd, _mm_set1_epi8((char)-(s & 1)));
    return _mm_sub_epi8(q, _mm_set1_epi8(8));
}

/* signed codes (I8: q, I4: q - 8), pruned ones 0 */
INLINE __m256i decode_i(int vt, uint32_t mask, int k, int k_lo, const uint8_t *c) {
    const uint32_t m_lo = mask & 0xffff, m_hi = mask >> 16;
    __m128i lo, hi;
    if (vt == OB_SPV_I8) {
        lo = _mm_loadu_si128((const __m128i *)c);
        hi = _mm_loadu_si128((const __m128i *)(c + k_lo));
    } else {
        lo = nib16(c, 0);
        hi = nib16(c, k_lo);
    }
    return _mm256_set_m128i(expand16(hi, m_hi), expand16(lo, m_lo));
}

typedef struct {
    __m256i x;
} act_t;

INLINE act_t act_load(int vt, const ob_blk_q8a *a) {
    act_t r = {_mm256_loadu_si256((const __m256i *)a->qs)};
    return r;
}

INLINE __m256i idot(__m256i w, act_t a) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a.x, w)),
                             _mm256_set1_epi16(1));
}

#include "kernels/x86/sparse_x86.h"

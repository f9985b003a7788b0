/* sparse_avx512.c - AVX-512 kernels of the sparse formats (body in
 * sparse_x86.h).  Built with VBMI2 (Makefile) and called by dispatch.c
 * only when ob_cpu_has_vbmi2() and ob_cpu_has_vnni().
 *
 * Expansion: the kept values go to their dense positions by expand loads
 * under the keep mask (vexpandps for F32, vpexpandw for F16 / BF16,
 * vpexpandb for I8), which read only the kept values: no load passes the
 * body (OVERREAD 0).  I4 loads its ceil(k/2) code bytes under a mask,
 * splits the nibbles into k bytes in order and expands those in registers.
 * Integer dots are vpdpbusd on 256 bits: signed codes s made unsigned as
 * s ^ 0x80 = s + 128, the sum started at -128 * sum(x) per lane. */
#include <immintrin.h>
#include <stdint.h>

#define SUF avx512
#define OVERREAD 0
#define INLINE static inline __attribute__((always_inline))

typedef __m512 VF;
#define VF_N 16
#define vf_zero _mm512_setzero_ps
#define vf_load _mm512_loadu_ps
#define vf_fma _mm512_fmadd_ps
#define vf_hsum _mm512_reduce_add_ps

#include "kernels/quant.h"
#include "kernels/sparse.h"

INLINE void decode_f(int vt, uint32_t mask, const uint8_t *b, __m512 w[2]) {
    if (vt == OB_SPV_F32) {
        const __mmask16 m0 = (__mmask16)mask, m1 = (__mmask16)(mask >> 16);
        w[0] = _mm512_maskz_expandloadu_ps(m0, b);
        w[1] = _mm512_maskz_expandloadu_ps(m1, b + 4 * __builtin_popcount(m0));
        return;
    }
    const __m512i h = _mm512_maskz_expandloadu_epi16((__mmask32)mask, b);
    const __m256i lo = _mm512_castsi512_si256(h), hi = _mm512_extracti64x4_epi64(h, 1);
    if (vt == OB_SPV_F16) {
        w[0] = _mm512_cvtph_ps(lo);
        w[1] = _mm512_cvtph_ps(hi);
    } else {
        w[0] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(lo), 16));
        w[1] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16));
    }
}

INLINE __m256i decode_i(int vt, uint32_t mask, const uint8_t *c) {
    if (vt == OB_SPV_I8) return _mm256_maskz_expandloadu_epi8((__mmask32)mask, c);
    const unsigned nbytes = (unsigned)(__builtin_popcount(mask) + 1) / 2;
    const __m128i b = _mm_maskz_loadu_epi8((__mmask16)((1u << nbytes) - 1), c), m = _mm_set1_epi8(15);
    const __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    const __m256i seq = _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
    return _mm256_maskz_expand_epi8((__mmask32)mask, _mm256_sub_epi8(seq, _mm256_set1_epi8(8)));
}

typedef struct {
    __m256i x, init; /* codes; -128 * (sum of each lane's 4 codes) */
} act_t;

INLINE act_t act_load(const ob_blk_q8a *a) {
    act_t r;
    r.x = _mm256_loadu_si256((const __m256i *)a->qs);
    r.init = _mm256_sub_epi32(_mm256_setzero_si256(),
                              _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), r.x));
    return r;
}

INLINE __m256i idot(__m256i w, act_t a) {
    return _mm256_dpbusd_epi32(a.init, _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80)), a.x);
}

#include "kernels/x86/sparse_x86.h"

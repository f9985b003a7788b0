/* sparse_avx512.c - AVX-512 kernels of the sparse formats (body in
 * sparse_x86.h).  Built with VBMI2 (Makefile) and called by dispatch.c
 * only when ob_cpu_has_vbmi2() and ob_cpu_has_vnni().
 *
 * Expansion: the kept values go to their dense positions by expand loads
 * under the keep mask (vexpandps for F32, vpexpandw for F16 / BF16,
 * vpexpandb for I8), which read only the kept values: no load passes the
 * body (OVERREAD 0).  F16 / BF16 load theirs under a length mask and
 * expand after conversion to float (vpexpandw is slow on Zen 4).  I4
 * loads its ceil(k/2) code bytes under a length mask, splits its nibbles into k bytes in order (vpmultishiftqb) and
 * expands those in registers, pruned columns getting the code 8 (zero).
 * Integer dots are vpdpbusd on 256 bits over unsigned codes: I8 q ^ 0x80 =
 * q + 128, I4 q, the sum started at -B * sum(x) per lane (B = 128, 8).
 * 2:4 metadata becomes the keep mask in vector registers (s24_mask). */
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

/* the 4-bit keep mask of each 2:4 nibble i1:i0: 1 << i0 | 1 << i1 */
#define G_(n) (char)((1 << ((n) & 3)) | (1 << ((n) >> 2)))
#define S24_GROUP_MASKS G_(0), G_(1), G_(2), G_(3), G_(4), G_(5), G_(6), G_(7), G_(8), G_(9), G_(10), G_(11), \
                        G_(12), G_(13), G_(14), G_(15)

/* The keep mask of 2:4 metadata without a table walk: byte j of a vector
 * gets nibble j / 4 of meta (vpmultishiftqb), a vpshufb table turns each
 * nibble i1:i0 into its group's 4-bit mask (1 << i0 | 1 << i1), and lane j
 * tests its own bit j % 4 of it. */
INLINE uint32_t s24_mask(uint32_t meta) {
    const __m256i at = _mm256_set_epi64x(0x1c1c1c1c18181818LL, 0x1414141410101010LL, 0x0c0c0c0c08080808LL,
                                         0x0404040400000000LL);
    const __m256i nib = _mm256_and_si256(_mm256_multishift_epi64_epi8(at, _mm256_set1_epi32((int)meta)),
                                         _mm256_set1_epi8(15));
    const __m256i group = _mm256_shuffle_epi8(
        _mm256_broadcastsi128_si256(_mm_setr_epi8(S24_GROUP_MASKS)), nib);
    return (uint32_t)_mm256_test_epi8_mask(group, _mm256_set1_epi32(0x08040201));
}

/* 16 floats (in kept order) to the lanes of the set bits of m */
INLINE __m512 place16(__m512 v, __mmask16 m) { return _mm512_maskz_expand_ps(m, v); }

INLINE void decode_f(int vt, uint32_t mask, int k, int k0, const uint8_t *b, __m512 w[2]) {
    const __mmask16 m0 = (__mmask16)mask, m1 = (__mmask16)(mask >> 16);
    if (vt == OB_SPV_F32) {
        w[0] = _mm512_maskz_expandloadu_ps(m0, b);
        w[1] = _mm512_maskz_expandloadu_ps(m1, b + 4 * k0);
        return;
    }
    /* halves: convert the kept values, then expand them as floats (vpexpandw
     * is several times slower than vexpandps on Zen 4) */
    const __mmask16 n0 = (__mmask16)((1u << k0) - 1), n1 = (__mmask16)((1u << (k - k0)) - 1);
    const __m256i h0 = _mm256_maskz_loadu_epi16(n0, b), h1 = _mm256_maskz_loadu_epi16(n1, b + 2 * k0);
    if (vt == OB_SPV_F16) {
        w[0] = place16(_mm512_cvtph_ps(h0), m0);
        w[1] = place16(_mm512_cvtph_ps(h1), m1);
    } else {
        w[0] = place16(_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h0), 16)), m0);
        w[1] = place16(_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h1), 16)), m1);
    }
}

/* unsigned codes for vpdpbusd: I8 q + 128 (pruned 128), I4 q (pruned 8) */
INLINE __m256i decode_i(int vt, uint32_t mask, int k, int k0, const uint8_t *c) {
    if (vt == OB_SPV_I8)
        return _mm256_xor_si256(_mm256_maskz_expandloadu_epi8((__mmask32)mask, c), _mm256_set1_epi8((char)0x80));
    /* nibble i to byte i: qword q of the result takes codes 8q .. 8q+7 from
     * bytes 4q .. 4q+3, held in qword q of [b0-7 | b0-7 | b8-15 | b8-15] */
    const __m128i b = _mm_maskz_loadu_epi8((__mmask16)((1u << (((unsigned)k + 1) >> 1)) - 1), c);
    const __m256i q = _mm256_permute4x64_epi64(_mm256_castsi128_si256(b), 0x50);
    const __m256i at = _mm256_set_epi64x(0x3c3834302c282420LL, 0x1c1814100c080400LL, 0x3c3834302c282420LL,
                                         0x1c1814100c080400LL);
    const __m256i seq = _mm256_and_si256(_mm256_multishift_epi64_epi8(at, q), _mm256_set1_epi8(15));
    return _mm256_mask_expand_epi8(_mm256_set1_epi8(8), (__mmask32)mask, seq);
}

typedef struct {
    __m256i x, init; /* codes; -B * (sum of each lane's 4 codes) */
} act_t;

/* B = 128 for I8, 8 for I4: the unsigned codes' offset */
INLINE act_t act_load(int vt, const ob_blk_q8a *a) {
    act_t r;
    r.x = _mm256_loadu_si256((const __m256i *)a->qs);
    r.init = _mm256_sub_epi32(_mm256_setzero_si256(),
                              _mm256_dpbusd_epi32(_mm256_setzero_si256(),
                                                  _mm256_set1_epi8((char)(vt == OB_SPV_I8 ? 0x80 : 8)), r.x));
    return r;
}

INLINE __m256i idot(__m256i w, act_t a) { return _mm256_dpbusd_epi32(a.init, w, a.x); }

#include "kernels/x86/sparse_x86.h"

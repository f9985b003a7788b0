/* quant_avx512.c - AVX-512 VNNI kernels of the quantized formats.
 * dispatch.c calls these only when ob_cpu_has_vnni().  (The AVX2 ones are
 * in quant_avx2.c with the body in quant_x86.h.)
 *
 * Integer-dot formats (Q8_0, Q4_0, Q4_1, MXFP4, group int4/int8): the
 * unit of work is a PAIR of 32-blocks, b and b+1, in one 512-bit vector:
 *
 *   weights  [ block b: w0 .. w31 | block b+1: w0 .. w31 ]   unsigned bytes
 *   acts     [ a[b].qs[0..31]     | a[b+1].qs[0..31]     ]   int8
 *
 * so one vpdpbusd gives 8 int32 lanes per block; lanes 0-7 are scaled by
 * d_w(b) * d_x(b), lanes 8-15 by d_w(b+1) * d_x(b+1) (one vcvtph2ps of the
 * two fp16 scales broadcast to 8 lanes each), and FMA'd into one float
 * accumulator.  A row with an odd number of blocks ends with a pair whose
 * upper block is zero.  Signed codes never use the sign trick: the weight
 * bytes are made unsigned by a bias B (Q4_0: q in 0..15 for q - 8, B = 8;
 * Q8_0: q ^ 0x80, B = 128; MXFP4: a vpshufb table of 2*E2M1 + 12, B = 12)
 * and the accumulator starts at -B * sum(x) per lane (vpdpbusd of B and x,
 * once per token and pair, shared by every row).  Group formats subtract
 * their integer zero point the same way, zero * (-x) by one more vpdpbusd
 * (int4: q and zero in 0..15; int8: q ^ 0x80 and zero + 128 in 0..255), so
 * sum (q - zero) x is exact in int32 for both.  Q4_1 adds m * ds per block
 * by one more FMA (ds placed in lane 0 of its block, zeros elsewhere).
 *
 * Tiles: NR rows x NT tokens (4 x 4 in matmul, 4 x 1 in matvec) share each
 * decoded weight pair and each activation pair.  Every (row, token) sum is
 * formed by the same sequence of operations whatever the tile, so results
 * do not depend on how rows or tokens are split (test_quant checks it
 * bitwise) and matvec equals a column of matmul.
 *
 * NF4 / NF4_DQ: a pair is one 64-block (one absmax).  Its codes go
 * through two vpshufb tables, hi + 128 and lo + 64 (kernels/quant.h), two
 * vpdpbusd give the two sums, and isum = 128 * hi_sum + lo_sum - 16448 *
 * sum(x) per lane, the integer levels' sum; d = absmax / 16256.
 * W8A8: 64 weight bytes per vpdpbusd (q ^ 0x80, with the -128 * sum(x)
 * correction counted per token), a whole row in int32. */
#include <immintrin.h>
#include <string.h>

#include "kernels/quant.h"
#include "kernels/x86/mask_avx512.h"

#define INLINE static inline __attribute__((always_inline))

enum { K_Q8_0, K_Q4_0, K_Q4_1, K_MXFP4, K_I4, K_I8, K_NF4, K_NF4DQ };
enum { TILE_R = 4, TILE_T = 4 };

INLINE int kind_bias(int kind) {
    return kind == K_Q8_0 ? 128 : kind == K_Q4_0 ? 8 : kind == K_MXFP4 ? 12 : 0;
}
INLINE int kind_zero(int kind) { return kind == K_I4 || kind == K_I8; }
INLINE int kind_m(int kind) { return kind == K_Q4_1; }
INLINE int kind_nf4(int kind) { return kind == K_NF4 || kind == K_NF4DQ; }
enum { NF4_BIAS = 128 * 128 + 64 }; /* the tables' biases, hi * 128 + lo */

/* two 256-bit halves -> one 512-bit vector */
INLINE __m512i join_i(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }
INLINE __m512 join_f(__m256 lo, __m256 hi) { return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1); }

/* [h0 x 8 | h1 x 8] fp16 -> 16 floats */
INLINE __m512 f16_pair(uint16_t h0, uint16_t h1) {
    __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)h0)),
                                        _mm_set1_epi16((short)h1), 1);
    return _mm512_cvtph_ps(h);
}

/* 16 + 16 code bytes (nibbles) of two blocks -> 64 bytes 0..15:
 * [b0 low | b0 high | b1 low | b1 high] */
INLINE __m512i nibble_pair(const uint8_t *q0, const uint8_t *q1) {
    __m512i t = join_i(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q0)),
                       _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q1)));
    const __m512i sh = _mm512_set_epi64(0x0004000400040004LL, 0x0004000400040004LL, 0, 0,
                                        0x0004000400040004LL, 0x0004000400040004LL, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi16(t, sh), _mm512_set1_epi8(15));
}

/* Q4_0 / Q4_1: blocks b and b+1 are contiguous, so one masked load takes
 * both (36 or 40 bytes; only b's 18 or 20 when single, the rest zero) and
 * word permutations (AVX512BW) spread them, instead of two code loads and
 * two scalar fp16 loads per pair:
 *
 *   Q4_0  words:  0     1 .. 8     9       10 .. 17
 *                 d(b)  qs(b)      d(b+1)  qs(b+1)
 *   Q4_1  words:  0     1     2 .. 9     10      11      12 .. 19
 *                 d(b)  m(b)  qs(b)      d(b+1)  m(b+1)  qs(b+1)
 *
 * Codes: words [qs(b) qs(b) | qs(b+1) qs(b+1)], then the second and fourth
 * 16 bytes shifted right by 4 and all masked to 4 bits, which is
 * nibble_pair's [b low | b high | b+1 low | b+1 high].  A scale: words
 * [w0 x 8 | w1 x 8] of the low 256 bits, converted from fp16. */
INLINE __m512i q4_codes(__m512i v, int q0, int q1) { /* first code word of block b, of b+1 */
    const __m512i idx = _mm512_set_epi16(
        q1 + 7, q1 + 6, q1 + 5, q1 + 4, q1 + 3, q1 + 2, q1 + 1, q1,
        q1 + 7, q1 + 6, q1 + 5, q1 + 4, q1 + 3, q1 + 2, q1 + 1, q1,
        q0 + 7, q0 + 6, q0 + 5, q0 + 4, q0 + 3, q0 + 2, q0 + 1, q0,
        q0 + 7, q0 + 6, q0 + 5, q0 + 4, q0 + 3, q0 + 2, q0 + 1, q0);
    const __m512i sh = _mm512_set_epi64(0x0004000400040004LL, 0x0004000400040004LL, 0, 0,
                                        0x0004000400040004LL, 0x0004000400040004LL, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi16(_mm512_permutexvar_epi16(idx, v), sh), _mm512_set1_epi8(15));
}
INLINE __m512 q4_scale(__m512i v, int w0, int w1) {
    const __m256i idx = _mm256_set_epi16(w1, w1, w1, w1, w1, w1, w1, w1, w0, w0, w0, w0, w0, w0, w0, w0);
    return _mm512_cvtph_ps(_mm256_permutexvar_epi16(idx, _mm512_castsi512_si256(v)));
}

/* ------------------------------------------------------------ activations */

typedef struct {
    __m512i x;    /* int8 codes of the pair                       */
    __m512i init; /* -B * (sum of each lane's 4 codes), bias kinds */
    __m512i negx; /* -x, zero-point kinds                         */
    __m512 dx;    /* [d(b) x 8 | d(b+1) x 8]                      */
    __m512 ds;    /* [ds(b), 0 x 7 | ds(b+1), 0 x 7], Q4_1        */
} act_pair;

/* blocks a[0], a[1] (a[0] only when single) */
INLINE void act_load(int kind, const ob_blk_q8a *a, int single, act_pair *p) {
    const __m256i x0 = _mm256_loadu_si256((const __m256i *)a[0].qs);
    const __m256i x1 = single ? _mm256_setzero_si256() : _mm256_loadu_si256((const __m256i *)a[1].qs);
    p->x = join_i(x0, x1);
    p->dx = join_f(_mm256_set1_ps(a[0].d), _mm256_set1_ps(single ? 0.0f : a[1].d));
    if (kind_bias(kind))
        p->init = _mm512_sub_epi32(_mm512_setzero_si512(),
                                   _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                                                       _mm512_set1_epi8((char)kind_bias(kind)), p->x));
    if (kind_zero(kind)) p->negx = _mm512_sub_epi8(_mm512_setzero_si512(), p->x);
    if (kind_nf4(kind))
        p->init = _mm512_mullo_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), p->x),
                                     _mm512_set1_epi32(-NF4_BIAS));
    if (kind_m(kind)) {
        __m512 v = _mm512_mask_broadcastss_ps(_mm512_setzero_ps(), 0x0001, _mm_set_ss(a[0].ds));
        p->ds = single ? v : _mm512_mask_broadcastss_ps(v, 0x0100, _mm_set_ss(a[1].ds));
    }
}

/* ---------------------------------------------------------------- weights */

typedef struct {
    const uint8_t *row, *codes;
    const ob_qgroup_hdr *hdr;
    int gshift;            /* group of block b: b >> gshift */
    int64_t nb64;          /* NF4: 64-blocks per row */
    __m512i lut_hi, lut_lo; /* NF4: ob_nf4_hi + 128, ob_nf4_lo + 64 in every lane */
    int64_t am_end;        /* NF4_DQ: am[] holds the scales of 64-blocks [am_end - 16, am_end) */
    float am[16];          /* NF4_DQ: absmax / OB_NF4_LEVEL_ONE of those blocks */
} row_ptr;

/* NF4_DQ: decodes the absmax of the 16 64-blocks from k0 (a multiple of 16,
 * so one 256-block group: one mean and scale) at once, as ob_nf4_absmax
 * does one by one (mean + scale * aq, unfused, then / OB_NF4_LEVEL_ONE),
 * so the values are bitwise the same. */
INLINE void nf4dq_scales(row_ptr *s, int64_t k0) {
    float ms[2];
    memcpy(ms, s->row + (k0 / 256) * 8, 8);
    const int64_t left = s->nb64 - k0;
    const __m128i aq = _mm_maskz_loadu_epi8(ob_lanes16(left), s->row + ob_ceil_div(s->nb64, 256) * 8 + k0);
    const __m512 a = _mm512_add_ps(_mm512_set1_ps(ms[0]),
                                   _mm512_mul_ps(_mm512_set1_ps(ms[1]), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(aq))));
    _mm512_storeu_ps(s->am, _mm512_mul_ps(a, _mm512_set1_ps(1.0f / OB_NF4_LEVEL_ONE)));
    s->am_end = k0 + 16;
}


INLINE void row_open(int kind, const ob_matrix *W, int64_t r, row_ptr *s) {
    s->row = ob_row_ptr(W, r);
    s->codes = s->row;
    s->hdr = NULL;
    s->gshift = 0;
    if (kind_zero(kind)) {
        const int64_t G = ob_qgroup_size(W->format, W->cols);
        s->gshift = G == 32 ? 0 : G == 64 ? 1 : G == 128 ? 2 : 62; /* per row: one group */
        s->hdr = (const ob_qgroup_hdr *)s->row;
        s->codes = s->row + (size_t)ob_ceil_div(W->cols, G) * sizeof(ob_qgroup_hdr);
    }
    if (kind_nf4(kind)) {
        s->nb64 = ob_ceil_div(W->cols, 64);
        s->codes = s->row + (kind == K_NF4DQ ? ob_nf4dq_hdr_bytes(s->nb64) : (size_t)s->nb64 * 4);
        const __m512i hi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ob_nf4_hi));
        const __m512i lo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ob_nf4_lo));
        s->lut_hi = _mm512_add_epi8(hi, _mm512_set1_epi8((char)128));
        s->lut_lo = _mm512_add_epi8(lo, _mm512_set1_epi8(64));
        s->am_end = 0;
    }
}

typedef struct {
    __m512i w; /* unsigned weight bytes                 */
    __m512i w2; /* NF4: the lo table's bytes            */
    __m512i z; /* zero points as bytes, zero-point kinds */
    __m512 d;  /* [d(b) x 8 | d(b+1) x 8]               */
    __m512 m;  /* Q4_1: [m(b) x 8 | m(b+1) x 8]          */
} w_pair;

/* blocks b, b+1 of a row (b only when single: the upper half is zero) */
INLINE void w_load(int kind, row_ptr *s, int64_t b, int single, w_pair *p) {
    if (kind == K_Q8_0) {
        const ob_blk_q8_0 *k = (const ob_blk_q8_0 *)s->row + b;
        __m256i lo = _mm256_loadu_si256((const __m256i *)k[0].qs);
        __m256i hi = single ? _mm256_set1_epi8((char)0x80) : _mm256_loadu_si256((const __m256i *)k[1].qs);
        p->w = _mm512_xor_si512(join_i(lo, hi), _mm512_set1_epi8((char)0x80));
        p->d = f16_pair(k[0].d, single ? 0 : k[1].d);
    } else if (kind == K_Q4_0) {
        const __m512i v = _mm512_maskz_loadu_epi8(single ? 0x3ffffULL : 0xfffffffffULL, s->row + b * 18);
        p->w = q4_codes(v, 1, 10);
        p->d = q4_scale(v, 0, 9);
    } else if (kind == K_Q4_1) {
        const __m512i v = _mm512_maskz_loadu_epi8(single ? 0xfffffULL : 0xffffffffffULL, s->row + b * 20);
        p->w = q4_codes(v, 2, 12);
        p->d = q4_scale(v, 0, 10);
        p->m = q4_scale(v, 1, 11);
    } else if (kind_nf4(kind)) {
        const __m512i nib = nibble_pair(s->codes + b * 16, s->codes + (single ? b : b + 1) * 16);
        p->w = _mm512_shuffle_epi8(s->lut_hi, nib);
        p->w2 = _mm512_shuffle_epi8(s->lut_lo, nib);
        if (single) {
            p->w = _mm512_inserti64x4(p->w, _mm256_setzero_si256(), 1);
            p->w2 = _mm512_inserti64x4(p->w2, _mm256_setzero_si256(), 1);
        }
        if (kind == K_NF4DQ) {
            if (b / 2 >= s->am_end) nf4dq_scales(s, b / 2);
            p->d = _mm512_set1_ps(s->am[b / 2 - (s->am_end - 16)]);
        } else
            p->d = _mm512_set1_ps(ob_nf4_absmax(0, s->row, s->nb64, b / 2) * (1.0f / OB_NF4_LEVEL_ONE));
    } else if (kind == K_MXFP4) {
        const ob_blk_mxfp4 *k = (const ob_blk_mxfp4 *)s->row + b;
        const __m512i lut = _mm512_set_epi8(0, 4, 6, 8, 9, 10, 11, 12, 24, 20, 18, 16, 15, 14, 13, 12,
                                            0, 4, 6, 8, 9, 10, 11, 12, 24, 20, 18, 16, 15, 14, 13, 12,
                                            0, 4, 6, 8, 9, 10, 11, 12, 24, 20, 18, 16, 15, 14, 13, 12,
                                            0, 4, 6, 8, 9, 10, 11, 12, 24, 20, 18, 16, 15, 14, 13, 12);
        p->w = _mm512_shuffle_epi8(lut, nibble_pair(k[0].qs, single ? k[0].qs : k[1].qs));
        if (single) p->w = _mm512_inserti64x4(p->w, _mm256_setzero_si256(), 1);
        p->d = join_f(_mm256_set1_ps(ob_e8m0_half_inline(k[0].e)),
                      _mm256_set1_ps(single ? 0.0f : ob_e8m0_half_inline(k[1].e)));
    } else {
        /* group formats: headers of the groups of b and b+1 */
        ob_qgroup_hdr h0, h1;
        memcpy(&h0, s->hdr + (b >> s->gshift), sizeof h0);
        if (single) h1 = h0;
        else memcpy(&h1, s->hdr + ((b + 1) >> s->gshift), sizeof h1);
        const int zoff = kind == K_I8 ? 128 : 0;
        if (kind == K_I4) {
            p->w = nibble_pair(s->codes + b * 16, s->codes + (single ? b : b + 1) * 16);
        } else {
            const __m256i lo = _mm256_loadu_si256((const __m256i *)(s->codes + b * 32));
            const __m256i hi = single ? _mm256_set1_epi8((char)0x80)
                                      : _mm256_loadu_si256((const __m256i *)(s->codes + (b + 1) * 32));
            p->w = _mm512_xor_si512(join_i(lo, hi), _mm512_set1_epi8((char)0x80));
        }
        if (single) {
            p->w = _mm512_inserti64x4(p->w, _mm256_setzero_si256(), 1);
            p->z = join_i(_mm256_set1_epi8((char)(h0.zero + zoff)), _mm256_setzero_si256());
            p->d = f16_pair(h0.scale, 0);
        } else if (b >> s->gshift == (b + 1) >> s->gshift) {
            p->z = _mm512_set1_epi8((char)(h0.zero + zoff));
            p->d = _mm512_set1_ps(_cvtsh_ss(h0.scale));
        } else {
            p->z = join_i(_mm256_set1_epi8((char)(h0.zero + zoff)), _mm256_set1_epi8((char)(h1.zero + zoff)));
            p->d = f16_pair(h0.scale, h1.scale);
        }
    }
}

/* acc += one pair of row w and token a */
INLINE __m512 pair_step(int kind, const w_pair *w, const act_pair *a, __m512 acc) {
    __m512i p;
    if (kind_nf4(kind))
        p = _mm512_add_epi32(_mm512_slli_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w->w, a->x), 7),
                             _mm512_dpbusd_epi32(a->init, w->w2, a->x));
    else if (kind_zero(kind))
        p = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w->z, a->negx), w->w, a->x);
    else if (kind_bias(kind))
        p = _mm512_dpbusd_epi32(a->init, w->w, a->x);
    else
        p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w->w, a->x);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(w->d, a->dx), acc);
    if (kind_m(kind)) acc = _mm512_fmadd_ps(w->m, a->ds, acc);
    return acc;
}

/* Rows r .. r+NR-1 times tokens X[0 .. NT) (nbx blocks each) into
 * out[t * ldo + i] for row r + i. */
INLINE void int_tile(int kind, const ob_matrix *W, int64_t r, const ob_blk_q8a *X, int64_t nbx, int NR,
                     int NT, float *out, int64_t ldo) {
    row_ptr rs[TILE_R];
    __m512 acc[TILE_R][TILE_T];
    for (int i = 0; i < NR; i++) {
        row_open(kind, W, r + i, &rs[i]);
        for (int t = 0; t < NT; t++) acc[i][t] = _mm512_setzero_ps();
    }
    /* The NR rows are NR short streams that the hardware prefetcher picks
     * up late; the next tile's rows (contiguous after these) are prefetched
     * at the rate this tile is read. */
    const char *pf = (const char *)ob_row_ptr(W, r + NR), *pf_end = pf;
    const int64_t pf_step = (int64_t)(2 * (size_t)NR * W->row_bytes / (size_t)nbx) + 1;
    int64_t b = 0;
    for (; b + 2 <= nbx; b += 2) {
        w_pair wp[TILE_R];
        for (pf_end += pf_step; pf < pf_end; pf += 64) _mm_prefetch(pf, _MM_HINT_T0);
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++) w_load(kind, &rs[i], b, 0, &wp[i]);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            act_pair ap;
            act_load(kind, X + t * nbx + b, 0, &ap);
#pragma GCC unroll 4
            for (int i = 0; i < NR; i++) acc[i][t] = pair_step(kind, &wp[i], &ap, acc[i][t]);
        }
    }
    /* the loops below are unrolled too: with any of them left rolled, acc
     * must live in memory and GCC stores it back on every pair above */
    if (b < nbx) {
        w_pair wp[TILE_R];
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++) w_load(kind, &rs[i], b, 1, &wp[i]);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            act_pair ap;
            act_load(kind, X + t * nbx + b, 1, &ap);
#pragma GCC unroll 4
            for (int i = 0; i < NR; i++) acc[i][t] = pair_step(kind, &wp[i], &ap, acc[i][t]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) out[t * ldo + i] = _mm512_reduce_add_ps(acc[i][t]);
}

/* ------------------------------------------------------------------ W8A8 */

INLINE void w8a8_tile(const ob_matrix *W, int64_t r, const uint8_t *X, size_t stride, int NR, int NT,
                      float *out, int64_t ldo) {
    const int64_t cols = W->cols;
    const uint8_t *row[TILE_R];
    __m512i acc[TILE_R][TILE_T], corr[TILE_T];
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (int i = 0; i < NR; i++) {
        row[i] = ob_row_ptr(W, r + i) + 4;
        for (int t = 0; t < NT; t++) acc[i][t] = _mm512_setzero_si512();
    }
    for (int t = 0; t < NT; t++) corr[t] = _mm512_setzero_si512();
    const char *pf = (const char *)ob_row_ptr(W, r + NR); /* the next tile, as in int_tile */
    for (int64_t c = 0; c < cols; c += 64) {
        for (int i = 0; i < NR; i++) _mm_prefetch(pf + i * 64, _MM_HINT_T0);
        pf += NR * 64;
        const __mmask64 k = cols - c >= 64 ? ~(__mmask64)0 : (__mmask64)0xffffffffu; /* cols % 32 == 0 */
        __m512i w[TILE_R];
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++) w[i] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, row[i] + c), flip);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const __m512i x = _mm512_maskz_loadu_epi8(k, X + t * stride + 4 + c);
            corr[t] = _mm512_dpbusd_epi32(corr[t], flip, x);
#pragma GCC unroll 4
            for (int i = 0; i < NR; i++) acc[i][t] = _mm512_dpbusd_epi32(acc[i][t], w[i], x);
        }
    }
    for (int t = 0; t < NT; t++) {
        float dx;
        memcpy(&dx, X + t * stride, 4);
        const int32_t ct = _mm512_reduce_add_epi32(corr[t]);
        for (int i = 0; i < NR; i++) {
            float sw;
            memcpy(&sw, row[i] - 4, 4);
            out[t * ldo + i] = sw * dx * (float)(_mm512_reduce_add_epi32(acc[i][t]) - ct);
        }
    }
}

/* ------------------------------------------------------------- entries */

enum { F_Q8_0, F_Q4_0, F_Q4_1, F_MXFP4, F_I4, F_I8, F_NF4, F_NF4DQ, F_W8A8 };

/* One tile of NR rows x NT tokens (compile-time constants after inlining). */
INLINE void any_tile(int fam, const ob_matrix *W, int64_t r, const void *X, int NR, int NT, float *out,
                     int64_t ldo) {
    const int64_t nbx = W->cols / OB_QK;
    switch (fam) {
    case F_Q8_0: int_tile(K_Q8_0, W, r, X, nbx, NR, NT, out, ldo); break;
    case F_Q4_0: int_tile(K_Q4_0, W, r, X, nbx, NR, NT, out, ldo); break;
    case F_Q4_1: int_tile(K_Q4_1, W, r, X, nbx, NR, NT, out, ldo); break;
    case F_MXFP4: int_tile(K_MXFP4, W, r, X, nbx, NR, NT, out, ldo); break;
    case F_I4: int_tile(K_I4, W, r, X, nbx, NR, NT, out, ldo); break;
    case F_I8: int_tile(K_I8, W, r, X, nbx, NR, NT, out, ldo); break;
    case F_NF4: int_tile(K_NF4, W, r, X, nbx, NR, NT, out, ldo); break;
    case F_NF4DQ: int_tile(K_NF4DQ, W, r, X, nbx, NR, NT, out, ldo); break;
    case F_W8A8: w8a8_tile(W, r, X, ob_w8a8_act_bytes(W->cols), NR, NT, out, ldo); break;
    }
}

/* Rows [r0, r1) x n tokens: 4-row blocks (then single rows), each over
 * the tokens in tiles of 4 (then single tokens).  W8A8 decode (n == 1)
 * takes its rows one at a time: each row one stream, the next row
 * prefetched.  Four rows side by side (rows of 4 + cols bytes, so off the
 * 64-byte lines) read at 74-79% of the read bandwidth with 2 threads in the
 * minutes when this VM's bandwidth is low, one row at a time at 103-110%
 * (bench_quant, 2048 and 5632 columns; equal when it is high).  The block
 * formats keep their 4-row tiles: at one row they lose up to 30%
 * (bench_quant), being bound by their own arithmetic. */
#define ROWS_FN(NAME, FAM)                                                                    \
    static void rows_##NAME(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, \
                            int64_t r0, int64_t r1) {                                         \
        const size_t stride = W->ops->act_bytes ? W->ops->act_bytes(W->cols)                  \
                                                : (size_t)W->cols * sizeof(float);            \
        int64_t r = r0;                                                                       \
        if (!(FAM == F_W8A8 && n == 1))                                                       \
            for (; r + TILE_R <= r1; r += TILE_R) {                                           \
                int64_t t = 0;                                                                \
                for (; t + TILE_T <= n; t += TILE_T)                                          \
                    any_tile(FAM, W, r, (const char *)X + (size_t)t * stride, TILE_R, TILE_T, \
                             Y + t * ldy + r, ldy);                                           \
                for (; t < n; t++)                                                            \
                    any_tile(FAM, W, r, (const char *)X + (size_t)t * stride, TILE_R, 1,      \
                             Y + t * ldy + r, ldy);                                           \
            }                                                                                 \
        for (; r < r1; r++) {                                                                 \
            int64_t t = 0;                                                                    \
            for (; t + TILE_T <= n; t += TILE_T)                                              \
                any_tile(FAM, W, r, (const char *)X + (size_t)t * stride, 1, TILE_T,           \
                         Y + t * ldy + r, ldy);                                               \
            for (; t < n; t++)                                                                \
                any_tile(FAM, W, r, (const char *)X + (size_t)t * stride, 1, 1, Y + t * ldy + r, \
                         ldy);                                                                \
        }                                                                                     \
    }
ROWS_FN(q8_0, F_Q8_0)
ROWS_FN(q4_0, F_Q4_0)
ROWS_FN(q4_1, F_Q4_1)
ROWS_FN(mxfp4, F_MXFP4)
ROWS_FN(i4, F_I4)
ROWS_FN(i8, F_I8)
ROWS_FN(nf4, F_NF4)
ROWS_FN(nf4dq, F_NF4DQ)
ROWS_FN(w8a8, F_W8A8)

void ob_quant_matmul_avx512(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0,
                            int64_t r1) {
    switch (W->format) {
    case OB_FMT_Q8_0: rows_q8_0(W, X, n, Y, ldy, r0, r1); break;
    case OB_FMT_Q4_0: rows_q4_0(W, X, n, Y, ldy, r0, r1); break;
    case OB_FMT_Q4_1: rows_q4_1(W, X, n, Y, ldy, r0, r1); break;
    case OB_FMT_MXFP4: rows_mxfp4(W, X, n, Y, ldy, r0, r1); break;
    case OB_FMT_I4_G32: case OB_FMT_I4_G64: case OB_FMT_I4_G128: case OB_FMT_I4_ROW:
        rows_i4(W, X, n, Y, ldy, r0, r1);
        break;
    case OB_FMT_I8_G32: case OB_FMT_I8_G64: case OB_FMT_I8_G128: case OB_FMT_I8_ROW:
        rows_i8(W, X, n, Y, ldy, r0, r1);
        break;
    case OB_FMT_NF4: rows_nf4(W, X, n, Y, ldy, r0, r1); break;
    case OB_FMT_NF4_DQ: rows_nf4dq(W, X, n, Y, ldy, r0, r1); break;
    case OB_FMT_W8A8: rows_w8a8(W, X, n, Y, ldy, r0, r1); break;
    default: W->ops->matmul_ref(W, X, n, Y, ldy, r0, r1); break;
    }
}

void ob_quant_matvec_avx512(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1) {
    ob_quant_matmul_avx512(W, x, 1, y, 0, r0, r1);
}

/* ------------------------------------------------ activation quantizers */

/* ob_q8a_quantize_act: per 32 values d = absmax / 127, qs = x * (1 / d)
 * rounded to nearest even, ds = d * sum(qs); every step as the reference
 * does it, so the bytes are the same. */
void ob_q8a_quantize_act_avx512(const float *x, int64_t cols, void *out) {
    ob_blk_q8a *a = out;
    for (int64_t b = 0; b < cols / OB_QK; b++, x += OB_QK) {
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        const __m512 m = _mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1));
        const float d = _mm512_reduce_max_ps(m) / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, _mm512_set1_ps(id)));
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, _mm512_set1_ps(id)));
        _mm_storeu_si128((__m128i *)a[b].qs, _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(a[b].qs + 16), _mm512_cvtepi32_epi8(q1));
        a[b].d = d;
        a[b].ds = d * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

/* ob_w8a8_quantize_act: one scale for the whole row, then the same rounding */
void ob_w8a8_quantize_act_avx512(const float *x, int64_t cols, void *out) {
    __m512 m = _mm512_setzero_ps();
    for (int64_t c = 0; c < cols; c += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(ob_lanes16(cols - c), x + c)));
    const float d = _mm512_reduce_max_ps(m) / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
    memcpy(out, &d, 4);
    int8_t *q = (int8_t *)out + 4;
    for (int64_t c = 0; c < cols; c += 16) {
        const __mmask16 k = ob_lanes16(cols - c);
        const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + c), _mm512_set1_ps(id)));
        _mm_mask_storeu_epi8(q + c, k, _mm512_cvtepi32_epi8(v));
    }
}

/* quant_x86.h - the AVX2 kernels of the quantized formats (the AVX-512
 * VNNI ones, tiled over rows and tokens, are in quant_avx512.c).  Written
 * as a body over integer dot primitives: quant_avx2.c defines them and SUF,
 * then includes this file:
 *
 *   dot_u8(w, x)        8 int32 lanes whose sum is sum_j w_j x_j for 32
 *                       unsigned weight bytes w (<= 15) and int8 x
 *   dot_s8(w, x)        the same for signed weight bytes
 *   dot_s8_acc(a, w, x) a + dot_s8(w, x)
 *
 * AVX2: vpmaddubsw + vpmaddwd (no saturation: |w| <= 128, |x| <= 127 gives
 * pair sums <= 32512); AVX-512 VNNI: vpdpbusd.  Signed weights use the sign
 * trick: |w| as the unsigned operand, x with w's sign as the signed one.
 *
 * Integer-dot formats (Q8_0, Q4_0, Q4_1, MXFP4, group int4/int8): per 32
 * weights one 256-bit vector of weight bytes is decoded:
 *
 *   Q8_0 / I8:  the 32 int8 codes as they are                (signed)
 *   4-bit:      16 bytes -> [ low nibbles (w0..w15) | high nibbles (w16..w31) ]
 *               Q4_0 / Q4_1 / I4 as unsigned 0..15, MXFP4 through a
 *               vpshufb table of the doubled E2M1 values     (signed)
 *
 * which lines up with the activation block's qs[0..31].  The block's int32
 * lanes are converted to float and accumulated with d_w * d_x (FMA), the
 * m_w * ds_x term in a scalar, as in the reference (kernels/qref.c).
 *
 * matmul runs, per row, the tokens in tiles of up to 4 that share each
 * decoded weight vector; every token's sums are formed in the same order as
 * matvec's, so results do not depend on how tokens or rows are split.
 * NF4 looks its codes up in two byte tables (vpshufb), hi and lo, and forms
 * the integer levels' sum 128 * hi + lo (kernels/quant.h) with two signed
 * dot products; W8A8 accumulates a whole row in int32 lanes. */
#include <immintrin.h>
#include <string.h>

#include "kernels/quant.h"
#include "kernels/x86/hsum_x86.h"

#define INLINE static inline __attribute__((always_inline))
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

enum { K_Q8_0, K_Q4_0, K_Q4_1, K_MXFP4, K_I4, K_I8 };
enum { NT_MAX = 4 };

INLINE float f16(uint16_t h) { return _cvtsh_ss(h); }


INLINE int32_t hsum8i(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* 16 bytes of nibbles -> 32 bytes [low nibbles | high nibbles] */
INLINE __m256i nibbles(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p), m = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

/* --------------------------------------------- integer-dot block decoding */

/* Where a row's blocks are and, for group formats, the current group. */
typedef struct {
    const uint8_t *row, *codes;
    const ob_qgroup_hdr *hdr;
    int64_t bpg;    /* blocks per group */
    int64_t next_b; /* first block of the next group */
    float d, m;     /* the current group's */
} row_state;

INLINE void row_begin(int kind, const ob_matrix *W, int64_t r, row_state *s) {
    s->row = ob_row_ptr(W, r);
    s->codes = NULL;
    s->hdr = NULL;
    s->bpg = 1;
    s->next_b = 0;
    s->d = s->m = 0;
    if (kind == K_I4 || kind == K_I8) {
        int64_t G = ob_qgroup_size(W->format, W->cols);
        s->bpg = G / OB_QK;
        s->hdr = (const ob_qgroup_hdr *)s->row;
        s->codes = s->row + (size_t)ob_ceil_div(W->cols, G) * sizeof(ob_qgroup_hdr);
    }
}

INLINE int kind_signed(int kind) { return kind == K_Q8_0 || kind == K_MXFP4 || kind == K_I8; }
INLINE int kind_has_m(int kind) { return kind == K_Q4_0 || kind == K_Q4_1 || kind == K_I4 || kind == K_I8; }

/* Block b's weight bytes, scale d and offset m (w = d * q + m). */
INLINE __m256i decode(int kind, row_state *s, int64_t b, float *d, float *m) {
    if (kind == K_Q8_0) {
        const ob_blk_q8_0 *k = (const ob_blk_q8_0 *)s->row + b;
        *d = f16(k->d);
        return _mm256_loadu_si256((const __m256i *)k->qs);
    }
    if (kind == K_Q4_0) {
        const ob_blk_q4_0 *k = (const ob_blk_q4_0 *)s->row + b;
        *d = f16(k->d);
        *m = -8.0f * *d;
        return nibbles(k->qs);
    }
    if (kind == K_Q4_1) {
        const ob_blk_q4_1 *k = (const ob_blk_q4_1 *)s->row + b;
        *d = f16(k->d);
        *m = f16(k->m);
        return nibbles(k->qs);
    }
    if (kind == K_MXFP4) {
        const ob_blk_mxfp4 *k = (const ob_blk_mxfp4 *)s->row + b;
        const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ob_mxfp4_int2));
        *d = ob_e8m0_half_inline(k->e);
        return _mm256_shuffle_epi8(lut, nibbles(k->qs));
    }
    /* group formats: a new header every bpg blocks (blocks come in order) */
    if (b == s->next_b) {
        ob_qgroup_hdr h;
        memcpy(&h, s->hdr++, sizeof h);
        s->d = f16(h.scale);
        s->m = -s->d * (float)h.zero;
        s->next_b += s->bpg;
    }
    *d = s->d;
    *m = s->m;
    if (kind == K_I4) return nibbles(s->codes + b * (OB_QK / 2));
    return _mm256_loadu_si256((const __m256i *)(s->codes + b * OB_QK));
}

/* Row r times tokens X[0 .. NT) (ob_blk_q8a, nbx blocks each) into
 * out[t * ldo]. */
INLINE void int_tile(int kind, const ob_matrix *W, int64_t r, const ob_blk_q8a *X, int64_t nbx, int NT,
                     float *out, int64_t ldo) {
    row_state s;
    row_begin(kind, W, r, &s);
    __m256 acc[NT_MAX];
    float accm[NT_MAX];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm256_setzero_ps();
        accm[t] = 0;
    }
    for (int64_t b = 0; b < nbx; b++) {
        float d, m = 0;
        __m256i w = decode(kind, &s, b, &d, &m);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const ob_blk_q8a *a = X + t * nbx + b;
            __m256i x = _mm256_loadu_si256((const __m256i *)a->qs);
            __m256i p = kind_signed(kind) ? dot_s8(w, x) : dot_u8(w, x);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * a->d), acc[t]);
            if (kind_has_m(kind)) accm[t] += m * a->ds;
        }
    }
    for (int t = 0; t < NT; t++) out[t * ldo] = ob_hsum8(acc[t]) + accm[t];
}

/* ------------------------------------------------------------------ W8A8 */

INLINE void w8a8_tile(const ob_matrix *W, int64_t r, const uint8_t *X, size_t stride, int NT, float *out,
                      int64_t ldo) {
    const uint8_t *row = ob_row_ptr(W, r);
    __m256i acc[NT_MAX];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_si256();
    for (int64_t c = 0; c < W->cols; c += OB_QK) {
        __m256i w = _mm256_loadu_si256((const __m256i *)(row + 4 + c));
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++)
            acc[t] = dot_s8_acc(acc[t], w, _mm256_loadu_si256((const __m256i *)(X + t * stride + 4 + c)));
    }
    float sw;
    memcpy(&sw, row, 4);
    for (int t = 0; t < NT; t++) {
        float dx;
        memcpy(&dx, X + t * stride, 4);
        out[t * ldo] = sw * dx * (float)hsum8i(acc[t]);
    }
}

/* ------------------------------------------------------------------- NF4 */


/* Per 32 weights: the codes through the hi and lo tables (signed bytes),
 * isum = 128 * dot(hi, x) + dot(lo, x), scaled by absmax / 16256 * d_x. */
INLINE void nf4_tile(int dq, const ob_matrix *W, int64_t r, const ob_blk_q8a *X, int64_t nbx, int NT,
                     float *out, int64_t ldo) {
    const int64_t nb = ob_ceil_div(W->cols, 64);
    const uint8_t *row = ob_row_ptr(W, r);
    const uint8_t *codes = row + (dq ? ob_nf4dq_hdr_bytes(nb) : (size_t)nb * 4);
    const __m256i lut_hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ob_nf4_hi));
    const __m256i lut_lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ob_nf4_lo));
    __m256 acc[NT_MAX];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nbx; b++) {
        const float d = ob_nf4_absmax(dq, row, nb, b / 2) * (1.0f / OB_NF4_LEVEL_ONE);
        const __m256i q = nibbles(codes + b * (OB_QK / 2));
        const __m256i whi = _mm256_shuffle_epi8(lut_hi, q), wlo = _mm256_shuffle_epi8(lut_lo, q);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const ob_blk_q8a *a = X + t * nbx + b;
            const __m256i x = _mm256_loadu_si256((const __m256i *)a->qs);
            const __m256i p = _mm256_add_epi32(_mm256_slli_epi32(dot_s8(whi, x), 7), dot_s8(wlo, x));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * a->d), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) out[t * ldo] = ob_hsum8(acc[t]);
}

/* ------------------------------------------------------------- entries */

/* One tile of NT tokens (a compile-time constant after inlining). */
INLINE void any_tile(int fmt, const ob_matrix *W, int64_t r, const void *X, int NT, float *out, int64_t ldo) {
    const int64_t cols = W->cols;
    switch (fmt) {
    case OB_FMT_Q8_0: int_tile(K_Q8_0, W, r, X, cols / OB_QK, NT, out, ldo); break;
    case OB_FMT_Q4_0: int_tile(K_Q4_0, W, r, X, cols / OB_QK, NT, out, ldo); break;
    case OB_FMT_Q4_1: int_tile(K_Q4_1, W, r, X, cols / OB_QK, NT, out, ldo); break;
    case OB_FMT_MXFP4: int_tile(K_MXFP4, W, r, X, cols / OB_QK, NT, out, ldo); break;
    case OB_FMT_I4_G32: int_tile(K_I4, W, r, X, cols / OB_QK, NT, out, ldo); break;
    case OB_FMT_I8_G32: int_tile(K_I8, W, r, X, cols / OB_QK, NT, out, ldo); break;
    case OB_FMT_NF4: nf4_tile(0, W, r, X, cols / OB_QK, NT, out, ldo); break;
    case OB_FMT_NF4_DQ: nf4_tile(1, W, r, X, cols / OB_QK, NT, out, ldo); break;
    case OB_FMT_W8A8: w8a8_tile(W, r, X, ob_w8a8_act_bytes(cols), NT, out, ldo); break;
    }
}

/* Rows [r0, r1) x n tokens, per format family (the group sizes of one
 * family share a kernel: the group size only moves the headers). */
#define ROWS_FN(NAME, FMT)                                                                    \
    static void rows_##NAME(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, \
                            int64_t r0, int64_t r1) {                                         \
        const size_t stride = W->ops->act_bytes ? W->ops->act_bytes(W->cols)                  \
                                                : (size_t)W->cols * sizeof(float);            \
        for (int64_t r = r0; r < r1; r++)                                                     \
            for (int64_t t = 0; t < n; t += NT_MAX) {                                         \
                const char *xt = (const char *)X + (size_t)t * stride;                        \
                switch (n - t < NT_MAX ? n - t : NT_MAX) {                                     \
                case 1: any_tile(FMT, W, r, xt, 1, Y + t * ldy + r, ldy); break;              \
                case 2: any_tile(FMT, W, r, xt, 2, Y + t * ldy + r, ldy); break;              \
                case 3: any_tile(FMT, W, r, xt, 3, Y + t * ldy + r, ldy); break;              \
                default: any_tile(FMT, W, r, xt, 4, Y + t * ldy + r, ldy); break;             \
                }                                                                             \
            }                                                                                 \
    }
ROWS_FN(q8_0, OB_FMT_Q8_0)
ROWS_FN(q4_0, OB_FMT_Q4_0)
ROWS_FN(q4_1, OB_FMT_Q4_1)
ROWS_FN(mxfp4, OB_FMT_MXFP4)
ROWS_FN(i4, OB_FMT_I4_G32)
ROWS_FN(i8, OB_FMT_I8_G32)
ROWS_FN(nf4, OB_FMT_NF4)
ROWS_FN(nf4dq, OB_FMT_NF4_DQ)
ROWS_FN(w8a8, OB_FMT_W8A8)

void CAT(ob_quant_matmul_, SUF)(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy,
                                int64_t r0, int64_t r1) {
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

void CAT(ob_quant_matvec_, SUF)(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1) {
    CAT(ob_quant_matmul_, SUF)(W, x, 1, y, 0, r0, r1);
}

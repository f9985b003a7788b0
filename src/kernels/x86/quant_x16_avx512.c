/* quant_x16_avx512.c - AVX-512 VNNI kernels of the x16 layout
 * (kernels/x16.h): int32 lane j of every vector is block 16g + j.
 *
 * Per group of 16 blocks, row i and token t:
 *
 *   unit u = 0..3 (steps 2u, 2u+1: 8 weights of each block)
 *     4-bit: one load of 4n code bytes -> low nibbles w0, high nibbles w1
 *            (MXFP4: through a vpshufb table of 2 * E2M1 + 12; NF4: through
 *            the two tables hi + 128 and lo + 64 of kernels/quant.h)
 *     8-bit: two loads, each ^ 0x80 (unsigned: q + 128)
 *     acc[i][t] = vpdpbusd(vpdpbusd(acc, w0, x[2u]), w1, x[2u+1])
 *   then isum = acc + correction, per lane:
 *     Q8_0, Q4_0, MXFP4: - B * sum_x   (B = 128, 8, 12: the bias of the
 *                                        unsigned codes; once per token)
 *     group int4/int8:   - zero * sum_x (zero + 128 for int8)
 *     NF4:               128 * acc_hi + acc_lo - 16448 * sum_x
 *   facc[i][t] += float(isum) * (d_w * d_x)      (+ m_w * ds_x for Q4_1)
 *
 * and at the end of the row the 16 lanes of facc are added.  Lanes past a
 * row's last block load as zero codes against zero activations, d_x = 0.
 * Every (row, token) value is formed by the same operations whatever the
 * tile (4 x 4 in matmul, 4 x 1 in matvec, single rows and tokens at the
 * edges), so matvec equals a column of matmul bitwise (test_x16 checks). */
#include <immintrin.h>
#include <string.h>

#include "kernels/x16.h"
#include "kernels/x86/mask_avx512.h"

#define INLINE static inline __attribute__((always_inline))

enum { K_Q8_0, K_Q4_0, K_Q4_1, K_MXFP4, K_I4, K_I8, K_NF4, K_NF4DQ };
enum { TILE_R = 4, TILE_T = 4, GROUP = OB_X16_LANES };
enum { NF4_BIAS = 128 * 128 + 64 };

INLINE int k_eight(int kind) { return kind == K_Q8_0 || kind == K_I8; }
INLINE int k_zero(int kind) { return kind == K_I4 || kind == K_I8; }
INLINE int k_nf4(int kind) { return kind == K_NF4 || kind == K_NF4DQ; }
INLINE int k_bias(int kind) {
    return kind == K_Q8_0 ? 128 : kind == K_Q4_0 ? 8 : kind == K_MXFP4 ? 12 : k_nf4(kind) ? NF4_BIAS : 0;
}

typedef struct {
    const uint8_t *hdr, *codes;
} xrow;

/* what is the same for every row of the matrix */
typedef struct {
    int64_t nb, nb64;
    size_t hdr_bytes;
    int gshift;        /* group formats: group of block b is b >> gshift */
    __m512i lut, lut2; /* MXFP4: lut; NF4: lut = hi + 128, lut2 = lo + 64 */
} mat_info;

INLINE void mat_open(int kind, const ob_matrix *W, mat_info *mi) {
    const int64_t cols = W->cols;
    mi->nb = cols / OB_QK;
    mi->nb64 = ob_ceil_div(cols, 64);
    mi->hdr_bytes = ob_x16_hdr_bytes(W->format, cols);
    mi->gshift = 0;
    if (k_zero(kind)) {
        const int64_t G = ob_qgroup_size(W->format, cols);
        mi->gshift = G == 32 ? 0 : G == 64 ? 1 : G == 128 ? 2 : 62; /* per row: one group */
    }
    if (kind == K_MXFP4)
        mi->lut = _mm512_broadcast_i32x4(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
    if (k_nf4(kind)) {
        mi->lut = _mm512_add_epi8(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ob_nf4_hi)),
                                  _mm512_set1_epi8((char)128));
        mi->lut2 = _mm512_add_epi8(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ob_nf4_lo)),
                                   _mm512_set1_epi8(64));
    }
}

/* lane j -> j >> s (0 for s >= 32), for spreading per-group or per-64 values */
INLINE __m512i spread_idx(int s) {
    const __m512i j = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_srlv_epi32(j, _mm512_set1_epi32(s));
}

/* ------------------------------------------------------- per-row group data */

typedef struct {
    __m512 d;    /* d_w per lane                          */
    __m512 m;    /* Q4_1: m_w per lane                    */
    __m512i z;   /* group formats: zero (+128 for int8)   */
} w_group;

INLINE void w_group_load(int kind, const mat_info *mi, const xrow *x, int64_t g, int n, w_group *w) {
    const int64_t b0 = g * GROUP;
    const __mmask16 k = ob_lanes16(n);
    switch (kind) {
    case K_Q8_0: case K_Q4_0:
        w->d = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, x->hdr + b0 * 2));
        break;
    case K_Q4_1:
        w->d = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, x->hdr + b0 * 2));
        w->m = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, x->hdr + (mi->nb + b0) * 2));
        break;
    case K_MXFP4: { /* ob_e8m0_half: e < 2 ? 0x00200000 << e : (e - 1) << 23 */
        const __m512i e = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, x->hdr + b0));
        const __m512i nrm = _mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(1)), 23);
        const __m512i sub = _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), e);
        w->d = _mm512_castsi512_ps(
            _mm512_mask_mov_epi32(nrm, _mm512_cmplt_epu32_mask(e, _mm512_set1_epi32(2)), sub));
        break;
    }
    case K_NF4: case K_NF4DQ: {
        const int64_t a0 = b0 / 2, cnt = (b0 + n - 1) / 2 - a0 + 1;
        __m512 a;
        if (kind == K_NF4) {
            a = _mm512_maskz_loadu_ps(ob_lanes16(cnt), x->hdr + a0 * 4);
        } else { /* mean + scale * aq, unfused, as ob_nf4_absmax; a0..a0+7 share one 256-group */
            float ms[2];
            memcpy(ms, x->hdr + (a0 / 256) * 8, 8);
            const __m128i aq = _mm_maskz_loadu_epi8(ob_lanes16(cnt), x->hdr + ob_ceil_div(mi->nb64, 256) * 8 + a0);
            a = _mm512_add_ps(_mm512_set1_ps(ms[0]),
                              _mm512_mul_ps(_mm512_set1_ps(ms[1]), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(aq))));
        }
        w->d = _mm512_mul_ps(_mm512_permutexvar_ps(spread_idx(1), a), _mm512_set1_ps(1.0f / OB_NF4_LEVEL_ONE));
        break;
    }
    default: { /* group int4 / int8: header = fp16 scale | int16 zero << 16 */
        const int s = mi->gshift;
        const int64_t h0 = b0 >> s, cnt = ((b0 + n - 1) >> s) - h0 + 1;
        __m512i h = _mm512_maskz_loadu_epi32(ob_lanes16(cnt), x->hdr + h0 * 4);
        h = _mm512_permutexvar_epi32(spread_idx(s), h);
        w->d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h));
        w->z = _mm512_add_epi32(_mm512_srai_epi32(h, 16), _mm512_set1_epi32(kind == K_I8 ? 128 : 0));
    }
    }
}

/* ------------------------------------------------------ per-token group data */

typedef struct {
    const uint8_t *qs; /* qs[8][64] */
    __m512 dx, ds;
    __m512i sum, corr; /* corr: - B * sum, bias kinds */
} a_group;

INLINE void a_group_load(int kind, const uint8_t *grp, a_group *a) {
    a->qs = grp;
    a->dx = _mm512_loadu_ps(grp + 512);
    if (kind == K_Q4_1) a->ds = _mm512_loadu_ps(grp + 576);
    a->sum = _mm512_loadu_si512(grp + 640);
    if (k_bias(kind)) a->corr = _mm512_mullo_epi32(a->sum, _mm512_set1_epi32(-k_bias(kind)));
}

/* ---------------------------------------------------------------- codes */

typedef struct {
    __m512i w[2], v[2]; /* steps 2u, 2u+1; v: NF4's lo-table bytes */
} w_unit;

INLINE void w_unit_load(int kind, const mat_info *mi, const uint8_t *codes, int n, int u, w_unit *o) {
    const __mmask64 k = n >= 16 ? ~(__mmask64)0 : ((__mmask64)1 << (4 * n)) - 1;
    if (k_eight(kind)) {
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        o->w[0] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, codes + (size_t)(2 * u) * 4 * n), flip);
        o->w[1] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, codes + (size_t)(2 * u + 1) * 4 * n), flip);
        return;
    }
    const __m512i c = _mm512_maskz_loadu_epi8(k, codes + (size_t)u * 4 * n), m4 = _mm512_set1_epi8(15);
    const __m512i lo = _mm512_and_si512(c, m4), hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), m4);
    if (kind == K_MXFP4) {
        o->w[0] = _mm512_shuffle_epi8(mi->lut, lo);
        o->w[1] = _mm512_shuffle_epi8(mi->lut, hi);
    } else if (k_nf4(kind)) {
        o->w[0] = _mm512_shuffle_epi8(mi->lut, lo);
        o->w[1] = _mm512_shuffle_epi8(mi->lut, hi);
        o->v[0] = _mm512_shuffle_epi8(mi->lut2, lo);
        o->v[1] = _mm512_shuffle_epi8(mi->lut2, hi);
    } else {
        o->w[0] = lo;
        o->w[1] = hi;
    }
}

/* ------------------------------------------------------------------ tile */

/* Rows r .. r+NR-1 times tokens X[0 .. NT) (stride bytes apart) into
 * out[t * ldo + i] for row r + i. */
INLINE void x16_tile(int kind, const ob_matrix *W, int64_t r, const uint8_t *X, size_t stride, int NR, int NT,
                     float *out, int64_t ldo) {
    mat_info mi;
    mat_open(kind, W, &mi);
    xrow xr[TILE_R];
    __m512 facc[TILE_R][TILE_T];
    for (int i = 0; i < NR; i++) {
        xr[i].hdr = ob_row_ptr(W, r + i);
        xr[i].codes = xr[i].hdr + mi.hdr_bytes;
        for (int t = 0; t < NT; t++) facc[i][t] = _mm512_setzero_ps();
    }
    const int64_t ng = ob_ceil_div(mi.nb, GROUP);
    const size_t gbytes = (size_t)GROUP * (k_eight(kind) ? 32 : 16);
    /* the next tile's rows, prefetched at the rate this tile is read (as
     * the row layout's kernels do) */
    const char *pf = (const char *)ob_row_ptr(W, r + NR), *pf_end = pf;
    const int64_t pf_step = (int64_t)((size_t)NR * W->row_bytes / (size_t)ng) + 1;
    for (int64_t g = 0; g < ng; g++) {
        const int n = (int)(mi.nb - g * GROUP < GROUP ? mi.nb - g * GROUP : GROUP);
        for (pf_end += pf_step; pf < pf_end; pf += 64) _mm_prefetch(pf, _MM_HINT_T0);
        a_group ag[TILE_T];
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) a_group_load(kind, X + (size_t)t * stride + (size_t)g * OB_X16_ACT_GROUP, &ag[t]);
        __m512i acc[TILE_R][TILE_T], acc2[TILE_R][TILE_T];
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
            for (int t = 0; t < NT; t++) acc[i][t] = acc2[i][t] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) {
            w_unit wu[TILE_R];
#pragma GCC unroll 4
            for (int i = 0; i < NR; i++) w_unit_load(kind, &mi, xr[i].codes + (size_t)g * gbytes, n, u, &wu[i]);
#pragma GCC unroll 4
            for (int t = 0; t < NT; t++) {
                const __m512i x0 = _mm512_loadu_si512(ag[t].qs + 128 * u);
                const __m512i x1 = _mm512_loadu_si512(ag[t].qs + 128 * u + 64);
#pragma GCC unroll 4
                for (int i = 0; i < NR; i++) {
                    acc[i][t] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc[i][t], wu[i].w[0], x0), wu[i].w[1], x1);
                    if (k_nf4(kind))
                        acc2[i][t] =
                            _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc2[i][t], wu[i].v[0], x0), wu[i].v[1], x1);
                }
            }
        }
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++) {
            w_group wg;
            w_group_load(kind, &mi, &xr[i], g, n, &wg);
#pragma GCC unroll 4
            for (int t = 0; t < NT; t++) {
                __m512i is = acc[i][t];
                if (k_nf4(kind)) is = _mm512_add_epi32(_mm512_slli_epi32(is, 7), acc2[i][t]);
                if (k_bias(kind)) is = _mm512_add_epi32(is, ag[t].corr);
                if (k_zero(kind)) is = _mm512_sub_epi32(is, _mm512_mullo_epi32(wg.z, ag[t].sum));
                facc[i][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(wg.d, ag[t].dx), facc[i][t]);
                if (kind == K_Q4_1) facc[i][t] = _mm512_fmadd_ps(wg.m, ag[t].ds, facc[i][t]);
            }
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) out[t * ldo + i] = _mm512_reduce_add_ps(facc[i][t]);
}

/* ------------------------------------------------------------- entries */

/* Rows [r0, r1) x n tokens: 4-row tiles, then single rows; tokens in tiles
 * of 4, then single tokens. */
#define ROWS_FN(NAME, KIND)                                                                          \
    static void rows_##NAME(const ob_matrix *W, const uint8_t *X, int64_t n, float *Y, int64_t ldy,  \
                            int64_t r0, int64_t r1) {                                                \
        const size_t stride = ob_x16_act_bytes(W->cols);                                             \
        int64_t r = r0;                                                                              \
        for (; r < r1;) {                                                                            \
            const int nr = r + TILE_R <= r1 ? TILE_R : 1;                                            \
            int64_t t = 0;                                                                           \
            if (nr == TILE_R) {                                                                      \
                for (; t + TILE_T <= n; t += TILE_T)                                                 \
                    x16_tile(KIND, W, r, X + t * stride, stride, TILE_R, TILE_T, Y + t * ldy + r, ldy); \
                for (; t < n; t++) x16_tile(KIND, W, r, X + t * stride, stride, TILE_R, 1, Y + t * ldy + r, ldy); \
            } else {                                                                                 \
                for (; t + TILE_T <= n; t += TILE_T)                                                 \
                    x16_tile(KIND, W, r, X + t * stride, stride, 1, TILE_T, Y + t * ldy + r, ldy);   \
                for (; t < n; t++) x16_tile(KIND, W, r, X + t * stride, stride, 1, 1, Y + t * ldy + r, ldy); \
            }                                                                                        \
            r += nr;                                                                                 \
        }                                                                                            \
    }
ROWS_FN(q8_0, K_Q8_0)
ROWS_FN(q4_0, K_Q4_0)
ROWS_FN(q4_1, K_Q4_1)
ROWS_FN(mxfp4, K_MXFP4)
ROWS_FN(i4, K_I4)
ROWS_FN(i8, K_I8)
ROWS_FN(nf4, K_NF4)
ROWS_FN(nf4dq, K_NF4DQ)

void ob_x16_matmul_avx512(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0,
                          int64_t r1) {
    const uint8_t *x = X;
    switch (W->format) {
    case OB_FMT_Q8_0: rows_q8_0(W, x, n, Y, ldy, r0, r1); break;
    case OB_FMT_Q4_0: rows_q4_0(W, x, n, Y, ldy, r0, r1); break;
    case OB_FMT_Q4_1: rows_q4_1(W, x, n, Y, ldy, r0, r1); break;
    case OB_FMT_MXFP4: rows_mxfp4(W, x, n, Y, ldy, r0, r1); break;
    case OB_FMT_I4_G32: case OB_FMT_I4_G64: case OB_FMT_I4_G128: case OB_FMT_I4_ROW:
        rows_i4(W, x, n, Y, ldy, r0, r1);
        break;
    case OB_FMT_I8_G32: case OB_FMT_I8_G64: case OB_FMT_I8_G128: case OB_FMT_I8_ROW:
        rows_i8(W, x, n, Y, ldy, r0, r1);
        break;
    case OB_FMT_NF4: rows_nf4(W, x, n, Y, ldy, r0, r1); break;
    case OB_FMT_NF4_DQ: rows_nf4dq(W, x, n, Y, ldy, r0, r1); break;
    default: W->ops->matmul_ref(W, X, n, Y, ldy, r0, r1); break;
    }
}

void ob_x16_matvec_avx512(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1) {
    ob_x16_matmul_avx512(W, x, 1, y, 0, r0, r1);
}

/* sparse_x86.h - the SIMD kernels of the sparse formats (kernels/sparse.h),
 * one body for two levels.  sparse_avx2.c and sparse_avx512.c define the
 * primitives, then include this file:
 *
 *   SUF                  the level's suffix (avx2, avx512)
 *   OVERREAD             bytes the decoders may read past a chunk body
 *   VF, VF_N             float vector type and its lanes (8 or 16)
 *   vf_zero, vf_load, vf_fma, vf_hsum
 *   s24_mask(meta)       the keep mask of 2:4 metadata
 *   decode_f(vt, mask, k, k0, body, w[32 / VF_N])
 *                        a float chunk's 32 dense weights (pruned ones 0);
 *                        k kept columns, k0 of them among the first 16
 *   decode_i(vt, mask, k, k0, codes) -> __m256i
 *                        an integer chunk's 32 dense codes as bytes, in
 *                        the form idot takes
 *   act_t, act_load(vt, a), idot(w, act) -> __m256i
 *                        8 int32 lanes summing to sum_j s_j a->qs[j], s_j
 *                        the signed codes (I8: q, I4: q - 8; pruned 0)
 *
 * Per chunk, the keep mask comes from the cursor (SP: stored; S24: its
 * 2:4 metadata through ob_s24_meta_mask; SB: all ones), the body is
 * decoded once per row and used for every token of the tile.  Float
 * formats FMA the dense weights with x; integer ones scale the chunk's
 * exact int32 sum by d_w * d_x (one FMA per 8 lanes) - the Q8_0 / Q4_0
 * decomposition with m_w ds_x folded into the signed codes.
 *
 * Tiles: NR rows x NT tokens share each decoded chunk and each activation
 * load (SP / S24 rows have the same number of chunks and advance together;
 * SB rows do not, so its tiles are one row).  Every (row, token) sum is
 * formed by the same operations in the same order whatever the tile, so
 * results do not depend on how rows or tokens are split, and matvec equals
 * a column of matmul.
 *
 * A chunk whose body ends less than OVERREAD bytes before the end of the
 * matrix's data is first copied to a zero-padded buffer on the stack, so
 * that no load leaves the data. */
#include <immintrin.h>
#include <string.h>

#include "kernels/quant.h"
#include "kernels/sparse.h"
#include "kernels/x86/hsum_x86.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

enum { NR_MAX = 4, NT_MAX = 4, NV = 32 / VF_N, MAX_BODY = 4 * OB_SP_COLS };

/* the body at p (n bytes), or a zero-padded copy of it in buf */
INLINE const uint8_t *body_at(const uint8_t *p, size_t n, const uint8_t *end, uint8_t *buf) {
    if (OVERREAD == 0 || (size_t)(end - p) >= n + OVERREAD) return p;
    memcpy(buf, p, n);
    memset(buf + n, 0, OVERREAD);
    return buf;
}

/* A chunk's keep mask from its stored word (S24: the level's s24_mask)
 * and its counts of kept columns (S24: always 16, 8 in each half). */
INLINE uint32_t chunk_mask(int st, uint32_t word) { return st == OB_SPARSE_24 ? s24_mask(word) : word; }
INLINE int kept(int st, uint32_t mask) { return st == OB_SPARSE_24 ? 16 : __builtin_popcount(mask); }
INLINE int kept_lo(int st, uint32_t mask) { return st == OB_SPARSE_24 ? 8 : __builtin_popcount(mask & 0xffff); }

/* Software prefetch of the next tile.  Each row's chunk addresses hang on
 * the previous chunk's mask (a chain of dependent loads), so the core
 * cannot run ahead to the next cache misses as it does on dense rows: the
 * next tile's rows, contiguous after this tile's, are prefetched at the
 * rate this tile is read, a share per chunk step. */
typedef struct {
    const char *at, *upto;
    size_t step;
} prefetcher;

INLINE void pf_begin(const ob_matrix *W, int64_t r, int NR, int64_t steps, prefetcher *pf) {
    const uint8_t *next = ob_sparse_row(W, r + NR);
    pf->at = pf->upto = (const char *)next;
    pf->step = steps > 0 ? (size_t)(next - ob_sparse_row(W, r)) / (size_t)steps + 1 : 0;
}

INLINE void pf_step(prefetcher *pf) {
    for (pf->upto += pf->step; pf->at < pf->upto; pf->at += 64) _mm_prefetch(pf->at, _MM_HINT_T0);
}

/* Rows r .. r+NR-1 times float tokens X[0 .. NT) into out[t * ldo + i]. */
INLINE void tile_f(int st, int vt, const ob_matrix *W, int64_t r, const float *X, int NR, int NT, float *out,
                   int64_t ldo) {
    const uint8_t *end = ob_sparse_end(W);
    uint8_t buf[MAX_BODY + OVERREAD + 1];
    ob_sp_cursor cur[NR_MAX];
    VF acc[NR_MAX][NT_MAX];
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++) {
        ob_sp_open(W, st, r + i, &cur[i]);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) acc[i][t] = vf_zero();
    }
    prefetcher pf;
    pf_begin(W, r, NR, cur[0].left, &pf);
    while (cur[0].left > 0) {
        VF w[NR_MAX][NV];
        int64_t col = 0;
        pf_step(&pf);
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++) {
            const uint32_t mask = chunk_mask(st, ob_sp_next_word(st, &cur[i], &col));
            const int k0 = kept_lo(st, mask);
            const size_t nb = ob_sp_body_bytes(vt, kept(st, mask));
            decode_f(vt, mask, kept(st, mask), k0, body_at(cur[i].p, nb, end, buf), w[i]);
            cur[i].p += nb;
        }
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const float *x = X + t * W->cols + col;
            VF xv[NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) xv[v] = vf_load(x + v * VF_N);
#pragma GCC unroll 4
            for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[i][t] = vf_fma(w[i][v], xv[v], acc[i][t]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) out[t * ldo + i] = vf_hsum(acc[i][t]);
}

/* The same for integer formats on ob_blk_q8a tokens of nbx blocks each. */
INLINE void tile_i(int st, int vt, const ob_matrix *W, int64_t r, const ob_blk_q8a *X, int NR, int NT, float *out,
                   int64_t ldo) {
    const int64_t nbx = W->cols / OB_SP_COLS;
    const uint8_t *end = ob_sparse_end(W);
    uint8_t buf[MAX_BODY + OVERREAD + 1];
    ob_sp_cursor cur[NR_MAX];
    __m256 acc[NR_MAX][NT_MAX];
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++) {
        ob_sp_open(W, st, r + i, &cur[i]);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) acc[i][t] = _mm256_setzero_ps();
    }
    prefetcher pf;
    pf_begin(W, r, NR, cur[0].left, &pf);
    while (cur[0].left > 0) {
        __m256i w[NR_MAX];
        float d[NR_MAX];
        int64_t col = 0;
        pf_step(&pf);
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++) {
            const uint32_t mask = chunk_mask(st, ob_sp_next_word(st, &cur[i], &col));
            const int k = kept(st, mask);
            const size_t nb = ob_sp_body_bytes(vt, k);
            const uint8_t *b = body_at(cur[i].p, nb, end, buf);
            d[i] = _cvtsh_ss(ob_ld16(b));
            w[i] = decode_i(vt, mask, k, kept_lo(st, mask), b + 2);
            cur[i].p += nb;
        }
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const ob_blk_q8a *a = X + t * nbx + ((uint64_t)col >> 5); /* col / 32 */
            const act_t ax = act_load(vt, a);
#pragma GCC unroll 4
            for (int i = 0; i < NR; i++)
                acc[i][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(idot(w[i], ax)), _mm256_set1_ps(d[i] * a->d), acc[i][t]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) out[t * ldo + i] = ob_hsum8(acc[i][t]);
}

/* One tile (NR, NT compile-time constants after inlining). */
INLINE void any_tile(int st, int vt, const ob_matrix *W, int64_t r, const void *X, int NR, int NT, float *out,
                     int64_t ldo) {
    if (vt >= OB_SPV_I8) tile_i(st, vt, W, r, X, NR, NT, out, ldo);
    else tile_f(st, vt, W, r, X, NR, NT, out, ldo);
}

/* Rows [r0, r1) x n tokens of one format: 4-row blocks (SP, S24; then
 * single rows), each over the tokens in tiles of 4 (then single tokens). */
#define TOKENS_(ST, VT, NR)                                                                               \
    do {                                                                                                  \
        int64_t t = 0;                                                                                    \
        for (; t + NT_MAX <= n; t += NT_MAX)                                                              \
            any_tile(ST, VT, W, r, (const char *)X + (size_t)t * stride, NR, NT_MAX, Y + t * ldy + r, ldy); \
        for (; t < n; t++) any_tile(ST, VT, W, r, (const char *)X + (size_t)t * stride, NR, 1, Y + t * ldy + r, ldy); \
    } while (0)
#define ROWS_FN(NAME, ST, VT)                                                                             \
    static void rows_##NAME(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0, \
                            int64_t r1) {                                                                 \
        const size_t stride = VT >= OB_SPV_I8 ? ob_q8a_act_bytes(W->cols) : (size_t)W->cols * sizeof(float); \
        int64_t r = r0;                                                                                   \
        if (ST != OB_SPARSE_BLOCK)                                                                        \
            for (; r + NR_MAX <= r1; r += NR_MAX) TOKENS_(ST, VT, NR_MAX);                                \
        for (; r < r1; r++) TOKENS_(ST, VT, 1);                                                           \
    }
#define ROWS_ST(PRE, ST)                                                                                  \
    ROWS_FN(PRE##_f32, ST, OB_SPV_F32)                                                                    \
    ROWS_FN(PRE##_f16, ST, OB_SPV_F16)                                                                    \
    ROWS_FN(PRE##_bf16, ST, OB_SPV_BF16)                                                                  \
    ROWS_FN(PRE##_i8, ST, OB_SPV_I8)                                                                      \
    ROWS_FN(PRE##_i4, ST, OB_SPV_I4)
ROWS_ST(sp, OB_SPARSE_BITMASK)
ROWS_ST(s24, OB_SPARSE_24)
ROWS_ST(sb, OB_SPARSE_BLOCK)

typedef void (*rows_fn)(const ob_matrix *, const void *, int64_t, float *, int64_t, int64_t, int64_t);
static const rows_fn rows_table[OB_FMT_COUNT - OB_FMT_SP_F32] = {
    rows_sp_f32,  rows_sp_f16,  rows_sp_bf16,  rows_sp_i8,  rows_sp_i4,
    rows_s24_f32, rows_s24_f16, rows_s24_bf16, rows_s24_i8, rows_s24_i4,
    rows_sb_f32,  rows_sb_f16,  rows_sb_bf16,  rows_sb_i8,  rows_sb_i4,
};

void CAT(ob_sparse_matmul_, SUF)(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0,
                                 int64_t r1) {
    rows_table[W->format - OB_FMT_SP_F32](W, X, n, Y, ldy, r0, r1);
}

void CAT(ob_sparse_matvec_, SUF)(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1) {
    rows_table[W->format - OB_FMT_SP_F32](W, x, 1, y, 0, r0, r1);
}

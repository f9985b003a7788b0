/* dense_avx512.c - AVX-512 kernels for the dense formats F32, F16, BF16.
 *
 * Compiled with -mavx512f/bw/vl (and more), called only when
 * ob_cpu_simd_max() reports OB_SIMD_AVX512.  Only AVX512F/BW/VL instructions
 * are used: F16 converts with vcvtph2ps (AVX512F), BF16 by widening each
 * 16-bit value to 32 bits and shifting it into the high half (a bf16 is the
 * top 16 bits of a float32), so no AVX512-BF16 instruction is needed.
 *
 * Weight layout (as everywhere): row r of W is cols consecutive elements at
 * W->data + r * row_bytes, no alignment assumed.
 *
 * matvec (decode, memory-bound): each row is one linear stream into four
 * accumulators (x comes from L1); the sums of four consecutive rows are
 * reduced together (hsum4) and stored as one __m128.
 *
 * matmul (prefill, compute-bound) works like a small GEMM:
 *   - rows are taken in blocks of MR = 32 (two zmm of output rows) and K in
 *     chunks of at most KC_MAX columns;
 *   - the block's 32 x kc weights are converted to float32 and transposed
 *     into a "panel" on the stack: panel[k * 32 + i] = W[rb + i, k0 + k]
 *     (16x16 in-register transposes), rows past the end are zero;
 *   - a micro-kernel then runs over tokens NT_MAX = 12 at a time with 24 zmm
 *     accumulators acc[t][v] = Y[t, rb + 16v .. rb + 16v + 15]: for each k it
 *     loads the two panel vectors and broadcasts X[t, k] (no packing of X),
 *     24 FMAs per 2 + 12 loads;
 *   - outputs of one token are 32 consecutive floats of Y, stored with a
 *     row mask; later K chunks load and keep accumulating them.
 *   Each (r, t) sum is accumulated in k order, as in the reference.
 * For n < SMALL_N tokens the panel would be converted for too little reuse,
 * so a dot-product kernel (4 rows x up to 4 tokens, horizontal sums) runs
 * instead, reading each weight once per 4 tokens. */
#include <immintrin.h>
#include <string.h>

#include "kernels/dense.h"
#include "kernels/x86/hsum_avx512.h"
#include "kernels/x86/mask_avx512.h"

#define INLINE static inline __attribute__((always_inline))

#ifndef SMALL_N
#define SMALL_N 20 /* below this many tokens: dot-product kernel (measured crossover) */
#endif

enum {
    MR = 32,       /* weight rows per panel (two zmm)                     */
    NT_MAX = 12,   /* tokens per micro-kernel call                        */
    KC_MAX = 384,  /* panel depth: 32 x 384 floats = 48 KB on the stack   */
};

/* ------------------------------------------------------------- loading */

/* 16 weights of a row starting at element c, as float32.  fmt is a
 * compile-time constant after inlining, so the switch folds away. */
INLINE __m512 ld16(const void *row, int64_t c, int fmt) {
    if (fmt == OB_FMT_F32) return _mm512_loadu_ps((const float *)row + c);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)row + c));
    if (fmt == OB_FMT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* The same for the lanes set in m only (others zero, never touched). */
INLINE __m512 ld16m(const void *row, int64_t c, __mmask16 m, int fmt) {
    if (fmt == OB_FMT_F32) return _mm512_maskz_loadu_ps(m, (const float *)row + c);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)row + c);
    if (fmt == OB_FMT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

INLINE __m256 hi256(__m512 a) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
}

#define hsum4 ob_hsum4_512 /* {sum(a), sum(b), sum(c), sum(d)} */

INLINE float hsum1(__m512 a) {
    __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), hi256(a));
    __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
    a4 = _mm_add_ps(a4, _mm_movehl_ps(a4, a4));
    a4 = _mm_add_ss(a4, _mm_movehdup_ps(a4));
    return _mm_cvtss_f32(a4);
}


/* -------------------------------------------------------------- matvec */

/* One row's dot product with x as 16 partial sums.  The row is read as
 * one linear stream (64 columns per step into four accumulators): on this
 * AMD machine streaming rows one after another reaches the memory bandwidth
 * where reading four rows side by side (sharing x loads) does not for F16
 * and BF16 (~20 vs ~32 GB/s on one core). */
INLINE __m512 row_dot(const char *w, const float *x, int64_t cols, int fmt) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t c = 0;
    for (; c + 64 <= cols; c += 64) {
        a0 = _mm512_fmadd_ps(ld16(w, c, fmt), _mm512_loadu_ps(x + c), a0);
        a1 = _mm512_fmadd_ps(ld16(w, c + 16, fmt), _mm512_loadu_ps(x + c + 16), a1);
        a2 = _mm512_fmadd_ps(ld16(w, c + 32, fmt), _mm512_loadu_ps(x + c + 32), a2);
        a3 = _mm512_fmadd_ps(ld16(w, c + 48, fmt), _mm512_loadu_ps(x + c + 48), a3);
    }
    for (; c + 16 <= cols; c += 16) a0 = _mm512_fmadd_ps(ld16(w, c, fmt), _mm512_loadu_ps(x + c), a0);
    if (c < cols) {
        __mmask16 m = ob_lanes16(cols - c);
        a1 = _mm512_fmadd_ps(ld16m(w, c, m, fmt), _mm512_maskz_loadu_ps(m, x + c), a1);
    }
    return _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
}

/* Rows one after another; the partial sums of four rows are reduced
 * together and stored as one __m128. */
INLINE void matvec_impl(const ob_matrix *W, const float *x, float *y, int64_t r0, int64_t r1,
                        int fmt) {
    const int64_t cols = W->cols;
    const size_t rb = W->row_bytes;
    const char *base = (const char *)W->data;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        __m512 s[4];
        /* kept a loop on purpose: with the four calls unrolled, F16 ran
         * ~40% slower from memory (measured); one copy of the row loop
         * streams all rows in order, likely what the CPU's per-instruction
         * stride prefetcher wants (each unrolled copy sees a jump of four
         * rows after every row) */
#pragma GCC unroll 1
        for (int i = 0; i < 4; i++) s[i] = row_dot(base + (size_t)(r + i) * rb, x, cols, fmt);
        _mm_storeu_ps(y + r, hsum4(s[0], s[1], s[2], s[3]));
    }
    for (; r < r1; r++) y[r] = hsum1(row_dot(base + (size_t)r * rb, x, cols, fmt));
}

/* ----------------------------------------------- matmul, few tokens */

/* One 16-column step of dot_tile: lanes in m (all when full). */
INLINE void dot_step(const char *const w[4], const float *X, int64_t cols, int64_t c, __mmask16 m,
                     int full, int NR, int NT, __m512 acc[4][4], int fmt) {
    __m512 wv[4], xv[4];
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++) wv[i] = full ? ld16(w[i], c, fmt) : ld16m(w[i], c, m, fmt);
#pragma GCC unroll 4
    for (int j = 0; j < NT; j++)
        xv[j] = full ? _mm512_loadu_ps(X + j * cols + c) : _mm512_maskz_loadu_ps(m, X + j * cols + c);
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < NT; j++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv[j], acc[i][j]);
}

/* Rows [r, r + NR) (NR = 4 or 1) times tokens [0, NT) (NT <= 4), dot
 * products over all cols with horizontal sums at the end. */
INLINE void dot_tile(const ob_matrix *W, int64_t r, const float *X, int NR, int NT, float *Y,
                     int64_t ldy, int fmt) {
    const int64_t cols = W->cols, c16 = cols & ~(int64_t)15;
    const __mmask16 mt = ob_lanes16(cols & 15);
    const char *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = (const char *)W->data + (size_t)(r + (i < NR ? i : 0)) * W->row_bytes;
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c < c16; c += 16) dot_step(w, X, cols, c, 0xffff, 1, NR, NT, acc, fmt);
    if (mt) dot_step(w, X, cols, c, mt, 0, NR, NT, acc, fmt);
#pragma GCC unroll 4
    for (int j = 0; j < NT; j++) {
        if (NR == 4) _mm_storeu_ps(Y + j * ldy + r, hsum4(acc[0][j], acc[1][j], acc[2][j], acc[3][j]));
        else Y[j * ldy + r] = hsum1(acc[0][j]);
    }
}

INLINE void dot_tile_nt(const ob_matrix *W, int64_t r, const float *X, int NR, int64_t nt,
                        float *Y, int64_t ldy, int fmt) {
    switch (nt) {
    case 1: dot_tile(W, r, X, NR, 1, Y, ldy, fmt); break;
    case 2: dot_tile(W, r, X, NR, 2, Y, ldy, fmt); break;
    case 3: dot_tile(W, r, X, NR, 3, Y, ldy, fmt); break;
    default: dot_tile(W, r, X, NR, 4, Y, ldy, fmt); break;
    }
}

/* Rows outer, tokens inner: the four rows stay in L1 while every group of
 * four tokens passes over them. */
INLINE void matmul_small(const ob_matrix *W, const float *X, int64_t n, float *Y, int64_t ldy,
                         int64_t r0, int64_t r1, int fmt) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4)
        for (int64_t t = 0; t < n; t += 4)
            dot_tile_nt(W, r, X + t * W->cols, 4, n - t, Y + t * ldy, ldy, fmt);
    for (; r < r1; r++)
        for (int64_t t = 0; t < n; t += 4)
            dot_tile_nt(W, r, X + t * W->cols, 1, n - t, Y + t * ldy, ldy, fmt);
}

/* ----------------------------------------------- matmul, packed panel */

/* In-place transpose of a 16x16 float block held as 16 rows. */
INLINE void transpose16(__m512 r[16]) {
    __m512 t[16];
    /* t[2i], t[2i+1]: rows 2i and 2i+1 interleaved; per 128-bit lane l,
     * t[2i] holds columns 4l, 4l+1 and t[2i+1] columns 4l+2, 4l+3. */
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* r[4i + j], lane l: rows 4i..4i+3 of column 4l + j */
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* gather lane l of the four row groups: column 4l + j */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m512 a = r[j], b = r[4 + j], c = r[8 + j], d = r[12 + j];
        __m512 ab_lo = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0));
        __m512 ab_hi = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2));
        __m512 cd_lo = _mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(1, 0, 1, 0));
        __m512 cd_hi = _mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(3, 2, 3, 2));
        t[j] = _mm512_shuffle_f32x4(ab_lo, cd_lo, _MM_SHUFFLE(2, 0, 2, 0));
        t[4 + j] = _mm512_shuffle_f32x4(ab_lo, cd_lo, _MM_SHUFFLE(3, 1, 3, 1));
        t[8 + j] = _mm512_shuffle_f32x4(ab_hi, cd_hi, _MM_SHUFFLE(2, 0, 2, 0));
        t[12 + j] = _mm512_shuffle_f32x4(ab_hi, cd_hi, _MM_SHUFFLE(3, 1, 3, 1));
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* panel[k * MR + i] = W[rb + i, k0 + k] for k < kc, i < nr; rows nr..MR-1
 * of the panel are zero when nr > 16 (the micro-kernel then reads both
 * halves); with nr <= 16 only the first half is read and written. */
INLINE void pack_panel(const ob_matrix *W, int64_t rb, int nr, int64_t k0, int64_t kc,
                       float *panel, int fmt) {
    for (int h = 0; h * 16 < nr; h++) {
        const char *row[16];
        int nv = nr - h * 16 < 16 ? nr - h * 16 : 16;
        for (int i = 0; i < 16; i++)
            row[i] = (const char *)W->data + (size_t)(rb + h * 16 + (i < nv ? i : 0)) * W->row_bytes;
        for (int64_t k = 0; k < kc; k += 16) {
            int64_t kn = kc - k < 16 ? kc - k : 16;
            __m512 v[16];
            if (kn == 16) {
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    v[i] = i < nv ? ld16(row[i], k0 + k, fmt) : _mm512_setzero_ps();
            } else {
                __mmask16 m = ob_lanes16(kn);
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    v[i] = i < nv ? ld16m(row[i], k0 + k, m, fmt) : _mm512_setzero_ps();
            }
            transpose16(v);
            float *p = panel + k * MR + h * 16;
            if (kn == 16) {
#pragma GCC unroll 16
                for (int j = 0; j < 16; j++) _mm512_store_ps(p + j * MR, v[j]);
            } else {
                for (int j = 0; j < kn; j++) _mm512_store_ps(p + j * MR, v[j]);
            }
        }
    }
}

/* Y[t * ldy + 16v + i] (+)= sum_k panel[k * MR + 16v + i] * X[t * ldx + k]
 * for t < NT, v < RV, lanes in m[v]; acc_in: add to what Y holds. */
INLINE void micro(const float *panel, int64_t kc, const float *X, int64_t ldx, float *Y,
                  int64_t ldy, int NT, int RV, __mmask16 m0, __mmask16 m1, int acc_in) {
    __m512 acc[NT_MAX][2];
    const float *xt[NT_MAX];
#pragma GCC unroll 12
    for (int t = 0; t < NT; t++) {
        xt[t] = X + t * ldx;
        if (acc_in) {
            acc[t][0] = _mm512_maskz_loadu_ps(m0, Y + t * ldy);
            if (RV > 1) acc[t][1] = _mm512_maskz_loadu_ps(m1, Y + t * ldy + 16);
        } else {
            acc[t][0] = _mm512_setzero_ps();
            if (RV > 1) acc[t][1] = _mm512_setzero_ps();
        }
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *p = panel + k * MR;
        __m512 p0 = _mm512_load_ps(p), p1 = RV > 1 ? _mm512_load_ps(p + 16) : p0;
#pragma GCC unroll 12
        for (int t = 0; t < NT; t++) {
            __m512 xb = _mm512_set1_ps(xt[t][k]);
            acc[t][0] = _mm512_fmadd_ps(p0, xb, acc[t][0]);
            if (RV > 1) acc[t][1] = _mm512_fmadd_ps(p1, xb, acc[t][1]);
        }
    }
#pragma GCC unroll 12
    for (int t = 0; t < NT; t++) {
        _mm512_mask_storeu_ps(Y + t * ldy, m0, acc[t][0]);
        if (RV > 1) _mm512_mask_storeu_ps(Y + t * ldy + 16, m1, acc[t][1]);
    }
}

/* One out-of-line micro-kernel per (rows vectors, tokens) pair. */
#define MICRO_FN(RV, NT)                                                                      \
    static void micro_##RV##_##NT(const float *panel, int64_t kc, const float *X, int64_t ldx, \
                                  float *Y, int64_t ldy, __mmask16 m0, __mmask16 m1,         \
                                  int acc_in) {                                               \
        micro(panel, kc, X, ldx, Y, ldy, NT, RV, m0, m1, acc_in);                             \
    }
#define MICRO_FNS(RV)                                                                         \
    MICRO_FN(RV, 1) MICRO_FN(RV, 2) MICRO_FN(RV, 3) MICRO_FN(RV, 4) MICRO_FN(RV, 5)           \
    MICRO_FN(RV, 6) MICRO_FN(RV, 7) MICRO_FN(RV, 8) MICRO_FN(RV, 9) MICRO_FN(RV, 10)          \
    MICRO_FN(RV, 11) MICRO_FN(RV, 12)
MICRO_FNS(1)
MICRO_FNS(2)

typedef void (*micro_fn)(const float *, int64_t, const float *, int64_t, float *, int64_t,
                         __mmask16, __mmask16, int);
static const micro_fn micro_table[2][NT_MAX] = {
    {micro_1_1, micro_1_2, micro_1_3, micro_1_4, micro_1_5, micro_1_6, micro_1_7, micro_1_8,
     micro_1_9, micro_1_10, micro_1_11, micro_1_12},
    {micro_2_1, micro_2_2, micro_2_3, micro_2_4, micro_2_5, micro_2_6, micro_2_7, micro_2_8,
     micro_2_9, micro_2_10, micro_2_11, micro_2_12},
};

INLINE void matmul_impl(const ob_matrix *W, const float *X, int64_t n, float *Y, int64_t ldy,
                        int64_t r0, int64_t r1, int fmt) {
    if (n < SMALL_N) {
        matmul_small(W, X, n, Y, ldy, r0, r1, fmt);
        return;
    }
    const int64_t K = W->cols;
    if (K == 0) {
        for (int64_t t = 0; t < n; t++) memset(Y + t * ldy + r0, 0, (size_t)(r1 - r0) * 4);
        return;
    }
    /* equal K chunks, each a multiple of 16 (but the last) and <= KC_MAX */
    int64_t n_chunks = (K + KC_MAX - 1) / KC_MAX;
    int64_t kcs = ((K + n_chunks - 1) / n_chunks + 15) & ~(int64_t)15;
    _Alignas(64) float panel[KC_MAX * MR];
    for (int64_t rb = r0; rb < r1; rb += MR) {
        int nr = r1 - rb < MR ? (int)(r1 - rb) : MR;
        __mmask16 m0 = ob_lanes16(nr), m1 = ob_lanes16(nr - 16);
        int rv = nr > 16 ? 2 : 1;
        for (int64_t k0 = 0; k0 < K; k0 += kcs) {
            int64_t kc = K - k0 < kcs ? K - k0 : kcs;
            pack_panel(W, rb, nr, k0, kc, panel, fmt);
            for (int64_t t0 = 0; t0 < n; t0 += NT_MAX) {
                int64_t nt = n - t0 < NT_MAX ? n - t0 : NT_MAX;
                micro_table[rv - 1][nt - 1](panel, kc, X + t0 * K + k0, K, Y + t0 * ldy + rb, ldy,
                                            m0, m1, k0 > 0);
            }
        }
    }
}

/* ------------------------------------------------------------ dequant */

INLINE void dequant_impl(const ob_matrix *W, int64_t r, float *out, int fmt) {
    const char *w = (const char *)W->data + (size_t)r * W->row_bytes;
    int64_t c = 0, c16 = W->cols & ~(int64_t)15;
    for (; c < c16; c += 16) _mm512_storeu_ps(out + c, ld16(w, c, fmt));
    if (c < W->cols) {
        __mmask16 m = ob_lanes16(W->cols - c);
        _mm512_mask_storeu_ps(out + c, m, ld16m(w, c, m, fmt));
    }
}

/* ---------------------------------------------------- exported entries */

#define DENSE_ENTRIES(NAME, FMT)                                                              \
    void ob_##NAME##_matvec_avx512(const ob_matrix *W, const void *x, float *y, int64_t r0,   \
                                   int64_t r1) {                                              \
        matvec_impl(W, (const float *)x, y, r0, r1, FMT);                                     \
    }                                                                                         \
    void ob_##NAME##_matmul_avx512(const ob_matrix *W, const void *X, int64_t n, float *Y,    \
                                   int64_t ldy, int64_t r0, int64_t r1) {                     \
        matmul_impl(W, (const float *)X, n, Y, ldy, r0, r1, FMT);                             \
    }                                                                                         \
    void ob_##NAME##_dequant_row_avx512(const ob_matrix *W, int64_t r, float *out) {          \
        dequant_impl(W, r, out, FMT);                                                         \
    }
DENSE_ENTRIES(f32, OB_FMT_F32)
DENSE_ENTRIES(f16, OB_FMT_F16)
DENSE_ENTRIES(bf16, OB_FMT_BF16)

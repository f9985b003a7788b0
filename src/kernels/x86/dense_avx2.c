/* dense_avx2.c - AVX2 + FMA kernels for the dense formats F32, F16, BF16.
 *
 * Compiled with -mavx2 -mfma -mf16c, called only when ob_cpu_simd_max()
 * reports at least OB_SIMD_AVX2 (and, for F16, the CPU has F16C).  The
 * structure follows dense_avx512.c with 8-float ymm vectors and 16
 * registers:
 *
 * matvec: each row is one linear stream into four accumulators; the sums
 * of four consecutive rows are reduced together.
 *
 * matmul: rows in blocks of MR = 16 (two ymm), K in chunks of <= KC_MAX.
 * The block is converted to float32 and transposed into a stack panel,
 * panel[k * 16 + i] = W[rb + i, k0 + k] (8x8 in-register transposes), and a
 * micro-kernel runs over NT_MAX = 6 tokens at a time with 12 accumulators
 * acc[t][v] = Y[t, rb + 8v .. rb + 8v + 7], broadcasting X[t, k].  For
 * n < SMALL_N tokens a dot-product kernel (4 rows x 2 tokens) runs instead.
 *
 * AVX2 has no masked 16-bit loads, so partial slices (cols not a multiple of
 * 8) are copied into a zero-padded 8-element stack buffer first. */
#include <immintrin.h>
#include <string.h>

#include "kernels/dense.h"
#include "kernels/x86/hsum_x86.h"

#define INLINE static inline __attribute__((always_inline))

#ifndef SMALL_N
#define SMALL_N 32 /* below this many tokens: dot-product kernel (measured crossover) */
#endif

enum {
    MR = 16,      /* weight rows per panel (two ymm)                 */
    NT_MAX = 6,   /* tokens per micro-kernel call                    */
    KC_MAX = 512, /* panel depth: 16 x 512 floats = 32 KB on stack   */
};

/* ------------------------------------------------------------- loading */

INLINE size_t elem_size(int fmt) { return fmt == OB_FMT_F32 ? 4 : 2; }

/* 8 weights of a row starting at element c, as float32. */
INLINE __m256 ld8(const void *row, int64_t c, int fmt) {
    if (fmt == OB_FMT_F32) return _mm256_loadu_ps((const float *)row + c);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + c));
    if (fmt == OB_FMT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The first n (< 8) weights from element c, the other lanes zero. */
INLINE __m256 ld8n(const void *row, int64_t c, int64_t n, int fmt) {
    _Alignas(32) uint8_t buf[32] = {0};
    memcpy(buf, (const char *)row + (size_t)c * elem_size(fmt), (size_t)n * elem_size(fmt));
    return ld8(buf, 0, fmt);
}

INLINE __m256 ldx8n(const float *x, int64_t n) { return ld8n(x, 0, n, OB_FMT_F32); }

/* {sum(a), sum(b), sum(c), sum(d)} */
INLINE __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

#define hsum1 ob_hsum8

/* lanes i < n set (n clamped to [0, 8]) */
INLINE __m256i lane_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* -------------------------------------------------------------- matvec */

/* One row's dot product with x as 8 partial sums, the row read as one
 * linear stream (see dense_avx512.c: faster than interleaving rows). */
INLINE __m256 row_dot(const char *w, const float *x, int64_t cols, int fmt) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t c = 0;
    for (; c + 32 <= cols; c += 32) {
        a0 = _mm256_fmadd_ps(ld8(w, c, fmt), _mm256_loadu_ps(x + c), a0);
        a1 = _mm256_fmadd_ps(ld8(w, c + 8, fmt), _mm256_loadu_ps(x + c + 8), a1);
        a2 = _mm256_fmadd_ps(ld8(w, c + 16, fmt), _mm256_loadu_ps(x + c + 16), a2);
        a3 = _mm256_fmadd_ps(ld8(w, c + 24, fmt), _mm256_loadu_ps(x + c + 24), a3);
    }
    for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(ld8(w, c, fmt), _mm256_loadu_ps(x + c), a0);
    if (c < cols) a1 = _mm256_fmadd_ps(ld8n(w, c, cols - c, fmt), ldx8n(x + c, cols - c), a1);
    return _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
}

/* Rows one after another, four rows' sums reduced together. */
INLINE void matvec_impl(const ob_matrix *W, const float *x, float *y, int64_t r0, int64_t r1,
                        int fmt) {
    const int64_t cols = W->cols;
    const size_t rb = W->row_bytes;
    const char *base = (const char *)W->data;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        __m256 s[4];
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

/* One 8-column step of dot_tile; n < 8 loads a partial slice. */
INLINE void dot_step(const char *const w[4], const float *X, int64_t cols, int64_t c, int64_t n,
                     int NR, int NT, __m256 acc[4][2], int fmt) {
    __m256 xv[2];
#pragma GCC unroll 2
    for (int j = 0; j < NT; j++)
        xv[j] = n == 8 ? _mm256_loadu_ps(X + j * cols + c) : ldx8n(X + j * cols + c, n);
#pragma GCC unroll 4
    for (int i = 0; i < NR; i++) {
        __m256 wv = n == 8 ? ld8(w[i], c, fmt) : ld8n(w[i], c, n, fmt);
        /* keep wv in a register: folded into each FMA as a memory operand it
         * is loaded once per token (F32 ran at ~60% of F16's speed) */
        __asm__("" : "+x"(wv));
#pragma GCC unroll 2
        for (int j = 0; j < NT; j++) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
    }
}

/* Rows [r, r + NR) (NR = 4 or 1) times tokens [0, NT) (NT <= 2). */
INLINE void dot_tile(const ob_matrix *W, int64_t r, const float *X, int NR, int NT, float *Y,
                     int64_t ldy, int fmt) {
    const int64_t cols = W->cols, c8 = cols & ~(int64_t)7;
    const char *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = (const char *)W->data + (size_t)(r + (i < NR ? i : 0)) * W->row_bytes;
    __m256 acc[4][2];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c < c8; c += 8) dot_step(w, X, cols, c, 8, NR, NT, acc, fmt);
    if (c < cols) dot_step(w, X, cols, c, cols - c, NR, NT, acc, fmt);
#pragma GCC unroll 2
    for (int j = 0; j < NT; j++) {
        if (NR == 4) _mm_storeu_ps(Y + j * ldy + r, hsum4(acc[0][j], acc[1][j], acc[2][j], acc[3][j]));
        else Y[j * ldy + r] = hsum1(acc[0][j]);
    }
}

/* Rows outer, tokens inner: the four rows stay in L1 while every pair of
 * tokens passes over them. */
INLINE void matmul_small(const ob_matrix *W, const float *X, int64_t n, float *Y, int64_t ldy,
                         int64_t r0, int64_t r1, int fmt) {
    const int64_t cols = W->cols;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        int64_t t = 0;
        for (; t + 2 <= n; t += 2) dot_tile(W, r, X + t * cols, 4, 2, Y + t * ldy, ldy, fmt);
        if (t < n) dot_tile(W, r, X + t * cols, 4, 1, Y + t * ldy, ldy, fmt);
    }
    for (; r < r1; r++) {
        int64_t t = 0;
        for (; t + 2 <= n; t += 2) dot_tile(W, r, X + t * cols, 1, 2, Y + t * ldy, ldy, fmt);
        if (t < n) dot_tile(W, r, X + t * cols, 1, 1, Y + t * ldy, ldy, fmt);
    }
}

/* ----------------------------------------------- matmul, packed panel */

/* In-place transpose of an 8x8 float block held as 8 rows. */
INLINE void transpose8(__m256 r[8]) {
    __m256 t[8], s[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* s[4g + j], lane l: rows 4g..4g+3 of column 4l + j */
#pragma GCC unroll 2
    for (int g = 0; g < 2; g++) {
        s[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x20);
        r[4 + j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x31);
    }
}

/* panel[k * MR + i] = W[rb + i, k0 + k] for k < kc, i < nr; rows nr..15
 * are zero when nr > 8, otherwise the second half is not written. */
INLINE void pack_panel(const ob_matrix *W, int64_t rb, int nr, int64_t k0, int64_t kc,
                       float *panel, int fmt) {
    for (int h = 0; h * 8 < nr; h++) {
        const char *row[8];
        int nv = nr - h * 8 < 8 ? nr - h * 8 : 8;
        for (int i = 0; i < 8; i++)
            row[i] = (const char *)W->data + (size_t)(rb + h * 8 + (i < nv ? i : 0)) * W->row_bytes;
        for (int64_t k = 0; k < kc; k += 8) {
            int64_t kn = kc - k < 8 ? kc - k : 8;
            __m256 v[8];
            if (kn == 8) {
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    v[i] = i < nv ? ld8(row[i], k0 + k, fmt) : _mm256_setzero_ps();
            } else {
                for (int i = 0; i < 8; i++)
                    v[i] = i < nv ? ld8n(row[i], k0 + k, kn, fmt) : _mm256_setzero_ps();
            }
            transpose8(v);
            float *p = panel + k * MR + h * 8;
            if (kn == 8) {
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++) _mm256_store_ps(p + j * MR, v[j]);
            } else {
                for (int j = 0; j < kn; j++) _mm256_store_ps(p + j * MR, v[j]);
            }
        }
    }
}

/* Y[t * ldy + 8v + i] (+)= sum_k panel[k * MR + 8v + i] * X[t * ldx + k]
 * for t < NT, v < RV, lanes in m[v]; acc_in: add to what Y holds. */
INLINE void micro(const float *panel, int64_t kc, const float *X, int64_t ldx, float *Y,
                  int64_t ldy, int NT, int RV, __m256i m0, __m256i m1, int acc_in) {
    __m256 acc[NT_MAX][2];
    const float *xt[NT_MAX];
#pragma GCC unroll 6
    for (int t = 0; t < NT; t++) {
        xt[t] = X + t * ldx;
        if (acc_in) {
            acc[t][0] = _mm256_maskload_ps(Y + t * ldy, m0);
            if (RV > 1) acc[t][1] = _mm256_maskload_ps(Y + t * ldy + 8, m1);
        } else {
            acc[t][0] = _mm256_setzero_ps();
            if (RV > 1) acc[t][1] = _mm256_setzero_ps();
        }
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *p = panel + k * MR;
        __m256 p0 = _mm256_load_ps(p), p1 = RV > 1 ? _mm256_load_ps(p + 8) : p0;
#pragma GCC unroll 6
        for (int t = 0; t < NT; t++) {
            __m256 xb = _mm256_broadcast_ss(xt[t] + k);
            acc[t][0] = _mm256_fmadd_ps(p0, xb, acc[t][0]);
            if (RV > 1) acc[t][1] = _mm256_fmadd_ps(p1, xb, acc[t][1]);
        }
    }
#pragma GCC unroll 6
    for (int t = 0; t < NT; t++) {
        _mm256_maskstore_ps(Y + t * ldy, m0, acc[t][0]);
        if (RV > 1) _mm256_maskstore_ps(Y + t * ldy + 8, m1, acc[t][1]);
    }
}

#define MICRO_FN(RV, NT)                                                                      \
    static void micro_##RV##_##NT(const float *panel, int64_t kc, const float *X, int64_t ldx, \
                                  float *Y, int64_t ldy, __m256i m0, __m256i m1, int acc_in) { \
        micro(panel, kc, X, ldx, Y, ldy, NT, RV, m0, m1, acc_in);                             \
    }
#define MICRO_FNS(RV)                                                                         \
    MICRO_FN(RV, 1) MICRO_FN(RV, 2) MICRO_FN(RV, 3) MICRO_FN(RV, 4) MICRO_FN(RV, 5)           \
    MICRO_FN(RV, 6)
MICRO_FNS(1)
MICRO_FNS(2)

typedef void (*micro_fn)(const float *, int64_t, const float *, int64_t, float *, int64_t,
                         __m256i, __m256i, int);
static const micro_fn micro_table[2][NT_MAX] = {
    {micro_1_1, micro_1_2, micro_1_3, micro_1_4, micro_1_5, micro_1_6},
    {micro_2_1, micro_2_2, micro_2_3, micro_2_4, micro_2_5, micro_2_6},
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
    int64_t n_chunks = (K + KC_MAX - 1) / KC_MAX;
    int64_t kcs = ((K + n_chunks - 1) / n_chunks + 7) & ~(int64_t)7;
    _Alignas(64) float panel[KC_MAX * MR];
    for (int64_t rb = r0; rb < r1; rb += MR) {
        int nr = r1 - rb < MR ? (int)(r1 - rb) : MR;
        __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
        int rv = nr > 8 ? 2 : 1;
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
    int64_t c = 0, c8 = W->cols & ~(int64_t)7;
    for (; c < c8; c += 8) _mm256_storeu_ps(out + c, ld8(w, c, fmt));
    if (c < W->cols) {
        _Alignas(32) float tmp[8];
        _mm256_store_ps(tmp, ld8n(w, c, W->cols - c, fmt));
        memcpy(out + c, tmp, (size_t)(W->cols - c) * 4);
    }
}

/* ---------------------------------------------------- exported entries */

#define DENSE_ENTRIES(NAME, FMT)                                                              \
    void ob_##NAME##_matvec_avx2(const ob_matrix *W, const void *x, float *y, int64_t r0,     \
                                 int64_t r1) {                                                \
        matvec_impl(W, (const float *)x, y, r0, r1, FMT);                                     \
    }                                                                                         \
    void ob_##NAME##_matmul_avx2(const ob_matrix *W, const void *X, int64_t n, float *Y,      \
                                 int64_t ldy, int64_t r0, int64_t r1) {                       \
        matmul_impl(W, (const float *)X, n, Y, ldy, r0, r1, FMT);                             \
    }                                                                                         \
    void ob_##NAME##_dequant_row_avx2(const ob_matrix *W, int64_t r, float *out) {            \
        dequant_impl(W, r, out, FMT);                                                         \
    }
DENSE_ENTRIES(f32, OB_FMT_F32)
DENSE_ENTRIES(f16, OB_FMT_F16)
DENSE_ENTRIES(bf16, OB_FMT_BF16)

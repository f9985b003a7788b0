/* nf4.c - NF4 and NF4 with double-quantized absmax (bitsandbytes' 4-bit
 * NormalFloat, layouts in kernels/quant.h): scalar reference.
 *
 * RTN: per block of 64 (the last of a row may be 32) absmax = max |x|,
 * code = the level nearest to x / absmax (first one on ties).  NF4_DQ first
 * quantizes the row's absmax values, per 256 blocks: mean, scale =
 * max |absmax - mean| / 127, aq = round(( absmax - mean) / scale); the codes
 * are then chosen against the absmax as it will be decoded.  (bitsandbytes
 * codes the absmax with its 8-bit dynamic map and one mean per tensor; here
 * the code is linear and the mean per 256 blocks, so rows stay
 * self-contained.)  Dot products take int8 activations (ob_blk_q8a): the
 * reference forms, per 32 weights, isum = sum levels_q[q] * qx in int32 and
 * adds absmax / 16256 * d_x * isum (the decomposition of kernels/qref.c). */
#include <math.h>
#include <string.h>

#include "kernels/quant.h"

/* bitsandbytes' NF4 code book (the quantiles of N(0, 1), normalized) */
const float ob_nf4_levels[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
};

/* round(levels[k] * 16256), and its split 128 * hi + lo for the byte
 * lookups of the SIMD kernels (test_quant checks both identities) */
const int16_t ob_nf4_levels_q[16] = {-16256, -11317, -8536, -6420, -4624, -3004, -1480, 0,
                                     1294,   2616,   4001,  5493,  7164,  9146,  11752, 16256};
const int8_t ob_nf4_hi[16] = {-127, -88, -67, -50, -36, -23, -12, 0, 10, 20, 31, 43, 56, 71, 92, 127};
const int8_t ob_nf4_lo[16] = {0, -53, 40, -20, -16, -60, 56, 0, 14, 56, 33, -11, -4, 58, -24, 0};

enum { NF4_BLOCK = 64, DQ_CHUNK = 256 };

static int64_t n_blocks(int64_t cols) { return ob_ceil_div(cols, NF4_BLOCK); }
static size_t nf4_row_bytes(int64_t cols) { return (size_t)n_blocks(cols) * 4 + (size_t)cols / 2; }
static size_t nf4dq_row_bytes(int64_t cols) { return ob_nf4dq_hdr_bytes(n_blocks(cols)) + (size_t)cols / 2; }

/* absmax of block b of an NF4 / NF4_DQ row of cols weights */
static float block_absmax(int dq, const uint8_t *row, int64_t cols, int64_t b) {
    return ob_nf4_absmax(dq, row, n_blocks(cols), b);
}

static const uint8_t *codes_of(int dq, const uint8_t *row, int64_t cols) {
    int64_t nb = n_blocks(cols);
    return row + (dq ? ob_nf4dq_hdr_bytes(nb) : (size_t)nb * 4);
}

static uint8_t nearest_level(float v) {
    int best = 0;
    float best_err = fabsf(v - ob_nf4_levels[0]);
    for (int i = 1; i < 16; i++) {
        float err = fabsf(v - ob_nf4_levels[i]);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return (uint8_t)best;
}

static void absmax_of_blocks(const float *x, int64_t cols, int64_t b0, int64_t nb, float *am) {
    for (int64_t b = b0; b < b0 + nb; b++) {
        int64_t c1 = (b + 1) * NF4_BLOCK < cols ? (b + 1) * NF4_BLOCK : cols;
        float a = 0;
        for (int64_t c = b * NF4_BLOCK; c < c1; c++) a = fmaxf(a, fabsf(x[c]));
        am[b - b0] = a;
    }
}

/* codes of block b against the absmax a it decodes with */
static void quantize_block(const float *x, int64_t cols, int64_t b, float a, uint8_t *codes) {
    float ia = a != 0 ? 1.0f / a : 0.0f;
    int64_t c1 = (b + 1) * NF4_BLOCK < cols ? (b + 1) * NF4_BLOCK : cols;
    for (int64_t c = b * NF4_BLOCK; c < c1; c += OB_QK) {
        uint8_t q[OB_QK];
        for (int j = 0; j < OB_QK; j++) q[j] = nearest_level(x[c + j] * ia);
        ob_pack_nibbles(q, codes + c / 2);
    }
}

static void nf4_quantize_row(const float *x, int64_t cols, void *row) {
    int64_t nb = n_blocks(cols);
    float *am = row; /* absmax[nb] at the start of the row */
    absmax_of_blocks(x, cols, 0, nb, am);
    uint8_t *codes = (uint8_t *)row + nb * 4;
    for (int64_t b = 0; b < nb; b++) quantize_block(x, cols, b, am[b], codes);
}

static void nf4dq_quantize_row(const float *x, int64_t cols, void *row) {
    const int64_t nb = n_blocks(cols), ns = ob_ceil_div(nb, DQ_CHUNK);
    uint8_t *out = row, *codes = out + ob_nf4dq_hdr_bytes(nb);
    int8_t *aq = (int8_t *)out + ns * 8;
    for (int64_t s = 0; s < ns; s++) {
        int64_t b0 = s * DQ_CHUNK, k = nb - b0 < DQ_CHUNK ? nb - b0 : DQ_CHUNK;
        float am[DQ_CHUNK], mean = 0, dev = 0;
        absmax_of_blocks(x, cols, b0, k, am);
        for (int64_t i = 0; i < k; i++) mean += am[i];
        mean /= (float)k;
        for (int64_t i = 0; i < k; i++) dev = fmaxf(dev, fabsf(am[i] - mean));
        float pair[2] = {mean, dev / 127.0f}, inv = dev > 0 ? 127.0f / dev : 0.0f;
        memcpy(out + s * 8, pair, 8);
        for (int64_t i = 0; i < k; i++) {
            aq[b0 + i] = (int8_t)lrintf((am[i] - mean) * inv);
            quantize_block(x, cols, b0 + i, pair[0] + pair[1] * (float)aq[b0 + i], codes);
        }
    }
}

static void dequant(int dq, const ob_matrix *W, int64_t r, float *out) {
    const uint8_t *row = ob_row_ptr(W, r), *codes = codes_of(dq, row, W->cols);
    for (int64_t c = 0; c < W->cols; c += OB_QK) {
        float a = block_absmax(dq, row, W->cols, c / NF4_BLOCK);
        int8_t q[OB_QK];
        ob_unpack_nibbles(codes + c / 2, q);
        for (int j = 0; j < OB_QK; j++) out[c + j] = a * ob_nf4_levels[q[j]];
    }
}

/* x: cols / 32 activation blocks */
static void matvec(int dq, const ob_matrix *W, const ob_blk_q8a *x, float *y, int64_t r0, int64_t r1) {
    const float one = 1.0f / OB_NF4_LEVEL_ONE;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ob_row_ptr(W, r), *codes = codes_of(dq, row, W->cols);
        float sum = 0;
        for (int64_t b = 0; b < W->cols / OB_QK; b++) {
            int8_t q[OB_QK];
            ob_unpack_nibbles(codes + b * (OB_QK / 2), q);
            int32_t isum = 0;
            for (int j = 0; j < OB_QK; j++) isum += (int32_t)ob_nf4_levels_q[q[j]] * x[b].qs[j];
            float d = block_absmax(dq, row, W->cols, b * OB_QK / NF4_BLOCK) * one;
            sum += d * x[b].d * (float)isum;
        }
        y[r] = sum;
    }
}

#define NF4_ENTRIES(LOWER, DQ)                                                                \
    static void LOWER##_dequant_row(const ob_matrix *W, int64_t r, float *out) {              \
        dequant(DQ, W, r, out);                                                               \
    }                                                                                         \
    static void LOWER##_matvec_ref(const ob_matrix *W, const void *x, float *y, int64_t r0,   \
                                   int64_t r1) {                                              \
        matvec(DQ, W, x, y, r0, r1);                                                          \
    }                                                                                         \
    static void LOWER##_matmul_ref(const ob_matrix *W, const void *X, int64_t n, float *Y,    \
                                   int64_t ldy, int64_t r0, int64_t r1) {                     \
        const size_t stride = ob_q8a_act_bytes(W->cols);                                      \
        for (int64_t t = 0; t < n; t++)                                                      \
            matvec(DQ, W, (const void *)((const char *)X + t * stride), Y + t * ldy, r0, r1); \
    }
NF4_ENTRIES(nf4, 0)
NF4_ENTRIES(nf4dq, 1)

OB_QUANT_OPS(nf4, "NF4", 4.5, nf4_row_bytes, nf4_dequant_row, nf4_matvec_ref, nf4_matmul_ref,
             nf4_quantize_row, ob_q8a_act_bytes, ob_q8a_quantize_act)
/* 4 + 8/64 + 64/(64*256) bits per weight */
OB_QUANT_OPS(nf4dq, "NF4_DQ", 4.12890625, nf4dq_row_bytes, nf4dq_dequant_row, nf4dq_matvec_ref,
             nf4dq_matmul_ref, nf4dq_quantize_row, ob_q8a_act_bytes, ob_q8a_quantize_act)

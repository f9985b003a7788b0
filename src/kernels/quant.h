/* quant.h - the quantized weight formats: block structs, row layouts, and
 * the kernels behind their ob_format_ops.
 *
 * Every quantized format works on blocks of OB_QK = 32 consecutive weights
 * of a row (cols must be a multiple of 32; formats with larger groups allow
 * a shorter last group).  Weights are w = d * q + m per block, where q is a
 * small integer code (or a table index, NF4) and d, m come from the block's
 * or group's header.  docs/quantization.md has the same in prose.
 *
 * Integer dot products: the activations are quantized once per ob_linear
 * call to ob_blk_q8a blocks (per 32 values: scale d, d * sum(q), 32 int8),
 * so that one block of the dot product is
 *     sum_j w_j x_j ~= d_w d_x sum_j q_j qx_j + m_w (d_x sum_j qx_j)
 * with an exact int32 inner sum.  W8A8 takes one int8 row per token with a
 * single scale instead (PyTorch's dynamic quantization).  NF4 takes the
 * same int8 blocks against integer levels (below).
 *
 * Files: reference kernels in kernels/q8_0.c, q4.c (Q4_0, Q4_1),
 * qgroup.c (group-wise int4/int8), mxfp4.c, nf4.c, w8a8.c, with the shared
 * integer-dot machinery and activation quantization in qref.c; SIMD in
 * kernels/x86/quant_avx2.c and quant_avx512.c (one body, quant_x86.h). */
#ifndef OB_KERNELS_QUANT_H
#define OB_KERNELS_QUANT_H
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/matrix.h"

enum { OB_QK = 32 };

/* --------------------------------------------------------- weight blocks */

/* Q8_0, llama.cpp's block_q8_0.  8.5 bits per weight.
 *   w[j] = d * qs[j]                         (d is fp16) */
typedef struct {
    uint16_t d;
    int8_t qs[OB_QK];
} ob_blk_q8_0;
static_assert(sizeof(ob_blk_q8_0) == 34, "block_q8_0 is 34 bytes");

/* Q4_0, llama.cpp's block_q4_0.  4.5 bits per weight.
 *   w[j]      = d * ((qs[j] & 15) - 8)       j < 16
 *   w[j + 16] = d * ((qs[j] >> 4) - 8) */
typedef struct {
    uint16_t d;
    uint8_t qs[OB_QK / 2];
} ob_blk_q4_0;
static_assert(sizeof(ob_blk_q4_0) == 18, "block_q4_0 is 18 bytes");

/* Q4_1, llama.cpp's block_q4_1.  5.0 bits per weight.
 *   w[j] = d * q[j] + m,  q[j] the nibbles in Q4_0's order */
typedef struct {
    uint16_t d, m;
    uint8_t qs[OB_QK / 2];
} ob_blk_q4_1;
static_assert(sizeof(ob_blk_q4_1) == 20, "block_q4_1 is 20 bytes");

/* MXFP4 (OCP MX v1.0, as llama.cpp's block_mxfp4).  4.25 bits per weight.
 *   w[j] = E2M1(q[j]) * 2^(e - 127),  q[j] the nibbles in Q4_0's order;
 * E2M1 code s.eem: sign s, magnitudes {0, .5, 1, 1.5, 2, 3, 4, 6}. */
typedef struct {
    uint8_t e;
    uint8_t qs[OB_QK / 2];
} ob_blk_mxfp4;
static_assert(sizeof(ob_blk_mxfp4) == 17, "block_mxfp4 is 17 bytes");

/* Group-wise int4 / int8 (GPTQ, AWQ and RTN results), one header per group
 * of G weights (G = 32, 64, 128, or the whole row).  4 + 32/G bits per
 * weight for int4, 8 + 32/G for int8.
 *   w = scale * (q - zero)
 * int4 q in [0, 15] stored as nibbles in Q4_0's order; int8 q stored as the
 * int8 q - 128 with zero - 128 in the header (so both are signed bytes).
 * Row layout (self-contained):
 *
 *   | hdr[0] | hdr[1] | ... | hdr[ng-1] | codes of weights 0 .. cols-1 |
 *     4 bytes each, ng = ceil(cols / G)   int4: 16 bytes per 32 weights
 *                                         int8: 32 bytes per 32 weights */
typedef struct {
    uint16_t scale; /* fp16 */
    int16_t zero;   /* int4: 0..15; int8: zero - 128 */
} ob_qgroup_hdr;
static_assert(sizeof(ob_qgroup_hdr) == 4, "group header is 4 bytes");

/* NF4 (bitsandbytes): 16 levels ob_nf4_levels[] of a standard normal,
 * scaled by the absmax of each block of 64 weights (the last block of a row
 * may hold 32).  Row layout:
 *
 *   | absmax[0 .. nb-1] (float) | codes, 16 bytes per 32 weights |
 *
 * 4 + 32/64 = 4.5 bits per weight; w = absmax[j / 64] * levels[q[j]].
 * NF4_DQ ("double quantization"): the absmax values are stored as int8
 * around their mean, one (mean, scale) float pair per 256 blocks:
 *
 *   | {mean, scale}[0 .. ns-1] | aq[0 .. nb-1] (int8, padded to 4) | codes |
 *
 * absmax[b] = mean[b / 256] + scale[b / 256] * aq[b]; ~4.13 bits per weight.
 * Codes in both use Q4_0's nibble order within each 32 (not bitsandbytes'
 * byte order: high nibble first).
 *
 * Dot products take int8 activations (ob_blk_q8a) and integer levels:
 * ob_nf4_levels_q[k] = round(levels[k] * OB_NF4_LEVEL_ONE), exact to
 * 3e-5, so per 32-block  sum_j levels[q_j] x_j ~= d_x * isum / 16256 with
 * isum = sum_j levels_q[q_j] qx_j in int32.  The SIMD kernels form isum from
 * two int8 tables, levels_q = 128 * ob_nf4_hi + ob_nf4_lo (hi in -127..127,
 * lo in -64..63): two byte lookups and two int8 dot products per 32
 * weights, and the same integer isum as the reference. */
extern const float ob_nf4_levels[16];
#define OB_NF4_LEVEL_ONE 16256 /* 127 * 128 */
extern const int16_t ob_nf4_levels_q[16];
extern const int8_t ob_nf4_hi[16], ob_nf4_lo[16];

/* W8A8: row = { float scale; int8 q[cols] }, w = scale * q; 8 + 32/cols
 * bits per weight.  Activations: { float d; int8 q[cols] } per token. */

/* --------------------------------------------------- activation blocks */

/* 32 activations quantized to int8: x[j] ~= d * qs[j], ds = d * sum(qs). */
typedef struct {
    float d, ds;
    int8_t qs[OB_QK];
} ob_blk_q8a;
static_assert(sizeof(ob_blk_q8a) == 40, "activation block is 40 bytes");

size_t ob_q8a_act_bytes(int64_t cols);
void ob_q8a_quantize_act(const float *x, int64_t cols, void *out);
size_t ob_w8a8_act_bytes(int64_t cols);
void ob_w8a8_quantize_act(const float *x, int64_t cols, void *out);

/* ---------------------------------------------------- layout helpers */

/* group size of a group-wise format for rows of cols weights */
static inline int64_t ob_qgroup_size(ob_format f, int64_t cols) {
    switch (f) {
    case OB_FMT_I4_G32: case OB_FMT_I8_G32: return 32;
    case OB_FMT_I4_G64: case OB_FMT_I8_G64: return 64;
    case OB_FMT_I4_G128: case OB_FMT_I8_G128: return 128;
    default: return cols;
    }
}
static inline int ob_qgroup_is_int8(ob_format f) { return f >= OB_FMT_I8_G32 && f <= OB_FMT_I8_ROW; }

/* One group-wise row from its parts, and back (qgroup.c): q[cols] the
 * integers (0..15 or 0..255), per group g < ceil(cols / G) the fp16 bits of
 * the scale and the integer zero point (w = scale * (q - zero)).  GPTQ's
 * results and GPTQ checkpoints go through these.  unpack: q may be NULL to
 * read the headers only. */
void ob_qgroup_pack_row(ob_format f, const uint8_t *q, const uint16_t *scale, const int32_t *zero, int64_t cols,
                        void *row);
void ob_qgroup_unpack_row(ob_format f, const void *row, int64_t cols, uint8_t *q, uint16_t *scale, int32_t *zero);
static inline int64_t ob_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
/* bytes before the codes in an NF4_DQ row of nb absmax blocks */
static inline size_t ob_nf4dq_hdr_bytes(int64_t nb) {
    return (size_t)ob_ceil_div(nb, 256) * 8 + (size_t)((nb + 3) & ~(int64_t)3);
}
/* absmax of 64-block b of an NF4 (dq = 0) or NF4_DQ (dq = 1) row of nb blocks */
static inline float ob_nf4_absmax(int dq, const uint8_t *row, int64_t nb, int64_t b) {
    float v[2];
    if (!dq) {
        memcpy(v, row + b * 4, 4);
        return v[0];
    }
    memcpy(v, row + (b / 256) * 8, 8);
    return v[0] + v[1] * (float)((const int8_t *)row)[ob_ceil_div(nb, 256) * 8 + b];
}
static inline const uint8_t *ob_row_ptr(const ob_matrix *W, int64_t r) {
    return (const uint8_t *)W->data + (size_t)r * W->row_bytes;
}
/* the 32 nibbles of 16 bytes in Q4_0's order: q[j] low, q[j + 16] high */
static inline void ob_unpack_nibbles(const uint8_t qs[16], int8_t q[OB_QK]) {
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(qs[j] & 15);
        q[j + 16] = (int8_t)(qs[j] >> 4);
    }
}
/* packs 32 codes in 0..15 the same way */
static inline void ob_pack_nibbles(const uint8_t q[OB_QK], uint8_t qs[16]) {
    for (int j = 0; j < 16; j++) qs[j] = (uint8_t)(q[j] | q[j + 16] << 4);
}
/* 2^(e-128): half of an E8M0 scale (the E2M1 table below is doubled);
 * e < 2 gives a subnormal float */
static inline float ob_e8m0_half_inline(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
float ob_e8m0_half(uint8_t e);
/* E2M1 codes times 2, so that they are integers */
extern const int8_t ob_mxfp4_int2[16];

/* ------------------------------------------ integer-dot reference core */

/* Decodes block b (weights 32b .. 32b+31) of row `row` of W:
 *   w[j] = d * q[j] + m. */
typedef void (*ob_qdecode_fn)(const ob_matrix *W, const uint8_t *row, int64_t b, int8_t q[OB_QK],
                              float *d, float *m);
/* Generic scalar kernels over the decode function: matvec / matmul on
 * ob_blk_q8a activations, and dequantize_row = d * q + m. */
void ob_qint_matvec(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1,
                    ob_qdecode_fn dec);
void ob_qint_matmul(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0,
                    int64_t r1, ob_qdecode_fn dec);
void ob_qint_dequant_row(const ob_matrix *W, int64_t r, float *out, ob_qdecode_fn dec);

/* Defines NAME's reference matvec / matmul / dequant_row from its decode
 * function NAME_decode (each format file uses it once). */
#define OB_QINT_REF(NAME)                                                                     \
    void ob_##NAME##_matvec_ref(const ob_matrix *W, const void *x, float *y, int64_t r0,     \
                                int64_t r1) {                                                 \
        ob_qint_matvec(W, x, y, r0, r1, NAME##_decode);                                       \
    }                                                                                         \
    void ob_##NAME##_matmul_ref(const ob_matrix *W, const void *X, int64_t n, float *Y,      \
                                int64_t ldy, int64_t r0, int64_t r1) {                        \
        ob_qint_matmul(W, X, n, Y, ldy, r0, r1, NAME##_decode);                               \
    }                                                                                         \
    void ob_##NAME##_dequant_row(const ob_matrix *W, int64_t r, float *out) {                 \
        ob_qint_dequant_row(W, r, out, NAME##_decode);                                        \
    }

/* ------------------------------------------------------ format tables */

/* x86 kernels (kernels/x86/quant_avx2.c, quant_avx512.c): matvec and
 * matmul of every quantized format (they switch on W->format once per
 * call).  The AVX-512 ones use VNNI (vpdpbusd): dispatch.c calls them only
 * when ob_cpu_has_vnni(). */
#ifdef OB_HAVE_X86
#define OB_DECLARE_QUANT_SIMD(SUF)                                                            \
    void ob_quant_matvec_##SUF(const ob_matrix *W, const void *x, float *y, int64_t r0,       \
                               int64_t r1);                                                   \
    void ob_quant_matmul_##SUF(const ob_matrix *W, const void *X, int64_t n, float *Y,        \
                               int64_t ldy, int64_t r0, int64_t r1);
OB_DECLARE_QUANT_SIMD(avx2)
OB_DECLARE_QUANT_SIMD(avx512)
#undef OB_DECLARE_QUANT_SIMD
/* The activation quantizers with AVX-512 (F/BW): the same bytes as
 * ob_q8a_quantize_act / ob_w8a8_quantize_act (the same products, rounded
 * to nearest even by vcvtps2dq as lrintf rounds them), without the scalar
 * loop the decode thread ran alone before every matrix (260k values per
 * token on the 1.1B shapes).  The AVX2 level keeps the references. */
void ob_q8a_quantize_act_avx512(const float *x, int64_t cols, void *out);
void ob_w8a8_quantize_act_avx512(const float *x, int64_t cols, void *out);
#define OB_QSIMD(KIND, SUF, REF) ob_quant_##KIND##_##SUF
#define OB_QACT_AVX512(QA) QA##_avx512
#else
#define OB_QSIMD(KIND, SUF, REF) REF
#define OB_QACT_AVX512(QA) QA
#endif

/* Each quantized format defines ob_<lower>_ops[3], its ops at the scalar,
 * AVX2 and AVX-512 levels (indexed by ob_simd), with this macro; which one
 * a matrix gets is decided in dispatch.c only. */
#define OB_QUANT_OPS(LOWER, NAME, BITS, RB, DQ, MV, MM, QR, AB, QA)                           \
    const ob_format_ops ob_##LOWER##_ops[3] = {                                               \
        {NAME, BITS, RB, DQ, MV, MM, MV, MM, OB_QK, QR, AB, QA},                              \
        {NAME, BITS, RB, DQ, OB_QSIMD(matvec, avx2, MV), OB_QSIMD(matmul, avx2, MM), MV, MM,   \
         OB_QK, QR, AB, QA},                                                                  \
        {NAME, BITS, RB, DQ, OB_QSIMD(matvec, avx512, MV), OB_QSIMD(matmul, avx512, MM), MV,   \
         MM, OB_QK, QR, AB, OB_QACT_AVX512(QA)},                                              \
    };
extern const ob_format_ops ob_q8_0_ops[3], ob_q4_0_ops[3], ob_q4_1_ops[3], ob_mxfp4_ops[3],
    ob_nf4_ops[3], ob_nf4dq_ops[3], ob_w8a8_ops[3];
extern const ob_format_ops ob_i4g32_ops[3], ob_i4g64_ops[3], ob_i4g128_ops[3], ob_i4row_ops[3],
    ob_i8g32_ops[3], ob_i8g64_ops[3], ob_i8g128_ops[3], ob_i8row_ops[3];

#endif

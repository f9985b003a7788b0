/* q4.c - Q4_0 and Q4_1 (llama.cpp's layouts, kernels/quant.h): scalar
 * reference.
 *
 * Nibble order of a block's 16 bytes (shared by every 4-bit format here):
 *
 *   byte j (0..15):   | bits 7..4: weight j + 16 | bits 3..0: weight j |
 *
 * RTN as ggml's quantize_row_q4_0_ref / q4_1_ref:
 *   Q4_0: max = the value of largest magnitude (with its sign),
 *         d = max / -8, q = min(15, trunc(x / d + 8.5)); so max maps to 0
 *         (q - 8 = -8) and the opposite extreme to at most +7.
 *   Q4_1: d = (max - min) / 15, m = min, q = min(15, trunc((x - min)/d + 0.5)).
 * d and m are stored as fp16, the quotients use 1/d rounded to float. */
#include <float.h>
#include <math.h>

#include "kernels/quant.h"

/* ------------------------------------------------------------- Q4_0 */

static size_t q4_0_row_bytes(int64_t cols) { return (size_t)(cols / OB_QK) * sizeof(ob_blk_q4_0); }

static void q4_0_quantize_row(const float *x, int64_t cols, void *row) {
    ob_blk_q4_0 *y = row;
    for (int64_t b = 0; b < cols / OB_QK; b++, x += OB_QK) {
        float amax = 0, max = 0;
        for (int j = 0; j < OB_QK; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        float d = max / -8.0f, id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = ob_f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            int lo = (int8_t)(x[j] * id + 8.5f), hi = (int8_t)(x[j + 16] * id + 8.5f);
            y[b].qs[j] = (uint8_t)((lo < 15 ? lo : 15) | (hi < 15 ? hi : 15) << 4);
        }
    }
}

/* decoded as q in 0..15 with m = -8 d, so that the integer kernels can use
 * unsigned bytes; d * q - 8 d is exactly d * (q - 8) in float */
static void q4_0_decode(const ob_matrix *W, const uint8_t *row, int64_t b, int8_t q[OB_QK], float *d,
                        float *m) {
    const ob_blk_q4_0 *blk = (const ob_blk_q4_0 *)row + b;
    ob_unpack_nibbles(blk->qs, q);
    *d = ob_f16_to_f32(blk->d);
    *m = -8.0f * *d;
}

/* ------------------------------------------------------------- Q4_1 */

static size_t q4_1_row_bytes(int64_t cols) { return (size_t)(cols / OB_QK) * sizeof(ob_blk_q4_1); }

static void q4_1_quantize_row(const float *x, int64_t cols, void *row) {
    ob_blk_q4_1 *y = row;
    for (int64_t b = 0; b < cols / OB_QK; b++, x += OB_QK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < OB_QK; j++) {
            min = fminf(min, x[j]);
            max = fmaxf(max, x[j]);
        }
        float d = (max - min) / 15.0f, id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = ob_f32_to_f16(d);
        y[b].m = ob_f32_to_f16(min);
        for (int j = 0; j < 16; j++) {
            int lo = (int8_t)((x[j] - min) * id + 0.5f), hi = (int8_t)((x[j + 16] - min) * id + 0.5f);
            y[b].qs[j] = (uint8_t)((lo < 15 ? lo : 15) | (hi < 15 ? hi : 15) << 4);
        }
    }
}

static void q4_1_decode(const ob_matrix *W, const uint8_t *row, int64_t b, int8_t q[OB_QK], float *d,
                        float *m) {
    const ob_blk_q4_1 *blk = (const ob_blk_q4_1 *)row + b;
    ob_unpack_nibbles(blk->qs, q);
    *d = ob_f16_to_f32(blk->d);
    *m = ob_f16_to_f32(blk->m);
}

OB_QINT_REF(q4_0)
OB_QINT_REF(q4_1)

OB_QUANT_OPS(q4_0, "Q4_0", 4.5, q4_0_row_bytes, ob_q4_0_dequant_row, ob_q4_0_matvec_ref,
             ob_q4_0_matmul_ref, q4_0_quantize_row, ob_q8a_act_bytes, ob_q8a_quantize_act)
OB_QUANT_OPS(q4_1, "Q4_1", 5.0, q4_1_row_bytes, ob_q4_1_dequant_row, ob_q4_1_matvec_ref,
             ob_q4_1_matmul_ref, q4_1_quantize_row, ob_q8a_act_bytes, ob_q8a_quantize_act)

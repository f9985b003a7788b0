/* q8_0.c - Q8_0 (llama.cpp's layout, kernels/quant.h): scalar reference.
 *
 * RTN as ggml's quantize_row_q8_0_ref: per block of 32, d = absmax / 127,
 * q = round(x / d) (half away from zero), d stored as fp16. */
#include <math.h>

#include "kernels/quant.h"

static size_t q8_0_row_bytes(int64_t cols) { return (size_t)(cols / OB_QK) * sizeof(ob_blk_q8_0); }

static void q8_0_quantize_row(const float *x, int64_t cols, void *row) {
    ob_blk_q8_0 *y = row;
    for (int64_t b = 0; b < cols / OB_QK; b++, x += OB_QK) {
        float amax = 0;
        for (int j = 0; j < OB_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = ob_f32_to_f16(d);
        for (int j = 0; j < OB_QK; j++) y[b].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

static void q8_0_decode(const ob_matrix *W, const uint8_t *row, int64_t b, int8_t q[OB_QK], float *d,
                        float *m) {
    const ob_blk_q8_0 *blk = (const ob_blk_q8_0 *)row + b;
    for (int j = 0; j < OB_QK; j++) q[j] = blk->qs[j];
    *d = ob_f16_to_f32(blk->d);
    *m = 0;
}

OB_QINT_REF(q8_0)

OB_QUANT_OPS(q8_0, "Q8_0", 8.5, q8_0_row_bytes, ob_q8_0_dequant_row, ob_q8_0_matvec_ref,
             ob_q8_0_matmul_ref, q8_0_quantize_row, ob_q8a_act_bytes, ob_q8a_quantize_act)

/* mxfp4.c - MXFP4 (OCP Microscaling v1.0, kernels/quant.h): scalar reference.
 *
 * RTN as the OCP spec and ggml's quantize_row_mxfp4_ref: the shared
 * exponent is floor(log2(absmax)) - 2 (2 = the largest E2M1 exponent), so
 * absmax / 2^E lies in [4, 8) and values past 6 saturate to +-6; each
 * element takes the E2M1 value nearest to x / 2^E (first one on ties).  The
 * kernels use the doubled table ob_mxfp4_int2 (integers) and half the
 * scale, so the integer dot products are exact. */
#include <math.h>

#include "kernels/quant.h"

static size_t mxfp4_row_bytes(int64_t cols) { return (size_t)(cols / OB_QK) * sizeof(ob_blk_mxfp4); }

static uint8_t nearest_code(float x, float d) {
    int best = 0;
    float best_err = fabsf(x);
    for (int i = 1; i < 16; i++) {
        float err = fabsf((float)ob_mxfp4_int2[i] * d - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return (uint8_t)best;
}

static void mxfp4_quantize_row(const float *x, int64_t cols, void *row) {
    ob_blk_mxfp4 *y = row;
    for (int64_t b = 0; b < cols / OB_QK; b++, x += OB_QK) {
        float amax = 0;
        for (int j = 0; j < OB_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        int e = amax > 0 ? (int)floorf(log2f(amax)) - 2 + 127 : 0;
        y[b].e = (uint8_t)(e < 0 ? 0 : e > 254 ? 254 : e);
        float d = ob_e8m0_half(y[b].e);
        uint8_t q[OB_QK];
        for (int j = 0; j < OB_QK; j++) q[j] = nearest_code(x[j], d);
        ob_pack_nibbles(q, y[b].qs);
    }
}

static void mxfp4_decode(const ob_matrix *W, const uint8_t *row, int64_t b, int8_t q[OB_QK], float *d,
                         float *m) {
    const ob_blk_mxfp4 *blk = (const ob_blk_mxfp4 *)row + b;
    int8_t idx[OB_QK];
    ob_unpack_nibbles(blk->qs, idx);
    for (int j = 0; j < OB_QK; j++) q[j] = ob_mxfp4_int2[idx[j]];
    *d = ob_e8m0_half(blk->e);
    *m = 0;
}

OB_QINT_REF(mxfp4)

OB_QUANT_OPS(mxfp4, "MXFP4", 4.25, mxfp4_row_bytes, ob_mxfp4_dequant_row, ob_mxfp4_matvec_ref,
             ob_mxfp4_matmul_ref, mxfp4_quantize_row, ob_q8a_act_bytes, ob_q8a_quantize_act)

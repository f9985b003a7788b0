/* qref.c - what the quantized formats share: activation quantization and
 * the scalar integer-dot kernels every block format's reference uses.
 *
 * The reference dot product of a row and one token is, per 32-block b,
 *     d_w * d_x * (float)isum_b + m_w * ds_x,  isum_b = sum_j q_j * qx_j
 * summed over b in order in float32: the same decomposition the SIMD
 * kernels compute, so they differ only in the order of float additions. */
#include <math.h>
#include <string.h>

#include "kernels/quant.h"

/* ------------------------------------------------ activation quantization */

size_t ob_q8a_act_bytes(int64_t cols) { return (size_t)(cols / OB_QK) * sizeof(ob_blk_q8a); }

/* Per block of 32: d = absmax / 127, q = round(x / d) (symmetric). */
void ob_q8a_quantize_act(const float *x, int64_t cols, void *out) {
    ob_blk_q8a *a = out;
    for (int64_t b = 0; b < cols / OB_QK; b++, x += OB_QK) {
        float amax = 0;
        for (int j = 0; j < OB_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < OB_QK; j++) {
            int q = (int)lrintf(x[j] * id);
            a[b].qs[j] = (int8_t)q;
            sum += q;
        }
        a[b].d = d;
        a[b].ds = d * (float)sum;
    }
}

/* W8A8 activations: one scale for the whole token (per-token dynamic). */
size_t ob_w8a8_act_bytes(int64_t cols) { return 4 + (size_t)cols; }

void ob_w8a8_quantize_act(const float *x, int64_t cols, void *out) {
    float amax = 0;
    for (int64_t c = 0; c < cols; c++) amax = fmaxf(amax, fabsf(x[c]));
    float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
    memcpy(out, &d, 4);
    int8_t *q = (int8_t *)out + 4;
    for (int64_t c = 0; c < cols; c++) q[c] = (int8_t)lrintf(x[c] * id);
}

/* --------------------------------------------------- small shared tables */

const int8_t ob_mxfp4_int2[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

float ob_e8m0_half(uint8_t e) { return ob_e8m0_half_inline(e); }

/* ------------------------------------------------- integer-dot reference */

static float row_dot(const ob_matrix *W, const uint8_t *row, const ob_blk_q8a *a, ob_qdecode_fn dec) {
    float sum = 0;
    int8_t q[OB_QK];
    for (int64_t b = 0; b < W->cols / OB_QK; b++) {
        float d, m;
        dec(W, row, b, q, &d, &m);
        int32_t isum = 0;
        for (int j = 0; j < OB_QK; j++) isum += (int32_t)q[j] * a[b].qs[j];
        sum += d * a[b].d * (float)isum + m * a[b].ds;
    }
    return sum;
}

void ob_qint_matvec(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1,
                    ob_qdecode_fn dec) {
    for (int64_t r = r0; r < r1; r++) y[r] = row_dot(W, ob_row_ptr(W, r), x, dec);
}

void ob_qint_matmul(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0,
                    int64_t r1, ob_qdecode_fn dec) {
    const size_t stride = ob_q8a_act_bytes(W->cols);
    for (int64_t t = 0; t < n; t++)
        ob_qint_matvec(W, (const char *)X + (size_t)t * stride, Y + t * ldy, r0, r1, dec);
}

void ob_qint_dequant_row(const ob_matrix *W, int64_t r, float *out, ob_qdecode_fn dec) {
    const uint8_t *row = ob_row_ptr(W, r);
    int8_t q[OB_QK];
    for (int64_t b = 0; b < W->cols / OB_QK; b++) {
        float d, m;
        dec(W, row, b, q, &d, &m);
        for (int j = 0; j < OB_QK; j++) out[b * OB_QK + j] = d * (float)q[j] + m;
    }
}

/* w8a8.c - dynamic int8 (W8A8), the equivalent of PyTorch's
 * quantize_dynamic: weights int8 with one float scale per output row
 * (symmetric, scale = absmax / 127, q = round-half-even(x / scale)),
 * activations quantized the same way per token inside each ob_linear call
 * (ob_w8a8_quantize_act).  y[r] = s_w[r] * s_x * sum_c q[r,c] * qx[c], the
 * inner sum exact in int32 (|sum| <= 127^2 * cols < 2^31 for cols < 133000).
 *
 *   row:  | float scale | int8 q[0 .. cols-1] |
 *   act:  | float d     | int8 qx[0 .. cols-1] |      (per token) */
#include <math.h>
#include <string.h>

#include "kernels/quant.h"

static size_t w8a8_row_bytes(int64_t cols) { return 4 + (size_t)cols; }

/* the same rule as the activations: reuse it */
static void w8a8_quantize_row(const float *x, int64_t cols, void *row) { ob_w8a8_quantize_act(x, cols, row); }

static void w8a8_dequant_row(const ob_matrix *W, int64_t r, float *out) {
    const uint8_t *row = ob_row_ptr(W, r);
    float s;
    memcpy(&s, row, 4);
    const int8_t *q = (const int8_t *)row + 4;
    for (int64_t c = 0; c < W->cols; c++) out[c] = s * (float)q[c];
}

static void w8a8_matvec_ref(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1) {
    float dx;
    memcpy(&dx, x, 4);
    const int8_t *qx = (const int8_t *)x + 4;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ob_row_ptr(W, r);
        float s;
        memcpy(&s, row, 4);
        const int8_t *q = (const int8_t *)row + 4;
        int32_t isum = 0;
        for (int64_t c = 0; c < W->cols; c++) isum += (int32_t)q[c] * qx[c];
        y[r] = s * dx * (float)isum;
    }
}

static void w8a8_matmul_ref(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy,
                            int64_t r0, int64_t r1) {
    for (int64_t t = 0; t < n; t++)
        w8a8_matvec_ref(W, (const char *)X + (size_t)t * ob_w8a8_act_bytes(W->cols), Y + t * ldy, r0, r1);
}

OB_QUANT_OPS(w8a8, "W8A8", 8.0078125, w8a8_row_bytes, w8a8_dequant_row, w8a8_matvec_ref,
             w8a8_matmul_ref, w8a8_quantize_row, ob_w8a8_act_bytes, ob_w8a8_quantize_act)

/* qgroup.c - group-wise int4 / int8 with a scale and zero point per group
 * (the container for GPTQ and AWQ results; layout in kernels/quant.h).
 *
 * RTN (asymmetric, as GPTQ's and AWQ's quantizers): per group,
 *   lo = min(0, min x), hi = max(0, max x)   (zero stays exact)
 *   scale = (hi - lo) / qmax  rounded to fp16 (1 if the group is all 0)
 *   zero = clamp(round(-lo / scale), 0, qmax)
 *   q = clamp(round(x / scale) + zero, 0, qmax),   qmax = 15 or 255.
 * int8 codes and zeros are stored minus 128 (signed bytes). */
#include <math.h>
#include <string.h>

#include "kernels/quant.h"

static size_t qgroup_row_bytes(ob_format f, int64_t cols) {
    int64_t ng = ob_ceil_div(cols, ob_qgroup_size(f, cols));
    return (size_t)ng * sizeof(ob_qgroup_hdr) + (size_t)(ob_qgroup_is_int8(f) ? cols : cols / 2);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void qgroup_quantize_row(ob_format f, const float *x, int64_t cols, void *row) {
    const int64_t G = ob_qgroup_size(f, cols), ng = ob_ceil_div(cols, G);
    const int is8 = ob_qgroup_is_int8(f), qmax = is8 ? 255 : 15;
    ob_qgroup_hdr *hdr = row;
    uint8_t *codes = (uint8_t *)row + ng * sizeof(ob_qgroup_hdr);
    for (int64_t g = 0; g < ng; g++) {
        int64_t c0 = g * G, c1 = c0 + G < cols ? c0 + G : cols;
        float lo = 0, hi = 0;
        for (int64_t c = c0; c < c1; c++) {
            lo = fminf(lo, x[c]);
            hi = fmaxf(hi, x[c]);
        }
        uint16_t s16 = ob_f32_to_f16(hi > lo ? (hi - lo) / (float)qmax : 1.0f);
        float scale = ob_f16_to_f32(s16);
        if (!(scale > 0)) scale = ob_f16_to_f32(s16 = ob_f32_to_f16(1.0f));
        int zero = clampi((int)lrintf(-lo / scale), 0, qmax);
        hdr[g].scale = s16;
        hdr[g].zero = (int16_t)(is8 ? zero - 128 : zero);
        for (int64_t c = c0; c < c1; c += OB_QK) {
            uint8_t q[OB_QK];
            for (int j = 0; j < OB_QK; j++) q[j] = (uint8_t)clampi((int)lrintf(x[c + j] / scale) + zero, 0, qmax);
            if (is8)
                for (int j = 0; j < OB_QK; j++) codes[c + j] = (uint8_t)(q[j] - 128);
            else
                ob_pack_nibbles(q, codes + c / 2);
        }
    }
}

void ob_qgroup_pack_row(ob_format f, const uint8_t *q, const uint16_t *scale, const int32_t *zero, int64_t cols,
                        void *row) {
    const int64_t ng = ob_ceil_div(cols, ob_qgroup_size(f, cols));
    const int is8 = ob_qgroup_is_int8(f);
    uint8_t *codes = (uint8_t *)row + ng * sizeof(ob_qgroup_hdr);
    for (int64_t g = 0; g < ng; g++) {
        ob_qgroup_hdr h = {scale[g], (int16_t)(is8 ? zero[g] - 128 : zero[g])};
        memcpy((uint8_t *)row + g * sizeof h, &h, sizeof h);
    }
    for (int64_t c = 0; c < cols; c += OB_QK) {
        if (is8)
            for (int j = 0; j < OB_QK; j++) codes[c + j] = (uint8_t)(q[c + j] - 128);
        else
            ob_pack_nibbles(q + c, codes + c / 2);
    }
}

void ob_qgroup_unpack_row(ob_format f, const void *row, int64_t cols, uint8_t *q, uint16_t *scale, int32_t *zero) {
    const int64_t ng = ob_ceil_div(cols, ob_qgroup_size(f, cols));
    const int is8 = ob_qgroup_is_int8(f);
    const uint8_t *codes = (const uint8_t *)row + ng * sizeof(ob_qgroup_hdr);
    for (int64_t g = 0; g < ng; g++) {
        ob_qgroup_hdr h;
        memcpy(&h, (const uint8_t *)row + g * sizeof h, sizeof h);
        scale[g] = h.scale;
        zero[g] = is8 ? h.zero + 128 : h.zero;
    }
    for (int64_t c = 0; q && c < cols; c += OB_QK) {
        int8_t v[OB_QK];
        if (is8) memcpy(v, codes + c, OB_QK);
        else ob_unpack_nibbles(codes + c / 2, v);
        for (int j = 0; j < OB_QK; j++) q[c + j] = (uint8_t)(is8 ? v[j] + 128 : v[j]);
    }
}

static void qgroup_decode(const ob_matrix *W, const uint8_t *row, int64_t b, int8_t q[OB_QK], float *d,
                          float *m) {
    const int64_t G = ob_qgroup_size(W->format, W->cols), ng = ob_ceil_div(W->cols, G);
    ob_qgroup_hdr h;
    memcpy(&h, row + (size_t)(b * OB_QK / G) * sizeof h, sizeof h);
    const uint8_t *codes = row + ng * sizeof h;
    if (ob_qgroup_is_int8(W->format)) memcpy(q, codes + b * OB_QK, OB_QK);
    else ob_unpack_nibbles(codes + b * OB_QK / 2, q);
    *d = ob_f16_to_f32(h.scale);
    *m = -*d * (float)h.zero;
}

OB_QINT_REF(qgroup)

#define QGROUP_OPS(LOWER, FMT, NAME, BITS)                                                    \
    static size_t LOWER##_row_bytes(int64_t cols) { return qgroup_row_bytes(FMT, cols); }    \
    static void LOWER##_quantize_row(const float *x, int64_t cols, void *row) {               \
        qgroup_quantize_row(FMT, x, cols, row);                                               \
    }                                                                                         \
    OB_QUANT_OPS(LOWER, NAME, BITS, LOWER##_row_bytes, ob_qgroup_dequant_row,                 \
                 ob_qgroup_matvec_ref, ob_qgroup_matmul_ref, LOWER##_quantize_row,            \
                 ob_q8a_act_bytes, ob_q8a_quantize_act)
/* nominal bits per weight; per channel counts a 4096-wide row */
QGROUP_OPS(i4g32, OB_FMT_I4_G32, "I4_G32", 5.0)
QGROUP_OPS(i4g64, OB_FMT_I4_G64, "I4_G64", 4.5)
QGROUP_OPS(i4g128, OB_FMT_I4_G128, "I4_G128", 4.25)
QGROUP_OPS(i4row, OB_FMT_I4_ROW, "I4_ROW", 4.0078125)
QGROUP_OPS(i8g32, OB_FMT_I8_G32, "I8_G32", 9.0)
QGROUP_OPS(i8g64, OB_FMT_I8_G64, "I8_G64", 8.5)
QGROUP_OPS(i8g128, OB_FMT_I8_G128, "I8_G128", 8.25)
QGROUP_OPS(i8row, OB_FMT_I8_ROW, "I8_ROW", 8.0078125)

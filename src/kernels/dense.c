/* dense.c - scalar reference kernels for the dense formats F32, F16, BF16.
 *
 * Layout: row r of W is cols consecutive elements of the format; an F16 or
 * BF16 element is one uint16_t.  Accumulation is float32 in element order,
 * the reference every SIMD version is tested against. */
#include <stddef.h>

#include "kernels/dense.h"

static size_t f32_row_bytes(int64_t cols) { return (size_t)cols * 4; }
static size_t h16_row_bytes(int64_t cols) { return (size_t)cols * 2; }

#define DEFINE_DENSE_REF(NAME, T, LOAD, STORE)                                                       \
    static void NAME##_dequant_row(const ob_matrix *W, int64_t r, float *out) {              \
        const T *w = (const T *)((const char *)W->data + (size_t)r * W->row_bytes);          \
        for (int64_t c = 0; c < W->cols; c++) out[c] = LOAD(w[c]);                           \
    }                                                                                         \
    void ob_##NAME##_matvec_ref(const ob_matrix *W, const void *xv, float *y, int64_t r0,    \
                                int64_t r1) {                                                 \
        const float *x = xv;                                                                  \
        for (int64_t r = r0; r < r1; r++) {                                                  \
            const T *w = (const T *)((const char *)W->data + (size_t)r * W->row_bytes);      \
            float s = 0;                                                                      \
            for (int64_t c = 0; c < W->cols; c++) s += LOAD(w[c]) * x[c];                   \
            y[r] = s;                                                                         \
        }                                                                                     \
    }                                                                                         \
    void ob_##NAME##_matmul_ref(const ob_matrix *W, const void *Xv, int64_t n, float *Y,     \
                                int64_t ldy, int64_t r0, int64_t r1) {                        \
        const float *X = Xv;                                                                  \
        for (int64_t t = 0; t < n; t++)                                                      \
            ob_##NAME##_matvec_ref(W, X + t * W->cols, Y + t * ldy, r0, r1);                 \
    }                                                                                         \
    void ob_##NAME##_quantize_row(const float *x, int64_t cols, void *row) {                 \
        T *w = row;                                                                           \
        for (int64_t c = 0; c < cols; c++) w[c] = STORE(x[c]);                               \
    }

#define LOAD_F32(v) (v)
#define LOAD_F16(v) ob_f16_to_f32(v)
#define LOAD_BF16(v) ob_bf16_to_f32(v)
#define STORE_F32(v) (v)
DEFINE_DENSE_REF(f32, float, LOAD_F32, STORE_F32)
DEFINE_DENSE_REF(f16, uint16_t, LOAD_F16, ob_f32_to_f16)
DEFINE_DENSE_REF(bf16, uint16_t, LOAD_BF16, ob_f32_to_bf16)

/* dense formats take float32 activations and any number of columns */
const ob_format_ops ob_f32_ops_ref = {"F32", 32.0, f32_row_bytes, f32_dequant_row,
                                      ob_f32_matvec_ref, ob_f32_matmul_ref,
                                      ob_f32_matvec_ref, ob_f32_matmul_ref,
                                      1, ob_f32_quantize_row, NULL, NULL};
const ob_format_ops ob_f16_ops_ref = {"F16", 16.0, h16_row_bytes, f16_dequant_row,
                                      ob_f16_matvec_ref, ob_f16_matmul_ref,
                                      ob_f16_matvec_ref, ob_f16_matmul_ref,
                                      1, ob_f16_quantize_row, NULL, NULL};
const ob_format_ops ob_bf16_ops_ref = {"BF16", 16.0, h16_row_bytes, bf16_dequant_row,
                                       ob_bf16_matvec_ref, ob_bf16_matmul_ref,
                                       ob_bf16_matvec_ref, ob_bf16_matmul_ref,
                                       1, ob_bf16_quantize_row, NULL, NULL};

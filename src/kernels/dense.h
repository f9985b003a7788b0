/* dense.h - kernels of the dense formats (F32, F16, BF16), all levels. */
#ifndef OB_KERNELS_DENSE_H
#define OB_KERNELS_DENSE_H
#include "kernels/matrix.h"

/* scalar references (dense.c) */
void ob_f32_matvec_ref(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1);
void ob_f32_matmul_ref(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy,
                       int64_t r0, int64_t r1);
void ob_f16_matvec_ref(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1);
void ob_f16_matmul_ref(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy,
                       int64_t r0, int64_t r1);
void ob_bf16_matvec_ref(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1);
void ob_bf16_matmul_ref(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy,
                        int64_t r0, int64_t r1);
void ob_f32_quantize_row(const float *x, int64_t cols, void *row);
void ob_f16_quantize_row(const float *x, int64_t cols, void *row);
void ob_bf16_quantize_row(const float *x, int64_t cols, void *row);
extern const ob_format_ops ob_f32_ops_ref, ob_f16_ops_ref, ob_bf16_ops_ref;

/* x86 SIMD kernels (kernels/x86/dense_avx2.c, dense_avx512.c), compiled only
 * when OB_HAVE_X86 is set.  Same semantics as the references above; only the
 * order of the float additions differs (and FMA rounds once where the
 * reference rounds the product and the sum separately).  dispatch.c calls
 * them only at a level ob_cpu_simd_max() reports (AVX2 F16 also needs F16C).
 * They use no scratch memory besides the stack (at most ~50 KB). */
#ifdef OB_HAVE_X86
#define OB_DECLARE_DENSE_SIMD(SUF)                                                            \
    void ob_f32_matvec_##SUF(const ob_matrix *W, const void *x, float *y, int64_t r0,        \
                             int64_t r1);                                                     \
    void ob_f16_matvec_##SUF(const ob_matrix *W, const void *x, float *y, int64_t r0,        \
                             int64_t r1);                                                     \
    void ob_bf16_matvec_##SUF(const ob_matrix *W, const void *x, float *y, int64_t r0,       \
                              int64_t r1);                                                    \
    void ob_f32_matmul_##SUF(const ob_matrix *W, const void *X, int64_t n, float *Y,         \
                             int64_t ldy, int64_t r0, int64_t r1);                            \
    void ob_f16_matmul_##SUF(const ob_matrix *W, const void *X, int64_t n, float *Y,         \
                             int64_t ldy, int64_t r0, int64_t r1);                            \
    void ob_bf16_matmul_##SUF(const ob_matrix *W, const void *X, int64_t n, float *Y,        \
                              int64_t ldy, int64_t r0, int64_t r1);                           \
    void ob_f32_dequant_row_##SUF(const ob_matrix *W, int64_t r, float *out);                 \
    void ob_f16_dequant_row_##SUF(const ob_matrix *W, int64_t r, float *out);                 \
    void ob_bf16_dequant_row_##SUF(const ob_matrix *W, int64_t r, float *out);
OB_DECLARE_DENSE_SIMD(avx2)
OB_DECLARE_DENSE_SIMD(avx512)
#undef OB_DECLARE_DENSE_SIMD
#endif

#endif

/* dense.h - kernels of the dense formats (F32, F16, BF16), all levels. */
#ifndef OB_KERNELS_DENSE_H
#define OB_KERNELS_DENSE_H
#include "kernels/matrix.h"

/* scalar references (dense.c) */
void ob_f32_matvec_ref(const ob_matrix *W, const float *x, float *y, int64_t r0, int64_t r1);
void ob_f32_matmul_ref(const ob_matrix *W, const float *X, int64_t n, float *Y, int64_t ldy,
                       int64_t r0, int64_t r1);
void ob_f16_matvec_ref(const ob_matrix *W, const float *x, float *y, int64_t r0, int64_t r1);
void ob_f16_matmul_ref(const ob_matrix *W, const float *X, int64_t n, float *Y, int64_t ldy,
                       int64_t r0, int64_t r1);
void ob_bf16_matvec_ref(const ob_matrix *W, const float *x, float *y, int64_t r0, int64_t r1);
void ob_bf16_matmul_ref(const ob_matrix *W, const float *X, int64_t n, float *Y, int64_t ldy,
                        int64_t r0, int64_t r1);
extern const ob_format_ops ob_f32_ops_ref, ob_f16_ops_ref, ob_bf16_ops_ref;

#endif

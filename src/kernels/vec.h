/* vec.h - small vector kernels of the attention inner loops:
 *   dot(a, b, n)      = sum_i a[i] * b[i]
 *   axpy(y, a, x, n)  : y[i] += a * x[i]
 * A scalar reference plus AVX2 and AVX-512 versions; ob_vec_ops_get picks
 * one table per SIMD level (the inference context keeps the pointer). */
#ifndef OB_KERNELS_VEC_H
#define OB_KERNELS_VEC_H
#include "optibench.h"

typedef struct ob_vec_ops {
    float (*dot)(const float *a, const float *b, int n);
    void (*axpy)(float *y, float a, const float *x, int n);
} ob_vec_ops;

const ob_vec_ops *ob_vec_ops_get(ob_simd level);

float ob_dot_ref(const float *a, const float *b, int n);
void ob_axpy_ref(float *y, float a, const float *x, int n);
float ob_dot_avx2(const float *a, const float *b, int n);
void ob_axpy_avx2(float *y, float a, const float *x, int n);
float ob_dot_avx512(const float *a, const float *b, int n);
void ob_axpy_avx512(float *y, float a, const float *x, int n);

#endif

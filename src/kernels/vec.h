/* vec.h - small vector kernels of the attention inner loops:
 *   dot(a, b, n)      = sum_i a[i] * b[i]
 *   axpy(y, a, x, n)  : y[i] += a * x[i]
 *   dots(q, k, stride, n, hd, scale, out):
 *                       out[t] = scale * sum_d q[d] * k[t * stride + d],
 *                       t < n: one query head against n cached keys (each
 *                       hd floats, stride floats apart)
 *   wsum(out, p, v, stride, n, hd):
 *                       out[d] = sum_t p[t] * v[t * stride + d], d < hd:
 *                       the attention-weighted sum of n cached values
 *                       (out is overwritten)
 *   softmax(x, n)     : x[i] = exp(x[i] - max x) / sum_j exp(x[j] - max x)
 *   swiglu(x, y, n)   : x[i] = silu(x[i]) * y[i] = x[i] / (1 + exp(-x[i])) * y[i]
 *   gelu_tanh(x, n)   : x[i] = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
 *                       (GPT-2's GELU); the SIMD ones use the same value in
 *                       the form x / (1 + exp(-2u)), which has no cancellation
 *                       where tanh(u) is near -1
 * dots and wsum are what attention does per (token, head); the SIMD ones
 * share each q load across 4 keys with one horizontal sum for the 4, and
 * keep out in registers across all t, where dot / axpy per key would pay a
 * call, a reduction and a load and store of out for every key.
 * softmax, swiglu and gelu_tanh are the forward pass's exponentials (one
 * per score, one per FFN neuron: 124k per token on the 1.1B shapes, which
 * libm's expf takes 0.5 ms for); the SIMD ones evaluate exp with a polynomial (x86/
 * vexp_x86.h) to about 2 ulp.
 * A scalar reference plus AVX2 and AVX-512 versions; ob_vec_ops_get picks
 * one table per SIMD level (the inference context keeps the pointer). */
#ifndef OB_KERNELS_VEC_H
#define OB_KERNELS_VEC_H
#include <stddef.h>

#include "optibench.h"

typedef struct ob_vec_ops {
    float (*dot)(const float *a, const float *b, int n);
    void (*axpy)(float *y, float a, const float *x, int n);
    void (*dots)(const float *q, const float *k, size_t stride, int n, int hd, float scale, float *out);
    void (*wsum)(float *out, const float *p, const float *v, size_t stride, int n, int hd);
    void (*softmax)(float *x, int n);                 /* n >= 1, in place */
    void (*swiglu)(float *x, const float *y, int n);  /* in place in x    */
    void (*gelu_tanh)(float *x, int n);               /* in place         */
} ob_vec_ops;

const ob_vec_ops *ob_vec_ops_get(ob_simd level);

float ob_dot_ref(const float *a, const float *b, int n);
void ob_axpy_ref(float *y, float a, const float *x, int n);
float ob_dot_avx2(const float *a, const float *b, int n);
void ob_axpy_avx2(float *y, float a, const float *x, int n);
float ob_dot_avx512(const float *a, const float *b, int n);
void ob_axpy_avx512(float *y, float a, const float *x, int n);
#define OB_ATTN_DECL(SUF)                                                                               \
    void ob_attn_dots_##SUF(const float *q, const float *k, size_t stride, int n, int hd, float scale, \
                            float *out);                                                            \
    void ob_attn_wsum_##SUF(float *out, const float *p, const float *v, size_t stride, int n, int hd); \
    void ob_softmax_##SUF(float *x, int n);                                                          \
    void ob_swiglu_##SUF(float *x, const float *y, int n);                                           \
    void ob_gelu_tanh_##SUF(float *x, int n);
OB_ATTN_DECL(ref)
OB_ATTN_DECL(avx2)
OB_ATTN_DECL(avx512)

#endif

/* vec_avx512.c - dot, axpy, the attention loops, softmax and SwiGLU with
 * 512-bit FMA; tails use a mask. */
#include <immintrin.h>

#include "kernels/vec.h"
#include "kernels/x86/hsum_avx512.h"
#include "kernels/x86/mask_avx512.h"
#include "kernels/x86/prefetch_x86.h"
#include "kernels/x86/vexp_x86.h"


float ob_dot_avx512(const float *a, const float *b, int n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = ob_lanes16(n - i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

void ob_axpy_avx512(float *y, float a, const float *x, int n) {
    __m512 va = _mm512_set1_ps(a);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = ob_lanes16(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

void ob_attn_dots_avx512(const float *q, const float *k, size_t stride, int n, int hd, float scale, float *out) {
    const __m128 vs = _mm_set1_ps(scale);
    int t = 0;
    for (; t + 4 <= n; t += 4) {
        const float *k0 = k + (size_t)t * stride;
        if (t + OB_KV_AHEAD + 4 <= n) ob_prefetch_rows(k0 + OB_KV_AHEAD * stride, stride, 4, hd);
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < hd; d += 16) {
            const __mmask16 m = ob_lanes16(hd - d);
            const __m512 vq = _mm512_maskz_loadu_ps(m, q + d);
            a0 = _mm512_fmadd_ps(vq, _mm512_maskz_loadu_ps(m, k0 + d), a0);
            a1 = _mm512_fmadd_ps(vq, _mm512_maskz_loadu_ps(m, k0 + stride + d), a1);
            a2 = _mm512_fmadd_ps(vq, _mm512_maskz_loadu_ps(m, k0 + 2 * stride + d), a2);
            a3 = _mm512_fmadd_ps(vq, _mm512_maskz_loadu_ps(m, k0 + 3 * stride + d), a3);
        }
        _mm_storeu_ps(out + t, _mm_mul_ps(ob_hsum4_512(a0, a1, a2, a3), vs));
    }
    for (; t < n; t++) {
        const float *kt = k + (size_t)t * stride;
        __m512 a = _mm512_setzero_ps();
        for (int d = 0; d < hd; d += 16) {
            const __mmask16 m = ob_lanes16(hd - d);
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + d), _mm512_maskz_loadu_ps(m, kt + d), a);
        }
        out[t] = _mm512_reduce_add_ps(a) * scale;
    }
}

/* 64 dimensions at a time held in four registers over every t */
void ob_attn_wsum_avx512(float *out, const float *p, const float *v, size_t stride, int n, int hd) {
    for (int d = 0; d < hd; d += 64) {
        const __mmask16 m0 = ob_lanes16(hd - d), m1 = ob_lanes16(hd - d - 16), m2 = ob_lanes16(hd - d - 32), m3 = ob_lanes16(hd - d - 48);
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < n; t++) {
            const float *vt = v + (size_t)t * stride + d;
            if (t + OB_KV_AHEAD < n) ob_prefetch_rows(vt + OB_KV_AHEAD * stride, stride, 1, hd - d < 64 ? hd - d : 64);
            const __m512 w = _mm512_set1_ps(p[t]);
            a0 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m0, vt), a0);
            if (hd - d > 16) a1 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m1, vt + 16), a1);
            if (hd - d > 32) a2 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m2, vt + 32), a2);
            if (hd - d > 48) a3 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m3, vt + 48), a3);
        }
        _mm512_mask_storeu_ps(out + d, m0, a0);
        if (hd - d > 16) _mm512_mask_storeu_ps(out + d + 16, m1, a1);
        if (hd - d > 32) _mm512_mask_storeu_ps(out + d + 32, m2, a2);
        if (hd - d > 48) _mm512_mask_storeu_ps(out + d + 48, m3, a3);
    }
}

void ob_softmax_avx512(float *x, int n) {
    __m512 vmx = _mm512_set1_ps(x[0]);
    for (int i = 0; i < n; i += 16) vmx = _mm512_mask_max_ps(vmx, ob_lanes16(n - i), vmx, _mm512_maskz_loadu_ps(ob_lanes16(n - i), x + i));
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmx));
    __m512 s = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = ob_lanes16(n - i);
        const __m512 e = ob_vexp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mx));
        _mm512_mask_storeu_ps(x + i, m, e);
        s = _mm512_mask_add_ps(s, m, s, e);
    }
    const __m512 r = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(s));
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = ob_lanes16(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), r));
    }
}

/* v / (1 + exp(-z)): v times the logistic function of z */
static inline __m512 mul_sigmoid(__m512 v, __m512 z) {
    return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), ob_vexp512(_mm512_sub_ps(_mm512_setzero_ps(), z))));
}

void ob_swiglu_avx512(float *x, const float *y, int n) {
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = ob_lanes16(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(mul_sigmoid(v, v), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

/* 0.5 v (1 + tanh(u)) = v / (1 + exp(-2u)), 2u = v (c1 + c3 v^2) */
void ob_gelu_tanh_avx512(float *x, int n) {
    const __m512 c1 = _mm512_set1_ps(2.0f * 0.7978845608028654f), c3 = _mm512_set1_ps(2.0f * 0.7978845608028654f * 0.044715f);
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = ob_lanes16(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        const __m512 z = _mm512_mul_ps(v, _mm512_fmadd_ps(c3, _mm512_mul_ps(v, v), c1));
        _mm512_mask_storeu_ps(x + i, m, mul_sigmoid(v, z));
    }
}

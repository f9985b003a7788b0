/* vec_avx2.c - dot, axpy, the attention loops, softmax and SwiGLU with
 * 256-bit FMA; tails are scalar, except softmax's and SwiGLU's, which go
 * through the same exp in a padded vector. */
#include <immintrin.h>

#include "kernels/vec.h"
#include "kernels/x86/hsum_x86.h"
#include "kernels/x86/prefetch_x86.h"
#include "kernels/x86/vexp_x86.h"

float ob_dot_avx2(const float *a, const float *b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float r = ob_hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

void ob_axpy_avx2(float *y, float a, const float *x, int n) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

void ob_attn_dots_avx2(const float *q, const float *k, size_t stride, int n, int hd, float scale, float *out) {
    const int h8 = hd & ~7;
    int t = 0;
    for (; t + 4 <= n; t += 4) {
        const float *k0 = k + (size_t)t * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        if (t + OB_KV_AHEAD + 4 <= n) ob_prefetch_rows(k0 + OB_KV_AHEAD * stride, stride, 4, hd);
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < h8; d += 8) {
            const __m256 vq = _mm256_loadu_ps(q + d);
            a0 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k0 + d), a0);
            a1 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k1 + d), a1);
            a2 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k2 + d), a2);
            a3 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k3 + d), a3);
        }
        float s[4] = {ob_hsum8(a0), ob_hsum8(a1), ob_hsum8(a2), ob_hsum8(a3)};
        for (int d = h8; d < hd; d++) {
            s[0] += q[d] * k0[d];
            s[1] += q[d] * k1[d];
            s[2] += q[d] * k2[d];
            s[3] += q[d] * k3[d];
        }
        for (int i = 0; i < 4; i++) out[t + i] = s[i] * scale;
    }
    for (; t < n; t++) out[t] = ob_dot_avx2(q, k + (size_t)t * stride, hd) * scale;
}

/* 32 dimensions at a time held in four registers over every t */
void ob_attn_wsum_avx2(float *out, const float *p, const float *v, size_t stride, int n, int hd) {
    const int h32 = hd & ~31;
    for (int d = 0; d < h32; d += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < n; t++) {
            const float *vt = v + (size_t)t * stride + d;
            if (t + OB_KV_AHEAD < n) ob_prefetch_rows(vt + OB_KV_AHEAD * stride, stride, 1, 32);
            const __m256 w = _mm256_set1_ps(p[t]);
            a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vt), a0);
            a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vt + 8), a1);
            a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vt + 16), a2);
            a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vt + 24), a3);
        }
        _mm256_storeu_ps(out + d, a0);
        _mm256_storeu_ps(out + d + 8, a1);
        _mm256_storeu_ps(out + d + 16, a2);
        _mm256_storeu_ps(out + d + 24, a3);
    }
    for (int d = h32; d < hd; d++) out[d] = 0;
    if (h32 < hd)
        for (int t = 0; t < n; t++) ob_axpy_avx2(out + h32, p[t], v + (size_t)t * stride + h32, hd - h32);
}

void ob_softmax_avx2(float *x, int n) {
    float mx = x[0];
    int i = 0;
    if (n >= 8) {
        __m256 vmx = _mm256_loadu_ps(x);
        for (i = 8; i + 8 <= n; i += 8) vmx = _mm256_max_ps(vmx, _mm256_loadu_ps(x + i));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmx), _mm256_extractf128_ps(vmx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        mx = _mm_cvtss_f32(m4);
    }
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 s8 = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = ob_vexp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        s8 = _mm256_add_ps(s8, e);
    }
    if (i < n) { /* the tail through the same polynomial, 8 lanes padded */
        float t[8] = {0};
        for (int j = i; j < n; j++) t[j - i] = x[j] - mx;
        float e[8];
        _mm256_storeu_ps(e, ob_vexp256(_mm256_loadu_ps(t)));
        for (int j = i; j < n; j++) x[j] = e[j - i];
        for (int j = n - i; j < 8; j++) e[j] = 0;
        s8 = _mm256_add_ps(s8, _mm256_loadu_ps(e));
    }
    const float r = 1.0f / ob_hsum8(s8);
    const __m256 vr = _mm256_set1_ps(r);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vr));
    for (; i < n; i++) x[i] *= r;
}

/* v / (1 + exp(-z)): v times the logistic function of z */
static inline __m256 mul_sigmoid(__m256 v, __m256 z) {
    return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), ob_vexp256(_mm256_sub_ps(_mm256_setzero_ps(), z))));
}

/* an elementwise activation of 8 values v; y: SwiGLU's second operand */
typedef __m256 (*act8_fn)(__m256 v, __m256 y);

static inline __m256 swiglu8(__m256 v, __m256 y) { return _mm256_mul_ps(mul_sigmoid(v, v), y); }

/* 0.5 v (1 + tanh(u)) = v / (1 + exp(-2u)), 2u = v (c1 + c3 v^2) */
static inline __m256 gelu8(__m256 v, __m256 y) {
    (void)y;
    const __m256 c1 = _mm256_set1_ps(2.0f * 0.7978845608028654f), c3 = _mm256_set1_ps(2.0f * 0.7978845608028654f * 0.044715f);
    return mul_sigmoid(v, _mm256_mul_ps(v, _mm256_fmadd_ps(c3, _mm256_mul_ps(v, v), c1)));
}

/* x[i] = f(x[i], y[i]) (y NULL: zeros): whole vectors, then the tail padded
 * into one (the same polynomial for every element, so a value's result
 * does not depend on where it sits) */
static inline void act_rows(float *x, const float *y, int n, act8_fn f) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, f(_mm256_loadu_ps(x + i), y ? _mm256_loadu_ps(y + i) : _mm256_setzero_ps()));
    if (i < n) {
        float t[8] = {0}, u[8] = {0};
        for (int j = i; j < n; j++) t[j - i] = x[j], u[j - i] = y ? y[j] : 0.0f;
        _mm256_storeu_ps(t, f(_mm256_loadu_ps(t), _mm256_loadu_ps(u)));
        for (int j = i; j < n; j++) x[j] = t[j - i];
    }
}

void ob_swiglu_avx2(float *x, const float *y, int n) { act_rows(x, y, n, swiglu8); }

void ob_gelu_tanh_avx2(float *x, int n) { act_rows(x, NULL, n, gelu8); }

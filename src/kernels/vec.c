/* vec.c - scalar references of the vector kernels (dispatch.c picks a level). */
#include <math.h>

#include "kernels/vec.h"

float ob_dot_ref(const float *a, const float *b, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void ob_axpy_ref(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

void ob_attn_dots_ref(const float *q, const float *k, size_t stride, int n, int hd, float scale, float *out) {
    for (int t = 0; t < n; t++) out[t] = ob_dot_ref(q, k + (size_t)t * stride, hd) * scale;
}

void ob_attn_wsum_ref(float *out, const float *p, const float *v, size_t stride, int n, int hd) {
    for (int d = 0; d < hd; d++) out[d] = 0;
    for (int t = 0; t < n; t++) ob_axpy_ref(out, p[t], v + (size_t)t * stride, hd);
}

void ob_softmax_ref(float *x, int n) {
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float s = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        s += x[i];
    }
    float r = 1.0f / s;
    for (int i = 0; i < n; i++) x[i] *= r;
}

void ob_swiglu_ref(float *x, const float *y, int n) {
    for (int i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i])) * y[i];
}

void ob_gelu_tanh_ref(float *x, int n) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

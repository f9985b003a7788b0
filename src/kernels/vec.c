/* vec.c - scalar references of the vector kernels (dispatch.c picks a level). */
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

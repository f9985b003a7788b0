/* ops.c - norms, RoPE, softmax and activations (scalar; not the hot path:
 * matrix products dominate, and they live in kernels/). */
#include "model/ops.h"

#include <math.h>

void ob_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float r = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) out[i] = x[i] * r * w[i];
}

void ob_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    float r = (float)(1.0 / sqrt(var + eps)), mu = (float)mean;
    for (int i = 0; i < n; i++) out[i] = (x[i] - mu) * r * w[i] + (b ? b[i] : 0.0f);
}

void ob_rope_inv_freq(float *inv_freq, int hd, float theta, float factor, float low, float high, int orig_max) {
    for (int j = 0; j < hd / 2; j++) {
        double f = pow((double)theta, -2.0 * j / hd);
        if (factor > 0) {
            double wavelen = 2 * M_PI / f, low_wl = orig_max / low, high_wl = orig_max / high;
            if (wavelen > low_wl) {
                f = f / factor;
            } else if (wavelen >= high_wl) {
                double smooth = (orig_max / wavelen - low) / (high - low);
                f = (1 - smooth) * f / factor + smooth * f;
            }
        }
        inv_freq[j] = (float)f;
    }
}

void ob_rope_table(float *cs, int pos, const float *inv_freq, int half) {
    for (int j = 0; j < half; j++) {
        double a = (double)pos * inv_freq[j];
        cs[2 * j] = (float)cos(a);
        cs[2 * j + 1] = (float)sin(a);
    }
}

void ob_rope(float *x, int n_heads, int hd, const float *cs) {
    int half = hd / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * hd;
        for (int j = 0; j < half; j++) {
            float c = cs[2 * j], s = cs[2 * j + 1], a = v[j], b = v[j + half];
            v[j] = a * c - b * s;
            v[j + half] = b * c + a * s;
        }
    }
}

void ob_gelu_erf(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.7071067811865476f));
}

void ob_add_bias(float *x, const float *b, int n) {
    if (b)
        for (int i = 0; i < n; i++) x[i] += b[i];
}

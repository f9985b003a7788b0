/* test_vec.c - the attention vector kernels (dot, axpy, dots, wsum) and the
 * forward pass's exponentials (softmax, swiglu, gelu_tanh) at every SIMD level against
 * the scalar reference, on lengths around the vector widths; GELU also
 * against the formula in double. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "kernels/vec.h"

/* dots and wsum against the scalar reference: head sizes around the
 * vector widths, key counts around the 4-key blocks, keys strided in a
 * cache row as in the KV cache.  Errors relative to the sum of |terms|. */
static void attn_case(const ob_vec_ops *ref, const ob_vec_ops *ops, ob_simd lv) {
    static const int hds[] = {1, 5, 8, 16, 24, 32, 48, 64, 80, 100, 128, 200};
    static const int ns[] = {1, 2, 3, 4, 5, 7, 8, 9, 33, 130};
    enum { STRIDE = 211, NMAX = 130, HMAX = 200 };
    float *k = malloc(sizeof(float) * STRIDE * NMAX), q[HMAX], p[NMAX], o0[NMAX + HMAX], o1[NMAX + HMAX];
    double worst_dots = 0, worst_wsum = 0;
    srand(7);
    for (int i = 0; i < STRIDE * NMAX; i++) k[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < HMAX; i++) q[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < NMAX; i++) p[i] = (float)rand() / RAND_MAX;
    for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++)
        for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
            int hd = hds[a], n = ns[b];
            ref->dots(q, k + 3, STRIDE, n, hd, 0.7f, o0);
            o1[n] = 12345.0f;
            ops->dots(q, k + 3, STRIDE, n, hd, 0.7f, o1);
            for (int t = 0; t < n; t++) {
                double mag = 0;
                for (int d = 0; d < hd; d++) mag += fabs(0.7 * q[d] * k[3 + (size_t)t * STRIDE + d]);
                worst_dots = fmax(worst_dots, fabs(o0[t] - o1[t]) / (mag + 1e-30));
            }
            CHECK(o1[n] == 12345.0f, "%s dots wrote past n = %d", ob_simd_name(lv), n);
            ref->wsum(o0, p, k + 3, STRIDE, n, hd);
            o1[hd] = 12345.0f;
            ops->wsum(o1, p, k + 3, STRIDE, n, hd);
            for (int d = 0; d < hd; d++) {
                double mag = 0;
                for (int t = 0; t < n; t++) mag += fabs(p[t] * k[3 + (size_t)t * STRIDE + d]);
                worst_wsum = fmax(worst_wsum, fabs(o0[d] - o1[d]) / (mag + 1e-30));
            }
            CHECK(o1[hd] == 12345.0f, "%s wsum wrote past hd = %d", ob_simd_name(lv), hd);
        }
    printf("attn %s: dots max relative error %.3g, wsum %.3g vs reference\n", ob_simd_name(lv), worst_dots,
           worst_wsum);
    CHECK(worst_dots < 1e-6, "%s dots error %g", ob_simd_name(lv), worst_dots);
    CHECK(worst_wsum < 1e-6, "%s wsum error %g", ob_simd_name(lv), worst_wsum);
    free(k);
}

/* softmax and swiglu against the reference (libm expf): lengths around the
 * vector widths, scores spread over [-40, 40] (attention logits) plus
 * entries far below the maximum, and SwiGLU gates out to +-100 where
 * exp(-x) under- or overflows.  Relative error per element, printed. */
static void exp_case(const ob_vec_ops *ref, const ob_vec_ops *ops, ob_simd lv) {
    static const int ns[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 255, 768, 1000};
    float x0[1000], x1[1000], y[1000];
    double worst_sm = 0, worst_sw = 0;
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        const int n = ns[k];
        srand(1000 + n);
        for (int i = 0; i < n; i++) {
            x0[i] = x1[i] = 80.0f * ((float)rand() / RAND_MAX - 0.5f) - (i % 13 == 5 ? 60.0f : 0.0f);
            y[i] = 2.0f * ((float)rand() / RAND_MAX - 0.5f);
        }
        x0[n / 2] = x1[n / 2] = -1e30f; /* exp underflows to 0 in the reference */
        ref->softmax(x0, n);
        ops->softmax(x1, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x1[i];
            /* absolute below 1e-30: the clamped exp gives ~1e-38 where libm gives 0 */
            double e = fabs(x1[i] - x0[i]) / (fabs(x0[i]) > 1e-30 ? fabs(x0[i]) : 1.0);
            if (e > worst_sm) worst_sm = e;
        }
        CHECK(fabs(sum - 1.0) < 1e-5, "%s softmax of %d sums to %.9g", ob_simd_name(lv), n, sum);
        for (int i = 0; i < n; i++) x0[i] = x1[i] = 200.0f * ((float)rand() / RAND_MAX - 0.5f) / (1 + i % 7);
        ref->swiglu(x0, y, n);
        ops->swiglu(x1, y, n);
        for (int i = 0; i < n; i++) {
            double e = fabs(x1[i] - x0[i]) / (fabs(x0[i]) > 1e-30 ? fabs(x0[i]) : 1.0);
            if (e > worst_sw) worst_sw = e;
        }
    }
    printf("vec %s: softmax max relative error %.3g, swiglu %.3g (vs libm expf)\n", ob_simd_name(lv), worst_sm,
           worst_sw);
    CHECK(worst_sm < 2e-6, "%s softmax error %g", ob_simd_name(lv), worst_sm);
    CHECK(worst_sw < 2e-6, "%s swiglu error %g", ob_simd_name(lv), worst_sw);
}

/* GELU (tanh form) against the formula in double.  The float reference
 * itself loses digits in 1 + tanh(u) where tanh(u) is near -1, so both it
 * and the SIMD kernel are held to an error relative to max(|x|, 1). */
static void gelu_case(const ob_vec_ops *ref, const ob_vec_ops *ops, ob_simd lv) {
    static const int ns[] = {1, 7, 8, 9, 16, 17, 33, 100, 768, 1000};
    float in[1000], x0[1000], x1[1000];
    double worst_ref = 0, worst_ops = 0;
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        const int n = ns[k];
        srand(2000 + n);
        for (int i = 0; i < n; i++)
            in[i] = x0[i] = x1[i] = 24.0f * ((float)rand() / RAND_MAX - 0.5f) * (i % 5 == 0 ? 4.0f : 1.0f);
        ref->gelu_tanh(x0, n);
        ops->gelu_tanh(x1, n);
        for (int i = 0; i < n; i++) {
            const double v = in[i], u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
            const double want = 0.5 * v * (1.0 + tanh(u)), den = fabs(v) > 1 ? fabs(v) : 1.0;
            if (fabs(x0[i] - want) / den > worst_ref) worst_ref = fabs(x0[i] - want) / den;
            if (fabs(x1[i] - want) / den > worst_ops) worst_ops = fabs(x1[i] - want) / den;
        }
    }
    printf("vec %s: gelu_tanh max error / max(|x|, 1) vs double %.3g (reference %.3g)\n", ob_simd_name(lv), worst_ops,
           worst_ref);
    CHECK(worst_ops < 1e-6, "%s gelu_tanh error %g", ob_simd_name(lv), worst_ops);
}

int main(void) {
    const ob_vec_ops *ref = ob_vec_ops_get(OB_SIMD_SCALAR);
    int lens[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 64, 100, 128, 129};
    float a[129], b[129], y0[129], y1[129];
    for (ob_simd lv = OB_SIMD_SCALAR; lv <= ob_cpu_simd_max(); lv++) {
        const ob_vec_ops *ops = ob_vec_ops_get(lv);
        double worst_dot = 0, worst_axpy = 0;
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            int n = lens[k];
            srand(n);
            for (int i = 0; i < n; i++) {
                a[i] = (float)rand() / RAND_MAX - 0.5f;
                b[i] = (float)rand() / RAND_MAX - 0.5f;
                y0[i] = y1[i] = (float)rand() / RAND_MAX;
            }
            double want = 0, mag = 0;
            for (int i = 0; i < n; i++) {
                want += (double)a[i] * b[i];
                mag += fabs((double)a[i] * b[i]);
            }
            /* relative to the sum of magnitudes: float rounding of n products */
            double e = fabs(ops->dot(a, b, n) - want) / (mag + 1e-30);
            if (e > worst_dot) worst_dot = e;
            ref->axpy(y0, 0.37f, a, n);
            ops->axpy(y1, 0.37f, a, n);
            for (int i = 0; i < n; i++)
                if (fabs(y0[i] - y1[i]) > worst_axpy) worst_axpy = fabs(y0[i] - y1[i]);
        }
        printf("vec %s: dot max relative error %.3g, axpy max abs diff vs reference %.3g\n", ob_simd_name(lv),
               worst_dot, worst_axpy);
        attn_case(ref, ops, lv);
        exp_case(ref, ops, lv);
        gelu_case(ref, ops, lv);
        CHECK(worst_dot < 1e-6, "%s dot error %g", ob_simd_name(lv), worst_dot);
        CHECK(worst_axpy < 1e-6, "%s axpy differs by %g", ob_simd_name(lv), worst_axpy);
    }
    return CHECK_DONE("test_vec");
}

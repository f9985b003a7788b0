/* test_vec.c - the attention vector kernels (dot, axpy) at every SIMD level
 * against the scalar reference, on lengths around the vector widths. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "kernels/vec.h"

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
        CHECK(worst_dot < 1e-6, "%s dot error %g", ob_simd_name(lv), worst_dot);
        CHECK(worst_axpy < 1e-6, "%s axpy differs by %g", ob_simd_name(lv), worst_axpy);
    }
    return CHECK_DONE("test_vec");
}

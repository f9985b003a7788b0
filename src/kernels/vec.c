/* vec.c - scalar references of the vector kernels, and their dispatch. */
#include "kernels/vec.h"

float ob_dot_ref(const float *a, const float *b, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void ob_axpy_ref(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

static const ob_vec_ops vec_ref = {ob_dot_ref, ob_axpy_ref};
#if defined(OB_HAVE_X86)
static const ob_vec_ops vec_avx2 = {ob_dot_avx2, ob_axpy_avx2};
static const ob_vec_ops vec_avx512 = {ob_dot_avx512, ob_axpy_avx512};
#endif

const ob_vec_ops *ob_vec_ops_get(ob_simd level) {
    if (level > ob_cpu_simd_max()) level = ob_cpu_simd_max();
#if defined(OB_HAVE_X86)
    if (level >= OB_SIMD_AVX512) return &vec_avx512;
    if (level >= OB_SIMD_AVX2) return &vec_avx2;
#endif
    return &vec_ref;
}

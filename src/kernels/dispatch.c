/* dispatch.c - the one place that picks a kernel per format and SIMD level.
 *
 * Each level has one const table per format.  The SIMD tables exist only in
 * builds with the x86 files (OB_HAVE_X86); a NOSIMD or non-x86 build always
 * returns the scalar reference.  The level asked for is clamped to what the
 * CPU has (ob_cpu_simd_max()), so no caller can reach an instruction the CPU
 * lacks.  F16 at the AVX2 level also needs F16C (every AVX2 CPU made has it,
 * but it is a separate cpuid bit); without it F16 stays scalar. */
#include <stdlib.h>

#include "kernels/dense.h"
#include "kernels/vec.h"

static const ob_format_ops *const table_ref[OB_FMT_COUNT] = {
    [OB_FMT_F32] = &ob_f32_ops_ref,
    [OB_FMT_F16] = &ob_f16_ops_ref,
    [OB_FMT_BF16] = &ob_bf16_ops_ref,
};

#ifdef OB_HAVE_X86
static size_t row_bytes_4(int64_t cols) { return (size_t)cols * 4; }
static size_t row_bytes_2(int64_t cols) { return (size_t)cols * 2; }

#define DENSE_OPS(NAME, STR, BITS, RB, SUF)                                                   \
    static const ob_format_ops NAME##_ops_##SUF = {                                           \
        STR, BITS, RB, ob_##NAME##_dequant_row_##SUF, ob_##NAME##_matvec_##SUF,              \
        ob_##NAME##_matmul_##SUF, ob_##NAME##_matvec_ref, ob_##NAME##_matmul_ref};
DENSE_OPS(f32, "F32", 32.0, row_bytes_4, avx2)
DENSE_OPS(f16, "F16", 16.0, row_bytes_2, avx2)
DENSE_OPS(bf16, "BF16", 16.0, row_bytes_2, avx2)
DENSE_OPS(f32, "F32", 32.0, row_bytes_4, avx512)
DENSE_OPS(f16, "F16", 16.0, row_bytes_2, avx512)
DENSE_OPS(bf16, "BF16", 16.0, row_bytes_2, avx512)
#undef DENSE_OPS

static const ob_format_ops *const table_avx2[OB_FMT_COUNT] = {
    [OB_FMT_F32] = &f32_ops_avx2,
    [OB_FMT_F16] = &f16_ops_avx2,
    [OB_FMT_BF16] = &bf16_ops_avx2,
};
static const ob_format_ops *const table_avx512[OB_FMT_COUNT] = {
    [OB_FMT_F32] = &f32_ops_avx512,
    [OB_FMT_F16] = &f16_ops_avx512,
    [OB_FMT_BF16] = &bf16_ops_avx512,
};
#endif

const ob_format_ops *ob_format_get_at(ob_format fmt, ob_simd level) {
    if ((unsigned)fmt >= OB_FMT_COUNT) return NULL;
    if (level > ob_cpu_simd_max()) level = ob_cpu_simd_max();
#ifdef OB_HAVE_X86
    if (level >= OB_SIMD_AVX512) return table_avx512[fmt];
    if (level == OB_SIMD_AVX2) {
        if (fmt == OB_FMT_F16 && !ob_cpu_has_f16c()) return table_ref[fmt];
        return table_avx2[fmt];
    }
#endif
    return table_ref[fmt];
}

const ob_format_ops *ob_format_get(ob_format fmt) { return ob_format_get_at(fmt, ob_cpu_simd()); }

const char *ob_format_name(ob_format fmt) {
    const ob_format_ops *ops = ob_format_get_at(fmt, OB_SIMD_SCALAR);
    return ops ? ops->name : "?";
}

/* The attention vector kernels, by the same rule. */
static const ob_vec_ops vec_ref = {ob_dot_ref, ob_axpy_ref};
#ifdef OB_HAVE_X86
static const ob_vec_ops vec_avx2 = {ob_dot_avx2, ob_axpy_avx2};
static const ob_vec_ops vec_avx512 = {ob_dot_avx512, ob_axpy_avx512};
#endif

const ob_vec_ops *ob_vec_ops_get(ob_simd level) {
    if (level > ob_cpu_simd_max()) level = ob_cpu_simd_max();
#ifdef OB_HAVE_X86
    if (level >= OB_SIMD_AVX512) return &vec_avx512;
    if (level >= OB_SIMD_AVX2) return &vec_avx2;
#endif
    return &vec_ref;
}

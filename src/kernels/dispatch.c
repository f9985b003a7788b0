/* dispatch.c - the one place that picks a kernel per format and SIMD level.
 *
 * Each level has one const table per format.  The SIMD tables exist only in
 * builds with the x86 files (OB_HAVE_X86); a NOSIMD or non-x86 build always
 * returns the scalar reference.  The level asked for is clamped to what the
 * CPU has (ob_cpu_simd_max()), so no caller can reach an instruction the CPU
 * lacks.  F16 at the AVX2 level also needs F16C (every AVX2 CPU made has it,
 * but it is a separate cpuid bit); without it F16 stays scalar.
 *
 * Quantized formats (kernels/quant.h) bring their ops at the three levels
 * as one array each; here they are registered, and the AVX-512 entry (VNNI
 * integer dot products) is taken only when the CPU has AVX-512 VNNI,
 * otherwise the AVX2 one (which needs F16C for the fp16 block scales).
 * The sparse formats (kernels/sparse.h) likewise, their AVX-512 entry
 * needing AVX-512 VBMI2 (vpexpandb / vpexpandw) besides VNNI. */
#include <stdlib.h>
#include <strings.h>

#include "kernels/dense.h"
#include "kernels/quant.h"
#include "kernels/sparse.h"
#include "kernels/vec.h"

static const ob_format_ops *const quant_table[OB_FMT_COUNT] = {
    [OB_FMT_Q8_0] = ob_q8_0_ops,     [OB_FMT_Q4_0] = ob_q4_0_ops,
    [OB_FMT_Q4_1] = ob_q4_1_ops,     [OB_FMT_I4_G32] = ob_i4g32_ops,
    [OB_FMT_I4_G64] = ob_i4g64_ops,  [OB_FMT_I4_G128] = ob_i4g128_ops,
    [OB_FMT_I4_ROW] = ob_i4row_ops,  [OB_FMT_I8_G32] = ob_i8g32_ops,
    [OB_FMT_I8_G64] = ob_i8g64_ops,  [OB_FMT_I8_G128] = ob_i8g128_ops,
    [OB_FMT_I8_ROW] = ob_i8row_ops,  [OB_FMT_NF4] = ob_nf4_ops,
    [OB_FMT_NF4_DQ] = ob_nf4dq_ops,  [OB_FMT_MXFP4] = ob_mxfp4_ops,
    [OB_FMT_W8A8] = ob_w8a8_ops,
};

static const ob_format_ops *const table_ref[OB_FMT_DENSE_COUNT] = {
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
        ob_##NAME##_matmul_##SUF, ob_##NAME##_matvec_ref, ob_##NAME##_matmul_ref,             \
        1, ob_##NAME##_quantize_row, NULL, NULL};
DENSE_OPS(f32, "F32", 32.0, row_bytes_4, avx2)
DENSE_OPS(f16, "F16", 16.0, row_bytes_2, avx2)
DENSE_OPS(bf16, "BF16", 16.0, row_bytes_2, avx2)
DENSE_OPS(f32, "F32", 32.0, row_bytes_4, avx512)
DENSE_OPS(f16, "F16", 16.0, row_bytes_2, avx512)
DENSE_OPS(bf16, "BF16", 16.0, row_bytes_2, avx512)
#undef DENSE_OPS

static const ob_format_ops *const table_avx2[OB_FMT_DENSE_COUNT] = {
    [OB_FMT_F32] = &f32_ops_avx2,
    [OB_FMT_F16] = &f16_ops_avx2,
    [OB_FMT_BF16] = &bf16_ops_avx2,
};
static const ob_format_ops *const table_avx512[OB_FMT_DENSE_COUNT] = {
    [OB_FMT_F32] = &f32_ops_avx512,
    [OB_FMT_F16] = &f16_ops_avx512,
    [OB_FMT_BF16] = &bf16_ops_avx512,
};
#endif

const ob_format_ops *ob_format_get_at(ob_format fmt, ob_simd level) {
    if ((unsigned)fmt >= OB_FMT_COUNT) return NULL;
    if (level > ob_cpu_simd_max()) level = ob_cpu_simd_max();
    if ((int)fmt >= OB_FMT_DENSE_COUNT) {
        const int sparse = ob_format_is_sparse(fmt);
        const ob_format_ops *q = sparse ? ob_sparse_ops[fmt - OB_FMT_SP_F32] : quant_table[fmt];
#ifdef OB_HAVE_X86
        if (level >= OB_SIMD_AVX512 && ob_cpu_has_vnni() && (!sparse || ob_cpu_has_vbmi2()))
            return &q[OB_SIMD_AVX512];
        if (level >= OB_SIMD_AVX2 && ob_cpu_has_f16c()) return &q[OB_SIMD_AVX2];
#endif
        return &q[OB_SIMD_SCALAR];
    }
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

int ob_format_from_name(const char *name) {
    for (int f = 0; f < OB_FMT_COUNT; f++)
        if (!strcasecmp(name, ob_format_name((ob_format)f))) return f;
    return -1;
}

/* The attention vector kernels, by the same rule. */
static const ob_vec_ops vec_ref = {ob_dot_ref,       ob_axpy_ref,    ob_attn_dots_ref, ob_attn_wsum_ref,
                                   ob_softmax_ref, ob_swiglu_ref, ob_gelu_tanh_ref};
#ifdef OB_HAVE_X86
static const ob_vec_ops vec_avx2 = {ob_dot_avx2,       ob_axpy_avx2,    ob_attn_dots_avx2,
                                    ob_attn_wsum_avx2, ob_softmax_avx2, ob_swiglu_avx2,
                                    ob_gelu_tanh_avx2};
static const ob_vec_ops vec_avx512 = {ob_dot_avx512,       ob_axpy_avx512,    ob_attn_dots_avx512,
                                      ob_attn_wsum_avx512, ob_softmax_avx512, ob_swiglu_avx512,
                                      ob_gelu_tanh_avx512};
#endif

const ob_vec_ops *ob_vec_ops_get(ob_simd level) {
    if (level > ob_cpu_simd_max()) level = ob_cpu_simd_max();
#ifdef OB_HAVE_X86
    if (level >= OB_SIMD_AVX512) return &vec_avx512;
    if (level >= OB_SIMD_AVX2) return &vec_avx2;
#endif
    return &vec_ref;
}

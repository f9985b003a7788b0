/* dispatch.c - the one place that picks a kernel per format and SIMD level. */
#include <stdlib.h>

#include "kernels/dense.h"

static const ob_format_ops *table_ref[OB_FMT_COUNT] = {
    [OB_FMT_F32] = &ob_f32_ops_ref,
    [OB_FMT_F16] = &ob_f16_ops_ref,
    [OB_FMT_BF16] = &ob_bf16_ops_ref,
};

const ob_format_ops *ob_format_get_at(ob_format fmt, ob_simd level) {
    if ((unsigned)fmt >= OB_FMT_COUNT) return NULL;
    if (level > ob_cpu_simd_max()) level = ob_cpu_simd_max();
    (void)level; /* SIMD tables are added per format as they are written */
    return table_ref[fmt];
}

const ob_format_ops *ob_format_get(ob_format fmt) { return ob_format_get_at(fmt, ob_cpu_simd()); }

const char *ob_format_name(ob_format fmt) {
    const ob_format_ops *ops = ob_format_get_at(fmt, OB_SIMD_SCALAR);
    return ops ? ops->name : "?";
}

/* x16.c - the x16 layout (kernels/x16.h): packing and unpacking rows, the
 * activations, the scalar references and the ops tables. */
#include "kernels/x16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ob_x16_supported(ob_format f) {
    switch (f) {
    case OB_FMT_Q8_0: case OB_FMT_Q4_0: case OB_FMT_Q4_1: case OB_FMT_MXFP4:
    case OB_FMT_I4_G32: case OB_FMT_I4_G64: case OB_FMT_I4_G128: case OB_FMT_I4_ROW:
    case OB_FMT_I8_G32: case OB_FMT_I8_G64: case OB_FMT_I8_G128: case OB_FMT_I8_ROW:
    case OB_FMT_NF4: case OB_FMT_NF4_DQ:
        return 1;
    default:
        return 0;
    }
}

/* 1 when level (at most the CPU's) runs the AVX-512 VNNI kernels */
static int has_kernels(ob_simd level) {
#ifdef OB_HAVE_X86
    return level >= OB_SIMD_AVX512 && ob_cpu_has_vnni();
#else
    (void)level;
    return 0;
#endif
}

int ob_x16_pays(ob_format f) { return ob_x16_supported(f) && has_kernels(ob_cpu_simd()); }

/* ------------------------------------------------------------- layout */

static int is_8bit(ob_format f) { return f == OB_FMT_Q8_0 || ob_qgroup_is_int8(f); }

/* Block-of-structs formats: block bytes, and the header before the codes
 * in each block as nf fields of fs bytes (Q4_1: d, m). */
typedef struct {
    size_t blk, fs;
    int nf;
} aos_shape;

static int aos_of(ob_format f, aos_shape *s) {
    switch (f) {
    case OB_FMT_Q8_0: *s = (aos_shape){sizeof(ob_blk_q8_0), 2, 1}; return 1;
    case OB_FMT_Q4_0: *s = (aos_shape){sizeof(ob_blk_q4_0), 2, 1}; return 1;
    case OB_FMT_Q4_1: *s = (aos_shape){sizeof(ob_blk_q4_1), 2, 2}; return 1;
    case OB_FMT_MXFP4: *s = (aos_shape){sizeof(ob_blk_mxfp4), 1, 1}; return 1;
    default: return 0;
    }
}

/* the header region is the same size in the row layout and x16 */
size_t ob_x16_hdr_bytes(ob_format f, int64_t cols) {
    aos_shape s;
    if (aos_of(f, &s)) return s.fs * (size_t)s.nf * (size_t)(cols / OB_QK);
    const int64_t nb64 = ob_ceil_div(cols, 64);
    if (f == OB_FMT_NF4) return (size_t)nb64 * 4;
    if (f == OB_FMT_NF4_DQ) return ob_nf4dq_hdr_bytes(nb64);
    return (size_t)ob_ceil_div(cols, ob_qgroup_size(f, cols)) * sizeof(ob_qgroup_hdr);
}

/* the 16 (4-bit) or 32 (8-bit) code bytes of block b in the row layout */
static size_t canon_codes_at(ob_format f, int64_t cols, int64_t b) {
    aos_shape s;
    if (aos_of(f, &s)) return s.blk * (size_t)b + s.fs * (size_t)s.nf;
    return ob_x16_hdr_bytes(f, cols) + (size_t)b * (is_8bit(f) ? 32 : 16);
}

/* lanes of group g of a row of nb blocks */
static int64_t lanes_of(int64_t nb, int64_t g) {
    int64_t n = nb - g * OB_X16_LANES;
    return n < OB_X16_LANES ? n : OB_X16_LANES;
}

/* Moves block b's codes between the row layout (canon) and x16 (x),
 * in the direction to_x16. */
static void move_codes(int eight, int64_t nb, int64_t b, uint8_t *canon, uint8_t *x, int to_x16) {
    const int64_t g = b / OB_X16_LANES, j = b % OB_X16_LANES, n = lanes_of(nb, g);
    if (eight) {
        uint8_t *base = x + (size_t)g * OB_X16_LANES * 32;
        for (int s = 0; s < 8; s++)
            for (int i = 0; i < 4; i++) {
                uint8_t *p = base + (size_t)(s * 4 * n + 4 * j + i);
                if (to_x16) *p = canon[4 * s + i];
                else canon[4 * s + i] = *p;
            }
        return;
    }
    int8_t q[OB_QK];
    uint8_t *base = x + (size_t)g * OB_X16_LANES * 16;
    if (to_x16) ob_unpack_nibbles(canon, q);
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 4; i++) {
            uint8_t *p = base + (size_t)(c * 4 * n + 4 * j + i);
            if (to_x16) *p = (uint8_t)(q[8 * c + i] | q[8 * c + 4 + i] << 4);
            else q[8 * c + i] = (int8_t)(*p & 15), q[8 * c + 4 + i] = (int8_t)(*p >> 4);
        }
    if (!to_x16) ob_pack_nibbles((const uint8_t *)q, canon);
}

static void convert_row(ob_format f, int64_t cols, uint8_t *canon, uint8_t *x, int to_x16) {
    const int64_t nb = cols / OB_QK;
    const size_t hb = ob_x16_hdr_bytes(f, cols);
    aos_shape s;
    if (aos_of(f, &s)) {
        for (int64_t b = 0; b < nb; b++)
            for (int k = 0; k < s.nf; k++) {
                uint8_t *c = canon + s.blk * (size_t)b + s.fs * (size_t)k;
                uint8_t *h = x + s.fs * ((size_t)k * (size_t)nb + (size_t)b);
                if (to_x16) memcpy(h, c, s.fs);
                else memcpy(c, h, s.fs);
            }
    } else if (to_x16) {
        memcpy(x, canon, hb);
    } else {
        memcpy(canon, x, hb);
    }
    for (int64_t b = 0; b < nb; b++)
        move_codes(is_8bit(f), nb, b, canon + canon_codes_at(f, cols, b), x + hb, to_x16);
}

void ob_x16_pack_row(ob_format f, int64_t cols, const void *src, void *dst) {
    convert_row(f, cols, (uint8_t *)(uintptr_t)src, dst, 1); /* src is only read */
}

void ob_x16_unpack_row(ob_format f, int64_t cols, const void *src, void *dst) {
    convert_row(f, cols, dst, (uint8_t *)(uintptr_t)src, 0); /* src is only read */
}

/* -------------------------------------------------------- activations */

size_t ob_x16_act_bytes(int64_t cols) {
    return (size_t)ob_ceil_div(cols / OB_QK, OB_X16_LANES) * OB_X16_ACT_GROUP;
}

/* block b's ob_blk_q8a into the x16 activations */
static void act_put(uint8_t *out, int64_t b, const ob_blk_q8a *a) {
    uint8_t *grp = out + (size_t)(b / OB_X16_LANES) * OB_X16_ACT_GROUP;
    const int j = (int)(b % OB_X16_LANES);
    int32_t sum = 0;
    for (int s = 0; s < 8; s++)
        for (int i = 0; i < 4; i++) {
            grp[64 * s + 4 * j + i] = (uint8_t)a->qs[4 * s + i];
            sum += a->qs[4 * s + i];
        }
    memcpy(grp + 512 + 4 * j, &a->d, 4);
    memcpy(grp + 576 + 4 * j, &a->ds, 4);
    memcpy(grp + 640 + 4 * j, &sum, 4);
}

static void quantize_act_with(ob_quantize_row_fn block_q, const float *x, int64_t cols, void *out) {
    memset(out, 0, ob_x16_act_bytes(cols));
    for (int64_t b = 0; b < cols / OB_QK; b++) {
        ob_blk_q8a a;
        block_q(x + b * OB_QK, OB_QK, &a);
        act_put(out, b, &a);
    }
}

void ob_x16_quantize_act(const float *x, int64_t cols, void *out) {
    quantize_act_with(ob_q8a_quantize_act, x, cols, out);
}

#ifdef OB_HAVE_X86
void ob_x16_quantize_act_avx512(const float *x, int64_t cols, void *out) {
    quantize_act_with(ob_q8a_quantize_act_avx512, x, cols, out);
}
#endif

void ob_x16_act_unpack(const void *act, int64_t cols, ob_blk_q8a *out) {
    const uint8_t *in = act;
    for (int64_t b = 0; b < cols / OB_QK; b++) {
        const uint8_t *grp = in + (size_t)(b / OB_X16_LANES) * OB_X16_ACT_GROUP;
        const int j = (int)(b % OB_X16_LANES);
        for (int s = 0; s < 8; s++)
            for (int i = 0; i < 4; i++) out[b].qs[4 * s + i] = (int8_t)grp[64 * s + 4 * j + i];
        memcpy(&out[b].d, grp + 512 + 4 * j, 4);
        memcpy(&out[b].ds, grp + 576 + 4 * j, 4);
    }
}

/* --------------------------------------------------------- references */

/* Row r of W unpacked into buf, and V a one-row matrix of the row layout
 * over it (its scalar ops). */
static void row_view(const ob_matrix *W, int64_t r, uint8_t *buf, ob_matrix *V) {
    ob_x16_unpack_row(W->format, W->cols, ob_row_ptr(W, r), buf);
    *V = *W;
    V->x16 = 0;
    V->rows = 1;
    V->data = buf;
    V->ops = ob_format_get_at(W->format, OB_SIMD_SCALAR);
}

static void fill_nan(float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)NAN;
}

/* unpacks each row and the token, and runs the row layout's reference */
static void x16_matvec_ref(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1) {
    uint8_t *buf = malloc(W->row_bytes + 1);
    ob_blk_q8a *a = malloc((size_t)(W->cols / OB_QK + 1) * sizeof *a);
    if (!buf || !a) {
        fill_nan(y + r0, r1 - r0); /* a reference out of memory: visibly wrong, never silently */
    } else {
        ob_x16_act_unpack(x, W->cols, a);
        for (int64_t r = r0; r < r1; r++) {
            ob_matrix V;
            row_view(W, r, buf, &V);
            V.ops->matvec_ref(&V, a, y + r, 0, 1);
        }
    }
    free(buf);
    free(a);
}

static void x16_matmul_ref(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0,
                           int64_t r1) {
    const size_t stride = ob_x16_act_bytes(W->cols);
    for (int64_t t = 0; t < n; t++) x16_matvec_ref(W, (const char *)X + (size_t)t * stride, Y + t * ldy, r0, r1);
}

static void x16_dequant_row(const ob_matrix *W, int64_t r, float *out) {
    uint8_t *buf = malloc(W->row_bytes + 1);
    if (!buf) {
        fill_nan(out, W->cols);
        return;
    }
    ob_matrix V;
    row_view(W, r, buf, &V);
    V.ops->dequant_row(&V, 0, out);
    free(buf);
}

/* ------------------------------------------------------------ tables */

#ifdef OB_HAVE_X86
#define X16_SIMD(MV, MM, QA) ob_x16_matvec_avx512, ob_x16_matmul_avx512
#define X16_QA_SIMD ob_x16_quantize_act_avx512
#else
#define X16_SIMD(MV, MM, QA) MV, MM
#define X16_QA_SIMD ob_x16_quantize_act
#endif

/* Per format (name and bits as the row layout's: test_x16 checks): row_bytes and quantize_row through the row layout's, and the
 * three levels' ops (AVX2 has no x16 kernel: the reference). */
#define X16_OPS(LOWER, FMT, NAME, BITS)                                                            \
    static size_t LOWER##_rb(int64_t cols) { return ob_format_get_at(FMT, OB_SIMD_SCALAR)->row_bytes(cols); } \
    static void LOWER##_qrow(const float *x, int64_t cols, void *row) {                            \
        const ob_format_ops *o = ob_format_get_at(FMT, OB_SIMD_SCALAR);                            \
        uint8_t *tmp = calloc(1, o->row_bytes(cols) + 1); /* padding bytes defined */                \
        if (!tmp) {                                                                                \
            memset(row, 0xff, o->row_bytes(cols)); /* NaN scales: never silently wrong */          \
            return;                                                                                \
        }                                                                                          \
        o->quantize_row(x, cols, tmp);                                                             \
        ob_x16_pack_row(FMT, cols, tmp, row);                                                      \
        free(tmp);                                                                                 \
    }                                                                                              \
    static const ob_format_ops LOWER##_x16[3] = {                                                  \
        {NAME, BITS, LOWER##_rb, x16_dequant_row, x16_matvec_ref, x16_matmul_ref, x16_matvec_ref,  \
         x16_matmul_ref, OB_QK, LOWER##_qrow, ob_x16_act_bytes, ob_x16_quantize_act},              \
        {NAME, BITS, LOWER##_rb, x16_dequant_row, x16_matvec_ref, x16_matmul_ref, x16_matvec_ref,  \
         x16_matmul_ref, OB_QK, LOWER##_qrow, ob_x16_act_bytes, ob_x16_quantize_act},              \
        {NAME, BITS, LOWER##_rb, x16_dequant_row, X16_SIMD(x16_matvec_ref, x16_matmul_ref, 0),     \
         x16_matvec_ref, x16_matmul_ref, OB_QK, LOWER##_qrow, ob_x16_act_bytes, X16_QA_SIMD},      \
    };
X16_OPS(q8_0, OB_FMT_Q8_0, "Q8_0", 8.5)
X16_OPS(q4_0, OB_FMT_Q4_0, "Q4_0", 4.5)
X16_OPS(q4_1, OB_FMT_Q4_1, "Q4_1", 5.0)
X16_OPS(mxfp4, OB_FMT_MXFP4, "MXFP4", 4.25)
X16_OPS(nf4, OB_FMT_NF4, "NF4", 4.5)
X16_OPS(nf4dq, OB_FMT_NF4_DQ, "NF4_DQ", 4.12890625)
X16_OPS(i4g32, OB_FMT_I4_G32, "I4_G32", 5.0)
X16_OPS(i4g64, OB_FMT_I4_G64, "I4_G64", 4.5)
X16_OPS(i4g128, OB_FMT_I4_G128, "I4_G128", 4.25)
X16_OPS(i4row, OB_FMT_I4_ROW, "I4_ROW", 4.0078125)
X16_OPS(i8g32, OB_FMT_I8_G32, "I8_G32", 9.0)
X16_OPS(i8g64, OB_FMT_I8_G64, "I8_G64", 8.5)
X16_OPS(i8g128, OB_FMT_I8_G128, "I8_G128", 8.25)
X16_OPS(i8row, OB_FMT_I8_ROW, "I8_ROW", 8.0078125)

static const ob_format_ops *x16_table(ob_format f) {
    switch (f) {
    case OB_FMT_Q8_0: return q8_0_x16;
    case OB_FMT_Q4_0: return q4_0_x16;
    case OB_FMT_Q4_1: return q4_1_x16;
    case OB_FMT_MXFP4: return mxfp4_x16;
    case OB_FMT_NF4: return nf4_x16;
    case OB_FMT_NF4_DQ: return nf4dq_x16;
    case OB_FMT_I4_G32: return i4g32_x16;
    case OB_FMT_I4_G64: return i4g64_x16;
    case OB_FMT_I4_G128: return i4g128_x16;
    case OB_FMT_I4_ROW: return i4row_x16;
    case OB_FMT_I8_G32: return i8g32_x16;
    case OB_FMT_I8_G64: return i8g64_x16;
    case OB_FMT_I8_G128: return i8g128_x16;
    case OB_FMT_I8_ROW: return i8row_x16;
    default: return NULL;
    }
}

const ob_format_ops *ob_format_get_x16(ob_format f, ob_simd level) {
    const ob_format_ops *t = x16_table(f);
    if (!t) return NULL;
    if (level > ob_cpu_simd_max()) level = ob_cpu_simd_max();
    return &t[has_kernels(level) ? OB_SIMD_AVX512 : OB_SIMD_SCALAR];
}

/* ------------------------------------------------------- conversion */

typedef struct {
    ob_matrix *m;
    uint8_t *dst, *scratch; /* scratch: row_bytes per task when in place */
} pack_job;

static void pack_task(void *arg, int i, int n_tasks) {
    pack_job *j = arg;
    const ob_matrix *m = j->m;
    for (int64_t r = m->rows * i / n_tasks; r < m->rows * (i + 1) / n_tasks; r++) {
        const uint8_t *src = ob_row_ptr(m, r);
        uint8_t *dst = j->dst + (size_t)r * m->row_bytes;
        if (j->scratch) {
            uint8_t *tmp = j->scratch + (size_t)i * m->row_bytes;
            memcpy(tmp, src, m->row_bytes);
            src = tmp;
        }
        ob_x16_pack_row(m->format, m->cols, src, dst);
    }
}

int ob_matrix_to_x16(ob_matrix *m, void *dst, ob_pool *pool) {
    if (m->x16 || !ob_x16_supported(m->format) || !m->row_bytes) return -1;
    const int tasks = pool ? ob_pool_size(pool) : 1;
    const int in_place = dst == m->data;
    pack_job j = {m, dst, in_place ? malloc((size_t)tasks * m->row_bytes + 1) : NULL};
    if (in_place && !j.scratch) return -1;
    if (pool) ob_pool_run(pool, pack_task, &j, tasks);
    else pack_task(&j, 0, 1);
    free(j.scratch);
    m->x16 = 1;
    m->data = dst;
    m->ops = ob_format_get_x16(m->format, ob_cpu_simd());
    return 0;
}

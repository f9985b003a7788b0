/* sparse.c - the sparse formats (kernels/sparse.h): sizes, packing, the
 * row-offset table, the scalar reference kernels and the format tables.
 *
 * The references decode each chunk to its 32 dense weights (pruned ones
 * zero) and then do exactly what the dense format's reference does with
 * them: float formats s += w * x column by column (kernels/dense.c), I8 /
 * I4 the Q8_0 / Q4_0 block sum d_w d_x isum + m_w ds_x (kernels/qref.c).
 * So on the zeroed dense matrix they give the dense references' results
 * (bitwise, but for the sign of an exactly zero sum). */
#include <math.h>
#include <string.h>

#include "kernels/quant.h"
#include "kernels/sparse.h"

/* ------------------------------------------------------------ tables */

/* ob_s24_byte_mask: a metadata byte holds groups 2h (bits 3..0) and 2h + 1
 * (bits 7..4); each nibble i1:i0 keeps columns i0 and i1 of its group. */
#define S24_NIB(n) ((1 << ((n) & 3)) | (1 << (((n) >> 2) & 3)))
#define S24_BYTE(b) (uint8_t)(S24_NIB(b) | S24_NIB((b) >> 4) << 4)

/* ob_sp_expand_lut: rank of bit j among the set bits of m, or 0x80 */
#define BIT_(m, j) (((m) >> (j)) & 1)
#define POPC8_(v) (BIT_(v, 0) + BIT_(v, 1) + BIT_(v, 2) + BIT_(v, 3) + BIT_(v, 4) + BIT_(v, 5) + BIT_(v, 6) + BIT_(v, 7))
#define RANK_(m, j) (uint8_t)(BIT_(m, j) ? POPC8_((m) & ((1 << (j)) - 1)) : 0x80)
#define LUT_ROW(m) {RANK_(m, 0), RANK_(m, 1), RANK_(m, 2), RANK_(m, 3), RANK_(m, 4), RANK_(m, 5), RANK_(m, 6), RANK_(m, 7)}

#define X4_(M, b) M(b), M((b) + 1), M((b) + 2), M((b) + 3)
#define X16_(M, b) X4_(M, b), X4_(M, (b) + 4), X4_(M, (b) + 8), X4_(M, (b) + 12)
#define X64_(M, b) X16_(M, b), X16_(M, (b) + 16), X16_(M, (b) + 32), X16_(M, (b) + 48)
#define X256_(M) X64_(M, 0), X64_(M, 64), X64_(M, 128), X64_(M, 192)

const uint8_t ob_s24_byte_mask[256] = {X256_(S24_BYTE)};
const uint8_t ob_sp_expand_lut[256][8] = {X256_(LUT_ROW)};

/* ------------------------------------------------------------- names */

ob_format ob_sparse_format(ob_format value_fmt, int storage) {
    int vt = value_fmt == OB_FMT_F32    ? OB_SPV_F32
             : value_fmt == OB_FMT_F16  ? OB_SPV_F16
             : value_fmt == OB_FMT_BF16 ? OB_SPV_BF16
             : value_fmt == OB_FMT_Q8_0 ? OB_SPV_I8
             : value_fmt == OB_FMT_Q4_0 ? OB_SPV_I4
                                        : -1;
    if (vt < 0 || storage < 0 || storage >= OB_SPARSE_STORAGES) return (ob_format)-1;
    return (ob_format)(OB_FMT_SP_F32 + storage * OB_SPV_COUNT + vt);
}

ob_format ob_sparse_value_format(ob_format sparse) {
    static const ob_format dense[OB_SPV_COUNT] = {OB_FMT_F32, OB_FMT_F16, OB_FMT_BF16, OB_FMT_Q8_0, OB_FMT_Q4_0};
    return ob_format_is_sparse(sparse) ? dense[ob_sparse_vt(sparse)] : sparse;
}

/* -------------------------------------------------------------- sizes */

static size_t s24_chunk_bytes(int vt) { return 4 + ob_sp_body_bytes(vt, 16); }

/* keep mask of chunk b of a keep row */
static uint32_t chunk_mask(const uint8_t *keep_row, int64_t b) {
    uint32_t m = 0;
    for (int j = 0; j < OB_SP_COLS; j++) m |= (uint32_t)(keep_row[b * OB_SP_COLS + j] != 0) << j;
    return m;
}

size_t ob_sparse_size(ob_format f, const uint8_t *keep, int64_t rows, int64_t cols, size_t *aux_bytes) {
    if (aux_bytes) *aux_bytes = 0;
    if (!ob_format_is_sparse(f) || cols <= 0 || cols % OB_SP_COLS || rows < 0) return 0;
    const int st = ob_sparse_storage(f), vt = ob_sparse_vt(f);
    const int64_t nb = cols / OB_SP_COLS;
    if (st == OB_SPARSE_24) return (size_t)(rows * nb) * s24_chunk_bytes(vt);
    if (aux_bytes) *aux_bytes = ob_sparse_aux_bytes(f, rows);
    size_t total = st == OB_SPARSE_BLOCK ? 2 * (size_t)rows : 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < nb; b++) {
            int k = __builtin_popcount(chunk_mask(keep + r * cols, b));
            if (st == OB_SPARSE_BITMASK) total += 4 + ob_sp_body_bytes(vt, k);
            else if (k) total += 2 + ob_sp_body_bytes(vt, OB_SP_COLS);
        }
    return total;
}

int ob_sparse_is_24(const uint8_t *keep, int64_t rows, int64_t cols) {
    if (cols % 4) return 0;
    for (int64_t i = 0; i < rows * cols; i += 4)
        if ((keep[i] != 0) + (keep[i + 1] != 0) + (keep[i + 2] != 0) + (keep[i + 3] != 0) != 2) return 0;
    return 1;
}

ob_format ob_sparse_choose(ob_format value_fmt, const uint8_t *keep, int64_t rows, int64_t cols, int is_24) {
    const ob_format_ops *ops = ob_format_get_at(value_fmt, OB_SIMD_SCALAR);
    if (!ops || cols % OB_SP_COLS || ob_sparse_format(value_fmt, 0) == (ob_format)-1) return value_fmt;
    if (is_24 < 0) is_24 = ob_sparse_is_24(keep, rows, cols);
    ob_format best = value_fmt;
    size_t best_bytes = ops->row_bytes(cols) * (size_t)rows;
    /* equal sizes go to the storage whose kernels are faster for the value
     * type (measured, docs/sparsity.md): 2:4 for float values; for integer
     * values the bitmask, whose keep mask needs no decoding (a 2:4 mask is
     * a bitmask with two bits per nibble: the same bytes) */
    static const int order_f[OB_SPARSE_STORAGES] = {OB_SPARSE_24, OB_SPARSE_BLOCK, OB_SPARSE_BITMASK};
    static const int order_i[OB_SPARSE_STORAGES] = {OB_SPARSE_BLOCK, OB_SPARSE_BITMASK, OB_SPARSE_24};
    const int *order = value_fmt == OB_FMT_Q8_0 || value_fmt == OB_FMT_Q4_0 ? order_i : order_f;
    for (int i = 0; i < OB_SPARSE_STORAGES; i++) {
        if (order[i] == OB_SPARSE_24 && !is_24) continue;
        ob_format f = ob_sparse_format(value_fmt, order[i]);
        size_t bytes = ob_sparse_size(f, keep, rows, cols, NULL);
        if (bytes < best_bytes) {
            best = f;
            best_bytes = bytes;
        }
    }
    return best;
}

/* ----------------------------------------------------------- packing */

/* Writes the body of a chunk: z the chunk's 32 weights with the pruned
 * ones zeroed, mask the columns stored, scale the given fp16 scale or
 * NULL (RTN).  Returns the byte after it. */
static uint8_t *put_body(int vt, const float z[OB_SP_COLS], uint32_t mask, const uint16_t *scale, uint8_t *out) {
    if (vt < OB_SPV_I8) {
        for (int j = 0; j < OB_SP_COLS; j++) {
            if (!(mask >> j & 1)) continue;
            if (vt == OB_SPV_F32) {
                memcpy(out, &z[j], 4);
                out += 4;
                continue;
            }
            uint16_t h = vt == OB_SPV_F16 ? ob_f32_to_f16(z[j]) : ob_f32_to_bf16(z[j]);
            memcpy(out, &h, 2);
            out += 2;
        }
        return out;
    }
    uint8_t q[OB_SP_COLS]; /* I8: int8 codes; I4: 0..15 */
    uint16_t d;
    if (!scale) { /* the dense format's own RTN on the zeroed chunk */
        const ob_format_ops *ops = ob_format_get_at(vt == OB_SPV_I8 ? OB_FMT_Q8_0 : OB_FMT_Q4_0, OB_SIMD_SCALAR);
        if (vt == OB_SPV_I8) {
            ob_blk_q8_0 blk;
            ops->quantize_row(z, OB_SP_COLS, &blk);
            d = blk.d;
            memcpy(q, blk.qs, OB_SP_COLS);
        } else {
            ob_blk_q4_0 blk;
            ops->quantize_row(z, OB_SP_COLS, &blk);
            d = blk.d;
            ob_unpack_nibbles(blk.qs, (int8_t *)q);
        }
    } else {
        d = *scale;
        const float df = ob_f16_to_f32(d), lo = vt == OB_SPV_I8 ? -128.0f : -8.0f, hi = vt == OB_SPV_I8 ? 127.0f : 7.0f;
        for (int j = 0; j < OB_SP_COLS; j++) {
            float v = df != 0 ? roundf(z[j] / df) : 0.0f;
            v = !(v >= lo) ? lo : v > hi ? hi : v; /* NaN -> lo */
            q[j] = vt == OB_SPV_I8 ? (uint8_t)(int8_t)v : (uint8_t)((int)v + 8);
        }
    }
    memcpy(out, &d, 2);
    out += 2;
    int i = 0;
    for (int j = 0; j < OB_SP_COLS; j++) {
        if (!(mask >> j & 1)) continue;
        if (vt == OB_SPV_I8) out[i] = q[j];
        else if (i & 1) out[i / 2] |= (uint8_t)(q[j] << 4);
        else out[i / 2] = q[j];
        i++;
    }
    return out + (vt == OB_SPV_I8 ? i : (i + 1) / 2);
}

/* The 2:4 metadata of a chunk's keep mask; -1 if it is not 2 of every 4. */
static int64_t s24_meta(uint32_t mask) {
    uint32_t meta = 0;
    for (int g = 0; g < 8; g++) {
        uint32_t nib = (mask >> (4 * g)) & 15, i0 = 4, i1 = 4;
        if (__builtin_popcount(nib) != 2) return -1;
        for (uint32_t i = 0; i < 4; i++)
            if (nib >> i & 1) {
                if (i0 == 4) i0 = i;
                else i1 = i;
            }
        meta |= (i0 | i1 << 2) << (4 * g);
    }
    return meta;
}

int ob_sparse_pack(ob_format f, const float *W, const uint8_t *keep, int64_t rows, int64_t cols,
                   const uint16_t *scales, void *data, void *aux, ob_err *err) {
    if (!ob_format_is_sparse(f)) return ob_fail(err, OB_EINVAL, "sparse pack: %s is not a sparse format", ob_format_name(f));
    if (cols <= 0 || cols % OB_SP_COLS || rows < 0)
        return ob_fail(err, OB_EINVAL, "sparse pack: %s needs a positive multiple of 32 columns, not %lld", ob_format_name(f),
                       (long long)cols);
    const int st = ob_sparse_storage(f), vt = ob_sparse_vt(f);
    const int64_t nb = cols / OB_SP_COLS;
    if (st != OB_SPARSE_24 && !aux) return ob_fail(err, OB_EINVAL, "sparse pack: %s needs its row-offset table", ob_format_name(f));
    uint8_t *const base = data, *out = base;
    int64_t *off = st == OB_SPARSE_24 ? NULL : aux; /* S24 has no table (aux may be NULL or empty) */
    for (int64_t r = 0; r < rows; r++) {
        const float *wr = W + r * cols;
        const uint8_t *kr = keep + r * cols;
        if (off) off[r] = out - base;
        uint8_t *idx = NULL;
        if (st == OB_SPARSE_BLOCK) {
            uint16_t n = 0;
            for (int64_t b = 0; b < nb; b++) n += chunk_mask(kr, b) != 0;
            memcpy(out, &n, 2);
            idx = out + 2;
            out = idx + 2 * (size_t)n;
        }
        for (int64_t b = 0; b < nb; b++) {
            uint32_t mask = chunk_mask(kr, b);
            float z[OB_SP_COLS];
            for (int j = 0; j < OB_SP_COLS; j++) z[j] = mask >> j & 1 ? wr[b * OB_SP_COLS + j] : 0.0f;
            if (st == OB_SPARSE_BLOCK) {
                if (!mask) continue;
                uint16_t i16 = (uint16_t)b;
                memcpy(idx, &i16, 2);
                idx += 2;
                mask = 0xffffffffu;
            } else {
                int64_t word = mask;
                if (st == OB_SPARSE_24 && (word = s24_meta(mask)) < 0)
                    return ob_fail(err, OB_EINVAL, "sparse pack: %s: row %lld columns %lld..%lld do not keep exactly 2 of "
                                   "every 4", ob_format_name(f), (long long)r, (long long)(b * OB_SP_COLS),
                                   (long long)(b * OB_SP_COLS + OB_SP_COLS - 1));
                uint32_t w32 = (uint32_t)word;
                memcpy(out, &w32, 4);
                out += 4;
            }
            out = put_body(vt, z, mask, scales ? scales + r * nb + b : NULL, out);
        }
    }
    if (off) off[rows] = out - base;
    return 0;
}

/* ------------------------------------------------------ row-offset table */

/* Bytes of the SP / SB row at p, of which avail bytes are there; 0 (and
 * *why) when it does not fit or is invalid. */
static size_t row_span(int st, int vt, const uint8_t *p, size_t avail, int64_t nb, const char **why) {
    size_t pos = 0;
    if (st == OB_SPARSE_BLOCK) {
        const int64_t n = avail >= 2 ? ob_ld16(p) : 0;
        if (avail < 2 || n > nb || avail - 2 < 2 * (size_t)n) {
            *why = avail < 2 ? "the data ends before it" : "more kept chunks than the row has, or the data ends";
            return 0;
        }
        for (int64_t i = 0; i < n; i++)
            if (ob_ld16(p + 2 + 2 * i) >= nb || (i > 0 && ob_ld16(p + 2 + 2 * i) <= ob_ld16(p + 2 * i))) {
                *why = "chunk indices not increasing or past the last chunk";
                return 0;
            }
        pos = 2 + 2 * (size_t)n + (size_t)n * ob_sp_body_bytes(vt, OB_SP_COLS);
    } else {
        for (int64_t b = 0; b < nb && pos <= avail; b++) {
            if (avail - pos < 4) pos = avail + 1; /* no room for the mask */
            else pos += 4 + ob_sp_body_bytes(vt, __builtin_popcount(ob_ld32(p + pos)));
        }
    }
    if (pos > avail) {
        *why = "the data ends inside it (the masks need more bytes)";
        return 0;
    }
    return pos;
}

int ob_sparse_index(ob_format f, const void *data, size_t bytes, int64_t rows, int64_t cols, void *aux,
                    ob_err *err) {
    if (!ob_format_is_sparse(f) || cols <= 0 || cols % OB_SP_COLS || rows < 0)
        return ob_fail(err, OB_EFORMAT, "%s of %lld x %lld: not a sparse format of a multiple of 32 columns",
                       ob_format_name(f), (long long)rows, (long long)cols);
    const int st = ob_sparse_storage(f), vt = ob_sparse_vt(f);
    const int64_t nb = cols / OB_SP_COLS;
    const uint8_t *p = data;
    const char *name = ob_format_name(f);
    if (st == OB_SPARSE_24) {
        const size_t want = (size_t)(rows * nb) * s24_chunk_bytes(vt);
        if (bytes != want)
            return ob_fail(err, OB_EFORMAT, "%s data of %lld x %lld is %zu bytes, not %zu", name, (long long)rows,
                           (long long)cols, bytes, want);
        for (int64_t i = 0; i < rows * nb; i++) {
            uint32_t meta = ob_ld32(p + (size_t)i * s24_chunk_bytes(vt));
            for (int g = 0; g < 8; g++)
                if (((meta >> (4 * g)) & 3) >= ((meta >> (4 * g + 2)) & 3))
                    return ob_fail(err, OB_EFORMAT, "%s row %lld chunk %lld: invalid 2:4 metadata 0x%08x", name,
                                   (long long)(i / nb), (long long)(i % nb), meta);
        }
        return 0;
    }
    int64_t *off = aux;
    size_t pos = 0;
    for (int64_t r = 0; r < rows; r++) {
        if (off) off[r] = (int64_t)pos;
        const char *why = NULL;
        const size_t n = row_span(st, vt, p + pos, bytes - pos, nb, &why);
        if (!n)
            return ob_fail(err, OB_EFORMAT, "%s row %lld (at byte %zu of %zu): %s", name, (long long)r, pos, bytes, why);
        pos += n;
    }
    if (pos != bytes)
        return ob_fail(err, OB_EFORMAT, "%s data is %zu bytes, the masks of %lld x %lld account for %zu", name, bytes,
                       (long long)rows, (long long)cols, pos);
    if (off) off[rows] = (int64_t)pos;
    return 0;
}

void ob_matrix_init_sparse(ob_matrix *m, ob_format f, int64_t rows, int64_t cols, const void *data,
                           const void *aux) {
    m->rows = rows;
    m->cols = cols;
    m->format = f;
    m->row_bytes = ob_sparse_storage(f) == OB_SPARSE_24 ? (size_t)(cols / OB_SP_COLS) * s24_chunk_bytes(ob_sparse_vt(f)) : 0;
    m->data = data;
    m->aux = aux;
    m->in_keep = m->out_keep = NULL;
    m->in_full = m->out_full = 0;
    m->ops = ob_format_get(f);
}

/* ------------------------------------------------- reference kernels */

/* The 32 dense weights of a float chunk body (pruned ones 0). */
static void body_floats(int vt, uint32_t mask, const uint8_t *b, float w[OB_SP_COLS]) {
    int i = 0;
    for (int j = 0; j < OB_SP_COLS; j++) {
        w[j] = 0;
        if (!(mask >> j & 1)) continue;
        if (vt == OB_SPV_F32) memcpy(&w[j], b + 4 * i, 4);
        else if (vt == OB_SPV_F16) w[j] = ob_f16_to_f32(ob_ld16(b + 2 * i));
        else w[j] = ob_bf16_to_f32(ob_ld16(b + 2 * i));
        i++;
    }
}

/* An integer chunk body as Q8_0 / Q4_0 decode their blocks:
 * w[j] = d * q[j] + m (a pruned weight is q = 0, resp. 8). */
static void body_ints(int vt, uint32_t mask, const uint8_t *b, int8_t q[OB_SP_COLS], float *d, float *m) {
    *d = ob_f16_to_f32(ob_ld16(b));
    *m = vt == OB_SPV_I4 ? -8.0f * *d : 0.0f;
    const uint8_t *c = b + 2;
    int i = 0;
    for (int j = 0; j < OB_SP_COLS; j++) {
        if (!(mask >> j & 1)) q[j] = vt == OB_SPV_I4 ? 8 : 0;
        else if (vt == OB_SPV_I8) q[j] = (int8_t)c[i++];
        else q[j] = (int8_t)((c[i / 2] >> (4 * (i & 1))) & 15), i++;
    }
}

static float row_dot(const ob_matrix *W, int64_t r, const void *x) {
    const int st = ob_sparse_storage(W->format), vt = ob_sparse_vt(W->format);
    ob_sp_cursor c;
    ob_sp_open(W, st, r, &c);
    float s = 0;
    while (c.left > 0) {
        int64_t col;
        const uint32_t mask = ob_sp_next(st, &c, &col);
        if (vt < OB_SPV_I8) {
            float w[OB_SP_COLS];
            body_floats(vt, mask, c.p, w);
            for (int j = 0; j < OB_SP_COLS; j++) s += w[j] * ((const float *)x)[col + j];
        } else {
            int8_t q[OB_SP_COLS];
            float d, m;
            body_ints(vt, mask, c.p, q, &d, &m);
            const ob_blk_q8a *a = (const ob_blk_q8a *)x + col / OB_SP_COLS;
            int32_t isum = 0;
            for (int j = 0; j < OB_SP_COLS; j++) isum += (int32_t)q[j] * a->qs[j];
            s += d * a->d * (float)isum + m * a->ds;
        }
        ob_sp_skip(vt, mask, &c);
    }
    return s;
}

static void sparse_matvec_ref(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) y[r] = row_dot(W, r, x);
}

static void sparse_matmul_ref(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0,
                              int64_t r1) {
    const size_t stride = W->ops->act_bytes ? W->ops->act_bytes(W->cols) : (size_t)W->cols * sizeof(float);
    for (int64_t t = 0; t < n; t++) sparse_matvec_ref(W, (const char *)X + (size_t)t * stride, Y + t * ldy, r0, r1);
}

static void sparse_dequant_row(const ob_matrix *W, int64_t r, float *out) {
    const int st = ob_sparse_storage(W->format), vt = ob_sparse_vt(W->format);
    memset(out, 0, (size_t)W->cols * sizeof *out);
    ob_sp_cursor c;
    ob_sp_open(W, st, r, &c);
    while (c.left > 0) {
        int64_t col;
        const uint32_t mask = ob_sp_next(st, &c, &col);
        if (vt < OB_SPV_I8) {
            body_floats(vt, mask, c.p, out + col);
        } else {
            int8_t q[OB_SP_COLS];
            float d, m;
            body_ints(vt, mask, c.p, q, &d, &m);
            for (int j = 0; j < OB_SP_COLS; j++) out[col + j] = d * (float)q[j] + m;
        }
        ob_sp_skip(vt, mask, &c);
    }
}

/* ------------------------------------------------------ format tables */

static size_t var_row_bytes(int64_t cols) { return 0; } /* SP, SB: rows vary; aux has the offsets */
#define S24_RB(LOWER, VT) \
    static size_t s24_rb_##LOWER(int64_t cols) { return (size_t)(cols / OB_SP_COLS) * s24_chunk_bytes(VT); }
S24_RB(f32, OB_SPV_F32)
S24_RB(f16, OB_SPV_F16)
S24_RB(i8, OB_SPV_I8)
S24_RB(i4, OB_SPV_I4)
#undef S24_RB

#ifdef OB_HAVE_X86
#define SP_SIMD(KIND, SUF) ob_sparse_##KIND##_##SUF
#else
#define SP_SIMD(KIND, SUF) sparse_##KIND##_ref
#endif
/* one format at the three levels; the SIMD entries switch on W->format.
 * quantize_row is NULL: sparse matrices are made by ob_sparse_pack. */
#define SP_LEVEL(NAME, BITS, RB, MV, MM, AB, QA) {NAME, BITS, RB, sparse_dequant_row, MV, MM, sparse_matvec_ref, \
                                                  sparse_matmul_ref, OB_SP_COLS, NULL, AB, QA}
#define SP_FMT(NAME, BITS, RB, AB, QA, QA512)                                                                    \
    {SP_LEVEL(NAME, BITS, RB, sparse_matvec_ref, sparse_matmul_ref, AB, QA),                                   \
     SP_LEVEL(NAME, BITS, RB, SP_SIMD(matvec, avx2), SP_SIMD(matmul, avx2), AB, QA),                           \
     SP_LEVEL(NAME, BITS, RB, SP_SIMD(matvec, avx512), SP_SIMD(matmul, avx512), AB, QA512)}
#define SP_FLOAT(NAME, BITS, RB) SP_FMT(NAME, BITS, RB, NULL, NULL, NULL)
#define SP_INT(NAME, BITS, RB) \
    SP_FMT(NAME, BITS, RB, ob_q8a_act_bytes, ob_q8a_quantize_act, OB_QACT_AVX512(ob_q8a_quantize_act))

/* bits_per_weight: at half the weights (SB: half the chunks) kept */
const ob_format_ops ob_sparse_ops[OB_FMT_COUNT - OB_FMT_SP_F32][3] = {
    SP_FLOAT("SP_F32", 17.0, var_row_bytes),    SP_FLOAT("SP_F16", 9.0, var_row_bytes),
    SP_FLOAT("SP_BF16", 9.0, var_row_bytes),    SP_INT("SP_I8", 5.5, var_row_bytes),
    SP_INT("SP_I4", 3.5, var_row_bytes),        SP_FLOAT("S24_F32", 17.0, s24_rb_f32),
    SP_FLOAT("S24_F16", 9.0, s24_rb_f16),       SP_FLOAT("S24_BF16", 9.0, s24_rb_f16),
    SP_INT("S24_I8", 5.5, s24_rb_i8),           SP_INT("S24_I4", 3.5, s24_rb_i4),
    SP_FLOAT("SB_F32", 16.25, var_row_bytes),   SP_FLOAT("SB_F16", 8.25, var_row_bytes),
    SP_FLOAT("SB_BF16", 8.25, var_row_bytes),   SP_INT("SB_I8", 4.5, var_row_bytes),
    SP_INT("SB_I4", 2.5, var_row_bytes),
};

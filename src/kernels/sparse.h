/* sparse.h - sparse storage of pruned weight matrices: fewer bytes stored,
 * fewer bytes read per token.
 *
 * A sparse matrix is an ob_matrix whose format is one of the fifteen
 * OB_FMT_SP_* / OB_FMT_S24_* / OB_FMT_SB_* entries of ob_format: a storage
 * (how the kept positions are recorded) times a value type (how each kept
 * weight is stored).  ob_linear and the forward pass run them like any other
 * format; the pruned weights are exactly zero.  docs/sparsity.md has the
 * same in prose with the measured speed.
 *
 * Every storage works on chunks of 32 consecutive columns of a row (cols
 * must be a multiple of 32).  One chunk of any storage is a keep mask
 * (bit j set: column 32b + j is kept; k = popcount of it) and a BODY:
 *
 *   value type   body                                     w[j] for kept j
 *   F32          k x float                                v
 *   F16 / BF16   k x uint16 (IEEE half / bfloat16)        v
 *   I8           fp16 d | k x int8 q                      d * q
 *   I4           fp16 d | ceil(k/2) bytes of 4-bit q      d * (q - 8)
 *
 * the values of the kept columns in column order.  I4 codes go two per
 * byte, LOW NIBBLE FIRST: kept value i is in byte i / 2, bits 3..0 when i is
 * even and bits 7..4 when odd (a last odd code leaves bits 7..4 zero).  This
 * is sequential, not Q4_0's "j and j + 16" order, because k varies.
 * I8 and I4 mean Q8_0 and Q4_0 per chunk: with RTN scales the codes and d
 * are bit for bit those Q8_0 / Q4_0 give the dense row with the pruned
 * weights set to zero (a pruned weight is the code 0, resp. 8, there).
 *
 * The storages (bits per weight at density p = share of weights kept, and
 * at p = 1/2 in brackets; the value bits are v = 32, 16, 16, 8, 4):
 *
 * SP_* - bitmask, any pattern (unstructured, N:M, blocks).  A chunk is
 *
 *     | mask: uint32 | body |        bits/weight: 1 + v p (+ 0.5 for I8 / I4)
 *                                    [F32 17, F16/BF16 9, I8 5.5, I4 3.5]
 *
 *   and a row is its cols / 32 chunks back to back, so rows vary in length:
 *   ob_matrix.aux holds int64_t offsets[rows + 1] (row r is data[offsets[r]
 *   .. offsets[r + 1]), offsets[0] = 0), which the masks determine, so files
 *   store only the data and ob_sparse_index rebuilds the table.
 *
 * S24_* - 2:4, exactly 2 kept of every 4 consecutive columns.  A chunk is
 *
 *     | meta: uint32 | body of k = 16 |   bits/weight: 1 + v / 2 (+ 0.5 for
 *                                         I8 / I4) [F32 17, F16 9, I8 5.5, I4 3.5]
 *
 *   fixed length, so row_bytes is fixed and there is no aux.  meta holds two
 *   2-bit column indices per group of 4 columns (NVIDIA's sparse tensor core
 *   metadata, low index in the low bits), see ob_s24_meta_mask_ref below.
 *
 * SB_* - kept blocks: whole 32-column chunks kept or dropped.  A row is
 *
 *     | n: uint16 | idx[0 .. n): uint16 | n bodies of k = 32 |
 *
 *   idx the increasing indices of the kept chunks (chunk i covers columns
 *   32 idx[i] .. +31), each body dense (mask all ones; I8 / I4 bodies hold
 *   all 32 codes, a zeroed weight is code 0, resp. 8).  bits/weight:
 *   (v + 0.5, + 0.5 more for I8 / I4) q, q = share of chunks kept, plus 16
 *   per row [q = 1/2: F32 16.25, F16 8.25, I8 4.5, I4 2.5].  Rows vary in
 *   length: aux is offsets[rows + 1] as for SP.
 *
 * The integer types take ob_blk_q8a activations (kernels/quant.h) like
 * Q8_0 and Q4_0 and compute per chunk d_w * d_x * (integer sum); the scalar
 * references give bitwise the results of Q8_0 / Q4_0's references on the
 * zeroed dense matrix, and the float ones those of F32 / F16 / BF16's.
 *
 * Files: layout, packing and the scalar references in kernels/sparse.c;
 * SIMD in kernels/x86/sparse_avx2.c and sparse_avx512.c (one body,
 * sparse_x86.h).  The AVX-512 kernels expand the kept values into their
 * dense positions with vpexpand (AVX-512 VBMI2), the AVX2 ones with a table
 * of shuffles by 8 mask bits. */
#ifndef OB_KERNELS_SPARSE_H
#define OB_KERNELS_SPARSE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/matrix.h"

enum { OB_SP_COLS = 32 };

/* storages, in the order of ob_format */
enum { OB_SPARSE_BITMASK = 0, OB_SPARSE_24 = 1, OB_SPARSE_BLOCK = 2, OB_SPARSE_STORAGES = 3 };
/* value types, in the order of ob_format */
enum { OB_SPV_F32 = 0, OB_SPV_F16, OB_SPV_BF16, OB_SPV_I8, OB_SPV_I4, OB_SPV_COUNT };

/* ------------------------------------------------------------ public API */

/* 1 if f is one of the sparse formats. */
static inline int ob_format_is_sparse(ob_format f) { return f >= OB_FMT_SP_F32 && f < OB_FMT_COUNT; }

/* The sparse format of a storage (OB_SPARSE_*) for a value format: F32,
 * F16, BF16, Q8_0 (-> I8) or Q4_0 (-> I4); (ob_format)-1 for any other. */
ob_format ob_sparse_format(ob_format value_fmt, int storage);
/* The dense format whose values a sparse format holds (F32, F16, BF16,
 * Q8_0, Q4_0); a format that is not sparse is returned as it is. */
ob_format ob_sparse_value_format(ob_format sparse);

/* Bytes of data of a rows x cols matrix in sparse format f with the keep
 * mask keep (rows * cols bytes, row-major, 1 = kept, 0 = pruned); *aux_bytes
 * (if not NULL) receives the bytes of its aux table ((rows + 1) * 8 for SP
 * and SB, 0 for S24).  S24's size does not depend on keep (which may be
 * NULL); it counts 2 of every 4 columns.  cols must be a multiple of 32
 * and f sparse (0 otherwise). */
size_t ob_sparse_size(ob_format f, const uint8_t *keep, int64_t rows, int64_t cols, size_t *aux_bytes);

/* Bytes of the aux table of a sparse matrix of rows rows (0 for S24). */
static inline size_t ob_sparse_aux_bytes(ob_format f, int64_t rows) {
    return (int)(f - OB_FMT_SP_F32) / OB_SPV_COUNT == OB_SPARSE_24 ? 0 : (size_t)(rows + 1) * sizeof(int64_t);
}

/* Packs W (rows x cols float32, row-major) with the keep mask keep into
 * the caller's data (ob_sparse_size bytes) and aux (*aux_bytes bytes; NULL
 * allowed for S24); pruned weights are dropped whatever their value.
 * Float types round each kept value to the type (F16 / BF16 round to
 * nearest even).  I8 / I4: scales NULL quantizes each chunk by RTN exactly
 * as Q8_0 / Q4_0 quantize the row with the pruned weights zeroed; otherwise
 * scales[r * (cols / 32) + b] is the fp16 scale d of chunk b of row r and
 * each kept code is round(W / d) (half away from zero), clamped to
 * [-128, 127] (I8) or to [0, 15] after adding 8 (I4), so weights on a
 * dequantized grid (GPTQ's) are reproduced exactly; d = 0 gives code 0 / 8.
 * S24 needs exactly 2 kept of every 4 columns and SB keeps a chunk whole if
 * any of its weights is kept (its pruned ones stored as zeros).  Returns 0,
 * or OB_EINVAL (cols not a multiple of 32, f not sparse, a keep mask S24
 * cannot store) with a message in err, data then undefined. */
int ob_sparse_pack(ob_format f, const float *W, const uint8_t *keep, int64_t rows, int64_t cols,
                   const uint16_t *scales, void *data, void *aux, ob_err *err);

/* Rebuilds (and checks) the aux table of sparse data of `bytes` bytes read
 * from a file: the masks / counts must account for exactly `bytes` bytes
 * of rows x cols, and S24 metadata and SB indices must be valid.  aux:
 * *aux_bytes of ob_sparse_size, NULL allowed for S24.  Returns 0 or
 * OB_EFORMAT with a one-line message naming the row (the caller prefixes
 * the file and tensor).  The masks are the only record of the layout, so a
 * corrupted mask is found when the lengths stop adding up, not always (the
 * misread lengths after an early one can add up again); data that passes
 * is safe to run (the kernels walk the same masks) if not meaningful. */
int ob_sparse_index(ob_format f, const void *data, size_t bytes, int64_t rows, int64_t cols, void *aux,
                    ob_err *err);

/* A matrix view over packed data and its aux (borrowed, not copied), with
 * the kernels of the SIMD level in force (ob_linear then runs it). */
void ob_matrix_init_sparse(ob_matrix *m, ob_format f, int64_t rows, int64_t cols, const void *data,
                           const void *aux);

/* 1 if keep (rows x cols, 1 = kept) keeps exactly 2 of every 4 columns. */
int ob_sparse_is_24(const uint8_t *keep, int64_t rows, int64_t cols);

/* The cheapest way to store rows x cols weights of value format value_fmt
 * (F32, F16, BF16, Q8_0, Q4_0) with keep mask keep: the format, sparse or
 * value_fmt itself, whose data is fewest bytes.  Ties go to the dense
 * format, then to the storage with the faster kernels for the value type:
 * S24, SB, SP for float values; SB, SP, S24 for Q8_0 / Q4_0 values (a 2:4
 * mask costs the same bytes as a bitmask, and the integer kernels are
 * faster without decoding 2:4 metadata: docs/sparsity.md has the
 * figures; --storage 2:4 forces S24).  S24 is considered when is_24 > 0, or when
 * is_24 < 0 and keep turns out to be exactly 2:4; is_24 == 0 skips it. */
ob_format ob_sparse_choose(ob_format value_fmt, const uint8_t *keep, int64_t rows, int64_t cols, int is_24);

/* ------------------------------------------- layout helpers (kernels) */

static inline int ob_sparse_storage(ob_format f) { return (int)(f - OB_FMT_SP_F32) / OB_SPV_COUNT; }
static inline int ob_sparse_vt(ob_format f) { return (int)(f - OB_FMT_SP_F32) % OB_SPV_COUNT; }

static inline uint16_t ob_ld16(const void *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static inline uint32_t ob_ld32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* bytes of a chunk body holding k kept values */
static inline size_t ob_sp_body_bytes(int vt, int k) {
    switch (vt) {
    case OB_SPV_F32: return (size_t)k * 4;
    case OB_SPV_F16: case OB_SPV_BF16: return (size_t)k * 2;
    case OB_SPV_I8: return 2 + (size_t)k;
    default: return 2 + (size_t)(k + 1) / 2;
    }
}

/* 2:4 metadata of one chunk (uint32, little-endian), a nibble per group
 * of 4 columns:
 *
 *   bit   31  28 27  24          7   4 3   2 1   0
 *        | grp 7 | grp 6 | ... | grp 1 | i1  | i0  |   <- group 0
 *
 * Group g covers columns 4g .. 4g+3 of the chunk; its two kept columns are
 * 4g + i0 and 4g + i1 with i0 < i1 (i0 in the low 2 bits), and their
 * values are the body's values 2g and 2g + 1.  A nibble with i0 >= i1 is
 * invalid (ob_sparse_index refuses it).  This is the plain decoding; the
 * kernels use ob_s24_meta_mask, a table per byte (two groups). */
static inline uint32_t ob_s24_meta_mask_ref(uint32_t meta) {
    uint32_t mask = 0;
    for (int g = 0; g < 8; g++) {
        uint32_t i0 = (meta >> (4 * g)) & 3, i1 = (meta >> (4 * g + 2)) & 3;
        mask |= (1u << i0 | 1u << i1) << (4 * g);
    }
    return mask;
}
/* keep mask of two groups (4 bits of the mask each) by metadata byte */
extern const uint8_t ob_s24_byte_mask[256];
static inline uint32_t ob_s24_meta_mask(uint32_t meta) {
    return (uint32_t)ob_s24_byte_mask[meta & 255] | (uint32_t)ob_s24_byte_mask[(meta >> 8) & 255] << 8 |
           (uint32_t)ob_s24_byte_mask[(meta >> 16) & 255] << 16 | (uint32_t)ob_s24_byte_mask[meta >> 24] << 24;
}

/* AVX2 expansion table: for 8 mask bits m, entry j is the rank of bit j
 * among the set bits of m (the index of its value among the kept ones)
 * when bit j is set, 0x80 when not (pshufb then gives zero). */
extern const uint8_t ob_sp_expand_lut[256][8];

/* row r's first byte */
static inline const uint8_t *ob_sparse_row(const ob_matrix *W, int64_t r) {
    if (W->row_bytes) return (const uint8_t *)W->data + (size_t)r * W->row_bytes;
    return (const uint8_t *)W->data + ((const int64_t *)W->aux)[r];
}
/* one past the data's last byte */
static inline const uint8_t *ob_sparse_end(const ob_matrix *W) {
    return (const uint8_t *)W->data + ob_matrix_bytes(W);
}

/* Walking a row chunk by chunk (every kernel does it the same way). */
typedef struct {
    const uint8_t *p;   /* SP / S24: the next chunk's mask word; SB: its body */
    const uint8_t *idx; /* SB: the next kept chunk's index                    */
    int64_t left;       /* chunks left in the row                             */
    int64_t col;        /* SP / S24: the next chunk's first column            */
} ob_sp_cursor;

static inline void ob_sp_open(const ob_matrix *W, int st, int64_t r, ob_sp_cursor *c) {
    const uint8_t *row = ob_sparse_row(W, r);
    c->col = 0;
    if (st == OB_SPARSE_BLOCK) {
        c->left = ob_ld16(row);
        c->idx = row + 2;
        c->p = row + 2 + 2 * (size_t)c->left;
    } else {
        c->left = W->cols / OB_SP_COLS;
        c->idx = NULL;
        c->p = row;
    }
}

/* The next chunk's mask word as stored (SP: keep mask, S24: 2:4
 * metadata, SB: all ones); *col its first column.  c->p is left at the
 * chunk's body: the caller reads it, then calls ob_sp_skip. */
static inline uint32_t ob_sp_next_word(int st, ob_sp_cursor *c, int64_t *col) {
    uint32_t word;
    c->left--;
    if (st == OB_SPARSE_BLOCK) {
        *col = (int64_t)ob_ld16(c->idx) * OB_SP_COLS;
        c->idx += 2;
        return 0xffffffffu;
    }
    word = ob_ld32(c->p);
    c->p += 4;
    *col = c->col;
    c->col += OB_SP_COLS;
    return word;
}
/* the same, with S24's metadata turned into its keep mask */
static inline uint32_t ob_sp_next(int st, ob_sp_cursor *c, int64_t *col) {
    const uint32_t word = ob_sp_next_word(st, c, col);
    return st == OB_SPARSE_24 ? ob_s24_meta_mask(word) : word;
}

static inline void ob_sp_skip(int vt, uint32_t mask, ob_sp_cursor *c) {
    c->p += ob_sp_body_bytes(vt, __builtin_popcount(mask));
}

/* ----------------------------------------------------------- kernels */

/* ops of the sparse formats at the scalar, AVX2 and AVX-512 levels, by
 * f - OB_FMT_SP_F32 (dispatch.c picks; AVX-512 needs VNNI and VBMI2) */
extern const ob_format_ops ob_sparse_ops[OB_FMT_COUNT - OB_FMT_SP_F32][3];

#ifdef OB_HAVE_X86
#define OB_DECLARE_SPARSE_SIMD(SUF)                                                           \
    void ob_sparse_matvec_##SUF(const ob_matrix *W, const void *x, float *y, int64_t r0,      \
                                int64_t r1);                                                  \
    void ob_sparse_matmul_##SUF(const ob_matrix *W, const void *X, int64_t n, float *Y,       \
                                int64_t ldy, int64_t r0, int64_t r1);
OB_DECLARE_SPARSE_SIMD(avx2)
OB_DECLARE_SPARSE_SIMD(avx512)
#undef OB_DECLARE_SPARSE_SIMD
#endif

#endif

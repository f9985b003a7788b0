/*
 * matrix.h - a weight matrix that knows its own format.
 *
 * Every linear weight in a model is an ob_matrix of shape (rows, cols):
 * y[rows] = W[rows x cols] . x[cols], stored row by row in its format.
 * The forward pass calls ob_linear() and never asks which format it holds.
 *
 * A format is one table of functions (ob_format_ops): a scalar reference
 * for each operation plus the fastest version this CPU supports, picked once
 * in ob_format_get() (kernels/dispatch.c).  Adding a format is one file and
 * one entry there.
 */
#ifndef OB_KERNELS_MATRIX_H
#define OB_KERNELS_MATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "optibench.h"

/* The dense formats come first (OB_FMT_DENSE_COUNT of them); the quantized
 * ones are described in kernels/quant.h and docs/quantization.md. */
typedef enum {
    OB_FMT_F32 = 0,
    OB_FMT_F16 = 1,
    OB_FMT_BF16 = 2,
    OB_FMT_Q8_0,     /* llama.cpp Q8_0                                      */
    OB_FMT_Q4_0,     /* llama.cpp Q4_0                                      */
    OB_FMT_Q4_1,     /* llama.cpp Q4_1                                      */
    OB_FMT_I4_G32,   /* int4, scale + zero point per group of 32            */
    OB_FMT_I4_G64,
    OB_FMT_I4_G128,
    OB_FMT_I4_ROW,   /* int4, one scale + zero point per row (per channel)  */
    OB_FMT_I8_G32,   /* int8, scale + zero point per group                  */
    OB_FMT_I8_G64,
    OB_FMT_I8_G128,
    OB_FMT_I8_ROW,
    OB_FMT_NF4,      /* bitsandbytes NF4, absmax per 64                     */
    OB_FMT_NF4_DQ,   /* NF4 with the absmax values quantized to 8 bits      */
    OB_FMT_MXFP4,    /* OCP MX FP4: E2M1 x 32 + one E8M0 exponent           */
    OB_FMT_W8A8,     /* int8 per output row, activations int8 per token     */
    /* Sparse storage of pruned weights (kernels/sparse.h, docs/sparsity.md):
     * storage bitmask (SP), 2:4 (S24) or kept 32-column blocks (SB), each
     * with values F32, F16, BF16, I8 (Q8_0's) or I4 (Q4_0's), in this order. */
    OB_FMT_SP_F32, OB_FMT_SP_F16, OB_FMT_SP_BF16, OB_FMT_SP_I8, OB_FMT_SP_I4,
    OB_FMT_S24_F32, OB_FMT_S24_F16, OB_FMT_S24_BF16, OB_FMT_S24_I8, OB_FMT_S24_I4,
    OB_FMT_SB_F32, OB_FMT_SB_F16, OB_FMT_SB_BF16, OB_FMT_SB_I8, OB_FMT_SB_I4,
    OB_FMT_COUNT
} ob_format;
enum { OB_FMT_DENSE_COUNT = 3 };

typedef struct ob_format_ops ob_format_ops;

typedef struct ob_matrix {
    int64_t rows, cols;   /* output and input features                    */
    ob_format format;
    const ob_format_ops *ops; /* kernels for format, set by ob_matrix_init */
    int x16;              /* 1: rows in the x16 layout (kernels/x16.h),
                           * made for inference only; 0: the format's own */
    size_t row_bytes;     /* bytes of one stored row; 0 when rows vary in
                           * length (sparse SP_* / SB_*: see aux)         */
    const void *data;     /* rows * row_bytes bytes, row-major; borrowed  */
    const void *aux;      /* format-specific side data (NULL for dense);
                           * SP_* / SB_*: int64_t offsets[rows + 1], the
                           * byte offset of each row in data, offsets[rows]
                           * = bytes of data (kernels/sparse.h); borrowed */
    /* Index maps left by structured (channel) pruning; NULL in an ordinary
     * matrix.  rows and cols above are always what is STORED (the kernels
     * and dequant_row see only that); the maps say where it sits in the
     * logical (out_full x in_full) matrix the rest of the model sees:
     *   in_keep  [cols], strictly increasing, in [0, in_full): stored
     *            column c multiplies logical input in_keep[c]; the other
     *            inputs are ignored (their weights were removed);
     *   out_keep [rows], strictly increasing, in [0, out_full): stored row
     *            r produces logical output out_keep[r]; the other outputs
     *            are zero.
     * The arrays are borrowed (model-owned, like data). */
    const int32_t *in_keep, *out_keep;
    int64_t in_full, out_full;
} ob_matrix;

/* The logical widths callers see: X has in_dim floats per token, Y gets
 * out_dim (rows/cols when there are no maps). */
static inline int64_t ob_matrix_in_dim(const ob_matrix *m) { return m->in_keep ? m->in_full : m->cols; }
static inline int64_t ob_matrix_out_dim(const ob_matrix *m) { return m->out_keep ? m->out_full : m->rows; }
static inline int ob_matrix_has_maps(const ob_matrix *m) { return m->in_keep || m->out_keep; }
/* Gives dst (a converted copy of src, same stored shape) src's maps. */
static inline void ob_matrix_copy_maps(ob_matrix *dst, const ob_matrix *src) {
    dst->in_keep = src->in_keep, dst->in_full = src->in_full;
    dst->out_keep = src->out_keep, dst->out_full = src->out_full;
}

/* Kernels work on a row range [r0, r1) so that the caller can split rows
 * across threads.  X and Y are row-major activations:
 *   matvec: y[r]        = sum_c W[r,c] * x[c]                for r in [r0,r1)
 *   matmul: Y[t*ldy + r] = sum_c W[r,c] * X[t*cols + c]      for t < n, r in [r0,r1)
 * Accumulation is in float32.  x / X are the activations in the form the
 * format takes: float32 (cols per token) when ops->act_bytes is NULL,
 * otherwise act_bytes(cols) bytes per token made by ops->quantize_act
 * (integer dot products; ob_linear does this once per call). */
typedef void (*ob_matvec_fn)(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1);
typedef void (*ob_matmul_fn)(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy,
                             int64_t r0, int64_t r1);
typedef void (*ob_quantize_row_fn)(const float *x, int64_t cols, void *row);
typedef size_t (*ob_act_bytes_fn)(int64_t cols);
typedef void (*ob_dequant_row_fn)(const ob_matrix *W, int64_t r, float *out /* [cols] */);

struct ob_format_ops {
    const char *name;
    double bits_per_weight;
    size_t (*row_bytes)(int64_t cols);
    ob_dequant_row_fn dequant_row;
    ob_matvec_fn matvec;        /* best for this CPU */
    ob_matmul_fn matmul;        /* best for this CPU */
    ob_matvec_fn matvec_ref;    /* scalar reference  */
    ob_matmul_fn matmul_ref;    /* scalar reference  */
    int64_t col_block;          /* cols must be a multiple of this          */
    ob_quantize_row_fn quantize_row; /* cols floats -> one stored row (RTN) */
    ob_act_bytes_fn act_bytes;  /* bytes of one token's activations; NULL: float32 */
    ob_quantize_row_fn quantize_act; /* cols floats -> act_bytes(cols) bytes */
};

/* The ops of fmt at the SIMD level in force (ob_cpu_simd()). */
const ob_format_ops *ob_format_get(ob_format fmt);
/* The ops of fmt at a given level (never above what the CPU supports);
 * tests use this to compare every path with the reference. */
const ob_format_ops *ob_format_get_at(ob_format fmt, ob_simd level);
const char *ob_format_name(ob_format fmt);
/* The format named name ("q4_0", "Q4_0", "nf4", ...; case ignored), or -1. */
int ob_format_from_name(const char *name);

/* Scratch memory for ob_linear: formats with integer dot products quantize
 * the activations into it, once per call, before the threads start.  The
 * caller owns it (the inference context carves it out of its one
 * allocation); ob_linear never allocates.  NULL / 0 is fine for models
 * whose matrices all take float32 activations. */
typedef struct ob_workspace {
    void *data;
    size_t size;
} ob_workspace;

/* Bytes of workspace that ob_linear and ob_linear_multi need for n tokens of
 * cols (logical) inputs, whatever the formats of the matrices and their
 * maps (one region per kind of quantized activations, all live at once,
 * plus one where a matrix with in_keep gathers its kept inputs). */
size_t ob_linear_ws_bytes(int64_t cols, int64_t n);

/* Y[n x out_dim] = X[n x in_dim] . W^T, rows split across the pool's
 * threads.  n == 1 uses matvec, n > 1 matmul.  ws must hold
 * ob_linear_ws_bytes(in_dim, 1) bytes at least; with less than
 * ob_linear_ws_bytes(in_dim, n) the tokens are processed in chunks that
 * fit.  With less than one token's worth (a caller bug) Y is filled with
 * NaN rather than computed wrong.  A matrix with maps gathers X's kept
 * columns into ws first (so it needs ws even in a float format), runs the
 * stored matrix, and spreads its rows to their outputs with zeros between;
 * without maps nothing of that runs. */
void ob_linear(ob_pool *pool, const ob_matrix *W, const float *X, int64_t n, float *Y,
               const ob_workspace *ws);

/* Several products of the same input, Ys[k] = X . Ws[k]^T, in one dispatch
 * of the pool (decode's q/k/v and gate/up: fewer hand-offs per token).
 * Matrices that take the same kind of quantized activations share one
 * quantization of X.  Results are the same as separate ob_linear calls. */
void ob_linear_multi(ob_pool *pool, const ob_matrix *const *Ws, int n_mats, const float *X, int64_t n,
                     float *const *Ys, const ob_workspace *ws);

/* Fills a matrix view over existing data (no copy, no maps) and picks its
 * kernels for the SIMD level in force.  For a quantized fmt, cols must be a
 * multiple of the format's col_block (callers check with
 * ob_format_get(fmt)->col_block).  Sparse matrices are made with
 * ob_matrix_init_sparse (kernels/sparse.h) instead. */
void ob_matrix_init(ob_matrix *m, ob_format fmt, int64_t rows, int64_t cols, const void *data);
/* Bytes of the matrix's data (for sparse formats with a row-offset table:
 * offsets[rows], the table itself not counted). */
size_t ob_matrix_bytes(const ob_matrix *m);

/* Half-precision conversions (scalar, exact round-to-nearest-even). */
float ob_f16_to_f32(uint16_t h);
uint16_t ob_f32_to_f16(float f);
float ob_bf16_to_f32(uint16_t h);
uint16_t ob_f32_to_bf16(float f);

#endif

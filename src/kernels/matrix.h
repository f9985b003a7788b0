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

typedef enum {
    OB_FMT_F32 = 0,
    OB_FMT_F16 = 1,
    OB_FMT_BF16 = 2,
    OB_FMT_COUNT
} ob_format;

typedef struct ob_format_ops ob_format_ops;

typedef struct ob_matrix {
    int64_t rows, cols;   /* output and input features                    */
    ob_format format;
    const ob_format_ops *ops; /* kernels for format, set by ob_matrix_init */
    size_t row_bytes;     /* bytes of one stored row                      */
    const void *data;     /* rows * row_bytes bytes, row-major; borrowed  */
    const void *aux;      /* format-specific side data (NULL for dense)   */
} ob_matrix;

/* Kernels work on a row range [r0, r1) so that the caller can split rows
 * across threads.  X and Y are row-major activations:
 *   matvec: y[r]        = sum_c W[r,c] * x[c]                for r in [r0,r1)
 *   matmul: Y[t*ldy + r] = sum_c W[r,c] * X[t*cols + c]      for t < n, r in [r0,r1)
 * Accumulation is in float32. */
typedef void (*ob_matvec_fn)(const ob_matrix *W, const float *x, float *y, int64_t r0, int64_t r1);
typedef void (*ob_matmul_fn)(const ob_matrix *W, const float *X, int64_t n, float *Y, int64_t ldy,
                             int64_t r0, int64_t r1);
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
};

/* The ops of fmt at the SIMD level in force (ob_cpu_simd()). */
const ob_format_ops *ob_format_get(ob_format fmt);
/* The ops of fmt at a given level (never above what the CPU supports);
 * tests use this to compare every path with the reference. */
const ob_format_ops *ob_format_get_at(ob_format fmt, ob_simd level);
const char *ob_format_name(ob_format fmt);

/* Y[n x rows] = X[n x cols] . W^T, rows split across the pool's threads.
 * n == 1 uses matvec, n > 1 matmul. */
void ob_linear(ob_pool *pool, const ob_matrix *W, const float *X, int64_t n, float *Y);

/* Several products of the same input, Ys[k] = X . Ws[k]^T, in one dispatch
 * of the pool (decode's q/k/v and gate/up: fewer hand-offs per token).
 * Results are the same as separate ob_linear calls. */
void ob_linear_multi(ob_pool *pool, const ob_matrix *const *Ws, int n_mats, const float *X, int64_t n,
                     float *const *Ys);

/* Fills a matrix view over existing data (no copy) and picks its kernels
 * for the SIMD level in force. */
void ob_matrix_init(ob_matrix *m, ob_format fmt, int64_t rows, int64_t cols, const void *data);
size_t ob_matrix_bytes(const ob_matrix *m);

/* Half-precision conversions (scalar, exact round-to-nearest-even). */
float ob_f16_to_f32(uint16_t h);
uint16_t ob_f32_to_f16(float f);
float ob_bf16_to_f32(uint16_t h);
uint16_t ob_f32_to_bf16(float f);

#endif

/* gptq.h - GPTQ (Frantar et al., "GPTQ: Accurate Post-Training
 * Quantization for Generative Pre-trained Transformers", 2022) for one
 * linear layer, as the authors' reference (IST-DASLab/gptq, gptq.py
 * fasterquant) computes it.
 *
 * For W [rows x cols] (rows = output features) whose inputs x were seen
 * in calibration, the Hessian of the layer-output error is
 *
 *     H = 2/N * sum_t x_t x_t^T            [cols x cols], N = tokens seen
 *
 * GPTQ quantizes W column by column (in blocks of 128) and, after each
 * column, spreads its rounding error over the columns not yet quantized
 * through the upper Cholesky factor of H^-1, so the product W x changes as
 * little as the calibration inputs allow:
 *
 *   dead = diag(H) == 0: H[d,d] = 1, W[:,d] = 0
 *   act_order: permute columns by decreasing diag(H)
 *   H += damp * mean(diag(H)) * I             (damp 0.01 by default)
 *   U = chol(H^-1, upper)                     (H^-1 = U^T U)
 *   for each block [i1, i2):
 *     for i in block:
 *       at a group start: scale, zero from W[:, i : i+group] (quantizer.h)
 *       q = quant(W[:, i]);  err = (W[:, i] - q) / U[i,i]
 *       W[:, i+1:i2] -= err * U[i, i+1:i2]
 *     W[:, i2:] -= Err_block * U[i1:i2, i2:]  (the lazy batch update)
 *
 * If the Cholesky factorization fails, damp is multiplied by 10 and it is
 * tried again (up to 1.0 x the mean diagonal); the damp used is reported.
 * Dense linear algebra goes through LAPACKE (dpotrf, dpotri) and CBLAS.
 */
#ifndef OB_COMPRESS_GPTQ_H
#define OB_COMPRESS_GPTQ_H

#include <stdint.h>

#include "compress/prune.h"
#include "compress/quantizer.h"
#include "optibench.h"

/* A running Hessian estimate H = 2/N sum x x^T over the inputs of one
 * layer (sums in float64, row-major, cols x cols; each chunk of 2048 rows
 * multiplied in float32).  Owned by the caller. */
typedef struct ob_hessian {
    int64_t cols;
    int64_t n;   /* tokens accumulated */
    double *h;   /* [cols x cols]      */
    /* The upper Cholesky factor of the damped H^-1 that ob_gptq_quantize
     * computed last, kept for the next linear layer with the same inputs
     * (q, k, v; gate, up), and for which damp and column order; dropped by
     * ob_hessian_add and ob_hessian_free. */
    float *inv;
    double inv_damp_asked, inv_damp;
    int inv_raised, inv_act_order;
} ob_hessian;

int ob_hessian_init(ob_hessian *H, int64_t cols, ob_err *err);
void ob_hessian_free(ob_hessian *H);
/* Adds the rows of X [n x cols] (float32, row-major). */
int ob_hessian_add(ob_hessian *H, const float *X, int64_t n, ob_err *err);

typedef struct ob_gptq_params {
    ob_qspec q;        /* bits, group size, symmetric                      */
    double damp;       /* fraction of the mean diagonal; default 0.01      */
    int block;         /* lazy-update block; default 128                   */
    int act_order;     /* quantize columns in order of decreasing diag(H)  */
    /* Pruning on the way (compress/prune.h; act_order must be off):
     *  keep: a fixed mask [rows x cols], 1 = kept; the others become exactly
     *        0 (their error compensated like a rounding error), so GPTQ
     *        after pruning leaves the zeros where they are;
     *  prune: SparseGPT: the mask is chosen as the columns are visited, by
     *        the pattern and sparsity, from W^2 / U_jj^2 (per block of
     *        `block` columns; N:M per group of M at its first column);
     *  no_quant: prune only (the kept weights get the updates, no grid). */
    const uint8_t *keep;
    const ob_pattern *prune;
    double sparsity;
    int no_quant;
} ob_gptq_params;

ob_gptq_params ob_gptq_default_params(void); /* 4 bits, group 128, asym */

typedef struct ob_gptq_result {
    /* per weight, original column order: the integer and its value */
    uint8_t *qint;     /* [rows x cols]                                     */
    float *wq;         /* [rows x cols] scale * (q - zero)                  */
    /* per group g (in the order groups were formed): scale and zero of
     * each row; column c belongs to group g_idx[c] */
    float *scales;     /* [rows x n_groups]                                 */
    float *zeros;      /* [rows x n_groups]                                 */
    int32_t *g_idx;    /* [cols]                                            */
    int32_t *perm;     /* [cols] quantization order (identity without
                          act_order)                                        */
    int64_t n_groups;
    double damp_used;  /* the damp that factorized (>= params.damp)         */
    int damp_raised;   /* how many times it had to be raised                */
    double loss;       /* GPTQ's own sum of (w - q)^2 / U[i,i]^2 / 2        */
    int n_dead;        /* input columns never active in calibration         */
    uint8_t *keep;     /* [rows x cols] the mask, when pruning; else NULL   */
} ob_gptq_result;

/* Quantizes (and/or prunes, see above) W [rows x cols] (float32, row-major; not modified) with the
 * Hessian H (whose factor cache it fills or reuses).  With a group size that does not divide cols the last group
 * is shorter (as the reference, whose group slices stop at the end).  All result
 * arrays are malloc'd; release them with ob_gptq_result_free. */
int ob_gptq_quantize(const float *W, int64_t rows, int64_t cols, ob_hessian *H, const ob_gptq_params *p,
                     ob_gptq_result *res, ob_err *err);
void ob_gptq_result_free(ob_gptq_result *res);

/* The layer-output error the methods minimise:
 * sum over the calibration rows x_t of ||(W - Wq) x_t||^2 / N, computed
 * from H as trace((W - Wq) H (W - Wq)^T) / 2 (products in float32). */
double ob_gptq_output_error(const float *W, const float *Wq, int64_t rows, int64_t cols, const ob_hessian *H);

#endif

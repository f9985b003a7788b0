/* awq.h - AWQ's activation-aware scale search (Lin et al., "AWQ:
 * Activation-aware Weight Quantization for LLM Compression and
 * Acceleration", 2023), as the authors' llm-awq auto_scale computes it.
 *
 * Some input channels of a linear layer carry much larger activations than
 * others; their weights matter more.  AWQ scales those weight columns up
 * before rounding (so they lose less) and divides the activations by the
 * same factors (folded into the operation before: an RMSNorm's weight or
 * the previous linear's output rows), which leaves the float product
 * unchanged:  W x = (W diag(s)) (diag(s)^-1 x).
 *
 * For linears W_k [rows_k x cols] that read the same input X [n x cols]:
 *
 *     x_mean[c] = mean_t |X[t, c]|
 *     for ratio = 0, 1/n_grid, ..., (n_grid - 1)/n_grid:
 *         s = max(x_mean ^ ratio, 1e-4);  s = s / sqrt(max(s) * min(s))
 *         W'_k = Q(W_k diag(s)) diag(s)^-1        (Q: group-wise RTN)
 *         loss = mean over t, k, rows of (W_k x_t - W'_k x_t)^2
 *     keep the s of the smallest loss.
 *
 * ratio 0 gives s = 1, plain round-to-nearest, so the loss found is never
 * above RTN's.  (llm-awq measures the loss at the output of the whole
 * attention or MLP block for the linears that share the block's input; here
 * it is the linears' own outputs, which needs no block forward pass.)
 */
#ifndef OB_COMPRESS_AWQ_H
#define OB_COMPRESS_AWQ_H

#include <stdint.h>

#include "compress/quantizer.h"
#include "optibench.h"

typedef struct ob_awq_params {
    ob_qspec q;     /* default 4 bits, group 128, asymmetric  */
    int n_grid;     /* default 20                             */
    /* Q(W) in place, rows x cols; NULL: round-to-nearest on q's grid
     * (quantizer.h).  Lets the search model the format really used. */
    void (*fake_quant)(void *user, float *W, int64_t rows, int64_t cols);
    void *fq_user;
} ob_awq_params;

ob_awq_params ob_awq_default_params(void);

typedef struct ob_awq_stats {
    double ratio;      /* the best exponent                       */
    double loss;       /* its output MSE                          */
    double loss_rtn;   /* the output MSE of plain RTN (ratio 0)   */
} ob_awq_stats;

/* Writes the best scales into scales[0..cols).  Ws[k] are row-major
 * float32 [rows[k] x cols], not modified. */
int ob_awq_search(const float *X, int64_t n, int64_t cols, const float *const *Ws, const int64_t *rows, int n_w,
                  const ob_awq_params *p, float *scales, ob_awq_stats *st, ob_err *err);

#endif

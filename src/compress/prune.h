/* prune.h - unstructured, N:M and block pruning of a model's linear layers
 * with magnitude, Wanda or SparseGPT, optionally quantized on the way
 * (structured pruning that shrinks shapes is compress/structured.h).
 *
 * Methods (each at a target sparsity s, layer by layer in order; the
 * calibrated ones see the partly pruned model's own activations, through
 * compress/layerwise.h):
 *   magnitude  score |W_ij|; the s fraction with the lowest scores of each
 *              matrix (per_layer) or of all linear layers together (global)
 *              is removed.
 *   wanda      Sun et al. 2023: score |W_ij| * ||X_j||_2 over the
 *              calibration inputs X of the layer; compared within each
 *              output row (every row loses the same count).
 *   sparsegpt  Frantar & Alistarh 2023: in blocks of 128 columns, score
 *              W_ij^2 / U_jj^2 (U the upper Cholesky factor of the damped
 *              H^-1, H = 2/N sum x x^T as in GPTQ), remove the s fraction
 *              of the block with the lowest scores, and after each column
 *              move its error onto the columns not yet visited (OBS), so
 *              the kept weights absorb what the pruned ones did.
 *
 * Patterns:
 *   unstructured      any weights
 *   N:M               exactly N kept in every group of M consecutive input
 *                     columns of a row (2:4, 4:8); the sparsity is 1 - N/M
 *   block BH x BW     blocks of BH rows by BW input columns, scored by the
 *                     L2 norm of their weights' scores (1 x B or B x B)
 *
 * Quantization together with pruning (quant_bits 4 or 8): the kept weights
 * go onto a symmetric integer grid, group of quant_group columns (scale
 * per group, zero point in the middle, so 0 is exact).  With sparsegpt the
 * two are joint (SparseGPT's own joint mode: each column is pruned and
 * quantized before its error moves on); with magnitude and wanda the mask
 * comes first and GPTQ then quantizes with the mask held fixed (pruned
 * weights forced to exactly 0, their error compensated like any other).
 * Both need calibration data.
 *
 * The pruned weights stay dense float32 (zeros in place) in the model;
 * compress/sparsify.h stores them sparse.  The keep masks are returned. */
#ifndef OB_COMPRESS_PRUNE_H
#define OB_COMPRESS_PRUNE_H

#include <stdint.h>

#include "optibench.h"

typedef enum { OB_PRUNE_MAGNITUDE = 0, OB_PRUNE_WANDA = 1, OB_PRUNE_SPARSEGPT = 2 } ob_prune_method;
typedef enum { OB_PAT_UNSTRUCTURED = 0, OB_PAT_NM = 1, OB_PAT_BLOCK = 2 } ob_pattern_kind;

typedef struct ob_pattern {
    ob_pattern_kind kind;
    int n, m;     /* N:M: keep n of every m                              */
    int bh, bw;   /* block: rows x input columns                         */
} ob_pattern;

typedef struct ob_prune_params {
    ob_prune_method method;
    ob_pattern pattern;
    double sparsity;     /* fraction removed, [0, 1); N:M: ignored (1-N/M) */
    int global;          /* magnitude: one threshold over every layer      */
    double damp;         /* sparsegpt / GPTQ: default 0.01                 */
    int block;           /* sparsegpt: columns per block, default 128      */
    int quant_bits;      /* 0: none; 4 or 8 (see above)                    */
    int quant_group;     /* columns per quantization group (multiple of 32) */
    int measure;         /* with calibration: also report each tensor's
                            layer-output error (magnitude too)             */
    int batch_tokens;    /* tokens per layer call; default 2048            */
    void (*progress)(void *user, int layer, int n_layers, double elapsed);
    void *progress_user;
} ob_prune_params;

ob_prune_params ob_prune_default_params(void);

/* Parses "unstructured", "N:M", "block:BHxBW" or "block:B" (1 x B) into
 * *p; OB_EINVAL with a message for anything else (N > M, zero sizes, ...). */
int ob_pattern_parse(const char *s, ob_pattern *p, ob_err *err);
/* "unstructured", "2:4", "block:4x4" */
void ob_pattern_name(const ob_pattern *p, char *buf, int size);

typedef struct ob_prune_tensor {
    char name[48];        /* llama.cpp's name, "blk.3.ffn_up.weight"       */
    int64_t rows, cols;
    int64_t n_pruned;     /* weights removed by the mask                   */
    uint8_t *keep;        /* [rows x cols], 1 = kept; owned by the report  */
    /* with quantization: the symmetric grid's scale of each row's groups
     * of quant_group columns, [rows x cols / quant_group] (the zero point is
     * 2^(bits-1)); owned by the report; NULL otherwise */
    float *scales;
    /* with calibration and measure: trace(dW H dW^T)/2 / rows_out..., the
     * layer-output error on the calibration inputs (gptq.h's measure) of
     * the final weights; NAN otherwise */
    double err;
} ob_prune_tensor;

typedef struct ob_prune_report {
    int n_tensors;
    ob_prune_tensor *tensors;  /* owned; ob_prune_report_free             */
    int64_t n_weights, n_pruned;  /* over the pruned linear layers        */
    double seconds;
    int64_t tokens;            /* calibration tokens (0 without)          */
} ob_prune_report;

void ob_prune_report_free(ob_prune_report *r);

/* Checks p against the model before any work: sparsity in [0, 1), an N:M
 * with 0 < N <= M, block sizes that divide every pruned matrix's rows and
 * columns, quantization settings, and that calibration is there when the
 * method (or quantization) needs it (n_calib = number of sequences). */
int ob_prune_check(const ob_model *m, const ob_prune_params *p, int n_calib, ob_err *err);

/* Prunes the linear layers of every transformer layer (attention q, k, v,
 * o; FFN gate, up, down) in place.  Their matrices become model-owned
 * float32 (any input format is read through its dequantization).  calib:
 * n_samples x seqlen token ids, or NULL / 0 for magnitude without
 * measuring. */
int ob_model_prune(ob_model *m, ob_pool *pool, const int32_t *calib, int n_samples, int seqlen,
                   const ob_prune_params *p, ob_prune_report *rep, ob_err *err);

/* ---- building blocks, public for the tests ---- */

/* keep[rows x cols] from scores (higher = more important) by the pattern.
 * Unstructured: exactly floor(s * cols) removed per row when per_row,
 * else floor(s * rows * cols) from the whole matrix (ties go by position).
 * N:M: per row and group, the N highest kept.  Block: block scores are the
 * L2 norm of the scores inside; floor(s * blocks) removed per block-row
 * (per_row) or from the matrix. */
int ob_prune_select(const float *score, int64_t rows, int64_t cols, const ob_pattern *pat, double sparsity,
                    int per_row, uint8_t *keep, ob_err *err);

/* The 0-based k-th smallest of non-negative floats spread over n_arrays
 * arrays, by radix selection on their bit patterns: its value, and how many
 * are strictly below it.  k < total count. */
float ob_kth_smallest(const float *const *arrays, const int64_t *lens, int n_arrays, int64_t k, int64_t *n_below);

#endif

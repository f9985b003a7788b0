/* structured.h - structured pruning that makes the model physically smaller.
 *
 * Units are scored by the L1 norm of their weights, as
 * torch.nn.utils.prune.ln_structured(n=1) does; with calibration
 * activation norms (act_norm below) each weight W[i,j] counts
 * |W[i,j]| * ||X_j||, the structured form of Wanda's score.  The lowest
 * scoring units are removed (ties: the lower index goes first), and the
 * matrices are rebuilt without them in model-owned buffers, in the format
 * they had (F32, F16 or BF16: values are copied, never rounded).
 *
 * Kinds (every layer loses the same number of units, so the result is an
 * ordinary smaller model that config.json describes exactly):
 *   FFN           FFN neurons: neuron i is gate row i, up row i and down
 *                 column i; its score is the sum of the three.  The layer's
 *                 ffn_dim shrinks.
 *   HEADS         attention heads.  With grouped-query attention (group
 *                 g = n_heads / n_kv_heads > 1) the same number of query
 *                 heads leaves every kv group (q rows and o columns of the
 *                 head; score: those weights); k and v stay.  With MHA
 *                 (g = 1) whole heads go: q, k, v rows and o columns
 *                 (score: all four), and n_kv_heads shrinks with n_heads.
 *                 head_dim is kept, so RoPE (HF half-split order inside a
 *                 head) is unaffected.
 *   FFN_HEADS     both of the above; the sparsity is the share of the
 *                 layer's linear weights (q k v o gate up down) removed:
 *                 heads as HEADS counts them, FFN neurons the rest.
 *   CHANNELS_OUT  every linear layer of every block (q k v o gate up down)
 *                 loses its lowest output rows (ln_structured dim=0); the
 *                 matrix keeps only the kept rows plus an out_keep map and
 *                 its removed outputs read as zero (kernels/matrix.h).
 *   CHANNELS_IN   the same for input columns (dim=1), with an in_keep map.
 *
 * Counts (round() is round-half-to-even, as Python's round in torch):
 *   FFN       kept = round((1 - s) * ffn_dim / M) * M with M = multiple
 *             (default 32 here, so down's input stays a whole number of
 *             the quantized formats' 32-wide blocks).
 *   HEADS     removed per group = round(s * g) (GQA) or round(s * n_heads)
 *             (MHA).
 *   FFN_HEADS heads as HEADS; then FFN neurons removed = round(r / M) * M,
 *             r = (s * P - H) / (3 * dim), where P counts the layer's q k v
 *             o gate up down weights and H the weights the heads took, so
 *             the layer loses a share s of its weights up to one unit of
 *             M neurons (heads round to whole heads per group, which alone
 *             would miss s).
 *   CHANNELS  of the n rows or columns, removed = round(s * n), exactly as
 *             torch does (multiple default 1); with multiple M > 1, kept =
 *             round((1 - s) * n / M) * M, so the matrices can be quantized.
 *   A width that is not itself a multiple of M is rounded as with M = 1.
 * The report gives what was achieved.
 *
 * Refused before anything changes (OB_EINVAL / OB_EUNSUP, one line): a
 * sparsity outside [0, 1); a count that removes every unit (all neurons,
 * all heads, all g heads of a kv group, all rows or columns); a matrix that
 * is quantized (prune before quantizing) or already has index maps; a
 * non-llama architecture (GPT-2, BioGPT: their biases and fused layouts are
 * not handled) or a llama model with biases (Qwen2's q/k/v bias).
 */
#ifndef OB_COMPRESS_STRUCTURED_H
#define OB_COMPRESS_STRUCTURED_H

#include <stdint.h>

#include "model/context.h"
#include "optibench.h"

typedef enum {
    OB_STRUCT_FFN = 0,
    OB_STRUCT_HEADS = 1,
    OB_STRUCT_FFN_HEADS = 2,
    OB_STRUCT_CHANNELS_OUT = 3,
    OB_STRUCT_CHANNELS_IN = 4,
} ob_struct_kind;

typedef struct ob_struct_params {
    ob_struct_kind kind;
    double sparsity;      /* fraction of units to remove, in [0, 1); for
                             FFN_HEADS of the layer's linear weights    */
    int multiple;         /* kept counts a multiple of this (0: 32 for FFN,
                             1 for channels; see Counts above)              */
    /* Optional calibration (NULL: plain L1).  act_norm[l * OB_N_SITES + site]
     * is layer l's per-input-channel L2 norm ||X_j|| over the calibration
     * tokens at input site `site` (model/context.h): QKV and GATE_UP dim
     * floats, O n_heads*head_dim, DOWN ffn_dim, each as wide as the layer
     * before pruning; a NULL entry means plain L1 for that site.  Borrowed
     * for the call.  ob_struct_act_norms computes them. */
    const float *const *act_norm;
} ob_struct_params;

ob_struct_params ob_struct_default_params(void);

/* One changed matrix.  Shapes are logical (out x in) before and stored
 * after; sparsity = 1 - stored elements after / elements before. */
typedef struct ob_struct_tensor {
    char name[48];        /* llama.cpp's name: blk.N.ffn_up, ...             */
    int64_t rows_before, cols_before, rows_after, cols_after;
    double sparsity;
} ob_struct_tensor;

/* The model's size: ob_model_weight_bytes, ob_model_n_params, and layer
 * 0's widths (all layers change alike). */
typedef struct ob_struct_sizes {
    int64_t bytes, params;
    int ffn, heads, kv_heads;
} ob_struct_sizes;

typedef struct ob_struct_report {
    int n_tensors;
    ob_struct_tensor *tensors;  /* [n_tensors], owned: ob_struct_report_free */
    ob_struct_sizes before, after;
} ob_struct_report;

void ob_struct_report_free(ob_struct_report *r);

/* Prunes model in place as p says; rep (may be NULL) receives the changes.
 * The old weights stay mapped or allocated until ob_model_free; contexts
 * must be created after the call.  The model's config takes the new
 * widths (cfg.ffn_dim, n_heads, n_kv_heads). */
int ob_prune_structured(ob_model *model, const ob_struct_params *p, ob_struct_report *rep, ob_err *err);

/* Per-input-channel activation norms for ob_struct_params.act_norm: runs
 * tokens [n_seq x seqlen] through the model (one sequence at a time) and
 * sums x_j^2 at every site.  *out receives n_layers * OB_N_SITES pointers
 * into one malloc'd block (free(*out) releases everything). */
int ob_struct_act_norms(const ob_model *model, ob_pool *pool, const int32_t *tokens, int n_seq, int seqlen,
                        float ***out, ob_err *err);

#endif

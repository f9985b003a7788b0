/* context.h - the inference context: KV cache and activations.
 *
 * Everything lives in one allocation made by ob_ctx_new, sized from the
 * model, n_ctx, n_seq and max_batch; nothing is allocated per token.
 *
 *   k_cache, v_cache  [n_layers][n_seq][n_ctx][kv_dim]   kv_dim = n_kv_heads*head_dim
 *   x                 [max_batch][dim]      the residual stream
 *   xn                [max_batch][dim]      normed input / projection output
 *   q                 [max_batch][q_dim]    q_dim = n_heads*head_dim
 *   k, v              [max_batch][kv_dim]
 *   att               [max_batch][q_dim]    attention output per head
 *   hb, hb2           [max_batch][ffn_dim]  FFN hidden
 *   rope              [max_batch][head_dim/2][2]   cos, sin per token
 *   scores            [n_threads][n_ctx]    attention weights scratch
 *   inv_freq          [head_dim/2]
 *   lin_ws            ob_linear's workspace: quantized activations of
 *                     max_batch tokens of the widest linear input
 *                     (ob_linear_ws_bytes), whatever the weight formats, so
 *                     a model quantized after the context was made still fits
 */
#ifndef OB_MODEL_CONTEXT_H
#define OB_MODEL_CONTEXT_H
#include "kernels/vec.h"
#include "model/model.h"

struct ob_ctx {
    const ob_model *m;
    ob_pool *pool;
    int n_ctx, n_seq, max_batch, n_threads;
    int q_dim, kv_dim;
    const ob_vec_ops *vec; /* attention's dot/axpy for this CPU */
    int *seq_len;          /* [n_seq] positions cached per sequence */
    int *seq_next;         /* [n_seq] scratch: check_batch's expected positions */
    float *k_cache, *v_cache;
    float *x, *xn, *q, *k, *v, *att, *hb, *hb2, *rope, *scores, *inv_freq;
    ob_workspace lin_ws;   /* points into mem */
    void *mem;
    size_t mem_bytes;
};

#endif

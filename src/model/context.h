/* context.h - the inference context: KV cache and activations.
 *
 * Everything lives in one allocation made by ob_ctx_new, sized from the
 * model, n_ctx, n_seq and max_batch; nothing is allocated per token.
 *
 *   k_cache, v_cache  [n_layers][n_seq][n_kv_heads][n_ctx][head_dim]
 *                     head-major, so that attention reads one head's keys
 *                     and values as one contiguous run (ob_kv_at); a
 *                     (layer, seq) block is n_ctx * kv_dim floats, kv_dim =
 *                     the most kv heads of any layer * head_dim
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

/* Where forward.c shows a linear layer's input to an observer (calibration
 * for GPTQ, AWQ, Wanda, SparseGPT), before the product:
 *   QKV      the normed input of wq, wk, wv        [n x dim]
 *   O        the attention output, input of wo     [n x n_heads*head_dim]
 *   GATE_UP  the normed input of w_gate, w_up      [n x dim]
 *   DOWN     the input of w_down (after the act.)  [n x ffn_dim]  */
enum { OB_SITE_QKV = 0, OB_SITE_O = 1, OB_SITE_GATE_UP = 2, OB_SITE_DOWN = 3, OB_N_SITES = 4 };
/* A layer's linear layers with llama.cpp's short names ("attn_q", ...,
 * "ffn_down") and the site that feeds each; gate only for SwiGLU models.
 * Returns how many (6 or 7) were written to out. */
typedef struct ob_linref {
    const char *name;
    ob_matrix *mat;
    int site;
} ob_linref;
int ob_layer_linears(ob_model *m, int layer, ob_linref out[7]);

typedef void (*ob_observe_fn)(void *user, int layer, int site, const float *X, int n, int cols);

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
    int batch_invariant;   /* products one token at a time          */
    ob_observe_fn observe; /* or NULL (ob_ctx_set_observer)       */
    void *observe_user;
};

/* Calls fn at every site of every layer from now on (NULL: stop). */
void ob_ctx_set_observer(ob_ctx *x, ob_observe_fn fn, void *user);

/* The batch's token embeddings (with learned positions and embed_scale)
 * into out [n x dim]. */
int ob_embed_batch(ob_ctx *x, const ob_batch *b, float *out, ob_err *err);

/* Runs layer l alone on resid [n x dim] (in: the layer's input, out: its
 * output), for the batch's positions and sequences (tokens are not read).
 * Writes layer l's KV cache and advances the sequences as ob_decode does;
 * to run the next layer on the same positions, trim them back first.  Used
 * to push calibration data through a model one layer at a time. */
int ob_decode_layer(ob_ctx *x, const ob_batch *b, int l, float *resid, ob_err *err);

/* Offset in k_cache / v_cache of (layer l, sequence seq, kv head h,
 * position pos); positions of one head follow each other head_dim apart. */
static inline size_t ob_kv_at(const ob_ctx *x, int l, int seq, int h, int pos) {
    return ((size_t)l * x->n_seq + (size_t)seq) * x->n_ctx * x->kv_dim +
           ((size_t)h * x->n_ctx + (size_t)pos) * x->m->cfg.head_dim;
}

#endif

/* forward.c - one forward pass for every family (llama, gpt2, biogpt).
 *
 * A batch of n tokens (any mix of sequences) goes through each layer
 * together, so every projection is one matrix-matrix product over the batch
 * (prefill) or a matrix-vector product (n == 1, decode).  What differs
 * between families is read from the config: norm type, RoPE or learned
 * positions, SwiGLU or GELU, biases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/context.h"
#include "model/ops.h"

typedef struct {
    ob_ctx *x;
    const ob_batch *b;
    const ob_layer *L;
    int layer;
} attn_job;

/* Causal attention for the (token, head) pairs of this task.  The batch's
 * keys and values are already in the cache. */
static void attn_task(void *arg, int task, int n_tasks) {
    attn_job *j = arg;
    ob_ctx *x = j->x;
    const ob_config *c = &x->m->cfg;
    int hd = c->head_dim, nh = j->L->n_heads, group = nh / j->L->n_kv_heads;
    int total = j->b->n * nh, per = (total + n_tasks - 1) / n_tasks;
    float *sc = x->scores + (size_t)task * x->n_ctx, scale = 1.0f / sqrtf((float)hd);
    for (int p = task * per; p < total && p < (task + 1) * per; p++) {
        int i = p / nh, h = p % nh, kvh = h / group;
        int seq = j->b->seq ? j->b->seq[i] : 0, pos = j->b->pos[i];
        const float *q = x->q + (size_t)i * x->q_dim + (size_t)h * hd;
        int t0 = c->sliding_window > 0 && pos >= c->sliding_window ? pos - c->sliding_window + 1 : 0;
        size_t first = ob_kv_at(x, j->layer, seq, kvh, t0);
        x->vec->dots(q, x->k_cache + first, (size_t)hd, pos + 1 - t0, hd, scale, sc);
        x->vec->softmax(sc, pos + 1 - t0);
        float *out = x->att + (size_t)i * x->q_dim + (size_t)h * hd;
        x->vec->wsum(out, sc, x->v_cache + first, (size_t)hd, pos + 1 - t0, hd);
    }
}

static void norm_rows(const ob_config *c, float *out, const float *in, const float *w, const float *b, int n,
                      int stride) {
    for (int i = 0; i < n; i++) {
        if (c->layer_norm) ob_layernorm(out + (size_t)i * stride, in + (size_t)i * stride, w, b, c->dim, c->norm_eps);
        else ob_rmsnorm(out + (size_t)i * stride, in + (size_t)i * stride, w, c->dim, c->norm_eps);
    }
}

static void bias_rows(float *y, const float *b, int n, int width) {
    if (b)
        for (int i = 0; i < n; i++) ob_add_bias(y + (size_t)i * width, b, width);
}

static void add_rows(float *y, const float *x, int n, int width) {
    for (size_t i = 0; i < (size_t)n * width; i++) y[i] += x[i];
}

/* Checks the batch: ids, sequences, and positions contiguous with each
 * sequence's cache. */
static int check_batch(ob_ctx *x, const ob_batch *b, ob_err *err) {
    const ob_config *c = &x->m->cfg;
    if (b->n <= 0 || b->n > x->max_batch)
        return ob_fail(err, OB_EINVAL, "batch of %d tokens (this context takes 1 to %d)", b->n, x->max_batch);
    /* the next position each sequence expects, advanced as the batch is read */
    memcpy(x->seq_next, x->seq_len, (size_t)x->n_seq * sizeof(int));
    for (int i = 0; i < b->n; i++) {
        int s = b->seq ? b->seq[i] : 0;
        if (b->tokens && (b->tokens[i] < 0 || b->tokens[i] >= c->n_vocab))
            return ob_fail(err, OB_EINVAL, "token %d: id %d outside the vocabulary (0..%d)", i, b->tokens[i], c->n_vocab - 1);
        if (s < 0 || s >= x->n_seq) return ob_fail(err, OB_EINVAL, "token %d: sequence %d does not exist", i, s);
        if (b->pos[i] >= x->n_ctx)
            return ob_fail(err, OB_ERANGE, "position %d is past the context length %d", b->pos[i], x->n_ctx);
        int expect = x->seq_next[s];
        if (b->pos[i] != expect)
            return ob_fail(err, OB_EINVAL, "token %d: position %d of sequence %d, but %d was expected", i, b->pos[i], s,
                           expect);
        x->seq_next[s] = expect + 1;
    }
    return 0;
}

/* Token embeddings (+ learned positions) of the batch into out [n x dim],
 * and each token's RoPE table row. */
static void embed_rows(ob_ctx *x, const ob_batch *b, float *out) {
    const ob_model *m = x->m;
    const ob_config *c = &m->cfg;
    const int D = c->dim, hd = c->head_dim;
    for (int i = 0; i < b->n; i++) {
        float *xi = out + (size_t)i * D;
        if (b->tokens && out) {
            m->tok_embd.ops->dequant_row(&m->tok_embd, b->tokens[i], xi);
            if (c->embed_scale != 1.0f)
                for (int d = 0; d < D; d++) xi[d] *= c->embed_scale;
            if (m->pos_embd) ob_add_bias(xi, m->pos_embd + (size_t)(b->pos[i] + c->pos_offset) * D, D);
        }
        if (!c->learned_pos) ob_rope_table(x->rope + (size_t)i * hd, b->pos[i], x->inv_freq, hd / 2);
    }
}

/* Y = X W^T through the pool; batch_invariant contexts go token by token. */
static void lin(ob_ctx *x, const ob_matrix *W, const float *X, int n, float *Y) {
    if (!x->batch_invariant || n == 1) {
        ob_linear(x->pool, W, X, n, Y, &x->lin_ws);
        return;
    }
    for (int i = 0; i < n; i++)
        ob_linear(x->pool, W, X + (size_t)i * ob_matrix_in_dim(W), 1, Y + (size_t)i * ob_matrix_out_dim(W), &x->lin_ws);
}

static void lin_multi(ob_ctx *x, const ob_matrix *const *Ws, int k, const float *X, int n, float *const *Ys) {
    if (!x->batch_invariant || n == 1) {
        ob_linear_multi(x->pool, Ws, k, X, n, Ys, &x->lin_ws);
        return;
    }
    float *ys[4];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < k; j++) ys[j] = Ys[j] + (size_t)i * ob_matrix_out_dim(Ws[j]);
        ob_linear_multi(x->pool, Ws, k, X + (size_t)i * ob_matrix_in_dim(Ws[0]), 1, ys, &x->lin_ws);
    }
}

static void observe(ob_ctx *x, int l, int site, const float *X, int n, int cols) {
    if (x->observe) x->observe(x->observe_user, l, site, X, n, cols);
}

/* Layer l on the batch's residual rows x->x. */
static void layer_forward(ob_ctx *x, const ob_batch *b, int l) {
    const ob_config *c = &x->m->cfg;
    const ob_layer *L = &x->m->layers[l];
    const int n = b->n, D = c->dim, hd = c->head_dim;
    const int qd = L->n_heads * hd, kvd = L->n_kv_heads * hd, F = L->ffn_dim;
    ob_pool *pool = x->pool;
    /* attention: q, k, v projections of the normed input */
    norm_rows(c, x->xn, x->x, L->attn_norm, L->attn_norm_b, n, D);
    observe(x, l, OB_SITE_QKV, x->xn, n, D);
    const ob_matrix *qkv[3] = {&L->wq, &L->wk, &L->wv};
    float *qkv_out[3] = {x->q, x->k, x->v};
    lin_multi(x, qkv, 3, x->xn, n, qkv_out);
    for (int i = 0; i < n; i++) {
        float *qi = x->q + (size_t)i * qd, *ki = x->k + (size_t)i * kvd, *vi = x->v + (size_t)i * kvd;
        ob_add_bias(qi, L->bq, qd);
        ob_add_bias(ki, L->bk, kvd);
        ob_add_bias(vi, L->bv, kvd);
        if (!c->learned_pos) {
            ob_rope(qi, L->n_heads, hd, x->rope + (size_t)i * hd);
            ob_rope(ki, L->n_kv_heads, hd, x->rope + (size_t)i * hd);
        }
        int s = b->seq ? b->seq[i] : 0;
        for (int h = 0; h < L->n_kv_heads; h++) {
            size_t at = ob_kv_at(x, l, s, h, b->pos[i]);
            memcpy(x->k_cache + at, ki + (size_t)h * hd, (size_t)hd * sizeof(float));
            memcpy(x->v_cache + at, vi + (size_t)h * hd, (size_t)hd * sizeof(float));
        }
    }
    /* q rows are packed at stride qd by ob_linear; attention reads stride q_dim */
    if (qd != x->q_dim)
        for (int i = n - 1; i > 0; i--) memmove(x->q + (size_t)i * x->q_dim, x->q + (size_t)i * qd, (size_t)qd * 4);
    attn_job aj = {x, b, L, l};
    ob_pool_run(pool, attn_task, &aj, x->n_threads);
    if (qd != x->q_dim)
        for (int i = 1; i < n; i++) memmove(x->att + (size_t)i * qd, x->att + (size_t)i * x->q_dim, (size_t)qd * 4);
    observe(x, l, OB_SITE_O, x->att, n, qd);
    lin(x, &L->wo, x->att, n, x->xn);
    bias_rows(x->xn, L->bo, n, D);
    add_rows(x->x, x->xn, n, D);

    /* feed-forward */
    norm_rows(c, x->xn, x->x, L->ffn_norm, L->ffn_norm_b, n, D);
    observe(x, l, OB_SITE_GATE_UP, x->xn, n, D);
    if (c->act == OB_ACT_SWIGLU) {
        const ob_matrix *gu[2] = {&L->w_gate, &L->w_up};
        float *gu_out[2] = {x->hb, x->hb2};
        lin_multi(x, gu, 2, x->xn, n, gu_out);
        x->vec->swiglu(x->hb, x->hb2, n * F);
    } else {
        lin(x, &L->w_up, x->xn, n, x->hb);
        bias_rows(x->hb, L->b_up, n, F);
        if (c->act == OB_ACT_GELU_TANH) x->vec->gelu_tanh(x->hb, n * F);
        else ob_gelu_erf(x->hb, n * F);
    }
    observe(x, l, OB_SITE_DOWN, x->hb, n, F);
    lin(x, &L->w_down, x->hb, n, x->xn);
    bias_rows(x->xn, L->b_down, n, D);
    add_rows(x->x, x->xn, n, D);
}

int ob_decode(ob_ctx *x, const ob_batch *b, float *logits, ob_err *err) {
    const ob_model *m = x->m;
    const ob_config *c = &m->cfg;
    int rc = check_batch(x, b, err);
    if (rc) return rc;
    const int n = b->n, D = c->dim;
    embed_rows(x, b, x->x);
    for (int l = 0; l < c->n_layers; l++) layer_forward(x, b, l);

    /* the sequences' new lengths */
    for (int i = 0; i < n; i++) x->seq_len[b->seq ? b->seq[i] : 0] = b->pos[i] + 1;

    /* final norm and the output head, only for the rows asked for */
    int k = 0;
    for (int i = 0; i < n; i++) {
        int want = b->logits_mask ? b->logits_mask[i] != 0 : i == n - 1;
        if (!want) continue;
        norm_rows(c, x->xn + (size_t)k * D, x->x + (size_t)i * D, m->out_norm, m->out_norm_b, 1, D);
        k++;
    }
    if (k) lin(x, &m->lm_head, x->xn, k, logits);
    return 0;
}

int ob_embed_batch(ob_ctx *x, const ob_batch *b, float *out, ob_err *err) {
    if (b->n < 1 || b->n > x->max_batch || !b->tokens)
        return ob_fail(err, OB_EINVAL, "embed: %d tokens (1 to %d)", b->n, x->max_batch);
    for (int i = 0; i < b->n; i++)
        if (b->tokens[i] < 0 || b->tokens[i] >= x->m->cfg.n_vocab)
            return ob_fail(err, OB_EINVAL, "embed: token %d outside the vocabulary", (int)b->tokens[i]);
    embed_rows(x, b, out);
    return 0;
}

int ob_decode_layer(ob_ctx *x, const ob_batch *b, int l, float *resid, ob_err *err) {
    if (l < 0 || l >= x->m->cfg.n_layers) return ob_fail(err, OB_EINVAL, "layer %d does not exist", l);
    ob_batch nb = *b;
    nb.tokens = NULL; /* positions and sequences only */
    int rc = check_batch(x, &nb, err);
    if (rc) return rc;
    const size_t bytes = (size_t)b->n * x->m->cfg.dim * sizeof(float);
    memcpy(x->x, resid, bytes);
    embed_rows(x, &nb, NULL); /* RoPE rows only */
    layer_forward(x, &nb, l);
    for (int i = 0; i < b->n; i++) x->seq_len[b->seq ? b->seq[i] : 0] = b->pos[i] + 1;
    memcpy(resid, x->x, bytes);
    return 0;
}

void ob_ctx_set_observer(ob_ctx *x, ob_observe_fn fn, void *user) {
    x->observe = fn;
    x->observe_user = user;
}

int ob_forward(ob_ctx *x, int seq, const int32_t *tokens, int n, int pos, int all_logits, float *logits,
               ob_err *err) {
    if (n <= 0) return ob_fail(err, OB_EINVAL, "forward: no tokens");
    if (seq < 0 || seq >= x->n_seq) return ob_fail(err, OB_EINVAL, "forward: sequence %d does not exist", seq);
    if (pos + n > x->n_ctx)
        return ob_fail(err, OB_ERANGE, "forward: %d tokens from position %d exceed the context length %d", n, pos, x->n_ctx);
    int32_t posv[64], seqv[64];
    uint8_t mask[64];
    int V = x->m->cfg.n_vocab;
    for (int done = 0; done < n;) {
        int chunk = n - done < x->max_batch ? n - done : x->max_batch;
        int32_t *pp = posv, *ss = seqv;
        uint8_t *mm = mask;
        /* small chunks use the stack; larger ones a heap buffer per call */
        void *heap = NULL;
        if (chunk > 64) {
            heap = malloc((size_t)chunk * 9);
            if (!heap) return ob_fail(err, OB_ENOMEM, "forward: out of memory");
            pp = heap;
            ss = pp + chunk;
            mm = (uint8_t *)(ss + chunk);
        }
        for (int i = 0; i < chunk; i++) {
            pp[i] = pos + done + i;
            ss[i] = seq;
            mm[i] = all_logits || done + i == n - 1;
        }
        ob_batch b = {chunk, tokens + done, pp, ss, mm};
        float *out = all_logits ? logits + (size_t)done * V : logits;
        int rc = ob_decode(x, &b, out, err);
        free(heap);
        if (rc) return rc;
        done += chunk;
    }
    return 0;
}

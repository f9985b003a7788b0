/* context.c - creating and sizing the inference context (layout in context.h). */
#include "model/context.h"

#include <stdlib.h>
#include <string.h>

#include "model/ops.h"

ob_ctx_params ob_ctx_default_params(void) {
    ob_ctx_params p = {.n_ctx = 0, .n_seq = 1, .max_batch = 512, .batch_invariant = 0};
    return p;
}

int ob_ctx_new(const ob_model *m, ob_pool *pool, const ob_ctx_params *params, ob_ctx **out, ob_err *err) {
    *out = NULL;
    ob_ctx_params p = params ? *params : ob_ctx_default_params();
    const ob_config *c = &m->cfg;
    if (p.n_ctx <= 0) p.n_ctx = c->max_seq;
    if (p.n_seq <= 0) p.n_seq = 1;
    if (p.max_batch <= 0) p.max_batch = 512;
    if (p.n_ctx > c->max_seq && c->learned_pos)
        return ob_fail(err, OB_ERANGE, "context of %d tokens exceeds %s's %d learned positions", p.n_ctx, c->name,
                       c->max_seq);
    ob_ctx *x = calloc(1, sizeof *x);
    if (!x) return ob_fail(err, OB_ENOMEM, "context: out of memory");
    x->m = m;
    x->pool = pool;
    x->n_ctx = p.n_ctx;
    x->n_seq = p.n_seq;
    x->max_batch = p.max_batch;
    x->batch_invariant = p.batch_invariant != 0;
    x->n_threads = ob_pool_size(pool);
    x->vec = ob_vec_ops_get(ob_cpu_simd());
    int max_heads = 1, max_kv = 1, max_ffn = 1;
    for (int l = 0; l < c->n_layers; l++) {
        if (m->layers[l].n_heads > max_heads) max_heads = m->layers[l].n_heads;
        if (m->layers[l].n_kv_heads > max_kv) max_kv = m->layers[l].n_kv_heads;
        if (m->layers[l].ffn_dim > max_ffn) max_ffn = m->layers[l].ffn_dim;
    }
    x->q_dim = max_heads * c->head_dim;
    x->kv_dim = max_kv * c->head_dim;
    size_t B = (size_t)p.max_batch, cache = (size_t)c->n_layers * p.n_seq * p.n_ctx * x->kv_dim;
    int64_t widest = c->dim > x->q_dim ? c->dim : x->q_dim;
    if (max_ffn > widest) widest = max_ffn;
    size_t ws_floats = (ob_linear_ws_bytes(widest, p.max_batch) + 3) / 4;
    float *ws = NULL;
    size_t sizes[] = {cache, cache, B * c->dim, B * c->dim, B * x->q_dim, B * x->kv_dim, B * x->kv_dim,
                      B * x->q_dim, B * max_ffn, B * max_ffn, B * c->head_dim, (size_t)x->n_threads * p.n_ctx,
                      (size_t)c->head_dim / 2 + 1, ws_floats};
    float **ptrs[] = {&x->k_cache, &x->v_cache, &x->x, &x->xn, &x->q, &x->k, &x->v, &x->att,
                      &x->hb, &x->hb2, &x->rope, &x->scores, &x->inv_freq, &ws};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) total += (sizes[i] * 4 + 63) & ~(size_t)63;
    x->mem = aligned_alloc(64, total);
    x->seq_len = calloc(2 * (size_t)p.n_seq, sizeof(int));
    if (x->seq_len) x->seq_next = x->seq_len + p.n_seq;
    if (!x->mem || !x->seq_len) {
        ob_ctx_free(x);
        return ob_fail(err, OB_ENOMEM, "context: cannot allocate %.1f MB (n_ctx %d, n_seq %d, batch %d)",
                       total / 1e6, p.n_ctx, p.n_seq, p.max_batch);
    }
    memset(x->mem, 0, total);
    x->mem_bytes = total;
    char *at = x->mem;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *ptrs[i] = (float *)at;
        at += (sizes[i] * 4 + 63) & ~(size_t)63;
    }
    x->lin_ws.data = ws;
    x->lin_ws.size = ws_floats * 4;
    ob_rope_inv_freq(x->inv_freq, c->head_dim, c->rope_theta, c->rope_factor, c->rope_low_freq_factor,
                     c->rope_high_freq_factor, c->rope_orig_max_pos);
    *out = x;
    return 0;
}

void ob_ctx_free(ob_ctx *x) {
    if (!x) return;
    free(x->mem);
    free(x->seq_len);
    free(x);
}

int ob_ctx_n_ctx(const ob_ctx *x) { return x->n_ctx; }

void ob_ctx_seq_trim(ob_ctx *x, int seq, int p0) {
    if (seq < 0 || seq >= x->n_seq) return;
    if (p0 < 0) p0 = 0;
    if (x->seq_len[seq] > p0) x->seq_len[seq] = p0;
}

int ob_ctx_seq_copy(ob_ctx *x, int src, int dst, int n_pos, ob_err *err) {
    if (src < 0 || src >= x->n_seq || dst < 0 || dst >= x->n_seq)
        return ob_fail(err, OB_EINVAL, "sequence copy %d -> %d outside [0, %d)", src, dst, x->n_seq);
    if (n_pos < 0 || n_pos > x->seq_len[src])
        return ob_fail(err, OB_EINVAL, "sequence %d holds %d positions, cannot copy %d", src, x->seq_len[src],
                       n_pos);
    if (src != dst && n_pos > 0) {
        const int hd = x->m->cfg.head_dim, heads = x->kv_dim / hd;
        const size_t bytes = (size_t)n_pos * hd * sizeof(float);
        for (int l = 0; l < x->m->cfg.n_layers; l++)
            for (int h = 0; h < heads; h++) {
                size_t to = ob_kv_at(x, l, dst, h, 0), from = ob_kv_at(x, l, src, h, 0);
                memcpy(x->k_cache + to, x->k_cache + from, bytes);
                memcpy(x->v_cache + to, x->v_cache + from, bytes);
            }
    }
    x->seq_len[dst] = n_pos;
    return 0;
}

int ob_layer_linears(ob_model *m, int l, ob_linref out[7]) {
    ob_layer *L = &m->layers[l];
    int n = 0;
    out[n++] = (ob_linref){"attn_q", &L->wq, OB_SITE_QKV};
    out[n++] = (ob_linref){"attn_k", &L->wk, OB_SITE_QKV};
    out[n++] = (ob_linref){"attn_v", &L->wv, OB_SITE_QKV};
    out[n++] = (ob_linref){"attn_output", &L->wo, OB_SITE_O};
    if (m->cfg.act == OB_ACT_SWIGLU) out[n++] = (ob_linref){"ffn_gate", &L->w_gate, OB_SITE_GATE_UP};
    out[n++] = (ob_linref){"ffn_up", &L->w_up, OB_SITE_GATE_UP};
    out[n++] = (ob_linref){"ffn_down", &L->w_down, OB_SITE_DOWN};
    return n;
}

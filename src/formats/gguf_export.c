/* gguf_export.c - a llama-family model as GGUF (see gguf_model.c for the
 * names and keys, which are the same in both directions).
 *
 * Matrices are dequantized row by row to float32 and encoded in the target
 * type; attn_q and attn_k rows go from the Hugging Face RoPE order the
 * model holds back into Meta's interleaved order, as llama.cpp's
 * convert_hf_to_gguf.py permutes them.  general.file_type follows
 * llama.cpp's ftype numbering (0 all F32, 1 mostly F16, 2 mostly Q4_0, 3
 * mostly Q4_1, 7 mostly Q8_0, 32 mostly BF16), "mostly" meaning the type
 * of the attention and FFN matrices. */
#include "formats/gguf_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "model/model.h"
#include "tokenizer/gguf_tok.h"

typedef struct {
    ob_gguf_writer *w;
    uint32_t type;
    ob_err *err;
} ectx;

/* The ggml type of an optibench format, or UINT32_MAX when ggml has none
 * with the same bytes. */
static uint32_t ggml_of(ob_format f) {
    switch (f) {
    case OB_FMT_F32: return OB_GGML_F32;
    case OB_FMT_F16: return OB_GGML_F16;
    case OB_FMT_BF16: return OB_GGML_BF16;
    case OB_FMT_Q8_0: return OB_GGML_Q8_0;
    case OB_FMT_Q4_0: return OB_GGML_Q4_0;
    case OB_FMT_Q4_1: return OB_GGML_Q4_1;
    default: return UINT32_MAX;
    }
}

static int quant_format(uint32_t type, ob_format *f) {
    switch (type) {
    case OB_GGML_Q8_0: *f = OB_FMT_Q8_0; return 1;
    case OB_GGML_Q4_0: *f = OB_FMT_Q4_0; return 1;
    case OB_GGML_Q4_1: *f = OB_FMT_Q4_1; return 1;
    default: return 0;
    }
}

/* n floats encoded as F32, F16 or BF16 into writer-owned memory. */
static const void *encode(ectx *e, const float *src, int64_t n, uint32_t type, size_t *nbytes) {
    size_t es = type == OB_GGML_F32 ? 4 : 2;
    *nbytes = (size_t)n * es;
    unsigned char *d = ob_gguf_writer_alloc(e->w, *nbytes);
    if (!d) return NULL;
    if (type == OB_GGML_F32) {
        memcpy(d, src, *nbytes);
        return d;
    }
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = type == OB_GGML_F16 ? ob_f32_to_f16(src[i]) : ob_f32_to_bf16(src[i]);
        memcpy(d + 2 * i, &h, 2);
    }
    return d;
}

static int add_vec(ectx *e, const char *name, const float *v, int64_t n) {
    size_t nb;
    const void *d = encode(e, v, n, OB_GGML_F32, &nb);
    if (!d) return ob_fail(e->err, OB_ENOMEM, "GGUF export: out of memory");
    return ob_gguf_writer_tensor(e->w, name, OB_GGML_F32, 1, &n, d, nb, e->err);
}

/* rope_heads > 0: rows leave in Meta's RoPE order. */
static int add_mat(ectx *e, const char *name, const ob_matrix *m, int rope_heads) {
    const uint32_t type = e->type == OB_GGUF_KEEP_TYPES ? ggml_of(m->format) : e->type;
    int64_t ne[2] = {m->cols, m->rows};
    if (m->x16) /* an inference layout: a bug of the caller, never a file */
        return ob_fail(e->err, OB_EINVAL, "GGUF export: tensor '%s' is in the x16 inference layout", name);
    if (type == UINT32_MAX)
        return ob_fail(e->err, OB_EUNSUP, "GGUF export: tensor '%s': format %s has no GGUF type (F32, F16, BF16, Q8_0, "
                       "Q4_0, Q4_1 do)", name, ob_format_name(m->format));
    if (type == ggml_of(m->format)) { /* the same bytes: copy, permuting rows if needed */
        size_t nb = (size_t)m->rows * m->row_bytes;
        unsigned char *d = ob_gguf_writer_alloc(e->w, nb);
        if (!d) return ob_fail(e->err, OB_ENOMEM, "GGUF export: out of memory");
        if (rope_heads > 0) ob_rope_rows_hf_to_meta(d, m->data, rope_heads, (int)(m->rows / rope_heads), m->row_bytes);
        else memcpy(d, m->data, nb);
        return ob_gguf_writer_tensor(e->w, name, type, 2, ne, d, nb, e->err);
    }
    size_t n = (size_t)m->rows * (size_t)m->cols;
    float *f = malloc(n * sizeof *f), *g = rope_heads > 0 ? malloc(n * sizeof *g) : NULL;
    int rc = 0;
    if (!f || (rope_heads > 0 && !g)) rc = ob_fail(e->err, OB_ENOMEM, "GGUF export: out of memory");
    for (int64_t r = 0; !rc && r < m->rows; r++) m->ops->dequant_row(m, r, f + r * m->cols);
    if (!rc && rope_heads > 0) {
        ob_rope_rows_hf_to_meta(g, f, rope_heads, (int)(m->rows / rope_heads), (size_t)m->cols * sizeof *f);
        float *t = f;
        f = g;
        g = t;
    }
    size_t nb = 0;
    const void *d = NULL;
    ob_format qf;
    if (!rc && quant_format(type, &qf)) {
        const ob_format_ops *ops = ob_format_get(qf);
        if (m->cols % ops->col_block) {
            rc = ob_fail(e->err, OB_EINVAL, "GGUF export: tensor '%s': %lld columns are not a multiple of %s's block "
                         "of %lld", name, (long long)m->cols, ops->name, (long long)ops->col_block);
        } else {
            size_t rb = ops->row_bytes(m->cols);
            nb = rb * (size_t)m->rows;
            unsigned char *q = ob_gguf_writer_alloc(e->w, nb);
            if (!q) rc = ob_fail(e->err, OB_ENOMEM, "GGUF export: out of memory");
            for (int64_t r = 0; !rc && r < m->rows; r++) ops->quantize_row(f + r * m->cols, m->cols, q + r * rb);
            d = q;
        }
    } else if (!rc) {
        d = encode(e, f, (int64_t)n, type, &nb);
        if (!d) rc = ob_fail(e->err, OB_ENOMEM, "GGUF export: out of memory");
    }
    if (!rc) rc = ob_gguf_writer_tensor(e->w, name, type, 2, ne, d, nb, e->err);
    free(f);
    free(g);
    return rc;
}

static int check_exportable(const ob_model *m, const char *path, uint32_t type, ob_err *err) {
    const ob_config *c = &m->cfg;
    ob_format qf;
    if (type != OB_GGML_F32 && type != OB_GGML_F16 && type != OB_GGML_BF16 && type != OB_GGUF_KEEP_TYPES &&
        !quant_format(type, &qf))
        return ob_fail(err, OB_EINVAL, "%s: GGUF export writes F32, F16, BF16, Q8_0, Q4_0 or Q4_1 weights", path);
    if (c->arch != OB_ARCH_LLAMA || c->qkv_bias || c->sliding_window || c->rope_factor > 0)
        return ob_fail(err, OB_EUNSUP, "%s: GGUF export supports plain llama models only (no q/k/v bias, sliding window "
                       "or llama3 RoPE scaling)", path);
    for (int l = 0; l < c->n_layers; l++) {
        const ob_layer *L = &m->layers[l];
        if (L->n_heads != c->n_heads || L->n_kv_heads != c->n_kv_heads || L->ffn_dim != c->ffn_dim)
            return ob_fail(err, OB_EUNSUP, "%s: layer %d has its own widths (pruned); GGUF export needs uniform layers", path, l);
        const ob_matrix *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int k = 0; k < 7; k++)
            if (ob_matrix_has_maps(ms[k]))
                return ob_fail(err, OB_EUNSUP, "%s: layer %d has channel index maps (channels-pruned); GGUF has no "
                               "place for them (save an optibench container instead)", path, l);
    }
    return 0;
}

static int write_meta(ectx *e, const ob_model *m, uint32_t type) {
    const ob_config *c = &m->cfg;
    ob_gguf_writer *w = e->w;
    ob_err *err = e->err;
    if (type == OB_GGUF_KEEP_TYPES) type = c->n_layers ? ggml_of(m->layers[0].w_up.format) : OB_GGML_F32;
    uint32_t ftype = type == OB_GGML_F32    ? 0
                     : type == OB_GGML_F16  ? 1
                     : type == OB_GGML_Q4_0 ? 2
                     : type == OB_GGML_Q4_1 ? 3
                     : type == OB_GGML_Q8_0 ? 7
                                            : 32;
    int rc;
    if ((rc = ob_gguf_writer_str(w, "general.architecture", "llama", 5, err)) ||
        (rc = ob_gguf_writer_str(w, "general.name", c->name, strlen(c->name), err)) ||
        (rc = ob_gguf_writer_u32(w, "general.file_type", ftype, err)) ||
        (rc = ob_gguf_writer_u32(w, "llama.context_length", (uint32_t)c->max_seq, err)) ||
        (rc = ob_gguf_writer_u32(w, "llama.embedding_length", (uint32_t)c->dim, err)) ||
        (rc = ob_gguf_writer_u32(w, "llama.block_count", (uint32_t)c->n_layers, err)) ||
        (rc = ob_gguf_writer_u32(w, "llama.feed_forward_length", (uint32_t)c->ffn_dim, err)) ||
        (rc = ob_gguf_writer_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads, err)) ||
        (rc = ob_gguf_writer_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads, err)) ||
        (rc = ob_gguf_writer_u32(w, "llama.rope.dimension_count", (uint32_t)c->head_dim, err)) ||
        (rc = ob_gguf_writer_f32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps, err)) ||
        (rc = ob_gguf_writer_f32(w, "llama.rope.freq_base", c->rope_theta, err)) ||
        (rc = ob_gguf_writer_u32(w, "llama.vocab_size", (uint32_t)c->n_vocab, err)))
        return rc;
    if (c->head_dim * c->n_heads != c->dim &&
        ((rc = ob_gguf_writer_u32(w, "llama.attention.key_length", (uint32_t)c->head_dim, err)) ||
         (rc = ob_gguf_writer_u32(w, "llama.attention.value_length", (uint32_t)c->head_dim, err))))
        return rc;
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    return tok ? ob_tokenizer_save_gguf(tok, w, err) : 0;
}

static int write_tensors(ectx *e, const ob_model *m) {
    const ob_config *c = &m->cfg;
    int rc;
    if ((rc = add_mat(e, "token_embd.weight", &m->tok_embd, 0)) ||
        (rc = add_vec(e, "output_norm.weight", m->out_norm, c->dim)))
        return rc;
    if (!c->tied_embeddings && (rc = add_mat(e, "output.weight", &m->lm_head, 0))) return rc;
    char n[96];
    for (int l = 0; l < c->n_layers; l++) {
        const ob_layer *L = &m->layers[l];
#define B(s) (snprintf(n, sizeof n, "blk.%d." s, l), n)
        if ((rc = add_vec(e, B("attn_norm.weight"), L->attn_norm, c->dim)) ||
            (rc = add_mat(e, B("attn_q.weight"), &L->wq, c->n_heads)) ||
            (rc = add_mat(e, B("attn_k.weight"), &L->wk, c->n_kv_heads)) ||
            (rc = add_mat(e, B("attn_v.weight"), &L->wv, 0)) ||
            (rc = add_mat(e, B("attn_output.weight"), &L->wo, 0)) ||
            (rc = add_vec(e, B("ffn_norm.weight"), L->ffn_norm, c->dim)) ||
            (rc = add_mat(e, B("ffn_gate.weight"), &L->w_gate, 0)) ||
            (rc = add_mat(e, B("ffn_up.weight"), &L->w_up, 0)) ||
            (rc = add_mat(e, B("ffn_down.weight"), &L->w_down, 0)))
            return rc;
#undef B
    }
    return 0;
}

int ob_model_save_gguf(const ob_model *m, const char *path, uint32_t type, ob_err *err) {
    int rc = check_exportable(m, path, type, err);
    if (!rc) rc = ob_model_check_finite(m, err);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return ob_fail(err, rc, "%s: %s", path, msg);
    }
    ectx e = {NULL, type, err};
    if ((rc = ob_gguf_writer_new(OB_GGUF_DEFAULT_ALIGNMENT, &e.w, err))) return rc;
    if (!(rc = write_meta(&e, m, type)) && !(rc = write_tensors(&e, m))) rc = ob_gguf_writer_write(e.w, path, err);
    ob_gguf_writer_free(e.w);
    return rc;
}

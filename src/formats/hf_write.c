/* hf_write.c - saving a model as a Hugging Face directory: config.json and
 * model.safetensors in transformers' LlamaForCausalLM naming.  Weights are
 * written in the requested dtype (F32, F16 or BF16); RoPE rows are already
 * in the Hugging Face order in memory (llama2c.c permutes on load). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/hf_write.h"
#include "formats/safetensors.h"
#include "model/model.h"

typedef struct {
    ob_st_writer *w;
    void **bufs;
    int n_bufs, cap;
} writer;

static void *keep(writer *wr, size_t size) {
    if (wr->n_bufs == wr->cap) {
        int cap = wr->cap ? 2 * wr->cap : 64;
        void **b = realloc(wr->bufs, (size_t)cap * sizeof *b);
        if (!b) return NULL;
        wr->bufs = b;
        wr->cap = cap;
    }
    void *p = malloc(size ? size : 1);
    if (p) wr->bufs[wr->n_bufs++] = p;
    return p;
}

/* Converts n floats to the target dtype into a buffer the writer keeps. */
static const void *encode(writer *wr, const float *src, int64_t n, ob_dtype dt) {
    if (dt == OB_DT_F32) return src;
    uint16_t *d = keep(wr, (size_t)n * 2);
    if (!d) return NULL;
    for (int64_t i = 0; i < n; i++) d[i] = dt == OB_DT_F16 ? ob_f32_to_f16(src[i]) : ob_f32_to_bf16(src[i]);
    return d;
}

static int add_vec(writer *wr, const char *name, const float *v, int64_t n, ob_dtype dt, ob_err *err) {
    const void *data = encode(wr, v, n, dt);
    if (!data) return ob_fail(err, OB_ENOMEM, "out of memory");
    return ob_st_writer_add(wr->w, name, dt, 1, &n, data, err);
}

static int add_mat(writer *wr, const char *name, const ob_matrix *m, ob_dtype dt, ob_err *err) {
    int64_t shape[2] = {m->rows, m->cols};
    float *rowbuf = keep(wr, (size_t)m->rows * m->cols * sizeof(float));
    if (!rowbuf) return ob_fail(err, OB_ENOMEM, "out of memory");
    for (int64_t r = 0; r < m->rows; r++) m->ops->dequant_row(m, r, rowbuf + r * m->cols);
    const void *data = encode(wr, rowbuf, m->rows * m->cols, dt);
    if (!data) return ob_fail(err, OB_ENOMEM, "out of memory");
    return ob_st_writer_add(wr->w, name, dt, 2, shape, data, err);
}

static int write_config(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err) {
    const ob_config *c = &m->cfg;
    json_t *j = json_pack("{s:[s], s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:b, s:s, s:s, s:s}",
                          "architectures", "LlamaForCausalLM", "model_type", "llama", "hidden_size", c->dim,
                          "intermediate_size", c->ffn_dim, "num_hidden_layers", c->n_layers, "num_attention_heads",
                          c->n_heads, "num_key_value_heads", c->n_kv_heads, "head_dim", c->head_dim, "vocab_size",
                          c->n_vocab, "max_position_embeddings", c->max_seq, "rms_norm_eps", (double)c->norm_eps,
                          "rope_theta", (double)c->rope_theta, "tie_word_embeddings", c->tied_embeddings,
                          "hidden_act", "silu", "torch_dtype",
                          dt == OB_DT_F32 ? "float32" : dt == OB_DT_F16 ? "float16" : "bfloat16",
                          "_generated_by", "optibench convert");
    if (!j) return ob_fail(err, OB_ENOMEM, "config.json: cannot build");
    if (c->bos_id >= 0) json_object_set_new(j, "bos_token_id", json_integer(c->bos_id));
    if (c->eos_id >= 0) json_object_set_new(j, "eos_token_id", json_integer(c->eos_id));
    if (c->rope_factor > 0)
        json_object_set_new(j, "rope_scaling",
                            json_pack("{s:s, s:f, s:f, s:f, s:i}", "rope_type", "llama3", "factor", (double)c->rope_factor,
                                      "low_freq_factor", (double)c->rope_low_freq_factor, "high_freq_factor",
                                      (double)c->rope_high_freq_factor, "original_max_position_embeddings",
                                      c->rope_orig_max_pos));
    char path[2048];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return rc ? ob_fail(err, OB_EIO, "%s: cannot write", path) : 0;
}

int ob_model_save_hf(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err) {
    const ob_config *c = &m->cfg;
    if (c->arch != OB_ARCH_LLAMA)
        return ob_fail(err, OB_EUNSUP, "%s: saving is implemented for llama-family models only", dir);
    if (dt != OB_DT_F32 && dt != OB_DT_F16 && dt != OB_DT_BF16)
        return ob_fail(err, OB_EINVAL, "%s: dtype must be F32, F16 or BF16", dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return ob_fail(err, OB_EIO, "%s: cannot create: %s", dir, strerror(errno));
    if (!ob_is_dir(dir)) return ob_fail(err, OB_EIO, "%s: exists and is not a directory", dir);
    writer wr = {0};
    int rc = ob_st_writer_new(&wr.w, err);
    char n[256];
    if (!rc) rc = add_mat(&wr, "model.embed_tokens.weight", &m->tok_embd, dt, err);
    for (int l = 0; !rc && l < c->n_layers; l++) {
        const ob_layer *L = &m->layers[l];
#define P(s) (snprintf(n, sizeof n, "model.layers.%d." s, l), n)
        if ((rc = add_vec(&wr, P("input_layernorm.weight"), L->attn_norm, c->dim, dt, err)) ||
            (rc = add_mat(&wr, P("self_attn.q_proj.weight"), &L->wq, dt, err)) ||
            (rc = add_mat(&wr, P("self_attn.k_proj.weight"), &L->wk, dt, err)) ||
            (rc = add_mat(&wr, P("self_attn.v_proj.weight"), &L->wv, dt, err)) ||
            (rc = add_mat(&wr, P("self_attn.o_proj.weight"), &L->wo, dt, err)) ||
            (rc = add_vec(&wr, P("post_attention_layernorm.weight"), L->ffn_norm, c->dim, dt, err)) ||
            (rc = add_mat(&wr, P("mlp.gate_proj.weight"), &L->w_gate, dt, err)) ||
            (rc = add_mat(&wr, P("mlp.up_proj.weight"), &L->w_up, dt, err)) ||
            (rc = add_mat(&wr, P("mlp.down_proj.weight"), &L->w_down, dt, err)))
            break;
#undef P
    }
    if (!rc) rc = add_vec(&wr, "model.norm.weight", m->out_norm, c->dim, dt, err);
    if (!rc && !c->tied_embeddings) rc = add_mat(&wr, "lm_head.weight", &m->lm_head, dt, err);
    if (!rc) rc = ob_st_writer_meta(wr.w, "format", "pt", err);
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!rc) rc = ob_st_writer_write(wr.w, path, err);
    if (!rc) rc = write_config(m, dir, dt, err);
    ob_st_writer_free(wr.w);
    for (int i = 0; i < wr.n_bufs; i++) free(wr.bufs[i]);
    free(wr.bufs);
    return rc;
}

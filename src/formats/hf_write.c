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

#include "formats/gptq_pack.h"
#include "formats/hf_write.h"
#include "formats/safetensors.h"
#include "kernels/quant.h"
#include "kernels/sparse.h"
#include "model/model.h"

typedef struct {
    ob_st_writer *w;
    void **bufs;
    int n_bufs, cap;
    int gptq;           /* linears as GPTQ tensors                        */
    int container;      /* quantized matrices as raw rows (own format)   */
    int qfmt;           /* their shared format (-1 until the first)      */
    int bits, v2, sym;  /* what the config will say                       */
    int maps;           /* some matrix was written with its index maps   */
} writer;

/* Hands p (malloc'd) to the writer, which frees it after writing. */
static void *adopt(writer *wr, void *p) {
    if (!p) return NULL;
    if (wr->n_bufs == wr->cap) {
        int cap = wr->cap ? 2 * wr->cap : 64;
        void **b = realloc(wr->bufs, (size_t)cap * sizeof *b);
        if (!b) {
            free(p);
            return NULL;
        }
        wr->bufs = b;
        wr->cap = cap;
    }
    wr->bufs[wr->n_bufs++] = p;
    return p;
}

static void *keep(writer *wr, size_t size) { return adopt(wr, malloc(size ? size : 1)); }

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

/* The integers, scales and zero points of a group-wise int matrix
 * (malloc'd [R x C], [R x ng], [R x ng]); q NULL: the headers only. */
static int decode_group(const ob_matrix *m, uint8_t **q, float **sc, float **ze, int64_t *ng_out) {
    const int64_t R = m->rows, C = m->cols, ng = ob_ceil_div(C, ob_qgroup_size(m->format, C));
    uint16_t *hs = malloc((size_t)ng * sizeof *hs);
    int32_t *hz = malloc((size_t)ng * sizeof *hz);
    if (q) *q = malloc((size_t)(R * C));
    *sc = malloc((size_t)(R * ng) * sizeof **sc);
    *ze = malloc((size_t)(R * ng) * sizeof **ze);
    *ng_out = ng;
    int bad = !hs || !hz || (q && !*q) || !*sc || !*ze;
    for (int64_t r = 0; !bad && r < R; r++) {
        ob_qgroup_unpack_row(m->format, (const uint8_t *)m->data + r * m->row_bytes, C, q ? *q + r * C : NULL, hs, hz);
        for (int64_t g = 0; g < ng; g++) {
            (*sc)[r * ng + g] = ob_f16_to_f32(hs[g]);
            (*ze)[r * ng + g] = (float)hz[g];
        }
    }
    free(hs);
    free(hz);
    return bad ? -1 : 0;
}

static int is_group_int(const ob_matrix *m) { return m->format >= OB_FMT_I4_G32 && m->format <= OB_FMT_I8_ROW; }

/* Before writing: one shared format, whether v2 is needed, whether every
 * zero point sits in the middle (symmetric). */
static int scan_linears(writer *wr, const ob_model *m, const char *dir, ob_err *err) {
    wr->qfmt = -1;
    wr->sym = 1;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const ob_layer *L = &m->layers[l];
        const ob_matrix *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int k = 0; k < 7; k++) {
            if (!ms[k]->data) continue;
            if (!is_group_int(ms[k]) || (wr->qfmt >= 0 && wr->qfmt != (int)ms[k]->format))
                return ob_fail(err, OB_EINVAL, "%s: GPTQ export needs every linear layer in one group-wise int format "
                               "(i4_g128, ...); layer %d has %s", dir, l, ob_format_name(ms[k]->format));
            wr->qfmt = ms[k]->format;
            float *sc, *ze;
            int64_t ng;
            if (decode_group(ms[k], NULL, &sc, &ze, &ng)) { /* headers only */
                free(sc), free(ze);
                return ob_fail(err, OB_ENOMEM, "out of memory");
            }
            int is8 = ob_qgroup_is_int8(ms[k]->format);
            for (int64_t i = 0; i < ms[k]->rows * ng; i++) {
                wr->v2 |= ze[i] == 0;
                wr->sym &= ze[i] == (is8 ? 128 : 8);
            }
            free(sc), free(ze);
        }
    }
    if (wr->qfmt < 0) return ob_fail(err, OB_EINVAL, "%s: the model has no linear layers", dir);
    wr->bits = ob_qgroup_is_int8((ob_format)wr->qfmt) ? 8 : 4;
    return 0;
}

/* name's qweight, qzeros, scales, g_idx (name ends in ".weight"). */
static int add_gptq(writer *wr, const char *name, const ob_matrix *m, ob_err *err) {
    uint8_t *q;
    float *sc, *ze;
    int64_t ng;
    ob_gptq_packed p;
    if (decode_group(m, &q, &sc, &ze, &ng)) {
        free(q), free(sc), free(ze);
        return ob_fail(err, OB_ENOMEM, "out of memory");
    }
    int32_t *g_idx = malloc((size_t)m->cols * sizeof *g_idx);
    const int64_t G = ob_qgroup_size(m->format, m->cols);
    for (int64_t c = 0; g_idx && c < m->cols; c++) g_idx[c] = (int32_t)(c / G);
    int rc = g_idx ? ob_gptq_pack(q, sc, ze, g_idx, m->rows, m->cols, ng, wr->bits, wr->v2, &p, err)
                   : ob_fail(err, OB_ENOMEM, "out of memory");
    free(q), free(sc), free(ze), free(g_idx);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return ob_fail(err, rc, "%s: %s", name, msg);
    }
    char base[200], n[256];
    snprintf(base, sizeof base, "%.*s", (int)(strlen(name) - strlen(".weight")), name);
    int64_t sq[2] = {m->cols * wr->bits / 32, m->rows}, sz[2] = {ng, m->rows * wr->bits / 32}, ss[2] = {ng, m->rows},
            sg[1] = {m->cols};
    if (!adopt(wr, p.qweight) || !adopt(wr, p.qzeros) || !adopt(wr, p.scales) || !adopt(wr, p.g_idx))
        return ob_fail(err, OB_ENOMEM, "out of memory");
    if ((snprintf(n, sizeof n, "%s.qweight", base), rc = ob_st_writer_add(wr->w, n, OB_DT_I32, 2, sq, p.qweight, err)) ||
        (snprintf(n, sizeof n, "%s.qzeros", base), rc = ob_st_writer_add(wr->w, n, OB_DT_I32, 2, sz, p.qzeros, err)) ||
        (snprintf(n, sizeof n, "%s.scales", base), rc = ob_st_writer_add(wr->w, n, OB_DT_F16, 2, ss, p.scales, err)) ||
        (snprintf(n, sizeof n, "%s.g_idx", base), rc = ob_st_writer_add(wr->w, n, OB_DT_I32, 1, sg, p.g_idx, err)))
        return rc;
    return 0;
}

static int add_mat(writer *wr, const char *name, const ob_matrix *m, ob_dtype dt, ob_err *err);

/* One index map, I32 [n], as "<name without .weight><suffix>". */
static int add_index(writer *wr, const char *name, const char *suffix, const int32_t *keep, int64_t n, ob_err *err) {
    char key[300];
    snprintf(key, sizeof key, "%.*s%s", (int)(strlen(name) - strlen(".weight")), name, suffix);
    return ob_st_writer_add(wr->w, key, OB_DT_I32, 1, &n, keep, err);
}

/* A channel-pruned matrix: in the container its stored rows plus the maps
 * (I32 "<base>.in_index" / "<base>.out_index"); elsewhere the logical
 * matrix with zeros where channels were removed, which any reader takes. */
static int add_mapped(writer *wr, const char *name, const ob_matrix *m, ob_dtype dt, ob_err *err) {
    ob_matrix stored = *m;
    stored.in_keep = stored.out_keep = NULL;
    if (wr->gptq) return ob_fail(err, OB_EUNSUP, "%s: channel-pruned (index maps); GPTQ export needs whole matrices", name);
    if (wr->container) {
        int rc = add_mat(wr, name, &stored, dt, err);
        if (!rc && m->in_keep) rc = add_index(wr, name, ".in_index", m->in_keep, m->cols, err);
        if (!rc && m->out_keep) rc = add_index(wr, name, ".out_index", m->out_keep, m->rows, err);
        wr->maps = 1;
        return rc;
    }
    const int64_t R = ob_matrix_out_dim(m), C = ob_matrix_in_dim(m), shape[2] = {R, C};
    float *full = keep(wr, (size_t)(R * C) * sizeof(float)), *row = malloc((size_t)m->cols * sizeof(float));
    if (!full || !row) {
        free(row);
        return ob_fail(err, OB_ENOMEM, "out of memory");
    }
    memset(full, 0, (size_t)(R * C) * sizeof(float));
    for (int64_t r = 0; r < m->rows; r++) {
        m->ops->dequant_row(m, r, row);
        float *dst = full + (m->out_keep ? m->out_keep[r] : r) * C;
        for (int64_t c = 0; c < m->cols; c++) dst[m->in_keep ? m->in_keep[c] : c] = row[c];
    }
    free(row);
    const void *data = encode(wr, full, R * C, dt);
    if (!data) return ob_fail(err, OB_ENOMEM, "out of memory");
    return ob_st_writer_add(wr->w, name, dt, 2, shape, data, err);
}

static int add_mat(writer *wr, const char *name, const ob_matrix *m, ob_dtype dt, ob_err *err) {
    if (m->x16) /* an inference layout: a bug of the caller, never a file */
        return ob_fail(err, OB_EINVAL, "%s is in the x16 inference layout", name);
    if (ob_matrix_has_maps(m)) return add_mapped(wr, name, m, dt, err);
    if (wr->gptq && strstr(name, "layers.")) return add_gptq(wr, name, m, err);
    if (wr->container && (int)m->format >= OB_FMT_DENSE_COUNT) { /* the rows as they are */
        /* sparse rows vary in length: one U8 [bytes] (the loader rebuilds aux) */
        const int sparse = ob_format_is_sparse(m->format);
        int64_t shape[2] = {sparse ? (int64_t)ob_matrix_bytes(m) : m->rows, (int64_t)m->row_bytes};
        char key[300];
        snprintf(key, sizeof key, "optibench.format.%s", name);
        int rc = ob_st_writer_meta(wr->w, key, ob_format_name(m->format), err);
        return rc ? rc : ob_st_writer_add(wr->w, name, OB_DT_U8, sparse ? 1 : 2, shape, m->data, err);
    }
    int64_t shape[2] = {m->rows, m->cols};
    float *rowbuf = keep(wr, (size_t)m->rows * m->cols * sizeof(float));
    if (!rowbuf) return ob_fail(err, OB_ENOMEM, "out of memory");
    for (int64_t r = 0; r < m->rows; r++) m->ops->dequant_row(m, r, rowbuf + r * m->cols);
    const void *data = encode(wr, rowbuf, m->rows * m->cols, dt);
    if (!data) return ob_fail(err, OB_ENOMEM, "out of memory");
    return ob_st_writer_add(wr->w, name, dt, 2, shape, data, err);
}

static int write_config(const ob_model *m, const char *dir, ob_dtype dt, const writer *wr, ob_err *err) {
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
    if (wr->container) {
        json_t *qc = json_pack("{s:s, s:i}", "quant_method", "optibench", "version", 1);
        if (wr->maps) json_object_set_new(qc, "index_maps", json_true()); /* channel-pruned matrices (hf_maps.h) */
        json_object_set_new(j, "quantization_config", qc);
    }
    if (wr->gptq) {
        int64_t G = ob_qgroup_size((ob_format)wr->qfmt, 1 << 30);
        json_object_set_new(j, "quantization_config",
                            json_pack("{s:s, s:i, s:I, s:b, s:b, s:s, s:b, s:b, s:s}", "quant_method", "gptq", "bits",
                                      wr->bits, "group_size", (json_int_t)(G == (1 << 30) ? -1 : G), "desc_act", 0,
                                      "sym", wr->sym, "checkpoint_format", wr->v2 ? "gptq_v2" : "gptq",
                                      "true_sequential", 0, "static_groups", 0, "pack_dtype", "int32"));
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return rc ? ob_fail(err, OB_EIO, "%s: cannot write", path) : 0;
}

static int save(const ob_model *m, const char *dir, ob_dtype dt, int gptq, int container, ob_err *err) {
    const ob_config *c = &m->cfg;
    if (c->arch != OB_ARCH_LLAMA)
        return ob_fail(err, OB_EUNSUP, "%s: saving is implemented for llama-family models only", dir);
    if (dt != OB_DT_F32 && dt != OB_DT_F16 && dt != OB_DT_BF16)
        return ob_fail(err, OB_EINVAL, "%s: dtype must be F32, F16 or BF16", dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return ob_fail(err, OB_EIO, "%s: cannot create: %s", dir, strerror(errno));
    if (!ob_is_dir(dir)) return ob_fail(err, OB_EIO, "%s: exists and is not a directory", dir);
    for (int l = 0; l < c->n_layers; l++) {
        const ob_layer *L = &m->layers[l];
        if (L->n_heads != c->n_heads || L->n_kv_heads != c->n_kv_heads || L->ffn_dim != c->ffn_dim)
            return ob_fail(err, OB_EUNSUP, "%s: layer %d has its own widths (%d/%d heads, ffn %d; config %d/%d, %d); "
                           "config.json describes uniform layers only", dir, l, L->n_heads, L->n_kv_heads, L->ffn_dim,
                           c->n_heads, c->n_kv_heads, c->ffn_dim);
    }
    writer wr = {.gptq = gptq, .container = container, .qfmt = -1};
    int rc = ob_model_check_finite(m, err);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return ob_fail(err, rc, "%s: %s", dir, msg);
    }
    rc = gptq ? scan_linears(&wr, m, dir, err) : 0;
    if (!rc) rc = ob_st_writer_new(&wr.w, err);
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
    if (!rc && container) rc = ob_st_writer_meta(wr.w, "optibench.container", "1", err);
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!rc) rc = ob_st_writer_write(wr.w, path, err);
    if (!rc) rc = write_config(m, dir, dt, &wr, err);
    ob_st_writer_free(wr.w);
    for (int i = 0; i < wr.n_bufs; i++) free(wr.bufs[i]);
    free(wr.bufs);
    return rc;
}

int ob_model_save_hf(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err) {
    return save(m, dir, dt, 0, 0, err);
}

int ob_model_save_hf_gptq(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err) {
    return save(m, dir, dt, 1, 0, err);
}

int ob_model_save_hf_container(const ob_model *m, const char *dir, ob_dtype dt, ob_err *err) {
    return save(m, dir, dt, 0, 1, err);
}

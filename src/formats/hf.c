/* hf.c - Hugging Face model directories: config.json + safetensors (+ tokenizer.json,
 * or BioGPT's vocab.json + merges.txt).
 *
 * Tensors are looked up by the transformers names of each family:
 *   llama/mistral/qwen2: model.embed_tokens, model.layers.N.{input_layernorm,
 *     self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj},
 *     model.norm, lm_head (absent when tied)
 *   gpt2: [transformer.]{wte, wpe, h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2,
 *     mlp.c_fc, mlp.c_proj}, ln_f}; Conv1D weights are stored (in, out) and
 *     are transposed here into owned copies, c_attn split into q, k, v
 *   biogpt: biogpt.{embed_tokens, embed_positions, layers.N.{self_attn.{q,k,v,
 *     out}_proj, self_attn_layer_norm, fc1, fc2, final_layer_norm}, layer_norm},
 *     output_projection
 * Matrices stored (out, in) in F32, F16 or BF16 are used in place from the
 * mapping; norm weights and biases are widened to float32 when needed. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/hf_gptq.h"
#include "formats/hf_maps.h"
#include "formats/safetensors.h"
#include "kernels/sparse.h"
#include "model/model.h"

typedef struct {
    ob_model *m;
    const char *dir;
    ob_err *err;
    ob_hf_gptq gptq; /* quantization_config, if the linears are GPTQ-packed */
    int container;   /* optibench's own container (hf_write.h)          */
    int maps;        /* ... whose matrices may carry index maps (hf_maps.h) */
} hf_ctx;

static const ob_tensor *find_tensor(hf_ctx *h, const char *name) {
    for (int i = 0; i < h->m->n_st; i++) {
        const ob_tensor *t = ob_st_find(h->m->st_files[i], name);
        if (t) return t;
    }
    return NULL;
}

static int dtype_format(ob_dtype dt, ob_format *f) {
    if (dt == OB_DT_F32) *f = OB_FMT_F32;
    else if (dt == OB_DT_F16) *f = OB_FMT_F16;
    else if (dt == OB_DT_BF16) *f = OB_FMT_BF16;
    else return -1;
    return 0;
}

static const ob_tensor *need(hf_ctx *h, const char *name, int64_t d0, int64_t d1) {
    const ob_tensor *t = find_tensor(h, name);
    if (!t) {
        ob_fail(h->err, OB_EFORMAT, "%s: missing tensor '%s'", h->dir, name);
        return NULL;
    }
    ob_format f;
    if (dtype_format(t->dtype, &f)) {
        ob_fail(h->err, OB_EUNSUP, "%s: tensor '%s' has dtype %s (expected F32, F16 or BF16)", h->dir, name,
                ob_dtype_name(t->dtype));
        return NULL;
    }
    int want_dims = d1 < 0 ? 1 : 2;
    if (t->n_dims != want_dims || t->shape[0] != d0 || (want_dims == 2 && t->shape[1] != d1)) {
        char got[64] = "";
        for (int i = 0; i < t->n_dims && i < 4; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "x" : "", (long long)t->shape[i]);
        if (want_dims == 2)
            ob_fail(h->err, OB_EFORMAT, "%s: tensor '%s' has shape [%s], expected [%lldx%lld]", h->dir, name, got,
                    (long long)d0, (long long)d1);
        else
            ob_fail(h->err, OB_EFORMAT, "%s: tensor '%s' has shape [%s], expected [%lld]", h->dir, name, got,
                    (long long)d0);
        return NULL;
    }
    return t;
}

static float elem_f32(const ob_tensor *t, int64_t i) {
    if (t->dtype == OB_DT_F32) {
        float v;
        memcpy(&v, (const char *)t->data + 4 * i, 4);
        return v;
    }
    uint16_t u;
    memcpy(&u, (const char *)t->data + 2 * i, 2);
    return t->dtype == OB_DT_F16 ? ob_f16_to_f32(u) : ob_bf16_to_f32(u);
}

/* A float32 vector of n elements (a norm weight or a bias). */
static int vec(hf_ctx *h, const char *name, int64_t n, const float **out) {
    const ob_tensor *t = need(h, name, n, -1);
    if (!t) return h->err->code;
    if (t->dtype == OB_DT_F32 && ((uintptr_t)t->data & 3) == 0) {
        *out = t->data;
        return 0;
    }
    float *v = ob_model_alloc(h->m, (size_t)n * sizeof(float));
    if (!v) return ob_fail(h->err, OB_ENOMEM, "%s: out of memory", h->dir);
    for (int64_t i = 0; i < n; i++) v[i] = elem_f32(t, i);
    *out = v;
    return 0;
}

/* A matrix stored (rows, cols), used in place. */
static const ob_tensor *find_cb(void *u, const char *name) { return find_tensor(u, name); }

/* A sparse matrix of the container: U8 [bytes], the packed rows; the
 * row-offset table is rebuilt from the masks (and everything checked). */
static int container_sparse(hf_ctx *h, const ob_tensor *t, const char *file, const char *name, ob_format f,
                            int64_t rows, int64_t cols, ob_matrix *w) {
    const char *fname = ob_format_name(f);
    if (cols % OB_SP_COLS || t->n_dims != 1)
        return ob_fail(h->err, OB_EFORMAT, "%s: tensor '%s': %s data of a %lld x %lld matrix must be U8 [bytes] and its "
                       "columns a multiple of 32", file, name, fname, (long long)rows, (long long)cols);
    const size_t ab = ob_sparse_aux_bytes(f, rows);
    void *aux = ab ? ob_model_alloc(h->m, ab) : NULL;
    if (ab && !aux) return ob_fail(h->err, OB_ENOMEM, "%s: out of memory", h->dir);
    ob_err e = {0};
    if (ob_sparse_index(f, t->data, (size_t)t->shape[0], rows, cols, aux, &e))
        return ob_fail(h->err, OB_EFORMAT, "%s: tensor '%s': %s", file, name, e.msg);
    ob_matrix_init_sparse(w, f, rows, cols, t->data, aux);
    return 0;
}

/* A matrix of optibench's container: U8 [rows, row_bytes] rows in the
 * format its file's metadata names ("optibench.format.<name>"); sparse
 * formats U8 [bytes] (container_sparse). */
static int container_mat(hf_ctx *h, const ob_tensor *t, const char *name, int64_t rows, int64_t cols, ob_matrix *w) {
    const char *meta = NULL, *file = h->dir;
    for (int i = 0; i < h->m->n_st && !meta; i++)
        if (ob_st_find(h->m->st_files[i], name)) {
            meta = ((ob_safetensors *)h->m->st_files[i])->metadata_json;
            file = ((ob_safetensors *)h->m->st_files[i])->path;
        }
    json_t *j = meta ? json_loads(meta, 0, NULL) : NULL;
    char key[300];
    snprintf(key, sizeof key, "optibench.format.%s", name);
    const char *fname = json_string_value(json_object_get(j, key));
    int f = fname ? ob_format_from_name(fname) : -1;
    int rc = 0;
    if (f < OB_FMT_DENSE_COUNT)
        rc = ob_fail(h->err, OB_EFORMAT, "%s: tensor '%s': U8 rows without a known format in the metadata (%s)", h->dir,
                     name, fname ? fname : "none");
    else if (ob_format_is_sparse((ob_format)f))
        rc = container_sparse(h, t, file, name, (ob_format)f, rows, cols, w);
    const ob_format_ops *ops = rc || ob_format_is_sparse((ob_format)f) ? NULL : ob_format_get((ob_format)f);
    if (ops && (cols % ops->col_block || t->n_dims != 2 || t->shape[0] != rows ||
                t->shape[1] != (int64_t)ops->row_bytes(cols)))
        rc = ob_fail(h->err, OB_EFORMAT, "%s: tensor '%s': %s rows of a %lld x %lld matrix must be U8 [%lld, %zu]", h->dir,
                     name, fname, (long long)rows, (long long)cols, (long long)rows, ops->row_bytes(cols));
    if (ops && !rc) ob_matrix_init(w, (ob_format)f, rows, cols, t->data);
    json_decref(j);
    return rc;
}

static int mat_stored(hf_ctx *h, const char *name, int64_t rows, int64_t cols, ob_matrix *w);

/* A matrix of logical shape (rows, cols); in a container with index maps
 * it may be stored smaller, with "<base>.in_index" / "<base>.out_index". */
static int mat(hf_ctx *h, const char *name, int64_t rows, int64_t cols, ob_matrix *w) {
    if (!h->maps) return mat_stored(h, name, rows, cols, w);
    const int32_t *ik, *ok;
    int64_t ni, no;
    int rc = ob_hf_index_map(h->m, h->dir, find_cb, h, name, ".in_index", cols, &ik, &ni, h->err);
    if (!rc) rc = ob_hf_index_map(h->m, h->dir, find_cb, h, name, ".out_index", rows, &ok, &no, h->err);
    if (!rc) rc = mat_stored(h, name, no, ni, w);
    if (rc) return rc;
    w->in_keep = ik, w->in_full = cols;
    w->out_keep = ok, w->out_full = rows;
    return 0;
}

static int mat_stored(hf_ctx *h, const char *name, int64_t rows, int64_t cols, ob_matrix *w) {
    size_t nl = strlen(name);
    if (h->gptq.bits && !find_tensor(h, name) && nl > 7 && !strcmp(name + nl - 7, ".weight")) {
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(nl - 7), name);
        return ob_hf_gptq_matrix(h->m, h->dir, &h->gptq, base, find_cb, h, rows, cols, w, h->err);
    }
    const ob_tensor *u8 = h->container ? find_tensor(h, name) : NULL;
    if (u8 && u8->dtype == OB_DT_U8) return container_mat(h, u8, name, rows, cols, w);
    const ob_tensor *t = need(h, name, rows, cols);
    if (!t) return h->err->code;
    ob_format f = OB_FMT_F32;
    dtype_format(t->dtype, &f);
    ob_matrix_init(w, f, rows, cols, t->data);
    return 0;
}

/* Rows [r0, r0+rows) of the transpose of a Conv1D weight stored (in, out):
 * W[r][c] = T[c][r0 + r], in the tensor's own dtype. */
static int mat_conv1d(hf_ctx *h, const char *name, int64_t in, int64_t out_total, int64_t r0, int64_t rows,
                      ob_matrix *w) {
    const ob_tensor *t = need(h, name, in, out_total);
    if (!t) return h->err->code;
    ob_format f = OB_FMT_F32;
    dtype_format(t->dtype, &f);
    size_t es = ob_dtype_size(t->dtype);
    char *dst = ob_model_alloc(h->m, (size_t)rows * in * es);
    if (!dst) return ob_fail(h->err, OB_ENOMEM, "%s: out of memory", h->dir);
    const char *src = t->data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < in; c++)
            memcpy(dst + ((size_t)r * in + c) * es, src + ((size_t)c * out_total + r0 + r) * es, es);
    ob_matrix_init(w, f, rows, in, dst);
    return 0;
}

/* A slice [r0, r0+n) of a vector (the q/k/v parts of c_attn's bias). */
static int vec_slice(hf_ctx *h, const char *name, int64_t total, int64_t r0, int64_t n, const float **out) {
    const ob_tensor *t = need(h, name, total, -1);
    if (!t) return h->err->code;
    float *v = ob_model_alloc(h->m, (size_t)n * sizeof(float));
    if (!v) return ob_fail(h->err, OB_ENOMEM, "%s: out of memory", h->dir);
    for (int64_t i = 0; i < n; i++) v[i] = elem_f32(t, r0 + i);
    *out = v;
    return 0;
}

static int open_weights(hf_ctx *h, const ob_load_params *p) {
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", h->dir);
    if (ob_is_file(path)) {
        h->m->st_files = calloc(1, sizeof(void *));
        if (!h->m->st_files) return ob_fail(h->err, OB_ENOMEM, "%s: out of memory", h->dir);
        int rc = ob_st_open(path, p->use_mmap, (ob_safetensors **)&h->m->st_files[0], h->err);
        if (!rc) h->m->n_st = 1;
        return rc;
    }
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", h->dir);
    if (!ob_is_file(path))
        return ob_fail(h->err, OB_EIO, "%s: no model.safetensors or model.safetensors.index.json", h->dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return ob_fail(h->err, OB_EFORMAT, "%s: line %d column %d: %s", path, je.line, je.column, je.text);
    json_t *map = json_object_get(root, "weight_map");
    if (!json_is_object(map)) {
        json_decref(root);
        return ob_fail(h->err, OB_EFORMAT, "%s: no \"weight_map\" object", path);
    }
    /* distinct shard names, in order of first appearance */
    size_t n = json_object_size(map);
    h->m->st_files = calloc(n ? n : 1, sizeof(void *));
    const char **names = calloc(n ? n : 1, sizeof *names);
    int rc = (!h->m->st_files || !names) ? ob_fail(h->err, OB_ENOMEM, "%s: out of memory", path) : 0;
    int n_names = 0;
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v) {
        if (rc) break;
        if (!json_is_string(v)) {
            rc = ob_fail(h->err, OB_EFORMAT, "%s: weight_map entry '%s' is not a file name", path, key);
            break;
        }
        const char *s = json_string_value(v);
        if (strchr(s, '/') || !strcmp(s, "..")) {
            rc = ob_fail(h->err, OB_EFORMAT, "%s: shard name '%s' is not a plain file name", path, s);
            break;
        }
        int seen = 0;
        for (int i = 0; i < n_names; i++) seen |= !strcmp(names[i], s);
        if (!seen) names[n_names++] = s;
    }
    for (int i = 0; !rc && i < n_names; i++) {
        char shard[2048];
        snprintf(shard, sizeof shard, "%s/%s", h->dir, names[i]);
        rc = ob_st_open(shard, p->use_mmap, (ob_safetensors **)&h->m->st_files[h->m->n_st], h->err);
        if (!rc) h->m->n_st++;
    }
    free(names);
    json_decref(root);
    return rc;
}

static int jint(json_t *cfg, const char *key, int def) {
    json_t *v = json_object_get(cfg, key);
    return json_is_integer(v) ? (int)json_integer_value(v) : def;
}
static double jnum(json_t *cfg, const char *key, double def) {
    json_t *v = json_object_get(cfg, key);
    return json_is_number(v) ? json_number_value(v) : def;
}
static int jtoken(json_t *cfg, const char *key) {
    json_t *v = json_object_get(cfg, key);
    if (json_is_array(v)) v = json_array_get(v, 0);
    return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

static int parse_config(hf_ctx *h, json_t *cfg, const char *path) {
    ob_config *c = &h->m->cfg;
    json_t *mt = json_object_get(cfg, "model_type");
    if (!json_is_string(mt)) return ob_fail(h->err, OB_EFORMAT, "%s: no \"model_type\"", path);
    const char *type = json_string_value(mt);
    memset(c, 0, sizeof *c);
    c->embed_scale = 1.0f;
    c->bos_id = jtoken(cfg, "bos_token_id");
    c->eos_id = jtoken(cfg, "eos_token_id");
    if (!strcmp(type, "llama") || !strcmp(type, "mistral") || !strcmp(type, "qwen2")) {
        c->arch = OB_ARCH_LLAMA;
        c->dim = jint(cfg, "hidden_size", 0);
        c->n_layers = jint(cfg, "num_hidden_layers", 0);
        c->n_heads = jint(cfg, "num_attention_heads", 0);
        c->n_kv_heads = jint(cfg, "num_key_value_heads", c->n_heads);
        c->ffn_dim = jint(cfg, "intermediate_size", 0);
        c->max_seq = jint(cfg, "max_position_embeddings", 2048);
        c->norm_eps = (float)jnum(cfg, "rms_norm_eps", 1e-6);
        c->rope_theta = (float)jnum(cfg, "rope_theta", 10000.0);
        c->tied_embeddings = json_is_true(json_object_get(cfg, "tie_word_embeddings"));
        c->act = OB_ACT_SWIGLU;
        c->qkv_bias = !strcmp(type, "qwen2");
        /* Mistral attends to the last sliding_window positions; Qwen2 only
         * when use_sliding_window is true */
        json_t *use_sw = json_object_get(cfg, "use_sliding_window");
        if (!strcmp(type, "mistral") || (!strcmp(type, "qwen2") && json_is_true(use_sw)))
            c->sliding_window = jint(cfg, "sliding_window", 0);
        if (c->sliding_window < 0) c->sliding_window = 0;
        json_t *rs = json_object_get(cfg, "rope_scaling");
        if (json_is_object(rs)) {
            json_t *rt = json_object_get(rs, "rope_type");
            if (!rt) rt = json_object_get(rs, "type");
            if (!json_is_string(rt) || strcmp(json_string_value(rt), "llama3"))
                return ob_fail(h->err, OB_EUNSUP, "%s: rope_scaling type '%s' is not supported (only llama3)", path,
                               json_is_string(rt) ? json_string_value(rt) : "?");
            c->rope_factor = (float)jnum(rs, "factor", 8.0);
            c->rope_low_freq_factor = (float)jnum(rs, "low_freq_factor", 1.0);
            c->rope_high_freq_factor = (float)jnum(rs, "high_freq_factor", 4.0);
            c->rope_orig_max_pos = jint(rs, "original_max_position_embeddings", 8192);
        }
    } else if (!strcmp(type, "gpt2")) {
        c->arch = OB_ARCH_GPT2;
        c->dim = jint(cfg, "n_embd", 768);
        c->n_layers = jint(cfg, "n_layer", 12);
        c->n_heads = jint(cfg, "n_head", 12);
        c->n_kv_heads = c->n_heads;
        c->ffn_dim = jint(cfg, "n_inner", 4 * c->dim);
        c->max_seq = jint(cfg, "n_positions", 1024);
        c->norm_eps = (float)jnum(cfg, "layer_norm_epsilon", 1e-5);
        c->tied_embeddings = 1;
        c->layer_norm = 1;
        c->learned_pos = 1;
        c->act = OB_ACT_GELU_TANH;
        c->qkv_bias = c->out_bias = c->ffn_bias = 1;
    } else if (!strcmp(type, "biogpt")) {
        c->arch = OB_ARCH_BIOGPT;
        c->dim = jint(cfg, "hidden_size", 1024);
        c->n_layers = jint(cfg, "num_hidden_layers", 24);
        c->n_heads = jint(cfg, "num_attention_heads", 16);
        c->n_kv_heads = c->n_heads;
        c->ffn_dim = jint(cfg, "intermediate_size", 4096);
        c->max_seq = jint(cfg, "max_position_embeddings", 1024);
        c->norm_eps = (float)jnum(cfg, "layer_norm_eps", 1e-12);
        c->tied_embeddings = 1;
        c->layer_norm = 1;
        c->learned_pos = 1;
        c->pos_offset = 2; /* fairseq's learned positions start at padding_idx + 1 = 2 */
        json_t *se = json_object_get(cfg, "scale_embedding");
        c->embed_scale = (!se || json_is_true(se)) ? sqrtf((float)c->dim) : 1.0f;
        json_t *act = json_object_get(cfg, "hidden_act");
        c->act = (json_is_string(act) && !strcmp(json_string_value(act), "gelu_new")) ? OB_ACT_GELU_TANH : OB_ACT_GELU;
        c->qkv_bias = c->out_bias = c->ffn_bias = 1;
    } else {
        return ob_fail(h->err, OB_EUNSUP, "%s: unknown architecture (model_type \"%s\"); supported: llama, mistral, qwen2, gpt2, biogpt",
                       path, type);
    }
    if (c->arch == OB_ARCH_GPT2) {
        json_t *ni = json_object_get(cfg, "n_inner");
        if (json_is_null(ni) || !ni) c->ffn_dim = 4 * c->dim;
        json_t *af = json_object_get(cfg, "activation_function");
        if (json_is_string(af) && !strcmp(json_string_value(af), "gelu")) c->act = OB_ACT_GELU;
    }
    c->n_vocab = jint(cfg, "vocab_size", 0);
    if (c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->ffn_dim <= 0 ||
        c->n_vocab <= 0 || c->max_seq <= 0 || c->n_layers > 4096 || c->n_heads > 4096 || c->n_kv_heads > c->n_heads)
        return ob_fail(h->err, OB_EFORMAT, "%s: missing or invalid sizes (hidden %d, layers %d, heads %d/%d, ffn %d, vocab %d)",
                       path, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->ffn_dim, c->n_vocab);
    c->head_dim = jint(cfg, "head_dim", c->dim / c->n_heads);
    if (c->head_dim <= 0 || (c->arch != OB_ARCH_LLAMA && c->head_dim * c->n_heads != c->dim))
        return ob_fail(h->err, OB_EFORMAT, "%s: hidden size %d does not split into %d heads", path, c->dim, c->n_heads);
    const char *slash = strrchr(h->dir, '/');
    const char *base = (slash && slash[1]) ? slash + 1 : h->dir;
    snprintf(c->name, sizeof c->name, "%s", base);
    return 0;
}

static int load_llama(hf_ctx *h) {
    ob_model *m = h->m;
    const ob_config *c = &m->cfg;
    char n[256];
    int rc;
    int64_t q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
    if ((rc = mat(h, "model.embed_tokens.weight", c->n_vocab, c->dim, &m->tok_embd))) return rc;
    if ((rc = vec(h, "model.norm.weight", c->dim, &m->out_norm))) return rc;
    if (c->tied_embeddings || !find_tensor(h, "lm_head.weight")) {
        m->lm_head = m->tok_embd;
        m->cfg.tied_embeddings = 1;
    } else if ((rc = mat(h, "lm_head.weight", c->n_vocab, c->dim, &m->lm_head))) {
        return rc;
    }
    for (int l = 0; l < c->n_layers; l++) {
        ob_layer *L = &m->layers[l];
#define P(s) (snprintf(n, sizeof n, "model.layers.%d." s, l), n)
        if ((rc = vec(h, P("input_layernorm.weight"), c->dim, &L->attn_norm)) ||
            (rc = vec(h, P("post_attention_layernorm.weight"), c->dim, &L->ffn_norm)) ||
            (rc = mat(h, P("self_attn.q_proj.weight"), q, c->dim, &L->wq)) ||
            (rc = mat(h, P("self_attn.k_proj.weight"), kv, c->dim, &L->wk)) ||
            (rc = mat(h, P("self_attn.v_proj.weight"), kv, c->dim, &L->wv)) ||
            (rc = mat(h, P("self_attn.o_proj.weight"), c->dim, q, &L->wo)) ||
            (rc = mat(h, P("mlp.gate_proj.weight"), c->ffn_dim, c->dim, &L->w_gate)) ||
            (rc = mat(h, P("mlp.up_proj.weight"), c->ffn_dim, c->dim, &L->w_up)) ||
            (rc = mat(h, P("mlp.down_proj.weight"), c->dim, c->ffn_dim, &L->w_down)))
            return rc;
        if (c->qkv_bias &&
            ((rc = vec(h, P("self_attn.q_proj.bias"), q, &L->bq)) || (rc = vec(h, P("self_attn.k_proj.bias"), kv, &L->bk)) ||
             (rc = vec(h, P("self_attn.v_proj.bias"), kv, &L->bv))))
            return rc;
#undef P
    }
    return 0;
}

static int load_gpt2(hf_ctx *h) {
    ob_model *m = h->m;
    const ob_config *c = &m->cfg;
    const char *pre = find_tensor(h, "transformer.wte.weight") ? "transformer." : "";
    char n[256];
    int rc;
    int64_t d = c->dim, f = c->ffn_dim;
#define G(s) (snprintf(n, sizeof n, "%s" s, pre), n)
    if ((rc = mat(h, G("wte.weight"), c->n_vocab, d, &m->tok_embd))) return rc;
    const ob_tensor *wpe = need(h, G("wpe.weight"), c->max_seq, d);
    if (!wpe) return h->err->code;
#undef G
    { /* widened to f32: positions are added, not multiplied */
        float *pe = ob_model_alloc(m, (size_t)c->max_seq * d * sizeof(float));
        if (!pe) return ob_fail(h->err, OB_ENOMEM, "%s: out of memory", h->dir);
        for (int64_t i = 0; i < (int64_t)c->max_seq * d; i++) pe[i] = elem_f32(wpe, i);
        m->pos_embd = pe;
    }
    m->lm_head = m->tok_embd;
    for (int l = 0; l < c->n_layers; l++) {
        ob_layer *L = &m->layers[l];
#define P(s) (snprintf(n, sizeof n, "%sh.%d." s, pre, l), n)
        if ((rc = vec(h, P("ln_1.weight"), d, &L->attn_norm)) || (rc = vec(h, P("ln_1.bias"), d, &L->attn_norm_b)) ||
            (rc = vec(h, P("ln_2.weight"), d, &L->ffn_norm)) || (rc = vec(h, P("ln_2.bias"), d, &L->ffn_norm_b)) ||
            (rc = mat_conv1d(h, P("attn.c_attn.weight"), d, 3 * d, 0, d, &L->wq)) ||
            (rc = mat_conv1d(h, P("attn.c_attn.weight"), d, 3 * d, d, d, &L->wk)) ||
            (rc = mat_conv1d(h, P("attn.c_attn.weight"), d, 3 * d, 2 * d, d, &L->wv)) ||
            (rc = vec_slice(h, P("attn.c_attn.bias"), 3 * d, 0, d, &L->bq)) ||
            (rc = vec_slice(h, P("attn.c_attn.bias"), 3 * d, d, d, &L->bk)) ||
            (rc = vec_slice(h, P("attn.c_attn.bias"), 3 * d, 2 * d, d, &L->bv)) ||
            (rc = mat_conv1d(h, P("attn.c_proj.weight"), d, d, 0, d, &L->wo)) ||
            (rc = vec(h, P("attn.c_proj.bias"), d, &L->bo)) ||
            (rc = mat_conv1d(h, P("mlp.c_fc.weight"), d, f, 0, f, &L->w_up)) ||
            (rc = vec(h, P("mlp.c_fc.bias"), f, &L->b_up)) ||
            (rc = mat_conv1d(h, P("mlp.c_proj.weight"), f, d, 0, d, &L->w_down)) ||
            (rc = vec(h, P("mlp.c_proj.bias"), d, &L->b_down)))
            return rc;
#undef P
    }
    snprintf(n, sizeof n, "%sln_f.weight", pre);
    if ((rc = vec(h, n, d, &m->out_norm))) return rc;
    snprintf(n, sizeof n, "%sln_f.bias", pre);
    return vec(h, n, d, &m->out_norm_b);
}

static int load_biogpt(hf_ctx *h) {
    ob_model *m = h->m;
    const ob_config *c = &m->cfg;
    char n[256];
    int rc;
    int64_t d = c->dim, f = c->ffn_dim, npos = (int64_t)c->max_seq + c->pos_offset;
    if ((rc = mat(h, "biogpt.embed_tokens.weight", c->n_vocab, d, &m->tok_embd))) return rc;
    const ob_tensor *pe = need(h, "biogpt.embed_positions.weight", npos, d);
    if (!pe) return h->err->code;
    float *p = ob_model_alloc(m, (size_t)npos * d * sizeof(float));
    if (!p) return ob_fail(h->err, OB_ENOMEM, "%s: out of memory", h->dir);
    for (int64_t i = 0; i < npos * d; i++) p[i] = elem_f32(pe, i);
    m->pos_embd = p;
    if (find_tensor(h, "output_projection.weight")) {
        if ((rc = mat(h, "output_projection.weight", c->n_vocab, d, &m->lm_head))) return rc;
    } else {
        m->lm_head = m->tok_embd;
    }
    for (int l = 0; l < c->n_layers; l++) {
        ob_layer *L = &m->layers[l];
#define P(s) (snprintf(n, sizeof n, "biogpt.layers.%d." s, l), n)
        if ((rc = vec(h, P("self_attn_layer_norm.weight"), d, &L->attn_norm)) ||
            (rc = vec(h, P("self_attn_layer_norm.bias"), d, &L->attn_norm_b)) ||
            (rc = vec(h, P("final_layer_norm.weight"), d, &L->ffn_norm)) ||
            (rc = vec(h, P("final_layer_norm.bias"), d, &L->ffn_norm_b)) ||
            (rc = mat(h, P("self_attn.q_proj.weight"), d, d, &L->wq)) || (rc = vec(h, P("self_attn.q_proj.bias"), d, &L->bq)) ||
            (rc = mat(h, P("self_attn.k_proj.weight"), d, d, &L->wk)) || (rc = vec(h, P("self_attn.k_proj.bias"), d, &L->bk)) ||
            (rc = mat(h, P("self_attn.v_proj.weight"), d, d, &L->wv)) || (rc = vec(h, P("self_attn.v_proj.bias"), d, &L->bv)) ||
            (rc = mat(h, P("self_attn.out_proj.weight"), d, d, &L->wo)) ||
            (rc = vec(h, P("self_attn.out_proj.bias"), d, &L->bo)) ||
            (rc = mat(h, P("fc1.weight"), f, d, &L->w_up)) || (rc = vec(h, P("fc1.bias"), f, &L->b_up)) ||
            (rc = mat(h, P("fc2.weight"), d, f, &L->w_down)) || (rc = vec(h, P("fc2.bias"), d, &L->b_down)))
            return rc;
#undef P
    }
    if ((rc = vec(h, "biogpt.layer_norm.weight", d, &m->out_norm))) return rc;
    return vec(h, "biogpt.layer_norm.bias", d, &m->out_norm_b);
}

int ob_load_hf_dir(ob_model *m, const char *dir, const ob_load_params *p, ob_err *err) {
    hf_ctx h = {m, dir, err, {0, 0, 0}, 0, 0};
    char path[2048];
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!ob_is_file(path)) return ob_fail(err, OB_EIO, "%s: no config.json (not a Hugging Face model directory)", dir);
    json_error_t je;
    json_t *cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!cfg) return ob_fail(err, OB_EFORMAT, "%s: line %d column %d: %s", path, je.line, je.column, je.text);
    int rc = json_is_object(cfg) ? parse_config(&h, cfg, path) : ob_fail(err, OB_EFORMAT, "%s: not a JSON object", path);
    json_t *qc = json_object_get(cfg, "quantization_config");
    const char *qm = json_string_value(json_object_get(qc, "quant_method"));
    if (!rc && qm && !strcmp(qm, "optibench")) {
        json_int_t ver = json_integer_value(json_object_get(qc, "version"));
        h.container = 1;
        h.maps = json_is_true(json_object_get(qc, "index_maps"));
        if (ver != 1)
            rc = ob_fail(err, OB_EUNSUP, "%s: optibench container version %lld (this optibench reads version 1)", path,
                         (long long)ver);
    } else if (!rc) {
        rc = ob_hf_gptq_parse(cfg, dir, &h.gptq, err);
    }
    json_decref(cfg);
    if (rc) return rc;
    m->format_name = "safetensors";
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    if (!m->layers) return ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    ob_model_default_layer_shapes(m);
    if ((rc = open_weights(&h, p))) return rc;
    if (m->cfg.arch == OB_ARCH_LLAMA) rc = load_llama(&h);
    else if (m->cfg.arch == OB_ARCH_GPT2) rc = load_gpt2(&h);
    else rc = load_biogpt(&h);
    if (rc) return rc;

    /* generation_config.json may name other bos/eos ids than config.json */
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    json_t *gc = ob_is_file(path) ? json_load_file(path, 0, &je) : NULL;
    if (gc) {
        int b = jtoken(gc, "bos_token_id"), e = jtoken(gc, "eos_token_id");
        if (b >= 0) m->cfg.bos_id = b;
        if (e >= 0) m->cfg.eos_id = e;
        json_decref(gc);
    }
    char tj[2048], tc[2048];
    if (p->tokenizer_path) snprintf(tj, sizeof tj, "%s", p->tokenizer_path);
    else snprintf(tj, sizeof tj, "%s/tokenizer.json", dir);
    snprintf(tc, sizeof tc, "%s/tokenizer_config.json", dir);
    if (p->tokenizer_path || ob_is_file(tj)) {
        rc = ob_tokenizer_load_hf(tj, ob_is_file(tc) ? tc : NULL, &m->tok, err);
        if (rc) return rc;
    } else if (m->cfg.arch == OB_ARCH_BIOGPT) {
        /* BioGPT ships Moses + fastBPE files (vocab.json, merges.txt) */
        char vj[2048], mt[2048];
        snprintf(vj, sizeof vj, "%s/vocab.json", dir);
        snprintf(mt, sizeof mt, "%s/merges.txt", dir);
        if (ob_is_file(vj) && ob_is_file(mt)) {
            rc = ob_tokenizer_load_biogpt(vj, mt, &m->tok, err);
            if (rc) return rc;
        }
    }
    return 0;
}

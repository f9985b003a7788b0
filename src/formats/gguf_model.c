/* gguf_model.c - loading a llama-architecture GGUF file as an ob_model.
 *
 * Hyper-parameters come from llama.cpp's keys ("llama." prefix):
 * embedding_length, block_count, feed_forward_length, attention.head_count,
 * attention.head_count_kv, attention.key_length, context_length,
 * attention.layer_norm_rms_epsilon, rope.freq_base, rope.dimension_count.
 * Tensors have llama.cpp's names: token_embd, output_norm, output (absent
 * when tied), blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output,
 * ffn_norm, ffn_gate, ffn_up, ffn_down}.weight.
 *
 * llama.cpp's converter stores attn_q and attn_k rows in Meta's interleaved
 * RoPE order, so those two are permuted back into the Hugging Face order
 * (one owned copy each, any format: rows move whole).  Every other matrix
 * is used in place from the mapping; norms are widened to float32 when they
 * are stored as F16/BF16.  The tokenizer comes from tokenizer.ggml.*. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "model/model.h"
#include "tokenizer/gguf_tok.h"

typedef struct {
    ob_model *m;
    const ob_gguf *g;
    ob_err *err;
} gctx;

/* The ob_matrix format of a ggml type; the one place a newly supported
 * weight format needs a line. */
static int ggml_format(uint32_t type, ob_format *f) {
    switch (type) {
    case OB_GGML_F32: *f = OB_FMT_F32; return 0;
    case OB_GGML_F16: *f = OB_FMT_F16; return 0;
    case OB_GGML_BF16: *f = OB_FMT_BF16; return 0;
    case OB_GGML_Q8_0: *f = OB_FMT_Q8_0; return 0;
    case OB_GGML_Q4_0: *f = OB_FMT_Q4_0; return 0;
    case OB_GGML_Q4_1: *f = OB_FMT_Q4_1; return 0;
    default: return -1;
    }
}

static int unsupported_type(gctx *c, const ob_gguf_tensor *t) {
    const char *name = ob_ggml_type_info(t->type, NULL, NULL);
    return ob_fail(c->err, OB_EUNSUP, "%s: tensor '%s': type %s is not supported (F32, F16, BF16, Q8_0, Q4_0 and "
                   "Q4_1 load)", c->g->path, t->name, name ? name : "?");
}

/* The tensor `name` with ne = [ne0] (ne1 < 0) or [ne0, ne1]. */
static const ob_gguf_tensor *need(gctx *c, const char *name, int64_t ne0, int64_t ne1) {
    const ob_gguf_tensor *t = ob_gguf_find_tensor(c->g, name);
    if (!t) {
        ob_fail(c->err, OB_EFORMAT, "%s: tensor '%s': missing", c->g->path, name);
        return NULL;
    }
    int nd = ne1 < 0 ? 1 : 2;
    if (t->n_dims != nd || t->ne[0] != ne0 || (nd == 2 && t->ne[1] != ne1)) {
        ob_fail(c->err, OB_EFORMAT, "%s: tensor '%s': shape [%lld, %lld, %lld, %lld] (%d dims), expected [%lld%s%lld]",
                c->g->path, name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                t->n_dims, (long long)ne0, nd == 2 ? ", " : "", nd == 2 ? (long long)ne1 : 0LL);
        return NULL;
    }
    ob_format f;
    if (ggml_format(t->type, &f)) {
        unsupported_type(c, t);
        return NULL;
    }
    return t;
}

/* A float32 vector of n elements (a norm weight). */
static int vec(gctx *c, const char *name, int64_t n, const float **out) {
    const ob_gguf_tensor *t = need(c, name, n, -1);
    if (!t) return c->err->code;
    if (t->type == OB_GGML_F32 && ((uintptr_t)t->data & 3) == 0) {
        *out = t->data;
        return 0;
    }
    float *v = ob_model_alloc(c->m, (size_t)n * sizeof(float));
    if (!v) return ob_fail(c->err, OB_ENOMEM, "%s: out of memory", c->g->path);
    const unsigned char *p = t->data;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        if (t->type == OB_GGML_F32) memcpy(&v[i], p + 4 * i, 4);
        else memcpy(&h, p + 2 * i, 2), v[i] = t->type == OB_GGML_F16 ? ob_f16_to_f32(h) : ob_bf16_to_f32(h);
    }
    *out = v;
    return 0;
}

/* A (rows, cols) matrix; rope_heads > 0: rows permuted from Meta's RoPE
 * order into an owned copy.  A misaligned one is copied too. */
static int mat(gctx *c, const char *name, int64_t rows, int64_t cols, int rope_heads, ob_matrix *w) {
    const ob_gguf_tensor *t = need(c, name, cols, rows);
    if (!t) return c->err->code;
    ob_format f = OB_FMT_F32;
    ggml_format(t->type, &f);
    const void *data = t->data;
    if (rope_heads > 0 || ((uintptr_t)data & 3)) {
        void *copy = ob_model_alloc(c->m, t->nbytes);
        if (!copy) return ob_fail(c->err, OB_ENOMEM, "%s: out of memory", c->g->path);
        if (rope_heads > 0)
            ob_rope_rows_meta_to_hf(copy, data, rope_heads, (int)(rows / rope_heads), t->nbytes / (size_t)rows);
        else
            memcpy(copy, data, t->nbytes);
        data = copy;
    }
    ob_matrix_init(w, f, rows, cols, data);
    return 0;
}

/* "llama.<suffix>" as an int in [lo, hi]; def < lo: required. */
static int hp_int(gctx *c, const char *suffix, int64_t lo, int64_t hi, int64_t def, int *out) {
    char key[128];
    snprintf(key, sizeof key, "llama.%s", suffix);
    int64_t v = def;
    if ((def < lo || ob_gguf_find(c->g, key)) && ob_gguf_get_int(c->g, key, lo, hi, &v, c->err)) return c->err->code;
    *out = (int)v;
    return 0;
}

static int hp_float(gctx *c, const char *suffix, double def, int required, float *out) {
    char key[128];
    snprintf(key, sizeof key, "llama.%s", suffix);
    double v = def;
    if ((required || ob_gguf_find(c->g, key)) && ob_gguf_get_float(c->g, key, &v, c->err)) return c->err->code;
    *out = (float)v;
    return 0;
}

static int read_config(gctx *c, const char *path) {
    ob_config *cf = &c->m->cfg;
    const char *arch;
    size_t alen;
    int rc = ob_gguf_get_str(c->g, "general.architecture", &arch, &alen, c->err);
    if (rc) return rc;
    if (alen != 5 || memcmp(arch, "llama", 5))
        return ob_fail(c->err, OB_EUNSUP, "%s: key 'general.architecture': architecture '%.*s' is not supported (only llama)",
                       path, (int)(alen < 64 ? alen : 64), arch);
    *cf = (ob_config){.arch = OB_ARCH_LLAMA, .act = OB_ACT_SWIGLU, .embed_scale = 1.0f, .bos_id = -1, .eos_id = -1};
    if ((rc = hp_int(c, "embedding_length", 1, 1 << 16, -1, &cf->dim)) ||
        (rc = hp_int(c, "block_count", 1, 4096, -1, &cf->n_layers)) ||
        (rc = hp_int(c, "feed_forward_length", 1, 1 << 20, -1, &cf->ffn_dim)) ||
        (rc = hp_int(c, "attention.head_count", 1, 4096, -1, &cf->n_heads)) ||
        (rc = hp_int(c, "attention.head_count_kv", 1, cf->n_heads, cf->n_heads, &cf->n_kv_heads)) ||
        (rc = hp_int(c, "context_length", 1, 1 << 24, -1, &cf->max_seq)) ||
        (rc = hp_float(c, "attention.layer_norm_rms_epsilon", 0, 1, &cf->norm_eps)) ||
        (rc = hp_float(c, "rope.freq_base", 10000.0, 0, &cf->rope_theta)))
        return rc;
    if (cf->n_heads % cf->n_kv_heads)
        return ob_fail(c->err, OB_EFORMAT, "%s: key 'llama.attention.head_count_kv': %d query heads do not split into %d groups",
                       path, cf->n_heads, cf->n_kv_heads);
    int vlen, rope_dims;
    if ((rc = hp_int(c, "attention.key_length", 2, 1 << 14, cf->dim / cf->n_heads, &cf->head_dim)) ||
        (rc = hp_int(c, "attention.value_length", 1, 1 << 14, cf->head_dim, &vlen)) ||
        (rc = hp_int(c, "rope.dimension_count", 1, 1 << 14, cf->head_dim, &rope_dims)))
        return rc;
    if (vlen != cf->head_dim || rope_dims != cf->head_dim || cf->head_dim % 2)
        return ob_fail(c->err, OB_EUNSUP, "%s: key 'llama.rope.dimension_count': head size %d, value size %d, rotary dims %d: "
                       "only equal, even sizes are supported", path, cf->head_dim, vlen, rope_dims);
    const char *st;
    size_t slen;
    if (ob_gguf_find(c->g, "llama.rope.scaling.type") &&
        (rc = ob_gguf_get_str(c->g, "llama.rope.scaling.type", &st, &slen, c->err)))
        return rc;
    if (ob_gguf_find(c->g, "llama.rope.scaling.type") && !(slen == 4 && !memcmp(st, "none", 4)))
        return ob_fail(c->err, OB_EUNSUP, "%s: key 'llama.rope.scaling.type': RoPE scaling '%.*s' is not supported", path,
                       (int)(slen < 32 ? slen : 32), st);
    if (ob_gguf_find_tensor(c->g, "rope_freqs.weight"))
        return ob_fail(c->err, OB_EUNSUP, "%s: tensor 'rope_freqs.weight': per-dimension RoPE factors are not supported", path);
    const ob_gguf_tensor *emb = ob_gguf_find_tensor(c->g, "token_embd.weight");
    if (!emb || emb->n_dims != 2 || emb->ne[1] < 1 || emb->ne[1] > (1 << 24))
        return ob_fail(c->err, OB_EFORMAT, "%s: tensor 'token_embd.weight': %s", path, emb ? "not a [dim, vocab] matrix" : "missing");
    cf->n_vocab = (int)emb->ne[1];
    const char *name;
    size_t nlen;
    const char *slash = strrchr(path, '/');
    if (ob_gguf_find(c->g, "general.name") && !ob_gguf_get_str(c->g, "general.name", &name, &nlen, c->err) && nlen)
        snprintf(cf->name, sizeof cf->name, "%.*s", (int)(nlen < 127 ? nlen : 127), name);
    else
        snprintf(cf->name, sizeof cf->name, "%s", slash ? slash + 1 : path);
    return 0;
}

static int read_weights(gctx *c) {
    ob_model *m = c->m;
    const ob_config *cf = &m->cfg;
    int64_t q = (int64_t)cf->n_heads * cf->head_dim, kv = (int64_t)cf->n_kv_heads * cf->head_dim;
    int rc;
    if ((rc = mat(c, "token_embd.weight", cf->n_vocab, cf->dim, 0, &m->tok_embd)) ||
        (rc = vec(c, "output_norm.weight", cf->dim, &m->out_norm)))
        return rc;
    if (!ob_gguf_find_tensor(c->g, "output.weight")) {
        m->lm_head = m->tok_embd;
        m->cfg.tied_embeddings = 1;
    } else if ((rc = mat(c, "output.weight", cf->n_vocab, cf->dim, 0, &m->lm_head))) {
        return rc;
    }
    char n[96];
    for (int l = 0; l < cf->n_layers; l++) {
        ob_layer *L = &m->layers[l];
#define B(s) (snprintf(n, sizeof n, "blk.%d." s, l), n)
        if ((rc = vec(c, B("attn_norm.weight"), cf->dim, &L->attn_norm)) ||
            (rc = vec(c, B("ffn_norm.weight"), cf->dim, &L->ffn_norm)) ||
            (rc = mat(c, B("attn_q.weight"), q, cf->dim, cf->n_heads, &L->wq)) ||
            (rc = mat(c, B("attn_k.weight"), kv, cf->dim, cf->n_kv_heads, &L->wk)) ||
            (rc = mat(c, B("attn_v.weight"), kv, cf->dim, 0, &L->wv)) ||
            (rc = mat(c, B("attn_output.weight"), cf->dim, q, 0, &L->wo)) ||
            (rc = mat(c, B("ffn_gate.weight"), cf->ffn_dim, cf->dim, 0, &L->w_gate)) ||
            (rc = mat(c, B("ffn_up.weight"), cf->ffn_dim, cf->dim, 0, &L->w_up)) ||
            (rc = mat(c, B("ffn_down.weight"), cf->dim, cf->ffn_dim, 0, &L->w_down)))
            return rc;
#undef B
    }
    return 0;
}

static int read_tokenizer(gctx *c, const ob_load_params *p, const char *path) {
    ob_model *m = c->m;
    int rc = 0;
    if (p->tokenizer_path) {
        size_t n = strlen(p->tokenizer_path);
        if (n > 5 && !strcmp(p->tokenizer_path + n - 5, ".json"))
            return ob_tokenizer_load_hf(p->tokenizer_path, NULL, &m->tok, c->err);
        return ob_tokenizer_load_llama2c(p->tokenizer_path, m->cfg.n_vocab, &m->tok, c->err);
    }
    if (!ob_gguf_find(c->g, "tokenizer.ggml.model")) return 0;
    if ((rc = ob_tokenizer_load_gguf(c->g, &m->tok, c->err))) return rc;
    if (ob_tokenizer_n_vocab(m->tok) > m->cfg.n_vocab)
        return ob_fail(c->err, OB_EFORMAT, "%s: key 'tokenizer.ggml.tokens': %d tokens, but token_embd.weight has %d rows",
                       path, ob_tokenizer_n_vocab(m->tok), m->cfg.n_vocab);
    m->cfg.bos_id = ob_tokenizer_bos(m->tok);
    m->cfg.eos_id = ob_tokenizer_eos(m->tok);
    return 0;
}

int ob_load_gguf(ob_model *m, const char *path, const ob_load_params *p, ob_err *err) {
    m->maps = calloc(1, sizeof *m->maps);
    if (!m->maps) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    int rc = ob_mapfile_open(path, p->use_mmap, &m->maps[0], err);
    if (rc) return rc;
    m->n_maps = 1;
    ob_gguf g;
    if ((rc = ob_gguf_parse(path, m->maps[0].data, m->maps[0].size, &g, err))) return rc;
    gctx c = {m, &g, err};
    m->format_name = "gguf";
    rc = read_config(&c, path);
    if (!rc && !(m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers)))
        rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    if (!rc) {
        ob_model_default_layer_shapes(m);
        rc = read_weights(&c);
    }
    if (!rc) rc = read_tokenizer(&c, p, path);
    ob_gguf_clear(&g);
    return rc;
}

/* model.c - model lifetime, storage and description. */
#include "model/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "formats/safetensors.h"

ob_load_params ob_load_default_params(void) {
    ob_load_params p = {.use_mmap = 1, .tokenizer_path = NULL, .populate = 1};
    return p;
}

ob_model *ob_model_new(void) { return calloc(1, sizeof(ob_model)); }

/* bytes before an owned buffer's data (64-byte aligned) */
static size_t buf_hdr(void) { return (sizeof(ob_buf) + 63) & ~(size_t)63; }

void *ob_model_alloc(ob_model *m, size_t size) {
    size_t hdr = buf_hdr();
    ob_buf *b = ob_alloc_huge(hdr + size);
    if (!b) return NULL;
    b->next = m->bufs;
    b->size = size;
    m->bufs = b;
    m->owned_bytes += (int64_t)size;
    void *p = (char *)b + hdr;
    memset(p, 0, size);
    return p;
}

int ob_model_owns(const ob_model *m, const void *p, size_t size) {
    for (const ob_buf *b = m->bufs; b; b = b->next) {
        const uintptr_t lo = (uintptr_t)b + buf_hdr(), hi = lo + b->size;
        if ((uintptr_t)p >= lo && (uintptr_t)p + size <= hi) return 1;
    }
    return 0;
}

void ob_model_free(ob_model *m) {
    if (!m) return;
    ob_tokenizer_free(m->tok);
    for (int i = 0; i < m->n_maps; i++) ob_mapfile_close(&m->maps[i]);
    free(m->maps);
    for (int i = 0; i < m->n_st; i++) ob_st_close(m->st_files[i]);
    free(m->st_files);
    for (ob_buf *b = m->bufs, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(m->layers);
    free(m);
}

void ob_model_default_layer_shapes(ob_model *m) {
    for (int l = 0; l < m->cfg.n_layers; l++) {
        m->layers[l].n_heads = m->cfg.n_heads;
        m->layers[l].n_kv_heads = m->cfg.n_kv_heads;
        m->layers[l].ffn_dim = m->cfg.ffn_dim;
    }
}

static int check_mat(const ob_matrix *w, int64_t rows, int64_t cols, const char *what, int l,
                     const char *name, ob_err *err) {
    if (!w->data) return ob_fail(err, OB_EFORMAT, "%s: layer %d: missing %s", what, l, name);
    if (ob_matrix_out_dim(w) != rows || ob_matrix_in_dim(w) != cols)
        return ob_fail(err, OB_EFORMAT, "%s: layer %d: %s is %lldx%lld, expected %lldx%lld", what, l, name,
                       (long long)ob_matrix_out_dim(w), (long long)ob_matrix_in_dim(w), (long long)rows,
                       (long long)cols);
    return 0;
}

int ob_model_validate(const ob_model *m, const char *what, ob_err *err) {
    const ob_config *c = &m->cfg;
    if (c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->head_dim <= 0 ||
        c->n_vocab <= 0 || c->max_seq <= 0 || c->ffn_dim <= 0)
        return ob_fail(err, OB_EFORMAT, "%s: config has a non-positive size", what);
    if (c->head_dim % 2 && !c->learned_pos)
        return ob_fail(err, OB_EFORMAT, "%s: head_dim %d must be even for RoPE", what, c->head_dim);
    int rc;
    for (int l = 0; l < c->n_layers; l++) {
        const ob_layer *L = &m->layers[l];
        int hd = c->head_dim;
        if (L->n_heads <= 0 || L->n_kv_heads <= 0 || L->n_heads % L->n_kv_heads)
            return ob_fail(err, OB_EFORMAT, "%s: layer %d: %d query heads do not divide into %d kv heads", what,
                           l, L->n_heads, L->n_kv_heads);
        if ((rc = check_mat(&L->wq, (int64_t)L->n_heads * hd, c->dim, what, l, "q projection", err)) ||
            (rc = check_mat(&L->wk, (int64_t)L->n_kv_heads * hd, c->dim, what, l, "k projection", err)) ||
            (rc = check_mat(&L->wv, (int64_t)L->n_kv_heads * hd, c->dim, what, l, "v projection", err)) ||
            (rc = check_mat(&L->wo, c->dim, (int64_t)L->n_heads * hd, what, l, "o projection", err)) ||
            (rc = check_mat(&L->w_up, L->ffn_dim, c->dim, what, l, "up projection", err)) ||
            (rc = check_mat(&L->w_down, c->dim, L->ffn_dim, what, l, "down projection", err)))
            return rc;
        if (c->act == OB_ACT_SWIGLU &&
            (rc = check_mat(&L->w_gate, L->ffn_dim, c->dim, what, l, "gate projection", err)))
            return rc;
        if (!L->attn_norm || !L->ffn_norm) return ob_fail(err, OB_EFORMAT, "%s: layer %d: missing norm weights", what, l);
    }
    if (!m->tok_embd.data || m->tok_embd.rows != c->n_vocab || m->tok_embd.cols != c->dim)
        return ob_fail(err, OB_EFORMAT, "%s: token embedding missing or not %dx%d", what, c->n_vocab, c->dim);
    if (!m->lm_head.data || m->lm_head.rows != c->n_vocab || m->lm_head.cols != c->dim)
        return ob_fail(err, OB_EFORMAT, "%s: output head missing or not %dx%d", what, c->n_vocab, c->dim);
    if (!m->out_norm) return ob_fail(err, OB_EFORMAT, "%s: missing final norm", what);
    if (c->learned_pos && !m->pos_embd) return ob_fail(err, OB_EFORMAT, "%s: missing position embeddings", what);
    return 0;
}

/* The file mappings of a model: its own, then its safetensors files'. */
static ob_mapfile *model_map(const ob_model *m, int i) {
    if (i < m->n_maps) return &m->maps[i];
    return &((ob_safetensors *)m->st_files[i - m->n_maps])->file;
}

/* What the load needs of ob_model_populate, without the count of bytes on
 * 2 MiB pages (one read of /proc/self/smaps per owned buffer). */
static void populate_maps(ob_model *m) {
    for (int i = 0; i < m->n_maps + m->n_st; i++) ob_mapfile_populate(model_map(m, i), 1);
}

int ob_model_load(const char *path, const ob_load_params *params, ob_model **out, ob_err *err) {
    *out = NULL;
    ob_load_params defaults = ob_load_default_params();
    if (!params) params = &defaults;
    ob_model *m = ob_model_new();
    if (!m) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    snprintf(m->source, sizeof m->source, "%s", path);
    int rc;
    size_t n = strlen(path);
    if (ob_is_dir(path)) rc = ob_load_hf_dir(m, path, params, err);
    else if (ob_is_file(path) && ((n > 5 && !strcmp(path + n - 5, ".gguf")) || ob_gguf_sniff(path)))
        rc = ob_load_gguf(m, path, params, err);
    else if (ob_is_file(path)) rc = ob_load_llama2c(m, path, params, err);
    else rc = ob_fail(err, OB_EIO, "%s: no such file or directory", path);
    if (!rc) rc = ob_model_validate(m, path, err);
    if (rc) {
        ob_model_free(m);
        return rc;
    }
    if (params->populate) populate_maps(m);
    *out = m;
    return 0;
}

int64_t ob_model_populate(ob_model *m) {
    populate_maps(m);
    return ob_model_huge_bytes(m);
}

int64_t ob_model_huge_bytes(const ob_model *m) {
    int64_t total = 0;
    for (int i = 0; i < m->n_maps + m->n_st; i++) {
        const ob_mapfile *f = model_map(m, i);
        if (f->mapped) total += (int64_t)ob_huge_bytes(f->data, f->size);
    }
    for (const ob_buf *b = m->bufs; b; b = b->next)
        if (b->size >= OB_HUGE_PAGE) total += (int64_t)ob_huge_bytes(b, b->size);
    return total;
}

const ob_config *ob_model_config(const ob_model *m) { return &m->cfg; }
const ob_tokenizer *ob_model_tokenizer(const ob_model *m) { return m->tok; }

/* The seven linear weights of a layer (absent ones have data NULL). */
static void layer_mats(const ob_layer *L, const ob_matrix *ms[7]) {
    ms[0] = &L->wq, ms[1] = &L->wk, ms[2] = &L->wv, ms[3] = &L->wo;
    ms[4] = &L->w_gate, ms[5] = &L->w_up, ms[6] = &L->w_down;
}

static void add_mat(const ob_matrix *w, int64_t *numel, int64_t *bytes) {
    if (!w->data) return;
    *numel += w->rows * w->cols;
    *bytes += (int64_t)ob_matrix_bytes(w);
}

/* Elements and bytes of every matrix: layers, embedding, untied head. */
static void matrix_totals(const ob_model *m, int64_t *numel, int64_t *bytes) {
    *numel = *bytes = 0;
    add_mat(&m->tok_embd, numel, bytes);
    if (!m->cfg.tied_embeddings) add_mat(&m->lm_head, numel, bytes);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const ob_matrix *ms[7];
        layer_mats(&m->layers[l], ms);
        for (int i = 0; i < 7; i++) add_mat(ms[i], numel, bytes);
    }
}

/* Elements of the float32 vectors: norms, biases, the position table. */
static int64_t vector_params(const ob_model *m) {
    const ob_config *c = &m->cfg;
    int64_t n = (int64_t)c->dim * (m->out_norm_b ? 2 : 1);
    if (m->pos_embd) n += (int64_t)(c->max_seq + c->pos_offset) * c->dim;
    for (int l = 0; l < c->n_layers; l++) {
        const ob_layer *L = &m->layers[l];
        n += (int64_t)c->dim * 2 * (L->attn_norm_b ? 2 : 1);
        if (L->bq) n += L->wq.rows + L->wk.rows + L->wv.rows;
        if (L->bo) n += c->dim;
        if (L->b_up) n += L->ffn_dim;
        if (L->b_down) n += c->dim;
    }
    return n;
}

int64_t ob_model_n_params(const ob_model *m) {
    int64_t numel, bytes;
    matrix_totals(m, &numel, &bytes);
    return numel + vector_params(m);
}

int64_t ob_model_bytes_per_token(const ob_model *m) {
    int64_t numel = 0, bytes = 0;
    add_mat(&m->lm_head, &numel, &bytes);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const ob_matrix *ms[7];
        layer_mats(&m->layers[l], ms);
        for (int i = 0; i < 7; i++) add_mat(ms[i], &numel, &bytes);
    }
    return bytes;
}

int64_t ob_model_weight_bytes(const ob_model *m) {
    int64_t numel, bytes;
    matrix_totals(m, &numel, &bytes);
    return bytes + 4 * vector_params(m);
}

static const char *arch_name(ob_arch a) {
    return a == OB_ARCH_GPT2 ? "gpt2" : a == OB_ARCH_BIOGPT ? "biogpt" : "llama";
}

void ob_model_describe(const ob_model *m, char *buf, size_t size) {
    const ob_config *c = &m->cfg;
    snprintf(buf, size,
             "%s (%s, from %s): dim=%d layers=%d heads=%d kv_heads=%d head_dim=%d ffn=%d vocab=%d ctx=%d "
             "weights=%s params=%.2fM size=%.1f MB%s",
             c->name, arch_name(c->arch), m->format_name ? m->format_name : "?", c->dim, c->n_layers, c->n_heads,
             c->n_kv_heads, c->head_dim, c->ffn_dim, c->n_vocab, c->max_seq, ob_format_name(m->layers[0].wq.format),
             (double)ob_model_n_params(m) / 1e6, (double)ob_model_weight_bytes(m) / 1e6,
             c->tied_embeddings ? " tied-head" : "");
}

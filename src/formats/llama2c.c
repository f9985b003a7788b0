/* llama2c.c - llama2.c checkpoints (model.bin) and their tokenizer.bin.
 *
 * Legacy layout (export version 0), all little-endian, float32 weights:
 *
 *   int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *         (vocab_size < 0 means the classifier is stored separately)
 *   token_embedding  [vocab, dim]
 *   rms_att          [layers, dim]
 *   wq [layers, dim, dim]   wk [layers, kv_dim, dim]   wv [layers, kv_dim, dim]
 *   wo [layers, dim, dim]
 *   rms_ffn          [layers, dim]
 *   w1 [layers, hidden, dim]   w2 [layers, dim, hidden]   w3 [layers, hidden, dim]
 *   rms_final        [dim]
 *   freq_cis_real    [seq_len, head_size/2]   (unused: RoPE is recomputed)
 *   freq_cis_imag    [seq_len, head_size/2]
 *   wcls             [vocab, dim]             (only when vocab_size < 0)
 *
 * Version 1 ("ak42" magic): a 256-byte header (magic, int32 version, the
 * seven ints, uint8 shared_classifier), then the norms first (rms_att,
 * rms_ffn, rms_final), then embedding, wq, wk, wv, wo, w1, w2, w3, [wcls].
 *
 * Meta's checkpoints rotate interleaved pairs (2i, 2i+1) of each head in
 * RoPE; Hugging Face rotates (i, i + head_dim/2).  The forward pass uses the
 * Hugging Face convention, so wq and wk are permuted here (one owned copy of
 * those two matrices); every other weight is used in place from the map.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

/* An owned copy of wq or wk in the Hugging Face RoPE order. */
static const float *permute_rope_rows(ob_model *m, const float *w, int n_heads, int hd, int cols) {
    float *out = ob_model_alloc(m, (size_t)n_heads * hd * cols * sizeof(float));
    if (out) ob_rope_rows_meta_to_hf(out, w, n_heads, hd, (size_t)cols * sizeof(float));
    return out;
}

int ob_load_llama2c(ob_model *m, const char *path, const ob_load_params *p, ob_err *err) {
    m->maps = calloc(1, sizeof *m->maps);
    if (!m->maps) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    int rc = ob_mapfile_open(path, p->use_mmap, &m->maps[0], err);
    if (rc) return rc;
    m->n_maps = 1;
    const unsigned char *base = m->maps[0].data;
    size_t size = m->maps[0].size;
    if (size < 28) return ob_fail(err, OB_EFORMAT, "%s: too short for a llama2.c checkpoint (%zu bytes)", path, size);
    int32_t h[7];
    int version = 0, shared;
    size_t off;
    uint32_t magic;
    memcpy(&magic, base, 4);
    if (magic == 0x616b3432u) {
        if (size < 256) return ob_fail(err, OB_EFORMAT, "%s: truncated version-1 header", path);
        int32_t ver;
        memcpy(&ver, base + 4, 4);
        if (ver != 1)
            return ob_fail(err, OB_EUNSUP, "%s: llama2.c export version %d is not supported (only 0 and 1, float32)", path, ver);
        version = 1;
        memcpy(h, base + 8, sizeof h);
        shared = base[36] != 0;
        off = 256;
    } else {
        memcpy(h, base, sizeof h);
        shared = h[5] > 0;
        off = 28;
    }
    int dim = h[0], hidden = h[1], n_layers = h[2], n_heads = h[3], n_kv = h[4], vocab = abs(h[5]), seq = h[6];
    if (dim <= 0 || hidden <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv <= 0 || vocab <= 0 || seq <= 0 ||
        dim > 65536 || hidden > 1 << 20 || n_layers > 1024 || n_heads > 1024 || vocab > 1 << 24 || seq > 1 << 24 ||
        dim % n_heads || n_heads % n_kv || (dim / n_heads) % 2)
        return ob_fail(err, OB_EFORMAT,
                       "%s: not a llama2.c checkpoint (header dim=%d hidden=%d layers=%d heads=%d kv_heads=%d vocab=%d seq=%d)",
                       path, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    int hd = dim / n_heads, kv_dim = n_kv * hd;
    size_t L = (size_t)n_layers, D = (size_t)dim, H = (size_t)hidden, V = (size_t)vocab, KV = (size_t)kv_dim;
    size_t floats = V * D + L * D * 2 + D + L * (D * D * 2 + KV * D * 2 + H * D * 3);
    if (version == 0) floats += (size_t)seq * hd; /* freq_cis real + imag */
    if (!shared) floats += V * D;
    if (size < off + floats * 4)
        return ob_fail(err, OB_EFORMAT, "%s: truncated: the header needs %zu bytes, the file has %zu", path,
                       off + floats * 4, size);

    ob_config *c = &m->cfg;
    *c = (ob_config){.arch = OB_ARCH_LLAMA, .dim = dim, .n_layers = n_layers, .n_heads = n_heads,
                     .n_kv_heads = n_kv, .head_dim = hd, .ffn_dim = hidden, .n_vocab = vocab, .max_seq = seq,
                     .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied_embeddings = shared, .bos_id = 1,
                     .eos_id = 2, .act = OB_ACT_SWIGLU, .embed_scale = 1.0f};
    /* name: the file name, or its folder's for a cached ".../stories15M/model.bin" */
    const char *slash = strrchr(path, '/');
    const char *fname = slash ? slash + 1 : path;
    if (!strcmp(fname, "model.bin") && slash && slash > path) {
        const char *q = slash - 1;
        while (q > path && q[-1] != '/') q--;
        snprintf(c->name, sizeof c->name, "%.*s", (int)(slash - q), q);
    } else {
        snprintf(c->name, sizeof c->name, "%s", fname);
    }
    m->format_name = "llama2.c";
    m->layers = calloc(L, sizeof *m->layers);
    if (!m->layers) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    ob_model_default_layer_shapes(m);

    const float *f = (const float *)(base + off);
#define TAKE(n) (f += (n), f - (n))
    const float *rms_att, *rms_ffn = NULL, *rms_final = NULL, *emb;
    if (version == 1) {
        rms_att = TAKE(L * D);
        rms_ffn = TAKE(L * D);
        rms_final = TAKE(D);
        emb = TAKE(V * D);
    } else {
        emb = TAKE(V * D);
        rms_att = TAKE(L * D);
    }
    const float *wq = TAKE(L * D * D), *wk = TAKE(L * KV * D), *wv = TAKE(L * KV * D), *wo = TAKE(L * D * D);
    if (version == 0) rms_ffn = TAKE(L * D);
    const float *w1 = TAKE(L * H * D), *w2 = TAKE(L * D * H), *w3 = TAKE(L * H * D);
    if (version == 0) {
        rms_final = TAKE(D);
        f += (size_t)seq * hd; /* skip freq_cis_real and freq_cis_imag, seq * hd/2 each */
    }
    const float *wcls = shared ? emb : TAKE(V * D);
#undef TAKE

    ob_matrix_init(&m->tok_embd, OB_FMT_F32, vocab, dim, emb);
    ob_matrix_init(&m->lm_head, OB_FMT_F32, vocab, dim, wcls);
    m->out_norm = rms_final;
    for (size_t l = 0; l < L; l++) {
        ob_layer *ly = &m->layers[l];
        const float *q = permute_rope_rows(m, wq + l * D * D, n_heads, hd, dim);
        const float *k = permute_rope_rows(m, wk + l * KV * D, n_kv, hd, dim);
        if (!q || !k) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        ly->attn_norm = rms_att + l * D;
        ly->ffn_norm = rms_ffn + l * D;
        ob_matrix_init(&ly->wq, OB_FMT_F32, dim, dim, q);
        ob_matrix_init(&ly->wk, OB_FMT_F32, kv_dim, dim, k);
        ob_matrix_init(&ly->wv, OB_FMT_F32, kv_dim, dim, wv + l * KV * D);
        ob_matrix_init(&ly->wo, OB_FMT_F32, dim, dim, wo + l * D * D);
        ob_matrix_init(&ly->w_gate, OB_FMT_F32, hidden, dim, w1 + l * H * D);
        ob_matrix_init(&ly->w_down, OB_FMT_F32, dim, hidden, w2 + l * D * H);
        ob_matrix_init(&ly->w_up, OB_FMT_F32, hidden, dim, w3 + l * H * D);
    }

    /* the tokenizer: an explicit path, else tokenizer.bin beside the model */
    char tpath[1100];
    if (p->tokenizer_path) {
        snprintf(tpath, sizeof tpath, "%s", p->tokenizer_path);
    } else {
        int dl = slash ? (int)(slash - path) : 0;
        snprintf(tpath, sizeof tpath, "%.*s%stokenizer.bin", dl, path, slash ? "/" : "");
    }
    if (p->tokenizer_path || ob_is_file(tpath)) {
        rc = ob_tokenizer_load_llama2c(tpath, vocab, &m->tok, err);
        if (rc) return rc;
    }
    return 0;
}

/* fuzz_common.h - helpers shared by the libFuzzer targets (fuzz/fuzz_*.c).
 *
 * Every target writes its inputs only into one private temporary directory,
 * created once per process (fz_tmpdir) and removed at exit.  Files there
 * are rewritten for each input, so a run leaves nothing behind.
 *
 * Seed mode: when OB_FUZZ_SEEDS=DIR is set, LLVMFuzzerInitialize writes the
 * target's seed inputs into DIR (fz_seeds_dir / fz_put_seed) and exits;
 * scripts/fuzz.sh uses this to build the starting corpora. */
#ifndef OB_FUZZ_COMMON_H
#define OB_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/safetensors.h"
#include "optibench.h"

#define FZ_UNUSED __attribute__((unused))

static char fz_dir[256];

static FZ_UNUSED void fz_cleanup(void) {
    if (!fz_dir[0]) return;
    DIR *d = opendir(fz_dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", fz_dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(fz_dir);
    fz_dir[0] = 0;
}

/* The per-process temporary directory (created on first use). */
static FZ_UNUSED const char *fz_tmpdir(void) {
    if (fz_dir[0]) return fz_dir;
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/obfuzz.XXXXXX", base);
    if (!mkdtemp(fz_dir)) {
        fprintf(stderr, "fuzz: mkdtemp %s: %s\n", fz_dir, strerror(errno));
        abort();
    }
    atexit(fz_cleanup);
    return fz_dir;
}

/* Writes data to path (truncating); aborts on failure (the harness is broken). */
static FZ_UNUSED void fz_write(const char *path, const void *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "fuzz: cannot create %s: %s\n", path, strerror(errno));
        abort();
    }
    const char *p = data;
    while (size) {
        ssize_t w = write(fd, p, size);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
            abort();
        }
        p += w;
        size -= (size_t)w;
    }
    close(fd);
}

/* path = fz_tmpdir()/name, written with data. */
static FZ_UNUSED const char *fz_tmpfile(const char *name, const void *data, size_t size) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fz_tmpdir(), name);
    fz_write(path, data, size);
    return path;
}

/* With OB_FUZZ_DEBUG set, prints why an input was rejected (for checking
 * that the seeds load: build-fuzz/fuzz_X -runs=0 seeds/). */
static FZ_UNUSED void fz_note(const char *what, const ob_err *err) {
    static int debug = -1;
    if (debug < 0) debug = getenv("OB_FUZZ_DEBUG") != NULL;
    if (debug) fprintf(stderr, "%s: %s\n", what, err ? err->msg : "ok");
}

/* ------------------------------------------------------------ seed mode */

static FZ_UNUSED const char *fz_seeds_dir(void) {
    const char *d = getenv("OB_FUZZ_SEEDS");
    if (!d || !*d) return NULL;
    mkdir(d, 0755);
    return d;
}

static FZ_UNUSED void fz_put_seed(const char *dir, const char *name, const void *data, size_t size) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    fz_write(p, data, size);
}

static FZ_UNUSED void fz_put_seed_str(const char *dir, const char *name, const char *s) {
    fz_put_seed(dir, name, s, strlen(s));
}

/* Reads a whole file (for copying generated files into seed dirs). */
static FZ_UNUSED unsigned char *fz_read(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (!r) break;
        n += r;
    }
    fclose(f);
    *size = n;
    return buf;
}

/* --------------------------------------------- a tiny model for every family
 *
 * One safetensors file holding consistent tensors for a llama (with q/k/v
 * biases for qwen2 and an untied lm_head), a gpt2 and a biogpt model of the
 * same tiny size, so one fixed file serves whichever model_type a fuzzed
 * config.json names.  Weights are small deterministic values. */

enum { FZ_DIM = 8, FZ_LAYERS = 2, FZ_HEADS = 2, FZ_KV = 1, FZ_FFN = 16, FZ_VOCAB = 32, FZ_SEQ = 16 };

static const char fz_llama_config[] =
    "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,\n"
    " \"num_key_value_heads\": 1, \"intermediate_size\": 16, \"vocab_size\": 32,\n"
    " \"max_position_embeddings\": 16, \"rms_norm_eps\": 1e-5, \"rope_theta\": 10000.0,\n"
    " \"tie_word_embeddings\": false, \"bos_token_id\": 1, \"eos_token_id\": 2}\n";

typedef struct fz_model_builder {
    ob_st_writer *w;
    void *bufs[512];
    int n_bufs;
    uint32_t seed;
    ob_dtype mat_dt; /* dtype of the matrices (vectors stay F32) */
} fz_model_builder;

static FZ_UNUSED uint16_t fz_f32_to_half(float f, int bf16) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if (bf16) return (uint16_t)(u >> 16);
    /* tiny values only: enough for seeds */
    uint32_t sign = (u >> 16) & 0x8000;
    int e = (int)((u >> 23) & 0xff) - 127 + 15;
    uint32_t mant = (u >> 13) & 0x3ff;
    if (e <= 0) return (uint16_t)sign;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    return (uint16_t)(sign | (uint32_t)e << 10 | mant);
}

static FZ_UNUSED void fz_add(fz_model_builder *b, const char *name, int64_t d0, int64_t d1, int is_norm) {
    int64_t n = d0 * (d1 > 0 ? d1 : 1);
    ob_dtype dt = (d1 > 0) ? b->mat_dt : OB_DT_F32;
    size_t es = ob_dtype_size(dt);
    unsigned char *buf = malloc((size_t)n * es + 1);
    if (!buf || b->n_bufs == (int)(sizeof b->bufs / sizeof b->bufs[0])) abort();
    for (int64_t i = 0; i < n; i++) {
        b->seed = b->seed * 1664525u + 1013904223u;
        float v = is_norm ? 1.0f : ((float)(b->seed >> 9) / (float)(1u << 23) - 0.5f) * 0.2f;
        if (dt == OB_DT_F32) {
            memcpy(buf + 4 * i, &v, 4);
        } else {
            uint16_t h = fz_f32_to_half(v, dt == OB_DT_BF16);
            memcpy(buf + 2 * i, &h, 2);
        }
    }
    b->bufs[b->n_bufs++] = buf;
    int64_t shape[2] = {d0, d1};
    ob_err err = {0};
    if (ob_st_writer_add(b->w, name, dt, d1 > 0 ? 2 : 1, shape, buf, &err)) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
}

/* Writes the tiny all-families model to path.  families: bit 0 llama (and
 * qwen2 biases), bit 1 gpt2, bit 2 biogpt. */
static FZ_UNUSED void fz_write_tiny_model(const char *path, int families, ob_dtype mat_dt) {
    fz_model_builder b = {0};
    b.seed = 12345;
    b.mat_dt = mat_dt;
    ob_err err = {0};
    if (ob_st_writer_new(&b.w, &err)) abort();
    const int D = FZ_DIM, F = FZ_FFN, V = FZ_VOCAB, S = FZ_SEQ;
    const int HD = FZ_DIM / FZ_HEADS, Q = FZ_HEADS * HD, KV = FZ_KV * HD;
    char n[256];
    if (families & 1) {
        fz_add(&b, "model.embed_tokens.weight", V, D, 0);
        fz_add(&b, "model.norm.weight", D, 0, 1);
        fz_add(&b, "lm_head.weight", V, D, 0);
        for (int l = 0; l < FZ_LAYERS; l++) {
#define P(s) (snprintf(n, sizeof n, "model.layers.%d." s, l), n)
            fz_add(&b, P("input_layernorm.weight"), D, 0, 1);
            fz_add(&b, P("post_attention_layernorm.weight"), D, 0, 1);
            fz_add(&b, P("self_attn.q_proj.weight"), Q, D, 0);
            fz_add(&b, P("self_attn.k_proj.weight"), KV, D, 0);
            fz_add(&b, P("self_attn.v_proj.weight"), KV, D, 0);
            fz_add(&b, P("self_attn.o_proj.weight"), D, Q, 0);
            fz_add(&b, P("mlp.gate_proj.weight"), F, D, 0);
            fz_add(&b, P("mlp.up_proj.weight"), F, D, 0);
            fz_add(&b, P("mlp.down_proj.weight"), D, F, 0);
            fz_add(&b, P("self_attn.q_proj.bias"), Q, 0, 0);
            fz_add(&b, P("self_attn.k_proj.bias"), KV, 0, 0);
            fz_add(&b, P("self_attn.v_proj.bias"), KV, 0, 0);
#undef P
        }
    }
    if (families & 2) {
        fz_add(&b, "wte.weight", V, D, 0);
        fz_add(&b, "wpe.weight", S, D, 0);
        for (int l = 0; l < FZ_LAYERS; l++) {
#define P(s) (snprintf(n, sizeof n, "h.%d." s, l), n)
            fz_add(&b, P("ln_1.weight"), D, 0, 1);
            fz_add(&b, P("ln_1.bias"), D, 0, 0);
            fz_add(&b, P("ln_2.weight"), D, 0, 1);
            fz_add(&b, P("ln_2.bias"), D, 0, 0);
            fz_add(&b, P("attn.c_attn.weight"), D, 3 * D, 0);
            fz_add(&b, P("attn.c_attn.bias"), 3 * D, 0, 0);
            fz_add(&b, P("attn.c_proj.weight"), D, D, 0);
            fz_add(&b, P("attn.c_proj.bias"), D, 0, 0);
            fz_add(&b, P("mlp.c_fc.weight"), D, F, 0);
            fz_add(&b, P("mlp.c_fc.bias"), F, 0, 0);
            fz_add(&b, P("mlp.c_proj.weight"), F, D, 0);
            fz_add(&b, P("mlp.c_proj.bias"), D, 0, 0);
#undef P
        }
        fz_add(&b, "ln_f.weight", D, 0, 1);
        fz_add(&b, "ln_f.bias", D, 0, 0);
    }
    if (families & 4) {
        fz_add(&b, "biogpt.embed_tokens.weight", V, D, 0);
        fz_add(&b, "biogpt.embed_positions.weight", S + 2, D, 0);
        fz_add(&b, "output_projection.weight", V, D, 0);
        for (int l = 0; l < FZ_LAYERS; l++) {
#define P(s) (snprintf(n, sizeof n, "biogpt.layers.%d." s, l), n)
            fz_add(&b, P("self_attn_layer_norm.weight"), D, 0, 1);
            fz_add(&b, P("self_attn_layer_norm.bias"), D, 0, 0);
            fz_add(&b, P("final_layer_norm.weight"), D, 0, 1);
            fz_add(&b, P("final_layer_norm.bias"), D, 0, 0);
            fz_add(&b, P("self_attn.q_proj.weight"), D, D, 0);
            fz_add(&b, P("self_attn.q_proj.bias"), D, 0, 0);
            fz_add(&b, P("self_attn.k_proj.weight"), D, D, 0);
            fz_add(&b, P("self_attn.k_proj.bias"), D, 0, 0);
            fz_add(&b, P("self_attn.v_proj.weight"), D, D, 0);
            fz_add(&b, P("self_attn.v_proj.bias"), D, 0, 0);
            fz_add(&b, P("self_attn.out_proj.weight"), D, D, 0);
            fz_add(&b, P("self_attn.out_proj.bias"), D, 0, 0);
            fz_add(&b, P("fc1.weight"), F, D, 0);
            fz_add(&b, P("fc1.bias"), F, 0, 0);
            fz_add(&b, P("fc2.weight"), D, F, 0);
            fz_add(&b, P("fc2.bias"), D, 0, 0);
#undef P
        }
        fz_add(&b, "biogpt.layer_norm.weight", D, 0, 1);
        fz_add(&b, "biogpt.layer_norm.bias", D, 0, 0);
    }
    if (ob_st_writer_meta(b.w, "format", "pt", &err) || ob_st_writer_write(b.w, path, &err)) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
    ob_st_writer_free(b.w);
    for (int i = 0; i < b.n_bufs; i++) free(b.bufs[i]);
}

/* ------------------------------------------------------ running a model */

static ob_pool *fz_pool;

/* One forward pass of two tokens on a loaded model (single-threaded, so
 * deterministic).  Errors are fine; crashes are what we look for. */
static FZ_UNUSED void fz_forward2(const ob_model *m) {
    ob_err err = {0};
    if (!fz_pool && ob_pool_new(1, &fz_pool, &err)) abort();
    const ob_config *c = ob_model_config(m);
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = 2;
    cp.n_seq = 1;
    cp.max_batch = 2;
    ob_ctx *ctx = NULL;
    if (ob_ctx_new(m, fz_pool, &cp, &ctx, &err)) return;
    float *logits = malloc((size_t)c->n_vocab * 2 * sizeof(float));
    if (logits) {
        int32_t toks[2] = {1 % c->n_vocab, c->n_vocab - 1};
        if (!ob_forward(ctx, 0, toks, 2, 0, 1, logits, &err)) {
            /* read every logit so uninitialised output would be noticed */
            volatile float s = 0;
            for (int i = 0; i < c->n_vocab * 2; i++) s += logits[i];
            (void)s;
        }
        free(logits);
    }
    ob_ctx_free(ctx);
}

/* Loads path as a model; a failed load must leave no model behind, a
 * successful one is described and run for two tokens. */
static FZ_UNUSED void fz_load_and_run(const char *path, const char *what) {
    ob_load_params p = ob_load_default_params();
    p.use_mmap = 1;
    ob_model *m = NULL;
    ob_err err = {0};
    if (ob_model_load(path, &p, &m, &err)) {
        if (m) abort();
        fz_note(what, &err);
        return;
    }
    fz_note(what, NULL);
    char desc[512];
    ob_model_describe(m, desc, sizeof desc);
    fz_forward2(m);
    ob_model_free(m);
}

#endif

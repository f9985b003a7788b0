/* fuzz_gguf - the input is a GGUF file.  ob_gguf_parse must accept it or
 * clean up; an accepted file has every tensor's bytes read in full (ASan
 * checks they lie inside the input), every key read through the typed
 * getters and every string array walked.  The same bytes are then loaded
 * as a model (ob_model_load: config, weights, tokenizer.ggml.*) and run
 * for two tokens when they load. */
#include "formats/gguf.h"
#include "formats/gguf_export.h"
#include "fuzz_common.h"

/* Copies the GGUF file at path into seeds/name, adding a tiny
 * SentencePiece tokenizer (3 specials, 3 byte tokens, "▁", "a", "b",
 * "▁a", "ab") when tok is set. */
static void seed_from(const char *seeds, const char *path, const char *name, int tok) {
    ob_err err = {0};
    ob_gguf *g;
    ob_gguf_writer *w;
    if (ob_gguf_open(path, 1, &g, &err) || ob_gguf_writer_new(g->alignment, &w, &err)) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
    for (size_t i = 0; i < g->n_kv; i++) {
        const ob_gguf_kv *kv = &g->kv[i];
        if (!strcmp(kv->key, "general.alignment")) continue;
        if (ob_gguf_writer_copy_kv(w, kv, &err)) abort();
    }
    if (tok) {
        static const char *const toks[] = {"<unk>", "<s>", "</s>", "<0x0A>", "<0x20>", "<0xC3>",
                                           "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab"};
        int32_t types[11] = {2, 3, 3, 6, 6, 6, 1, 1, 1, 1, 1};
        float scores[11] = {0, 0, 0, 0, 0, 0, -1, -2, -3, -4, -5};
        if (ob_gguf_writer_str(w, "tokenizer.ggml.model", "llama", 5, &err) ||
            ob_gguf_writer_str_array(w, "tokenizer.ggml.tokens", toks, NULL, 11, &err) ||
            ob_gguf_writer_array(w, "tokenizer.ggml.token_type", OB_GGUF_I32, types, 11, &err) ||
            ob_gguf_writer_array(w, "tokenizer.ggml.scores", OB_GGUF_F32, scores, 11, &err) ||
            ob_gguf_writer_u32(w, "tokenizer.ggml.bos_token_id", 1, &err))
            abort();
    }
    for (size_t i = 0; i < g->n_tensors; i++) {
        const ob_gguf_tensor *t = &g->tensors[i];
        if (ob_gguf_writer_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes, &err)) abort();
    }
    char out[1024];
    snprintf(out, sizeof out, "%s/%s", seeds, name);
    if (ob_gguf_writer_write(w, out, &err)) abort();
    ob_gguf_writer_free(w);
    ob_gguf_close(g);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (seeds) {
        /* the tiny llama of fuzz_common.h, exported to GGUF in two dtypes */
        char p[512];
        snprintf(p, sizeof p, "%s/model.safetensors", fz_tmpdir());
        fz_write_tiny_model(p, 1, OB_DT_F32);
        fz_tmpfile("config.json", fz_llama_config, strlen(fz_llama_config));
        ob_model *m;
        ob_err err = {0};
        if (ob_model_load(fz_tmpdir(), NULL, &m, &err)) {
            fprintf(stderr, "fuzz: %s\n", err.msg);
            abort();
        }
        snprintf(p, sizeof p, "%s/tiny.gguf", fz_tmpdir());
        if (ob_model_save_gguf(m, p, OB_GGML_F32, &err)) abort();
        seed_from(seeds, p, "tiny_f32.gguf", 0);
        seed_from(seeds, p, "tiny_f32_tok.gguf", 1);
        if (ob_model_save_gguf(m, p, OB_GGML_BF16, &err)) abort();
        seed_from(seeds, p, "tiny_bf16_tok.gguf", 1);
        ob_model_free(m);
        exit(0);
    }
    fz_tmpdir();
    return 0;
}

/* Every getter on every key; string arrays walked. */
static void read_keys(const ob_gguf *g) {
    ob_err err = {0};
    for (size_t i = 0; i < g->n_kv; i++) {
        const ob_gguf_kv *kv = &g->kv[i];
        int64_t iv;
        double dv;
        int bv;
        const char *s;
        size_t n;
        const unsigned char *el;
        uint64_t cnt;
        ob_gguf_get_int(g, kv->key, INT64_MIN, INT64_MAX, &iv, &err);
        ob_gguf_get_float(g, kv->key, &dv, &err);
        ob_gguf_get_bool(g, kv->key, &bv, &err);
        if (!ob_gguf_get_str(g, kv->key, &s, &n, &err) && n && (s[0] == 1 || s[n - 1] == 1)) fz_note("gguf", NULL);
        if (kv->type == OB_GGUF_ARRAY && kv->elem_type == OB_GGUF_STRING &&
            !ob_gguf_get_array(g, kv->key, OB_GGUF_STRING, -1, &el, &cnt, &err)) {
            ob_gguf_str_iter it;
            ob_gguf_str_iter_init(&it, el, cnt);
            volatile size_t total = 0;
            while (ob_gguf_str_next(&it, &s, &n)) total += n ? (unsigned char)s[n - 1] : 0;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ob_gguf g;
    ob_err err = {0};
    if (ob_gguf_parse("fuzz.gguf", data, size, &g, &err)) {
        if (g.kv || g.tensors || g.path) abort(); /* a failed parse must clean up */
        fz_note("gguf", &err);
    } else {
        unsigned sum = 0;
        for (size_t i = 0; i < g.n_tensors; i++) {
            const ob_gguf_tensor *t = &g.tensors[i];
            const unsigned char *p = t->data;
            if (t->nbytes && (p < data || p + t->nbytes > data + size)) abort();
            if ((size_t)(p - data) % g.alignment) abort();
            for (size_t k = 0; k < t->nbytes; k++) sum += p[k];
            if (ob_gguf_find_tensor(&g, t->name) != t) abort();
        }
        volatile unsigned sink = sum;
        (void)sink;
        read_keys(&g);
        ob_gguf_clear(&g);
    }
    fz_load_and_run(fz_tmpfile("model.gguf", data, size), "gguf_model");
    return 0;
}

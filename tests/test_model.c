/* test_model.c - the engine against itself and against bad input:
 *  - prefill in one pass == token by token, on tiny random models and stories15M;
 *  - a batch of independent sequences == each run alone;
 *  - stories15M from llama2.c files == from its converted Hugging Face directory;
 *  - greedy generation deterministic, seeded sampling reproducible;
 *  - truncated / corrupt / inconsistent checkpoints give errors naming the file.
 * The logits themselves are checked against NumPy in tests/test_reference.sh. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tiny_model.h"
#include "formats/hf_write.h"
#include "optibench.h"

static char tmpdir[256];

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as a failure */
    }
    return m;
}

/* all-position logits in one pass vs fed one by one */
static void check_prefill_equivalence(const char *path, const int32_t *toks, int n, ob_pool *pool, const char *label) {
    ob_err err = {0};
    ob_model *m;
    CHECK_OK(ob_model_load(path, NULL, &m, &err), &err);
    if (err.code) return;
    int V = ob_model_config(m)->n_vocab;
    ob_ctx *ctx;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = n;
    CHECK_OK(ob_ctx_new(m, pool, &cp, &ctx, &err), &err);
    float *all = malloc((size_t)n * V * 4), *one = malloc((size_t)n * V * 4);
    CHECK_OK(ob_forward(ctx, 0, toks, n, 0, 1, all, &err), &err);
    ob_ctx_seq_trim(ctx, 0, 0);
    for (int i = 0; i < n; i++) CHECK_OK(ob_forward(ctx, 0, toks + i, 1, i, 0, one + (size_t)i * V, &err), &err);
    float d = max_abs_diff(all, one, (size_t)n * V);
    printf("%s: prefill vs token-by-token max abs diff %.3g (%d threads)\n", label, d, ob_pool_size(pool));
    CHECK(d <= 1e-4f, "%s: prefill and token-by-token differ by %g", label, d);
    free(all);
    free(one);
    ob_ctx_free(ctx);
    ob_model_free(m);
}

/* three sequences of different lengths in one batch vs each alone */
static void check_multi_sequence_batch(const char *path, ob_pool *pool) {
    ob_err err = {0};
    ob_model *m;
    CHECK_OK(ob_model_load(path, NULL, &m, &err), &err);
    if (err.code) return;
    int V = ob_model_config(m)->n_vocab;
    int32_t toks[3][5] = {{1, 5, 9, 2, 7}, {3, 3, 8, 0, 0}, {6, 0, 0, 0, 0}};
    int lens[3] = {5, 3, 1};
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = 8;
    cp.n_seq = 3;
    ob_ctx *ctx;
    CHECK_OK(ob_ctx_new(m, pool, &cp, &ctx, &err), &err);
    int32_t bt[9], bp[9], bs[9];
    uint8_t mask[9];
    int n = 0;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < lens[s]; i++) {
            bt[n] = toks[s][i];
            bp[n] = i;
            bs[n] = s;
            mask[n] = i == lens[s] - 1;
            n++;
        }
    float *batched = malloc(3 * (size_t)V * 4), *alone = malloc((size_t)V * 4);
    ob_batch b = {n, bt, bp, bs, mask};
    CHECK_OK(ob_decode(ctx, &b, batched, &err), &err);
    float worst = 0;
    for (int s = 0; s < 3; s++) {
        ob_ctx_seq_trim(ctx, s, 0);
        CHECK_OK(ob_forward(ctx, s, toks[s], lens[s], 0, 0, alone, &err), &err);
        float d = max_abs_diff(batched + (size_t)s * V, alone, (size_t)V);
        if (d > worst) worst = d;
    }
    printf("multi-sequence batch vs separate runs: max abs diff %.3g\n", worst);
    CHECK(worst <= 1e-4f, "batched sequences differ from separate runs by %g", worst);
    /* a position that skips ahead of the cache is refused */
    int32_t t1 = 1, p1 = 7, s1 = 0;
    ob_batch bad = {1, &t1, &p1, &s1, NULL};
    ob_ctx_seq_trim(ctx, 0, 2);
    CHECK(ob_decode(ctx, &bad, alone, &err) == OB_EINVAL, "non-contiguous position accepted");
    free(batched);
    free(alone);
    ob_ctx_free(ctx);
    ob_model_free(m);
}

/* the tokenizer written as tokenizer.json encodes and decodes like the original */
static void check_tokenizer_export(const ob_tokenizer *orig, const char *dir, const char *label) {
    ob_err err = {0};
    CHECK_OK(ob_tokenizer_save_hf(orig, dir, &err), &err);
    char tj[700], tc[700];
    snprintf(tj, sizeof tj, "%s/tokenizer.json", dir);
    snprintf(tc, sizeof tc, "%s/tokenizer_config.json", dir);
    ob_tokenizer *t;
    CHECK_OK(ob_tokenizer_load_hf(tj, tc, &t, &err), &err);
    if (err.code) return;
    static const char *texts[] = {
        "Once upon a time, there was a little girl named Lily.",
        "  Two  spaces, tabs\tand\nnewlines\n\n",
        "Numbers 1234567 and 3.14159; punctuation!? \"quotes\" (parens) [brackets] {braces}",
        "naïve café, Straße, 日本語のテキスト, emoji 🙂🚀, Ελληνικά, русский",
        "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX! the-quick_brown~fox",
        "a", " ", "",
        "Spot wanted to play with the ball. He ran and ran until he was tired and sleepy.",
    };
    int same = 1, round = 1;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t ia[256], ib[256];
        int na = 0, nb = 0;
        size_t len = strlen(texts[i]);
        CHECK_OK(ob_tokenize(orig, texts[i], len, 1, 0, ia, 256, &na, &err), &err);
        CHECK_OK(ob_tokenize(t, texts[i], len, 1, 0, ib, 256, &nb, &err), &err);
        if (na != nb || memcmp(ia, ib, (size_t)na * 4)) {
            same = 0;
            fprintf(stderr, "%s: tokenizer.json encodes \"%s\" differently (%d vs %d ids)\n", label, texts[i], na, nb);
        }
        char buf[1024];
        ob_detokenize(t, ib, nb, buf, sizeof buf);
        if (strcmp(buf, texts[i])) {
            round = 0;
            fprintf(stderr, "%s: round trip of \"%s\" gave \"%s\"\n", label, texts[i], buf);
        }
    }
    CHECK(same, "%s: exported tokenizer.json encodes differently from the original", label);
    CHECK(round, "%s: exported tokenizer.json does not round-trip", label);
    CHECK(ob_tokenizer_bos(t) == ob_tokenizer_bos(orig) && ob_tokenizer_eos(t) == ob_tokenizer_eos(orig) &&
              ob_tokenizer_add_bos_default(t) == ob_tokenizer_add_bos_default(orig) &&
              ob_tokenizer_n_vocab(t) == ob_tokenizer_n_vocab(orig),
          "%s: exported tokenizer has other bos/eos/add_bos/vocab size", label);
    ob_tokenizer_free(t);
}

static void check_convert_roundtrip(const char *bin, ob_pool *pool, const char *label) {
    ob_err err = {0};
    ob_model *a, *b;
    CHECK_OK(ob_model_load(bin, NULL, &a, &err), &err);
    if (err.code) return;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s-hf", tmpdir, label);
    CHECK_OK(ob_model_save_hf(a, dir, OB_DT_F32, &err), &err);
    CHECK_OK(ob_model_load(dir, NULL, &b, &err), &err);
    if (err.code) {
        ob_model_free(a);
        return;
    }
    int32_t toks[6] = {1, 4, 8, 15, 16, 23};
    int V = ob_model_config(a)->n_vocab;
    ob_ctx *ca, *cb;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = 6;
    CHECK_OK(ob_ctx_new(a, pool, &cp, &ca, &err), &err);
    CHECK_OK(ob_ctx_new(b, pool, &cp, &cb, &err), &err);
    float *la = malloc(6 * (size_t)V * 4), *lb = malloc(6 * (size_t)V * 4);
    CHECK_OK(ob_forward(ca, 0, toks, 6, 0, 1, la, &err), &err);
    CHECK_OK(ob_forward(cb, 0, toks, 6, 0, 1, lb, &err), &err);
    float d = max_abs_diff(la, lb, 6 * (size_t)V);
    printf("%s: llama2.c vs converted Hugging Face directory: max abs diff %.3g\n", label, d);
    if (ob_model_tokenizer(a)) check_tokenizer_export(ob_model_tokenizer(a), dir, label);
    CHECK(d == 0.0f, "%s: llama2.c and converted logits differ by %g (expected identical)", label, d);
    CHECK(ob_model_n_params(a) == ob_model_n_params(b), "parameter counts differ");
    free(la);
    free(lb);
    ob_ctx_free(ca);
    ob_ctx_free(cb);
    ob_model_free(a);
    ob_model_free(b);
}

static void check_sampling(const char *path, ob_pool *pool) {
    ob_err err = {0};
    ob_model *m;
    CHECK_OK(ob_model_load(path, NULL, &m, &err), &err);
    if (err.code) return;
    int V = ob_model_config(m)->n_vocab;
    int32_t runs[4][16];
    ob_sampler_params sps[4] = {ob_sampler_default_params(), ob_sampler_default_params(), ob_sampler_default_params(),
                                ob_sampler_default_params()};
    for (int k = 2; k < 4; k++) {
        sps[k].temperature = 1.0f;
        sps[k].top_p = 0.9f;
        sps[k].top_k = 40;
        sps[k].repeat_penalty = 1.1f;
        sps[k].seed = 7;
    }
    float *logits = malloc((size_t)V * 4);
    for (int k = 0; k < 4; k++) {
        ob_ctx *ctx;
        ob_sampler *s;
        ob_ctx_params cp = ob_ctx_default_params();
        cp.n_ctx = 17;
        CHECK_OK(ob_ctx_new(m, pool, &cp, &ctx, &err), &err);
        CHECK_OK(ob_sampler_new(&sps[k], V, &s, &err), &err);
        runs[k][0] = 1;
        CHECK_OK(ob_forward(ctx, 0, runs[k], 1, 0, 0, logits, &err), &err);
        for (int i = 1; i < 16; i++) {
            runs[k][i] = ob_sample(s, logits, runs[k], i);
            CHECK_OK(ob_forward(ctx, 0, &runs[k][i], 1, i, 0, logits, &err), &err);
        }
        ob_sampler_free(s);
        ob_ctx_free(ctx);
    }
    CHECK(!memcmp(runs[0], runs[1], sizeof runs[0]), "greedy generation is not deterministic");
    CHECK(!memcmp(runs[2], runs[3], sizeof runs[2]), "seeded sampling is not reproducible");
    /* a different seed should (for a real model, practically always) diverge */
    free(logits);
    ob_model_free(m);
}

static void check_sampler_unit(void) {
    ob_err err = {0};
    ob_sampler *s;
    ob_sampler_params p = ob_sampler_default_params();
    float lg[5] = {0.1f, 2.0f, 1.9f, -1.0f, 0.0f};
    CHECK_OK(ob_sampler_new(&p, 5, &s, &err), &err);
    CHECK(ob_sample(s, lg, NULL, 0) == 1, "greedy must pick the argmax");
    /* repetition penalty: token 1 seen before -> 2.0/1.5 < 1.9, token 2 wins */
    ob_sampler_free(s);
    p.repeat_penalty = 1.5f;
    CHECK_OK(ob_sampler_new(&p, 5, &s, &err), &err);
    int32_t hist[1] = {1};
    float lg2[5] = {0.1f, 2.0f, 1.9f, -1.0f, 0.0f};
    CHECK(ob_sample(s, lg2, hist, 1) == 2, "repetition penalty not applied");
    ob_sampler_free(s);
    /* top_k = 1 with temperature is greedy whatever the seed */
    p = ob_sampler_default_params();
    p.temperature = 5.0f;
    p.top_k = 1;
    int ok = 1;
    for (uint64_t seed = 0; seed < 20; seed++) {
        p.seed = seed;
        CHECK_OK(ob_sampler_new(&p, 5, &s, &err), &err);
        float l3[5] = {0.1f, 2.0f, 1.9f, -1.0f, 0.0f};
        ok &= ob_sample(s, l3, NULL, 0) == 1;
        ob_sampler_free(s);
    }
    CHECK(ok, "top_k=1 must always pick the argmax");
    /* top_p tiny keeps only the most likely token */
    p = ob_sampler_default_params();
    p.temperature = 1.0f;
    p.top_p = 0.01f;
    CHECK_OK(ob_sampler_new(&p, 5, &s, &err), &err);
    float l4[5] = {0.1f, 2.0f, 1.9f, -1.0f, 0.0f};
    CHECK(ob_sample(s, l4, NULL, 0) == 1, "top_p=0.01 must keep only the top token");
    ob_sampler_free(s);
    /* frequencies at temperature 1 follow the softmax (chi-square-ish bound) */
    p = ob_sampler_default_params();
    p.temperature = 1.0f;
    CHECK_OK(ob_sampler_new(&p, 2, &s, &err), &err);
    int count1 = 0, N = 20000;
    for (int i = 0; i < N; i++) {
        float l5[2] = {0.0f, logf(3.0f)}; /* P(1) = 0.75 */
        count1 += ob_sample(s, l5, NULL, 0) == 1;
    }
    double frac = (double)count1 / N;
    printf("sampler: P(token 1) = %.4f (expected 0.75)\n", frac);
    CHECK(fabs(frac - 0.75) < 0.015, "sampling frequency %.4f far from 0.75", frac);
    ob_sampler_free(s);
    CHECK(ob_sampler_new(&(ob_sampler_params){.temperature = -1, .top_p = 1, .repeat_penalty = 1}, 5, &s, &err) ==
              OB_EINVAL, "negative temperature accepted");
}

static void check_bad_inputs(void) {
    ob_err err = {0};
    ob_model *m = NULL;
    char path[700], cmd[1600];
    snprintf(path, sizeof path, "%s/good.bin", tmpdir);
    size_t size = write_tiny_llama2c(path, 16, 24, 1, 2, 2, 40, 8, 1, 3);
    /* truncated */
    char trunc[512];
    snprintf(trunc, sizeof trunc, "%s/trunc.bin", tmpdir);
    snprintf(cmd, sizeof cmd, "head -c %zu %s > %s", size - 100, path, trunc);
    CHECK(system(cmd) == 0, "head failed");
    CHECK(ob_model_load(trunc, NULL, &m, &err) == OB_EFORMAT && strstr(err.msg, "trunc.bin") &&
              strstr(err.msg, "truncated"),
          "truncated checkpoint: got '%s'", err.msg);
    /* header of garbage */
    snprintf(trunc, sizeof trunc, "%s/garbage.bin", tmpdir);
    FILE *f = fopen(trunc, "wb");
    int32_t g[7] = {-5, 3, 1, 7, 3, 10, 0};
    fwrite(g, 4, 7, f);
    fclose(f);
    CHECK(ob_model_load(trunc, NULL, &m, &err) == OB_EFORMAT && strstr(err.msg, "garbage.bin"),
          "garbage header: got '%s'", err.msg);
    /* too short */
    f = fopen(trunc, "wb");
    fwrite("abc", 1, 3, f);
    fclose(f);
    CHECK(ob_model_load(trunc, NULL, &m, &err) == OB_EFORMAT, "3-byte file: got '%s'", err.msg);
    /* missing */
    CHECK(ob_model_load("/nonexistent/model.bin", NULL, &m, &err) == OB_EIO && strstr(err.msg, "/nonexistent"),
          "missing file: got '%s'", err.msg);
    /* HF directory: missing config, bad JSON, unknown arch, missing tensor, bad shape, header past end */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/hfbad", tmpdir);
    mkdir(dir, 0755);
    CHECK(ob_model_load(dir, NULL, &m, &err) == OB_EIO && strstr(err.msg, "config.json"), "no config: '%s'", err.msg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    fputs("{\"model_type\": \"llama\", \"hidden_size\": 16,,}", f);
    fclose(f);
    CHECK(ob_model_load(dir, NULL, &m, &err) == OB_EFORMAT && strstr(err.msg, "config.json") && strstr(err.msg, "line"),
          "bad JSON: '%s'", err.msg);
    f = fopen(path, "w");
    fputs("{\"model_type\": \"mamba\"}", f);
    fclose(f);
    CHECK(ob_model_load(dir, NULL, &m, &err) == OB_EUNSUP && strstr(err.msg, "mamba"), "unknown arch: '%s'", err.msg);
    /* a real converted model with one tensor's shape broken: use the writer */
    ob_model *good;
    snprintf(path, sizeof path, "%s/good.bin", tmpdir);
    CHECK_OK(ob_model_load(path, NULL, &good, &err), &err);
    if (good) {
        CHECK_OK(ob_model_save_hf(good, dir, OB_DT_F32, &err), &err);
        ob_model_free(good);
        ob_model *ok;
        CHECK_OK(ob_model_load(dir, NULL, &ok, &err), &err);
        ob_model_free(ok);
        /* wrong hidden size in config -> shape mismatch names the tensor */
        snprintf(path, sizeof path, "%s/config.json", dir);
        snprintf(cmd, sizeof cmd, "sed -i 's/\"intermediate_size\": 24/\"intermediate_size\": 25/' %s", path);
        CHECK(system(cmd) == 0, "sed failed");
        CHECK(ob_model_load(dir, NULL, &m, &err) == OB_EFORMAT && strstr(err.msg, "gate_proj") && strstr(err.msg, "shape"),
              "wrong shape: '%s'", err.msg);
        snprintf(cmd, sizeof cmd, "sed -i 's/\"intermediate_size\": 25/\"intermediate_size\": 24/' %s", path);
        CHECK(system(cmd) == 0, "sed failed");
        /* header length past the end of the file */
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        f = fopen(path, "r+b");
        uint64_t huge = 1ull << 40;
        fwrite(&huge, 8, 1, f);
        fclose(f);
        CHECK(ob_model_load(dir, NULL, &m, &err) == OB_EFORMAT && strstr(err.msg, "model.safetensors") &&
                  strstr(err.msg, "past the end"),
              "header past end: '%s'", err.msg);
    }
    CHECK(m == NULL, "failed loads must leave *out NULL");
    /* context limits */
    snprintf(path, sizeof path, "%s/good.bin", tmpdir);
    CHECK_OK(ob_model_load(path, NULL, &m, &err), &err);
    if (m) {
        ob_ctx *ctx;
        ob_ctx_params cp = ob_ctx_default_params();
        cp.n_ctx = 4;
        CHECK_OK(ob_ctx_new(m, NULL, &cp, &ctx, &err), &err);
        int32_t toks[6] = {1, 2, 3, 4, 5, 6};
        float logits[40];
        CHECK(ob_forward(ctx, 0, toks, 6, 0, 0, logits, &err) == OB_ERANGE && strstr(err.msg, "context"),
              "prompt longer than context: '%s'", err.msg);
        toks[0] = 40;
        CHECK(ob_forward(ctx, 0, toks, 1, 0, 0, logits, &err) == OB_EINVAL && strstr(err.msg, "vocabulary"),
              "token outside vocab: '%s'", err.msg);
        ob_ctx_free(ctx);
        ob_model_free(m);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ob_test_model_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    ob_err err = {0};
    ob_pool *p1, *p2;
    CHECK_OK(ob_pool_new(1, &p1, &err), &err);
    CHECK_OK(ob_pool_new(2, &p2, &err), &err);

    char path[512];
    /* tiny random models: MHA, GQA, untied classifier, odd widths */
    struct { int dim, hidden, layers, heads, kv, vocab, seq, shared; } shapes[] = {
        {32, 48, 2, 4, 4, 50, 16, 1}, {48, 72, 2, 6, 2, 61, 16, 0}, {40, 67, 3, 5, 1, 37, 16, 1}};
    for (int s = 0; s < 3; s++) {
        snprintf(path, sizeof path, "%s/tiny%d.bin", tmpdir, s);
        write_tiny_llama2c(path, shapes[s].dim, shapes[s].hidden, shapes[s].layers, shapes[s].heads, shapes[s].kv,
                           shapes[s].vocab, shapes[s].seq, shapes[s].shared, 100 + s);
        int32_t toks[12] = {1, 7, 3, 9, 12, 0, 5, 5, 30, 2, 11, 4};
        char label[64];
        snprintf(label, sizeof label, "tiny%d", s);
        check_prefill_equivalence(path, toks, 12, p1, label);
        check_prefill_equivalence(path, toks, 12, p2, label);
        check_convert_roundtrip(path, p2, label);
        if (s == 1) check_multi_sequence_batch(path, p2);
    }

    /* stories15M, from the cache `optibench pull stories15M` fills */
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(path, sizeof path, "%s/optibench/stories15M/model.bin", xdg);
    else snprintf(path, sizeof path, "%s/.cache/optibench/stories15M/model.bin", home ? home : ".");
    if (access(path, R_OK) == 0) {
        int32_t toks[20] = {1, 9038, 2501, 263, 931, 29892, 727, 471, 263, 2217,
                            7826, 4257, 365, 2354, 29889, 2296, 5131, 304, 1708, 29889};
        check_prefill_equivalence(path, toks, 20, p2, "stories15M");
        check_convert_roundtrip(path, p2, "stories15M");
        check_sampling(path, p2);
    } else {
        CHECK(0, "stories15M not in the cache (%s): run `optibench pull stories15M` first", path);
    }
    check_sampler_unit();
    check_bad_inputs();

    ob_pool_free(p1);
    ob_pool_free(p2);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_DONE("test_model");
}

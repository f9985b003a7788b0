/* quantopt.c - the quantization options shared by `generate` and `bench`:
 *   --quant FMT                 convert the linear layers after loading
 *   --tensor-type PATTERN=FMT   per-tensor override (repeatable)
 *   --quant-embd, --quant-output  also convert token_embd / output
 * and the one-paragraph summary printed after converting. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

int cli_quant_arg(int argc, char **argv, int *i, cli_quant *q) {
    const char *v;
    int r;
    if ((r = arg_str(argc, argv, i, "--quant", NULL, &v))) {
        if (r > 0) q->format = v;
        return r;
    }
    if ((r = arg_str(argc, argv, i, "--tensor-type", NULL, &v))) {
        if (r < 0) return r;
        if (q->n_overrides == CLI_MAX_OVERRIDES) {
            fprintf(stderr, "optibench: at most %d --tensor-type options\n", CLI_MAX_OVERRIDES);
            return -1;
        }
        q->overrides[q->n_overrides++] = v;
        return 1;
    }
    if (!strcmp(argv[*i], "--quant-embd")) return q->embd = 1;
    if (!strcmp(argv[*i], "--quant-output")) return q->output = 1;
    return 0;
}

int cli_quant_apply(ob_model *m, const cli_quant *q, ob_pool *pool, FILE *out, ob_err *err) {
    if (!q->format && !q->n_overrides) return 0;
    ob_quant_params p = ob_quant_default_params();
    p.format = q->format ? q->format : "keep"; /* overrides only */
    p.embeddings = q->embd;
    p.output = q->output;
    p.overrides = q->overrides;
    p.n_overrides = q->n_overrides;
    ob_quant_report rep;
    double t0 = ob_now();
    int rc = ob_model_quantize(m, &p, pool, &rep, err);
    if (rc) return rc;
    double sq_min = INFINITY, sq_mean = 0, bits = 0, numel = 0;
    for (int i = 0; i < rep.n_tensors; i++) {
        const ob_quant_tensor *t = &rep.tensors[i];
        double n = (double)t->rows * (double)t->cols;
        if (t->sqnr_db < sq_min) sq_min = t->sqnr_db;
        sq_mean += t->sqnr_db / rep.n_tensors;
        bits += t->bits_per_weight * n;
        numel += n;
    }
    fprintf(out, "quantized %d tensors (RTN, %s%s) in %.1f s: %.2f bits/weight, SQNR mean %.1f dB, min %.1f dB; "
            "weights %.1f MB -> %.1f MB\n",
            rep.n_tensors, p.format, q->n_overrides ? " + overrides" : "", ob_now() - t0,
            numel > 0 ? bits / numel : 0.0, sq_mean, sq_min, rep.bytes_before / 1e6, rep.bytes_after / 1e6);
    ob_quant_report_free(&rep);
    return 0;
}

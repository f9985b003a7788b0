/* cmd_logits.c - `optibench logits`: raw float32 logits for a token list.
 * Output: little-endian float32, one row of n_vocab per position (--all) or
 * one row for the last token.  The reference tests compare these with NumPy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

int cmd_logits(int argc, char **argv) {
    const char *model = NULL, *toks = NULL, *out = NULL, *v;
    int all = 0, threads = 1, batch = 512, r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model)) ||
            (r = arg_str(argc, argv, &i, "--tokens", NULL, &toks)) || (r = arg_str(argc, argv, &i, "-o", "--out", &out))) {
            if (r < 0) return 2;
        } else if ((r = arg_str(argc, argv, &i, "-t", "--threads", &v))) {
            if (r < 0 || parse_int("logits", "--threads", v, 1, 256, &threads)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--batch", NULL, &v))) {
            if (r < 0 || parse_int("logits", "--batch", v, 1, 1 << 16, &batch)) return 2;
        } else if (!strcmp(argv[i], "--all")) {
            all = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: optibench logits -m MODEL --tokens ID,ID,... [--all] [-t N] [--batch B] -o FILE\n"
                   "  writes float32 logits (n_vocab per row): every position with --all, else the last\n"
                   "  --batch B feeds B tokens per forward call (1 = token by token)\n");
            return 0;
        } else {
            fprintf(stderr, "optibench logits: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model || !toks || !out) {
        fprintf(stderr, "optibench logits: -m, --tokens and -o are required\n");
        return 2;
    }
    int32_t *ids;
    int n;
    if (parse_int_list("logits", "--tokens", toks, &ids, &n)) return 2;
    ob_err err = {0};
    char path[2048];
    ob_model *m = NULL;
    ob_pool *pool = NULL;
    ob_ctx *ctx = NULL;
    float *logits = NULL;
    int rc = 1;
    if (cli_resolve_model(model, path, sizeof path, &err) || ob_model_load(path, NULL, &m, &err) ||
        ob_pool_new(threads, &pool, &err) || ob_model_pack_x16(m, pool, NULL, &err))
        goto done;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = n;
    cp.max_batch = batch;
    if (ob_ctx_new(m, pool, &cp, &ctx, &err)) goto done;
    size_t V = (size_t)ob_model_config(m)->n_vocab, rows = all ? (size_t)n : 1;
    logits = malloc(rows * V * sizeof(float));
    if (!logits) {
        ob_fail(&err, OB_ENOMEM, "out of memory");
        goto done;
    }
    if (ob_forward(ctx, 0, ids, n, 0, all, logits, &err)) goto done;
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(logits, sizeof(float), rows * V, f) != rows * V) {
        if (f) fclose(f);
        ob_fail(&err, OB_EIO, "%s: cannot write", out);
        goto done;
    }
    if (fclose(f)) {
        ob_fail(&err, OB_EIO, "%s: write failed", out);
        goto done;
    }
    rc = 0;
done:
    free(ids);
    free(logits);
    ob_ctx_free(ctx);
    ob_pool_free(pool);
    ob_model_free(m);
    return rc ? cli_error("logits", &err) : 0;
}

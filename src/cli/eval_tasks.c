/* eval_tasks.c - the question-answering tasks of `optibench eval`: RACE,
 * PubMedQA, generic JSONL multiple choice, the embedded story-cloze set,
 * SQuAD v2 and GSM8K.  Data comes from the original files (src/eval/
 * datasets.h); the work is src/eval/tasks.h; this file picks the data,
 * applies the CLI options and writes results.json entries, samples and a
 * table. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/eval_cli.h"
#include "eval/tasks.h"

typedef enum { K_RACE, K_PUBMEDQA, K_MC, K_STORYCLOZE, K_SQUAD2, K_GSM8K } task_kind;

typedef struct {
    const char *name, *alias1, *alias2;
    task_kind kind;
    int default_shots;   /* lm-eval's num_fewshot for the task             */
    const char *source;  /* what --data must be                              */
} task_def;

static const task_def TASKS[] = {
    {"race", "race_h", "race-h", K_RACE, 0, "the RACE release's test/high folder"},
    {"pubmedqa", NULL, NULL, K_PUBMEDQA, 0, "PubMedQA's ori_pqal.json"},
    {"mc", "jsonl", NULL, K_MC, 0, "a multiple-choice JSON Lines file (docs/eval-formats.md)"},
    {"storycloze", "story_cloze", NULL, K_STORYCLOZE, 0, "a multiple-choice JSON Lines file"},
    {"squad2", "squadv2", "squad_v2", K_SQUAD2, 0, "SQuAD v2's dev-v2.0.json"},
    {"gsm8k", NULL, NULL, K_GSM8K, 5, "GSM8K's test.jsonl, or its folder with test.jsonl and train.jsonl"},
};
enum { N_TASKS = sizeof TASKS / sizeof TASKS[0] };

static const task_def *find_task(const char *name) {
    for (int i = 0; i < N_TASKS; i++) {
        const task_def *t = &TASKS[i];
        if (!strcmp(name, t->name) || (t->alias1 && !strcmp(name, t->alias1)) ||
            (t->alias2 && !strcmp(name, t->alias2)))
            return t;
    }
    return NULL;
}

int eval_is_qa_task(const char *name) { return find_task(name) != NULL; }

static int is_dir(const char *p) {
    struct stat st;
    return !stat(p, &st) && S_ISDIR(st.st_mode);
}
static int is_file(const char *p) {
    struct stat st;
    return !stat(p, &st) && S_ISREG(st.st_mode);
}

/* data/storycloze.jsonl of the optibench tree: $OB_ROOT/data, then beside
 * the binary (build/optibench -> ../data), then ./data. */
int cli_default_storycloze(char *buf, size_t size) {
    const char *root = getenv("OB_ROOT");
    if (root && *root) {
        snprintf(buf, size, "%s/data/storycloze.jsonl", root);
        if (is_file(buf)) return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, size, "%s/../data/storycloze.jsonl", exe);
            if (is_file(buf)) return 0;
        }
    }
    snprintf(buf, size, "data/storycloze.jsonl");
    return is_file(buf) ? 0 : -1;
}

/* ------------------------------------------------------------- few-shot */

/* lm-eval's default ContextSampler when the few-shot examples come from the
 * evaluated split itself: for each item in order, random.Random(seed)
 * .sample(items, k + 1) with one generator kept across items, the item
 * itself dropped, the first k kept; each exemplar is its context + " " +
 * its gold choice, and they are joined and followed by "\n\n" before the
 * item's own context.  Rewrites the first n contexts in place. */
static int mc_apply_shots(ob_mc_set *set, int n, int k, uint64_t seed, ob_err *err) {
    if (k <= 0) return 0;
    if (k + 1 > set->n)
        return ob_fail(err, OB_EINVAL, "%d-shot needs at least %d items, the set has %d", k, k + 1, set->n);
    ob_pyrandom rnd;
    ob_pyrandom_seed(&rnd, seed);
    int *pick = malloc((size_t)(k + 1) * sizeof *pick);
    char **ctx = calloc((size_t)n, sizeof *ctx);
    int rc = !pick || !ctx ? ob_fail(err, OB_ENOMEM, "out of memory for few-shot prompts") : 0;
    for (int i = 0; i < n && !rc; i++) {
        if ((rc = ob_pyrandom_sample(&rnd, set->n, k + 1, pick, err))) break;
        size_t len = strlen(set->items[i].context) + 1;
        for (int j = 0, used = 0; j <= k && used < k; j++) {
            if (pick[j] == i) continue;
            const ob_mc_item *ex = &set->items[pick[j]];
            len += strlen(ex->context) + 1 + strlen(ex->choices[ex->gold]) + 2;
            pick[used++] = pick[j];
        }
        char *c = malloc(len);
        if (!c) {
            rc = ob_fail(err, OB_ENOMEM, "out of memory for few-shot prompts");
            break;
        }
        size_t at = 0;
        for (int j = 0; j < k; j++) {
            const ob_mc_item *ex = &set->items[pick[j]];
            at += (size_t)sprintf(c + at, "%s %s\n\n", ex->context, ex->choices[ex->gold]);
        }
        strcpy(c + at, set->items[i].context);
        ctx[i] = c;
    }
    for (int i = 0; i < n; i++) {
        if (rc) {
            free(ctx ? ctx[i] : NULL);
            continue;
        }
        free(set->items[i].context);
        set->items[i].context = ctx[i];
    }
    free(ctx);
    free(pick);
    return rc;
}

/* -------------------------------------------------------------- output */

static json_t *str_array(char *const *v, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

typedef struct {
    const task_def *t;
    const char *data;
    int n_all, n, shots, window, max_gen;
    ob_req_stats st[2];
    int n_stats, n_truncated, n_requests;
} run_info;

/* n-samples, n-shot, configs and optibench's own record of the run. */
static void record_run(eval_cli *e, const run_info *ri, const char *output_type) {
    const char *name = ri->t->name;
    json_t *ns = json_object();
    eval_set_int(ns, "original", ri->n_all);
    eval_set_int(ns, "effective", ri->n);
    json_object_set_new(e->nsamp, name, ns);
    eval_set_int(e->nshot, name, ri->shots);
    json_t *c = json_object();
    eval_set_str(c, "task", name);
    eval_set_str(c, "dataset_path", ri->data);
    eval_set_str(c, "output_type", output_type);
    eval_set_int(c, "num_fewshot", ri->shots);
    if (ri->shots) eval_set_int(c, "fewshot_seed", (int64_t)e->seed);
    if (ri->max_gen) eval_set_int(c, "max_gen_toks", ri->max_gen);
    json_object_set_new(e->configs, name, c);

    json_t *d = json_object();
    double secs = 0;
    int64_t fed = 0, scored = 0;
    for (int i = 0; i < ri->n_stats; i++) {
        secs += ri->st[i].seconds;
        fed += ri->st[i].tokens_fed;
        scored += ri->st[i].tokens_scored;
    }
    eval_set_str(d, "data", ri->data);
    eval_set_int(d, "items", ri->n);
    eval_set_int(d, "requests", ri->n_requests);
    eval_set_int(d, "window", ri->window);
    eval_set_int(d, "batch", e->batch);
    json_object_set_new(d, "add_bos", json_boolean(e->add_bos > 0));
    json_object_set_new(d, "deterministic", json_boolean(e->deterministic));
    eval_set_int(d, "truncated_items", ri->n_truncated);
    eval_set_int(d, "tokens_fed", fed);
    eval_set_int(d, !strcmp(output_type, "generate_until") ? "tokens_generated" : "tokens_scored", scored);
    eval_set_num(d, "seconds", secs);
    eval_set_num(d, "examples_per_s", secs > 0 ? ri->n / secs : 0);
    eval_set_num(d, "tokens_per_s", secs > 0 ? fed / secs : 0);
    eval_set_num(d, !strcmp(output_type, "generate_until") ? "generated_per_s" : "scored_per_s",
                 secs > 0 ? scored / secs : 0);
    json_object_set_new(e->details, name, d);

    if (ri->n_truncated)
        fprintf(stderr, "eval: %s: %d of %d items were truncated from the left to fit the window of %d tokens\n",
                name, ri->n_truncated, ri->n, ri->window);
    printf("| %s | items %d | %.2f s | %.1f examples/s | %.0f tok/s |\n", name, ri->n, secs,
           secs > 0 ? ri->n / secs : 0, secs > 0 ? fed / secs : 0);
}

/* DIR/samples_<task>.jsonl, one line per item made by line(u, i). */
static int log_samples(const eval_cli *e, const char *task, int n, json_t *(*line)(const void *u, int i),
                       const void *u, ob_err *err) {
    if (!e->log_samples) return 0;
    eval_samples smp = {0};
    int rc = eval_samples_open(&smp, e->outdir, task, err);
    for (int i = 0; i < n && !rc; i++) rc = eval_samples_write(&smp, line(u, i), err);
    int rc2 = eval_samples_close(&smp, !rc, err);
    return rc ? rc : rc2;
}

static void print_metric(const char *task, const char *metric, double v, double se) {
    if (se == se) printf("| %s | %s | %.4f | %.4f |\n", task, metric, v, se);
    else printf("| %s | %s | %.4f | N/A |\n", task, metric, v);
}

/* ------------------------------------------------------------ the tasks */

static int load_mc(const task_def *t, const char *data, ob_mc_set **set, ob_err *err) {
    switch (t->kind) {
    case K_RACE: return ob_race_load(data, set, err);
    case K_PUBMEDQA: return ob_pubmedqa_load(data, set, err);
    default: return ob_mc_jsonl_load(data, set, err);
    }
}

typedef struct {
    const ob_mc_set *set;
    const ob_mc_out *out;
} mc_lines;

static json_t *mc_line(const void *u, int i) {
    const mc_lines *m = u;
    const ob_mc_item *it = &m->set->items[i];
    const ob_mc_out *r = &m->out[i];
    json_t *l = json_object(), *ll = json_array(), *gr = json_array();
    for (int c = 0; c < r->n_choices; c++) {
        json_array_append_new(ll, json_real(r->loglik[c]));
        json_array_append_new(gr, json_boolean(r->is_greedy[c]));
    }
    eval_set_int(l, "doc_id", i);
    eval_set_str(l, "id", it->id);
    eval_set_str(l, "prompt", it->context);
    json_object_set_new(l, "choices", str_array(it->choices, it->n_choices));
    eval_set_int(l, "target", it->gold);
    json_object_set_new(l, "loglik", ll);
    json_object_set_new(l, "is_greedy", gr);
    eval_set_int(l, "pred", r->r.pred);
    eval_set_int(l, "pred_norm", r->r.pred_norm);
    eval_set_num(l, "acc", r->r.acc);
    eval_set_num(l, "acc_norm", r->r.acc_norm);
    eval_set_int(l, "truncated", r->truncated);
    return l;
}

static int run_mc(eval_cli *e, ob_task_env *env, run_info *ri, ob_err *err) {
    ob_mc_set *set = NULL;
    ob_mc_out *out = NULL;
    ob_mc_summary sum;
    int rc = load_mc(ri->t, ri->data, &set, err);
    if (rc) return rc;
    ri->n_all = set->n;
    ri->n = e->limit && e->limit < set->n ? e->limit : set->n;
    if ((rc = mc_apply_shots(set, ri->n, ri->shots, e->seed, err))) goto done;
    out = calloc((size_t)ri->n, sizeof *out);
    if (!out) {
        rc = ob_fail(err, OB_ENOMEM, "out of memory for %d items", ri->n);
        goto done;
    }
    if ((rc = ob_task_mc(env, set, ri->n, out, &sum, err))) goto done;
    ri->st[0] = sum.stats;
    ri->n_stats = 1;
    ri->n_truncated = sum.n_truncated;
    ri->n_requests = sum.n_requests;
    json_t *o = json_object();
    eval_set_str(o, "alias", ri->t->name);
    eval_set_num(o, "acc,none", sum.acc);
    eval_set_num(o, "acc_stderr,none", sum.acc_stderr);
    eval_set_num(o, "acc_norm,none", sum.acc_norm);
    eval_set_num(o, "acc_norm_stderr,none", sum.acc_norm_stderr);
    json_object_set_new(e->results, ri->t->name, o);
    mc_lines ml = {set, out};
    rc = log_samples(e, ri->t->name, ri->n, mc_line, &ml, err);
    if (!rc) {
        record_run(e, ri, "multiple_choice");
        print_metric(ri->t->name, "acc", sum.acc, sum.acc_stderr);
        print_metric(ri->t->name, "acc_norm", sum.acc_norm, sum.acc_norm_stderr);
    }
done:
    if (out) ob_mc_out_free(out, ri->n);
    free(out);
    ob_mc_set_free(set);
    return rc;
}

typedef struct {
    const ob_squad_set *set;
    const ob_squad_out *out;
} squad_lines;

static json_t *squad_line(const void *u, int i) {
    const squad_lines *m = u;
    const ob_squad_q *q = &m->set->items[i];
    const ob_squad_out *r = &m->out[i];
    json_t *l = json_object();
    eval_set_int(l, "doc_id", i);
    eval_set_str(l, "id", q->id);
    eval_set_str(l, "prompt", q->prompt);
    eval_set_str(l, "generation", r->pred);
    json_object_set_new(l, "answers", str_array(q->answers, q->n_answers));
    eval_set_num(l, "loglik_unanswerable", r->ll_unanswerable);
    eval_set_num(l, "no_answer_probability", r->na_prob);
    eval_set_int(l, "exact", r->exact);
    eval_set_num(l, "f1", r->f1);
    eval_set_int(l, "truncated", r->truncated);
    return l;
}

static int run_squad(eval_cli *e, ob_task_env *env, run_info *ri, ob_err *err) {
    ob_squad_set *set = NULL;
    ob_squad_out *out = NULL;
    ob_squad_summary sum;
    int rc = ob_squad_load(ri->data, &set, err);
    if (rc) return rc;
    ri->n_all = set->n;
    ri->n = e->limit && e->limit < set->n ? e->limit : set->n;
    out = calloc((size_t)ri->n, sizeof *out);
    if (!out) {
        rc = ob_fail(err, OB_ENOMEM, "out of memory for %d items", ri->n);
        goto done;
    }
    if ((rc = ob_task_squad(env, set, ri->n, ri->max_gen, out, &sum, err))) goto done;
    ri->st[0] = sum.gen_stats;
    ri->st[1] = sum.ll_stats;
    ri->n_stats = 2;
    ri->n_truncated = sum.n_truncated;
    ri->n_requests = 2 * ri->n;
    const ob_squad_result *s = &sum.r;
    json_t *o = json_object();
    eval_set_str(o, "alias", ri->t->name);
    struct {
        const char *k;
        double v;
    } m[] = {{"exact,none", s->exact},           {"f1,none", s->f1},
             {"HasAns_exact,none", s->HasAns_exact}, {"HasAns_f1,none", s->HasAns_f1},
             {"NoAns_exact,none", s->NoAns_exact},   {"NoAns_f1,none", s->NoAns_f1},
             {"best_exact,none", s->best_exact},     {"best_f1,none", s->best_f1}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        if ((!strncmp(m[i].k, "HasAns", 6) && !s->HasAns_total) || (!strncmp(m[i].k, "NoAns", 5) && !s->NoAns_total))
            continue;
        eval_set_num(o, m[i].k, m[i].v);
        char se[64];
        snprintf(se, sizeof se, "%.*s_stderr,none", (int)(strchr(m[i].k, ',') - m[i].k), m[i].k);
        eval_set_str(o, se, "N/A");
    }
    json_object_set_new(e->results, ri->t->name, o);
    squad_lines sl = {set, out};
    rc = log_samples(e, ri->t->name, ri->n, squad_line, &sl, err);
    if (!rc) {
        record_run(e, ri, "generate_until");
        print_metric(ri->t->name, "exact", s->exact, NAN);
        print_metric(ri->t->name, "f1", s->f1, NAN);
        if (s->HasAns_total) print_metric(ri->t->name, "HasAns_f1", s->HasAns_f1, NAN);
        if (s->NoAns_total) print_metric(ri->t->name, "NoAns_exact", s->NoAns_exact, NAN);
    }
done:
    if (out) ob_squad_out_free(out, ri->n);
    free(out);
    ob_squad_set_free(set);
    return rc;
}

/* --data for gsm8k: a folder with test.jsonl (and train.jsonl), or the
 * test file with train.jsonl beside it; --fewshot-file overrides train. */
static int gsm8k_paths(const eval_cli *e, const char *data, char *test, char *train, size_t size) {
    if (is_dir(data)) {
        snprintf(test, size, "%.4000s/test.jsonl", data);
        snprintf(train, size, "%.4000s/train.jsonl", data);
    } else {
        snprintf(test, size, "%.4000s", data);
        const char *slash = strrchr(data, '/');
        int dl = slash ? (int)(slash - data) : 1;
        snprintf(train, size, "%.*s/train.jsonl", dl, slash ? data : ".");
    }
    if (e->fewshot_file) snprintf(train, size, "%s", e->fewshot_file);
    return 0;
}

static const char *const GSM8K_FILTERS[2] = {"strict-match", "flexible-extract"};

typedef struct {
    const ob_gsm8k_set *test;
    const ob_gsm8k_out *out;
} gsm8k_lines;

static json_t *gsm8k_line(const void *u, int i) {
    const gsm8k_lines *m = u;
    const ob_gsm8k_out *r = &m->out[i];
    json_t *l = json_object();
    eval_set_int(l, "doc_id", i);
    eval_set_str(l, "prompt", r->prompt);
    eval_set_str(l, "generation", r->generation);
    eval_set_str(l, "target", m->test->items[i].answer);
    for (int f = 0; f < 2; f++) {
        char k[64];
        eval_set_str(l, GSM8K_FILTERS[f], r->extracted[f]);
        snprintf(k, sizeof k, "exact_match,%s", GSM8K_FILTERS[f]);
        eval_set_int(l, k, r->match[f]);
    }
    eval_set_int(l, "truncated", r->truncated);
    return l;
}

static int run_gsm8k(eval_cli *e, ob_task_env *env, run_info *ri, ob_err *err) {
    char test_p[4200], train_p[4200];
    gsm8k_paths(e, ri->data, test_p, train_p, sizeof test_p);
    ob_gsm8k_set *test = NULL, *train = NULL;
    ob_gsm8k_out *out = NULL;
    ob_gsm8k_summary sum;
    int rc = ob_gsm8k_load(test_p, &test, err);
    if (!rc && ri->shots > 0) {
        if (!is_file(train_p))
            rc = ob_fail(err, OB_EIO, "%s: no such file: %d-shot GSM8K takes its exemplars from the train split "
                                      "(give --fewshot-file, or --shots 0)", train_p, ri->shots);
        else rc = ob_gsm8k_load(train_p, &train, err);
    }
    if (rc) goto done;
    ri->n_all = test->n;
    ri->n = e->limit && e->limit < test->n ? e->limit : test->n;
    out = calloc((size_t)ri->n, sizeof *out);
    if (!out) {
        rc = ob_fail(err, OB_ENOMEM, "out of memory for %d items", ri->n);
        goto done;
    }
    if ((rc = ob_task_gsm8k(env, test, train, ri->shots, e->seed, ri->n, ri->max_gen, out, &sum, err))) goto done;
    ri->st[0] = sum.stats;
    ri->n_stats = 1;
    ri->n_truncated = sum.n_truncated;
    ri->n_requests = ri->n;
    json_t *o = json_object();
    eval_set_str(o, "alias", ri->t->name);
    for (int f = 0; f < 2; f++) {
        char k[64];
        snprintf(k, sizeof k, "exact_match,%s", GSM8K_FILTERS[f]);
        eval_set_num(o, k, sum.em[f]);
        snprintf(k, sizeof k, "exact_match_stderr,%s", GSM8K_FILTERS[f]);
        eval_set_num(o, k, sum.em_stderr[f]);
    }
    json_object_set_new(e->results, ri->t->name, o);
    gsm8k_lines gl = {test, out};
    rc = log_samples(e, ri->t->name, ri->n, gsm8k_line, &gl, err);
    if (!rc) {
        record_run(e, ri, "generate_until");
        print_metric(ri->t->name, "exact_match,strict-match", sum.em[0], sum.em_stderr[0]);
        print_metric(ri->t->name, "exact_match,flexible-extract", sum.em[1], sum.em_stderr[1]);
    }
done:
    if (out) ob_gsm8k_out_free(out, ri->n);
    free(out);
    ob_gsm8k_set_free(test);
    ob_gsm8k_set_free(train);
    return rc;
}

int eval_run_qa_task(eval_cli *e, const char *name, ob_err *err) {
    const task_def *t = find_task(name);
    if (!t) return ob_fail(err, OB_EINVAL, "unknown task '%s'", name);
    const ob_tokenizer *tok = ob_model_tokenizer(e->model);
    if (!tok) return ob_fail(err, OB_EINVAL, "%s: task %s needs the model's tokenizer", e->mpath, t->name);
    char found[4200];
    run_info ri = {.t = t};
    ri.data = eval_data_for(e, t->name, t->alias1, t->alias2);
    if (!ri.data && t->kind == K_STORYCLOZE) {
        if (cli_default_storycloze(found, sizeof found))
            return ob_fail(err, OB_EIO, "storycloze: data/storycloze.jsonl not found (set OB_ROOT to the optibench "
                                        "folder, or give --data storycloze=PATH)");
        ri.data = found;
    }
    if (!ri.data) return ob_fail(err, OB_EINVAL, "task %s needs --data %s=PATH: %s", t->name, t->name, t->source);
    ri.shots = e->shots >= 0 ? e->shots : t->default_shots;
    if (t->kind == K_SQUAD2 && ri.shots) {
        fprintf(stderr, "eval: squad2 is zero-shot (lm-eval's squadv2 has no few-shot split); --shots %d not used\n",
                ri.shots);
        ri.shots = 0;
    }
    const ob_config *cfg = ob_model_config(e->model);
    ri.window = e->ctx ? e->ctx : (cfg->max_seq < 4096 ? cfg->max_seq : 4096);
    if (ri.window > cfg->max_seq)
        return ob_fail(err, OB_ERANGE, "--ctx %d exceeds the model's context of %d tokens", ri.window, cfg->max_seq);
    if (t->kind == K_SQUAD2 || t->kind == K_GSM8K) {
        ri.max_gen = e->max_gen ? e->max_gen : 256;
        if (ri.max_gen >= ri.window) {
            int m = ri.window / 2;
            if (e->max_gen)
                return ob_fail(err, OB_ERANGE, "--max-gen-toks %d leaves no room for the prompt in a window of %d",
                               ri.max_gen, ri.window);
            fprintf(stderr, "eval: %s: max_gen_toks 256 does not fit a window of %d tokens; using %d\n", t->name,
                    ri.window, m);
            ri.max_gen = m;
        }
    }
    eval_progress ps = {.task = t->name, .unit = "requests", .tty = e->tty};
    ob_task_env env = {e->model, e->pool, tok, e->add_bos > 0, ob_req_default_params()};
    env.req.n_seq = e->batch;
    env.req.batch_invariant = e->deterministic;
    env.req.max_len = ri.window;
    env.req.progress = eval_progress_cb;
    env.req.progress_user = &ps;
    int rc;
    switch (t->kind) {
    case K_SQUAD2: rc = run_squad(e, &env, &ri, err); break;
    case K_GSM8K: rc = run_gsm8k(e, &env, &ri, err); break;
    default: rc = run_mc(e, &env, &ri, err); break;
    }
    return rc;
}

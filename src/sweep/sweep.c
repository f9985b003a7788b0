/* sweep.c - the sweep driver (sweep.h): checks before any work, the plan
 * of cells and their ids, resume, each cell in a child process, and the
 * records, MLflow runs and report written as cells finish. */
#include "sweep/sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eval/eval.h"
#include "report/fileio.h"
#include "report/html.h"
#include "report/machine.h"
#include "report/mlstore.h"
#include "report/results.h"
#include "sweep/sweep_int.h"

ob_sweep_opts ob_sweep_default_opts(void) {
    ob_sweep_opts o = {0};
    o.isolate = 1;
    o.min_free_bytes = (int64_t)256 << 20;
    o.bw_bytes = (size_t)256 << 20;
    return o;
}

const char *ob_sweep_output(const ob_sweep_config *cfg) { return cfg->output ? cfg->output : "out/sweep"; }

/* --------------------------------------------------------------- events */

void sweep_emit(const sweep_run *s, ob_sweep_event *ev) {
    if (!s->o->on_event) return;
    const double now = ob_now();
    ev->cell = s->cur;
    ev->n_cells = s->n_cells;
    ev->n_done = s->n_done;
    if (s->cur >= 0 && s->cur < s->n_cells) {
        const sweep_cell *c = &s->cells[s->cur];
        if (!ev->model) ev->model = s->models[c->model].arg;
        if (!ev->recipe) ev->recipe = c->recipe->name;
    }
    ev->cell_elapsed = now - s->cell_t0;
    ev->sweep_elapsed = now - s->t0;
    ev->eta = -1;
    if (s->n_timed) { /* the mean cell so far, times what is left */
        double per = s->run_seconds / s->n_timed, left = per * (s->n_cells - s->n_done);
        if (ev->kind == OB_SWEEP_EV_STAGE || ev->kind == OB_SWEEP_EV_BEGIN)
            left -= ev->cell_elapsed < per ? ev->cell_elapsed : per;
        ev->eta = left > 0 ? left : 0;
    }
    s->o->on_event(s->o->user, ev);
}

void sweep_stage(const sweep_run *s, const char *stage, int done, int total) {
    ob_sweep_event ev = {.kind = OB_SWEEP_EV_STAGE, .stage = stage, .done = done, .total = total};
    sweep_emit(s, &ev);
}

/* ------------------------------------------------------------ the plan */

static int file_exists(const char *key, const char *path, ob_err *err) {
    struct stat st;
    if (!path) return ob_fail(err, OB_EINVAL, "%s: no data given and no packaged default", key);
    if (stat(path, &st)) return ob_fail(err, OB_EIO, "%s: %s: %s", key, path, strerror(errno));
    return 0;
}

/* The settings besides the recipe that decide a cell's numbers. */
static json_t *run_settings(const sweep_run *s) {
    const ob_sweep_config *c = s->cfg;
    json_t *t = json_object(), *o = json_object();
    if (c->ppl.on) json_object_set_new(t, "ppl", json_pack("{s:s, s:i, s:i}", "data", s->ppl_path, "limit",
                                                          c->ppl.limit, "ctx", c->ppl.ctx));
    if (c->kld.on) json_object_set_new(t, "kld", json_pack("{s:s, s:i, s:i}", "data", s->ppl_path, "limit",
                                                          c->kld.limit, "ctx", c->ppl.ctx));
    if (c->storycloze.on)
        json_object_set_new(t, "storycloze", json_pack("{s:s, s:i}", "data", s->cloze_path, "limit",
                                                       c->storycloze.limit));
    json_object_set_new(o, "version", json_string(OB_SWEEP_VERSION));
    json_object_set_new(o, "tasks", t);
    if (c->bench.on)
        json_object_set_new(o, "bench", json_pack("{s:i, s:i, s:i, s:i, s:i}", "prompt_len", c->bench.prompt_len,
                                                  "gen_len", c->bench.gen_len, "batch", c->bench.batch, "reps",
                                                  c->bench.reps, "warmup", c->bench.warmup));
    json_object_set_new(o, "threads", json_integer(c->threads));
    return o;
}

/* Cells of every model, its baseline first, then the recipes in order;
 * --only filters by recipe name. */
static int plan(sweep_run *s, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    const ob_recipe *base = ob_sweep_config_baseline(cfg);
    s->cells = calloc((size_t)cfg->n_models * cfg->n_recipes + 1, sizeof *s->cells);
    if (!s->cells) return ob_fail(err, OB_ENOMEM, "out of memory");
    for (int mi = 0; mi < cfg->n_models; mi++) {
        for (int k = -1; k < cfg->n_recipes; k++) {
            const ob_recipe *r = k < 0 ? base : &cfg->recipes[k];
            if (!r || (k >= 0 && r == base)) continue;
            if (s->o->only && fnmatch(s->o->only, r->name, 0)) continue;
            s->cells[s->n_cells++] = (sweep_cell){.model = mi, .recipe = r};
        }
    }
    if (!s->n_cells) return ob_fail(err, OB_EINVAL, "--only %s matches no recipe", s->o->only ? s->o->only : "");
    return 0;
}

/* Keys and ids of the cells of a prepared model. */
static int cell_ids(sweep_run *s, int mi, ob_err *err) {
    const sweep_model *mm = &s->models[mi];
    json_t *settings = run_settings(s);
    int rc = settings ? 0 : ob_fail(err, OB_ENOMEM, "out of memory");
    for (int i = 0; i < s->n_cells && !rc; i++) {
        sweep_cell *c = &s->cells[i];
        if (c->model != mi) continue;
        json_t *ident = mm->identity ? mm->identity : json_pack("{s:s}", "path", mm->arg);
        c->key = ob_recipe_key(c->recipe, ident, s->calib_id);
        if (!mm->identity) json_decref(ident);
        json_t *all = json_pack("{s:O, s:O}", "recipe", c->key, "run", settings);
        rc = !c->key || !all ? ob_fail(err, OB_ENOMEM, "out of memory") : ob_json_sha256(c->key, c->hash, err);
        if (!rc) rc = ob_json_sha256(all, c->id, err);
        json_decref(all);
    }
    json_decref(settings);
    return rc;
}

static int model_needs_calib(const sweep_run *s, int mi) {
    for (int i = 0; i < s->n_cells; i++)
        if (s->cells[i].model == mi && ob_recipe_calibrated(s->cells[i].recipe)) return 1;
    return 0;
}

/* ------------------------------------------------------------ the cells */

/* The outcome of a cell run in a child process, read from a pipe. */
static json_t *run_isolated(sweep_run *s, int ci) {
    int fd[2];
    if (pipe(fd)) return json_pack("{s:s, s:s}", "status", "failed", "error", "cannot create a pipe for the cell");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return json_pack("{s:s, s:s}", "status", "failed", "error", "cannot start the cell's process (fork)");
    }
    if (pid == 0) {
        close(fd[0]);
        json_t *res = sweep_cell_run(s, ci);
        char *txt = res ? json_dumps(res, JSON_COMPACT) : NULL;
        size_t n = txt ? strlen(txt) : 0, at = 0;
        while (at < n) {
            ssize_t w = write(fd[1], txt + at, n - at);
            if (w <= 0) break;
            at += (size_t)w;
        }
        close(fd[1]);
        int ok = txt && at == n;
        free(txt);
        json_decref(res);
        exit(ok ? 0 : 3);
    }
    close(fd[1]);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!nb) break;
            buf = nb;
        }
        ssize_t r = read(fd[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    json_t *res = NULL;
    if (buf && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        buf[len] = '\0';
        res = json_loads(buf, 0, NULL);
    }
    free(buf);
    if (res) return res;
    char why[256];
    if (WIFSIGNALED(status))
        snprintf(why, sizeof why, "the cell's process died of signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGKILL ? ", perhaps out of memory" : "");
    else
        snprintf(why, sizeof why, "the cell's process exited with status %d and no result",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return json_pack("{s:s, s:s}", "status", "failed", "error", why);
}

/* The full record of cell c from its outcome. */
static json_t *record(const sweep_run *s, const sweep_cell *c, json_t *res) {
    json_t *rec = json_object();
    json_object_set_new(rec, "model", json_string(s->models[c->model].arg));
    json_object_set_new(rec, "recipe", json_string(c->recipe->name));
    json_object_set(rec, "status", json_object_get(res, "status"));
    json_t *params = json_deep_copy(json_object_get(c->key, "recipe"));
    json_object_set_new(rec, "params", params ? params : json_object());
    json_t *m = json_object_get(res, "metrics");
    json_object_set(rec, "metrics", m ? m : json_object());
    if (json_object_get(res, "error")) json_object_set(rec, "error", json_object_get(res, "error"));
    json_object_set_new(rec, "cell_id", json_string(c->id));
    if (c->recipe->kind != OB_RECIPE_BASELINE) json_object_set_new(rec, "cache", json_string(c->hash));
    if (json_object_get(res, "cached")) json_object_set(rec, "cached", json_object_get(res, "cached"));
    json_object_set_new(rec, "threads", json_integer(s->cfg->threads));
    if (s->cfg->n_models > 1) { /* MLflow run names stay unique in the experiment */
        char name[4400];
        snprintf(name, sizeof name, "%s / %s", s->models[c->model].arg, c->recipe->name);
        json_object_set_new(rec, "run_name", json_string(name));
    }
    if (json_object_get(res, "seconds")) json_object_set(rec, "seconds", json_object_get(res, "seconds"));
    return rec;
}

static int str_is(const json_t *o, const char *key, const char *want) {
    const char *v = json_string_value(json_object_get(o, key));
    return v && !strcmp(v, want);
}

/* The index in cells of the record with this cell id, else of the record
 * of this model and recipe (made with other settings), or -1. */
static int find_record(const json_t *cells, const char *id, const char *model, const char *recipe, int *same_id) {
    size_t i;
    const json_t *r;
    *same_id = 0;
    json_array_foreach(cells, i, r) if (str_is(r, "cell_id", id)) return *same_id = 1, (int)i;
    json_array_foreach(cells, i, r) if (str_is(r, "model", model) && str_is(r, "recipe", recipe)) return (int)i;
    return -1;
}

static int write_results(const sweep_run *s, const json_t *cells, ob_err *err) {
    char p[4200];
    snprintf(p, sizeof p, "%s/results.jsonl", s->out);
    int rc = ob_results_write_jsonl(p, cells, err);
    snprintf(p, sizeof p, "%s/results.csv", s->out);
    return rc ? rc : ob_results_write_csv(p, cells, err);
}

/* --------------------------------------------------------------- the end */

static int write_report(const sweep_run *s, const json_t *cells, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    char p[4200], src[4200];
    json_t *machine = NULL;
    ob_pool *pool = NULL;
    int rc = s->o->bw_bytes ? ob_pool_new(cfg->threads, &pool, err) : 0;
    if (!rc) rc = ob_machine_describe(pool, s->o->bw_bytes, &machine, err);
    ob_pool_free(pool);
    if (rc) return rc;
    ob_report_opts ro = ob_report_opts_default();
    const ob_recipe *base = ob_sweep_config_baseline(cfg);
    snprintf(src, sizeof src, "%s/results.jsonl (optibench sweep %s)", s->out, cfg->file ? cfg->file : "");
    ro.title = cfg->report.title;
    ro.source = src;
    ro.baseline = base ? base->name : NULL;
    ro.acc_metric = cfg->report.acc_metric;
    ro.bounds.min_accuracy = cfg->report.min_accuracy;
    ro.bounds.max_ppl_increase = cfg->report.max_ppl_increase;
    ro.bounds.max_memory = cfg->report.max_memory;
    snprintf(p, sizeof p, "%s/report.html", s->out);
    rc = ob_report_write_html(p, cells, machine, &ro, err);
    json_decref(machine);
    char *md = NULL;
    if (!rc) rc = ob_sweep_markdown(cfg, cells, &md, err);
    if (!rc) {
        snprintf(p, sizeof p, "%s/summary.md", s->out);
        rc = ob_write_atomic(p, md, strlen(md), err);
    }
    free(md);
    return rc;
}

/* ------------------------------------------------------------ the sweep */

/* Removes what an interrupted cell left in the cache: folders named
 * ".<hash>.tmp.<pid>" (ob_recipe_cache_save's temporaries). */
static void clean_cache(const char *cache) {
    DIR *d = opendir(cache);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.' || !strstr(e->d_name, ".tmp.")) continue;
        char p[4500];
        ob_err ignore = {0};
        snprintf(p, sizeof p, "%s/%s", cache, e->d_name);
        ob_remove_tree(p, &ignore);
    }
    closedir(d);
}

/* The checks before any work, and the data every cell shares. */
static int setup(sweep_run *s, ob_mlstore **store, char *exp_id, json_t **cells, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    const ob_sweep_opts *o = s->o;
    int rc = ob_output_preflight(s->out, o->min_free_bytes, err);
    if (rc) return rc;
    char p[4200], name[256];
    snprintf(p, sizeof p, "%s/cache", s->out);
    if (mkdir(p, 0755) && errno != EEXIST) return ob_fail(err, OB_EIO, "%s: cannot create: %s", p, strerror(errno));
    clean_cache(p);
    s->ppl_path = cfg->ppl.data ? cfg->ppl.data : o->ppl_data;
    s->cloze_path = cfg->storycloze.data ? cfg->storycloze.data : o->storycloze_data;
    s->calib_path = cfg->calib.text ? cfg->calib.text : o->calib_brown_dir;
    s->calib_brown = !cfg->calib.text;
    int any_calib = 0;
    for (int i = 0; i < s->n_cells; i++) any_calib |= ob_recipe_calibrated(s->cells[i].recipe);
    if ((cfg->ppl.on || cfg->kld.on) && (rc = file_exists("tasks.ppl.data", s->ppl_path, err))) return rc;
    if (cfg->storycloze.on && (rc = file_exists("tasks.storycloze.data", s->cloze_path, err))) return rc;
    if (any_calib && (rc = file_exists("calibration.text", s->calib_path, err))) return rc;
    s->calib_id = json_pack("{s:s, s:b, s:i, s:i, s:i}", "text", s->calib_path ? s->calib_path : "", "brown",
                            s->calib_brown, "nsamples", cfg->calib.nsamples, "seqlen", cfg->calib.seqlen, "seed",
                            cfg->calib.seed);
    if (!s->calib_id) return ob_fail(err, OB_ENOMEM, "out of memory");
    int n_docs;
    if ((cfg->ppl.on || cfg->kld.on) && (rc = ob_eval_read_text(s->ppl_path, &s->text, &s->text_len, &n_docs, err)))
        return rc;
    if (cfg->storycloze.on && (rc = ob_mc_jsonl_load(s->cloze_path, &s->cloze, err))) return rc;
    snprintf(p, sizeof p, "%s/mlruns", s->out);
    if ((rc = ob_mlstore_open(p, store, err))) return rc;
    if (cfg->experiment) {
        snprintf(name, sizeof name, "%s", cfg->experiment);
    } else { /* the config file's stem */
        const char *b = cfg->file ? strrchr(cfg->file, '/') : NULL;
        snprintf(name, sizeof name, "%s", b ? b + 1 : cfg->file ? cfg->file : "sweep");
        char *dot = strrchr(name, '.');
        if (dot && dot != name) *dot = '\0';
    }
    if ((rc = ob_mlstore_experiment(*store, name, exp_id, err))) return rc;
    snprintf(p, sizeof p, "%s/results.jsonl", s->out);
    struct stat st;
    if (o->resume && !stat(p, &st)) return ob_results_read_jsonl(p, cells, err);
    *cells = json_array();
    return *cells ? 0 : ob_fail(err, OB_ENOMEM, "out of memory");
}

/* Runs cell ci (or skips it on resume) and records it in cells. */
static int one_cell(sweep_run *s, int ci, json_t *cells, ob_mlstore *store, const char *exp_id, ob_sweep_summary *sum,
                    ob_err *err) {
    const sweep_cell *c = &s->cells[ci];
    const char *model = s->models[c->model].arg;
    int same_id, at = find_record(cells, c->id, model, c->recipe->name, &same_id);
    json_t *old = at >= 0 ? json_array_get(cells, (size_t)at) : NULL;
    s->cur = ci;
    s->cell_t0 = ob_now();
    if (s->o->resume && same_id && str_is(old, "status", "ok")) {
        ob_sweep_event ev = {.kind = OB_SWEEP_EV_SKIP, .record = old};
        sweep_emit(s, &ev);
        sum->n_skipped++;
        s->n_done++;
        return 0;
    }
    ob_sweep_event ev = {.kind = OB_SWEEP_EV_BEGIN};
    sweep_emit(s, &ev);
    json_t *res = s->o->isolate ? run_isolated(s, ci) : sweep_cell_run(s, ci);
    json_t *rec = res ? record(s, c, res) : NULL;
    json_decref(res);
    if (!rec) return ob_fail(err, OB_ENOMEM, "out of memory");
    char run_id[OB_MLFLOW_ID_MAX];
    int rc = ob_mlstore_log_cell(store, exp_id, rec, run_id, err);
    if (!rc) json_object_set_new(rec, "run_id", json_string(run_id));
    if (!rc) rc = at >= 0 ? json_array_set(cells, (size_t)at, rec) : json_array_append(cells, rec);
    if (!rc) rc = write_results(s, cells, err);
    const char *status = json_string_value(json_object_get(rec, "status"));
    if (status && strcmp(status, "ok")) sum->n_failed++;
    sum->n_run++;
    s->n_done++;
    s->n_timed++;
    s->run_seconds += ob_now() - s->cell_t0;
    ob_sweep_event end = {.kind = OB_SWEEP_EV_END, .record = rec};
    sweep_emit(s, &end);
    json_decref(rec);
    return rc;
}

int ob_sweep_run(const ob_sweep_config *cfg, const ob_sweep_opts *opts, json_t **cells_out, ob_sweep_summary *sum,
                 ob_err *err) {
    ob_sweep_opts defaults = ob_sweep_default_opts();
    ob_sweep_summary dummy;
    if (!opts) opts = &defaults;
    if (!sum) sum = &dummy;
    memset(sum, 0, sizeof *sum);
    if (cells_out) *cells_out = NULL;
    sweep_run s = {.cfg = cfg, .o = opts, .out = ob_sweep_output(cfg), .t0 = ob_now(), .cur = -1};
    ob_mlstore *store = NULL;
    char exp_id[OB_MLFLOW_ID_MAX];
    json_t *cells = NULL;
    int rc = plan(&s, err);
    if (!rc) rc = setup(&s, &store, exp_id, &cells, err);
    if (!rc && !(s.models = calloc((size_t)cfg->n_models, sizeof *s.models)))
        rc = ob_fail(err, OB_ENOMEM, "out of memory");
    sum->n_cells = s.n_cells;
    if (!rc) {
        char note[4400];
        snprintf(note, sizeof note, "%d cell%s (%d model%s x %d recipe%s%s%s) -> %s", s.n_cells, s.n_cells == 1 ? "" : "s",
                 cfg->n_models, cfg->n_models == 1 ? "" : "s", cfg->n_recipes, cfg->n_recipes == 1 ? "" : "s",
                 opts->only ? ", --only " : "", opts->only ? opts->only : "", s.out);
        ob_sweep_event ev = {.kind = OB_SWEEP_EV_NOTE, .text = note};
        sweep_emit(&s, &ev);
    }
    for (int mi = 0; !rc && mi < cfg->n_models; mi++) {
        s.models[mi].arg = cfg->models[mi];
        s.n_models = mi + 1;
        int any = 0;
        for (int i = 0; i < s.n_cells; i++) any |= s.cells[i].model == mi;
        if (!any) continue;
        if ((rc = sweep_prepare_model(&s, mi, model_needs_calib(&s, mi), err)) || (rc = cell_ids(&s, mi, err))) break;
        if (s.models[mi].error[0]) {
            char note[1200];
            snprintf(note, sizeof note, "model %s: %s (its cells fail)", s.models[mi].arg, s.models[mi].error);
            ob_sweep_event ev = {.kind = OB_SWEEP_EV_NOTE, .text = note};
            sweep_emit(&s, &ev);
        }
        for (int i = 0; !rc && i < s.n_cells; i++)
            if (s.cells[i].model == mi) rc = one_cell(&s, i, cells, store, exp_id, sum, err);
        sweep_model_free(&s.models[mi]);
    }
    s.cur = -1;
    if (!rc) rc = write_results(&s, cells, err); /* also when every cell was skipped */
    if (!rc) rc = write_report(&s, cells, err);
    sum->seconds = ob_now() - s.t0;
    for (int i = 0; i < s.n_cells; i++) json_decref(s.cells[i].key);
    for (int i = 0; i < s.n_models; i++) sweep_model_free(&s.models[i]);
    free(s.models);
    free(s.cells);
    free(s.text);
    json_decref(s.calib_id);
    if (s.cloze) ob_mc_set_free(s.cloze);
    ob_mlstore_close(store);
    if (!rc && cells_out) *cells_out = cells;
    else json_decref(cells);
    return rc;
}

/* sweep.c - the sweep driver (sweep.h): checks before any work, cells and
 * their ids, resume, and the session behind ob_sweep_run and searches.
 * A cell's child process is sweep_child.c; its record and the files
 * written from the records are sweep_record.c. */
#include "sweep/sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/eval.h"
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
    ev->n_cells = s->n_planned > s->cur + 1 ? s->n_planned : s->cur + 1;
    ev->n_done = s->n_done;
    if (s->cur >= 0 && s->cur < s->n_cells) {
        const sweep_cell *c = &s->cells[s->cur];
        if (!ev->model) ev->model = s->models[c->model].arg;
        if (!ev->recipe) ev->recipe = c->recipe.name;
    }
    ev->cell_elapsed = now - s->cell_t0;
    ev->sweep_elapsed = now - s->t0;
    ev->eta = -1;
    if (s->n_timed) { /* the mean cell so far, times what is left */
        double per = s->run_seconds / s->n_timed, left = per * (ev->n_cells - s->n_done);
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

static void note(const sweep_run *s, const char *text) {
    ob_sweep_event ev = {.kind = OB_SWEEP_EV_NOTE, .text = text};
    sweep_emit(s, &ev);
}

/* ----------------------------------------------------------- the setup */

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

/* The MLflow experiment: the configuration's, else its file's stem. */
static void experiment_name(const ob_sweep_config *cfg, char *name, size_t size) {
    if (cfg->experiment) {
        snprintf(name, size, "%s", cfg->experiment);
        return;
    }
    const char *b = cfg->file ? strrchr(cfg->file, '/') : NULL;
    snprintf(name, size, "%s", b ? b + 1 : cfg->file ? cfg->file : "sweep");
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = '\0';
}

/* The checks before any work, and the data every cell shares. */
static int setup(sweep_run *s, ob_err *err) {
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
    for (int i = 0; i < cfg->n_recipes; i++) any_calib |= ob_recipe_calibrated(&cfg->recipes[i]);
    if ((cfg->ppl.on || cfg->kld.on) && (rc = file_exists("tasks.ppl.data", s->ppl_path, err))) return rc;
    if (cfg->storycloze.on && (rc = file_exists("tasks.storycloze.data", s->cloze_path, err))) return rc;
    if (any_calib && (rc = file_exists("calibration.text", s->calib_path, err))) return rc;
    s->calib_id = json_pack("{s:s, s:b, s:i, s:i, s:i}", "text", s->calib_path ? s->calib_path : "", "brown",
                            s->calib_brown, "nsamples", cfg->calib.nsamples, "seqlen", cfg->calib.seqlen, "seed",
                            cfg->calib.seed);
    s->settings = run_settings(s);
    s->models = calloc((size_t)cfg->n_models, sizeof *s->models);
    if (!s->calib_id || !s->settings || !s->models) return ob_fail(err, OB_ENOMEM, "out of memory");
    for (int i = 0; i < cfg->n_models; i++) s->models[i].arg = cfg->models[i];
    int n_docs;
    if ((cfg->ppl.on || cfg->kld.on) && (rc = ob_eval_read_text(s->ppl_path, &s->text, &s->text_len, &n_docs, err)))
        return rc;
    if (cfg->storycloze.on && (rc = ob_mc_jsonl_load(s->cloze_path, &s->cloze, err))) return rc;
    snprintf(p, sizeof p, "%s/mlruns", s->out);
    ob_mlstore *store = NULL;
    if ((rc = ob_mlstore_open(p, &store, err))) return rc;
    s->store = store;
    experiment_name(cfg, name, sizeof name);
    if ((rc = ob_mlstore_experiment(store, name, s->exp_id, err))) return rc;
    snprintf(p, sizeof p, "%s/results.jsonl", s->out);
    struct stat st;
    if (o->resume && !stat(p, &st)) return ob_results_read_jsonl(p, &s->results, err);
    s->results = json_array();
    return s->results ? 0 : ob_fail(err, OB_ENOMEM, "out of memory");
}

int ob_sweep_open(const ob_sweep_config *cfg, const ob_sweep_opts *opts, int n_planned, ob_sweep **out, ob_err *err) {
    static const ob_sweep_opts defaults = {.isolate = 1, .min_free_bytes = (int64_t)256 << 20,
                                           .bw_bytes = (size_t)256 << 20};
    *out = NULL;
    sweep_run *s = calloc(1, sizeof *s);
    if (!s) return ob_fail(err, OB_ENOMEM, "out of memory");
    s->cfg = cfg;
    s->o = opts ? opts : &defaults;
    s->out = ob_sweep_output(cfg);
    s->t0 = ob_now();
    s->cur = -1;
    s->n_planned = n_planned;
    int rc = setup(s, err);
    if (rc) {
        ob_sweep_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

const ob_sweep_config *ob_sweep_session_config(const ob_sweep *s) { return s->cfg; }

void ob_sweep_free(ob_sweep *s) {
    if (!s) return;
    for (int i = 0; i < s->n_cells; i++) json_decref(s->cells[i].key);
    for (int i = 0; s->models && i < s->cfg->n_models; i++) sweep_model_free(&s->models[i]);
    free(s->models);
    free(s->cells);
    free(s->text);
    json_decref(s->calib_id);
    json_decref(s->settings);
    json_decref(s->results);
    if (s->cloze) ob_mc_set_free(s->cloze);
    ob_mlstore_close(s->store);
    free(s);
}

/* ------------------------------------------------------------ one cell */

/* Adds cell (model, r) with its key, hash and id; its index, or -1. */
static int add_cell(sweep_run *s, int mi, const ob_recipe *r, ob_err *err) {
    if (s->n_cells == s->cap_cells) {
        int nc = s->cap_cells ? 2 * s->cap_cells : 32;
        sweep_cell *c = realloc(s->cells, (size_t)nc * sizeof *c);
        if (!c) return ob_fail(err, OB_ENOMEM, "out of memory"), -1;
        s->cells = c;
        s->cap_cells = nc;
    }
    const sweep_model *mm = &s->models[mi];
    sweep_cell *c = &s->cells[s->n_cells];
    memset(c, 0, sizeof *c);
    c->model = mi;
    c->recipe = *r;
    json_t *ident = mm->identity ? json_incref(mm->identity) : json_pack("{s:s}", "path", mm->arg);
    c->key = ob_recipe_key(r, ident, s->calib_id);
    json_t *all = json_pack("{s:O, s:O}", "recipe", c->key, "run", s->settings);
    int rc = !ident || !c->key || !all ? ob_fail(err, OB_ENOMEM, "out of memory") : ob_json_sha256(c->key, c->hash, err);
    if (!rc) rc = ob_json_sha256(all, c->id, err);
    json_decref(all);
    json_decref(ident);
    if (rc) {
        json_decref(c->key);
        return -1;
    }
    return s->n_cells++;
}

int ob_sweep_cell(ob_sweep *s, int mi, const ob_recipe *r, const json_t **record, ob_err *err) {
    if (record) *record = NULL;
    if (mi < 0 || mi >= s->cfg->n_models) return ob_fail(err, OB_EINVAL, "sweep: no model %d", mi);
    sweep_model *mm = &s->models[mi];
    int was_prepared = mm->prepared, rc = sweep_prepare_model(s, mi, ob_recipe_calibrated(r), err);
    if (rc) return rc;
    if (!was_prepared && mm->error[0]) {
        char text[1200];
        snprintf(text, sizeof text, "model %s: %s (its cells fail)", mm->arg, mm->error);
        note(s, text);
    }
    int ci = add_cell(s, mi, r, err);
    if (ci < 0) return err->code ? err->code : OB_ENOMEM;
    const sweep_cell *c = &s->cells[ci];
    int same_id, at = sweep_find_record(s->results, c->id, mm->arg, r->name, &same_id);
    json_t *old = at >= 0 ? json_array_get(s->results, (size_t)at) : NULL;
    s->cur = ci;
    s->cell_t0 = ob_now();
    if (s->o->resume && same_id && sweep_record_ok(old)) {
        ob_sweep_event ev = {.kind = OB_SWEEP_EV_SKIP, .record = old};
        sweep_emit(s, &ev);
        s->sum.n_skipped++;
        s->n_done++;
        if (record) *record = old;
        return 0;
    }
    ob_sweep_event ev = {.kind = OB_SWEEP_EV_BEGIN};
    sweep_emit(s, &ev);
    json_t *res = s->o->isolate ? sweep_cell_isolated(s, ci) : sweep_cell_run(s, ci);
    json_t *rec = res ? sweep_record(s, c, res) : NULL;
    json_decref(res);
    if (!rec) return ob_fail(err, OB_ENOMEM, "out of memory");
    char run_id[OB_MLFLOW_ID_MAX];
    rc = ob_mlstore_log_cell(s->store, s->exp_id, rec, run_id, err);
    if (!rc) json_object_set_new(rec, "run_id", json_string(run_id));
    if (!rc) rc = at >= 0 ? json_array_set(s->results, (size_t)at, rec) : json_array_append(s->results, rec);
    if (!rc) rc = sweep_write_results(s, err);
    if (!sweep_record_ok(rec)) s->sum.n_failed++;
    s->sum.n_run++;
    s->n_done++;
    s->n_timed++;
    s->run_seconds += ob_now() - s->cell_t0;
    ob_sweep_event end = {.kind = OB_SWEEP_EV_END, .record = rec};
    sweep_emit(s, &end);
    if (record) *record = rec;
    json_decref(rec); /* the results array holds it */
    return rc;
}

int ob_sweep_add_record(ob_sweep *s, const json_t *record, ob_err *err) {
    const char *id = json_string_value(json_object_get(record, "cell_id"));
    const char *model = json_string_value(json_object_get(record, "model"));
    const char *recipe = json_string_value(json_object_get(record, "recipe"));
    if (!id || !model || !recipe) return ob_fail(err, OB_EFORMAT, "sweep: a gathered record has no cell_id, model or recipe");
    json_t *rec = json_deep_copy(record);
    if (!rec) return ob_fail(err, OB_ENOMEM, "out of memory");
    json_object_del(rec, "run_id"); /* the other rank's store is not this one */
    char run_id[OB_MLFLOW_ID_MAX];
    int same_id, at = sweep_find_record(s->results, id, model, recipe, &same_id);
    int rc = ob_mlstore_log_cell(s->store, s->exp_id, rec, run_id, err);
    if (!rc) json_object_set_new(rec, "run_id", json_string(run_id));
    if (!rc) rc = at >= 0 ? json_array_set(s->results, (size_t)at, rec) : json_array_append(s->results, rec);
    if (!rc) rc = sweep_write_results(s, err);
    if (!rc) {
        s->sum.n_run++;
        s->sum.n_failed += !sweep_record_ok(rec);
        s->n_gathered++;
    }
    json_decref(rec);
    return rc;
}

int ob_sweep_finish(ob_sweep *s, json_t **cells_out, ob_sweep_summary *sum, ob_err *err) {
    s->cur = -1;
    int rc = sweep_write_results(s, err); /* also when every cell was skipped */
    if (!rc) rc = sweep_write_report(s, err);
    s->sum.n_cells = s->n_cells + s->n_gathered;
    s->sum.seconds = ob_now() - s->t0;
    if (sum) *sum = s->sum;
    if (!rc && cells_out) *cells_out = json_incref(s->results);
    return rc;
}

/* ------------------------------------------------------------ a sweep */

int ob_sweep_run(const ob_sweep_config *cfg, const ob_sweep_opts *opts, json_t **cells_out, ob_sweep_summary *sum,
                 ob_err *err) {
    if (cells_out) *cells_out = NULL;
    if (sum) memset(sum, 0, sizeof *sum);
    /* every model's baseline first, then the recipes in order; --only
     * filters by recipe name */
    const ob_recipe *base = ob_sweep_config_baseline(cfg);
    const char *only = opts ? opts->only : NULL;
    const ob_recipe **plan = calloc((size_t)cfg->n_recipes + 1, sizeof *plan);
    if (!plan) return ob_fail(err, OB_ENOMEM, "out of memory");
    int n = 0;
    for (int k = -1; k < cfg->n_recipes; k++) {
        const ob_recipe *r = k < 0 ? base : &cfg->recipes[k];
        if (!r || (k >= 0 && r == base) || (only && fnmatch(only, r->name, 0))) continue;
        plan[n++] = r;
    }
    ob_sweep *s = NULL;
    int rc = n ? ob_sweep_open(cfg, opts, n * cfg->n_models, &s, err)
               : ob_fail(err, OB_EINVAL, "--only %s matches no recipe", only ? only : "");
    if (!rc) {
        char text[4400];
        snprintf(text, sizeof text, "%d cell%s (%d model%s x %d recipe%s%s%s) -> %s", s->n_planned,
                 s->n_planned == 1 ? "" : "s", cfg->n_models, cfg->n_models == 1 ? "" : "s", n, n == 1 ? "" : "s",
                 only ? ", --only " : "", only ? only : "", s->out);
        note(s, text);
    }
    const int nr = opts && opts->n_ranks > 1 ? opts->n_ranks : 1, me = nr > 1 ? opts->rank : 0;
    json_t *mine = json_array();
    if (!mine && !rc) rc = ob_fail(err, OB_ENOMEM, "out of memory");
    for (int mi = 0, i = 0; !rc && mi < cfg->n_models; mi++) {
        for (int k = 0; !rc && k < n; k++, i++) {
            if (i % nr != me) continue; /* another rank's cell */
            const json_t *rec = NULL;
            rc = ob_sweep_cell(s, mi, plan[k], &rec, err);
            if (!rc && rec && json_array_append(mine, (json_t *)rec)) rc = ob_fail(err, OB_ENOMEM, "out of memory");
        }
        sweep_model_free(&s->models[mi]); /* its tokens are not needed again */
    }
    if (nr > 1) { /* every rank gathers, even after an error, so that none waits forever */
        json_t *all = NULL;
        ob_err gerr = {0};
        int grc = opts->gather ? opts->gather(opts->gather_user, mine, &all, &gerr)
                               : ob_fail(&gerr, OB_EINVAL, "sweep: %d ranks and no way to gather", nr);
        if (!rc && !grc && me == 0) /* rank 0's own records come first in all */
            for (size_t i = json_array_size(mine); !rc && i < json_array_size(all); i++)
                rc = ob_sweep_add_record(s, json_array_get(all, i), err);
        if (!rc && grc) {
            *err = gerr;
            rc = grc;
        }
        json_decref(all);
    }
    json_decref(mine);
    if (!rc) rc = ob_sweep_finish(s, cells_out, sum, err);
    ob_sweep_free(s);
    free(plan);
    return rc;
}

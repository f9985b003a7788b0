/* sweep_record.c - a cell's record from its outcome, its row in the
 * results, and the files written from them: results.jsonl / .csv,
 * report.html and summary.md (sweep.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/fileio.h"
#include "report/html.h"
#include "report/machine.h"
#include "report/results.h"
#include "sweep/sweep_int.h"

json_t *sweep_record(const sweep_run *s, const sweep_cell *c, const json_t *res) {
    json_t *rec = json_object();
    if (!rec) return NULL;
    json_object_set_new(rec, "model", json_string(s->models[c->model].arg));
    json_object_set_new(rec, "recipe", json_string(c->recipe.name));
    json_object_set(rec, "status", json_object_get(res, "status"));
    json_t *params = json_deep_copy(json_object_get(c->key, "recipe"));
    json_object_set_new(rec, "params", params ? params : json_object());
    json_t *m = json_object_get(res, "metrics");
    json_object_set(rec, "metrics", m ? m : json_object());
    if (json_object_get(res, "error")) json_object_set(rec, "error", json_object_get(res, "error"));
    json_object_set_new(rec, "cell_id", json_string(c->id));
    if (c->recipe.kind != OB_RECIPE_BASELINE) json_object_set_new(rec, "cache", json_string(c->hash));
    if (json_object_get(res, "cached")) json_object_set(rec, "cached", json_object_get(res, "cached"));
    json_object_set_new(rec, "threads", json_integer(s->cfg->threads));
    if (s->cfg->n_models > 1) { /* MLflow run names stay unique in the experiment */
        char name[4400];
        snprintf(name, sizeof name, "%s / %s", s->models[c->model].arg, c->recipe.name);
        json_object_set_new(rec, "run_name", json_string(name));
    }
    if (json_object_get(res, "seconds")) json_object_set(rec, "seconds", json_object_get(res, "seconds"));
    return rec;
}

static int str_is(const json_t *o, const char *key, const char *want) {
    const char *v = json_string_value(json_object_get(o, key));
    return v && !strcmp(v, want);
}

int sweep_find_record(const json_t *cells, const char *id, const char *model, const char *recipe, int *same_id) {
    size_t i;
    const json_t *r;
    *same_id = 0;
    json_array_foreach(cells, i, r) if (str_is(r, "cell_id", id)) return *same_id = 1, (int)i;
    json_array_foreach(cells, i, r) if (str_is(r, "model", model) && str_is(r, "recipe", recipe)) return (int)i;
    return -1;
}

int sweep_record_ok(const json_t *rec) { return str_is(rec, "status", "ok"); }

int sweep_write_results(const sweep_run *s, ob_err *err) {
    char p[4200];
    snprintf(p, sizeof p, "%s/results.jsonl", s->out);
    int rc = ob_results_write_jsonl(p, s->results, err);
    snprintf(p, sizeof p, "%s/results.csv", s->out);
    return rc ? rc : ob_results_write_csv(p, s->results, err);
}

int sweep_write_report(const sweep_run *s, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    char p[4200], src[4400];
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
    rc = ob_report_write_html(p, s->results, machine, &ro, err);
    json_decref(machine);
    char *md = NULL;
    if (!rc) rc = ob_sweep_markdown(cfg, s->results, &md, err);
    if (!rc) {
        snprintf(p, sizeof p, "%s/summary.md", s->out);
        rc = ob_write_atomic(p, md, strlen(md), err);
    }
    free(md);
    return rc;
}

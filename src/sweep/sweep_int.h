/* sweep_int.h - the state a sweep's parts share (private to src/sweep/):
 * sweep.c plans and records, sweep_prep.c prepares each model's data in
 * the parent process, sweep_cell.c runs one cell (in a child), and
 * sweep_eval.c evaluates a compressed model. */
#ifndef OB_SWEEP_SWEEP_INT_H
#define OB_SWEEP_SWEEP_INT_H

#include <jansson.h>

#include "eval/datasets.h"
#include "sweep/recipe.h"
#include "sweep/sweep.h"

/* One model of the sweep, prepared in the parent when its first cell
 * runs; children inherit it.  error non-empty: the model cannot be used
 * and its cells fail; calib_error: its calibrated cells fail. */
typedef struct sweep_model {
    const char *arg;           /* as the configuration names it           */
    char path[4096];           /* resolved                                */
    json_t *identity;          /* ob_model_identity                       */
    int prepared;
    char error[1024];
    int32_t *text;             /* ppl / kld token stream, cut to the
                                  windows used                            */
    int64_t n_text;
    int ctx, add_bos;          /* window length; BOS per the tokenizer    */
    int32_t bos;
    int calib_tried;
    char calib_error[1100];
    int32_t *calib;            /* [calib_n x calib_seqlen], or NULL       */
    int calib_n, calib_seqlen;
} sweep_model;

/* One cell: a model and a recipe (a copy: searches make recipes). */
typedef struct sweep_cell {
    int model;
    ob_recipe recipe;
    json_t *key;               /* ob_recipe_key: names the cache entry    */
    char hash[65];             /* SHA-256 of key                          */
    char id[65];               /* SHA-256 of everything the numbers hang on */
} sweep_cell;

struct ob_sweep {
    const ob_sweep_config *cfg;
    const ob_sweep_opts *o;
    const char *out;           /* the output folder                       */
    const char *ppl_path, *cloze_path, *calib_path;
    int calib_brown;           /* calib_path is a Brown corpus folder     */
    json_t *calib_id;          /* calibration settings, for the hashes    */
    json_t *settings;          /* tasks, bench, threads: for the cell ids */
    char *text;                /* the ppl corpus, read once               */
    size_t text_len;
    ob_mc_set *cloze;          /* the story-cloze items, read once        */
    sweep_model *models;       /* [cfg->n_models]                         */
    sweep_cell *cells;         /* the cells run so far                    */
    int n_cells, cap_cells, n_planned;
    int n_gathered;             /* records other ranks ran (ob_sweep_add_record) */
    void *store;               /* the MLflow store (ob_mlstore)           */
    char exp_id[72];
    json_t *results;           /* every record of results.jsonl           */
    ob_sweep_summary sum;
    /* progress */
    double t0, cell_t0, run_seconds;
    int cur, n_done, n_timed;
};
typedef struct ob_sweep sweep_run;

/* Sends an event with the run's position filled in. */
void sweep_emit(const sweep_run *s, ob_sweep_event *ev);
/* A STAGE event for the current cell. */
void sweep_stage(const sweep_run *s, const char *stage, int done, int total);

/* sweep_prep.c: prepares s->models[i] once (identity, tokens) and, with
 * calib, its calibration windows; problems go to its error /
 * calib_error.  Fails only when out of memory. */
int sweep_prepare_model(sweep_run *s, int i, int calib, ob_err *err);
void sweep_model_free(sweep_model *mm);

/* sweep_cell.c: runs cell ci in this process and returns its outcome, a
 * new object {"status", "error"?, "metrics", "cached"?, "seconds"}; a
 * failure becomes status "failed" with the error.  NULL only when out of
 * memory. */
json_t *sweep_cell_run(sweep_run *s, int ci);

/* sweep_child.c: the same in a child process; a crash becomes a failed
 * outcome naming the signal. */
json_t *sweep_cell_isolated(sweep_run *s, int ci);

/* sweep_record.c: the record of cell c from its outcome (a new object);
 * the index in cells of the record with cell id id (*same_id = 1), else of
 * this model and recipe, or -1; whether a record's status is "ok"; the
 * results files; report.html and summary.md. */
json_t *sweep_record(const sweep_run *s, const sweep_cell *c, const json_t *res);
int sweep_find_record(const json_t *cells, const char *id, const char *model, const char *recipe, int *same_id);
int sweep_record_ok(const json_t *rec);
int sweep_write_results(const sweep_run *s, ob_err *err);
int sweep_write_report(const sweep_run *s, ob_err *err);

/* sweep_eval.c: perplexity (and with base, KL divergence), story-cloze
 * accuracy; metrics receive the numbers. */
int sweep_eval_text(const sweep_run *s, const sweep_model *mm, const ob_model *m, const ob_model *base, ob_pool *pool,
                    json_t *metrics, ob_err *err);
int sweep_eval_cloze(const sweep_run *s, const ob_model *m, ob_pool *pool, json_t *metrics, ob_err *err);

#endif

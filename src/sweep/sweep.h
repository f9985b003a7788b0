/* sweep.h - runs a sweep: every (model, recipe) cell of a configuration
 * (config.h) compressed or taken from the cache (recipe.h), benchmarked,
 * evaluated and recorded.
 *
 * For each cell, in the configuration's order (each model's baseline
 * first, since perplexity increases and KL divergence refer to it):
 *   1. the model is loaded and the recipe applied, or its compressed model
 *      loaded from OUTPUT/cache/<hash>/; a new result is saved there and
 *      reloaded, so a cell measures the same model whether it was cached;
 *   2. bench: prefill and decode speed through the bench library
 *      (bench_step.h) and the process's peak resident memory meanwhile;
 *   3. eval: perplexity and KL divergence from the baseline on the text
 *      corpus, story-cloze accuracy;
 *   4. the record (report/results.h) is added to results.jsonl and
 *      results.csv (both rewritten atomically) and logged as one run in
 *      the MLflow store OUTPUT/mlruns.
 * Each cell runs in a child process (fork) unless opts.isolate is 0: a
 * crash, an abort or running out of memory fails that cell, not the sweep,
 * and the peak memory is that cell's own.  A cell that fails for any
 * reason is recorded with status "failed" and its error, and the sweep goes
 * on; a model that cannot be loaded fails each of its cells.  At the end
 * OUTPUT/report.html (report/html.h) and OUTPUT/summary.md are written.
 *
 * A cell's id is the SHA-256 of everything that decides its numbers (the
 * model's identity, the recipe, calibration, tasks, bench settings and
 * threads).  With resume, a cell whose id has a record with status "ok" in
 * the existing results.jsonl is skipped and its record kept; records of
 * cells outside this run are kept too.  Without resume the results files
 * start empty.
 *
 * Before any work the output folder is checked (ob_output_preflight: it
 * can be created and written, with min_free_bytes free), the data files
 * must exist, and the MLflow store must open; failures there are errors
 * of the call.  Errors after that (a results file that cannot be written)
 * stop the sweep with the error. */
#ifndef OB_SWEEP_SWEEP_H
#define OB_SWEEP_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "optibench.h"
#include "sweep/config.h"

typedef enum {
    OB_SWEEP_EV_BEGIN,      /* a cell starts (model and recipe set)            */
    OB_SWEEP_EV_STAGE,      /* progress inside the cell: stage, done / total   */
    OB_SWEEP_EV_END,        /* a cell ended: record set                        */
    OB_SWEEP_EV_SKIP,       /* a finished cell skipped on resume: record set   */
    OB_SWEEP_EV_NOTE,       /* something worth a line: text set                */
} ob_sweep_ev_kind;

/* What the event callback gets.  Pointers are valid during the call only.
 * Events of a running cell come from its child process. */
typedef struct ob_sweep_event {
    ob_sweep_ev_kind kind;
    int cell, n_cells;        /* 0-based position in this run; cells in it    */
    int n_done;               /* cells finished or skipped before this one    */
    const char *model, *recipe;
    const char *stage;        /* "load", "cache", "compress", "save", "bench",
                                 "ppl", "kld", "storycloze"                   */
    int done, total;          /* within the stage; total 0 = unknown          */
    double cell_elapsed;      /* seconds since the cell began                 */
    double sweep_elapsed;     /* seconds since the sweep began                */
    double eta;               /* seconds left in the sweep (estimate), or -1  */
    const json_t *record;     /* END, SKIP                                    */
    const char *text;         /* NOTE                                         */
} ob_sweep_event;

typedef void (*ob_sweep_event_fn)(void *user, const ob_sweep_event *ev);

typedef struct ob_sweep_opts {
    int resume;               /* skip cells already finished (see above)      */
    const char *only;         /* glob (fnmatch) over recipe names; NULL = all */
    /* The packaged data, for keys the configuration leaves null: */
    const char *ppl_data;        /* text file or folder                       */
    const char *calib_brown_dir; /* a Brown corpus folder                     */
    const char *storycloze_data; /* JSON Lines multiple choice                */
    /* Turns a model entry into a path (the CLI: names in the download
     * cache); NULL: entries are paths. */
    int (*resolve_model)(const char *arg, char *buf, size_t size, ob_err *err);
    int isolate;              /* 1: each cell in a child process (default)    */
    int64_t min_free_bytes;   /* for the preflight                            */
    size_t bw_bytes;          /* the report's machine section measures read
                                 bandwidth over this many bytes; 0: not     */
    ob_sweep_event_fn on_event;
    void *user;
    /* Several processes (an MPI job, cli/cmd_sweep.c): this one is rank
     * `rank` of `n_ranks` (default 0 of 1) and runs planned cell i (in
     * ob_sweep_run's order) only when i % n_ranks == rank.  Rank 0 then
     * calls gather with its own records and receives every rank's (its own
     * included), adds the others' to its results and MLflow store
     * (ob_sweep_add_record), and writes the report over all of them.  The
     * other ranks call gather too (they get NULL back) and should write to
     * their own output folders. */
    int rank, n_ranks;
    int (*gather)(void *user, const json_t *mine, json_t **all, ob_err *err);
    void *gather_user;
} ob_sweep_opts;

/* isolate 1, min_free_bytes and bw_bytes 256 MiB, everything else 0. */
ob_sweep_opts ob_sweep_default_opts(void);

typedef struct ob_sweep_summary {
    int n_cells;              /* cells in this run (after --only)             */
    int n_run, n_skipped, n_failed;
    double seconds;
} ob_sweep_summary;

/* Runs the sweep.  *cells_out (may be NULL) receives the final records
 * (every row of results.jsonl; the caller's, json_decref). */
int ob_sweep_run(const ob_sweep_config *cfg, const ob_sweep_opts *opts, json_t **cells_out, ob_sweep_summary *sum,
                 ob_err *err);

/* The same a cell at a time, for callers that choose the cells as they go
 * (search.h): ob_sweep_open does the checks and setup above (n_planned:
 * the cells expected, for progress); ob_sweep_cell runs one cell (or skips
 * it on resume) and records it; ob_sweep_finish writes the report and
 * summary.  The session borrows cfg and opts. */
typedef struct ob_sweep ob_sweep;
int ob_sweep_open(const ob_sweep_config *cfg, const ob_sweep_opts *opts, int n_planned, ob_sweep **out, ob_err *err);
/* Runs recipe r (copied) on model (an index into cfg->models).  *record
 * (may be NULL) receives the cell's record, borrowed from the session
 * until the next call.  Fails only when the results cannot be written. */
int ob_sweep_cell(ob_sweep *s, int model, const ob_recipe *r, const json_t **record, ob_err *err);
/* Adds a record made elsewhere (another rank of the job) as if its cell
 * had run here: logged as an MLflow run, and into the results (replacing
 * one with the same id). */
int ob_sweep_add_record(ob_sweep *s, const json_t *record, ob_err *err);
/* Writes the results, report.html and summary.md; *cells_out and sum as
 * ob_sweep_run gives them. */
int ob_sweep_finish(ob_sweep *s, json_t **cells_out, ob_sweep_summary *sum, ob_err *err);
void ob_sweep_free(ob_sweep *s);
/* The configuration the session runs (borrowed). */
const ob_sweep_config *ob_sweep_session_config(const ob_sweep *s);

/* The output folder cfg names (its default when NULL). */
const char *ob_sweep_output(const ob_sweep_config *cfg);

/* A Markdown table of cells (one row per record: recipe, status, ppl and
 * its increase over the baseline, kld, accuracy, decode and prefill tok/s,
 * size, peak memory, seconds), appended to out with the recommendation
 * under cfg's report bounds.  Returns 0, or OB_ENOMEM. */
int ob_sweep_markdown(const ob_sweep_config *cfg, const json_t *cells, char **out, ob_err *err);

#endif

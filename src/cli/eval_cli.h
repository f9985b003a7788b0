/* eval_cli.h - what `optibench eval`'s parts share: the options, the loaded
 * model, the results.json being built, progress and file output.
 *
 * cmd_eval.c parses the options and runs the tasks in order; the text tasks
 * (ppl, kld) live there too, the question-answering tasks in eval_tasks.c,
 * the output helpers in eval_out.c. */
#ifndef OB_CLI_EVAL_CLI_H
#define OB_CLI_EVAL_CLI_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "optibench.h"

/* The data path a task uses: --data TASK=PATH, else a plain --data. */
#define EVAL_MAX_DATA 16

typedef struct eval_cli {
    /* options */
    const char *model_arg, *base_arg, *outdir, *tokfile, *fewshot_file;
    const char *data_plain;                 /* --data PATH                  */
    const char *data_task[EVAL_MAX_DATA];   /* --data TASK=PATH: task ...   */
    const char *data_path[EVAL_MAX_DATA];   /* ... and its path             */
    int n_data;
    int ctx, limit, threads, batch, add_bos, log_samples, shots, max_gen, deterministic;
    uint64_t seed;
    cli_quant quant;                        /* --quant etc. applied to -m    */
    /* state */
    char mpath[2048];
    ob_model *model;
    ob_pool *pool;
    json_t *root, *results, *nsamp, *details, *configs, *nshot;
    int tty;
} eval_cli;

/* The data path given for task (or its aliases), or NULL. */
const char *eval_data_for(const eval_cli *e, const char *task, const char *alias1, const char *alias2);

/* ------------------------------------------------------------ eval_out.c */

/* Progress on stderr: a bar with ETA on a terminal, plain lines about every
 * tenth of the run otherwise.  unit names what done counts. */
typedef struct eval_progress {
    const char *task, *unit;
    int tty;
    double last;
} eval_progress;
void eval_progress_cb(void *user, int done, int total, int64_t tokens, double elapsed);
/* Seconds as "M:SS" or "H:MM:SS" (negative or NaN: 0:00). */
void eval_fmt_secs(char *buf, size_t n, double s);

/* results.json numbers: NaN (a standard error of one sample) is written as
 * "N/A", as lm-eval does. */
void eval_set_num(json_t *o, const char *k, double v);
void eval_set_int(json_t *o, const char *k, int64_t v);
void eval_set_str(json_t *o, const char *k, const char *v);

/* DIR/results.json, written to a temporary file and renamed into place. */
int eval_write_results(const char *dir, json_t *root, ob_err *err);

/* A samples file DIR/samples_<task>.jsonl, written as DIR/...tmp.PID and
 * renamed into place by eval_samples_close (or removed on failure). */
typedef struct eval_samples {
    FILE *f;
    char path[4200], tmp[4300];
} eval_samples;
int eval_samples_open(eval_samples *s, const char *dir, const char *task, ob_err *err);
/* Writes one JSON object as a line and releases it. */
int eval_samples_write(eval_samples *s, json_t *line, ob_err *err);
/* ok: rename into place; !ok: remove the temporary file. */
int eval_samples_close(eval_samples *s, int ok, ob_err *err);

/* ---------------------------------------------------------- eval_tasks.c */

/* Whether name is a question-answering task this file runs. */
int eval_is_qa_task(const char *name);
/* Runs it, adds its entries to the results and prints its table rows. */
int eval_run_qa_task(eval_cli *e, const char *name, ob_err *err);

#endif

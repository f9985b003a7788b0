/* cmd_sweep.c - `optibench sweep CONFIG.yaml`: the configuration with the
 * command-line overrides (sweep_opts.c), the sweep (src/sweep/sweep.h)
 * with progress on stderr, and the summary table on stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/sweep_cli.h"
#include "dist/dist.h"

static void usage(FILE *f) {
    fprintf(f, "usage: optibench sweep CONFIG.yaml [options]\n"
               "Compresses every model of CONFIG with every recipe, benchmarks and evaluates each result, and\n"
               "writes OUTPUT/results.jsonl, results.csv, mlruns/ (MLflow), report.html and summary.md\n"
               "(docs/sweep.md describes the configuration).\n"
               "  --only PATTERN         run only the recipes whose name matches the glob PATTERN\n" SWEEP_CLI_USAGE);
}

static int sweep_gather(void *user, const json_t *mine, json_t **all, ob_err *err) {
    return ob_dist_gather(user, mine, all, err);
}

int cmd_sweep(int argc, char **argv) {
    sweep_cli c;
    sweep_cli_init(&c);
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "--only", NULL, &c.o.only)) || (r = sweep_cli_arg("sweep", argc, argv, &i, &c))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "optibench sweep: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!c.config) {
        fprintf(stderr, "optibench sweep: give the configuration file (see --help; configs/default.yaml)\n");
        return 2;
    }
    ob_err err = {0};
    ob_sweep_config cfg;
    if (sweep_cli_load(&c, &cfg, &err)) return cli_error("sweep", &err);
    /* under mpirun (an MPI build): cell i runs on rank i % size; the other
     * ranks work in OUTPUT/ranks/rank-R and send their records to rank 0 */
    ob_dist dist;
    if (ob_dist_begin(&argc, &argv, &dist, &err)) {
        ob_sweep_config_free(&cfg);
        return cli_error("sweep", &err);
    }
    if (dist.size > 1) {
        c.o.rank = dist.rank;
        c.o.n_ranks = dist.size;
        c.o.gather = sweep_gather;
        c.o.gather_user = &dist;
        if (dist.rank > 0) {
            char *o = NULL;
            if (asprintf(&o, "%s/ranks/rank-%d", ob_sweep_output(&cfg), dist.rank) < 0) o = NULL;
            free(cfg.output);
            cfg.output = o;
        }
        if (dist.rank == 0)
            fprintf(stderr, "sweep: MPI job of %d ranks; cell i runs on rank i %% %d\n", dist.size, dist.size);
    }
    json_t *cells = NULL;
    ob_sweep_summary sum;
    char *md = NULL;
    int rc = ob_sweep_run(&cfg, &c.o, &cells, &sum, &err);
    if (!rc) rc = ob_sweep_markdown(&cfg, cells, &md, &err);
    if (!rc && dist.rank == 0) {
        int m = (int)(sum.seconds / 60), s = (int)fmod(sum.seconds, 60.0);
        printf("%s\n", md);
        printf("sweep: %d cell%s (%d run, %d skipped, %d failed) in %d:%02d; %s/results.jsonl, results.csv, mlruns/, "
               "report.html, summary.md\n",
               sum.n_cells, sum.n_cells == 1 ? "" : "s", sum.n_run, sum.n_skipped, sum.n_failed, m, s,
               ob_sweep_output(&cfg));
    }
    free(md);
    json_decref(cells);
    ob_sweep_config_free(&cfg);
    ob_dist_end(&dist);
    return rc ? cli_error("sweep", &err) : 0;
}

/* cmd_search.c - `optibench search CONFIG.yaml`: for each recipe matching
 * --recipe and each model, the most aggressive value of --key that keeps
 * --metric within the bound, by bisection (src/sweep/search.h); every
 * probe is a sweep cell, recorded as a sweep records it, and the answers
 * go to OUTPUT/search.json and a table on stdout. */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/sweep_cli.h"
#include "report/fileio.h"
#include "report/results.h"
#include "sweep/search.h"

static void usage(FILE *f) {
    fprintf(f, "usage: optibench search CONFIG.yaml --recipe GLOB --key KEY (--range LO:HI | --values A,B,..)\n"
               "                        --metric M (--min X | --max X | --max-worse P) [options]\n"
               "The most aggressive value of a recipe's KEY that keeps a metric within a bound, by bisection,\n"
               "for each recipe of CONFIG matching GLOB and each model; every probe is a sweep cell named\n"
               "RECIPE@KEY=VALUE, recorded in OUTPUT/results.jsonl, results.csv and mlruns/; the answers go\n"
               "to OUTPUT/search.json (docs/sweep.md).  Examples:\n"
               "  --recipe 'wanda*' --key sparsity --range 0.1:0.9 --metric acc --min 0.5\n"
               "  --recipe gptq4 --key bits --values 8,6,5,4,3,2 --metric ppl --max-worse 5\n"
               "  --recipe GLOB        the template recipes (their other keys stay as configured)\n"
               "  --key KEY            the recipe key searched: sparsity, bits, format, group, ...\n"
               "  --range LO:HI        a numeric range from the mildest (LO) to the most aggressive (HI)\n"
               "  --tol T              stop when the bracket is T wide (default 0.02)\n"
               "  --values A,B,..      values from the mildest to the most aggressive\n"
               "  --metric M           a metric of the records: acc, ppl, kld, ...\n"
               "  --min X / --max X    the floor of a higher-is-better metric / the ceiling of a lower-is-better one\n"
               "  --max-worse P        at most P%% worse than the baseline recipe's value\n"
               "  --max-probes N       probes per search (default 12)\n" SWEEP_CLI_USAGE);
}

typedef struct search_opts {
    const char *recipe, *key, *range, *values, *metric, *min, *max, *worse, *tol, *probes;
    char *list;        /* --values, split in place */
    const char *vals[OB_SEARCH_MAX_PROBES];
} search_opts;

/* The spec from the options; -1 after printing why not. */
static int make_spec(search_opts *so, ob_search_spec *sp) {
    *sp = ob_search_default_spec();
    sp->key = so->key;
    sp->metric = so->metric;
    if (!so->recipe || !so->key || !so->metric || (!so->range == !so->values) || (!!so->min + !!so->max + !!so->worse) != 1) {
        fprintf(stderr, "optibench search: give --recipe, --key, --metric, one of --range / --values and one of "
                        "--min / --max / --max-worse (see --help)\n");
        return -1;
    }
    if (so->range) {
        char *colon = strchr(so->range, ':');
        char lo[64];
        if (!colon || (size_t)(colon - so->range) >= sizeof lo) {
            fprintf(stderr, "optibench search: --range must be LO:HI, not '%s'\n", so->range);
            return -1;
        }
        snprintf(lo, sizeof lo, "%.*s", (int)(colon - so->range), so->range);
        if (parse_double("search", "--range", lo, &sp->lo) || parse_double("search", "--range", colon + 1, &sp->hi)) return -1;
    } else {
        if (!(so->list = strdup(so->values))) return -1;
        char *save = NULL;
        for (char *t = strtok_r(so->list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (sp->n_values == OB_SEARCH_MAX_PROBES) {
                fprintf(stderr, "optibench search: at most %d --values\n", OB_SEARCH_MAX_PROBES);
                return -1;
            }
            so->vals[sp->n_values++] = t;
        }
        sp->values = so->vals;
    }
    if (so->tol && parse_double("search", "--tol", so->tol, &sp->tol)) return -1;
    if (so->probes && parse_int("search", "--max-probes", so->probes, 2, OB_SEARCH_MAX_PROBES, &sp->max_probes)) return -1;
    const int lower = ob_metric_lower_is_better(so->metric);
    if ((so->min && lower) || (so->max && !lower)) {
        fprintf(stderr, "optibench search: %s is %s-is-better: bound it with %s\n", so->metric,
                lower ? "lower" : "higher", lower ? "--max" : "--min");
        return -1;
    }
    sp->relative = so->worse != NULL;
    return parse_double("search", so->min ? "--min" : so->max ? "--max" : "--max-worse", so->min ? so->min : so->max ? so->max : so->worse,
                        &sp->bound);
}

static void print_row(const char *model, const ob_recipe *r, const ob_search_spec *sp, const ob_search_result *res) {
    char best[64] = "none", at[64] = "-", lim[64];
    if (res->found) {
        snprintf(best, sizeof best, "%s", res->best);
        snprintf(at, sizeof at, "%.4g", res->best_metric);
    }
    snprintf(lim, sizeof lim, "%s %.4g%s", ob_metric_lower_is_better(sp->metric) ? "<=" : ">=", res->limit,
             sp->relative ? " (relative)" : "");
    printf("| %s | %s | %s | **%s** | %s %s | %s | %s | %d |\n", model, r->name, sp->key, best, sp->metric, at, lim,
           res->first_fail[0] ? res->first_fail : "-", res->n_probes);
}

int cmd_search(int argc, char **argv) {
    sweep_cli c;
    search_opts so = {0};
    sweep_cli_init(&c);
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "--recipe", NULL, &so.recipe)) || (r = arg_str(argc, argv, &i, "--key", NULL, &so.key)) ||
            (r = arg_str(argc, argv, &i, "--range", NULL, &so.range)) ||
            (r = arg_str(argc, argv, &i, "--values", NULL, &so.values)) ||
            (r = arg_str(argc, argv, &i, "--metric", NULL, &so.metric)) || (r = arg_str(argc, argv, &i, "--min", NULL, &so.min)) ||
            (r = arg_str(argc, argv, &i, "--max", NULL, &so.max)) ||
            (r = arg_str(argc, argv, &i, "--max-worse", NULL, &so.worse)) ||
            (r = arg_str(argc, argv, &i, "--tol", NULL, &so.tol)) ||
            (r = arg_str(argc, argv, &i, "--max-probes", NULL, &so.probes)) ||
            (r = sweep_cli_arg("search", argc, argv, &i, &c))) {
            if (r < 0) return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "optibench search: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    ob_search_spec sp;
    if (!c.config) {
        fprintf(stderr, "optibench search: give the configuration file (see --help)\n");
        return 2;
    }
    if (make_spec(&so, &sp)) {
        free(so.list);
        return 2;
    }
    ob_err err = {0};
    ob_sweep_config cfg;
    if (sweep_cli_load(&c, &cfg, &err)) {
        free(so.list);
        return cli_error("search", &err);
    }
    int n_templates = 0, rc = 0;
    for (int k = 0; k < cfg.n_recipes; k++) n_templates += !fnmatch(so.recipe, cfg.recipes[k].name, 0);
    if (!n_templates) rc = ob_fail(&err, OB_EINVAL, "--recipe %s matches no recipe of %s", so.recipe, c.config);
    for (int k = 0; !rc && k < cfg.n_recipes; k++) { /* every value must suit every template before any work */
        if (fnmatch(so.recipe, cfg.recipes[k].name, 0)) continue;
        char ends[2][32];
        snprintf(ends[0], sizeof ends[0], "%.4g", sp.lo);
        snprintf(ends[1], sizeof ends[1], "%.4g", sp.hi);
        for (int j = 0; !rc && j < (sp.values ? sp.n_values : 2); j++) {
            ob_recipe t = cfg.recipes[k];
            rc = ob_recipe_set(&t, sp.key, sp.values ? sp.values[j] : ends[j], &err);
        }
        if (rc) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", err.msg);
            ob_fail(&err, rc, "recipe '%s': %s", cfg.recipes[k].name, msg);
        }
    }
    ob_sweep *s = NULL;
    json_t *all = json_array();
    if (!rc) rc = ob_sweep_open(&cfg, &c.o, n_templates * cfg.n_models * (sp.max_probes + 1), &s, &err);
    if (!rc) printf("| model | recipe | key | answer | metric there | bound | first failing | probes |\n"
                    "|---|---|---|---|---|---|---|---:|\n");
    for (int mi = 0; !rc && mi < cfg.n_models; mi++) {
        for (int k = 0; !rc && k < cfg.n_recipes; k++) {
            const ob_recipe *t = &cfg.recipes[k];
            if (fnmatch(so.recipe, t->name, 0)) continue;
            ob_search_result res;
            if ((rc = ob_search(s, mi, t, &sp, &res, &err))) break;
            print_row(cfg.models[mi], t, &sp, &res);
            fflush(stdout);
            json_t *o = ob_search_json(t, &sp, &res);
            if (o) json_object_set_new(o, "model", json_string(cfg.models[mi]));
            if (!o || json_array_append_new(all, o)) rc = ob_fail(&err, OB_ENOMEM, "out of memory");
        }
    }
    ob_sweep_summary sum;
    if (!rc) rc = ob_sweep_finish(s, NULL, &sum, &err);
    if (!rc) {
        char path[4200];
        char *txt = json_dumps(all, JSON_INDENT(2));
        snprintf(path, sizeof path, "%s/search.json", ob_sweep_output(&cfg));
        rc = txt ? ob_write_atomic(path, txt, strlen(txt), &err) : ob_fail(&err, OB_ENOMEM, "out of memory");
        free(txt);
        if (!rc)
            printf("search: %d probes (%d run, %d skipped, %d failed) in %.0f s; %s, results.jsonl, report.html\n",
                   sum.n_cells, sum.n_run, sum.n_skipped, sum.n_failed, sum.seconds, path);
    }
    json_decref(all);
    ob_sweep_free(s);
    ob_sweep_config_free(&cfg);
    free(so.list);
    return rc ? cli_error("search", &err) : 0;
}

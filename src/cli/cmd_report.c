/* cmd_report.c - `optibench report`: the self-contained HTML report (and
 * optionally results.csv) from a sweep's results.jsonl. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "report/html.h"
#include "report/machine.h"
#include "report/results.h"

static int usage(void) {
    printf("usage: optibench report --results FILE -o REPORT.html [options]\n"
           "  --results FILE          the sweep's results.jsonl (one cell record per line)\n"
           "  -o FILE                 the HTML report to write (one file, no network)\n"
           "  --csv FILE              also write the results as CSV\n"
           "  --machine FILE          a JSON object describing the machine the sweep ran on;\n"
           "                          default: this machine, bandwidth measured (see --bw-mb)\n"
           "  --bw-mb N               MiB read to measure bandwidth without --machine (default 256;\n"
           "                          0: do not measure)\n"
           "  --baseline NAME         the recipe perplexity increases are measured against\n"
           "                          (default: the recipe named 'baseline', else each model's first)\n"
           "  --acc-metric KEY        the accuracy metric (default: acc if measured, else ppl)\n"
           "  --min-accuracy X        recommend only recipes with accuracy >= X\n"
           "  --max-ppl-increase P    ... with perplexity at most P%% over the baseline's\n"
           "  --max-memory BYTES      ... with peak memory (else model size) <= BYTES (2GiB, 512M, ...)\n"
           "  --title TEXT            the page title\n"
           "The recommendation is the fastest (decode tok/s) recipe meeting every bound.\n");
    return 0;
}

/* The folder of path, for the pre-write check. */
static void dir_of(const char *path, char *buf, size_t size) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, size, ".");
    else if (slash == path)
        snprintf(buf, size, "/");
    else
        snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

static int has_recipe(const json_t *cells, const char *name) {
    size_t i;
    const json_t *c;
    json_array_foreach(cells, i, c) {
        const char *r = json_string_value(json_object_get(c, "recipe"));
        if (r && !strcmp(r, name)) return 1;
    }
    return 0;
}

static int load_machine(const char *path, int bw_mb, json_t **out, ob_err *err) {
    if (path) {
        json_error_t je;
        *out = json_load_file(path, 0, &je);
        if (!*out) return ob_fail(err, OB_EFORMAT, "%s: line %d: %s", path, je.line, je.text);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            return ob_fail(err, OB_EFORMAT, "%s: not a JSON object", path);
        }
        return 0;
    }
    ob_pool *pool = NULL;
    int rc = bw_mb > 0 ? ob_pool_new(0, &pool, err) : 0;
    if (!rc) rc = ob_machine_describe(pool, (size_t)bw_mb << 20, out, err);
    ob_pool_free(pool);
    return rc;
}

int cmd_report(int argc, char **argv) {
    const char *results = NULL, *out = NULL, *csv = NULL, *machine_path = NULL, *bw_s = "256", *v = NULL;
    ob_report_opts o = ob_report_opts_default();
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = arg_str(argc, argv, &i, "--results", NULL, &results)) || (r = arg_str(argc, argv, &i, "-o", "--out", &out)) ||
            (r = arg_str(argc, argv, &i, "--csv", NULL, &csv)) ||
            (r = arg_str(argc, argv, &i, "--machine", NULL, &machine_path)) ||
            (r = arg_str(argc, argv, &i, "--bw-mb", NULL, &bw_s)) ||
            (r = arg_str(argc, argv, &i, "--baseline", NULL, &o.baseline)) ||
            (r = arg_str(argc, argv, &i, "--acc-metric", NULL, &o.acc_metric)) ||
            (r = arg_str(argc, argv, &i, "--title", NULL, &o.title))) {
            if (r < 0) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--min-accuracy", NULL, &v))) {
            if (r < 0 || parse_double("report", "--min-accuracy", v, &o.bounds.min_accuracy)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--max-ppl-increase", NULL, &v))) {
            if (r < 0 || parse_double("report", "--max-ppl-increase", v, &o.bounds.max_ppl_increase)) return 2;
        } else if ((r = arg_str(argc, argv, &i, "--max-memory", NULL, &v))) {
            int64_t bytes;
            if (r < 0) return 2;
            if (ob_parse_bytes(v, &bytes) || bytes <= 0) {
                fprintf(stderr, "optibench report: --max-memory must be a size such as 2GiB or 512M, not '%s'\n", v);
                return 2;
            }
            o.bounds.max_memory = (double)bytes;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            return usage();
        } else {
            fprintf(stderr, "optibench report: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!results || !out) {
        fprintf(stderr, "optibench report: --results and -o are required\n");
        return 2;
    }
    int bw_mb;
    if (parse_int("report", "--bw-mb", bw_s, 0, 1 << 16, &bw_mb)) return 2;
    ob_err err = {0};
    char dir[4096];
    dir_of(out, dir, sizeof dir);
    if (ob_output_preflight(dir, 0, &err)) return cli_error("report", &err);
    if (csv) {
        dir_of(csv, dir, sizeof dir);
        if (ob_output_preflight(dir, 0, &err)) return cli_error("report", &err);
    }
    json_t *cells = NULL, *machine = NULL;
    if (ob_results_read_jsonl(results, &cells, &err)) return cli_error("report", &err);
    int rc = 0;
    if (o.baseline && !has_recipe(cells, o.baseline))
        rc = ob_fail(&err, OB_EINVAL, "%s: no recipe named '%s' (--baseline)", results, o.baseline);
    if (!rc) rc = load_machine(machine_path, bw_mb, &machine, &err);
    o.source = results;
    if (!rc && csv) rc = ob_results_write_csv(csv, cells, &err);
    if (!rc) rc = ob_report_write_html(out, cells, machine, &o, &err);
    if (!rc) printf("report: %zu runs -> %s%s%s\n", json_array_size(cells), out, csv ? ", " : "", csv ? csv : "");
    json_decref(cells);
    json_decref(machine);
    return rc ? cli_error("report", &err) : 0;
}

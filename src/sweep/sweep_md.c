/* sweep_md.c - the Markdown summary of a sweep's records (sweep.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"
#include "report/results.h"
#include "report/sbuf.h"
#include "sweep/sweep.h"

static double metric(const json_t *c, const char *k) {
    const json_t *v = json_object_get(json_object_get(c, "metrics"), k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *c, const char *k) {
    const char *s = json_string_value(json_object_get(c, k));
    return s ? s : "";
}

/* A number with fmt, or "-" when not measured. */
static void num(ob_sbuf *b, const char *fmt, double v) {
    if (isnan(v)) ob_sbuf_puts(b, " - |");
    else {
        ob_sbuf_putc(b, ' ');
        ob_sbuf_printf(b, fmt, v);
        ob_sbuf_puts(b, " |");
    }
}

static void bytes(ob_sbuf *b, double v) {
    char t[32];
    if (isnan(v)) {
        ob_sbuf_puts(b, " - |");
        return;
    }
    ob_format_bytes(v, t, sizeof t);
    ob_sbuf_printf(b, " %s |", t);
}

/* Text for a table cell: '|' and line breaks would end it. */
static void cell_text(ob_sbuf *b, const char *s, size_t max) {
    size_t n = 0;
    for (; *s && n < max; s++, n++) ob_sbuf_putc(b, *s == '|' || *s == '\n' || *s == '\r' ? ' ' : *s);
    if (*s) ob_sbuf_puts(b, "...");
}

/* The baseline's perplexity for model, or NAN. */
static double base_ppl(const json_t *cells, const char *model, const char *base) {
    size_t i;
    const json_t *c;
    json_array_foreach(cells, i, c) if (base && !strcmp(str(c, "model"), model) && !strcmp(str(c, "recipe"), base)) return metric(c, "ppl");
    return NAN;
}

static void bounds_text(ob_sbuf *b, const ob_sweep_config *cfg) {
    int any = 0;
    if (!isnan(cfg->report.min_accuracy))
        ob_sbuf_printf(b, "%s >= %g", cfg->report.acc_metric ? cfg->report.acc_metric : "accuracy",
                       cfg->report.min_accuracy), any = 1;
    if (!isnan(cfg->report.max_ppl_increase))
        ob_sbuf_printf(b, "%sperplexity at most %g%% over the baseline", any ? ", " : "", cfg->report.max_ppl_increase),
            any = 1;
    if (!isnan(cfg->report.max_memory)) {
        char t[32];
        ob_format_bytes(cfg->report.max_memory, t, sizeof t);
        ob_sbuf_printf(b, "%speak memory <= %s", any ? ", " : "", t), any = 1;
    }
    if (!any) ob_sbuf_puts(b, "no bound");
}

int ob_sweep_markdown(const ob_sweep_config *cfg, const json_t *cells, char **out, ob_err *err) {
    ob_sbuf b = {0};
    const ob_recipe *base = ob_sweep_config_baseline(cfg);
    const char *bname = base ? base->name : NULL;
    int several = cfg->n_models > 1;
    *out = NULL;
    ob_sbuf_printf(&b, "|%s recipe | status | ppl | ppl +%% | kld | acc | decode tok/s | prefill tok/s | size | "
                       "peak RSS | s |\n|%s---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
                   several ? " model |" : "", several ? "---|" : "");
    size_t i;
    const json_t *c;
    json_array_foreach(cells, i, c) {
        double p = metric(c, "ppl"), bp = base_ppl(cells, str(c, "model"), bname);
        ob_sbuf_puts(&b, "|");
        if (several) ob_sbuf_printf(&b, " %s |", str(c, "model"));
        ob_sbuf_puts(&b, " ");
        cell_text(&b, str(c, "recipe"), 60);
        ob_sbuf_puts(&b, " | ");
        if (!strcmp(str(c, "status"), "ok") || !*str(c, "status")) {
            ob_sbuf_puts(&b, json_is_true(json_object_get(c, "cached")) ? "ok (cached) |" : "ok |");
        } else {
            ob_sbuf_printf(&b, "%s: ", str(c, "status"));
            cell_text(&b, str(c, "error"), 70);
            ob_sbuf_puts(&b, " |");
        }
        num(&b, "%.2f", p);
        num(&b, "%+.2f", 100 * (p / bp - 1));
        num(&b, "%.4f", metric(c, "kld"));
        num(&b, "%.3f", metric(c, "acc"));
        num(&b, "%.1f", metric(c, "decode_tps"));
        num(&b, "%.0f", metric(c, "prefill_tps"));
        bytes(&b, metric(c, "model_size_bytes"));
        bytes(&b, metric(c, "peak_rss_bytes"));
        const json_t *sec = json_object_get(c, "seconds");
        num(&b, "%.1f", json_is_number(sec) ? json_number_value(sec) : NAN);
        ob_sbuf_putc(&b, '\n');
    }
    ob_report_opts ro = ob_report_opts_default();
    ro.baseline = bname;
    ro.acc_metric = cfg->report.acc_metric;
    ro.bounds.min_accuracy = cfg->report.min_accuracy;
    ro.bounds.max_ppl_increase = cfg->report.max_ppl_increase;
    ro.bounds.max_memory = cfg->report.max_memory;
    ob_sbuf_puts(&b, "\nRecommendation (");
    bounds_text(&b, cfg);
    ob_sbuf_puts(&b, "; the fastest decode among the recipes within the bounds):\n");
    for (int m = 0; m < cfg->n_models; m++) {
        ob_recommendation rec;
        int rc = ob_report_recommend(cells, &ro, cfg->models[m], &rec, err);
        if (rc) {
            ob_sbuf_free(&b);
            return rc;
        }
        ob_sbuf_printf(&b, "- %s: %s%s%s%s\n", cfg->models[m], rec.index >= 0 ? "**" : "",
                       rec.index >= 0 ? str(json_array_get(cells, (size_t)rec.index), "recipe") : "none",
                       rec.index >= 0 ? "** - " : " - ", rec.reason);
    }
    if (b.oom) {
        ob_sbuf_free(&b);
        return ob_fail(err, OB_ENOMEM, "out of memory");
    }
    *out = b.s;
    return 0;
}

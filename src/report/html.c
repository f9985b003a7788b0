/* html.c - the report page: recommendation, trade-off charts, bar charts,
 * the runs table and the machine, from the cell records. */
#include "report/html.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/fileio.h"
#include "report/html_parts.h"
#include "report/results.h"
#include "report/svg.h"

ob_report_opts ob_report_opts_default(void) {
    ob_report_opts o = {0};
    o.bounds = ob_constraints_none();
    return o;
}

double ob_cell_metric(const json_t *cell, const char *key) {
    const json_t *v = json_object_get(json_object_get(cell, "metrics"), key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int cell_ok(const json_t *cell) {
    const char *s = json_string_value(json_object_get(cell, "status"));
    return !s || !strcmp(s, "ok");
}

static const char *cell_str(const json_t *cell, const char *key) {
    const char *s = json_string_value(json_object_get(cell, key));
    return s ? s : "";
}

/* ------------------------------------------------------------ the model */

static int any_metric(const json_t *cells, const char *key) {
    size_t i;
    const json_t *c;
    json_array_foreach(cells, i, c) if (!isnan(ob_cell_metric(c, key))) return 1;
    return 0;
}

static void free_report(ob_report *r) {
    if (r->rows)
        for (size_t i = 0; i < r->n; i++) free(r->rows[i].label);
    free(r->rows);
    free(r->models);
}

/* Fills r from cells: one row per cell, the models in order of appearance. */
static int build_report(ob_report *r, const json_t *cells, const ob_report_opts *o, ob_err *err) {
    memset(r, 0, sizeof *r);
    r->o = o;
    if (!json_is_array(cells)) return ob_fail(err, OB_EINVAL, "report: the results are not an array");
    r->n = json_array_size(cells);
    r->rows = calloc(r->n ? r->n : 1, sizeof *r->rows);
    r->models = calloc(r->n ? r->n : 1, sizeof *r->models);
    if (!r->rows || !r->models) return ob_fail(err, OB_ENOMEM, "report: out of memory");
    r->acc = o->acc_metric ? o->acc_metric : any_metric(cells, "acc") ? "acc" : "ppl";
    for (size_t i = 0; i < r->n; i++) {
        const json_t *c = json_array_get(cells, i);
        if (!json_is_object(c)) return ob_fail(err, OB_EINVAL, "report: row %zu is not an object", i + 1);
        ob_row *w = &r->rows[i];
        w->cell = c;
        w->model = cell_str(c, "model");
        w->recipe = cell_str(c, "recipe");
        w->ok = cell_ok(c);
        size_t m = 0;
        while (m < r->n_models && strcmp(r->models[m], w->model)) m++;
        if (m == r->n_models) r->models[r->n_models++] = w->model;
    }
    for (size_t i = 0; i < r->n; i++) {
        ob_row *w = &r->rows[i];
        size_t len = strlen(w->model) + strlen(w->recipe) + 4;
        if (!(w->label = malloc(len))) return ob_fail(err, OB_ENOMEM, "report: out of memory");
        if (r->n_models > 1)
            snprintf(w->label, len, "%s / %s", w->model, w->recipe);
        else
            snprintf(w->label, len, "%s", w->recipe);
    }
    return 0;
}

/* The baseline row of model m: by name, else "baseline", else its first ok
 * row; -1 when none. */
static int find_baseline(const ob_report *r, const char *model) {
    const char *want = r->o->baseline ? r->o->baseline : "baseline";
    int first_ok = -1;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->rows[i].model, model)) continue;
        if (!strcmp(r->rows[i].recipe, want)) return (int)i;
        if (first_ok < 0 && r->rows[i].ok) first_ok = (int)i;
    }
    return r->o->baseline ? -1 : first_ok;
}

/* Runs ob_recommend over the rows of one model; marks the baseline and the
 * pick.  rec->index is a row index (or -1). */
static int recommend_model(ob_report *r, const char *model, ob_recommendation *rec, int *base_row) {
    ob_candidate *c = calloc(r->n ? r->n : 1, sizeof *c);
    int *row_of = calloc(r->n ? r->n : 1, sizeof *row_of);
    if (!c || !row_of) {
        free(c), free(row_of);
        return -1;
    }
    int acc_higher = !ob_metric_lower_is_better(r->acc), base = find_baseline(r, model), base_c = -1;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const ob_row *w = &r->rows[i];
        if (strcmp(w->model, model)) continue;
        double rss = ob_cell_metric(w->cell, "peak_rss_bytes"), size = ob_cell_metric(w->cell, "model_size_bytes");
        c[k] = (ob_candidate){w->recipe, w->ok,
                              acc_higher ? ob_cell_metric(w->cell, r->acc) : NAN,
                              ob_cell_metric(w->cell, "ppl"),
                              ob_cell_metric(w->cell, "decode_tps"),
                              isnan(rss) ? size : rss,
                              size};
        if ((int)i == base) base_c = (int)k;
        row_of[k++] = (int)i;
    }
    ob_recommend(c, k, base_c, &r->o->bounds, rec);
    if (rec->index >= 0) rec->index = row_of[rec->index];
    *base_row = base;
    if (base >= 0) r->rows[base].mark = 1;
    if (rec->index >= 0) r->rows[rec->index].mark = 2;
    free(c);
    free(row_of);
    return 0;
}

/* ---------------------------------------------------------------- sections */

static void bounds_line(ob_sbuf *b, const ob_report *r) {
    const ob_constraints *k = &r->o->bounds;
    ob_sbuf_puts(b, "<p class=\"bounds\">Bounds: ");
    int any = 0;
    if (!isnan(k->min_accuracy)) {
        ob_sbuf_printf(b, "%s &ge; %g", ob_metric_label(r->acc), k->min_accuracy);
        any = 1;
    }
    if (!isnan(k->max_ppl_increase)) {
        ob_sbuf_printf(b, "%sperplexity at most %g%% over the baseline", any ? "; " : "", k->max_ppl_increase);
        any = 1;
    }
    if (!isnan(k->max_memory)) {
        char mem[32];
        ob_format_bytes(k->max_memory, mem, sizeof mem);
        ob_sbuf_printf(b, "%speak memory &le; %s", any ? "; " : "", mem);
        any = 1;
    }
    if (!any) ob_sbuf_puts(b, "none given (--min-accuracy, --max-ppl-increase, --max-memory); the fastest recipe wins");
    ob_sbuf_puts(b, ".</p>\n");
}

static int section_recommendation(ob_sbuf *b, ob_report *r) {
    ob_sbuf_puts(b, "<section id=\"recommendation\">\n<h2>Recommendation</h2>\n");
    bounds_line(b, r);
    if (!r->n_models) ob_sbuf_puts(b, "<p class=\"reason\">The results hold no runs.</p>\n");
    for (size_t m = 0; m < r->n_models; m++) {
        ob_recommendation rec;
        int base;
        if (recommend_model(r, r->models[m], &rec, &base)) return -1;
        ob_sbuf_printf(b, "<div class=\"rec %s\" data-model=\"", rec.index >= 0 ? "ok" : "none");
        ob_sbuf_html(b, r->models[m]);
        ob_sbuf_puts(b, "\">\n<h3>");
        ob_sbuf_html(b, *r->models[m] ? r->models[m] : "(model not named)");
        ob_sbuf_puts(b, "</h3>\n");
        if (rec.index >= 0) {
            ob_sbuf_puts(b, "<p class=\"pick\">Recommended: <strong class=\"recipe\">");
            ob_sbuf_html(b, r->rows[rec.index].recipe);
            ob_sbuf_puts(b, "</strong></p>\n");
        }
        ob_sbuf_printf(b, "<p class=\"reason\">");
        ob_sbuf_html(b, rec.reason);
        ob_sbuf_puts(b, "</p>\n");
        if (base >= 0) {
            ob_sbuf_puts(b, "<p class=\"baseline\">Baseline: ");
            ob_sbuf_html(b, r->rows[base].recipe);
            ob_sbuf_puts(b, "</p>\n");
        } else if (r->o->baseline) {
            ob_sbuf_puts(b, "<p class=\"baseline\">Baseline: no recipe named ");
            ob_sbuf_html(b, r->o->baseline);
            ob_sbuf_puts(b, "</p>\n");
        }
        ob_sbuf_puts(b, "</div>\n");
    }
    ob_sbuf_puts(b, "</section>\n");
    return 0;
}

/* The two trade-off charts of one model. */
static int model_charts(ob_sbuf *b, const ob_report *r, size_t m) {
    static const char *x_keys[2] = {"decode_tps", "model_size_bytes"};
    ob_svg_point *p = calloc(r->n ? r->n : 1, sizeof *p);
    double *x = calloc(r->n ? r->n : 1, sizeof *x), *y = calloc(r->n ? r->n : 1, sizeof *y);
    unsigned char *front = calloc(r->n ? r->n : 1, 1);
    int rc = p && x && y && front ? 0 : -1;
    double ysign = ob_metric_lower_is_better(r->acc) ? -1 : 1;
    for (int chart = 0; chart < 2 && !rc; chart++) {
        double xsign = ob_metric_lower_is_better(x_keys[chart]) ? -1 : 1;
        size_t k = 0;
        for (size_t i = 0; i < r->n; i++) {
            const ob_row *w = &r->rows[i];
            if (strcmp(w->model, r->models[m]) || !w->ok) continue;
            p[k] = (ob_svg_point){ob_cell_metric(w->cell, x_keys[chart]), ob_cell_metric(w->cell, r->acc), w->label,
                                  0, w->mark};
            x[k] = xsign * p[k].x;
            y[k] = ysign * p[k].y;
            k++;
        }
        ob_pareto_front(x, y, k, front);
        for (size_t i = 0; i < k; i++) p[i].front = front[i];
        char id[64], title[512];
        snprintf(id, sizeof id, "scatter-%zu-%s", m, chart ? "size" : "speed");
        snprintf(title, sizeof title, "%s%s%s against %s", *r->models[m] ? r->models[m] : "", *r->models[m] ? ": " : "",
                 ob_metric_label(r->acc), ob_metric_label(x_keys[chart]));
        ob_svg_axes a = {id, title, x_keys[chart], r->acc};
        ob_svg_scatter(b, &a, p, k);
    }
    free(p), free(x), free(y), free(front);
    return rc;
}

static int section_tradeoffs(ob_sbuf *b, const ob_report *r) {
    ob_sbuf_puts(b, "<section id=\"tradeoffs\">\n<h2>Trade-offs</h2>\n<p class=\"note\">Larger dots joined by the "
                    "line are on the Pareto frontier: no other recipe is at least as good on both axes and better "
                    "on one.  Green rings mark the recommendation, dark rings the baseline.</p>\n");
    for (size_t m = 0; m < r->n_models; m++)
        if (model_charts(b, r, m)) return -1;
    ob_sbuf_puts(b, "</section>\n");
    return 0;
}

static int section_metrics(ob_sbuf *b, const ob_report *r, const ob_result_col *cols, size_t nc) {
    const char **labels = calloc(r->n ? r->n : 1, sizeof *labels);
    double *v = calloc(r->n ? r->n : 1, sizeof *v);
    int *mark = calloc(r->n ? r->n : 1, sizeof *mark);
    if (!labels || !v || !mark) {
        free(labels), free(v), free(mark);
        return -1;
    }
    ob_sbuf_puts(b, "<section id=\"metrics\">\n<h2>Metrics</h2>\n");
    for (size_t c = 0; c < nc; c++) {
        if (cols[c].kind != OB_COL_METRIC) continue;
        size_t k = 0;
        for (size_t i = 0; i < r->n; i++) {
            double x = ob_cell_metric(r->rows[i].cell, cols[c].key);
            if (isnan(x) && !r->rows[i].ok) continue;
            labels[k] = r->rows[i].label, v[k] = x, mark[k] = r->rows[i].mark;
            k++;
        }
        char id[300];
        snprintf(id, sizeof id, "bars-%zu", c);
        ob_svg_bars(b, id, cols[c].key, labels, v, mark, k);
    }
    ob_sbuf_puts(b, "</section>\n");
    free(labels), free(v), free(mark);
    return 0;
}

int ob_report_html(const json_t *cells, const json_t *machine, const ob_report_opts *o, ob_sbuf *out, ob_err *err) {
    ob_report r;
    int rc = build_report(&r, cells, o, err);
    ob_result_col *cols = NULL;
    size_t nc = 0;
    if (!rc) rc = ob_results_columns(cells, &cols, &nc, err);
    if (!rc) {
        ob_html_head(out, &r);
        if (section_recommendation(out, &r) || section_tradeoffs(out, &r) || section_metrics(out, &r, cols, nc))
            out->oom = 1;
        ob_html_table(out, &r, cols, nc);
        ob_html_machine(out, machine);
        ob_html_tail(out);
        if (out->oom) rc = ob_fail(err, OB_ENOMEM, "report: out of memory");
    }
    ob_results_columns_free(cols, nc);
    free_report(&r);
    return rc;
}

int ob_report_recommend(const json_t *cells, const ob_report_opts *o, const char *model, ob_recommendation *rec,
                        ob_err *err) {
    ob_report r;
    int base, rc = build_report(&r, cells, o, err);
    if (!rc && recommend_model(&r, model, rec, &base)) rc = ob_fail(err, OB_ENOMEM, "report: out of memory");
    free_report(&r);
    return rc;
}

int ob_report_write_html(const char *path, const json_t *cells, const json_t *machine, const ob_report_opts *o,
                         ob_err *err) {
    ob_sbuf b = {0};
    int rc = ob_report_html(cells, machine, o, &b, err);
    if (!rc) rc = ob_write_atomic(path, b.s, b.len, err);
    ob_sbuf_free(&b);
    return rc;
}

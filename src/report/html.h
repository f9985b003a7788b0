/* html.h - the self-contained HTML report of a sweep.
 *
 * One file, no network: inline CSS, inline SVG charts and a few lines of
 * inline JavaScript (table sorting), and a Content-Security-Policy that
 * forbids loading anything else.  Sections, each with a fixed id:
 *   #recommendation  per model, the recipe ob_recommend picks under the
 *                    bounds, with its reason, or why none qualifies
 *   #tradeoffs       per model, accuracy against decode tok/s and against
 *                    model size, Pareto frontier joined and highlighted
 *                    (svg.scatter, circle.pt.front, path.frontier)
 *   #metrics         one bar chart per metric over every run (svg.bars)
 *   #runs            table#runs-table.sortable: one tr.run per cell with
 *                    the columns of results.csv; click a header to sort,
 *                    or open the file with "#sort=COLUMN" ("#sort=-COLUMN"
 *                    for descending)
 *   #machine         the machine description (dl)
 * Every text taken from the cells or the machine is HTML-escaped. */
#ifndef OB_REPORT_HTML_H
#define OB_REPORT_HTML_H

#include <jansson.h>

#include "optibench.h"
#include "report/pareto.h"
#include "report/sbuf.h"

typedef struct ob_report_opts {
    const char *title;      /* NULL: "optibench report"                     */
    const char *source;     /* where the results came from (shown); or NULL */
    /* The recipe the perplexity increase is measured against, in each
     * model.  NULL: a recipe named "baseline" if there is one, else that
     * model's first successful cell. */
    const char *baseline;
    /* The accuracy metric of the charts and --min-accuracy.  NULL: "acc"
     * when any cell measured it, else "ppl". */
    const char *acc_metric;
    ob_constraints bounds;
} ob_report_opts;

/* Every field NULL, every bound off. */
ob_report_opts ob_report_opts_default(void);

/* Appends the page for cells (an array of results.h cell records) and
 * machine (an object of scalars such as ob_machine_describe writes; NULL
 * for none) to out. */
int ob_report_html(const json_t *cells, const json_t *machine, const ob_report_opts *o, ob_sbuf *out, ob_err *err);
/* Renders and writes it to path atomically. */
int ob_report_write_html(const char *path, const json_t *cells, const json_t *machine, const ob_report_opts *o,
                         ob_err *err);

/* The recommendation of the report's #recommendation section for model
 * (the cells' "model" value) under o's bounds, without the page: rec->index
 * indexes cells (or is -1, with the reason in rec->reason). */
int ob_report_recommend(const json_t *cells, const ob_report_opts *o, const char *model, ob_recommendation *rec,
                        ob_err *err);

#endif

/* html_parts.h - internal to the HTML report: the rows it works on and the
 * parts of the page other than the charts (head and style, runs table,
 * machine, script). */
#ifndef OB_REPORT_HTML_PARTS_H
#define OB_REPORT_HTML_PARTS_H
#include <stddef.h>

#include <jansson.h>

#include "report/html.h"
#include "report/results.h"
#include "report/sbuf.h"

/* One cell of the results, as the report sees it.  Strings are borrowed
 * from the cell except label, which the row owns. */
typedef struct ob_row {
    const json_t *cell;
    const char *model, *recipe;
    char *label;    /* recipe, or "model / recipe" when there are several models */
    int ok;         /* status absent or "ok"                                     */
    int mark;       /* 1: its model's baseline, 2: the recommended recipe        */
} ob_row;

typedef struct ob_report {
    const ob_report_opts *o;
    ob_row *rows;
    size_t n;
    const char **models; /* distinct models in order of appearance (borrowed) */
    size_t n_models;
    const char *acc;     /* the accuracy metric's key                         */
} ob_report;

/* A cell's metrics[key] as a double; NaN when absent or not a number. */
double ob_cell_metric(const json_t *cell, const char *key);

void ob_html_head(ob_sbuf *b, const ob_report *r);
void ob_html_table(ob_sbuf *b, const ob_report *r, const ob_result_col *cols, size_t nc);
void ob_html_machine(ob_sbuf *b, const json_t *machine);
void ob_html_tail(ob_sbuf *b);

#endif

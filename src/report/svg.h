/* svg.h - the report's inline SVG charts, appended to an HTML buffer.
 * Every text is HTML-escaped here; the SVG carries no xmlns or any other
 * URL, so the page references nothing outside itself. */
#ifndef OB_REPORT_SVG_H
#define OB_REPORT_SVG_H
#include <stddef.h>

#include "report/sbuf.h"

/* One point of a scatter plot.  label is borrowed. */
typedef struct ob_svg_point {
    double x, y;
    const char *label;
    int front;  /* on the Pareto frontier: drawn highlighted and joined   */
    int mark;   /* 1: the baseline, 2: the recommended recipe              */
} ob_svg_point;

typedef struct ob_svg_axes {
    const char *id;       /* the <svg> id attribute                         */
    const char *title;    /* the caption                                    */
    const char *x_key;    /* metric keys: they pick the axis labels and the */
    const char *y_key;    /* number format (byte counts as KiB/MiB/GiB)     */
} ob_svg_axes;

/* A scatter plot of p[0..n) (NaN coordinates are left out) with the
 * frontier drawn as a path through the front points in x order: circles of
 * class "pt" ("pt front" on the frontier), one <text class="lbl"> per
 * point, a <path class="frontier">, both axes with ticks. */
void ob_svg_scatter(ob_sbuf *b, const ob_svg_axes *a, const ob_svg_point *p, size_t n);

/* A horizontal bar chart of one metric: bar i has length v[i] (NaN: the
 * row says "n/a"), label labels[i], class "bar" plus " base" / " rec" for
 * mark[i] 1 / 2. */
void ob_svg_bars(ob_sbuf *b, const char *id, const char *key, const char *const *labels, const double *v,
                 const int *mark, size_t n);

#endif

/* svg.c - scatter plots with a Pareto frontier, and bar charts. */
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/results.h"

enum { W = 720, H = 440, ML = 86, MR = 30, MT = 34, MB = 58 };

/* A "nice" tick step (1, 2 or 5 times a power of ten) for range/target. */
static double nice_step(double range, int target) {
    double raw = range / target, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

typedef struct axis {
    double lo, hi, step;
} axis;

/* The axis over [lo, hi] of metric key; byte counts step in round numbers
 * of the binary unit their labels use (KiB, MiB, GiB). */
static axis make_axis(const char *key, double lo, double hi) {
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= d, hi += d;
    }
    double pad = (hi - lo) * 0.08, unit = 1;
    lo -= pad, hi += pad;
    if (strstr(key, "_bytes"))
        while (unit < 1e15 && fmax(fabs(lo), fabs(hi)) / unit >= 1024) unit *= 1024;
    axis a = {lo, hi, nice_step((hi - lo) / unit, 5) * unit};
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    return a;
}

/* The number of tick intervals, bounded whatever the floating point does. */
static int n_ticks(const axis *a) {
    double k = floor((a->hi - a->lo) / a->step + 0.5);
    return k >= 0 && k <= 20 ? (int)k : 0;
}

static double px(const axis *a, double v) { return ML + (v - a->lo) / (a->hi - a->lo) * (W - ML - MR); }
static double py(const axis *a, double v) { return H - MB - (v - a->lo) / (a->hi - a->lo) * (H - MT - MB); }

static void axis_title(ob_sbuf *b, const char *key) {
    ob_sbuf_html(b, ob_metric_label(key));
    ob_sbuf_puts(b, ob_metric_lower_is_better(key) ? " (lower is better)" : " (higher is better)");
}

static void draw_axes(ob_sbuf *b, const ob_svg_axes *s, const axis *ax, const axis *ay) {
    char txt[48];
    ob_sbuf_printf(b, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", ML, MT, W - ML - MR,
                   H - MT - MB);
    for (int k = 0, nk = n_ticks(ax); k <= nk; k++) {
        double t = ax->lo + k * ax->step, x = px(ax, t);
        ob_metric_format(s->x_key, fabs(t) < ax->step * 1e-9 ? 0 : t, txt, sizeof txt);
        ob_sbuf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, MT, x, H - MB);
        ob_sbuf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x, H - MB + 16);
        ob_sbuf_html(b, txt);
        ob_sbuf_puts(b, "</text>\n");
    }
    for (int k = 0, nk = n_ticks(ay); k <= nk; k++) {
        double t = ay->lo + k * ay->step, y = py(ay, t);
        ob_metric_format(s->y_key, fabs(t) < ay->step * 1e-9 ? 0 : t, txt, sizeof txt);
        ob_sbuf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", ML, y, W - MR, y);
        ob_sbuf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", ML - 6, y + 4);
        ob_sbuf_html(b, txt);
        ob_sbuf_puts(b, "</text>\n");
    }
    ob_sbuf_printf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (ML + W - MR) / 2, H - 14);
    axis_title(b, s->x_key);
    ob_sbuf_printf(b, "</text>\n<text class=\"axis\" transform=\"translate(18 %d) rotate(-90)\" "
                      "text-anchor=\"middle\">",
                   (MT + H - MB) / 2);
    axis_title(b, s->y_key);
    ob_sbuf_puts(b, "</text>\n");
}

static int by_x(const void *a, const void *b) {
    const ob_svg_point *p = *(const ob_svg_point *const *)a, *q = *(const ob_svg_point *const *)b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : (p->y > q->y) - (p->y < q->y);
}

static void draw_frontier(ob_sbuf *b, const axis *ax, const axis *ay, const ob_svg_point *p, size_t n) {
    const ob_svg_point **f = malloc((n ? n : 1) * sizeof *f);
    if (!f) {
        b->oom = 1;
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i].front && !isnan(p[i].x) && !isnan(p[i].y)) f[m++] = &p[i];
    qsort(f, m, sizeof *f, by_x);
    if (m) {
        ob_sbuf_puts(b, "<path class=\"frontier\" d=\"");
        for (size_t i = 0; i < m; i++)
            ob_sbuf_printf(b, "%s%.1f %.1f", i ? " L" : "M", px(ax, f[i]->x), py(ay, f[i]->y));
        ob_sbuf_puts(b, "\"/>\n");
    }
    free(f);
}

void ob_svg_scatter(ob_sbuf *b, const ob_svg_axes *s, const ob_svg_point *p, size_t n) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(p[i].x) || isnan(p[i].y) || isinf(p[i].x) || isinf(p[i].y)) continue;
        x0 = fmin(x0, p[i].x), x1 = fmax(x1, p[i].x), y0 = fmin(y0, p[i].y), y1 = fmax(y1, p[i].y);
        shown++;
    }
    ob_sbuf_puts(b, "<figure class=\"chart\"><figcaption>");
    ob_sbuf_html(b, s->title);
    ob_sbuf_puts(b, "</figcaption>\n");
    if (!shown) {
        ob_sbuf_puts(b, "<p class=\"empty\">No run measured both of these.</p></figure>\n");
        return;
    }
    axis ax = make_axis(s->x_key, x0, x1), ay = make_axis(s->y_key, y0, y1);
    ob_sbuf_printf(b, "<svg class=\"scatter\" id=\"");
    ob_sbuf_html(b, s->id);
    ob_sbuf_printf(b, "\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", W, H, W, H);
    ob_sbuf_html(b, s->title);
    ob_sbuf_puts(b, "\">\n");
    draw_axes(b, s, &ax, &ay);
    draw_frontier(b, &ax, &ay, p, n);
    char xs[48], ys[48];
    for (size_t i = 0; i < n; i++) {
        if (isnan(p[i].x) || isnan(p[i].y) || isinf(p[i].x) || isinf(p[i].y)) continue;
        double cx = px(&ax, p[i].x), cy = py(&ay, p[i].y);
        ob_metric_format(s->x_key, p[i].x, xs, sizeof xs);
        ob_metric_format(s->y_key, p[i].y, ys, sizeof ys);
        ob_sbuf_printf(b, "<circle class=\"pt%s%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" data-label=\"",
                       p[i].front ? " front" : "", p[i].mark == 1 ? " base" : p[i].mark == 2 ? " rec" : "", cx, cy,
                       p[i].front ? 6 : 4);
        ob_sbuf_html(b, p[i].label);
        ob_sbuf_puts(b, "\"><title>");
        ob_sbuf_html(b, p[i].label);
        ob_sbuf_printf(b, ": %s %s, %s %s%s</title></circle>", ob_metric_label(s->x_key), xs,
                       ob_metric_label(s->y_key), ys, p[i].front ? " (Pareto frontier)" : "");
        int right = cx < W - MR - 120;
        ob_sbuf_printf(b, "<text class=\"lbl%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", p[i].front ? " front" : "",
                       right ? cx + 8 : cx - 8, cy - 7, right ? "start" : "end");
        ob_sbuf_html(b, p[i].label);
        ob_sbuf_puts(b, "</text>\n");
    }
    ob_sbuf_puts(b, "</svg></figure>\n");
}

void ob_svg_bars(ob_sbuf *b, const char *id, const char *key, const char *const *labels, const double *v,
                 const int *mark, size_t n) {
    enum { BW = 720, LW = 190, VW = 110, ROW = 24, TOP = 8 };
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
    if (hi == lo) hi = lo + 1;
    int h = TOP * 2 + ROW * (int)n;
    double span = BW - LW - VW, zero = LW + (0 - lo) / (hi - lo) * span;
    ob_sbuf_puts(b, "<figure class=\"chart\"><figcaption>");
    axis_title(b, key);
    ob_sbuf_puts(b, "</figcaption>\n<svg class=\"bars\" id=\"");
    ob_sbuf_html(b, id);
    ob_sbuf_printf(b, "\" data-metric=\"");
    ob_sbuf_html(b, key);
    ob_sbuf_printf(b, "\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n", BW, h, BW, h);
    char txt[48];
    for (size_t i = 0; i < n; i++) {
        double y = TOP + ROW * (double)i;
        ob_sbuf_printf(b, "<text class=\"blabel\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", LW - 8, y + ROW * 0.65);
        ob_sbuf_html(b, labels[i]);
        ob_sbuf_puts(b, "</text>");
        ob_metric_format(key, v[i], txt, sizeof txt);
        if (isfinite(v[i])) {
            double end = LW + (v[i] - lo) / (hi - lo) * span, x = fmin(zero, end), w = fabs(end - zero);
            ob_sbuf_printf(b, "<rect class=\"bar%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" data-label=\"",
                           mark[i] == 1 ? " base" : mark[i] == 2 ? " rec" : "", x, y + 3, fmax(w, 1), ROW - 6);
            ob_sbuf_html(b, labels[i]);
            ob_sbuf_puts(b, "\"><title>");
            ob_sbuf_html(b, labels[i]);
            ob_sbuf_puts(b, ": ");
            ob_sbuf_html(b, txt);
            ob_sbuf_printf(b, "</title></rect><text class=\"bval\" x=\"%.1f\" y=\"%.1f\">", fmax(zero, end) + 6,
                           y + ROW * 0.65);
        } else {
            ob_sbuf_printf(b, "<text class=\"bval na\" x=\"%.1f\" y=\"%.1f\">", zero + 6, y + ROW * 0.65);
        }
        ob_sbuf_html(b, txt);
        ob_sbuf_puts(b, "</text>\n");
    }
    ob_sbuf_puts(b, "</svg></figure>\n");
}

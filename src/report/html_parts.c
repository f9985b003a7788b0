/* html_parts.c - the report's head and style, runs table, machine section
 * and sorting script. */
#include "report/html_parts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *style =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1d2430}\n"
    "h1{font-size:24px}h2{margin-top:36px;border-bottom:1px solid #d5dae1;padding-bottom:4px}\n"
    ".meta,.note,.bounds{color:#5a6472}nav a{margin-right:14px}\n"
    ".rec{border-left:4px solid #2f9e44;padding:4px 14px;margin:12px 0;background:#f3faf4}\n"
    ".rec.none{border-color:#c92a2a;background:#fdf3f3}.rec h3{margin:6px 0}\n"
    ".pick{font-size:16px}.recipe{font-family:ui-monospace,monospace}\n"
    "figure.chart{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}\n"
    "svg text{font:12px system-ui,sans-serif;fill:#1d2430}svg .tick{fill:#5a6472;font-size:11px}\n"
    "svg .plot{fill:#fbfcfd;stroke:#c7ced8}svg .grid{stroke:#e6e9ee}\n"
    "svg .pt{fill:#7b8a9e;stroke:#fff;stroke-width:1}svg .pt.front{fill:#e8590c}\n"
    "svg .pt.base{stroke:#1d2430;stroke-width:2.5}svg .pt.rec{stroke:#2f9e44;stroke-width:3.5}\n"
    "svg .frontier{fill:none;stroke:#e8590c;stroke-width:2;stroke-dasharray:6 3}\n"
    "svg .lbl{font-size:11px;fill:#3b4452}svg .lbl.front{font-weight:600;fill:#b8450a}\n"
    "svg .bar{fill:#7b8a9e}svg .bar.base{fill:#1d2430}svg .bar.rec{fill:#2f9e44}svg .bval{font-size:11px}\n"
    "table{border-collapse:collapse;font-size:13px;width:100%}th,td{padding:4px 8px;border-bottom:1px solid "
    "#e6e9ee;text-align:left;white-space:nowrap}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}th{cursor:pointer;background:#f1f3f6;position:"
    "sticky;top:0}\n"
    "th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}\n"
    "tr.failed td{color:#a61e1e}tr.rec td{background:#eef8f0}tr.base td{font-weight:600}\n"
    ".scroll{overflow-x:auto}dl{display:grid;grid-template-columns:max-content auto;gap:4px 18px}dt{color:#5a6472}"
    "dd{margin:0}\n";

void ob_html_head(ob_sbuf *b, const ob_report *r) {
    const char *title = r->o->title ? r->o->title : "optibench report";
    ob_sbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    ob_sbuf_html(b, title);
    ob_sbuf_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", style);
    ob_sbuf_html(b, title);
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M %Z", &tm);
    size_t ok = 0;
    for (size_t i = 0; i < r->n; i++) ok += (size_t)r->rows[i].ok;
    ob_sbuf_printf(b, "</h1>\n<p class=\"meta\">%zu run%s (%zu ok, %zu failed) of %zu model%s", r->n,
                   r->n == 1 ? "" : "s", ok, r->n - ok, r->n_models, r->n_models == 1 ? "" : "s");
    if (r->o->source) {
        ob_sbuf_puts(b, " from ");
        ob_sbuf_html(b, r->o->source);
    }
    ob_sbuf_printf(b, "; accuracy metric: %s; generated %s.</p>\n", ob_metric_label(r->acc), when);
    ob_sbuf_puts(b, "<nav><a href=\"#recommendation\">Recommendation</a><a href=\"#tradeoffs\">Trade-offs</a>"
                    "<a href=\"#metrics\">Metrics</a><a href=\"#runs\">All runs</a><a href=\"#machine\">Machine</a>"
                    "</nav>\n");
}

/* Appends the text of v, HTML-escaped. */
static void json_html(ob_sbuf *b, const json_t *v) {
    ob_sbuf t = {0};
    ob_json_text(&t, v, 0);
    if (t.oom) b->oom = 1;
    if (t.s) ob_sbuf_html(b, t.s);
    ob_sbuf_free(&t);
}

/* Appends a table cell for value v of column c: numbers right-aligned with
 * their exact value in data-v for sorting. */
static void table_cell(ob_sbuf *b, const ob_result_col *c, const json_t *v) {
    if (!v || json_is_null(v)) {
        ob_sbuf_puts(b, "<td data-v=\"\"></td>");
        return;
    }
    if (json_is_number(v)) {
        double x = json_number_value(v);
        char txt[64];
        if (c->kind == OB_COL_METRIC)
            ob_metric_format(c->key, x, txt, sizeof txt);
        else if (json_is_integer(v))
            snprintf(txt, sizeof txt, "%lld", (long long)json_integer_value(v));
        else
            snprintf(txt, sizeof txt, "%.6g", x);
        ob_sbuf_puts(b, "<td class=\"num\" data-v=\"");
        if (json_is_integer(v))
            ob_sbuf_printf(b, "%lld", (long long)json_integer_value(v));
        else
            ob_sbuf_double(b, x);
        ob_sbuf_puts(b, "\">");
        ob_sbuf_html(b, txt);
        ob_sbuf_puts(b, "</td>");
        return;
    }
    ob_sbuf_puts(b, "<td>");
    json_html(b, v);
    ob_sbuf_puts(b, "</td>");
}

void ob_html_table(ob_sbuf *b, const ob_report *r, const ob_result_col *cols, size_t nc) {
    ob_sbuf_printf(b, "<section id=\"runs\">\n<h2>All runs</h2>\n<p class=\"note\">%zu runs; click a column to "
                      "sort.</p>\n<div class=\"scroll\"><table id=\"runs-table\" class=\"sortable\">\n<thead><tr>",
                   r->n);
    for (size_t c = 0; c < nc; c++) {
        ob_sbuf_puts(b, "<th data-col=\"");
        ob_sbuf_html(b, cols[c].header);
        ob_sbuf_puts(b, "\">");
        ob_sbuf_html(b, cols[c].kind == OB_COL_METRIC ? ob_metric_label(cols[c].key) : cols[c].header);
        ob_sbuf_puts(b, "</th>");
    }
    ob_sbuf_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < r->n; i++) {
        const ob_row *w = &r->rows[i];
        ob_sbuf_printf(b, "<tr class=\"run%s%s\" data-recipe=\"", w->ok ? "" : " failed",
                       w->mark == 1 ? " base" : w->mark == 2 ? " rec" : "");
        ob_sbuf_html(b, w->recipe);
        ob_sbuf_puts(b, "\">");
        for (size_t c = 0; c < nc; c++) table_cell(b, &cols[c], ob_results_value(w->cell, &cols[c]));
        ob_sbuf_puts(b, "</tr>\n");
    }
    ob_sbuf_puts(b, "</tbody></table></div>\n</section>\n");
}

static const struct {
    const char *key, *label;
} machine_keys[] = {
    {"cpu", "CPU"},
    {"features", "Features"},
    {"kernels", "Kernels"},
    {"cores", "Cores"},
    {"threads", "Threads used"},
    {"memory_bytes", "Memory"},
    {"bandwidth_gbs", "Measured read bandwidth"},
    {"bandwidth_threads", "Bandwidth measured with threads"},
    {"os", "OS"},
};
enum { N_MACHINE_KEYS = sizeof machine_keys / sizeof machine_keys[0] };

static void machine_value(ob_sbuf *b, const char *key, const json_t *v) {
    char txt[64];
    if (json_is_number(v) && !strcmp(key, "memory_bytes")) {
        ob_format_bytes(json_number_value(v), txt, sizeof txt);
        ob_sbuf_html(b, txt);
    } else if (json_is_number(v) && !strcmp(key, "bandwidth_gbs")) {
        ob_sbuf_printf(b, "%.1f GB/s", json_number_value(v));
    } else {
        json_html(b, v);
    }
}

void ob_html_machine(ob_sbuf *b, const json_t *machine) {
    ob_sbuf_puts(b, "<section id=\"machine\">\n<h2>Machine</h2>\n");
    if (!json_is_object(machine) || !json_object_size(machine)) {
        ob_sbuf_puts(b, "<p class=\"note\">Not described.</p>\n</section>\n");
        return;
    }
    ob_sbuf_puts(b, "<dl>\n");
    for (int k = 0; k < N_MACHINE_KEYS; k++) {
        const json_t *v = json_object_get(machine, machine_keys[k].key);
        if (!v) continue;
        ob_sbuf_printf(b, "<dt>%s</dt><dd data-key=\"%s\">", machine_keys[k].label, machine_keys[k].key);
        machine_value(b, machine_keys[k].key, v);
        ob_sbuf_puts(b, "</dd>\n");
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)machine, key, v) {
        int known = 0;
        for (int k = 0; k < N_MACHINE_KEYS && !known; k++) known = !strcmp(key, machine_keys[k].key);
        if (known) continue;
        ob_sbuf_puts(b, "<dt>");
        ob_sbuf_html(b, key);
        ob_sbuf_puts(b, "</dt><dd data-key=\"");
        ob_sbuf_html(b, key);
        ob_sbuf_puts(b, "\">");
        machine_value(b, key, v);
        ob_sbuf_puts(b, "</dd>\n");
    }
    ob_sbuf_puts(b, "</dl>\n</section>\n");
}

/* Sorts table.sortable by a clicked header (numbers by value, text by
 * collation, empty cells last); "#sort=COL" / "#sort=-COL" presorts. */
static const char *script =
    "(function(){\n"
    "function val(td){var v=td.getAttribute('data-v');return v===null?td.textContent:v;}\n"
    "function sortBy(t,i,asc){\n"
    " var hs=t.tHead.rows[0].cells;for(var j=0;j<hs.length;j++)hs[j].removeAttribute('aria-sort');\n"
    " hs[i].setAttribute('aria-sort',asc?'ascending':'descending');\n"
    " var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    " rows.sort(function(a,b){var x=val(a.cells[i]),y=val(b.cells[i]);\n"
    "  if(x===''||y==='')return (x==='')-(y==='');\n"
    "  var nx=Number(x),ny=Number(y),c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);\n"
    "  return asc?c:-c;});\n"
    " rows.forEach(function(r){body.appendChild(r);});}\n"
    "var ts=document.querySelectorAll('table.sortable');\n"
    "Array.prototype.forEach.call(ts,function(t){\n"
    " Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){\n"
    "  th.addEventListener('click',function(){sortBy(t,i,th.getAttribute('aria-sort')!=='ascending');});});\n"
    " var m=/^#sort=(-?)(.+)$/.exec(location.hash);if(!m)return;\n"
    " var name=decodeURIComponent(m[2]),hs=t.tHead.rows[0].cells;\n"
    " for(var i=0;i<hs.length;i++)if(hs[i].getAttribute('data-col')===name)sortBy(t,i,m[1]!=='-');});\n"
    "})();\n";

void ob_html_tail(ob_sbuf *b) { ob_sbuf_printf(b, "<script>\n%s</script>\n</body>\n</html>\n", script); }

/* results.c - results.jsonl and results.csv: the column union, RFC 4180
 * quoting, the JSONL reader, and the pre-sweep check of the output folder. */
#include "report/results.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/mapfile.h"
#include "formats/fetch.h"
#include "report/fileio.h"

/* The metrics every sweep measures, in the order columns and charts use. */
static const struct {
    const char *key, *label;
} known_metrics[] = {
    {"ppl", "perplexity"},
    {"kld", "KL divergence"},
    {"acc", "accuracy"},
    {"decode_tps", "decode tok/s"},
    {"prefill_tps", "prefill tok/s"},
    {"ttft_ms", "time to first token (ms)"},
    {"model_size_bytes", "model size"},
    {"peak_rss_bytes", "peak memory (RSS)"},
};
enum { N_KNOWN = sizeof known_metrics / sizeof known_metrics[0] };

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int ob_metric_lower_is_better(const char *key) {
    return !strncmp(key, "ppl", 3) || !strncmp(key, "kld", 3) || ends_with(key, "_ms") ||
           ends_with(key, "_s") || ends_with(key, "_bytes");
}

const char *ob_metric_label(const char *key) {
    for (int i = 0; i < N_KNOWN; i++)
        if (!strcmp(key, known_metrics[i].key)) return known_metrics[i].label;
    return key;
}

void ob_format_bytes(double bytes, char *buf, size_t size) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    double v = bytes;
    while (fabs(v) >= 1024 && u < 5) v /= 1024, u++;
    if (u == 0)
        snprintf(buf, size, "%.0f B", v);
    else
        snprintf(buf, size, "%.*f %s", fabs(v) < 10 ? 2 : fabs(v) < 100 ? 1 : 0, v, units[u]);
}

void ob_metric_format(const char *key, double v, char *buf, size_t size) {
    if (!isfinite(v))
        snprintf(buf, size, "%s", isnan(v) ? "n/a" : v > 0 ? "inf" : "-inf");
    else if (ends_with(key, "_bytes"))
        ob_format_bytes(v, buf, size);
    else if (fabs(v) >= 1e4 || v == floor(v))
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.4g", v);
}

int ob_parse_bytes(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0) return -1;
    while (*end == ' ') end++;
    double mult = 1;
    const char *pfx = "KMGT";
    const char *p = *end ? strchr(pfx, toupper((unsigned char)*end)) : NULL;
    if (p) {
        int power = (int)(p - pfx) + 1;
        end++;
        int decimal = (end[0] == 'B' || end[0] == 'b') && end[1] == '\0';
        if (decimal)
            end++;
        else if (end[0] == 'i' && (end[1] == 'B' || end[1] == 'b'))
            end += 2;
        for (int i = 0; i < power; i++) mult *= decimal ? 1000.0 : 1024.0;
    } else if (*end == 'B' || *end == 'b') {
        end++;
    }
    if (*end) return -1;
    double bytes = v * mult;
    if (bytes >= 9.2e18) return -1;
    *out = (int64_t)bytes;
    return 0;
}

/* ---------------------------------------------------------------- columns */

static int is_fixed_top(const char *k) {
    return !strcmp(k, "model") || !strcmp(k, "recipe") || !strcmp(k, "status") || !strcmp(k, "error") ||
           !strcmp(k, "params") || !strcmp(k, "metrics");
}

typedef struct colset {
    ob_result_col *c;
    size_t n, cap;
} colset;

static int col_has(const colset *s, ob_col_kind kind, const char *key) {
    for (size_t i = 0; i < s->n; i++)
        if (s->c[i].kind == kind && !strcmp(s->c[i].key, key)) return 1;
    return 0;
}

static int col_add(colset *s, ob_col_kind kind, const char *key) {
    if (col_has(s, kind, key)) return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        ob_result_col *c = realloc(s->c, cap * sizeof *c);
        if (!c) return -1;
        s->c = c;
        s->cap = cap;
    }
    s->c[s->n++] = (ob_result_col){kind, key, NULL};
    return 0;
}

/* Adds every key of the member `field` of each cell, as they first appear. */
static int add_members(colset *s, const json_t *cells, const char *field, ob_col_kind kind) {
    size_t i;
    const json_t *cell;
    json_array_foreach(cells, i, cell) {
        const json_t *o = json_object_get(cell, field);
        const char *k;
        const json_t *v;
        if (!json_is_object(o)) continue;
        json_object_foreach((json_t *)o, k, v) if (col_add(s, kind, k)) return -1;
    }
    return 0;
}

static int make_headers(colset *s) {
    for (size_t i = 0; i < s->n; i++) {
        ob_result_col *c = &s->c[i];
        const char *prefix = "";
        if (c->kind == OB_COL_PARAM)
            prefix = "params.";
        else if (c->kind == OB_COL_METRIC && col_has(s, OB_COL_TOP, c->key))
            prefix = "metrics.";
        size_t n = strlen(prefix) + strlen(c->key) + 1;
        if (!(c->header = malloc(n))) return -1;
        snprintf(c->header, n, "%s%s", prefix, c->key);
    }
    return 0;
}

int ob_results_columns(const json_t *cells, ob_result_col **cols, size_t *n, ob_err *err) {
    *cols = NULL;
    *n = 0;
    if (!json_is_array(cells)) return ob_fail(err, OB_EINVAL, "results: not an array of cell records");
    size_t i;
    const json_t *cell;
    json_array_foreach(cells, i, cell) if (!json_is_object(cell))
        return ob_fail(err, OB_EINVAL, "results: row %zu is not an object", i + 1);
    colset s = {0};
    int bad = col_add(&s, OB_COL_TOP, "model") || col_add(&s, OB_COL_TOP, "recipe") ||
              col_add(&s, OB_COL_TOP, "status");
    for (int k = 0; k < N_KNOWN && !bad; k++) {
        json_array_foreach(cells, i, cell) {
            if (json_object_get(json_object_get(cell, "metrics"), known_metrics[k].key)) {
                bad = col_add(&s, OB_COL_METRIC, known_metrics[k].key);
                break;
            }
        }
    }
    bad = bad || add_members(&s, cells, "metrics", OB_COL_METRIC) ||
          add_members(&s, cells, "params", OB_COL_PARAM);
    json_array_foreach(cells, i, cell) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)cell, k, v) if (!bad && !is_fixed_top(k)) bad = col_add(&s, OB_COL_TOP, k);
    }
    bad = bad || col_add(&s, OB_COL_TOP, "error") || make_headers(&s);
    if (bad) {
        ob_results_columns_free(s.c, s.n);
        return ob_fail(err, OB_ENOMEM, "results: out of memory");
    }
    *cols = s.c;
    *n = s.n;
    return 0;
}

void ob_results_columns_free(ob_result_col *cols, size_t n) {
    if (!cols) return;
    for (size_t i = 0; i < n; i++) free(cols[i].header);
    free(cols);
}

json_t *ob_results_value(const json_t *cell, const ob_result_col *c) {
    if (c->kind == OB_COL_PARAM) return json_object_get(json_object_get(cell, "params"), c->key);
    if (c->kind == OB_COL_METRIC) return json_object_get(json_object_get(cell, "metrics"), c->key);
    return json_object_get(cell, c->key);
}

/* -------------------------------------------------------------------- CSV */

void ob_csv_field(ob_sbuf *b, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        ob_sbuf_puts(b, s);
        return;
    }
    ob_sbuf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"') ob_sbuf_putc(b, '"');
        ob_sbuf_putc(b, *s);
    }
    ob_sbuf_putc(b, '"');
}

void ob_json_text(ob_sbuf *b, const json_t *v, int python_bools) {
    if (!v || json_is_null(v)) return;
    if (json_is_string(v)) {
        ob_sbuf_puts(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        ob_sbuf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        ob_sbuf_double(b, json_real_value(v));
    } else if (json_is_boolean(v)) {
        ob_sbuf_puts(b, json_is_true(v) ? (python_bools ? "True" : "true") : (python_bools ? "False" : "false"));
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s) ob_sbuf_puts(b, s);
        else b->oom = 1;
        free(s);
    }
}

static void csv_value(ob_sbuf *b, const json_t *v) {
    ob_sbuf t = {0};
    ob_json_text(&t, v, 0);
    if (t.oom) b->oom = 1;
    if (t.s) ob_csv_field(b, t.s);
    ob_sbuf_free(&t);
}

int ob_results_csv(const json_t *cells, ob_sbuf *out, ob_err *err) {
    ob_result_col *cols;
    size_t nc;
    int rc = ob_results_columns(cells, &cols, &nc, err);
    if (rc) return rc;
    for (size_t c = 0; c < nc; c++) {
        if (c) ob_sbuf_putc(out, ',');
        ob_csv_field(out, cols[c].header);
    }
    ob_sbuf_puts(out, "\r\n");
    size_t i;
    const json_t *cell;
    json_array_foreach(cells, i, cell) {
        for (size_t c = 0; c < nc; c++) {
            if (c) ob_sbuf_putc(out, ',');
            csv_value(out, ob_results_value(cell, &cols[c]));
        }
        ob_sbuf_puts(out, "\r\n");
    }
    ob_results_columns_free(cols, nc);
    return out->oom ? ob_fail(err, OB_ENOMEM, "results.csv: out of memory") : 0;
}

/* ------------------------------------------------------------------ JSONL */

int ob_results_jsonl(const json_t *cells, ob_sbuf *out, ob_err *err) {
    if (!json_is_array(cells)) return ob_fail(err, OB_EINVAL, "results: not an array of cell records");
    size_t i;
    const json_t *cell;
    json_array_foreach(cells, i, cell) {
        if (!json_is_object(cell)) return ob_fail(err, OB_EINVAL, "results: row %zu is not an object", i + 1);
        char *s = json_dumps(cell, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s) return ob_fail(err, OB_ENOMEM, "results: cannot encode row %zu", i + 1);
        ob_sbuf_puts(out, s);
        ob_sbuf_putc(out, '\n');
        free(s);
    }
    return out->oom ? ob_fail(err, OB_ENOMEM, "results.jsonl: out of memory") : 0;
}

typedef int (*format_fn)(const json_t *, ob_sbuf *, ob_err *);

static int write_formatted(const char *path, const json_t *cells, format_fn fmt, ob_err *err) {
    ob_sbuf b = {0};
    int rc = fmt(cells, &b, err);
    if (!rc) rc = ob_write_atomic(path, b.s ? b.s : "", b.len, err);
    ob_sbuf_free(&b);
    return rc;
}

int ob_results_write_csv(const char *path, const json_t *cells, ob_err *err) {
    return write_formatted(path, cells, ob_results_csv, err);
}

int ob_results_write_jsonl(const char *path, const json_t *cells, ob_err *err) {
    return write_formatted(path, cells, ob_results_jsonl, err);
}

int ob_results_read_jsonl(const char *path, json_t **cells, ob_err *err) {
    *cells = NULL;
    char *text;
    size_t len;
    int rc = ob_read_text(path, &text, &len, err);
    if (rc) return rc;
    json_t *arr = json_array();
    if (!arr) {
        free(text);
        return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    }
    size_t line_no = 0;
    for (size_t pos = 0; pos < len && !rc;) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        line_no++;
        size_t a = pos, z = end;
        pos = end + 1;
        while (a < z && isspace((unsigned char)text[a])) a++;
        while (z > a && isspace((unsigned char)text[z - 1])) z--;
        if (a == z) continue;
        json_error_t je;
        json_t *o = json_loadb(text + a, z - a, 0, &je);
        if (!o)
            rc = ob_fail(err, OB_EFORMAT, "%s:%zu: column %d: %s", path, line_no, je.column, je.text);
        else if (!json_is_object(o))
            rc = ob_fail(err, OB_EFORMAT, "%s:%zu: not a JSON object", path, line_no);
        else if (!json_is_string(json_object_get(o, "recipe")))
            rc = ob_fail(err, OB_EFORMAT, "%s:%zu: no \"recipe\" name", path, line_no);
        else if (json_object_get(o, "metrics") && !json_is_object(json_object_get(o, "metrics")))
            rc = ob_fail(err, OB_EFORMAT, "%s:%zu: \"metrics\" is not an object", path, line_no);
        else if (json_array_append(arr, o))
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        json_decref(o);
    }
    free(text);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *cells = arr;
    return 0;
}

/* ---------------------------------------------------------------- preflight */

int ob_output_preflight(const char *dir, int64_t min_free_bytes, ob_err *err) {
    int rc = ob_mkdir_p(dir, err);
    if (rc) return rc;
    char probe[4200];
    if ((size_t)snprintf(probe, sizeof probe, "%s/.optibench-probe.XXXXXX", dir) >= sizeof probe)
        return ob_fail(err, OB_EINVAL, "%.200s...: path too long", dir);
    int fd = mkstemp(probe);
    if (fd < 0) return ob_fail(err, OB_EIO, "%s: output folder is not writable: %s", dir, strerror(errno));
    int ok = write(fd, "x", 1) == 1;
    int e = errno;
    close(fd);
    unlink(probe);
    if (!ok) return ob_fail(err, OB_EIO, "%s: cannot write to the output folder: %s", dir, strerror(e));
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return ob_fail(err, OB_EIO, "%s: cannot tell the free space: %s", dir, strerror(errno));
    double avail = (double)vfs.f_bavail * (double)vfs.f_frsize;
    if (min_free_bytes > 0 && avail < (double)min_free_bytes) {
        char have[32], need[32];
        ob_format_bytes(avail, have, sizeof have);
        ob_format_bytes((double)min_free_bytes, need, sizeof need);
        return ob_fail(err, OB_EIO, "%s: only %s free on its disk, the run needs about %s", dir, have, need);
    }
    return 0;
}

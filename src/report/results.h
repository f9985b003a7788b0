/* results.h - one row per sweep cell: results.jsonl and results.csv.
 *
 * A cell record is a jansson object:
 *   "model"   string  the model the cell ran on
 *   "recipe"  string  the compression recipe's name, unique within a model
 *   "params"  object  the recipe's parameters, scalars ({"method": "gptq",
 *                     "bits": 4, "group": 128}); optional
 *   "metrics" object  numbers, each optional (absent = not measured):
 *                     ppl, kld, acc, decode_tps, prefill_tps, ttft_ms,
 *                     model_size_bytes, peak_rss_bytes, and any others
 *   "status"  string  "ok", or "failed" / "skipped" / ...
 *   "error"   string  why it failed; optional
 * Any other top-level scalars (e.g. "threads", "run_id") are kept too.
 *
 * results.jsonl holds one record per line as given (compact JSON, keys in
 * the record's order).  results.csv flattens them under one header that is
 * the union of every record's fields, in a stable order: model, recipe,
 * status, the metrics (the known ones above first, in that order, then the
 * others as they first appear), "params.<key>" for each parameter as it
 * first appears, other top-level keys as they first appear, and error last.
 * Fields follow RFC 4180: CRLF line ends, and a field with a comma, a
 * double quote, CR or LF is quoted with its quotes doubled.  Absent values
 * are empty; nested objects or arrays are written as compact JSON.
 *
 * The sweep rewrites both files whole after every cell through
 * ob_write_atomic, so an interrupted sweep leaves the rows of the cells it
 * finished and never a half-written line. */
#ifndef OB_REPORT_RESULTS_H
#define OB_REPORT_RESULTS_H
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "optibench.h"
#include "report/sbuf.h"

/* One column of the flattened table. */
typedef enum { OB_COL_TOP, OB_COL_PARAM, OB_COL_METRIC } ob_col_kind;
typedef struct ob_result_col {
    ob_col_kind kind;
    const char *key; /* the field's key, borrowed from the cells           */
    char *header;    /* owned: "ppl", "params.bits", "model", ...          */
} ob_result_col;

/* The column union of cells (an array of cell records), in the order
 * described above.  *cols is malloc'd; free with ob_results_columns_free.
 * Fails with OB_EINVAL naming the row when an element is not an object. */
int ob_results_columns(const json_t *cells, ob_result_col **cols, size_t *n, ob_err *err);
void ob_results_columns_free(ob_result_col *cols, size_t n);
/* The value of column c in cell (borrowed), or NULL when absent. */
json_t *ob_results_value(const json_t *cell, const ob_result_col *c);

/* Appends the plain text of a JSON value: a string as it is, numbers in
 * the shortest exact form, booleans as true/false (True/False with
 * python_bools, as MLflow's str() writes them), nothing for null or NULL,
 * and arrays or objects as compact JSON. */
void ob_json_text(ob_sbuf *b, const json_t *v, int python_bools);

/* Appends s as one RFC 4180 field: quoted, its quotes doubled, when it
 * holds a comma, a double quote, CR or LF. */
void ob_csv_field(ob_sbuf *b, const char *s);

/* Appends the CSV / JSONL text of cells to out. */
int ob_results_csv(const json_t *cells, ob_sbuf *out, ob_err *err);
int ob_results_jsonl(const json_t *cells, ob_sbuf *out, ob_err *err);
/* Writes them atomically (see fileio.h). */
int ob_results_write_csv(const char *path, const json_t *cells, ob_err *err);
int ob_results_write_jsonl(const char *path, const json_t *cells, ob_err *err);

/* Reads results.jsonl: *cells becomes a new array of the records (blank
 * lines skipped), owned by the caller (json_decref).  A line that is not a
 * JSON object, or lacks a string "recipe", fails with OB_EFORMAT and the
 * message "PATH:LINE: ..." (and the column for a JSON syntax error). */
int ob_results_read_jsonl(const char *path, json_t **cells, ob_err *err);

/* Checks, before a sweep starts, that dir (created with its parents if
 * missing) accepts a new file, and that its file system has at least
 * min_free_bytes available to this user (statvfs).  OB_EIO naming dir and
 * the reason otherwise. */
int ob_output_preflight(const char *dir, int64_t min_free_bytes, ob_err *err);

/* Metric helpers shared by the report.  1 when smaller is better: ppl, kld
 * and names ending in _ms, _s, _bytes (or starting with ppl / kld). */
int ob_metric_lower_is_better(const char *key);
/* A human label for a known metric ("decode tok/s"), else key itself. */
const char *ob_metric_label(const char *key);
/* Formats a metric value for people: byte counts as "1.50 GiB", others
 * with 4 significant digits. */
void ob_metric_format(const char *key, double v, char *buf, size_t size);

/* "1.50 GiB" style (binary units) into buf. */
void ob_format_bytes(double bytes, char *buf, size_t size);
/* Parses a byte count: "123", "512M", "2GiB", "1.5 GB".  K, M, G, T alone
 * or followed by "iB" are powers of 1024; followed by "B" alone (kB, MB,
 * GB, TB) powers of 1000.  -1 on bad text, which the caller reports. */
int ob_parse_bytes(const char *s, int64_t *out);

#endif

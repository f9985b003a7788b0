/* bench_out.c - bench results as a Markdown report, CSV, JSON and JSONL. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_json.h"
#include "report/results.h"
#include "report/sbuf.h"

int ob_bench_format_parse(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "md") || !strcmp(name, "markdown")) return OB_BENCH_MD;
    if (!strcmp(name, "csv")) return OB_BENCH_CSV;
    if (!strcmp(name, "json")) return OB_BENCH_JSON;
    if (!strcmp(name, "jsonl")) return OB_BENCH_JSONL;
    return -1;
}

/* ---------------------------------------------------------------- Markdown */

/* "%.Nf" of v, or "n/a" when unavailable */
static void num(ob_sbuf *b, double v, int digits) {
    if (isfinite(v)) ob_sbuf_printf(b, "%.*f", digits, v);
    else ob_sbuf_puts(b, "n/a");
}

static void bytes(ob_sbuf *b, int64_t v) {
    if (v < 0) {
        ob_sbuf_puts(b, "n/a");
        return;
    }
    char s[32];
    ob_format_bytes((double)v, s, sizeof s);
    ob_sbuf_puts(b, s);
}

/* "median [min, max]" of a summary */
static void spread(ob_sbuf *b, const ob_stats *s, int digits) {
    num(b, s->median, digits);
    ob_sbuf_puts(b, " [");
    num(b, s->min, digits);
    ob_sbuf_puts(b, ", ");
    num(b, s->max, digits);
    ob_sbuf_putc(b, ']');
}

static void md_summary(ob_sbuf *b, const ob_bench_result *r) {
    ob_sbuf_printf(b, "## optibench bench: %s\n\n", r->model_filename[0] ? r->model_filename : "(model in memory)");
    ob_sbuf_printf(b, "- model: %s\n- weights: ", r->model_type);
    bytes(b, r->model_size);
    ob_sbuf_puts(b, " in memory");
    if (r->model_huge_bytes >= 0) {
        ob_sbuf_puts(b, " (");
        bytes(b, r->model_huge_bytes);
        ob_sbuf_puts(b, " of it on 2 MiB pages)");
    }
    if (r->model_x16) ob_sbuf_printf(b, ", %d matrices in the x16 layout", r->model_x16);
    ob_sbuf_puts(b, ", ");
    bytes(b, r->model_disk_bytes);
    ob_sbuf_printf(b, " on disk, %.2f M parameters\n", (double)r->model_n_params / 1e6);
    ob_sbuf_printf(b, "- cpu: %s\n", r->cpu_info);
    ob_sbuf_printf(b, "- decode reads %.1f MB of weights per token; read bandwidth ", (double)r->bytes_per_token / 1e6);
    if (isfinite(r->read_bw_gbs))
        ob_sbuf_puts(b, "measured by one pass after every timed repetition (read BW: median of a test's "
                        "passes; % of read BW: median of each repetition's decode GB/s over its own pass)\n");
    else
        ob_sbuf_puts(b, "not measured\n");
    ob_sbuf_puts(b, "- peak resident memory: ");
    bytes(b, r->peak_rss_bytes);
    ob_sbuf_puts(b, r->peak_rss_tests_only ? " (during the tests)" : " (since the process started)");
    ob_sbuf_puts(b, "; energy (RAPL): ");
    if (isfinite(r->energy_j)) ob_sbuf_printf(b, "%.1f J", r->energy_j);
    else ob_sbuf_puts(b, "n/a");
    ob_sbuf_puts(b, "; temperature: ");
    if (isfinite(r->temp_c)) ob_sbuf_printf(b, "%.1f C", r->temp_c);
    else ob_sbuf_puts(b, "n/a");
    ob_sbuf_puts(b, "\n- gpu: ");
    if (r->gpu.count < 0) ob_sbuf_puts(b, "n/a (no NVML)");
    else if (r->gpu.count == 0) ob_sbuf_puts(b, "none (NVML finds no device)");
    else {
        ob_sbuf_printf(b, "%s, %d device(s); utilisation ", r->gpu.name, r->gpu.count);
        num(b, r->gpu.util_pct, 0);
        ob_sbuf_puts(b, " %, memory used ");
        bytes(b, r->gpu.mem_used_bytes);
        ob_sbuf_puts(b, ", power ");
        num(b, r->gpu.power_w, 1);
        ob_sbuf_puts(b, " W, temperature ");
        num(b, r->gpu.temp_c, 0);
        ob_sbuf_puts(b, " C");
    }
    ob_sbuf_printf(b, "\n- %s to %s; tok/s and TTFT: median [min, max] over the repetitions after the warm-up; "
                      "token ms: one decode step, over every step of every repetition\n\n",
                   r->start_time, r->end_time);
}

static void md_row(ob_sbuf *b, const ob_bench_row *w) {
    ob_sbuf_printf(b, "| %7d | %5d | %4d | %2d | %d+%d | ", w->n_threads, w->n_prompt, w->n_gen, w->n_parallel,
                   w->warmup, w->reps);
    spread(b, &w->ttft_ms, 2);
    ob_sbuf_puts(b, " | ");
    spread(b, &w->prefill_tps, 0);
    ob_sbuf_puts(b, " | ");
    spread(b, &w->decode_tps, 1);
    const ob_stats *t = &w->token_ms;
    double cols[] = {t->mean, t->median, t->p90, t->stddev, w->tokenize_ms, w->sample_ms};
    for (int k = 0; k < 6; k++) {
        ob_sbuf_puts(b, " | ");
        num(b, cols[k], 3);
    }
    double more[] = {w->cpu_util_pct, w->energy_j, w->avg_power_w, w->decode_gbs, w->read_bw_gbs,
                     w->bw_share_pct};
    const int digits[] = {0, 1, 1, 1, 1, 0};
    for (int k = 0; k < 6; k++) {
        ob_sbuf_puts(b, " | ");
        num(b, more[k], digits[k]);
    }
    ob_sbuf_puts(b, " |\n");
}

static int write_md(const ob_bench_result *r, ob_sbuf *b) {
    md_summary(b, r);
    ob_sbuf_puts(b, "| threads | n_prompt | n_gen | n_parallel | warm-up+reps | TTFT ms | prefill tok/s | decode tok/s "
                    "| token ms mean | token ms median | token ms p90 | token ms stddev | tokenize ms | sample ms "
                    "| CPU % | energy J | power W | decode GB/s | read BW GB/s | % of read BW |\n");
    ob_sbuf_puts(b, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < r->n_rows; i++) md_row(b, &r->rows[i]);
    return 0;
}

/* --------------------------------------------------------------- records */

static void csv_records(const json_t *recs, ob_sbuf *b) {
    const json_t *first = json_array_get(recs, 0), *rec, *v;
    const char *k;
    size_t i;
    int c = 0;
    json_object_foreach((json_t *)first, k, v) {
        if (c++) ob_sbuf_putc(b, ',');
        ob_csv_field(b, k);
    }
    ob_sbuf_puts(b, "\r\n");
    json_array_foreach(recs, i, rec) {
        c = 0;
        json_object_foreach((json_t *)first, k, v) {
            if (c++) ob_sbuf_putc(b, ',');
            ob_sbuf t = {0};
            ob_json_text(&t, json_object_get(rec, k), 0);
            if (t.oom) b->oom = 1;
            if (t.s) ob_csv_field(b, t.s);
            ob_sbuf_free(&t);
        }
        ob_sbuf_puts(b, "\r\n");
    }
}

static int write_records(const ob_bench_result *r, ob_bench_format fmt, ob_sbuf *b, ob_err *err) {
    json_t *recs;
    int rc = ob_bench_records(r, &recs, err);
    if (rc) return rc;
    if (fmt == OB_BENCH_CSV) {
        if (json_array_size(recs)) csv_records(recs, b);
    } else if (fmt == OB_BENCH_JSONL) {
        rc = ob_results_jsonl(recs, b, err);
    } else {
        char *s = json_dumps(recs, JSON_INDENT(2));
        if (s) {
            ob_sbuf_puts(b, s);
            ob_sbuf_putc(b, '\n');
        } else {
            b->oom = 1;
        }
        free(s);
    }
    json_decref(recs);
    return rc;
}

int ob_bench_write(const ob_bench_result *r, ob_bench_format fmt, FILE *f, ob_err *err) {
    if ((int)fmt < OB_BENCH_MD || fmt > OB_BENCH_JSONL) return ob_fail(err, OB_EINVAL, "bench: unknown output format %d", (int)fmt);
    ob_sbuf b = {0};
    int rc = fmt == OB_BENCH_MD ? write_md(r, &b) : write_records(r, fmt, &b, err);
    if (!rc && b.oom) rc = ob_fail(err, OB_ENOMEM, "bench: out of memory for the output");
    if (!rc && b.len && (fwrite(b.s, 1, b.len, f) != b.len || fflush(f)))
        rc = ob_fail(err, OB_EIO, "bench: writing the results failed");
    ob_sbuf_free(&b);
    return rc;
}

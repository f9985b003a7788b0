/* bench_json.c - bench results as llama-bench style records (see
 * bench.h's ob_bench_write and docs/bench.md). */
#include "bench/bench_json.h"

#include <math.h>
#include <string.h>

#ifndef OB_BUILD_COMMIT
#define OB_BUILD_COMMIT "unknown"
#endif

/* A number, or null when unavailable (jansson has no NaN). */
static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }
/* A count or size, or null when negative (unavailable). */
static json_t *jcount(int64_t v) { return v >= 0 ? json_integer(v) : json_null(); }

/* json_object_set_new that remembers a failure in *bad. */
static void put(json_t *o, const char *k, json_t *v, int *bad) {
    if (!v || json_object_set_new(o, k, v)) *bad = 1;
}

static void put_stats(json_t *o, const char *prefix, const ob_stats *s, int *bad) {
    static const char *names[] = {"mean", "median", "p90", "stddev", "min", "max"};
    double v[] = {s->mean, s->median, s->p90, s->stddev, s->min, s->max};
    for (int i = 0; i < 6; i++) {
        char k[64];
        snprintf(k, sizeof k, "%s_%s", prefix, names[i]);
        put(o, k, jnum(s->n > 0 ? v[i] : NAN), bad);
    }
}

/* llama-bench's timing fields for one kind of test: seconds per repetition
 * and the tokens each repetition processed. */
static void put_timing(json_t *o, const double *sec, int reps, double tokens, int *bad) {
    json_t *ns = json_array(), *ts = json_array();
    double sum_ns = 0, sum_ts = 0, ss_ns = 0, ss_ts = 0;
    for (int k = 0; k < reps; k++) {
        double n = sec[k] * 1e9, t = tokens / sec[k];
        sum_ns += n;
        sum_ts += t;
        if (json_array_append_new(ns, json_integer((json_int_t)llround(n))) ||
            json_array_append_new(ts, jnum(t)))
            *bad = 1;
    }
    double avg_ns = sum_ns / reps, avg_ts = sum_ts / reps;
    for (int k = 0; k < reps; k++) {
        double n = sec[k] * 1e9, t = tokens / sec[k];
        ss_ns += (n - avg_ns) * (n - avg_ns);
        ss_ts += (t - avg_ts) * (t - avg_ts);
    }
    put(o, "avg_ns", json_integer((json_int_t)llround(avg_ns)), bad);
    put(o, "stddev_ns", json_integer((json_int_t)llround(reps > 1 ? sqrt(ss_ns / (reps - 1)) : 0)), bad);
    put(o, "avg_ts", jnum(avg_ts), bad);
    put(o, "stddev_ts", jnum(reps > 1 ? sqrt(ss_ts / (reps - 1)) : 0), bad);
    put(o, "samples_ns", ns, bad);
    put(o, "samples_ts", ts, bad);
}

/* optibench's fields of the test a record comes from. */
static void put_optibench(json_t *o, const ob_bench_result *r, const ob_bench_row *w, int *bad) {
    put(o, "n_parallel", json_integer(w->n_parallel), bad);
    put(o, "reps", json_integer(w->reps), bad);
    put(o, "warmup", json_integer(w->warmup), bad);
    put(o, "simd", json_string(r->simd), bad);
    put_stats(o, "ttft_ms", &w->ttft_ms, bad);
    put_stats(o, "token_ms", &w->token_ms, bad);
    put(o, "prefill_ts_median", jnum(w->prefill_tps.median), bad);
    put(o, "decode_ts_median", jnum(w->decode_tps.median), bad);
    put(o, "prompt_tokens", json_integer(w->prompt_tokens), bad);
    put(o, "gen_tokens", json_integer(w->gen_tokens), bad);
    put(o, "tokenize_ms", jnum(w->tokenize_ms), bad);
    put(o, "tokenize_tokens", jcount(w->tokenize_tokens), bad);
    put(o, "sample_ms", jnum(w->sample_ms), bad);
    put(o, "wall_s", jnum(w->wall_s), bad);
    put(o, "cpu_util_pct", jnum(w->cpu_util_pct), bad);
    put(o, "energy_j", jnum(w->energy_j), bad);
    put(o, "avg_power_w", jnum(w->avg_power_w), bad);
    put(o, "bytes_per_token", jcount(r->bytes_per_token), bad);
    put(o, "decode_gbs", jnum(w->decode_gbs), bad);
    put(o, "read_bw_gbs", jnum(w->read_bw_gbs), bad);
    put(o, "read_bw_share_pct", jnum(w->bw_share_pct), bad);
    put(o, "model_disk_bytes", jcount(r->model_disk_bytes), bad);
    put(o, "model_huge_page_bytes", jcount(r->model_huge_bytes), bad);
    put(o, "model_x16_matrices", json_integer(r->model_x16), bad);
    put(o, "peak_rss_bytes", jcount(r->peak_rss_bytes), bad);
    put(o, "peak_rss_scope", json_string(r->peak_rss_tests_only ? "tests" : "process"), bad);
    put(o, "temp_c", jnum(r->temp_c), bad);
    put(o, "gpu_count", r->gpu.count >= 0 ? json_integer(r->gpu.count) : json_null(), bad);
    put(o, "gpu_util_pct", jnum(r->gpu.util_pct), bad);
    put(o, "gpu_mem_used_bytes", jcount(r->gpu.mem_used_bytes), bad);
    put(o, "gpu_mem_total_bytes", jcount(r->gpu.mem_total_bytes), bad);
    put(o, "gpu_power_w", jnum(r->gpu.power_w), bad);
    put(o, "gpu_temp_c", jnum(r->gpu.temp_c), bad);
}

/* One record: gen = 0 for the prompt-processing test, 1 for generation. */
static json_t *record(const ob_bench_result *r, const ob_bench_row *w, int gen, int *bad) {
    json_t *o = json_object();
    if (!o) {
        *bad = 1;
        return NULL;
    }
    char test[48];
    snprintf(test, sizeof test, gen ? "tg%d" : "pp%d", gen ? w->n_gen : w->n_prompt);
    put(o, "build_commit", json_string(OB_BUILD_COMMIT), bad);
    put(o, "cpu_info", json_string(r->cpu_info), bad);
    put(o, "gpu_info", json_string(r->gpu.name), bad);
    put(o, "backends", json_string("CPU"), bad);
    put(o, "model_filename", json_string(r->model_filename), bad);
    put(o, "model_type", json_string(r->model_type), bad);
    put(o, "model_size", jcount(r->model_size), bad);
    put(o, "model_n_params", jcount(r->model_n_params), bad);
    put(o, "n_batch", json_integer(w->n_batch), bad);
    put(o, "n_ubatch", json_integer(w->n_batch), bad);
    put(o, "n_threads", json_integer(w->n_threads), bad);
    put(o, "type_k", json_string("f32"), bad);
    put(o, "type_v", json_string("f32"), bad);
    put(o, "n_prompt", json_integer(gen ? 0 : w->n_prompt), bad);
    put(o, "n_gen", json_integer(gen ? w->n_gen : 0), bad);
    put(o, "n_depth", json_integer(gen ? w->n_prompt : 0), bad);
    put(o, "test_time", json_string(w->test_time), bad);
    put_timing(o, gen ? w->decode_s : w->prefill_s, w->reps,
               (double)w->n_parallel * (gen ? w->n_gen : w->n_prompt), bad);
    put(o, "test", json_string(test), bad);
    put_optibench(o, r, w, bad);
    return o;
}

int ob_bench_records(const ob_bench_result *r, json_t **out, ob_err *err) {
    *out = NULL;
    json_t *a = json_array();
    int bad = !a;
    for (int i = 0; i < r->n_rows && !bad; i++)
        for (int gen = 0; gen < 2 && !bad; gen++)
            if (json_array_append_new(a, record(r, &r->rows[i], gen, &bad))) bad = 1;
    if (bad) {
        json_decref(a);
        return ob_fail(err, OB_ENOMEM, "bench: out of memory for the JSON records");
    }
    *out = a;
    return 0;
}

int ob_bench_metrics(const ob_bench_result *r, int i, json_t *metrics, ob_err *err) {
    if (i < 0 || i >= r->n_rows) return ob_fail(err, OB_EINVAL, "bench: no row %d (%d rows)", i, r->n_rows);
    const ob_bench_row *w = &r->rows[i];
    int bad = 0;
    put(metrics, "decode_tps", jnum(w->decode_tps.median), &bad);
    put(metrics, "prefill_tps", jnum(w->prefill_tps.median), &bad);
    put(metrics, "ttft_ms", jnum(w->ttft_ms.median), &bad);
    put(metrics, "token_ms", jnum(w->token_ms.median), &bad);
    put(metrics, "model_size_bytes", jcount(r->model_size), &bad);
    if (r->peak_rss_bytes >= 0) put(metrics, "peak_rss_bytes", json_integer(r->peak_rss_bytes), &bad);
    double opt[] = {w->cpu_util_pct, w->energy_j, w->avg_power_w, r->temp_c};
    const char *names[] = {"cpu_util_pct", "energy_j", "avg_power_w", "temp_c"};
    for (int k = 0; k < 4; k++)
        if (isfinite(opt[k])) put(metrics, names[k], json_real(opt[k]), &bad);
    return bad ? ob_fail(err, OB_ENOMEM, "bench: out of memory for the metrics") : 0;
}

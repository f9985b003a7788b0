/* bench_json.h - a bench result as JSON records, for the writers and for
 * the sweep's results (report/results.h). */
#ifndef OB_BENCH_BENCH_JSON_H
#define OB_BENCH_BENCH_JSON_H
#include <jansson.h>

#include "bench/bench.h"

/* A new array (the caller's, json_decref) of flat records, two per row of
 * r: its prompt-processing record, then its text-generation record, as
 * ob_bench_write describes; keys in the order docs/bench.md lists them.
 * Unavailable values are null. */
int ob_bench_records(const ob_bench_result *r, json_t **out, ob_err *err);

/* Sets row i's figures in a results.h "metrics" object under its names:
 * decode_tps, prefill_tps and ttft_ms (medians over the repetitions),
 * token_ms (median decode step), model_size_bytes (weights in memory),
 * peak_rss_bytes, and cpu_util_pct, energy_j, avg_power_w, temp_c when
 * available (an unavailable figure is left out: absent = not measured). */
int ob_bench_metrics(const ob_bench_result *r, int i, json_t *metrics, ob_err *err);

#endif

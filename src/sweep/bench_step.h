/* bench_step.h - the benchmark of one sweep cell, through the bench
 * library (src/bench/bench.h): one test of prompt_len tokens and gen_len
 * decode steps for batch parallel sequences, warmup untimed and reps timed
 * repetitions, on fixed pseudo-random prompt ids (the same for every model
 * of a vocabulary).  Its figures go into the cell's metrics under the
 * names ob_bench_metrics gives them (decode_tps, prefill_tps, ttft_ms,
 * token_ms, model_size_bytes, peak_rss_bytes, and cpu_util_pct, energy_j,
 * avg_power_w, temp_c where the machine has them). */
#ifndef OB_SWEEP_BENCH_STEP_H
#define OB_SWEEP_BENCH_STEP_H

#include <jansson.h>

#include "optibench.h"

typedef struct ob_sweep_bench_params {
    int prompt_len, gen_len; /* prompt_len + gen_len <= the model's context */
    int batch;               /* parallel sequences, >= 1                     */
    int reps;                /* timed repetitions, >= 1                      */
    int warmup;              /* untimed repetitions first                    */
    const char *model_path;  /* the model's files, for their size; or NULL   */
} ob_sweep_bench_params;

/* Benchmarks m on pool and sets the figures in metrics.  peak_rss: also
 * set peak_rss_bytes (the process's peak over the test, where the kernel
 * lets it be reset; a caller that holds other models leaves it out). */
int ob_sweep_bench(ob_model *m, ob_pool *pool, const ob_sweep_bench_params *p, int peak_rss, json_t *metrics,
                   ob_err *err);

#endif

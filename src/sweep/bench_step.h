/* bench_step.h - the benchmark of one sweep cell: prefill and decode speed
 * of one sequence, median over repetitions after warm-up runs.
 *
 * One repetition clears the cache, feeds prompt_len tokens in one batch
 * (prefill; its time is the time to the first token's logits), then
 * decodes gen_len tokens one at a time, each the argmax of the last
 * logits (picked outside the timed region).  The prompt is a fixed
 * pseudo-random sequence of token ids, the same for every model with the
 * same vocabulary.
 *
 * This is the one function a sweep calls to benchmark; it is the place to
 * switch to the bench library (src/bench/bench.h, ob_bench_run) once that
 * is merged. */
#ifndef OB_SWEEP_BENCH_STEP_H
#define OB_SWEEP_BENCH_STEP_H

#include "optibench.h"

typedef struct ob_sweep_bench_params {
    int prompt_len, gen_len; /* prompt_len + gen_len <= the model's context */
    int reps;                /* timed repetitions, >= 1                      */
    int warmup;              /* untimed repetitions first                    */
} ob_sweep_bench_params;

typedef struct ob_sweep_bench_result {
    double prefill_tps;                  /* median prompt tokens / second     */
    double decode_tps;                   /* median generated tokens / second  */
    double decode_tps_min, decode_tps_max;
    double ttft_ms;                      /* median prefill time, ms           */
    int reps;
} ob_sweep_bench_result;

/* Benchmarks m on pool (its threads).  Fails (OB_ERANGE) when the prompt
 * and generation do not fit the model's context. */
int ob_sweep_bench(const ob_model *m, ob_pool *pool, const ob_sweep_bench_params *p, ob_sweep_bench_result *r,
                   ob_err *err);

#endif

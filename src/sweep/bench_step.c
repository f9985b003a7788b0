/* bench_step.c - a sweep cell's speed measurement (bench_step.h). */
#include "sweep/bench_step.h"

#include "bench/bench.h"
#include "bench/bench_json.h"

int ob_sweep_bench(ob_model *m, ob_pool *pool, const ob_sweep_bench_params *p, int peak_rss, json_t *metrics,
                   ob_err *err) {
    ob_bench_params bp = ob_bench_default_params();
    int P[1] = {p->prompt_len}, B[1] = {p->batch};
    bp.prompt_lens = P;
    bp.n_prompt = 1;
    bp.batches = B;
    bp.n_batch = 1;
    bp.gen_len = p->gen_len;
    bp.reps = p->reps;
    bp.warmup = p->warmup;
    bp.model_path = p->model_path;
    ob_bench_result r;
    int rc = ob_bench_run(m, pool, &bp, &r, err);
    if (!rc && !peak_rss) r.peak_rss_bytes = -1;
    if (!rc) rc = ob_bench_metrics(&r, 0, metrics, err);
    ob_bench_result_free(&r);
    return rc;
}

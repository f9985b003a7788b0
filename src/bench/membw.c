/* membw.c - measuring read bandwidth with all threads of a pool. */
#include "bench/membw.h"

#include <stdlib.h>
#include <string.h>

#include "core/mapfile.h"

float ob_read_sum(const float *p, size_t n, ob_simd level) {
#if defined(OB_HAVE_X86)
    if (level >= OB_SIMD_AVX512) return ob_read_sum_avx512(p, n);
    if (level >= OB_SIMD_AVX2) return ob_read_sum_avx2(p, n);
#endif
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++) s0 += p[i];
    return s0 + s1 + s2 + s3;
}

typedef struct {
    const float *buf;
    size_t n;
    ob_simd level;
    float *sums; /* one per task, so the reads cannot be optimised away */
} bw_job;

static void bw_task(void *arg, int i, int n_tasks) {
    bw_job *j = arg;
    size_t per = j->n / (size_t)n_tasks, lo = per * (size_t)i, hi = i == n_tasks - 1 ? j->n : lo + per;
    j->sums[i] = ob_read_sum(j->buf + lo, hi - lo, j->level);
}

double ob_read_bw_once(ob_pool *pool, const float *buf, size_t n) {
    int tasks = ob_pool_size(pool);
    float sums[256] = {0}; /* one per task, so the reads cannot be optimised away */
    bw_job j = {buf, n, ob_cpu_simd(), sums};
    double t0 = ob_now();
    ob_pool_run(pool, bw_task, &j, tasks);
    double dt = ob_now() - t0;
    volatile float sink = 0;
    for (int i = 0; i < tasks; i++) sink += sums[i];
    (void)sink;
    return (double)(n * sizeof(float)) / dt / 1e9;
}

int ob_bw_probe_open(ob_bw_probe *p, size_t bytes, ob_err *err) {
    p->n = bytes / sizeof(float);
    p->bytes = p->n * sizeof(float);
    /* on 2 MiB pages, as the model's weights are (ob_model_populate): the
     * probe is the best read rate, and 4 KiB pages cost it 2-3% here */
    p->buf = p->n ? ob_alloc_huge(p->bytes) : NULL;
    if (!p->buf) return ob_fail(err, OB_ENOMEM, "bandwidth probe: cannot allocate %zu bytes", bytes);
    for (size_t i = 0; i < p->n; i++) p->buf[i] = (float)(i & 7); /* touch every page */
    return 0;
}

double ob_bw_probe_read(ob_pool *pool, const ob_bw_probe *p) { return ob_read_bw_once(pool, p->buf, p->n); }

void ob_bw_probe_close(ob_bw_probe *p) {
    free(p->buf);
    p->buf = NULL;
    p->n = p->bytes = 0;
}

int ob_measure_read_bw(ob_pool *pool, size_t bytes, int reps, ob_stats *gbps, ob_err *err) {
    ob_bw_probe pr;
    double *v = calloc((size_t)(reps > 0 ? reps : 1), sizeof(double));
    if (!v) return ob_fail(err, OB_ENOMEM, "bandwidth probe: out of memory");
    int rc = ob_bw_probe_open(&pr, bytes, err);
    if (rc) {
        free(v);
        return rc;
    }
    ob_bw_probe_read(pool, &pr); /* warm-up */
    for (int r = 0; r < reps; r++) v[r] = ob_bw_probe_read(pool, &pr);
    *gbps = ob_stats_of(v, reps);
    ob_bw_probe_close(&pr);
    free(v);
    return 0;
}

/* membw.h - the machine's memory read bandwidth, measured. */
#ifndef OB_BENCH_MEMBW_H
#define OB_BENCH_MEMBW_H
#include <stddef.h>

#include "bench/stats.h"
#include "optibench.h"

/* Reads a buffer of `bytes` (far larger than the caches) with every thread
 * of the pool, `reps` times after one warm-up pass, and summarises GB/s.
 * Uses the widest SIMD loads available, on 2 MiB pages where the kernel
 * gives them (ob_alloc_huge), as the model's weights are. */
int ob_measure_read_bw(ob_pool *pool, size_t bytes, int reps, ob_stats *gbps, ob_err *err);

/* One timed pass over buf[0..n) by every thread of the pool; returns GB/s.
 * For callers that pair each measurement with their own (the kernel bench). */
double ob_read_bw_once(ob_pool *pool, const float *buf, size_t n);

/* A probe buffer kept for the length of a benchmark, so that a bandwidth
 * reading can be taken right beside each measurement it is compared with.
 * open allocates `bytes` (rounded down to floats; ob_alloc_huge) and
 * touches every page:
 * the buffer stays resident until close, and its size is `bytes` for a
 * caller that must leave it out of a memory figure. */
typedef struct ob_bw_probe {
    float *buf;   /* [n], owned */
    size_t n;
    size_t bytes; /* n * sizeof(float) */
} ob_bw_probe;
int ob_bw_probe_open(ob_bw_probe *p, size_t bytes, ob_err *err);
/* One timed pass with every thread of the pool; GB/s. */
double ob_bw_probe_read(ob_pool *pool, const ob_bw_probe *p);
void ob_bw_probe_close(ob_bw_probe *p);

/* Sums n floats (the read loop); level picks scalar or SIMD. */
float ob_read_sum(const float *p, size_t n, ob_simd level);
float ob_read_sum_avx512(const float *p, size_t n);
float ob_read_sum_avx2(const float *p, size_t n);

#endif

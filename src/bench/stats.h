/* stats.h - summary statistics of repeated measurements. */
#ifndef OB_BENCH_STATS_H
#define OB_BENCH_STATS_H

typedef struct ob_stats {
    int n;
    double median, mean, stddev, min, max, p90;
} ob_stats;

/* Summarises v[0..n) (v is sorted in place). */
ob_stats ob_stats_of(double *v, int n);

#endif

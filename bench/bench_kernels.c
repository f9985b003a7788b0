/* bench_kernels.c - speed of the dense kernels against the machine's limits.
 *
 * Not a test: prints tables.  Every number is the median of R repetitions
 * (default 7) after one warm-up, with the spread [min, max] beside it.
 * Usage: bench_kernels [R [SECTIONS]], SECTIONS a subset of the letters
 * "bvdmpno" naming the parts below (default all).
 *
 *  b  read bandwidth: a 1 GiB buffer summed with 1 and 2 threads;
 *  v  matvec (decode) GB/s of weights per format, cold: enough copies of the
 *     matrix are cycled that they never fit in the caches;
 *  d  stories15M decode: the 43 matrices of one token (6 layers of
 *     wq wk wv wo 288x288, w1 w3 768x288, w2 288x768, then the 32000x288
 *     classifier; 61 MB in F32) in forward order, as a share of (b);
 *  m  matmul (prefill, 128 tokens) GFLOP/s per format;
 *  p  stories15M prefill: the 42 layer matrices on 128 tokens, tokens/s;
 *  n  a sweep over the number of tokens n for two shapes;
 *  o  OpenBLAS sgemm on the products of (m), for reference only (the
 *     library never calls it), run last since its threads keep spinning.
 * Shapes are rows x cols = out x in (W is rows x cols, row-major). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/membw.h"
#include "core/mapfile.h"
#include "kernels/matrix.h"
#include "optibench.h"

#if defined(__has_include)
#if __has_include(<cblas.h>)
#include <cblas.h>
#define HAVE_CBLAS 1
#endif
#endif

#define MAX_REPS 64

typedef struct {
    double med, min, max;
} stat_t;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static stat_t stats(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    stat_t s = {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v[0], v[n - 1]};
    return s;
}

static void *xalloc(size_t bytes) {
    void *p = ob_alloc_huge(bytes); /* 2 MiB pages, as a loaded model's weights */
    if (!p) {
        fprintf(stderr, "bench_kernels: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* fills rows x cols weights of fmt with values in [-1, 1) */
static void fill_weights(void *data, ob_format fmt, size_t count, uint64_t *rng) {
    for (size_t i = 0; i < count; i++) {
        float v = (float)((double)(rng_next(rng) >> 40) / (double)(1u << 23) - 1.0);
        if (fmt == OB_FMT_F32) ((float *)data)[i] = v;
        else if (fmt == OB_FMT_F16) ((uint16_t *)data)[i] = ob_f32_to_f16(v);
        else ((uint16_t *)data)[i] = ob_f32_to_bf16(v);
    }
}

static size_t elem_bytes(ob_format fmt) { return fmt == OB_FMT_F32 ? 4 : 2; }

/* ------------------------------------------------------ read bandwidth */

static stat_t bench_read_bw(ob_pool *pool, const float *buf, size_t bytes, int reps) {
    double v[MAX_REPS];
    ob_read_bw_once(pool, buf, bytes / 4); /* warm-up */
    for (int r = 0; r < reps; r++) v[r] = ob_read_bw_once(pool, buf, bytes / 4);
    return stats(v, reps);
}

/* -------------------------------------------------------------- matvec */

/* GB/s of weights for y = W x over copies cycled so that the working set
 * (>= 256 MB) never fits in the caches; *share as in bench_s15_decode: the
 * ratio to the read bandwidth measured just before each repetition. */
static stat_t bench_matvec(ob_pool *pool, ob_format fmt, int64_t rows, int64_t cols,
                           const float *bw_buf, size_t bw_bytes, int reps, uint64_t *rng,
                           stat_t *share) {
    size_t mbytes = (size_t)(rows * cols) * elem_bytes(fmt);
    size_t copies = ((size_t)256 << 20) / mbytes + 1;
    if (copies < 3) copies = 3;
    char *w = xalloc(mbytes * copies);
    fill_weights(w, fmt, (size_t)(rows * cols), rng);
    for (size_t c = 1; c < copies; c++) memcpy(w + c * mbytes, w, mbytes);
    float *x = xalloc((size_t)cols * 4), *y = xalloc((size_t)rows * 4);
    for (int64_t i = 0; i < cols; i++) x[i] = 0.01f * (float)(i % 100);
    ob_matrix *m = xalloc(copies * sizeof *m);
    for (size_t c = 0; c < copies; c++) ob_matrix_init(&m[c], fmt, rows, cols, w + c * mbytes);
    double v[MAX_REPS], ratio[MAX_REPS];
    for (int r = -1; r < reps; r++) {
        double bw = ob_read_bw_once(pool, bw_buf, bw_bytes / 4);
        double t0 = ob_now();
        for (size_t c = 0; c < copies; c++) ob_linear(pool, &m[c], x, 1, y, NULL);
        double dt = ob_now() - t0;
        if (r >= 0) {
            v[r] = (double)(mbytes * copies) / dt / 1e9;
            ratio[r] = 100.0 * v[r] / bw;
        }
    }
    free(w);
    free(x);
    free(y);
    free(m);
    *share = stats(ratio, reps);
    return stats(v, reps);
}

/* ------------------------------------------------------ stories15M set */

enum { S15_DIM = 288, S15_FFN = 768, S15_LAYERS = 6, S15_VOCAB = 32000 };
enum { S15_N_LAYER_MATS = 7 * S15_LAYERS, S15_N_MATS = S15_N_LAYER_MATS + 1 };

typedef struct {
    ob_matrix m[S15_N_MATS];
    void *data[S15_N_MATS];
    size_t bytes;
    int64_t layer_params;
} s15_model;

static void s15_init(s15_model *s, ob_format fmt, uint64_t *rng) {
    static const int shape[7][2] = {{S15_DIM, S15_DIM}, {S15_DIM, S15_DIM}, {S15_DIM, S15_DIM},
                                    {S15_DIM, S15_DIM}, {S15_FFN, S15_DIM}, {S15_FFN, S15_DIM},
                                    {S15_DIM, S15_FFN}};
    s->bytes = 0;
    s->layer_params = 0;
    for (int i = 0; i < S15_N_MATS; i++) {
        int64_t rows = i < S15_N_LAYER_MATS ? shape[i % 7][0] : S15_VOCAB;
        int64_t cols = i < S15_N_LAYER_MATS ? shape[i % 7][1] : S15_DIM;
        size_t b = (size_t)(rows * cols) * elem_bytes(fmt);
        s->data[i] = xalloc(b);
        fill_weights(s->data[i], fmt, (size_t)(rows * cols), rng);
        ob_matrix_init(&s->m[i], fmt, rows, cols, s->data[i]);
        s->bytes += b;
        if (i < S15_N_LAYER_MATS) s->layer_params += rows * cols;
    }
}

static void s15_free(s15_model *s) {
    for (int i = 0; i < S15_N_MATS; i++) free(s->data[i]);
}

/* One decode token: every matrix once, in forward order; GB/s.  The
 * memory bandwidth of this (virtual) machine drifts over minutes, so each
 * repetition also sums the bandwidth buffer right before and *share gets
 * the per-repetition ratio decode / read bandwidth (in %). */
static stat_t bench_s15_decode(ob_pool *pool, const s15_model *s, const float *bw_buf,
                               size_t bw_bytes, int reps, stat_t *share) {
    float *x = xalloc(S15_FFN * 4), *y = xalloc(S15_VOCAB * 4);
    for (int i = 0; i < S15_FFN; i++) x[i] = 0.01f * (float)(i % 100);
    double v[MAX_REPS], ratio[MAX_REPS];
    enum { TOKENS = 8 };
    for (int r = -1; r < reps; r++) {
        double bw = ob_read_bw_once(pool, bw_buf, bw_bytes / 4);
        double t0 = ob_now();
        for (int t = 0; t < TOKENS; t++)
            for (int i = 0; i < S15_N_MATS; i++) ob_linear(pool, &s->m[i], x, 1, y, NULL);
        double dt = (ob_now() - t0) / TOKENS;
        if (r >= 0) {
            v[r] = (double)s->bytes / dt / 1e9;
            ratio[r] = 100.0 * v[r] / bw;
        }
    }
    free(x);
    free(y);
    *share = stats(ratio, reps);
    return stats(v, reps);
}

/* prefill of n tokens through the layer matrices (no classifier); tokens/s */
static stat_t bench_s15_prefill(ob_pool *pool, const s15_model *s, int64_t n, int reps) {
    float *X = xalloc((size_t)(n * S15_FFN) * 4), *Y = xalloc((size_t)(n * S15_FFN) * 4);
    for (int64_t i = 0; i < n * S15_FFN; i++) X[i] = 0.01f * (float)(i % 100);
    double v[MAX_REPS];
    for (int r = -1; r < reps; r++) {
        double t0 = ob_now();
        for (int i = 0; i < S15_N_LAYER_MATS; i++) ob_linear(pool, &s->m[i], X, n, Y, NULL);
        if (r >= 0) v[r] = (double)n / (ob_now() - t0);
    }
    free(X);
    free(Y);
    return stats(v, reps);
}

/* -------------------------------------------------------------- matmul */

/* GFLOP/s of Y[n x rows] = X[n x cols] . W^T, hot (one matrix reused) */
static stat_t bench_matmul(ob_pool *pool, ob_format fmt, int64_t rows, int64_t cols, int64_t n,
                           int reps, uint64_t *rng) {
    void *w = xalloc((size_t)(rows * cols) * elem_bytes(fmt));
    fill_weights(w, fmt, (size_t)(rows * cols), rng);
    float *X = xalloc((size_t)(n * cols) * 4), *Y = xalloc((size_t)(n * rows) * 4);
    for (int64_t i = 0; i < n * cols; i++) X[i] = 0.01f * (float)(i % 100);
    ob_matrix m;
    ob_matrix_init(&m, fmt, rows, cols, w);
    double flop = 2.0 * (double)rows * (double)cols * (double)n;
    /* repeat the call within one timing so that each lasts >= ~20 ms */
    double t0 = ob_now();
    ob_linear(pool, &m, X, n, Y, NULL);
    double one = ob_now() - t0;
    int inner = one > 0.02 ? 1 : (int)(0.02 / (one > 1e-7 ? one : 1e-7)) + 1;
    double v[MAX_REPS];
    for (int r = -1; r < reps; r++) {
        t0 = ob_now();
        for (int k = 0; k < inner; k++) ob_linear(pool, &m, X, n, Y, NULL);
        if (r >= 0) v[r] = flop * inner / (ob_now() - t0) / 1e9;
    }
    free(w);
    free(X);
    free(Y);
    return stats(v, reps);
}

#ifdef HAVE_CBLAS
static stat_t bench_sgemm(int threads, int64_t rows, int64_t cols, int64_t n, int reps,
                          uint64_t *rng) {
    openblas_set_num_threads(threads);
    float *w = xalloc((size_t)(rows * cols) * 4);
    fill_weights(w, OB_FMT_F32, (size_t)(rows * cols), rng);
    float *X = xalloc((size_t)(n * cols) * 4), *Y = xalloc((size_t)(n * rows) * 4);
    for (int64_t i = 0; i < n * cols; i++) X[i] = 0.01f * (float)(i % 100);
    double flop = 2.0 * (double)rows * (double)cols * (double)n;
#define SGEMM()                                                                               \
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)rows, (int)cols, 1.0f, X, \
                (int)cols, w, (int)cols, 0.0f, Y, (int)rows)
    double t0 = ob_now();
    SGEMM();
    double one = ob_now() - t0;
    int inner = one > 0.02 ? 1 : (int)(0.02 / (one > 1e-7 ? one : 1e-7)) + 1;
    double v[MAX_REPS];
    for (int r = -1; r < reps; r++) {
        t0 = ob_now();
        for (int k = 0; k < inner; k++) SGEMM();
        if (r >= 0) v[r] = flop * inner / (ob_now() - t0) / 1e9;
    }
#undef SGEMM
    free(w);
    free(X);
    free(Y);
    return stats(v, reps);
}
#endif

/* ------------------------------------------------------------- report */

static void print_stat(stat_t s) { printf("  %7.1f [%6.1f,%6.1f]", s.med, s.min, s.max); }

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    const char *sections = argc > 2 ? argv[2] : "bvdmpno";
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    char cpu[512];
    ob_cpu_describe(cpu, sizeof cpu);
    printf("cpu: %s\n", cpu);
    printf("every figure: median [min, max] of %d runs after a warm-up\n\n", reps);

    ob_err err;
    ob_pool *pools[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++)
        if (ob_pool_new(t + 1, &pools[t], &err)) {
            fprintf(stderr, "bench_kernels: %s\n", err.msg);
            return 1;
        }
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    static const ob_format fmts[] = {OB_FMT_F32, OB_FMT_F16, OB_FMT_BF16};

    /* b: read bandwidth */
    size_t bw_bytes = (size_t)1 << 30;
    float *bw_buf = strpbrk(sections, "bvd") ? xalloc(bw_bytes) : NULL;
    if (bw_buf) memset(bw_buf, 0, bw_bytes);
    stat_t bw[2] = {{0, 0, 0}, {0, 0, 0}};
    if (strchr(sections, 'b')) printf("read bandwidth, 1 GiB buffer summed        GB/s\n");
    for (int t = 0; t < 2 && strchr(sections, 'b'); t++) {
        bw[t] = bench_read_bw(pools[t], bw_buf, bw_bytes, reps);
        printf("  %d thread%s                              ", t + 1, t ? "s" : " ");
        print_stat(bw[t]);
        printf("\n");
    }

    /* v: matvec */
    static const struct {
        const char *name;
        int64_t rows, cols;
    } shapes[] = {
        {"s15 wq 288x288", 288, 288},       {"s15 w1 768x288", 768, 288},
        {"s15 w2 288x768", 288, 768},       {"s15 cls 32000x288", 32000, 288},
        {"tl wq 2048x2048", 2048, 2048},    {"tl w1 5632x2048", 5632, 2048},
        {"tl w2 2048x5632", 2048, 5632},
    };
    enum { N_SHAPES = sizeof shapes / sizeof shapes[0] };
    if (strchr(sections, 'v')) {
        printf("\nmatvec (decode, 1 token), weights streamed from memory   GB/s of weights;\n"
               "  %% = matvec / read bandwidth measured just before it in each run\n");
        printf("%-19s %-5s %-34s %-34s\n", "shape", "fmt", "  1 thread", "  2 threads");
    }
    for (int s = 0; s < N_SHAPES && strchr(sections, 'v'); s++)
        for (int f = 0; f < 3; f++) {
            printf("%-19s %-5s", shapes[s].name, ob_format_name(fmts[f]));
            for (int t = 0; t < 2; t++) {
                stat_t share, st = bench_matvec(pools[t], fmts[f], shapes[s].rows,
                                                shapes[s].cols, bw_buf, bw_bytes, reps, &rng,
                                                &share);
                print_stat(st);
                printf(" %3.0f%%", share.med);
            }
            printf("\n");
        }

    /* d: stories15M decode */
    if (strchr(sections, 'd'))
        printf("\nstories15M decode: 43 matrices of one token in order   GB/s of weights, tok/s;\n"
               "  %% = decode / read bandwidth measured just before it in each run\n");
    for (int f = 0; f < 3 && strchr(sections, 'd'); f++) {
        s15_model sm;
        s15_init(&sm, fmts[f], &rng);
        printf("  %-4s %4.1f MB", ob_format_name(fmts[f]), (double)sm.bytes / 1e6);
        for (int t = 0; t < 2; t++) {
            stat_t share, st = bench_s15_decode(pools[t], &sm, bw_buf, bw_bytes, reps, &share);
            printf(" | %dT %5.1f [%5.1f,%5.1f] %5.0f tok/s %3.0f%% [%3.0f,%3.0f]", t + 1, st.med,
                   st.min, st.max, st.med * 1e9 / (double)sm.bytes, share.med, share.min,
                   share.max);
        }
        printf("\n");
        s15_free(&sm);
    }
    free(bw_buf);

    /* m: matmul */
    enum { NTOK = 128 };
    if (strchr(sections, 'm')) {
        printf("\nmatmul (prefill, %d tokens), weights hot   GFLOP/s\n", NTOK);
        printf("%-19s %-5s %-26s %-26s\n", "shape", "fmt", "  1 thread", "  2 threads");
    }
    for (int s = 0; s < N_SHAPES && strchr(sections, 'm'); s++) {
        for (int f = 0; f < 3; f++) {
            printf("%-19s %-5s", shapes[s].name, ob_format_name(fmts[f]));
            for (int t = 0; t < 2; t++)
                print_stat(bench_matmul(pools[t], fmts[f], shapes[s].rows, shapes[s].cols, NTOK,
                                        reps, &rng));
            printf("\n");
        }
    }

    /* p: stories15M prefill */
    if (strchr(sections, 'p'))
        printf("\nstories15M prefill: 42 layer matrices (%.1fM weights) on %d tokens   tokens/s\n",
               6.0 * (4 * 288 * 288 + 3 * 768 * 288) / 1e6, NTOK);
    for (int f = 0; f < 3 && strchr(sections, 'p'); f++) {
        s15_model sm;
        s15_init(&sm, fmts[f], &rng);
        printf("  %-4s", ob_format_name(fmts[f]));
        for (int t = 0; t < 2; t++) {
            stat_t st = bench_s15_prefill(pools[t], &sm, NTOK, reps);
            printf("  | %dT %7.0f [%6.0f,%6.0f] = %5.1f GFLOP/s", t + 1, st.med, st.min, st.max,
                   st.med * 2.0 * (double)sm.layer_params / 1e9);
        }
        printf("\n");
        s15_free(&sm);
    }

    /* n: sweep over n */
    static const int64_t ns[] = {1, 2, 3, 4, 6, 8, 16, 32, 64, 128};
    enum { N_NS = sizeof ns / sizeof ns[0] };
    if (strchr(sections, 'n')) {
        printf("\nmatmul GFLOP/s by tokens n, 2 threads, weights hot (median)\n");
        printf("%-19s %-5s", "shape", "fmt");
        for (int i = 0; i < N_NS; i++) printf(" %6lld", (long long)ns[i]);
        printf("\n");
    }
    static const int sweep_shapes[] = {1, 4};
    for (int s = 0; s < 2 && strchr(sections, 'n'); s++)
        for (int f = 0; f < 3; f++) {
            int si = sweep_shapes[s];
            printf("%-19s %-5s", shapes[si].name, ob_format_name(fmts[f]));
            for (int i = 0; i < N_NS; i++)
                printf(" %6.1f", bench_matmul(pools[1], fmts[f], shapes[si].rows,
                                              shapes[si].cols, ns[i], reps, &rng)
                                     .med);
            printf("\n");
        }

    /* o: OpenBLAS last: its threads spin after each call and would slow
     * down whatever runs next on this machine's few cores */
#ifdef HAVE_CBLAS
    if (strchr(sections, 'o')) {
    printf("\nOpenBLAS cblas_sgemm, same products (%d tokens, F32), reference only   GFLOP/s\n",
           NTOK);
    printf("%-19s %-5s %-26s %-26s\n", "shape", "", "  1 thread", "  2 threads");
    for (int s = 0; s < N_SHAPES; s++) {
        printf("%-19s %-5s", shapes[s].name, "sgemm");
        for (int t = 0; t < 2; t++)
            print_stat(bench_sgemm(t + 1, shapes[s].rows, shapes[s].cols, NTOK, reps, &rng));
        printf("\n");
    }
    }
#endif

    ob_pool_free(pools[0]);
    ob_pool_free(pools[1]);
    return 0;
}

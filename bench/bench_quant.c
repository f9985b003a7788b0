/* bench_quant.c - speed of every weight format's kernels on 1.1B-shaped
 * (TinyLlama) matrices, against the machine's read bandwidth.
 *
 * Not a test: prints a table.  Usage: bench_quant [REPS [FORMAT,...]]
 * (default 5 repetitions, every format).  Each figure is the median
 * [min, max] of REPS runs after one warm-up.
 *
 *  matvec  decode, 1 token: GB/s of weights streamed from memory (enough
 *          copies of the matrix are cycled that they never stay cached),
 *          and its share of the read bandwidth measured just before each
 *          run (a 512 MiB buffer summed by the same threads);
 *  matmul  prefill, 128 tokens, weights hot: GFLOP/s (2 * rows * cols * n).
 * Activation quantization is inside the timed ob_linear call, as in the
 * forward pass.  Shapes are rows x cols = out x in. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/membw.h"
#include "core/mapfile.h"
#include "kernels/matrix.h"
#include "kernels/x16.h"
#include "optibench.h"

enum { MAX_REPS = 64, NTOK = 128 };

static void *xalloc(size_t bytes) {
    void *p = ob_alloc_huge(bytes); /* 2 MiB pages, as a loaded model's weights */
    if (!p) {
        fprintf(stderr, "bench_quant: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* rows x cols weights ~ N(0, 0.02) quantized to fmt, in the x16 layout
 * when x16 (kernels/x16.h); returns the data */
static void *make_weights(ob_format fmt, int x16, int64_t rows, int64_t cols, uint64_t *rng, size_t *bytes) {
    const ob_format_ops *ops = ob_format_get(fmt);
    size_t rb = ops->row_bytes(cols);
    char *w = xalloc(rb * (size_t)rows);
    float *x = xalloc((size_t)cols * 4);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++) {
            *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
            double u1 = ((*rng >> 11) + 0.5) / 9007199254740992.0;
            *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
            double u2 = ((*rng >> 11) + 0.5) / 9007199254740992.0;
            x[c] = (float)(0.02 * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
        }
        ops->quantize_row(x, cols, w + (size_t)r * rb);
    }
    free(x);
    *bytes = rb * (size_t)rows;
    ob_matrix m;
    ob_matrix_init(&m, fmt, rows, cols, w);
    if (x16 && ob_matrix_to_x16(&m, w, NULL)) {
        fprintf(stderr, "bench_quant: %s has no x16 layout\n", ops->name);
        exit(1);
    }
    return w;
}

static void print_stat(ob_stats s, const char *fmt) {
    printf(fmt, s.median, s.min, s.max);
}

/* y = W x over copies cycled past the caches: GB/s; *share in % of BW */
static ob_stats bench_matvec(ob_pool *pool, ob_format fmt, int x16, int64_t rows, int64_t cols,
                             const float *bw_buf, size_t bw_bytes, int reps, uint64_t *rng, ob_stats *share) {
    size_t mbytes;
    char *one = make_weights(fmt, x16, rows, cols, rng, &mbytes);
    size_t copies = ((size_t)256 << 20) / mbytes + 1;
    if (copies < 3) copies = 3;
    char *w = xalloc(mbytes * copies);
    for (size_t c = 0; c < copies; c++) memcpy(w + c * mbytes, one, mbytes);
    free(one);
    ob_matrix *m = xalloc(copies * sizeof *m);
    for (size_t c = 0; c < copies; c++) {
        ob_matrix_init(&m[c], fmt, rows, cols, w + c * mbytes);
        if (x16) m[c].x16 = 1, m[c].ops = ob_format_get_x16(fmt, ob_cpu_simd());
    }
    float *x = xalloc((size_t)cols * 4), *y = xalloc((size_t)rows * 4);
    for (int64_t i = 0; i < cols; i++) x[i] = 0.01f * (float)(i % 100) - 0.5f;
    ob_workspace ws = {xalloc(ob_linear_ws_bytes(cols, 1)), ob_linear_ws_bytes(cols, 1)};
    double v[MAX_REPS], ratio[MAX_REPS];
    for (int r = -1; r < reps; r++) {
        double bw = ob_read_bw_once(pool, bw_buf, bw_bytes / 4);
        double t0 = ob_now();
        for (size_t c = 0; c < copies; c++) ob_linear(pool, &m[c], x, 1, y, &ws);
        double dt = ob_now() - t0;
        if (r >= 0) {
            v[r] = (double)(mbytes * copies) / dt / 1e9;
            ratio[r] = 100.0 * v[r] / bw;
        }
    }
    free(w), free(m), free(x), free(y), free(ws.data);
    *share = ob_stats_of(ratio, reps);
    return ob_stats_of(v, reps);
}

/* Y = X W^T for NTOK tokens, weights hot: GFLOP/s */
static ob_stats bench_matmul(ob_pool *pool, ob_format fmt, int x16, int64_t rows, int64_t cols, int reps,
                             uint64_t *rng) {
    size_t bytes;
    void *w = make_weights(fmt, x16, rows, cols, rng, &bytes);
    ob_matrix m;
    ob_matrix_init(&m, fmt, rows, cols, w);
    if (x16) m.x16 = 1, m.ops = ob_format_get_x16(fmt, ob_cpu_simd());
    float *X = xalloc((size_t)(NTOK * cols) * 4), *Y = xalloc((size_t)(NTOK * rows) * 4);
    for (int64_t i = 0; i < NTOK * cols; i++) X[i] = 0.01f * (float)(i % 100) - 0.5f;
    ob_workspace ws = {xalloc(ob_linear_ws_bytes(cols, NTOK)), ob_linear_ws_bytes(cols, NTOK)};
    double flop = 2.0 * (double)rows * (double)cols * NTOK, v[MAX_REPS];
    for (int r = -1; r < reps; r++) {
        double t0 = ob_now();
        ob_linear(pool, &m, X, NTOK, Y, &ws);
        if (r >= 0) v[r] = flop / (ob_now() - t0) / 1e9;
    }
    free(w), free(X), free(Y), free(ws.data);
    return ob_stats_of(v, reps);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    int want[OB_FMT_COUNT], n_want = 0;
    if (argc > 2) {
        char list[512];
        snprintf(list, sizeof list, "%s", argv[2]);
        for (char *tok = strtok(list, ","); tok && n_want < OB_FMT_COUNT; tok = strtok(NULL, ",")) {
            int f = ob_format_from_name(tok);
            if (f < 0 || f >= OB_FMT_SP_F32) {
                fprintf(stderr, "bench_quant: unknown or sparse format '%s' (sparse ones: bench_sparse)\n", tok);
                return 2;
            }
            want[n_want++] = f;
        }
    } else {
        for (int f = 0; f < OB_FMT_SP_F32; f++) /* sparse formats: bench_sparse */
            if (f != OB_FMT_BF16) want[n_want++] = f;
    }
    char cpu[512];
    ob_cpu_describe(cpu, sizeof cpu);
    printf("cpu: %s\nvnni: %d; every figure: median [min, max] of %d runs after a warm-up\n", cpu, ob_cpu_has_vnni(),
           reps);
    ob_err err;
    ob_pool *pools[2];
    for (int t = 0; t < 2; t++)
        if (ob_pool_new(t + 1, &pools[t], &err)) {
            fprintf(stderr, "bench_quant: %s\n", err.msg);
            return 1;
        }
    size_t bw_bytes = (size_t)512 << 20;
    float *bw_buf = xalloc(bw_bytes);
    memset(bw_buf, 0, bw_bytes);
    static const struct {
        const char *name;
        int64_t rows, cols;
    } shapes[] = {{"wq 2048x2048", 2048, 2048}, {"w1 5632x2048", 5632, 2048}, {"w2 2048x5632", 2048, 5632}};
    uint64_t rng = 42;
    printf("\nmatvec (decode), weights from memory: GB/s of weights, %% of read BW   |  matmul %d tokens, "
           "2048x2048 hot: GFLOP/s\n", NTOK);
    printf("%-12s %-13s %-30s %-30s| %-22s %-22s\n", "format", "shape", "1 thread", "2 threads", "1 thread",
           "2 threads");
    for (int i = 0; i < n_want; i++) {
        ob_format f = (ob_format)want[i];
        for (int x16 = 0; x16 <= ob_x16_pays(f); x16++) /* the row layout, then x16 where it runs */
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                char label[32];
                snprintf(label, sizeof label, "%s%s", ob_format_name(f), x16 ? "/x16" : "");
                printf("%-12s %-13s", label, shapes[s].name);
                for (int t = 0; t < 2; t++) {
                    ob_stats share, st = bench_matvec(pools[t], f, x16, shapes[s].rows, shapes[s].cols, bw_buf,
                                                      bw_bytes, reps, &rng, &share);
                    print_stat(st, " %5.1f [%5.1f,%5.1f]");
                    printf(" %3.0f%%   ", share.median);
                }
                if (s == 0)
                    for (int t = 0; t < 2; t++)
                        print_stat(bench_matmul(pools[t], f, x16, 2048, 2048, reps, &rng), "| %6.1f [%6.1f,%6.1f] ");
                printf("\n");
                fflush(stdout);
            }
    }
    free(bw_buf);
    ob_pool_free(pools[0]);
    ob_pool_free(pools[1]);
    return 0;
}

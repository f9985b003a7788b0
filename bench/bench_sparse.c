/* bench_sparse.c - decode speed of the sparse formats against their dense
 * formats on 1.1B-shaped (TinyLlama) matrices.
 *
 * Not a test: prints a table.  Usage: bench_sparse [REPS [THREADS]]
 * (default 15 repetitions, 2 threads).  One matvec (y = W x, one token) per
 * matrix through ob_linear and an ob_pool, as the forward pass decodes;
 * enough copies of each matrix are cycled that they never stay cached, so
 * the weights come from memory.  Each figure is the median [min, max] of
 * REPS timed passes after one warm-up: microseconds per matvec, GB/s of
 * the format's bytes, and the speed-up over the dense format of the same
 * values (per repetition dense time / sparse time; the formats of one
 * value type take turns within each repetition).
 *
 * Weights ~ N(0, 0.02); masks: 50 % kept at random (SP), 2 of every 4 at
 * random (S24), half of the 32-column chunks (SB). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/membw.h"
#include "bench/stats.h"
#include "core/mapfile.h"
#include "kernels/matrix.h"
#include "kernels/sparse.h"
#include "optibench.h"

enum { MAX_REPS = 100 };

static void *must(void *p, size_t bytes) {
    if (!p) {
        fprintf(stderr, "bench_sparse: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}
static void *big(size_t bytes) { return must(ob_alloc_huge(bytes), bytes); } /* 2 MiB pages, as a model's */

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}
static double unit(uint64_t *s) { return ((double)lcg(s) + 0.5) / 9007199254740992.0; }

enum { MASK_RANDOM, MASK_24, MASK_BLOCK };

/* rows x cols weights and their keep mask */
static void make_problem(int64_t rows, int64_t cols, int mask, uint64_t *s, float *W, uint8_t *keep) {
    for (int64_t i = 0; i < rows * cols; i++)
        W[i] = (float)(0.02 * sqrt(-2 * log(unit(s))) * cos(6.283185307179586 * unit(s)));
    for (int64_t i = 0; i < rows * cols; i += 4) {
        if (mask == MASK_24) { /* one of the 6 pairs of 4 */
            static const uint8_t pairs[6] = {0x3, 0x5, 0x6, 0x9, 0xa, 0xc};
            uint8_t p = pairs[lcg(s) % 6];
            for (int j = 0; j < 4; j++) keep[i + j] = p >> j & 1;
        } else if (mask == MASK_BLOCK) {
            uint8_t v = i % 32 == 0 ? unit(s) < 0.5 : keep[i - 1];
            for (int j = 0; j < 4; j++) keep[i + j] = v;
        } else {
            for (int j = 0; j < 4; j++) keep[i + j] = unit(s) < 0.5;
        }
    }
}

/* one matrix of format f (data, aux malloc'd by the caller's frees) */
typedef struct {
    void *data, *aux;
    size_t bytes, aux_bytes;
} packed;

static packed pack(ob_format f, const float *W, const uint8_t *keep, int64_t rows, int64_t cols) {
    packed p = {0};
    if (ob_format_is_sparse(f)) {
        p.bytes = ob_sparse_size(f, keep, rows, cols, &p.aux_bytes);
        p.data = big(p.bytes);
        p.aux = p.aux_bytes ? big(p.aux_bytes) : NULL;
        ob_err err;
        if (ob_sparse_pack(f, W, keep, rows, cols, NULL, p.data, p.aux, &err)) {
            fprintf(stderr, "bench_sparse: %s\n", err.msg);
            exit(1);
        }
        return p;
    }
    const ob_format_ops *ops = ob_format_get(f);
    const size_t rb = ops->row_bytes(cols);
    p.bytes = rb * (size_t)rows;
    p.data = big(p.bytes);
    for (int64_t r = 0; r < rows; r++) ops->quantize_row(W + r * cols, cols, (char *)p.data + (size_t)r * rb);
    return p;
}

/* copies of one packed matrix, cycled so that they never stay cached */
typedef struct {
    ob_format f;
    char *data;
    ob_matrix *m;
    size_t copies, bytes;
    double us[MAX_REPS];
} runner;

static void runner_init(runner *u, ob_format f, const packed *one, int64_t rows, int64_t cols) {
    u->f = f;
    u->bytes = one->bytes;
    u->copies = ((size_t)256 << 20) / one->bytes + 1;
    if (u->copies < 3) u->copies = 3;
    u->data = big(one->bytes * u->copies);
    u->m = must(malloc(u->copies * sizeof *u->m), u->copies * sizeof *u->m);
    for (size_t c = 0; c < u->copies; c++) {
        char *d = u->data + c * one->bytes;
        memcpy(d, one->data, one->bytes);
        if (ob_format_is_sparse(f)) ob_matrix_init_sparse(&u->m[c], f, rows, cols, d, one->aux);
        else ob_matrix_init(&u->m[c], f, rows, cols, d);
    }
}

/* microseconds of one matvec, averaged over one pass through the copies */
static double runner_pass(runner *u, ob_pool *pool, const float *x, float *y, const ob_workspace *ws) {
    double t0 = ob_now();
    for (size_t c = 0; c < u->copies; c++) ob_linear(pool, &u->m[c], x, 1, y, ws);
    return (ob_now() - t0) / (double)u->copies * 1e6;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 15, threads = argc > 2 ? atoi(argv[2]) : 2;
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    ob_err err;
    ob_pool *pool;
    if (ob_pool_new(threads, &pool, &err)) {
        fprintf(stderr, "bench_sparse: %s\n", err.msg);
        return 1;
    }
    char cpu[512];
    ob_cpu_describe(cpu, sizeof cpu);
    ob_stats bw;
    if (ob_measure_read_bw(pool, (size_t)512 << 20, 5, &bw, &err)) {
        fprintf(stderr, "bench_sparse: %s\n", err.msg);
        return 1;
    }
    printf("cpu: %s\n%d threads; read bandwidth %.1f GB/s (median of 5); every figure: median [min, max] of %d runs "
           "after a warm-up\n",
           cpu, threads, bw.median, reps);
    static const struct {
        const char *name;
        int64_t rows, cols;
    } shapes[] = {{"2048x2048", 2048, 2048}, {"5632x2048", 5632, 2048}, {"2048x5632", 2048, 5632}};
    static const ob_format values[] = {OB_FMT_F32, OB_FMT_F16, OB_FMT_Q8_0, OB_FMT_Q4_0};
    static const struct {
        int storage, mask;
        const char *what;
    } kinds[] = {{-1, MASK_RANDOM, "dense"}, {OB_SPARSE_BITMASK, MASK_RANDOM, "50% random"},
                 {OB_SPARSE_24, MASK_24, "2:4"}, {OB_SPARSE_BLOCK, MASK_BLOCK, "50% of 32-col blocks"}};
    printf("\n%-10s %-8s %-21s %9s %27s %22s %20s\n", "shape", "format", "mask", "MB", "us per matvec", "GB/s",
           "speed-up vs dense");
    uint64_t s = 7;
    enum { NK = sizeof kinds / sizeof kinds[0] };
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        const int64_t rows = shapes[sh].rows, cols = shapes[sh].cols;
        float *W = big((size_t)(rows * cols) * 4), *x = big((size_t)cols * 4), *y = big((size_t)rows * 4);
        uint8_t *keep = big((size_t)(rows * cols));
        for (int64_t i = 0; i < cols; i++) x[i] = 0.01f * (float)(i % 100) - 0.5f;
        ob_workspace ws = {big(ob_linear_ws_bytes(cols, 1)), ob_linear_ws_bytes(cols, 1)};
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            /* the dense format and its sparse ones take turns in every
             * repetition, so that a slow moment (other work on the machine)
             * falls on all of them alike; speed-up = median of the per-
             * repetition ratios */
            runner u[NK];
            for (size_t k = 0; k < NK; k++) {
                const ob_format f = kinds[k].storage < 0 ? values[v] : ob_sparse_format(values[v], kinds[k].storage);
                make_problem(rows, cols, kinds[k].mask, &s, W, keep);
                packed p = pack(f, W, keep, rows, cols);
                runner_init(&u[k], f, &p, rows, cols);
                free(p.data); /* p.aux lives on in the copies' views, freed below */
            }
            for (int r = -1; r < reps; r++)
                for (size_t k = 0; k < NK; k++) {
                    double us = runner_pass(&u[k], pool, x, y, &ws);
                    if (r >= 0) u[k].us[r] = us;
                }
            for (size_t k = 0; k < NK; k++) {
                double ratio[MAX_REPS], us[MAX_REPS];
                for (int r = 0; r < reps; r++) ratio[r] = u[0].us[r] / u[k].us[r];
                memcpy(us, u[k].us, sizeof us);
                ob_stats t = ob_stats_of(us, reps), q = ob_stats_of(ratio, reps);
                printf("%-10s %-8s %-21s %9.2f %8.0f [%7.0f, %7.0f] %6.1f [%5.1f, %5.1f] %6.2fx [%4.2f, %4.2f]\n",
                       shapes[sh].name, ob_format_name(u[k].f), kinds[k].what, (double)u[k].bytes / 1e6, t.median,
                       t.min, t.max, (double)u[k].bytes / t.median / 1e3, (double)u[k].bytes / t.max / 1e3,
                       (double)u[k].bytes / t.min / 1e3, q.median, q.min, q.max);
                fflush(stdout);
                free((void *)u[k].m[0].aux), free(u[k].data), free(u[k].m);
            }
        }
        free(W), free(keep), free(x), free(y), free(ws.data);
    }
    ob_pool_free(pool);
    return 0;
}

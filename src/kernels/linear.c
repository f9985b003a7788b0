/* linear.c - Y = X . W^T with the work split across the thread pool.
 *
 * Splitting: each of the pool's threads gets one task.
 *  - matvec (n == 1) and matmul with enough rows: a contiguous range of
 *    rows per task, cut on multiples of 16 so SIMD kernels see whole tiles
 *    and no two threads write the same 64-byte line of Y.  Rows are the
 *    natural split: each weight is read (and converted) by one thread only.
 *  - matmul with few rows (under 32 per thread) but many tokens (at least
 *    MIN_TOKENS_PER_TASK per thread): tokens are split instead, every task
 *    running all rows on its share; splitting 48 rows in 16-row pieces would
 *    leave threads idle.  Each share stays at or above the batch size where
 *    the SIMD kernels change method (20 or 32 tokens in kernels/x86), so the
 *    result is bitwise the same for any pool size (test_kernels checks it).
 *  - under 64 rows (matvec) the work is too small to be worth a dispatch. */
#include <math.h>
#include <string.h>

#include "kernels/matrix.h"
#include "kernels/linear_maps.h"
#include "kernels/quant.h"
#include "kernels/sparse.h"
#include "kernels/x16.h"

enum { MIN_TOKENS_PER_TASK = 32, MAX_MULTI = 8 };

typedef struct {
    const ob_matrix *W;
    const ob_format_ops *ops;
    const void *X;  /* float32, or the format's quantized activations */
    size_t x_stride; /* bytes per token of X */
    float *Y;
    int64_t n;
    int split_tokens;
} linear_job;

/* [lo, hi) of part i of total split in n_parts, cut on multiples of align */
static void split_range(int64_t total, int i, int n_parts, int64_t align, int64_t *lo,
                        int64_t *hi) {
    int64_t per = (total + n_parts - 1) / n_parts;
    per = (per + align - 1) / align * align;
    int64_t a = per * i, b = a + per;
    *lo = a < total ? a : total;
    *hi = b < total ? b : total;
}

static void linear_task(void *arg, int i, int n_tasks) {
    linear_job *j = arg;
    const ob_matrix *W = j->W;
    int64_t lo, hi;
    if (j->split_tokens) {
        lo = j->n * i / n_tasks; /* balanced: every share >= n / n_tasks */
        hi = j->n * (i + 1) / n_tasks;
        if (lo >= hi) return;
        const char *X = (const char *)j->X + (size_t)lo * j->x_stride;
        if (hi - lo == 1) j->ops->matvec(W, X, j->Y + lo * W->rows, 0, W->rows);
        else j->ops->matmul(W, X, hi - lo, j->Y + lo * W->rows, W->rows, 0, W->rows);
        return;
    }
    split_range(W->rows, i, n_tasks, 16, &lo, &hi);
    if (lo >= hi) return;
    if (j->n == 1) j->ops->matvec(W, j->X, j->Y, lo, hi);
    else j->ops->matmul(W, j->X, j->n, j->Y, W->rows, lo, hi);
}

/* ------------------------------------------------ activation quantization */

/* The kinds of quantized activations, each with its own workspace region
 * (so that ob_linear_multi can hold all at once), told apart by their
 * layout (act_bytes); each matrix's ops bring the quantizer of its SIMD
 * level, and every level writes the same bytes. */
static const ob_act_bytes_fn act_kind_bytes[] = {ob_q8a_act_bytes, ob_w8a8_act_bytes, ob_x16_act_bytes};
enum { N_ACT_KINDS = sizeof act_kind_bytes / sizeof act_kind_bytes[0] };

static int act_kind(const ob_format_ops *ops) {
    for (int k = 0; k < N_ACT_KINDS; k++)
        if (ops->quantize_act && ops->act_bytes == act_kind_bytes[k]) return k;
    return -1;
}

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

/* what a matrix without maps needs: the quantized activations only */
size_t ob_linear_act_ws_bytes(int64_t cols, int64_t n) {
    size_t per = 0;
    for (int k = 0; k < N_ACT_KINDS; k++) per += align64(act_kind_bytes[k](cols));
    return per * (size_t)(n > 0 ? n : 0);
}

size_t ob_linear_ws_bytes(int64_t cols, int64_t n) {
    return ob_linear_act_ws_bytes(cols, n) + align64((size_t)cols * sizeof(float)) * (size_t)(n > 0 ? n : 0);
}

typedef struct {
    ob_quantize_row_fn fn;
    const float *X;
    int64_t cols, n;
    char *out;
    size_t stride;
} act_job;

static void act_task(void *arg, int i, int n_tasks) {
    act_job *j = arg;
    for (int64_t t = j->n * i / n_tasks; t < j->n * (i + 1) / n_tasks; t++)
        j->fn(j->X + t * j->cols, j->cols, j->out + (size_t)t * j->stride);
}

/* Quantizes n tokens of X for every kind the matrices need (once per kind),
 * into ws: acts[k] = what matrix k reads, strides[k] its bytes per token. */
static void prepare_acts(ob_pool *pool, const ob_matrix *const *Ws, int n_mats, const float *X,
                         int64_t n, const ob_workspace *ws, const void **acts, size_t *strides) {
    const int64_t cols = Ws[0]->cols;
    const void *done[N_ACT_KINDS] = {0};
    char *at = ws ? ws->data : NULL;
    for (int m = 0; m < n_mats; m++) {
        int k = act_kind(Ws[m]->ops);
        if (k < 0) {
            acts[m] = X;
            strides[m] = (size_t)cols * sizeof(float);
            continue;
        }
        strides[m] = act_kind_bytes[k](cols);
        if (!done[k]) {
            act_job j = {Ws[m]->ops->quantize_act, X, cols, n, at, strides[m]};
            int tasks = n >= 4 * (int64_t)ob_pool_size(pool) ? ob_pool_size(pool) : 1;
            if (tasks > 1) ob_pool_run(pool, act_task, &j, tasks);
            else act_task(&j, 0, 1);
            done[k] = at;
            at += ((strides[m] + 63) & ~(size_t)63) * (size_t)n;
        }
        acts[m] = done[k];
    }
}

/* tokens per pass that fit the workspace (n if nothing is quantized) */
static int64_t tokens_per_pass(const ob_matrix *const *Ws, int n_mats, int64_t n, const ob_workspace *ws) {
    int any = 0;
    for (int m = 0; m < n_mats; m++) any |= act_kind(Ws[m]->ops) >= 0;
    if (!any) return n;
    size_t one = ob_linear_act_ws_bytes(Ws[0]->cols, 1), have = ws ? ws->size : 0;
    int64_t fit = (int64_t)(have / one);
    return fit < n ? fit : n;
}

static void fill_nan(float *Y, int64_t count) {
    for (int64_t i = 0; i < count; i++) Y[i] = NAN;
}

/* ------------------------------------------------------------- linear */

static void run_linear(ob_pool *pool, const ob_matrix *W, const void *X, size_t stride, int64_t n,
                       float *Y) {
    linear_job j = {W, W->ops, X, stride, Y, n, 0};
    int tasks = ob_pool_size(pool);
    if (n == 1) {
        if (W->rows < 64) tasks = 1;
    } else if (W->rows < 32 * (int64_t)tasks) {
        if (n >= MIN_TOKENS_PER_TASK * (int64_t)tasks) j.split_tokens = 1;
        else if (W->rows < 64) tasks = 1;
    }
    ob_pool_run(pool, linear_task, &j, tasks);
}

void ob_linear(ob_pool *pool, const ob_matrix *W, const float *X, int64_t n, float *Y,
               const ob_workspace *ws) {
    if (ob_matrix_has_maps(W)) {
        ob_linear_mapped(pool, W, X, n, Y, ws);
        return;
    }
    if (n <= 0 || W->rows <= 0) return;
    int64_t chunk = tokens_per_pass(&W, 1, n, ws);
    if (chunk <= 0) {
        fill_nan(Y, n * W->rows);
        return;
    }
    for (int64_t t0 = 0; t0 < n; t0 += chunk) {
        int64_t nt = n - t0 < chunk ? n - t0 : chunk;
        const void *act;
        size_t stride;
        prepare_acts(pool, &W, 1, X + t0 * W->cols, nt, ws, &act, &stride);
        run_linear(pool, W, act, stride, nt, Y + t0 * W->rows);
    }
}

typedef struct {
    const ob_matrix *const *Ws;
    int n_mats;
    const void *const *xs;
    float *const *ys;
} multi_job;

/* Task i runs, for every matrix, the rows ob_linear would give it, so the
 * results are bitwise those of separate calls; only the dispatch is shared. */
static void multi_task(void *arg, int i, int n_tasks) {
    multi_job *j = arg;
    for (int k = 0; k < j->n_mats; k++) {
        const ob_matrix *W = j->Ws[k];
        int64_t lo = 0, hi = W->rows;
        if (W->rows >= 64) split_range(W->rows, i, n_tasks, 16, &lo, &hi);
        else if (i != 0) continue;
        if (lo < hi) W->ops->matvec(W, j->xs[k], j->ys[k], lo, hi);
    }
}

void ob_linear_multi(ob_pool *pool, const ob_matrix *const *Ws, int n_mats, const float *X, int64_t n,
                     float *const *Ys, const ob_workspace *ws) {
    if (n <= 0 || n_mats <= 0) return;
    int maps = 0;
    for (int k = 0; k < n_mats; k++) maps |= ob_matrix_has_maps(Ws[k]);
    if (n_mats > MAX_MULTI || maps) { /* each mapped matrix gathers its own inputs */
        for (int k = 0; k < n_mats; k++) ob_linear(pool, Ws[k], X, n, Ys[k], ws);
        return;
    }
    int64_t chunk = tokens_per_pass(Ws, n_mats, n, ws);
    if (chunk <= 0) {
        for (int k = 0; k < n_mats; k++) fill_nan(Ys[k], n * Ws[k]->rows);
        return;
    }
    const void *acts[MAX_MULTI];
    size_t strides[MAX_MULTI];
    for (int64_t t0 = 0; t0 < n; t0 += chunk) {
        int64_t nt = n - t0 < chunk ? n - t0 : chunk;
        prepare_acts(pool, Ws, n_mats, X + t0 * Ws[0]->cols, nt, ws, acts, strides);
        if (nt == 1) {
            float *ys[MAX_MULTI];
            for (int k = 0; k < n_mats; k++) ys[k] = Ys[k] + t0 * Ws[k]->rows;
            multi_job j = {Ws, n_mats, acts, ys};
            ob_pool_run(pool, multi_task, &j, ob_pool_size(pool));
        } else {
            for (int k = 0; k < n_mats; k++)
                run_linear(pool, Ws[k], acts[k], strides[k], nt, Ys[k] + t0 * Ws[k]->rows);
        }
    }
}

void ob_matrix_init(ob_matrix *m, ob_format fmt, int64_t rows, int64_t cols, const void *data) {
    m->rows = rows;
    m->cols = cols;
    m->format = fmt;
    m->x16 = 0;
    m->row_bytes = ob_format_get_at(fmt, OB_SIMD_SCALAR)->row_bytes(cols);
    m->data = data;
    m->aux = NULL;
    m->in_keep = m->out_keep = NULL;
    m->in_full = m->out_full = 0;
    m->ops = ob_format_get(fmt);
}

size_t ob_matrix_bytes(const ob_matrix *m) {
    if (!m->row_bytes && ob_format_is_sparse(m->format)) return (size_t)((const int64_t *)m->aux)[m->rows];
    return m->row_bytes * (size_t)m->rows;
}

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
#include "kernels/matrix.h"

enum { MIN_TOKENS_PER_TASK = 32 };

typedef struct {
    const ob_matrix *W;
    const ob_format_ops *ops;
    const float *X;
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
        if (hi - lo == 1) j->ops->matvec(W, j->X + lo * W->cols, j->Y + lo * W->rows, 0, W->rows);
        else j->ops->matmul(W, j->X + lo * W->cols, hi - lo, j->Y + lo * W->rows, W->rows, 0,
                            W->rows);
        return;
    }
    split_range(W->rows, i, n_tasks, 16, &lo, &hi);
    if (lo >= hi) return;
    if (j->n == 1) j->ops->matvec(W, j->X, j->Y, lo, hi);
    else j->ops->matmul(W, j->X, j->n, j->Y, W->rows, lo, hi);
}

void ob_linear(ob_pool *pool, const ob_matrix *W, const float *X, int64_t n, float *Y) {
    if (n <= 0 || W->rows <= 0) return;
    linear_job j = {W, W->ops, X, Y, n, 0};
    int tasks = ob_pool_size(pool);
    if (n == 1) {
        if (W->rows < 64) tasks = 1;
    } else if (W->rows < 32 * (int64_t)tasks) {
        if (n >= MIN_TOKENS_PER_TASK * (int64_t)tasks) j.split_tokens = 1;
        else if (W->rows < 64) tasks = 1;
    }
    ob_pool_run(pool, linear_task, &j, tasks);
}

typedef struct {
    const ob_matrix *const *Ws;
    int n_mats;
    const float *x;
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
        if (lo < hi) W->ops->matvec(W, j->x, j->ys[k], lo, hi);
    }
}

void ob_linear_multi(ob_pool *pool, const ob_matrix *const *Ws, int n_mats, const float *X, int64_t n,
                     float *const *Ys) {
    if (n != 1) {
        for (int k = 0; k < n_mats; k++) ob_linear(pool, Ws[k], X, n, Ys[k]);
        return;
    }
    multi_job j = {Ws, n_mats, X, Ys};
    ob_pool_run(pool, multi_task, &j, ob_pool_size(pool));
}

void ob_matrix_init(ob_matrix *m, ob_format fmt, int64_t rows, int64_t cols, const void *data) {
    m->rows = rows;
    m->cols = cols;
    m->format = fmt;
    m->row_bytes = ob_format_get_at(fmt, OB_SIMD_SCALAR)->row_bytes(cols);
    m->data = data;
    m->aux = NULL;
    m->ops = ob_format_get(fmt);
}

size_t ob_matrix_bytes(const ob_matrix *m) { return m->row_bytes * (size_t)m->rows; }

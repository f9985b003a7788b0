/* linear.c - Y = X . W^T with the rows of W split across the thread pool. */
#include "kernels/matrix.h"

typedef struct {
    const ob_matrix *W;
    const ob_format_ops *ops;
    const float *X;
    float *Y;
    int64_t n;
} linear_job;

static void linear_task(void *arg, int i, int n_tasks) {
    linear_job *j = arg;
    int64_t rows = j->W->rows;
    /* split on multiples of 16 rows so SIMD kernels see whole tiles */
    int64_t per = ((rows + n_tasks - 1) / n_tasks + 15) & ~(int64_t)15;
    int64_t r0 = per * i, r1 = r0 + per < rows ? r0 + per : rows;
    if (r0 >= r1) return;
    if (j->n == 1) j->ops->matvec(j->W, j->X, j->Y, r0, r1);
    else j->ops->matmul(j->W, j->X, j->n, j->Y, j->W->rows, r0, r1);
}

void ob_linear(ob_pool *pool, const ob_matrix *W, const float *X, int64_t n, float *Y) {
    linear_job j = {W, W->ops, X, Y, n};
    int tasks = ob_pool_size(pool);
    if (W->rows < 64) tasks = 1;
    ob_pool_run(pool, linear_task, &j, tasks);
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

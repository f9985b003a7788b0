/* awq.c - AWQ's scale search (awq.h). */
#include "compress/awq.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

ob_awq_params ob_awq_default_params(void) {
    ob_awq_params p = {{4, 128, 0}, 20, NULL, NULL};
    return p;
}

int ob_awq_search(const float *X, int64_t n, int64_t cols, const float *const *Ws, const int64_t *rows, int n_w,
                  const ob_awq_params *p, float *scales, ob_awq_stats *st, ob_err *err) {
    if (n < 1 || n_w < 1) return ob_fail(err, OB_EINVAL, "awq: no calibration inputs or no weights");
    int64_t max_rows = 0, total_rows = 0;
    for (int k = 0; k < n_w; k++) {
        if (rows[k] > max_rows) max_rows = rows[k];
        total_rows += rows[k];
    }
    const int n_grid = p->n_grid > 0 ? p->n_grid : 20;
    double *xmean = calloc((size_t)cols, sizeof *xmean);
    float *s = malloc((size_t)cols * sizeof *s), *Wt = malloc((size_t)(max_rows * cols) * sizeof *Wt);
    float *Yq = malloc((size_t)(n * max_rows) * sizeof *Yq);
    int rc = 0;
    if (!xmean || !s || !Wt || !Yq) {
        rc = ob_fail(err, OB_ENOMEM, "awq: out of memory for %lld tokens x %lld rows", (long long)n,
                     (long long)max_rows);
        goto done;
    }
    for (int64_t t = 0; t < n; t++)
        for (int64_t c = 0; c < cols; c++) xmean[c] += fabs((double)X[t * cols + c]);
    for (int64_t c = 0; c < cols; c++) xmean[c] /= (double)n;
    double best = INFINITY;
    st->ratio = 0;
    for (int g = 0; g < n_grid; g++) {
        double ratio = (double)g / n_grid, mx = 0, mn = INFINITY;
        for (int64_t c = 0; c < cols; c++) {
            double v = pow(xmean[c], ratio);
            if (v < 1e-4) v = 1e-4;
            s[c] = (float)v;
            if (v > mx) mx = v;
            if (v < mn) mn = v;
        }
        float norm = (float)sqrt(mx * mn);
        for (int64_t c = 0; c < cols; c++) s[c] /= norm;
        double loss = 0;
        for (int k = 0; k < n_w; k++) {
            const int64_t R = rows[k];
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < cols; c++) Wt[r * cols + c] = Ws[k][r * cols + c] * s[c];
            if (p->fake_quant) p->fake_quant(p->fq_user, Wt, R, cols);
            else ob_qgrid_rtn(Wt, R, cols, &p->q, Wt, NULL, NULL, NULL);
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < cols; c++) Wt[r * cols + c] /= s[c];
            /* Y - Yq = X (W - W')^T, with the difference formed first */
            for (int64_t i = 0; i < R * cols; i++) Wt[i] = Ws[k][i] - Wt[i];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)R, (int)cols, 1.0f, X, (int)cols, Wt,
                        (int)cols, 0.0f, Yq, (int)R);
            for (int64_t i = 0; i < n * R; i++) loss += (double)Yq[i] * Yq[i];
        }
        loss /= (double)(n * total_rows);
        if (g == 0) st->loss_rtn = loss;
        if (loss < best) {
            best = loss;
            st->ratio = ratio;
            memcpy(scales, s, (size_t)cols * sizeof *s);
        }
    }
    st->loss = best;
done:
    free(xmean);
    free(s);
    free(Wt);
    free(Yq);
    return rc;
}

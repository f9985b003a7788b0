/* gptq.c - GPTQ for one linear layer (gptq.h). */
#include "compress/gptq.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int ob_hessian_init(ob_hessian *H, int64_t cols, ob_err *err) {
    memset(H, 0, sizeof *H);
    H->cols = cols;
    H->h = calloc((size_t)(cols * cols), sizeof *H->h);
    if (!H->h) return ob_fail(err, OB_ENOMEM, "gptq: out of memory for a %lld x %lld Hessian", (long long)cols,
                              (long long)cols);
    return 0;
}

void ob_hessian_free(ob_hessian *H) {
    free(H->h);
    free(H->inv);
    H->h = NULL;
    H->inv = NULL;
}

/* H->h holds sum x x^T (upper triangle, row-major); the 2/N comes later.
 * Each chunk of rows is multiplied in float32 (ssyrk, as the reference
 * accumulates on the GPU) and added to the float64 total, so a long
 * calibration run does not lose small contributions. */
int ob_hessian_add(ob_hessian *H, const float *X, int64_t n, ob_err *err) {
    const int64_t C = H->cols, chunk = 2048;
    free(H->inv); /* H changes: the cached factor no longer holds */
    H->inv = NULL;
    float *part = malloc((size_t)(C * C) * sizeof *part);
    if (!part) return ob_fail(err, OB_ENOMEM, "gptq: out of memory for a %lld x %lld Hessian chunk", (long long)C,
                              (long long)C);
    for (int64_t t0 = 0; t0 < n; t0 += chunk) {
        int64_t m = n - t0 < chunk ? n - t0 : chunk;
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)C, (int)m, 1.0f, X + t0 * C, (int)C, 0.0f, part, (int)C);
        for (int64_t i = 0; i < C; i++)
            for (int64_t j = i; j < C; j++) H->h[i * C + j] += part[i * C + j];
    }
    H->n += n;
    free(part);
    return 0;
}

ob_gptq_params ob_gptq_default_params(void) {
    ob_gptq_params p = {{4, 128, 0}, 0.01, 128, 0, NULL, NULL, 0.0, 0};
    return p;
}

void ob_gptq_result_free(ob_gptq_result *r) {
    free(r->qint);
    free(r->wq);
    free(r->scales);
    free(r->zeros);
    free(r->g_idx);
    free(r->perm);
    free(r->keep);
    memset(r, 0, sizeof *r);
}

/* 2/N sum x x^T, both triangles */
static void full_hessian(const ob_hessian *H, double *out) {
    const int64_t C = H->cols;
    const double s = H->n > 0 ? 2.0 / (double)H->n : 0.0;
    for (int64_t i = 0; i < C; i++)
        for (int64_t j = i; j < C; j++) out[i * C + j] = out[j * C + i] = s * H->h[i * C + j];
}

static int by_diag_desc(const void *a, const void *b, void *key) {
    const double *k = key;
    double x = k[*(const int32_t *)a], y = k[*(const int32_t *)b];
    if (x != y) return x > y ? -1 : 1;
    return *(const int32_t *)a - *(const int32_t *)b; /* stable */
}

/* U with H^-1 = U^T U, into Uf (float, upper, row-major); raises damp. */
static int inverse_factor(const double *Hp, int64_t C, double damp, float *Uf, double *damp_used, int *raised,
                          ob_err *err) {
    double *A = malloc((size_t)(C * C) * sizeof *A);
    if (!A) return ob_fail(err, OB_ENOMEM, "gptq: out of memory");
    double mean = 0;
    for (int64_t i = 0; i < C; i++) mean += Hp[i * C + i];
    mean /= (double)C;
    int info = 1;
    for (*raised = 0; damp <= 1.0 + 1e-12; damp *= 10, (*raised)++) {
        memcpy(A, Hp, (size_t)(C * C) * sizeof *A);
        for (int64_t i = 0; i < C; i++) A[i * C + i] += damp * mean;
        info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)C, A, (lapack_int)C);
        if (info) continue;
        info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)C, A, (lapack_int)C);
        if (info) continue;
        for (int64_t i = 0; i < C; i++)
            for (int64_t j = 0; j < i; j++) A[j * C + i] = A[i * C + j];
        info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)C, A, (lapack_int)C);
        if (!info) break;
    }
    if (info) {
        free(A);
        return ob_fail(err, OB_EINVAL, "gptq: the Hessian is not positive definite even with damp %.2g", damp / 10);
    }
    *damp_used = damp;
    for (int64_t i = 0; i < C; i++)
        for (int64_t j = 0; j < C; j++) Uf[i * C + j] = j >= i ? (float)A[i * C + j] : 0.0f;
    free(A);
    return 0;
}

/* The grid of n weights w, the ones keep marks pruned counted as 0. */
static void fit_masked(const float *w, const uint8_t *keep, int64_t n, const ob_qspec *q, float *buf, float *scale,
                       float *zero) {
    if (keep) {
        for (int64_t j = 0; j < n; j++) buf[j] = keep[j] ? w[j] : 0.0f;
        w = buf;
    }
    ob_qgrid_fit(w, n, q, scale, zero);
}

/* SparseGPT's mask over block columns [i1 + j0, i1 + j0 + n) of W1 (the
 * block's current weights, rows x nb): scores W^2 / U_jj^2 into S, then
 * the pattern's selection (N:M per row; otherwise over the whole slice, as
 * the reference thresholds the block). */
static int sparsegpt_select(const float *W1, const float *U, int64_t C, int64_t rows, int64_t i1, int64_t nb,
                            int64_t j0, int64_t n, const ob_gptq_params *p, float *S, uint8_t *keep, ob_err *err) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) {
            const float w = W1[r * nb + j0 + j], d = U[(i1 + j0 + j) * C + i1 + j0 + j];
            S[r * n + j] = w * w / (d * d);
        }
    uint8_t *k = malloc((size_t)(rows * n));
    if (!k) return ob_fail(err, OB_ENOMEM, "sparsegpt: out of memory");
    int rc = ob_prune_select(S, rows, n, p->prune, p->sparsity, 0, k, err);
    for (int64_t r = 0; !rc && r < rows; r++) memcpy(keep + r * C + i1 + j0, k + r * n, (size_t)n);
    free(k);
    return rc;
}

int ob_gptq_quantize(const float *W0, int64_t rows, int64_t C, ob_hessian *H, const ob_gptq_params *p,
                     ob_gptq_result *res, ob_err *err) {
    memset(res, 0, sizeof *res);
    const ob_qspec *q = &p->q;
    if (H->cols != C) return ob_fail(err, OB_EINVAL, "gptq: Hessian of %lld columns for a weight of %lld",
                                     (long long)H->cols, (long long)C);
    if (H->n < 1) return ob_fail(err, OB_EINVAL, "gptq: no calibration inputs");
    if (!p->no_quant && (q->bits < 2 || q->bits > 8)) return ob_fail(err, OB_EINVAL, "gptq: %d bits (2 to 8)", q->bits);
    const int pruning = p->keep || p->prune;
    if (pruning && p->act_order) return ob_fail(err, OB_EINVAL, "gptq: act-order and pruning together");
    if (p->no_quant && !pruning) return ob_fail(err, OB_EINVAL, "gptq: nothing to do (no grid and no pruning)");
    const int64_t G = q->group_size > 0 ? q->group_size : C;
    const int64_t B = p->block > 0 ? p->block : 128, NG = (C + G - 1) / G; /* the last group may be short */
    const int maxq = (1 << q->bits) - 1;
    const double damp = p->damp > 0 ? p->damp : 0.01;
    double *Hp = NULL, *diag = malloc((size_t)C * sizeof *diag);
    float *W = malloc((size_t)(rows * C) * sizeof *W), *U = malloc((size_t)(C * C) * sizeof *U);
    float *W1 = malloc((size_t)(rows * B) * sizeof *W1), *E1 = malloc((size_t)(rows * B) * sizeof *E1);
    float *sc = calloc((size_t)rows, sizeof *sc), *ze = calloc((size_t)rows, sizeof *ze);
    res->qint = malloc((size_t)(rows * C));
    res->wq = malloc((size_t)(rows * C) * sizeof *res->wq);
    res->scales = malloc((size_t)(rows * NG) * sizeof *res->scales);
    res->zeros = malloc((size_t)(rows * NG) * sizeof *res->zeros);
    res->g_idx = malloc((size_t)C * sizeof *res->g_idx);
    res->perm = malloc((size_t)C * sizeof *res->perm);
    res->keep = pruning ? malloc((size_t)(rows * C)) : NULL;
    float *S = p->prune ? malloc((size_t)(rows * B) * sizeof *S) : NULL; /* SparseGPT's scores */
    float *gbuf = malloc((size_t)(G > C ? C : G) * sizeof *gbuf);
    int rc = 0;
    if (!diag || !W || !U || !W1 || !E1 || !sc || !ze || !res->qint || !res->wq || !res->scales || !res->zeros ||
        !res->g_idx || !res->perm || (pruning && !res->keep) || (p->prune && !S) || !gbuf) {
        rc = ob_fail(err, OB_ENOMEM, "gptq: out of memory for a %lld x %lld layer", (long long)rows, (long long)C);
        goto done;
    }
    res->n_groups = NG;
    /* dead columns (never active: diag 0 -> 1, weights 0) and the order */
    memcpy(W, W0, (size_t)(rows * C) * sizeof *W);
    for (int64_t c = 0; c < C; c++) {
        diag[c] = 2.0 / (double)H->n * H->h[c * C + c];
        if (diag[c] == 0.0) {
            diag[c] = 1.0;
            for (int64_t r = 0; r < rows; r++) W[r * C + c] = 0.0f;
            res->n_dead++;
        }
        res->perm[c] = (int32_t)c;
    }
    if (p->act_order) {
        qsort_r(res->perm, (size_t)C, sizeof *res->perm, by_diag_desc, diag);
        for (int64_t r = 0; r < rows; r++) { /* W's columns, through U's first row */
            for (int64_t j = 0; j < C; j++) U[j] = W[r * C + res->perm[j]];
            memcpy(W + r * C, U, (size_t)C * sizeof *W);
        }
    }
    if (H->inv && H->inv_act_order == (p->act_order != 0) && H->inv_damp_asked == damp) {
        memcpy(U, H->inv, (size_t)(C * C) * sizeof *U); /* the same inputs as the last linear layer */
        res->damp_used = H->inv_damp;
        res->damp_raised = H->inv_raised;
    } else {
        if (!(Hp = malloc((size_t)(C * C) * sizeof *Hp))) {
            rc = ob_fail(err, OB_ENOMEM, "gptq: out of memory");
            goto done;
        }
        full_hessian(H, Hp);
        for (int64_t c = 0; c < C; c++)
            if (Hp[c * C + c] == 0.0) Hp[c * C + c] = 1.0;
        if (p->act_order) { /* H's rows and columns in the same order */
            double *Hq = malloc((size_t)(C * C) * sizeof *Hq);
            if (!Hq) {
                rc = ob_fail(err, OB_ENOMEM, "gptq: out of memory");
                goto done;
            }
            for (int64_t i = 0; i < C; i++)
                for (int64_t j = 0; j < C; j++) Hq[i * C + j] = Hp[(int64_t)res->perm[i] * C + res->perm[j]];
            free(Hp);
            Hp = Hq;
        }
        if ((rc = inverse_factor(Hp, C, damp, U, &res->damp_used, &res->damp_raised, err))) goto done;
        free(H->inv);
        if ((H->inv = malloc((size_t)(C * C) * sizeof *H->inv))) {
            memcpy(H->inv, U, (size_t)(C * C) * sizeof *U);
            H->inv_damp_asked = damp;
            H->inv_damp = res->damp_used;
            H->inv_raised = res->damp_raised;
            H->inv_act_order = p->act_order != 0;
        }
    }
    if (p->keep) memcpy(res->keep, p->keep, (size_t)(rows * C));
    else if (pruning) memset(res->keep, 1, (size_t)(rows * C));
    if (q->group_size <= 0 && !p->no_quant) /* one grid per row, from the whole (permuted) row */
        for (int64_t r = 0; r < rows; r++) fit_masked(W + r * C, p->keep ? res->keep + r * C : NULL, C, q, gbuf, &sc[r], &ze[r]);
    double loss = 0;
    for (int64_t i1 = 0; i1 < C; i1 += B) {
        const int64_t i2 = i1 + B < C ? i1 + B : C, nb = i2 - i1;
        for (int64_t r = 0; r < rows; r++) memcpy(W1 + r * nb, W + r * C + i1, (size_t)nb * sizeof *W1);
        const int nm = p->prune && p->prune->kind == OB_PAT_NM;
        if (p->prune && !nm && (rc = sparsegpt_select(W1, U, C, rows, i1, nb, 0, nb, p, S, res->keep, err))) goto done;
        for (int64_t i = 0; i < nb; i++) {
            const int64_t col = i1 + i;
            if (nm && i % p->prune->m == 0 &&
                (rc = sparsegpt_select(W1, U, C, rows, i1, nb, i, p->prune->m, p, S, res->keep, err)))
                goto done;
            /* as the reference: a group's grid comes from W, which holds the
             * values from before this block's in-block updates; pruned
             * weights known by now count as 0 */
            if (q->group_size > 0 && col % G == 0 && !p->no_quant)
                for (int64_t r = 0; r < rows; r++)
                    fit_masked(W + r * C + col, pruning && !nm ? res->keep + r * C + col : NULL,
                               col + G <= C ? G : C - col, q, gbuf, &sc[r], &ze[r]);
            const float d = U[col * C + col];
            for (int64_t r = 0; r < rows; r++) {
                float w = W1[r * nb + i];
                const int kept = !pruning || res->keep[r * C + col];
                int qi = p->no_quant ? 0 : kept ? ob_qgrid_int(w, sc[r], ze[r], maxq) : (int)ze[r];
                float wq = !kept ? 0.0f : p->no_quant ? w : ob_qgrid_deq(qi, sc[r], ze[r]);
                int64_t at = r * C + res->perm[col];
                res->qint[at] = (uint8_t)qi;
                res->wq[at] = wq;
                float e = (w - wq) / d;
                loss += 0.5 * (double)e * (double)e;
                E1[r * nb + i] = e;
                const float *u = U + col * C + i1;
                float *w1 = W1 + r * nb;
                for (int64_t j = i + 1; j < nb; j++) w1[j] -= e * u[j];
            }
            if (q->group_size > 0 && col % G == 0)
                for (int64_t r = 0; r < rows; r++) {
                    res->scales[r * NG + col / G] = sc[r];
                    res->zeros[r * NG + col / G] = ze[r];
                }
        }
        if (i2 < C)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)(C - i2), (int)nb, -1.0f, E1,
                        (int)nb, U + i1 * C + i2, (int)C, 1.0f, W + i2, (int)C);
    }
    if (q->group_size <= 0)
        for (int64_t r = 0; r < rows; r++) {
            res->scales[r] = sc[r];
            res->zeros[r] = ze[r];
        }
    for (int64_t j = 0; j < C; j++) res->g_idx[res->perm[j]] = (int32_t)(j / G);
    res->loss = loss;
done:
    free(Hp);
    free(diag);
    free(W);
    free(U);
    free(W1);
    free(E1);
    free(sc);
    free(ze);
    free(S);
    free(gbuf);
    if (rc) ob_gptq_result_free(res);
    return rc;
}

double ob_gptq_output_error(const float *W, const float *Wq, int64_t rows, int64_t C, const ob_hessian *H) {
    /* trace(D H D^T) / 2 with D = W - Wq: D and H in float32 (sgemm), the
     * final sum in float64 */
    float *Hf = malloc((size_t)(C * C) * sizeof *Hf);
    float *D = calloc((size_t)(rows * C), sizeof *D), *T = malloc((size_t)(rows * C) * sizeof *T);
    double total = NAN;
    if (Hf && D && T) {
        const double s = H->n > 0 ? 2.0 / (double)H->n : 0.0;
        for (int64_t i = 0; i < C; i++)
            for (int64_t j = i; j < C; j++) Hf[i * C + j] = Hf[j * C + i] = (float)(s * H->h[i * C + j]);
        for (int64_t i = 0; i < rows * C; i++) D[i] = W[i] - Wq[i];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)C, (int)C, 1.0f, D, (int)C, Hf, (int)C,
                    0.0f, T, (int)C);
        total = 0;
        for (int64_t i = 0; i < rows * C; i++) total += (double)D[i] * T[i];
        total /= 2.0;
    }
    free(Hf);
    free(D);
    free(T);
    return total;
}

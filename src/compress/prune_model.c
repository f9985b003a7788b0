/* prune_model.c - magnitude, Wanda and SparseGPT over a whole model,
 * layer by layer (prune.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/gptq.h"
#include "compress/layerwise.h"
#include "compress/prune.h"
#include "kernels/sparse.h"
#include "model/context.h"
#include "model/model.h"

static const char *const method_names[] = {"magnitude", "wanda", "sparsegpt"};

int ob_prune_check(const ob_model *m, const ob_prune_params *p, int n_calib, ob_err *err) {
    const ob_pattern *pat = &p->pattern;
    const char *meth = (unsigned)p->method < 3 ? method_names[p->method] : NULL;
    if (!meth) return ob_fail(err, OB_EINVAL, "prune: unknown method %d", (int)p->method);
    if (pat->kind != OB_PAT_NM && !(p->sparsity >= 0.0 && p->sparsity < 1.0))
        return ob_fail(err, OB_EINVAL, "prune: sparsity %g is outside [0, 1)", p->sparsity);
    if (pat->kind == OB_PAT_NM && (pat->n < 1 || pat->m < 1 || pat->n > pat->m))
        return ob_fail(err, OB_EINVAL, "prune: N:M needs 0 < N <= M (got %d:%d)", pat->n, pat->m);
    if (p->quant_bits && p->quant_bits != 4 && p->quant_bits != 8)
        return ob_fail(err, OB_EINVAL, "prune: quantization to %d bits (4 or 8)", p->quant_bits);
    if (p->quant_bits && (p->quant_group < 32 || p->quant_group % 32))
        return ob_fail(err, OB_EINVAL, "prune: quantization group %d (a multiple of 32)", p->quant_group);
    if (p->global && (p->method != OB_PRUNE_MAGNITUDE || pat->kind != OB_PAT_UNSTRUCTURED))
        return ob_fail(err, OB_EINVAL, "prune: a global threshold is for unstructured magnitude pruning");
    const int needs = p->method != OB_PRUNE_MAGNITUDE || p->quant_bits;
    if (needs && n_calib < 1)
        return ob_fail(err, OB_EINVAL, "prune: %s%s needs calibration data and none was given", meth,
                       p->quant_bits ? " with quantization" : "");
    const int B = p->block > 0 ? p->block : 128;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        ob_linref ls[7];
        int nl = ob_layer_linears((ob_model *)m, l, ls);
        for (int k = 0; k < nl; k++) {
            const ob_matrix *w = ls[k].mat;
            const long long R = w->rows, C = w->cols;
            if (ob_matrix_has_maps(w) || ob_format_is_sparse(w->format))
                return ob_fail(err, OB_EUNSUP, "prune: blk.%d.%s is already %s-pruned; prune the dense model", l,
                               ls[k].name, ob_matrix_has_maps(w) ? "channel" : "mask");
            if (pat->kind == OB_PAT_NM && C % pat->m)
                return ob_fail(err, OB_EINVAL, "prune: %d:%d does not divide blk.%d.%s's %lld columns", pat->n,
                               pat->m, l, ls[k].name, C);
            if (pat->kind == OB_PAT_BLOCK && (R % pat->bh || C % pat->bw))
                return ob_fail(err, OB_EINVAL, "prune: block %dx%d does not divide blk.%d.%s (%lld x %lld)", pat->bh,
                               pat->bw, l, ls[k].name, R, C);
            if (p->method == OB_PRUNE_SPARSEGPT && pat->kind == OB_PAT_BLOCK && B % pat->bw)
                return ob_fail(err, OB_EINVAL, "prune: sparsegpt visits %d columns at a time; block width %d must "
                               "divide it", B, pat->bw);
            if (p->method == OB_PRUNE_SPARSEGPT && pat->kind == OB_PAT_NM && B % pat->m)
                return ob_fail(err, OB_EINVAL, "prune: sparsegpt's block of %d columns is not a multiple of M = %d",
                               B, pat->m);
            if (p->quant_bits && C % 32)
                return ob_fail(err, OB_EINVAL, "prune: blk.%d.%s has %lld columns, not a multiple of 32", l,
                               ls[k].name, C);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- state */

typedef struct {
    ob_model *m;
    const ob_prune_params *p;
    ob_prune_report *rep;
    int layer, rc, calibrated;
    ob_hessian H[OB_N_SITES];
    double *sumsq[OB_N_SITES];  /* Wanda: sum over tokens of x_j^2 */
    float global_t;             /* magnitude, global: the threshold and */
    int64_t global_ties;        /* how many equal to it still go       */
    ob_err *err;
} pr_state;

static float *dequant(const ob_matrix *w) {
    float *f = malloc((size_t)(w->rows * w->cols) * sizeof *f);
    for (int64_t r = 0; f && r < w->rows; r++) w->ops->dequant_row(w, r, f + r * w->cols);
    return f;
}

static uint32_t absbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u & 0x7fffffffu;
}

/* The mask of one matrix by magnitude or Wanda. */
static int select_mask(pr_state *s, const float *W, int64_t R, int64_t C, int site, uint8_t *keep, ob_err *err) {
    const ob_prune_params *p = s->p;
    if (p->global) { /* the precomputed threshold; ties in model order */
        memset(keep, 1, (size_t)(R * C));
        const uint32_t kt = absbits(s->global_t);
        for (int64_t i = 0; i < R * C; i++) {
            uint32_t u = absbits(W[i]);
            if (u < kt || (u == kt && s->global_ties-- > 0)) keep[i] = 0;
        }
        return 0;
    }
    float *score = malloc((size_t)(R * C) * sizeof *score);
    if (!score) return ob_fail(err, OB_ENOMEM, "prune: out of memory");
    const int wanda = p->method == OB_PRUNE_WANDA;
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < C; c++)
            score[r * C + c] = fabsf(W[r * C + c]) * (wanda ? (float)sqrt(s->sumsq[site][c]) : 1.0f);
    int rc = ob_prune_select(score, R, C, &p->pattern, p->sparsity, wanda, keep, err);
    free(score);
    return rc;
}

/* Prunes (and quantizes) one matrix in place: it becomes model-owned f32. */
static int prune_one(pr_state *s, int l, const ob_linref *lr, ob_prune_tensor *t, ob_err *err) {
    const ob_prune_params *p = s->p;
    ob_matrix *w = lr->mat;
    const int64_t R = w->rows, C = w->cols;
    snprintf(t->name, sizeof t->name, "blk.%d.%s.weight", l, lr->name);
    t->rows = R, t->cols = C;
    t->err = NAN;
    float *W = dequant(w);
    float *out = ob_model_alloc(s->m, (size_t)(R * C) * sizeof *out);
    t->keep = malloc((size_t)(R * C));
    if (!W || !out || !t->keep) {
        free(W);
        return ob_fail(err, OB_ENOMEM, "prune: out of memory for %s", t->name);
    }
    int rc = 0;
    const int sgpt = p->method == OB_PRUNE_SPARSEGPT;
    if (!sgpt) rc = select_mask(s, W, R, C, lr->site, t->keep, err);
    if (!rc && (sgpt || p->quant_bits)) { /* through GPTQ's column loop */
        ob_gptq_params gp = ob_gptq_default_params();
        gp.q = (ob_qspec){p->quant_bits, p->quant_group, 1};
        gp.damp = p->damp;
        gp.block = p->block;
        gp.keep = sgpt ? NULL : t->keep;
        gp.prune = sgpt ? &p->pattern : NULL;
        gp.sparsity = p->sparsity;
        gp.no_quant = !p->quant_bits;
        ob_gptq_result r;
        if (!(rc = ob_gptq_quantize(W, R, C, &s->H[lr->site], &gp, &r, err))) {
            memcpy(out, r.wq, (size_t)(R * C) * sizeof *out);
            memcpy(t->keep, r.keep, (size_t)(R * C));
            if (p->quant_bits) { /* hand the scales over */
                t->scales = r.scales;
                r.scales = NULL;
            }
            ob_gptq_result_free(&r);
        }
    } else if (!rc) {
        for (int64_t i = 0; i < R * C; i++) out[i] = t->keep[i] ? W[i] : 0.0f;
    }
    if (!rc) {
        for (int64_t i = 0; i < R * C; i++) t->n_pruned += !t->keep[i];
        if (s->calibrated && p->measure) t->err = ob_gptq_output_error(W, out, R, C, &s->H[lr->site]);
        ob_matrix_init(w, OB_FMT_F32, R, C, out);
        s->rep->n_weights += R * C;
        s->rep->n_pruned += t->n_pruned;
    }
    free(W);
    return rc;
}

static int prune_layer(pr_state *s, int l, ob_err *err) {
    ob_linref ls[7];
    int nl = ob_layer_linears(s->m, l, ls), rc = 0;
    for (int k = 0; k < nl && !rc; k++) {
        rc = prune_one(s, l, &ls[k], &s->rep->tensors[s->rep->n_tensors], err);
        s->rep->n_tensors++; /* counted even on failure, so its mask is freed */
    }
    return rc;
}

/* ------------------------------------------------- layerwise callbacks */

static int pr_begin(void *user, int l, ob_err *err) {
    pr_state *s = user;
    const ob_layer *L = &s->m->layers[l];
    const int64_t D = s->m->cfg.dim;
    const int64_t widths[OB_N_SITES] = {D, (int64_t)L->n_heads * s->m->cfg.head_dim, D, L->ffn_dim};
    const int hess = s->p->method == OB_PRUNE_SPARSEGPT || s->p->quant_bits || s->p->measure;
    s->layer = l;
    s->rc = 0;
    for (int k = 0; k < OB_N_SITES; k++) {
        if (hess) {
            int rc = ob_hessian_init(&s->H[k], widths[k], err);
            if (rc) return rc;
        }
        if (s->p->method == OB_PRUNE_WANDA && !(s->sumsq[k] = calloc((size_t)widths[k], sizeof(double))))
            return ob_fail(err, OB_ENOMEM, "prune: out of memory");
    }
    return 0;
}

static void pr_observe(void *user, int layer, int site, const float *X, int n, int cols) {
    pr_state *s = user;
    if (layer != s->layer || s->rc) return;
    if (s->H[site].h) s->rc = ob_hessian_add(&s->H[site], X, n, s->err);
    if (s->sumsq[site])
        for (int i = 0; i < n; i++)
            for (int c = 0; c < cols; c++) s->sumsq[site][c] += (double)X[(int64_t)i * cols + c] * X[(int64_t)i * cols + c];
}

static int pr_process(void *user, int l, ob_err *err) { return prune_layer(user, l, err); }

static void pr_end(void *user, int l) {
    pr_state *s = user;
    for (int k = 0; k < OB_N_SITES; k++) {
        if (s->H[k].h) ob_hessian_free(&s->H[k]);
        free(s->sumsq[k]);
        s->sumsq[k] = NULL;
    }
}

/* magnitude, global: the k-th smallest |w| over every pruned matrix */
static int global_threshold(pr_state *s, ob_err *err) {
    const int nl_max = 7 * s->m->cfg.n_layers;
    const float **arr = calloc((size_t)nl_max, sizeof *arr);
    int64_t *len = calloc((size_t)nl_max, sizeof *len), total = 0;
    int n = 0, rc = 0;
    if (!arr || !len) rc = ob_fail(err, OB_ENOMEM, "prune: out of memory");
    for (int l = 0; l < s->m->cfg.n_layers && !rc; l++) {
        ob_linref ls[7];
        int nl = ob_layer_linears(s->m, l, ls);
        for (int k = 0; k < nl && !rc; k++) {
            float *W = dequant(ls[k].mat);
            if (!W) {
                rc = ob_fail(err, OB_ENOMEM, "prune: out of memory");
                break;
            }
            arr[n] = W;
            len[n] = ls[k].mat->rows * ls[k].mat->cols;
            total += len[n++];
        }
    }
    const int64_t drop = (int64_t)floor(s->p->sparsity * (double)total);
    if (!rc && drop > 0) {
        int64_t below;
        s->global_t = ob_kth_smallest(arr, len, n, drop - 1, &below);
        s->global_ties = drop - below;
    } else {
        s->global_t = 0.0f, s->global_ties = 0; /* nothing goes: no value is below +0 */
    }
    for (int i = 0; i < n; i++) free((void *)arr[i]);
    free(arr);
    free(len);
    return rc;
}

int ob_model_prune(ob_model *m, ob_pool *pool, const int32_t *calib, int n_samples, int seqlen,
                   const ob_prune_params *p, ob_prune_report *rep, ob_err *err) {
    memset(rep, 0, sizeof *rep);
    const int calibrated = calib && n_samples > 0;
    int rc = ob_prune_check(m, p, calibrated ? n_samples : 0, err);
    if (rc) return rc;
    const double t0 = ob_now();
    rep->tensors = calloc((size_t)m->cfg.n_layers * 7, sizeof *rep->tensors);
    if (!rep->tensors) return ob_fail(err, OB_ENOMEM, "prune: out of memory");
    pr_state s = {.m = m, .p = p, .rep = rep, .calibrated = calibrated, .err = err, .global_ties = 0};
    if (p->global) rc = global_threshold(&s, err);
    if (!rc && calibrated) {
        rep->tokens = (int64_t)n_samples * seqlen;
        ob_layerwise lw = {pr_begin, pr_observe, pr_process, pr_end, &s.rc, &s, p->batch_tokens,
                           p->progress, p->progress_user};
        rc = ob_layerwise_run(m, pool, calib, n_samples, seqlen, &lw, err);
    } else {
        for (int l = 0; l < m->cfg.n_layers && !rc; l++) {
            rc = prune_layer(&s, l, err);
            if (!rc && p->progress) p->progress(p->progress_user, l + 1, m->cfg.n_layers, ob_now() - t0);
        }
    }
    rep->seconds = ob_now() - t0;
    if (rc) ob_prune_report_free(rep);
    return rc;
}

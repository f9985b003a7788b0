/* quant_model.c - GPTQ and AWQ over a whole model (quant_model.h). */
#include "compress/quant_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/awq.h"
#include "compress/gptq.h"
#include "compress/layerwise.h"
#include "kernels/quant.h"
#include "kernels/sparse.h"
#include "model/context.h"
#include "model/model.h"

ob_qm_params ob_qm_default_params(void) {
    ob_qm_params p = {.method = OB_QM_GPTQ, .format = "i4_g128", .bits = 0, .sym = 0, .damp = 0.01,
                      .n_grid = 20, .awq_rows = 4096, .batch_tokens = 2048, .compare_rtn = 1};
    return p;
}

void ob_qm_report_free(ob_qm_report *r) {
    if (!r) return;
    free(r->tensors);
    r->tensors = NULL;
    r->n_tensors = 0;
}

/* ------------------------------------------------------------ the state */

typedef ob_linref lin;

typedef struct {
    ob_model *m;
    const ob_qm_params *p;
    int layer;
    ob_hessian H[OB_N_SITES];       /* GPTQ                         */
    float *X[OB_N_SITES];           /* AWQ: kept input rows          */
    int64_t nX[OB_N_SITES], seen[OB_N_SITES], stride, cap;
    int rc;
    ob_err *err;
} qm_state;

static void observer(void *user, int layer, int site, const float *X, int n, int cols) {
    qm_state *s = user;
    if (layer != s->layer || s->rc) return;
    if (s->p->method == OB_QM_GPTQ) {
        s->rc = ob_hessian_add(&s->H[site], X, n, s->err);
        return;
    }
    for (int i = 0; i < n; i++, s->seen[site]++) {
        if (s->seen[site] % s->stride || s->nX[site] >= s->cap) continue;
        memcpy(s->X[site] + s->nX[site] * cols, X + (int64_t)i * cols, (size_t)cols * sizeof *X);
        s->nX[site]++;
    }
}

static float *dequant(const ob_matrix *w) {
    float *f = malloc((size_t)(w->rows * w->cols) * sizeof *f);
    for (int64_t r = 0; f && r < w->rows; r++) w->ops->dequant_row(w, r, f + r * w->cols);
    return f;
}

static double sqnr(const float *w, const ob_matrix *q, float *row) {
    double sw = 0, se = 0;
    for (int64_t r = 0; r < q->rows; r++) {
        q->ops->dequant_row(q, r, row);
        for (int64_t c = 0; c < q->cols; c++) {
            double a = w[r * q->cols + c], d = a - row[c];
            sw += a * a;
            se += d * d;
        }
    }
    return se > 0 ? 10 * log10(sw / se) : INFINITY;
}

/* A model-owned matrix of format f, rows filled by fill(row index, out). */
static int new_matrix(ob_model *m, ob_matrix *dst, ob_format f, int64_t rows, int64_t cols, ob_err *err) {
    const ob_format_ops *ops = ob_format_get(f);
    size_t bytes = ops->row_bytes(cols) * (size_t)rows;
    void *data = ob_model_alloc(m, bytes);
    if (!data) return ob_fail(err, OB_ENOMEM, "quantize: out of memory for %.1f MB", bytes / 1e6);
    ob_matrix_init(dst, f, rows, cols, data);
    return 0;
}

/* GPTQ's integers, scales and zero points of one row as a group-wise row;
 * hdr_s, hdr_z: room for n_groups entries. */
static void pack_gptq_row(ob_format f, const ob_gptq_result *r, int64_t row, int64_t cols, uint16_t *hdr_s,
                          int32_t *hdr_z, void *out) {
    for (int64_t g = 0; g < r->n_groups; g++) {
        hdr_s[g] = ob_f32_to_f16(r->scales[row * r->n_groups + g]);
        hdr_z[g] = (int32_t)r->zeros[row * r->n_groups + g];
    }
    ob_qgroup_pack_row(f, r->qint + row * cols, hdr_s, hdr_z, cols, out);
}

/* ---------------------------------------------------------------- GPTQ */

static void format_fake_quant(void *user, float *W, int64_t rows, int64_t cols);

static int gptq_layer(qm_state *s, ob_format f, lin *ls, int nl, ob_qm_tensor *out, ob_err *err) {
    const ob_qm_params *p = s->p;
    int bits = p->bits ? p->bits : (ob_qgroup_is_int8(f) ? 8 : 4);
    int rc = 0;
    for (int k = 0; k < nl && !rc; k++) {
        ob_matrix *w = ls[k].mat;
        const int64_t R = w->rows, C = w->cols, G = ob_qgroup_size(f, C);
        ob_qm_tensor *t = &out[k];
        snprintf(t->name, sizeof t->name, "blk.%d.%s.weight", s->layer, ls[k].name);
        t->rows = R, t->cols = C;
        if (C % OB_QK)
            return ob_fail(err, OB_EINVAL, "%s: %lld columns are not a multiple of %d", t->name, (long long)C, OB_QK);
        float *W = dequant(w), *rowbuf = malloc((size_t)C * sizeof *rowbuf);
        ob_gptq_result r = {0};
        ob_gptq_params gp = ob_gptq_default_params();
        gp.q = (ob_qspec){bits, (int)(G == C ? 0 : G), p->sym};
        gp.damp = p->damp;
        if (!W || !rowbuf) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", t->name);
        if (!rc) rc = ob_gptq_quantize(W, R, C, &s->H[ls[k].site], &gp, &r, err);
        ob_matrix q;
        if (!rc) rc = new_matrix(s->m, &q, f, R, C, err);
        uint16_t *hs = rc ? NULL : malloc((size_t)r.n_groups * sizeof *hs);
        int32_t *hz = rc ? NULL : malloc((size_t)r.n_groups * sizeof *hz);
        if (!rc && (!hs || !hz)) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", t->name);
        for (int64_t row = 0; !rc && row < R; row++)
            pack_gptq_row(f, &r, row, C, hs, hz, (uint8_t *)q.data + row * q.row_bytes);
        free(hs);
        free(hz);
        if (!rc) {
            /* errors of what is stored (fp16 scales), against RTN's */
            float *wq = malloc((size_t)(R * C) * sizeof *wq);
            if (!wq) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", t->name);
            for (int64_t row = 0; !rc && row < R; row++) q.ops->dequant_row(&q, row, wq + row * C);
            if (!rc) {
                t->err = ob_gptq_output_error(W, wq, R, C, &s->H[ls[k].site]);
                t->err_rtn = NAN;
                if (p->compare_rtn) { /* RTN at the same bits, group and grid, scales in fp16 as stored */
                    uint8_t *qi = malloc((size_t)(R * C));
                    float *rs = malloc((size_t)(R * r.n_groups) * sizeof *rs), *rz = malloc((size_t)(R * r.n_groups) * sizeof *rz);
                    if (qi && rs && rz) {
                        ob_qgrid_rtn(W, R, C, &gp.q, wq, qi, rs, rz);
                        for (int64_t i = 0; i < R * C; i++) {
                            int64_t g = (i % C) / G, at = (i / C) * r.n_groups + g;
                            wq[i] = ob_f16_to_f32(ob_f32_to_f16(rs[at])) * ((float)qi[i] - rz[at]);
                        }
                        t->err_rtn = ob_gptq_output_error(W, wq, R, C, &s->H[ls[k].site]);
                    }
                    free(qi), free(rs), free(rz);
                }
                t->sqnr_db = sqnr(W, &q, rowbuf);
                t->damp = r.damp_used;
                t->awq_ratio = NAN;
                *w = q;
            }
            free(wq);
        }
        ob_gptq_result_free(&r);
        free(W);
        free(rowbuf);
    }
    return rc;
}

/* ----------------------------------------------------------------- AWQ */

/* *v / s into a model-owned copy (nothing when *v is NULL). */
static int fold_vec(ob_model *m, const float **v, const float *s, int64_t n, ob_err *err) {
    if (!*v) return 0;
    float *c = ob_model_alloc(m, (size_t)n * sizeof *c);
    if (!c) return ob_fail(err, OB_ENOMEM, "quantize: out of memory");
    for (int64_t i = 0; i < n; i++) c[i] = (*v)[i] / s[i];
    *v = c;
    return 0;
}

/* AWQ's search models the target format exactly: W = deq(quant(W)), row
 * by row (user points at the ob_format). */
static void format_fake_quant(void *user, float *W, int64_t rows, int64_t cols) {
    const ob_format f = *(const ob_format *)user;
    const ob_format_ops *ops = ob_format_get(f);
    uint8_t *row = malloc(ops->row_bytes(cols));
    if (!row) return; /* the search then sees the unquantized error: 0 */
    ob_matrix one;
    ob_matrix_init(&one, f, 1, cols, row);
    for (int64_t r = 0; r < rows; r++) {
        ops->quantize_row(W + r * cols, cols, row);
        ops->dequant_row(&one, 0, W + r * cols);
    }
    free(row);
}

static int awq_layer(qm_state *s, ob_format f, lin *ls, int nl, ob_qm_tensor *out, ob_err *err) {
    ob_model *m = s->m;
    ob_layer *L = &m->layers[s->layer];
    const ob_qm_params *p = s->p;
    float *W[7] = {0};
    int rc = 0;
    for (int k = 0; k < nl; k++)
        if (!(W[k] = dequant(ls[k].mat))) rc = ob_fail(err, OB_ENOMEM, "quantize: out of memory");
    /* scale groups: the linears reading one site, and where the scales go */
    const int swiglu = m->cfg.act == OB_ACT_SWIGLU, mha = L->n_heads == L->n_kv_heads;
    ob_awq_params ap = ob_awq_default_params();
    ap.n_grid = p->n_grid;
    ap.fake_quant = format_fake_quant;
    ap.fq_user = &f;
    for (int site = 0; site < OB_N_SITES && !rc; site++) {
        if (site == OB_SITE_O && !mha) continue;
        if (site == OB_SITE_DOWN && !swiglu) continue;
        const float *Ws[3];
        int64_t rows[3];
        int idx[3], n = 0;
        for (int k = 0; k < nl; k++)
            if (ls[k].site == site) {
                idx[n] = k;
                Ws[n] = W[k];
                rows[n++] = ls[k].mat->rows;
            }
        const int64_t C = ls[idx[0]].mat->cols;
        float *sc = malloc((size_t)C * sizeof *sc);
        ob_awq_stats st;
        ob_awq_params gp = ap;
        gp.q.group_size = 0; /* the format's own grid decides (fake_quant) */
        if (!sc) rc = ob_fail(err, OB_ENOMEM, "quantize: out of memory");
        if (!rc) rc = ob_awq_search(s->X[site], s->nX[site], C, Ws, rows, n, &gp, sc, &st, err);
        for (int j = 0; !rc && j < n; j++) {
            float *w = W[idx[j]];
            for (int64_t r = 0; r < rows[j]; r++)
                for (int64_t c = 0; c < C; c++) w[r * C + c] *= sc[c];
            ob_qm_tensor *t = &out[idx[j]];
            t->err = st.loss;
            t->err_rtn = st.loss_rtn;
            t->awq_ratio = st.ratio;
        }
        /* fold 1/s into what produces this site's input */
        if (!rc && site == OB_SITE_QKV && !(rc = fold_vec(m, &L->attn_norm, sc, C, err)))
            rc = fold_vec(m, &L->attn_norm_b, sc, C, err);
        if (!rc && site == OB_SITE_GATE_UP && !(rc = fold_vec(m, &L->ffn_norm, sc, C, err)))
            rc = fold_vec(m, &L->ffn_norm_b, sc, C, err);
        for (int k = 0; !rc && k < nl; k++) {
            int prev = (site == OB_SITE_DOWN && ls[k].mat == &L->w_up) || (site == OB_SITE_O && ls[k].mat == &L->wv);
            if (!prev) continue;
            for (int64_t r = 0; r < ls[k].mat->rows; r++)
                for (int64_t c = 0; c < ls[k].mat->cols; c++) W[k][r * ls[k].mat->cols + c] /= sc[r];
            if (site == OB_SITE_O) rc = fold_vec(m, &L->bv, sc, C, err); /* v's bias, row by row */
        }
        free(sc);
    }
    /* round-to-nearest of the scaled weights in the target format */
    for (int k = 0; k < nl && !rc; k++) {
        ob_matrix *w = ls[k].mat, q;
        ob_qm_tensor *t = &out[k];
        snprintf(t->name, sizeof t->name, "blk.%d.%s.weight", s->layer, ls[k].name);
        t->rows = w->rows, t->cols = w->cols;
        t->damp = NAN;
        if (!(rc = new_matrix(m, &q, f, w->rows, w->cols, err))) {
            for (int64_t r = 0; r < w->rows; r++)
                q.ops->quantize_row(W[k] + r * w->cols, w->cols, (uint8_t *)q.data + r * q.row_bytes);
            float *row = malloc((size_t)w->cols * sizeof *row);
            t->sqnr_db = row ? sqnr(W[k], &q, row) : NAN;
            free(row);
            *w = q;
        }
    }
    for (int k = 0; k < nl; k++) free(W[k]);
    return rc;
}

/* ------------------------------------------------------------- driver */

typedef struct {
    qm_state *s;
    ob_qm_report *rep;
    ob_format f;
    double t_method;
} qm_run;

static int qm_begin(void *user, int l, ob_err *err) {
    qm_run *r = user;
    qm_state *s = r->s;
    const ob_model *m = s->m;
    const ob_layer *L = &m->layers[l];
    const int64_t widths[OB_N_SITES] = {m->cfg.dim, (int64_t)L->n_heads * m->cfg.head_dim, m->cfg.dim, L->ffn_dim};
    s->layer = l;
    s->rc = 0;
    for (int k = 0; k < OB_N_SITES; k++) s->nX[k] = s->seen[k] = 0;
    int rc = 0;
    if (s->p->method == OB_QM_GPTQ)
        for (int k = 0; k < OB_N_SITES && !rc; k++) rc = ob_hessian_init(&s->H[k], widths[k], err);
    return rc;
}

static void qm_observe(void *user, int layer, int site, const float *X, int n, int cols) {
    observer(((qm_run *)user)->s, layer, site, X, n, cols);
}

static int qm_process(void *user, int l, ob_err *err) {
    qm_run *r = user;
    lin ls[7];
    int nl = ob_layer_linears(r->s->m, l, ls);
    double tm = ob_now();
    ob_qm_tensor *out = r->rep->tensors + r->rep->n_tensors;
    int rc = r->s->p->method == OB_QM_GPTQ ? gptq_layer(r->s, r->f, ls, nl, out, err)
                                           : awq_layer(r->s, r->f, ls, nl, out, err);
    r->t_method += ob_now() - tm;
    if (!rc) r->rep->n_tensors += nl;
    return rc;
}

static void qm_end(void *user, int l) {
    qm_state *s = ((qm_run *)user)->s;
    for (int k = 0; k < OB_N_SITES; k++)
        if (s->H[k].h) ob_hessian_free(&s->H[k]);
}

int ob_model_quantize_calibrated(ob_model *m, ob_pool *pool, const int32_t *calib, int n_samples, int seqlen,
                                 const ob_qm_params *p, ob_qm_report *rep, ob_err *err) {
    memset(rep, 0, sizeof *rep);
    const ob_config *c = &m->cfg;
    int f = ob_format_from_name(p->format);
    if (f < 0 || ob_format_is_sparse((ob_format)f))
        return ob_fail(err, OB_EINVAL, "quantize: unknown format '%s'%s", p->format,
                       f < 0 ? "" : " (a sparse format: made by pruning, not by quantize)");
    int is_group = f >= OB_FMT_I4_G32 && f <= OB_FMT_I8_ROW;
    if (p->method == OB_QM_GPTQ && !is_group)
        return ob_fail(err, OB_EINVAL, "quantize: GPTQ stores its results in the group-wise formats (i4_g32, i4_g64, "
                       "i4_g128, i4_row, i8_*), not %s", p->format);
    if (p->method == OB_QM_GPTQ && p->bits && (p->bits < 2 || p->bits > 8 || (p->bits > 4) != ob_qgroup_is_int8(f)))
        return ob_fail(err, OB_EINVAL, "quantize: %d-bit GPTQ does not fit %s (2-4 bits: i4_*, 5-8 bits: i8_*)",
                       p->bits, p->format);
    if (n_samples < 1 || seqlen < 2 || seqlen > c->max_seq)
        return ob_fail(err, OB_EINVAL, "quantize: %d calibration sequences of %d tokens (the model takes %d)",
                       n_samples, seqlen, c->max_seq);
    for (int l = 0; l < c->n_layers; l++) {
        lin ls[7];
        int nl = ob_layer_linears(m, l, ls);
        for (int k = 0; k < nl; k++)
            if (ob_matrix_has_maps(ls[k].mat))
                return ob_fail(err, OB_EUNSUP, "quantize: blk.%d.%s has channel index maps (channels-pruned); "
                               "GPTQ and AWQ need whole matrices (use RTN)", l, ls[k].name);
    }
    double t0 = ob_now();
    rep->bytes_before = ob_model_weight_bytes(m);
    rep->tokens = (int64_t)n_samples * seqlen;
    rep->tensors = calloc((size_t)c->n_layers * 7, sizeof *rep->tensors);
    qm_state s = {.m = m, .p = p, .err = err};
    qm_run run = {&s, rep, (ob_format)f, 0};
    int rc = rep->tensors ? 0 : ob_fail(err, OB_ENOMEM, "quantize: out of memory");
    /* AWQ keeps at most awq_rows rows of each site, evenly spaced */
    int64_t maxw = c->dim > c->ffn_dim ? c->dim : c->ffn_dim;
    if (c->n_heads * c->head_dim > maxw) maxw = (int64_t)c->n_heads * c->head_dim;
    if (!rc && p->method == OB_QM_AWQ) {
        s.cap = p->awq_rows > 0 ? p->awq_rows : 4096;
        s.stride = (rep->tokens + s.cap - 1) / s.cap;
        for (int k = 0; k < OB_N_SITES && !rc; k++)
            if (!(s.X[k] = malloc((size_t)(s.cap * maxw) * sizeof(float))))
                rc = ob_fail(err, OB_ENOMEM, "quantize: out of memory for AWQ samples");
    }
    ob_layerwise lw = {qm_begin, qm_observe, qm_process, qm_end, &s.rc, &run, p->batch_tokens,
                       p->progress, p->progress_user};
    if (!rc) rc = ob_layerwise_run(m, pool, calib, n_samples, seqlen, &lw, err);
    for (int k = 0; k < OB_N_SITES; k++) free(s.X[k]);
    rep->bytes_after = ob_model_weight_bytes(m);
    rep->seconds = ob_now() - t0;
    rep->seconds_method = run.t_method;
    if (rc) ob_qm_report_free(rep);
    return rc;
}

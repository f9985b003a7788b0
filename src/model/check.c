/* check.c - refusing to write a model that holds NaN or Inf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/model.h"

/* the first non-finite value of a matrix: row, column; -1 if none */
static int64_t bad_at(const ob_matrix *w, float *row, int64_t *col) {
    if (!w->data) return -1;
    for (int64_t r = 0; r < w->rows; r++) {
        w->ops->dequant_row(w, r, row);
        for (int64_t c = 0; c < w->cols; c++)
            if (!isfinite(row[c])) {
                *col = c;
                return r;
            }
    }
    return -1;
}

static int64_t bad_vec(const float *v, int64_t n) {
    for (int64_t i = 0; v && i < n; i++)
        if (!isfinite(v[i])) return i;
    return -1;
}

int ob_model_check_finite(const ob_model *m, ob_err *err) {
    const ob_config *c = &m->cfg;
    int64_t widest = c->dim;
    if (c->ffn_dim > widest) widest = c->ffn_dim;
    if ((int64_t)c->n_heads * c->head_dim > widest) widest = (int64_t)c->n_heads * c->head_dim;
    float *row = malloc((size_t)widest * sizeof *row);
    if (!row) return ob_fail(err, OB_ENOMEM, "out of memory");
    int rc = 0;
    int64_t r, col = 0;
    if ((r = bad_at(&m->tok_embd, row, &col)) >= 0)
        rc = ob_fail(err, OB_EINVAL, "tensor 'token_embd.weight': row %lld column %lld is not finite", (long long)r,
                     (long long)col);
    if (!rc && (r = bad_at(&m->lm_head, row, &col)) >= 0)
        rc = ob_fail(err, OB_EINVAL, "tensor 'output.weight': row %lld column %lld is not finite", (long long)r,
                     (long long)col);
    if (!rc && (r = bad_vec(m->out_norm, c->dim)) >= 0)
        rc = ob_fail(err, OB_EINVAL, "tensor 'output_norm.weight': element %lld is not finite", (long long)r);
    static const char *const names[7] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    for (int l = 0; l < c->n_layers && !rc; l++) {
        const ob_layer *L = &m->layers[l];
        const ob_matrix *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int k = 0; k < 7 && !rc; k++)
            if ((r = bad_at(ms[k], row, &col)) >= 0)
                rc = ob_fail(err, OB_EINVAL, "tensor 'blk.%d.%s.weight': row %lld column %lld is not finite", l, names[k],
                             (long long)r, (long long)col);
        const float *vs[2] = {L->attn_norm, L->ffn_norm};
        static const char *const vn[2] = {"attn_norm", "ffn_norm"};
        for (int k = 0; k < 2 && !rc; k++)
            if ((r = bad_vec(vs[k], c->dim)) >= 0)
                rc = ob_fail(err, OB_EINVAL, "tensor 'blk.%d.%s.weight': element %lld is not finite", l, vn[k],
                             (long long)r);
    }
    free(row);
    return rc;
}

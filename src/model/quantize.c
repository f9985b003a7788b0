/* quantize.c - round-to-nearest quantization of a loaded model in memory
 * (ob_model_quantize, documented in optibench.h).
 *
 * Each tensor is converted row by row across the pool: dequantize the row
 * from its current format to float32, quantize it with the target format's
 * quantize_row, dequantize the result again and add the squared error to
 * the task's sums (for RMSE and SQNR).  Scratch rows are allocated once per
 * call, two per task. */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matrix.h"
#include "kernels/sparse.h"
#include "model/model.h"

enum { KEEP = -2 };

ob_quant_params ob_quant_default_params(void) {
    ob_quant_params p = {.format = "q8_0", .embeddings = 0, .output = 0, .overrides = NULL, .n_overrides = 0};
    return p;
}

void ob_quant_report_free(ob_quant_report *r) {
    if (!r) return;
    free(r->tensors);
    r->tensors = NULL;
    r->n_tensors = 0;
}

/* ------------------------------------------------------------ the plan */

/* The target format of tensor `name` (KEEP to leave it), or -1 with err
 * set when an override names no known format. */
static int target_format(const ob_quant_params *p, int def, const char *name, int is_embd, int is_out, ob_err *err) {
    for (int i = 0; i < p->n_overrides; i++) {
        const char *eq = strchr(p->overrides[i], '=');
        char pat[256];
        if (!eq || eq == p->overrides[i] || (size_t)(eq - p->overrides[i]) >= sizeof pat)
            return ob_fail(err, OB_EINVAL, "override '%s' is not PATTERN=FORMAT", p->overrides[i]), -1;
        memcpy(pat, p->overrides[i], (size_t)(eq - p->overrides[i]));
        pat[eq - p->overrides[i]] = 0;
        if (fnmatch(pat, name, 0) != 0) continue;
        if (!strcmp(eq + 1, "keep")) return KEEP;
        int f = ob_format_from_name(eq + 1);
        if (f < 0) return ob_fail(err, OB_EINVAL, "override '%s': unknown format '%s'", p->overrides[i], eq + 1), -1;
        if (ob_format_is_sparse((ob_format)f))
            return ob_fail(err, OB_EINVAL, "override '%s': %s is a sparse format, made by pruning, not by quantize",
                           p->overrides[i], eq + 1), -1;
        return f;
    }
    if ((is_embd && !p->embeddings) || (is_out && !p->output)) return KEEP;
    return def;
}

/* --------------------------------------------------------- conversion */

typedef struct {
    const ob_matrix *src;
    ob_matrix *dst;
    float *scratch; /* [n_tasks][2][cols] */
    double *sums;   /* [n_tasks][2]: sum w^2, sum err^2 */
} convert_job;

static void convert_task(void *arg, int i, int n_tasks) {
    convert_job *j = arg;
    const int64_t rows = j->src->rows, cols = j->src->cols;
    float *w = j->scratch + (size_t)i * 2 * cols, *back = w + cols;
    double sw = 0, se = 0;
    for (int64_t r = rows * i / n_tasks; r < rows * (i + 1) / n_tasks; r++) {
        j->src->ops->dequant_row(j->src, r, w);
        void *row = (char *)j->dst->data + (size_t)r * j->dst->row_bytes;
        j->dst->ops->quantize_row(w, cols, row);
        j->dst->ops->dequant_row(j->dst, r, back);
        for (int64_t c = 0; c < cols; c++) {
            double d = (double)w[c] - back[c];
            sw += (double)w[c] * w[c];
            se += d * d;
        }
    }
    j->sums[2 * i] = sw;
    j->sums[2 * i + 1] = se;
}

static void run_tasks(ob_pool *pool, ob_task_fn fn, void *arg, int n_tasks) {
    if (pool) ob_pool_run(pool, fn, arg, n_tasks);
    else fn(arg, 0, 1);
}

/* Converts *mat to fmt into a new model-owned buffer; fills *t. */
static int convert(ob_model *m, ob_matrix *mat, int fmt, const char *name, ob_pool *pool, float *scratch,
                   double *sums, ob_quant_tensor *t, ob_err *err) {
    const ob_format_ops *ops = ob_format_get((ob_format)fmt);
    if (mat->cols % ops->col_block)
        return ob_fail(err, OB_EUNSUP, "%s: %lld columns are not a multiple of %s's block of %lld", name,
                       (long long)mat->cols, ops->name, (long long)ops->col_block);
    size_t bytes = ops->row_bytes(mat->cols) * (size_t)mat->rows;
    void *data = ob_model_alloc(m, bytes ? bytes : 1);
    if (!data) return ob_fail(err, OB_ENOMEM, "%s: cannot allocate %.1f MB for %s", name, bytes / 1e6, ops->name);
    ob_matrix dst;
    ob_matrix_init(&dst, (ob_format)fmt, mat->rows, mat->cols, data);
    int tasks = pool ? ob_pool_size(pool) : 1;
    convert_job j = {mat, &dst, scratch, sums};
    run_tasks(pool, convert_task, &j, tasks);
    double sw = 0, se = 0;
    for (int i = 0; i < tasks; i++) {
        sw += sums[2 * i];
        se += sums[2 * i + 1];
    }
    double numel = (double)mat->rows * (double)mat->cols;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->format = ops->name;
    t->rows = mat->rows;
    t->cols = mat->cols;
    t->bits_per_weight = numel > 0 ? (double)bytes * 8.0 / numel : 0;
    t->rmse = numel > 0 ? sqrt(se / numel) : 0;
    t->sqnr_db = se > 0 ? 10.0 * log10(sw / se) : INFINITY;
    ob_matrix_copy_maps(&dst, mat); /* a channel-pruned matrix keeps its maps */
    *mat = dst;
    return 0;
}

/* ------------------------------------------------------------- driver */

typedef struct {
    ob_matrix *mat;
    char name[48];
    int is_embd, is_out;
} slot;

static int64_t max_cols(const slot *s, int n) {
    int64_t c = 1;
    for (int i = 0; i < n; i++)
        if (s[i].mat->cols > c) c = s[i].mat->cols;
    return c;
}

int ob_model_quantize(ob_model *m, const ob_quant_params *params, ob_pool *pool, ob_quant_report *report,
                      ob_err *err) {
    ob_quant_params p = params ? *params : ob_quant_default_params();
    if (report) memset(report, 0, sizeof *report);
    int def = p.format && !strcmp(p.format, "keep") ? KEEP : ob_format_from_name(p.format ? p.format : "");
    if (def == -1) return ob_fail(err, OB_EINVAL, "unknown weight format '%s'", p.format ? p.format : "(null)");
    if (def >= 0 && ob_format_is_sparse((ob_format)def))
        return ob_fail(err, OB_EINVAL, "%s is a sparse format, made by pruning, not by quantize", p.format);
    static const char *const lnames[7] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    const int nl = m->cfg.n_layers, n_slots = 2 + 7 * nl;
    slot *s = calloc((size_t)n_slots, sizeof *s);
    int *fmt = calloc((size_t)n_slots, sizeof *fmt);
    ob_quant_tensor *tens = calloc((size_t)n_slots, sizeof *tens);
    if (!s || !fmt || !tens) {
        free(s), free(fmt), free(tens);
        return ob_fail(err, OB_ENOMEM, "quantize: out of memory");
    }
    s[0] = (slot){&m->tok_embd, "token_embd", 1, 0};
    s[1] = (slot){&m->lm_head, "output", 0, 1};
    for (int l = 0; l < nl; l++) {
        ob_layer *L = &m->layers[l];
        ob_matrix *mats[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int k = 0; k < 7; k++) {
            slot *sl = &s[2 + 7 * l + k];
            sl->mat = mats[k];
            snprintf(sl->name, sizeof sl->name, "blk.%d.%s", l, lnames[k]);
        }
    }
    /* plan everything first, so a bad override changes nothing */
    int rc = 0;
    for (int i = 0; i < n_slots && !rc; i++)
        if ((fmt[i] = target_format(&p, def, s[i].name, s[i].is_embd, s[i].is_out, err)) == -1) rc = err ? err->code : OB_EINVAL;
    int tasks = pool ? ob_pool_size(pool) : 1;
    float *scratch = rc ? NULL : malloc((size_t)tasks * 2 * (size_t)max_cols(s, n_slots) * sizeof(float));
    double *sums = rc ? NULL : malloc((size_t)tasks * 2 * sizeof(double));
    if (!rc && (!scratch || !sums)) rc = ob_fail(err, OB_ENOMEM, "quantize: out of memory");
    int64_t before = ob_model_weight_bytes(m);
    const void *tied_data = m->cfg.tied_embeddings ? m->lm_head.data : NULL;
    int n_done = 0;
    for (int i = 0; i < n_slots && !rc; i++) {
        ob_matrix *mat = s[i].mat;
        if (!mat->data || fmt[i] == KEEP || (int)mat->format == fmt[i]) continue;
        if (s[i].is_out && tied_data && m->tok_embd.data != tied_data && (int)m->tok_embd.format == fmt[i]) {
            *mat = m->tok_embd; /* tied, and the embedding was just converted the same way: share it */
            continue;
        }
        rc = convert(m, mat, fmt[i], s[i].name, pool, scratch, sums, &tens[n_done], err);
        if (!rc) n_done++;
    }
    if (!rc && m->cfg.tied_embeddings && m->lm_head.data != m->tok_embd.data) m->cfg.tied_embeddings = 0;
    free(scratch);
    free(sums);
    free(s);
    free(fmt);
    if (rc || !report) {
        free(tens);
        return rc;
    }
    report->n_tensors = n_done;
    report->tensors = tens;
    report->bytes_before = before;
    report->bytes_after = ob_model_weight_bytes(m);
    return 0;
}

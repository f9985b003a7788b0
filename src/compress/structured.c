/* structured.c - structured pruning (structured.h): score, choose, rebuild.
 *
 * Everything is checked and every count worked out first (plan), so a
 * refusal leaves the model untouched; then each layer is scored and its
 * matrices rebuilt with the kept rows / columns copied element by element
 * in their own dense format. */
#include "compress/structured.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

enum { N_LIN = 7 };
static const char *const lin_names[N_LIN] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                             "ffn_gate", "ffn_up", "ffn_down"};
static const int lin_site[N_LIN] = {OB_SITE_QKV, OB_SITE_QKV, OB_SITE_QKV, OB_SITE_O,
                                    OB_SITE_GATE_UP, OB_SITE_GATE_UP, OB_SITE_DOWN};

ob_struct_params ob_struct_default_params(void) {
    ob_struct_params p = {.kind = OB_STRUCT_FFN, .sparsity = 0.0, .multiple = 0, .act_norm = NULL};
    return p;
}

void ob_struct_report_free(ob_struct_report *r) {
    if (!r) return;
    free(r->tensors);
    r->tensors = NULL;
    r->n_tensors = 0;
}

static void layer_lins(ob_layer *L, ob_matrix *ms[N_LIN]) {
    ms[0] = &L->wq, ms[1] = &L->wk, ms[2] = &L->wv, ms[3] = &L->wo;
    ms[4] = &L->w_gate, ms[5] = &L->w_up, ms[6] = &L->w_down;
}

static int64_t round_even(double x) { return (int64_t)nearbyint(x); }

/* Units kept of n at sparsity s: a multiple of M when n is one
 * (structured.h), otherwise n - round(s * n). */
static int64_t kept_count(int64_t n, double s, int M) {
    if (M > 1 && n % M == 0) return round_even((1.0 - s) * (double)n / M) * M;
    return n - round_even(s * (double)n);
}

static int multiple(const ob_struct_params *p) {
    return p->multiple > 0 ? p->multiple : (p->kind == OB_STRUCT_FFN || p->kind == OB_STRUCT_FFN_HEADS) ? 32 : 1;
}

/* ------------------------------------------------------------- the plan */

typedef struct {
    int ffn_keep;       /* neurons kept per layer                           */
    int heads_drop;     /* per kv group (GQA) or per layer (MHA)            */
} plan;

static int do_ffn(ob_struct_kind k) { return k == OB_STRUCT_FFN || k == OB_STRUCT_FFN_HEADS; }
static int do_heads(ob_struct_kind k) { return k == OB_STRUCT_HEADS || k == OB_STRUCT_FFN_HEADS; }

/* Checks model and params; fills the plan of layer l (all layers alike
 * unless their widths differ). */
static int check_layer(ob_model *m, const ob_struct_params *p, int l, plan *pl, ob_err *err) {
    ob_layer *L = &m->layers[l];
    ob_matrix *ms[N_LIN];
    layer_lins(L, ms);
    for (int k = 0; k < N_LIN; k++) {
        if (!ms[k]->data) return ob_fail(err, OB_EUNSUP, "structured pruning: blk.%d.%s is missing", l, lin_names[k]);
        if ((int)ms[k]->format >= OB_FMT_DENSE_COUNT)
            return ob_fail(err, OB_EUNSUP, "structured pruning: blk.%d.%s is %s; it needs dense weights (f32, f16, "
                           "bf16): prune before quantizing", l, lin_names[k], ob_format_name(ms[k]->format));
        if (ob_matrix_has_maps(ms[k]))
            return ob_fail(err, OB_EUNSUP, "structured pruning: blk.%d.%s is already channel-pruned (has index maps)",
                           l, lin_names[k]);
    }
    const double s = p->sparsity;
    if (do_heads(p->kind)) {
        int g = L->n_heads / L->n_kv_heads;
        if (g > 1) {
            pl->heads_drop = (int)round_even(s * g);
            if (pl->heads_drop >= g)
                return ob_fail(err, OB_EINVAL, "structured pruning: sparsity %g would remove all %d query heads of "
                               "a kv group in layer %d (grouped-query attention keeps at least one per group)", s, g, l);
        } else {
            pl->heads_drop = (int)round_even(s * L->n_heads);
            if (pl->heads_drop >= L->n_heads)
                return ob_fail(err, OB_EINVAL, "structured pruning: sparsity %g would remove all %d heads of layer %d",
                               s, L->n_heads, l);
        }
    }
    if (do_ffn(p->kind)) {
        int F = L->ffn_dim, M = F % multiple(p) ? 1 : multiple(p);
        if (p->kind == OB_STRUCT_FFN_HEADS) {
            /* s of the layer's linear weights: the FFN removes what the
             * heads' rounding left of the budget (structured.h, Counts) */
            const double D = (double)ms[0]->cols, hd = (double)(ms[0]->rows / L->n_heads);
            const double attn = (double)(ms[0]->rows + ms[1]->rows + ms[2]->rows) * D + (double)ms[3]->rows * ms[3]->cols;
            const int g = L->n_heads / L->n_kv_heads;
            const double per_head = (g > 1 ? 2.0 : 4.0) * hd * D;
            const double heads_gone = per_head * pl->heads_drop * (g > 1 ? L->n_kv_heads : 1);
            double neurons = (s * (attn + 3.0 * D * F) - heads_gone) / (3.0 * D);
            if (neurons < 0) neurons = 0;
            int64_t drop_units = round_even(neurons / M);
            pl->ffn_keep = (int)(F - drop_units * M);
        } else
            pl->ffn_keep = (int)kept_count(F, s, M);
        if (pl->ffn_keep < 1)
            return ob_fail(err, OB_EINVAL, "structured pruning: sparsity %g leaves no FFN neuron of %d in layer %d "
                           "(kept counts are multiples of %d)", s, F, l, M);
    }
    if (p->kind == OB_STRUCT_CHANNELS_IN || p->kind == OB_STRUCT_CHANNELS_OUT)
        for (int k = 0; k < N_LIN; k++) {
            int64_t n = p->kind == OB_STRUCT_CHANNELS_OUT ? ms[k]->rows : ms[k]->cols;
            if (kept_count(n, s, multiple(p)) < 1)
                return ob_fail(err, OB_EINVAL, "structured pruning: sparsity %g leaves no %s of blk.%d.%s (%lld)", s,
                               p->kind == OB_STRUCT_CHANNELS_OUT ? "row" : "column", l, lin_names[k], (long long)n);
        }
    return 0;
}

static int check_model(ob_model *m, const ob_struct_params *p, plan *plans, ob_err *err) {
    const ob_config *c = &m->cfg;
    if (!(p->sparsity >= 0.0 && p->sparsity < 1.0))
        return ob_fail(err, OB_EINVAL, "structured pruning: sparsity %g is outside [0, 1)", p->sparsity);
    if ((unsigned)p->kind > OB_STRUCT_CHANNELS_IN)
        return ob_fail(err, OB_EINVAL, "structured pruning: unknown kind %d", (int)p->kind);
    if (c->arch != OB_ARCH_LLAMA || c->act != OB_ACT_SWIGLU)
        return ob_fail(err, OB_EUNSUP, "structured pruning: %s is a %s model; only llama-family models (SwiGLU, "
                       "RoPE, no biases) are supported", c->name, c->arch == OB_ARCH_GPT2 ? "gpt2" : "biogpt");
    if (c->qkv_bias || c->out_bias || c->ffn_bias)
        return ob_fail(err, OB_EUNSUP, "structured pruning: %s has linear biases (qwen2-style), which are not handled",
                       c->name);
    for (int l = 0; l < c->n_layers; l++) {
        int rc = check_layer(m, p, l, &plans[l], err);
        if (rc) return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ scoring */

/* sum_c |W[r,c]| * a[c] (a NULL: 1) */
static double row_score(const ob_matrix *W, int64_t r, const float *a, float *buf) {
    W->ops->dequant_row(W, r, buf);
    double s = 0;
    for (int64_t c = 0; c < W->cols; c++) s += fabs((double)buf[c]) * (a ? a[c] : 1.0);
    return s;
}

/* out[c] += a[c] * sum_r |W[r,c]| for every column */
static void add_col_scores(const ob_matrix *W, const float *a, float *buf, double *out) {
    for (int64_t r = 0; r < W->rows; r++) {
        W->ops->dequant_row(W, r, buf);
        for (int64_t c = 0; c < W->cols; c++) out[c] += fabs((double)buf[c]) * (a ? a[c] : 1.0);
    }
}

typedef struct {
    double score;
    int32_t idx;
} ranked;

static int by_score(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Marks the n_drop lowest of scores[lo, lo + n) in drop[]. */
static int mark_lowest(const double *scores, int64_t lo, int64_t n, int64_t n_drop, uint8_t *drop) {
    ranked *r = malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
    if (!r) return -1;
    for (int64_t i = 0; i < n; i++) r[i] = (ranked){scores[lo + i], (int32_t)(lo + i)};
    qsort(r, (size_t)n, sizeof *r, by_score);
    for (int64_t i = 0; i < n_drop; i++) drop[r[i].idx] = 1;
    free(r);
    return 0;
}

/* The indices in [0, n) not marked, ascending, into keep; returns count. */
static int64_t kept_list(const uint8_t *drop, int64_t n, int32_t *keep) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (!drop[i]) keep[k++] = (int32_t)i;
    return k;
}

/* ------------------------------------------------------------ rebuild */

typedef struct {
    ob_model *m;
    ob_struct_report *rep; /* entries are appended; NULL: none */
    ob_err *err;
    float *buf;            /* one row of the widest matrix          */
} pruner;

/* W with only the rows `rows` [nr] and columns `cols` [nc] (NULL: all),
 * in a model-owned buffer of W's dense format. */
static int rebuild(pruner *pr, ob_matrix *W, const int32_t *rows, int64_t nr, const int32_t *cols, int64_t nc,
                   int layer, int lin) {
    if (!rows) nr = W->rows;
    if (!cols) nc = W->cols;
    const size_t es = W->row_bytes / (size_t)W->cols;
    char *dst = ob_model_alloc(pr->m, (size_t)nr * nc * es);
    if (!dst) return ob_fail(pr->err, OB_ENOMEM, "structured pruning: blk.%d.%s: out of memory", layer, lin_names[lin]);
    for (int64_t r = 0; r < nr; r++) {
        const char *src = (const char *)W->data + (size_t)(rows ? rows[r] : r) * W->row_bytes;
        char *d = dst + (size_t)r * nc * es;
        if (!cols) memcpy(d, src, (size_t)nc * es);
        else
            for (int64_t c = 0; c < nc; c++) memcpy(d + (size_t)c * es, src + (size_t)cols[c] * es, es);
    }
    if (pr->rep) {
        ob_struct_tensor *t = &pr->rep->tensors[pr->rep->n_tensors++];
        snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, lin_names[lin]);
        t->rows_before = ob_matrix_out_dim(W);
        t->cols_before = ob_matrix_in_dim(W);
        t->rows_after = nr;
        t->cols_after = nc;
        t->sparsity = 1.0 - (double)(nr * nc) / (double)(t->rows_before * t->cols_before);
    }
    ob_matrix_init(W, W->format, nr, nc, dst);
    return 0;
}

static const float *act(const ob_struct_params *p, int l, int site) {
    return p->act_norm ? p->act_norm[(size_t)l * OB_N_SITES + site] : NULL;
}

/* --------------------------------------------------------------- kinds */

/* scratch of one pruning step: scores, marks and the kept list for n units */
typedef struct {
    double *sc;
    uint8_t *drop;
    int32_t *keep;
} scratch;

static int scratch_new(pruner *pr, int64_t n, scratch *s) {
    s->sc = calloc((size_t)n, sizeof *s->sc);
    s->drop = calloc((size_t)n, 1);
    s->keep = malloc((size_t)n * sizeof *s->keep);
    if (s->sc && s->drop && s->keep) return 0;
    return ob_fail(pr->err, OB_ENOMEM, "structured pruning: out of memory for %lld scores", (long long)n);
}

static void scratch_free(scratch *s) { free(s->sc), free(s->drop), free(s->keep); }

static int oom(pruner *pr) { return ob_fail(pr->err, OB_ENOMEM, "structured pruning: out of memory"); }

/* FFN neurons: gate row i + up row i + down column i. */
static int prune_ffn(pruner *pr, const ob_struct_params *p, int l, int keep_n) {
    ob_layer *L = &pr->m->layers[l];
    const int F = L->ffn_dim;
    if (keep_n == F) return 0;
    scratch s;
    int rc = scratch_new(pr, F, &s);
    if (!rc) {
        const float *a_gu = act(p, l, OB_SITE_GATE_UP);
        for (int i = 0; i < F; i++) s.sc[i] = row_score(&L->w_gate, i, a_gu, pr->buf) + row_score(&L->w_up, i, a_gu, pr->buf);
        add_col_scores(&L->w_down, act(p, l, OB_SITE_DOWN), pr->buf, s.sc);
        if (mark_lowest(s.sc, 0, F, F - keep_n, s.drop)) rc = oom(pr);
    }
    if (!rc) {
        int64_t n = kept_list(s.drop, F, s.keep);
        if (!(rc = rebuild(pr, &L->w_gate, s.keep, n, NULL, 0, l, 4)) &&
            !(rc = rebuild(pr, &L->w_up, s.keep, n, NULL, 0, l, 5)) &&
            !(rc = rebuild(pr, &L->w_down, NULL, 0, s.keep, n, l, 6)))
            L->ffn_dim = (int)n;
    }
    scratch_free(&s);
    return rc;
}

/* Heads: q rows + o columns (+ k, v rows when every head has its own kv
 * head); with GQA n_drop heads leave each group of g. */
static int prune_heads(pruner *pr, const ob_struct_params *p, int l, int n_drop) {
    ob_layer *L = &pr->m->layers[l];
    const int hd = pr->m->cfg.head_dim, nh = L->n_heads, g = nh / L->n_kv_heads, mha = g == 1;
    if (n_drop == 0) return 0;
    scratch heads, ch; /* per head; per q row / o column */
    int rc = scratch_new(pr, nh, &heads);
    if (!rc) rc = scratch_new(pr, (int64_t)nh * hd, &ch);
    else ch = (scratch){0};
    if (!rc) {
        const float *a_qkv = act(p, l, OB_SITE_QKV);
        add_col_scores(&L->wo, act(p, l, OB_SITE_O), pr->buf, ch.sc);
        for (int64_t r = 0; r < (int64_t)nh * hd; r++) {
            double v = ch.sc[r] + row_score(&L->wq, r, a_qkv, pr->buf);
            if (mha) v += row_score(&L->wk, r, a_qkv, pr->buf) + row_score(&L->wv, r, a_qkv, pr->buf);
            heads.sc[r / hd] += v;
        }
        const int groups = mha ? 1 : nh / g, per = mha ? nh : g; /* MHA: every head competes */
        for (int k = 0; k < groups && !rc; k++)
            if (mark_lowest(heads.sc, (int64_t)k * per, per, n_drop, heads.drop)) rc = oom(pr);
    }
    if (!rc) {
        int64_t kh = kept_list(heads.drop, nh, heads.keep), n = 0;
        for (int64_t i = 0; i < kh; i++)
            for (int d = 0; d < hd; d++) ch.keep[n++] = heads.keep[i] * hd + d;
        if (!(rc = rebuild(pr, &L->wq, ch.keep, n, NULL, 0, l, 0)) && !(rc = rebuild(pr, &L->wo, NULL, 0, ch.keep, n, l, 3)) &&
            (!mha || (!(rc = rebuild(pr, &L->wk, ch.keep, n, NULL, 0, l, 1)) &&
                      !(rc = rebuild(pr, &L->wv, ch.keep, n, NULL, 0, l, 2))))) {
            L->n_heads = (int)kh;
            if (mha) L->n_kv_heads = (int)kh;
        }
    }
    scratch_free(&heads);
    scratch_free(&ch);
    return rc;
}

/* A model-owned copy of keep [n]. */
static const int32_t *own_map(pruner *pr, const int32_t *keep, int64_t n) {
    int32_t *d = ob_model_alloc(pr->m, (size_t)n * sizeof *d);
    if (d) memcpy(d, keep, (size_t)n * sizeof *d);
    return d;
}

/* Every linear layer loses its lowest rows (out) or columns (in). */
static int prune_channels(pruner *pr, const ob_struct_params *p, int l) {
    ob_matrix *ms[N_LIN];
    layer_lins(&pr->m->layers[l], ms);
    const int out = p->kind == OB_STRUCT_CHANNELS_OUT;
    int rc = 0;
    for (int k = 0; k < N_LIN && !rc; k++) {
        ob_matrix *W = ms[k];
        const float *a = act(p, l, lin_site[k]);
        const int64_t n = out ? W->rows : W->cols, n_drop = n - kept_count(n, p->sparsity, multiple(p));
        if (n_drop == 0) continue;
        scratch s;
        if (!(rc = scratch_new(pr, n, &s))) {
            if (out)
                for (int64_t r = 0; r < n; r++) s.sc[r] = row_score(W, r, a, pr->buf);
            else add_col_scores(W, a, pr->buf, s.sc);
            if (mark_lowest(s.sc, 0, n, n_drop, s.drop)) rc = oom(pr);
        }
        int64_t kn = rc ? 0 : kept_list(s.drop, n, s.keep);
        const int32_t *map = rc ? NULL : own_map(pr, s.keep, kn);
        if (!rc && !map) rc = oom(pr);
        if (!rc) rc = out ? rebuild(pr, W, s.keep, kn, NULL, 0, l, k) : rebuild(pr, W, NULL, 0, s.keep, kn, l, k);
        if (!rc && out) W->out_keep = map, W->out_full = n;
        if (!rc && !out) W->in_keep = map, W->in_full = n;
        scratch_free(&s);
    }
    return rc;
}

/* -------------------------------------------------------------- driver */

static void widest_layers(ob_model *m) {
    ob_config *c = &m->cfg;
    c->n_heads = c->n_kv_heads = c->ffn_dim = 1;
    for (int l = 0; l < c->n_layers; l++) {
        const ob_layer *L = &m->layers[l];
        if (L->n_heads > c->n_heads) c->n_heads = L->n_heads;
        if (L->n_kv_heads > c->n_kv_heads) c->n_kv_heads = L->n_kv_heads;
        if (L->ffn_dim > c->ffn_dim) c->ffn_dim = L->ffn_dim;
    }
}

static ob_struct_sizes sizes(const ob_model *m) {
    ob_struct_sizes z = {ob_model_weight_bytes(m), ob_model_n_params(m), m->layers[0].ffn_dim, m->layers[0].n_heads,
                         m->layers[0].n_kv_heads};
    return z;
}

int ob_prune_structured(ob_model *m, const ob_struct_params *p, ob_struct_report *rep, ob_err *err) {
    if (rep) memset(rep, 0, sizeof *rep);
    if (!p) return ob_fail(err, OB_EINVAL, "structured pruning: no parameters");
    const ob_config *c = &m->cfg;
    const int nl = c->n_layers;
    plan *plans = calloc((size_t)nl, sizeof *plans);
    if (!plans) return ob_fail(err, OB_ENOMEM, "structured pruning: out of memory");
    int rc = check_model(m, p, plans, err);
    int64_t widest = c->dim;
    for (int l = 0; l < nl; l++) {
        if (m->layers[l].ffn_dim > widest) widest = m->layers[l].ffn_dim;
        if ((int64_t)m->layers[l].n_heads * c->head_dim > widest) widest = (int64_t)m->layers[l].n_heads * c->head_dim;
    }
    pruner pr = {m, rep, err, NULL};
    if (!rc) {
        pr.buf = malloc((size_t)widest * sizeof *pr.buf);
        if (rep) rep->tensors = calloc((size_t)nl * N_LIN, sizeof *rep->tensors);
        if (!pr.buf || (rep && !rep->tensors)) rc = ob_fail(err, OB_ENOMEM, "structured pruning: out of memory");
    }
    if (!rc && rep) rep->before = sizes(m);
    for (int l = 0; l < nl && !rc; l++) {
        if (do_heads(p->kind)) rc = prune_heads(&pr, p, l, plans[l].heads_drop);
        if (!rc && do_ffn(p->kind)) rc = prune_ffn(&pr, p, l, plans[l].ffn_keep);
        if (!rc && (p->kind == OB_STRUCT_CHANNELS_IN || p->kind == OB_STRUCT_CHANNELS_OUT)) rc = prune_channels(&pr, p, l);
    }
    if (!rc) {
        widest_layers(m);
        rc = ob_model_validate(m, "structured pruning", err);
    }
    if (!rc && rep) rep->after = sizes(m);
    if (rc && rep) ob_struct_report_free(rep);
    free(plans);
    free(pr.buf);
    return rc;
}

/* ------------------------------------------------- activation norms */

typedef struct {
    const ob_model *m;
    double *sums;     /* [n_layers][OB_N_SITES][widest] */
    int64_t widest;
} norm_acc;

static void norm_observer(void *user, int layer, int site, const float *X, int n, int cols) {
    norm_acc *a = user;
    double *s = a->sums + ((size_t)layer * OB_N_SITES + site) * a->widest;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < cols && j < a->widest; j++) s[j] += (double)X[(size_t)i * cols + j] * X[(size_t)i * cols + j];
}

static int64_t site_width(const ob_model *m, int l, int site) {
    const ob_layer *L = &m->layers[l];
    return site == OB_SITE_O ? (int64_t)L->n_heads * m->cfg.head_dim : site == OB_SITE_DOWN ? L->ffn_dim : m->cfg.dim;
}

int ob_struct_act_norms(const ob_model *m, ob_pool *pool, const int32_t *tokens, int n_seq, int seqlen, float ***out,
                        ob_err *err) {
    *out = NULL;
    const int nl = m->cfg.n_layers;
    if (n_seq < 1 || seqlen < 1 || seqlen > m->cfg.max_seq)
        return ob_fail(err, OB_EINVAL, "activation norms: %d sequences of %d tokens (the model takes %d)", n_seq, seqlen,
                       m->cfg.max_seq);
    norm_acc acc = {m, NULL, 1};
    size_t floats = 0;
    for (int l = 0; l < nl; l++)
        for (int s = 0; s < OB_N_SITES; s++) {
            int64_t w = site_width(m, l, s);
            floats += (size_t)w;
            if (w > acc.widest) acc.widest = w;
        }
    acc.sums = calloc((size_t)nl * OB_N_SITES * acc.widest, sizeof *acc.sums);
    float *logits = malloc((size_t)m->cfg.n_vocab * sizeof *logits);
    size_t ptr_bytes = (size_t)nl * OB_N_SITES * sizeof(float *);
    float **res = malloc(ptr_bytes + floats * sizeof(float));
    ob_ctx *x = NULL;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = seqlen;
    cp.max_batch = seqlen;
    int rc = !acc.sums || !logits || !res ? ob_fail(err, OB_ENOMEM, "activation norms: out of memory") : 0;
    if (!rc) rc = ob_ctx_new(m, pool, &cp, &x, err);
    if (!rc) ob_ctx_set_observer(x, norm_observer, &acc);
    for (int i = 0; i < n_seq && !rc; i++) {
        ob_ctx_seq_trim(x, 0, 0);
        rc = ob_forward(x, 0, tokens + (size_t)i * seqlen, seqlen, 0, 0, logits, err);
    }
    if (!rc) {
        float *at = (float *)((char *)res + ptr_bytes);
        for (int l = 0; l < nl; l++)
            for (int s = 0; s < OB_N_SITES; s++) {
                const double *sum = acc.sums + ((size_t)l * OB_N_SITES + s) * acc.widest;
                int64_t w = site_width(m, l, s);
                res[l * OB_N_SITES + s] = at;
                for (int64_t j = 0; j < w; j++) at[j] = (float)sqrt(sum[j]);
                at += w;
            }
        *out = res;
    } else {
        free(res);
    }
    ob_ctx_free(x);
    free(acc.sums);
    free(logits);
    return rc;
}

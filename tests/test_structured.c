/* test_structured.c - structured pruning (compress/structured.h).
 *
 *  1. ob_linear with index maps equals the zero-filled dense matrix, for
 *     one token and many, with a workspace of one token (chunks);
 *  2. each kind (ffn, heads on MHA and on GQA, ffn+heads, channels-out,
 *     channels-in, ffn with activation norms) gives the logits of the
 *     original model with the same units ZEROED, where the test picks the
 *     units itself from its own L1 scores; shapes and per-tensor sparsity
 *     are checked against the rounding rules; prefill (one batch) and
 *     decode (token by token) are both compared;
 *  3. save and load: ffn/heads as a plain Hugging Face folder (config.json
 *     has the new widths), channel maps in the optibench container and as
 *     zero-filled dense matrices; logits identical;
 *  4. bad index maps in a container: one-line errors naming the tensor;
 *  5. refusals leave the model untouched; RTN quantization after pruning.
 * Runs on tiny random models, and on stories15M when it is present. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "compress/structured.h"
#include "formats/hf_maps.h"
#include "formats/hf_write.h"
#include "model/model.h"
#include "stories_path.h"
#include "tiny_model.h"

static char tmpdir[256];
static ob_pool *pool;

#define TOL 2e-4f /* logits: compact products vs products with zeros, float rounding */

static uint64_t rng_state = 88172645463325252ull;
static float frand(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) & 0xffffff) / 16777216.0f - 0.5f;
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float d = 0;
    for (size_t i = 0; i < n; i++) {
        float e = fabsf(a[i] - b[i]);
        if (!(e <= d)) d = e; /* NaN wins */
    }
    return d;
}

/* ------------------------------------------------------------ helpers */

static ob_model *load(const char *path) {
    ob_err err = {0};
    ob_model *m = NULL;
    CHECK_OK(ob_model_load(path, NULL, &m, &err), &err);
    return m;
}

enum { NT = 7 };
static const int32_t toks[NT] = {1, 5, 9, 2, 17, 30, 11};

/* logits of every position: one batch (prefill, matmul), or one token per
 * call (decode, matvec); NULL on failure */
static float *run(const ob_model *m, int decode) {
    ob_err err = {0};
    ob_ctx *x = NULL;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = 16;
    int V = m->cfg.n_vocab;
    float *out = malloc((size_t)NT * V * sizeof *out);
    int rc = ob_ctx_new(m, pool, &cp, &x, &err);
    if (!decode && !rc) rc = ob_forward(x, 0, toks, NT, 0, 1, out, &err);
    for (int i = 0; decode && !rc && i < NT; i++) rc = ob_forward(x, 0, toks + i, 1, i, 0, out + (size_t)i * V, &err);
    CHECK(rc == 0, "forward: %s", err.msg);
    ob_ctx_free(x);
    if (rc) {
        free(out);
        return NULL;
    }
    return out;
}

/* Compares the pruned model with the zeroed one, prefill and decode. */
static void compare(const ob_model *pruned, const ob_model *zeroed, const char *label) {
    for (int decode = 0; decode < 2; decode++) {
        float *a = run(pruned, decode), *b = run(zeroed, decode);
        if (a && b) {
            float d = max_abs_diff(a, b, (size_t)NT * pruned->cfg.n_vocab);
            printf("%s (%s): pruned vs zeroed max abs diff %.3g\n", label, decode ? "decode" : "prefill", d);
            CHECK(d <= TOL, "%s (%s): pruned and zeroed logits differ by %g", label, decode ? "decode" : "prefill", d);
        }
        free(a);
        free(b);
    }
}

/* Gives every linear weight of m a writable float32 copy (for zeroing). */
static float *own_f32(ob_model *m, ob_matrix *w) {
    float *d = ob_model_alloc(m, (size_t)(w->rows * w->cols) * sizeof *d);
    for (int64_t r = 0; r < w->rows; r++) w->ops->dequant_row(w, r, d + r * w->cols);
    ob_matrix_init(w, OB_FMT_F32, w->rows, w->cols, d);
    return d;
}

typedef struct {
    float *q, *k, *v, *o, *gate, *up, *down;
} layer_f32;

static layer_f32 writable(ob_model *m, int l) {
    ob_layer *L = &m->layers[l];
    layer_f32 w = {own_f32(m, &L->wq), own_f32(m, &L->wk), own_f32(m, &L->wv), own_f32(m, &L->wo),
                   own_f32(m, &L->w_gate), own_f32(m, &L->w_up), own_f32(m, &L->w_down)};
    return w;
}

static double row_l1(const float *w, int64_t cols, int64_t r, const float *a) {
    double s = 0;
    for (int64_t c = 0; c < cols; c++) s += fabs(w[r * cols + c]) * (a ? a[c] : 1.0);
    return s;
}
static double col_l1(const float *w, int64_t rows, int64_t cols, int64_t c) {
    double s = 0;
    for (int64_t r = 0; r < rows; r++) s += fabs(w[r * cols + c]);
    return s;
}
static void zero_row(float *w, int64_t cols, int64_t r) { memset(w + r * cols, 0, (size_t)cols * sizeof *w); }
static void zero_col(float *w, int64_t rows, int64_t cols, int64_t c) {
    for (int64_t r = 0; r < rows; r++) w[r * cols + c] = 0;
}

/* The n_drop lowest of s[0..n) (selection sort: tiny n), marked in drop. */
static void lowest(const double *s, int n, int n_drop, int *drop) {
    for (int i = 0; i < n; i++) drop[i] = 0;
    for (int k = 0; k < n_drop; k++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!drop[i] && (best < 0 || s[i] < s[best])) best = i;
        drop[best] = 1;
    }
}

/* ------------------------------------------------- 1. ob_linear + maps */

static void test_linear_maps(void) {
    const int64_t R = 70, C = 80, n = 5;
    float *full = calloc((size_t)(R * C), sizeof *full), *st = malloc((size_t)(R * C) * sizeof *st);
    int32_t ik[80], ok[70];
    int64_t nc = 0, nr = 0;
    for (int64_t c = 0; c < C; c++)
        if (c % 3) ik[nc++] = (int32_t)c;
    for (int64_t r = 0; r < R; r++)
        if (r % 4 != 1) ok[nr++] = (int32_t)r;
    for (int64_t r = 0; r < nr; r++)
        for (int64_t c = 0; c < nc; c++) full[ok[r] * C + ik[c]] = st[r * nc + c] = frand();
    ob_matrix W, D;
    ob_matrix_init(&W, OB_FMT_F32, nr, nc, st);
    W.in_keep = ik, W.in_full = C, W.out_keep = ok, W.out_full = R;
    ob_matrix_init(&D, OB_FMT_F32, R, C, full);
    float X[5 * 80], Y[5 * 70], Yd[5 * 70];
    for (int i = 0; i < n * C; i++) X[i] = frand();
    size_t big = ob_linear_ws_bytes(C, n), one = ob_linear_ws_bytes(C, 1);
    void *wsd = malloc(big);
    for (int pass = 0; pass < 2; pass++) {
        ob_workspace ws = {wsd, pass ? one : big};
        for (int64_t tokens = 1; tokens <= n; tokens += n - 1) {
            for (int i = 0; i < tokens * R; i++) Y[i] = 99.0f;
            ob_linear(pool, &W, X, tokens, Y, &ws);
            ob_linear(pool, &D, X, tokens, Yd, &ws);
            float d = max_abs_diff(Y, Yd, (size_t)(tokens * R));
            CHECK(d < 1e-5f, "mapped ob_linear (%lld tokens, ws %s): differs from dense with zeros by %g",
                  (long long)tokens, pass ? "one token" : "full", d);
        }
    }
    /* multi with a mapped matrix equals separate calls */
    const ob_matrix *ws2[2] = {&W, &D};
    float Y2[5 * 70];
    float *ys[2] = {Y, Y2};
    ob_workspace ws = {wsd, big};
    ob_linear_multi(pool, ws2, 2, X, n, ys, &ws);
    CHECK(max_abs_diff(Y, Y2, (size_t)(n * R)) < 1e-5f, "ob_linear_multi with a mapped matrix");
    /* no workspace for the gather: NaN, never a wrong answer */
    ob_linear(pool, &W, X, 1, Y, NULL);
    CHECK(isnan(Y[0]) && isnan(Y[R - 1]), "mapped ob_linear without workspace must give NaN");
    free(wsd), free(full), free(st);
}

/* -------------------------------------------------- 2. kinds vs zeroed */

/* report entry `name`, or NULL */
static const ob_struct_tensor *entry(const ob_struct_report *r, const char *name) {
    for (int i = 0; i < r->n_tensors; i++)
        if (!strcmp(r->tensors[i].name, name)) return &r->tensors[i];
    return NULL;
}

static ob_model *prune(const char *path, ob_struct_kind kind, double s, const float *const *act, ob_struct_report *rep) {
    ob_model *m = load(path);
    if (!m) return NULL;
    ob_struct_params p = ob_struct_default_params();
    p.kind = kind;
    p.sparsity = s;
    p.act_norm = act;
    ob_err err = {0};
    int rc = ob_prune_structured(m, &p, rep, &err);
    CHECK(rc == 0, "prune kind %d s %g: %s", (int)kind, s, err.msg);
    if (rc) {
        ob_model_free(m);
        return NULL;
    }
    return m;
}

/* FFN: the test scores neurons itself, zeroes the lowest in a fresh copy */
static void test_ffn(const char *path, const char *label, double s, int use_act) {
    ob_model *z = load(path);
    if (!z) return;
    const int nl = z->cfg.n_layers, F = z->cfg.ffn_dim, D = z->cfg.dim;
    float **act = NULL;
    if (use_act) { /* made-up positive norms: they must change the choice */
        act = calloc((size_t)nl * OB_N_SITES, sizeof *act);
        for (int l = 0; l < nl; l++) {
            act[l * OB_N_SITES + OB_SITE_GATE_UP] = malloc((size_t)D * sizeof(float));
            act[l * OB_N_SITES + OB_SITE_DOWN] = malloc((size_t)F * sizeof(float));
            for (int i = 0; i < D; i++) act[l * OB_N_SITES + OB_SITE_GATE_UP][i] = 0.5f + frand() + 0.5f;
            for (int i = 0; i < F; i++) act[l * OB_N_SITES + OB_SITE_DOWN][i] = 4.0f * (frand() + 0.5f) + 0.01f;
        }
    }
    const int keep = (int)nearbyint((1.0 - s) * F / 32) * 32, drop_n = F - keep;
    double *sc = malloc((size_t)F * sizeof *sc);
    int *drop = malloc((size_t)F * sizeof *drop);
    for (int l = 0; l < nl; l++) {
        layer_f32 w = writable(z, l);
        const float *ag = act ? act[l * OB_N_SITES + OB_SITE_GATE_UP] : NULL, *ad = act ? act[l * OB_N_SITES + OB_SITE_DOWN] : NULL;
        for (int i = 0; i < F; i++)
            sc[i] = row_l1(w.gate, D, i, ag) + row_l1(w.up, D, i, ag) + col_l1(w.down, D, F, i) * (ad ? ad[i] : 1.0);
        lowest(sc, F, drop_n, drop);
        for (int i = 0; i < F; i++)
            if (drop[i]) zero_row(w.gate, D, i), zero_row(w.up, D, i), zero_col(w.down, D, F, i);
    }
    ob_struct_report rep;
    ob_model *p = prune(path, OB_STRUCT_FFN, s, (const float *const *)act, &rep);
    if (p) {
        CHECK(p->cfg.ffn_dim == keep && p->layers[nl - 1].ffn_dim == keep && p->layers[0].w_down.cols == keep &&
                  p->layers[0].w_gate.rows == keep && p->layers[0].w_up.rows == keep,
              "%s: ffn %d after pruning, expected %d", label, p->cfg.ffn_dim, keep);
        const ob_struct_tensor *t = entry(&rep, "blk.0.ffn_down");
        double want = (double)drop_n / F;
        CHECK(t && t->cols_before == F && t->cols_after == keep && fabs(t->sparsity - want) < 1e-12 &&
                  fabs(want - s) <= 16.0 / F + 1e-9,
              "%s: ffn_down sparsity %g, expected %g (target %g, multiples of 32)", label, t ? t->sparsity : -1, want, s);
        CHECK(rep.n_tensors == 3 * nl && rep.after.bytes < rep.before.bytes && rep.after.ffn == keep,
              "%s: report has %d tensors, bytes %lld -> %lld", label, rep.n_tensors, (long long)rep.before.bytes,
              (long long)rep.after.bytes);
        printf("%s: ffn %d -> %d (%.1f%% of neurons), weights %.2f -> %.2f MB\n", label, F, keep, 100.0 * want,
               rep.before.bytes / 1e6, rep.after.bytes / 1e6);
        compare(p, z, label);
        ob_struct_report_free(&rep);
        ob_model_free(p);
    }
    if (act) {
        for (int i = 0; i < nl * OB_N_SITES; i++) free(act[i]);
        free(act);
    }
    free(sc), free(drop);
    ob_model_free(z);
}

/* heads: with GQA only q rows and o columns go; with MHA k and v too */
static void test_heads(const char *path, const char *label, double s, int with_ffn) {
    ob_model *z = load(path);
    if (!z) return;
    const int nl = z->cfg.n_layers, nh = z->cfg.n_heads, nkv = z->cfg.n_kv_heads, g = nh / nkv, hd = z->cfg.head_dim;
    const int D = z->cfg.dim, F = z->cfg.ffn_dim, qd = nh * hd, mha = g == 1;
    const int per_group = (int)nearbyint(s * (mha ? nh : g)), kept = mha ? nh - per_group : nh - per_group * nkv;
    /* ffn+heads: s is the share of the layer's q k v o gate up down weights
     * removed; the heads take theirs, the FFN (in units of 32) the rest */
    const double P = (double)D * (2 * qd + 2 * nkv * hd) + 3.0 * D * F;
    const double H = (double)(nh - kept) * hd * D * (mha ? 4 : 2);
    const double fdrop_n = (s * P - H) / (3.0 * D);
    const int fkeep = F - (fdrop_n > 0 ? (int)nearbyint(fdrop_n / 32) * 32 : 0);
    if (with_ffn) {
        double got = (H + 3.0 * D * (F - fkeep)) / P;
        CHECK(fabs(got - s) <= 16.0 * 3 * D / P, "%s: layer sparsity %.4f, target %.4f (within 16 neurons)", label, got, s);
        printf("%s: layer weights removed %.2f%% (target %.2f%%), ffn %d -> %d\n", label, 100 * got, 100 * s, F, fkeep);
    }
    double sc[64], *fs = malloc((size_t)F * sizeof *fs);
    int drop[64], *fdrop = malloc((size_t)F * sizeof *fdrop);
    for (int l = 0; l < nl; l++) {
        layer_f32 w = writable(z, l);
        for (int h = 0; h < nh; h++) {
            sc[h] = 0;
            for (int r = h * hd; r < (h + 1) * hd; r++) {
                sc[h] += row_l1(w.q, D, r, NULL) + col_l1(w.o, D, qd, r);
                if (mha) sc[h] += row_l1(w.k, D, r, NULL) + row_l1(w.v, D, r, NULL);
            }
        }
        if (mha) lowest(sc, nh, per_group, drop);
        else
            for (int k = 0; k < nkv; k++) lowest(sc + k * g, g, per_group, drop + k * g);
        for (int h = 0; h < nh; h++)
            for (int r = h * hd; drop[h] && r < (h + 1) * hd; r++) {
                zero_row(w.q, D, r), zero_col(w.o, D, qd, r);
                if (mha) zero_row(w.k, D, r), zero_row(w.v, D, r);
            }
        if (with_ffn) {
            for (int i = 0; i < F; i++) fs[i] = row_l1(w.gate, D, i, NULL) + row_l1(w.up, D, i, NULL) + col_l1(w.down, D, F, i);
            lowest(fs, F, F - fkeep, fdrop);
            for (int i = 0; i < F; i++)
                if (fdrop[i]) zero_row(w.gate, D, i), zero_row(w.up, D, i), zero_col(w.down, D, F, i);
        }
    }
    ob_struct_report rep;
    ob_model *p = prune(path, with_ffn ? OB_STRUCT_FFN_HEADS : OB_STRUCT_HEADS, s, NULL, &rep);
    if (p) {
        const ob_layer *L = &p->layers[nl - 1];
        CHECK(L->n_heads == kept && L->n_kv_heads == (mha ? kept : nkv) && L->wq.rows == (int64_t)kept * hd &&
                  L->wo.cols == (int64_t)kept * hd && L->wk.rows == (int64_t)L->n_kv_heads * hd &&
                  p->cfg.n_heads == kept && p->cfg.head_dim == hd,
              "%s: %d/%d heads after pruning, expected %d/%d", label, L->n_heads, L->n_kv_heads, kept, mha ? kept : nkv);
        CHECK(!with_ffn || L->ffn_dim == fkeep, "%s: ffn %d, expected %d", label, L->ffn_dim, fkeep);
        const ob_struct_tensor *t = entry(&rep, "blk.0.attn_q");
        CHECK(t && fabs(t->sparsity - (double)(nh - kept) / nh) < 1e-12 && (mha ? entry(&rep, "blk.0.attn_k") != NULL
                                                                                 : entry(&rep, "blk.0.attn_k") == NULL),
              "%s: attn_q sparsity %g, expected %g", label, t ? t->sparsity : -1, (double)(nh - kept) / nh);
        printf("%s: heads %d/%d -> %d/%d (head_dim %d)%s\n", label, nh, nkv, L->n_heads, L->n_kv_heads, hd,
               with_ffn ? ", with ffn" : "");
        compare(p, z, label);
        ob_struct_report_free(&rep);
        ob_model_free(p);
    }
    free(fs), free(fdrop);
    ob_model_free(z);
}

/* channels: every linear layer's lowest rows (out) or columns (in) */
static void test_channels(const char *path, const char *label, double s, int out) {
    ob_model *z = load(path);
    if (!z) return;
    const int nl = z->cfg.n_layers;
    for (int l = 0; l < nl; l++) {
        writable(z, l);
        ob_layer *L = &z->layers[l];
        ob_matrix *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int k = 0; k < 7; k++) {
            float *w = (float *)ms[k]->data;
            int64_t R = ms[k]->rows, C = ms[k]->cols, n = out ? R : C, nd = (int64_t)nearbyint(s * (double)n);
            double *sc = malloc((size_t)n * sizeof *sc);
            int *drop = malloc((size_t)n * sizeof *drop);
            for (int64_t i = 0; i < n; i++) sc[i] = out ? row_l1(w, C, i, NULL) : col_l1(w, R, C, i);
            lowest(sc, (int)n, (int)nd, drop);
            for (int64_t i = 0; i < n; i++)
                if (drop[i]) out ? zero_row(w, C, i) : zero_col(w, R, C, i);
            free(sc), free(drop);
        }
    }
    ob_struct_report rep;
    ob_model *p = prune(path, out ? OB_STRUCT_CHANNELS_OUT : OB_STRUCT_CHANNELS_IN, s, NULL, &rep);
    if (p) {
        int bad = 0;
        for (int i = 0; i < rep.n_tensors; i++) {
            const ob_struct_tensor *t = &rep.tensors[i];
            int64_t n = out ? t->rows_before : t->cols_before, nd = (int64_t)nearbyint(s * (double)n);
            int64_t after = out ? t->rows_after : t->cols_after;
            bad += after != n - nd || fabs(t->sparsity - (double)nd / n) > 1e-12 || fabs(t->sparsity - s) > 0.5 / n + 1e-12;
        }
        const ob_matrix *q = &p->layers[0].wq;
        CHECK(rep.n_tensors == 7 * nl && !bad, "%s: %d of %d report entries off the rounding rule", label, bad,
              rep.n_tensors);
        CHECK(out ? (q->out_keep && q->out_full == z->layers[0].wq.rows && !q->in_keep)
                  : (q->in_keep && q->in_full == z->cfg.dim && !q->out_keep),
              "%s: attn_q has no %s map", label, out ? "out" : "in");
        printf("%s: %s-channels at %g: blk.0.attn_q stored %lldx%lld of %lldx%lld, weights %.2f -> %.2f MB\n", label,
               out ? "out" : "in", s, (long long)q->rows, (long long)q->cols, (long long)ob_matrix_out_dim(q),
               (long long)ob_matrix_in_dim(q), rep.before.bytes / 1e6, rep.after.bytes / 1e6);
        compare(p, z, label);
        ob_struct_report_free(&rep);
        ob_model_free(p);
    }
    ob_model_free(z);
}

/* --------------------------------------------------- 3. save and load */

static int config_int(const char *dir, const char *key) {
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *j = json_load_file(path, 0, NULL);
    int v = (int)json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

static void same_logits(const ob_model *a, const ob_model *b, float tol, const char *label) {
    float *x = run(a, 0), *y = run(b, 0);
    if (x && y) {
        float d = max_abs_diff(x, y, (size_t)NT * a->cfg.n_vocab);
        printf("%s: max abs diff %.3g\n", label, d);
        CHECK(d <= tol, "%s: logits differ by %g", label, d);
    }
    free(x), free(y);
}

static void test_roundtrip(const char *path, const char *label) {
    ob_err err = {0};
    char dir[600];
    /* ffn + heads: an ordinary smaller model */
    ob_model *p = prune(path, OB_STRUCT_FFN_HEADS, 0.5, NULL, NULL);
    if (p) {
        snprintf(dir, sizeof dir, "%s/%s-ffnheads", tmpdir, label);
        CHECK_OK(ob_model_save_hf(p, dir, OB_DT_F32, &err), &err);
        CHECK(config_int(dir, "intermediate_size") == p->cfg.ffn_dim &&
                  config_int(dir, "num_attention_heads") == p->cfg.n_heads &&
                  config_int(dir, "num_key_value_heads") == p->cfg.n_kv_heads &&
                  config_int(dir, "head_dim") == p->cfg.head_dim,
              "%s: config.json does not have the pruned widths", label);
        ob_model *b = load(dir);
        if (b) {
            CHECK(b->cfg.ffn_dim == p->cfg.ffn_dim && b->cfg.n_heads == p->cfg.n_heads &&
                      b->cfg.n_kv_heads == p->cfg.n_kv_heads && b->cfg.head_dim == p->cfg.head_dim,
                  "%s: loaded widths differ", label);
            same_logits(p, b, 0.0f, "ffn+heads saved and loaded");
            ob_model_free(b);
        }
        ob_model_free(p);
    }
    /* channels: maps in the container, zeros in a plain folder */
    for (int out = 0; out < 2; out++) {
        p = prune(path, out ? OB_STRUCT_CHANNELS_OUT : OB_STRUCT_CHANNELS_IN, 0.3, NULL, NULL);
        if (!p) continue;
        snprintf(dir, sizeof dir, "%s/%s-ch%d-container", tmpdir, label, out);
        CHECK_OK(ob_model_save_hf_container(p, dir, OB_DT_F32, &err), &err);
        char cfg[700];
        snprintf(cfg, sizeof cfg, "%s/config.json", dir);
        json_t *j = json_load_file(cfg, 0, NULL);
        CHECK(json_is_true(json_object_get(json_object_get(j, "quantization_config"), "index_maps")),
              "%s: container config.json does not mark index_maps", label);
        json_decref(j);
        ob_model *b = load(dir);
        if (b) {
            const ob_matrix *q = &b->layers[0].wq;
            CHECK(out ? q->out_keep != NULL : q->in_keep != NULL, "%s: loaded container lost its maps", label);
            CHECK(q->rows == p->layers[0].wq.rows && q->cols == p->layers[0].wq.cols, "stored shape changed");
            same_logits(p, b, 0.0f, out ? "channels-out container round trip" : "channels-in container round trip");
            ob_model_free(b);
        }
        snprintf(dir, sizeof dir, "%s/%s-ch%d-plain", tmpdir, label, out);
        CHECK_OK(ob_model_save_hf(p, dir, OB_DT_F32, &err), &err);
        b = load(dir);
        if (b) {
            CHECK(!ob_matrix_has_maps(&b->layers[0].wq), "plain folder should hold whole matrices");
            same_logits(p, b, TOL, out ? "channels-out as zero-filled dense" : "channels-in as zero-filled dense");
            ob_model_free(b);
        }
        ob_model_free(p);
    }
}

/* ------------------------------------------------- 4. bad index maps */

/* Overwrites the I32 entry i of tensor name in dir's model.safetensors. */
static void patch_index(const char *dir, const char *name, int i, int32_t value) {
    char path[700];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "r+b");
    uint64_t hl = 0;
    if (!f || fread(&hl, 8, 1, f) != 1) {
        CHECK(0, "cannot open %s", path);
        if (f) fclose(f);
        return;
    }
    char *hdr = calloc(hl + 1, 1);
    size_t got = fread(hdr, 1, hl, f);
    json_t *j = json_loads(hdr, 0, NULL);
    json_int_t off = json_integer_value(json_array_get(json_object_get(json_object_get(j, name), "data_offsets"), 0));
    CHECK(got == hl && j && json_object_get(j, name), "tensor %s not in %s", name, path);
    fseek(f, (long)(8 + hl + (uint64_t)off + 4 * (uint64_t)i), SEEK_SET);
    fwrite(&value, 4, 1, f);
    fclose(f);
    json_decref(j);
    free(hdr);
}

static const ob_tensor *fake_find(void *u, const char *name) { return u; }

static void test_bad_maps(const char *path) {
    ob_err err = {0};
    char dir[600];
    ob_model *p = prune(path, OB_STRUCT_CHANNELS_IN, 0.3, NULL, NULL);
    if (!p) return;
    const char *name = "model.layers.0.self_attn.q_proj.in_index";
    int64_t full = p->layers[0].wq.in_full;
    struct {
        int at;
        int32_t value;
        const char *want;
    } cases[] = {{0, (int32_t)full, "outside"}, {1, -1, "outside"}, {1, p->layers[0].wq.in_keep[0], "twice"},
                 {2, 0, "ascend"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(dir, sizeof dir, "%s/badmap%zu", tmpdir, c);
        CHECK_OK(ob_model_save_hf_container(p, dir, OB_DT_F32, &err), &err);
        patch_index(dir, name, cases[c].at, cases[c].value);
        ob_model *b = NULL;
        int rc = ob_model_load(dir, NULL, &b, &err);
        CHECK(rc == OB_EFORMAT && strstr(err.msg, name) && strstr(err.msg, dir) && strstr(err.msg, cases[c].want) &&
                  !strchr(err.msg, '\n'),
              "bad index map case %zu: rc %d '%s'", c, rc, err.msg);
        printf("bad map %zu: %s\n", c, err.msg);
        ob_model_free(b);
    }
    /* wrong dtype and wrong length, through the reader directly */
    int32_t idx[4] = {0, 1, 2, 3};
    ob_tensor t = {.name = "x.in_index", .dtype = OB_DT_I32, .n_dims = 1, .shape = {4}, .numel = 4, .data = idx, .nbytes = 16};
    const int32_t *keep;
    int64_t n;
    CHECK(ob_hf_index_map(p, "dir", fake_find, &t, "x.weight", ".in_index", 3, &keep, &n, &err) == OB_EFORMAT &&
              strstr(err.msg, "x.in_index"),
          "index map longer than the matrix: '%s'", err.msg);
    t.dtype = OB_DT_F32;
    CHECK(ob_hf_index_map(p, "dir", fake_find, &t, "x.weight", ".in_index", 8, &keep, &n, &err) == OB_EFORMAT,
          "index map of dtype F32: '%s'", err.msg);
    t.dtype = OB_DT_I32;
    CHECK(ob_hf_index_map(p, "dir", fake_find, &t, "x.weight", ".in_index", 8, &keep, &n, &err) == 0 && n == 4 &&
              keep && keep[3] == 3,
          "a good index map: '%s'", err.msg);
    ob_model_free(p);
}

/* ---------------------------------------------------- 5. refusals etc. */

/* a fingerprint of the model's shapes and data pointers */
static uint64_t fingerprint(const ob_model *m) {
    uint64_t h = 1469598103934665603ull;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const ob_layer *L = &m->layers[l];
        const ob_matrix *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        uint64_t v[3] = {(uint64_t)L->n_heads, (uint64_t)L->n_kv_heads, (uint64_t)L->ffn_dim};
        for (int k = 0; k < 3; k++) h = (h ^ v[k]) * 1099511628211ull;
        for (int k = 0; k < 7; k++)
            h = (h ^ (uint64_t)(uintptr_t)ms[k]->data ^ (uint64_t)ms[k]->rows ^ ((uint64_t)ms[k]->cols << 20) ^
                 (uint64_t)(uintptr_t)ms[k]->in_keep) * 1099511628211ull;
    }
    return h ^ (uint64_t)m->cfg.n_heads ^ ((uint64_t)m->cfg.ffn_dim << 16) ^ ((uint64_t)m->owned_bytes << 32);
}

static void refuse(ob_model *m, ob_struct_kind kind, double s, int want_rc, const char *want, const char *label) {
    ob_struct_params p = ob_struct_default_params();
    p.kind = kind;
    p.sparsity = s;
    ob_err err = {0};
    ob_struct_report rep;
    uint64_t before = fingerprint(m);
    int rc = ob_prune_structured(m, &p, &rep, &err);
    CHECK(rc == want_rc && strstr(err.msg, want) && !strchr(err.msg, '\n') && rep.n_tensors == 0 && !rep.tensors,
          "%s: rc %d '%s' (wanted %d with '%s')", label, rc, err.msg, want_rc, want);
    CHECK(fingerprint(m) == before, "%s: the model changed although it was refused", label);
    printf("refused %s: %s\n", label, err.msg);
}

static void test_refusals(const char *mha, const char *gqa) {
    ob_model *m = load(gqa);
    if (!m) return;
    float *before = run(m, 0);
    refuse(m, OB_STRUCT_FFN, -0.1, OB_EINVAL, "outside [0, 1)", "negative sparsity");
    refuse(m, OB_STRUCT_FFN, 1.0, OB_EINVAL, "outside [0, 1)", "sparsity 1");
    refuse(m, OB_STRUCT_HEADS, NAN, OB_EINVAL, "outside [0, 1)", "NaN sparsity");
    refuse(m, OB_STRUCT_HEADS, 0.9, OB_EINVAL, "all 4 query heads of a kv group", "every head of a GQA group");
    refuse(m, OB_STRUCT_FFN_HEADS, 0.9, OB_EINVAL, "kv group", "ffn+heads, every head of a group (checked first)");
    refuse(m, OB_STRUCT_FFN, 0.99, OB_EINVAL, "no FFN neuron", "every FFN neuron");
    refuse(m, OB_STRUCT_CHANNELS_OUT, 0.999, OB_EINVAL, "leaves no row", "every output row");
    refuse(m, OB_STRUCT_CHANNELS_IN, 0.999, OB_EINVAL, "leaves no column", "every input column");
    m->cfg.arch = OB_ARCH_GPT2;
    refuse(m, OB_STRUCT_FFN, 0.3, OB_EUNSUP, "gpt2", "GPT-2 architecture");
    m->cfg.arch = OB_ARCH_LLAMA;
    float *after = run(m, 0);
    if (before && after)
        CHECK(max_abs_diff(before, after, (size_t)NT * m->cfg.n_vocab) == 0.0f, "refusals changed the logits");
    free(before), free(after);
    /* quantized */
    ob_err err = {0};
    ob_quant_params qp = ob_quant_default_params();
    CHECK_OK(ob_model_quantize(m, &qp, pool, NULL, &err), &err);
    refuse(m, OB_STRUCT_FFN, 0.3, OB_EUNSUP, "prune before quantizing", "quantized weights");
    ob_model_free(m);
    /* MHA: every head; channel pruning twice */
    if ((m = load(mha))) {
        refuse(m, OB_STRUCT_HEADS, 0.95, OB_EINVAL, "would remove all", "every MHA head");
        ob_struct_params p = ob_struct_default_params();
        p.kind = OB_STRUCT_CHANNELS_IN;
        p.sparsity = 0.25;
        CHECK_OK(ob_prune_structured(m, &p, NULL, &err), &err);
        refuse(m, OB_STRUCT_FFN, 0.3, OB_EUNSUP, "already channel-pruned", "pruning a channel-pruned model");
        ob_model_free(m);
    }
}

/* RTN after pruning: q8_0 of ffn+heads and of a channel-pruned model
 * (maps kept, quantized activations gathered through the workspace), no
 * further from float32 than q8_0 of the unpruned model is (3x margin). */
static float q8_error(ob_model *m, const char *label) {
    float *f = run(m, 0);
    ob_err err = {0};
    ob_quant_params qp = ob_quant_default_params();
    CHECK_OK(ob_model_quantize(m, &qp, pool, NULL, &err), &err);
    float *q = run(m, 0), *qd = run(m, 1), d = INFINITY;
    if (f && q && qd) {
        size_t n = (size_t)NT * m->cfg.n_vocab;
        float dd = max_abs_diff(q, qd, n);
        d = max_abs_diff(f, q, n);
        printf("%s then q8_0: max abs diff to f32 %.3g, prefill vs decode %.3g\n", label, d, dd);
        CHECK(dd < 1e-3f, "%s: q8_0 prefill and decode differ by %g", label, dd);
    }
    free(f), free(q), free(qd);
    return d;
}

static void test_quantize_after(const char *path, const char *label, double heads_s) {
    char what[200];
    ob_model *m = load(path);
    if (!m) return;
    snprintf(what, sizeof what, "%s: unpruned", label);
    float base = q8_error(m, what);
    ob_model_free(m);
    for (int kind = 0; kind < 2; kind++) {
        ob_model *p = load(path);
        if (!p) continue;
        ob_struct_params sp = ob_struct_default_params();
        sp.kind = kind ? OB_STRUCT_CHANNELS_IN : OB_STRUCT_FFN_HEADS;
        sp.sparsity = kind ? 0.3 : heads_s;
        sp.multiple = 32; /* every kept width a whole number of q8_0 blocks */
        ob_err err = {0};
        CHECK_OK(ob_prune_structured(p, &sp, NULL, &err), &err);
        CHECK(p->layers[0].w_down.cols % 32 == 0 && p->layers[0].wo.cols % 32 == 0 && p->layers[0].wq.cols % 32 == 0,
              "%s: kept widths are not multiples of 32", label);
        snprintf(what, sizeof what, "%s: %s", label, kind ? "channels-in 0.3" : "ffn+heads");
        float d = q8_error(p, what);
        CHECK(p->layers[0].w_down.format == OB_FMT_Q8_0 && (!kind || p->layers[0].wq.in_keep),
              "%s: quantized pruned model lost its format or maps", what);
        CHECK(d <= 3 * base + 1e-3f, "%s: q8_0 error %g against %g unpruned", what, d, base);
        ob_model_free(p);
    }
}

static void test_act_norms(const char *path) {
    ob_model *m = load(path);
    if (!m) return;
    int32_t t[2 * 8];
    for (int i = 0; i < 16; i++) t[i] = (i * 7 + 3) % m->cfg.n_vocab;
    float **norms = NULL;
    ob_err err = {0};
    CHECK_OK(ob_struct_act_norms(m, pool, t, 2, 8, &norms, &err), &err);
    if (norms) {
        int ok = 1;
        for (int l = 0; l < m->cfg.n_layers; l++)
            for (int j = 0; j < m->cfg.ffn_dim; j++) ok &= isfinite(norms[l * OB_N_SITES + OB_SITE_DOWN][j]);
        CHECK(ok && norms[OB_SITE_QKV][0] > 0, "activation norms not finite / positive");
        ob_struct_params p = ob_struct_default_params();
        p.kind = OB_STRUCT_FFN_HEADS;
        p.sparsity = 0.5;
        p.act_norm = (const float *const *)norms;
        CHECK_OK(ob_prune_structured(m, &p, NULL, &err), &err);
        float *l = run(m, 1);
        CHECK(l && isfinite(l[0]), "model pruned with activation norms does not run");
        free(l);
    }
    free(norms);
    ob_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_structured_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    ob_err err = {0};
    if (ob_pool_new(2, &pool, &err)) return 1;
    char mha[600], gqa[600], stories[600];
    snprintf(mha, sizeof mha, "%s/mha.bin", tmpdir);
    snprintf(gqa, sizeof gqa, "%s/gqa.bin", tmpdir);
    write_tiny_llama2c(mha, 64, 128, 2, 4, 4, 96, 32, 1, 7);
    write_tiny_llama2c(gqa, 64, 128, 2, 8, 2, 96, 32, 0, 11);
    stories_path(stories, sizeof stories, "model.bin");

    test_linear_maps();
    test_ffn(mha, "tiny MHA ffn 0.3", 0.3, 0);
    test_ffn(gqa, "tiny GQA ffn 0.5, activation norms", 0.5, 1);
    test_heads(mha, "tiny MHA heads 0.5", 0.5, 0);
    test_heads(gqa, "tiny GQA heads 0.5", 0.5, 0);
    test_heads(gqa, "tiny GQA ffn+heads 0.25", 0.25, 1);
    test_channels(mha, "tiny MHA", 0.3, 1);
    test_channels(gqa, "tiny GQA", 0.3, 0);
    test_roundtrip(gqa, "gqa");
    test_bad_maps(gqa);
    test_refusals(mha, gqa);
    
    test_quantize_after(gqa, "tiny GQA", 0.5);
    test_act_norms(gqa);
    if (access(stories, R_OK) == 0) {
        test_ffn(stories, "stories15M ffn 0.3", 0.3, 0);
        test_heads(stories, "stories15M heads 0.34 (MHA)", 0.34, 0);
        test_channels(stories, "stories15M", 0.3, 1);
        test_channels(stories, "stories15M", 0.3, 0);
        test_roundtrip(stories, "stories15M");
        test_quantize_after(stories, "stories15M", 0.34);
    } else {
        printf("stories15M not found at %s: skipped its cases (optibench pull stories15M)\n", stories);
    }
    ob_pool_free(pool);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) printf("could not remove %s\n", tmpdir);
    return CHECK_DONE("test_structured");
}

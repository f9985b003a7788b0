/* kld.c - KL divergence of a model from a base model on the same windows.
 *
 * Both models run side by side through ob_eval_run_windows (the same
 * batches), and each scored row is reduced at once to a few numbers; no
 * logits are kept beyond one ob_decode round.  Per token, in float64:
 *   KL(P_base || P_model) = sum_i p_base_i * (log p_base_i - log p_model_i)
 * with both log-softmaxes from double exp() sums; the same top token
 * (first argmax of each row); Δp = p_model(correct) - p_base(correct).
 * The statistics follow llama.cpp's kl_divergence (tools/perplexity/
 * perplexity.cpp): mean KLD +/- sd/sqrt(N); percentiles by linear
 * interpolation at fraction*(N-1); median = mean of the two middle values;
 * RMS Δp = sqrt(mean Δp^2) with uncertainty 0.5/rms * sd(Δp^2)/sqrt(N);
 * same top +/- sqrt(p(1-p)/(N-1)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

int ob_eval_same_vocab(const ob_model *a, const ob_model *b, ob_err *err) {
    const ob_config *ca = ob_model_config(a), *cb = ob_model_config(b);
    if (ca->n_vocab != cb->n_vocab)
        return ob_fail(err, OB_EINVAL, "the models have different vocabularies: %d tokens (%s) and %d (%s, --base)",
                       ca->n_vocab, ca->name, cb->n_vocab, cb->name);
    const ob_tokenizer *ta = ob_model_tokenizer(a), *tb = ob_model_tokenizer(b);
    if (!ta || !tb) return 0;
    /* the same string, or (a llama2.c tokenizer.bin stores byte tokens as raw
     * bytes, its Hugging Face conversion as "<0xNN>") the same decoded bytes */
    for (int32_t i = 0; i < ca->n_vocab; i++) {
        const char *sa = ob_tokenizer_vocab_str(ta, i), *sb = ob_tokenizer_vocab_str(tb, i);
        if (sa && sb && !strcmp(sa, sb)) continue;
        char pa[256], pb[256];
        int na = ob_token_to_piece(ta, -1, i, pa, sizeof pa), nb = ob_token_to_piece(tb, -1, i, pb, sizeof pb);
        if (na != nb || (na > 0 && memcmp(pa, pb, (size_t)na)))
            return ob_fail(err, OB_EINVAL, "the models have different vocabularies: token %d is '%.40s' in %s, '%.40s' in %s (--base)",
                           i, sa ? sa : "", ca->name, sb ? sb : "", cb->name);
    }
    return 0;
}

typedef struct {
    double kld, nll, nll_base, dp;
    uint8_t same;
} kld_tok;

typedef struct {
    ob_pool *pool;
    int V;
    double *scratch; /* [pool size][V] */
    const float *a, *b; /* model, base logits */
    const int32_t *target;
    const int64_t *out_index;
    int n_rows;
    kld_tok *out;
} kld_job;

/* Row maximum (first index on ties). */
static int row_argmax(const float *x, int V) {
    int k = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > x[k]) k = i;
    return k;
}

static void kld_row(const float *a, const float *b, int V, int32_t t, double *e, kld_tok *o) {
    int ia = row_argmax(a, V), ib = row_argmax(b, V);
    double ma = a[ia], mb = b[ib], sa = 0, sb = 0;
    for (int i = 0; i < V; i++) {
        sa += exp((double)a[i] - ma);
        e[i] = exp((double)b[i] - mb);
        sb += e[i];
    }
    double la = ma + log(sa), lb = mb + log(sb), kl = 0;
    for (int i = 0; i < V; i++) kl += e[i] / sb * (((double)b[i] - lb) - ((double)a[i] - la));
    o->kld = kl;
    o->nll = la - a[t];
    o->nll_base = lb - b[t];
    o->dp = exp(-o->nll) - exp(-o->nll_base);
    o->same = ia == ib;
}

static void kld_task(void *ctx, int i, int n_tasks) {
    kld_job *j = ctx;
    int r0 = (int)((int64_t)j->n_rows * i / n_tasks), r1 = (int)((int64_t)j->n_rows * (i + 1) / n_tasks);
    double *e = j->scratch + (size_t)i * j->V;
    for (int r = r0; r < r1; r++)
        kld_row(j->a + (size_t)r * j->V, j->b + (size_t)r * j->V, j->V, j->target[r], e,
                &j->out[j->out_index[r]]);
}

static int kld_rows(void *user, const float *const *logits, int n_rows, const int32_t *target,
                    const int64_t *out_index, ob_err *err) {
    kld_job *j = user;
    j->a = logits[0];
    j->b = logits[1];
    j->target = target;
    j->out_index = out_index;
    j->n_rows = n_rows;
    int nt = ob_pool_size(j->pool);
    if (nt > n_rows) nt = n_rows;
    ob_pool_run(j->pool, kld_task, j, nt);
    return 0;
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

/* llama.cpp's percentile(): linear interpolation at fraction*(n-1). */
static double percentile(const double *v, int64_t n, double f) {
    if (f <= 0) return v[0];
    if (f >= 1) return v[n - 1];
    double p = f * (double)(n - 1);
    int64_t ip = (int64_t)p;
    p -= (double)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

/* mean and sd/sqrt(n) of v[k].field, two passes */
#define MEAN_SE(field, expr, mean, se)                                         \
    do {                                                                       \
        double s_ = 0, ss_ = 0;                                                \
        for (int64_t k = 0; k < N; k++) s_ += (expr);                          \
        mean = s_ / (double)N;                                                 \
        for (int64_t k = 0; k < N; k++) ss_ += ((expr) - mean) * ((expr) - mean); \
        se = N > 1 ? sqrt(ss_ / (double)(N - 1)) / sqrt((double)N) : 0.0;     \
    } while (0)

int ob_eval_kld(const ob_model *model, const ob_model *base, ob_pool *pool, const int32_t *tokens,
                int64_t n_tokens, const ob_ppl_params *p, ob_kld_result *res, double *token_kld, ob_err *err) {
    int n_windows, spw, rc;
    memset(res, 0, sizeof *res);
    if ((rc = ob_eval_same_vocab(model, base, err))) return rc;
    if ((rc = ob_ppl_windows(p, n_tokens, &n_windows, &spw, err))) return rc;
    int64_t N = (int64_t)n_windows * spw;
    if (N < 1) return ob_fail(err, OB_EINVAL, "context of %d tokens scores no token per window", p->n_ctx);
    int V = ob_model_config(model)->n_vocab;
    kld_tok *t = malloc((size_t)N * sizeof *t);
    double *scratch = malloc((size_t)ob_pool_size(pool) * V * sizeof *scratch);
    double *sorted = malloc((size_t)N * sizeof *sorted);
    if (!t || !scratch || !sorted) {
        free(t);
        free(scratch);
        free(sorted);
        return ob_fail(err, OB_ENOMEM, "kld: out of memory for %lld tokens", (long long)N);
    }
    kld_job j = {.pool = pool, .V = V, .scratch = scratch, .out = t};
    const ob_model *models[2] = {model, base};
    double secs = 0;
    rc = ob_eval_run_windows(models, 2, pool, tokens, n_tokens, p, kld_rows, &j, &secs, err);
    if (!rc) {
        res->style = p->style;
        res->n_ctx = p->n_ctx;
        res->stride = p->n_ctx;
        res->n_windows = n_windows;
        res->scored_per_window = spw;
        res->n_tokens = n_tokens;
        res->n_scored = N;
        double m, se;
        MEAN_SE(kld, t[k].kld, m, se);
        res->kld_mean = m;
        res->kld_stderr = se;
        MEAN_SE(nll, t[k].nll, m, se);
        res->ppl = exp(m);
        res->ppl_stderr = res->ppl * se;
        MEAN_SE(nll_base, t[k].nll_base, m, se);
        res->ppl_base = exp(m);
        res->ppl_base_stderr = res->ppl_base * se;
        MEAN_SE(dp, t[k].dp, m, se);
        res->dp_mean = m;
        MEAN_SE(dp2, t[k].dp * t[k].dp, m, se);
        res->dp_rms = sqrt(m);
        res->dp_rms_stderr = res->dp_rms > 0 ? 0.5 / res->dp_rms * se : 0.0;
        int64_t same = 0;
        for (int64_t k = 0; k < N; k++) same += t[k].same;
        res->same_top = (double)same / (double)N;
        res->same_top_stderr =
            N > 1 ? sqrt(res->same_top * (1 - res->same_top) / (double)(N - 1)) : 0.0;
        for (int64_t k = 0; k < N; k++) sorted[k] = t[k].kld;
        if (token_kld) memcpy(token_kld, sorted, (size_t)N * sizeof *sorted);
        qsort(sorted, (size_t)N, sizeof *sorted, cmp_double);
        res->kld_median = N % 2 ? sorted[N / 2] : 0.5 * (sorted[N / 2] + sorted[N / 2 - 1]);
        res->kld_p90 = percentile(sorted, N, 0.90);
        res->kld_p99 = percentile(sorted, N, 0.99);
        res->kld_max = sorted[N - 1];
        res->seconds = secs;
        res->tokens_per_s = secs > 0 ? (double)n_windows * p->n_ctx / secs : 0;
    }
    free(t);
    free(scratch);
    free(sorted);
    return rc;
}

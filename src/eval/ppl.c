/* ppl.c - perplexity over a token stream, the window runner shared with the
 * KL divergence, and reading a corpus (text file, folder, or raw token ids).
 *
 * Windowing follows two references (see eval.h for the full description):
 *  - GPTQ: IST-DASLab/gptq llama.py, llama_eval(): nsamples =
 *    numel // seqlen; window i = testenc[:, i*seqlen:(i+1)*seqlen];
 *    shift_logits = logits[:, :-1], shift_labels = window[:, 1:];
 *    ppl = exp(sum(mean loss * seqlen) / (nsamples * seqlen)).
 *  - llama.cpp: tools/perplexity/perplexity.cpp, perplexity(): n_chunk =
 *    tokens.size() / n_ctx; the first token of each chunk replaced by BOS
 *    when add_bos; first = n_ctx/2; logits j in [first, n_ctx-1) scored
 *    against tokens[start + j + 1]; "PPL = exp(nll) +/- sqrt(var/(N-1))*ppl".
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/eval.h"

const char *ob_ppl_style_name(ob_ppl_style s) { return s == OB_PPL_LLAMACPP ? "llamacpp" : "gptq"; }

int ob_ppl_style_parse(const char *s, ob_ppl_style *out) {
    if (!s) return -1;
    if (!strcmp(s, "gptq")) *out = OB_PPL_GPTQ;
    else if (!strcmp(s, "llamacpp")) *out = OB_PPL_LLAMACPP;
    else return -1;
    return 0;
}

ob_ppl_params ob_ppl_default_params(void) {
    ob_ppl_params p;
    memset(&p, 0, sizeof p);
    p.style = OB_PPL_GPTQ;
    p.n_batch = 8;
    p.max_tokens = 2048;
    p.bos_id = -1;
    return p;
}

static int first_scored(const ob_ppl_params *p) { return p->style == OB_PPL_LLAMACPP ? p->n_ctx / 2 : 0; }

int ob_ppl_windows(const ob_ppl_params *p, int64_t n_tokens, int *n_windows, int *scored_per_window,
                   ob_err *err) {
    if (p->n_ctx < 2) return ob_fail(err, OB_EINVAL, "context of %d tokens: a window needs at least 2", p->n_ctx);
    if (p->limit < 0) return ob_fail(err, OB_EINVAL, "limit of %d windows is negative", p->limit);
    int64_t nw = n_tokens / p->n_ctx;
    if (nw < 1)
        return ob_fail(err, OB_EINVAL, "the text has %lld tokens, fewer than one window of %d (--ctx)",
                       (long long)n_tokens, p->n_ctx);
    if (nw > INT32_MAX) nw = INT32_MAX;
    if (p->limit > 0 && nw > p->limit) nw = p->limit;
    *n_windows = (int)nw;
    *scored_per_window = p->n_ctx - 1 - first_scored(p);
    return 0;
}

/* ------------------------------------------------------------ the runner */

int ob_eval_run_windows(const ob_model *const *models, int n_models, ob_pool *pool, const int32_t *tokens,
                        int64_t n_tokens, const ob_ppl_params *p, ob_eval_rows_fn fn, void *user,
                        double *seconds, ob_err *err) {
    int n_windows, spw, rc;
    if ((rc = ob_ppl_windows(p, n_tokens, &n_windows, &spw, err))) return rc;
    if (n_models < 1 || n_models > 2) return ob_fail(err, OB_EINVAL, "eval: %d models (1 or 2 expected)", n_models);
    const int ctx_len = p->n_ctx, first = first_scored(p), V = ob_model_config(models[0])->n_vocab;
    for (int m = 0; m < n_models; m++) {
        const ob_config *c = ob_model_config(models[m]);
        if (c->n_vocab != V)
            return ob_fail(err, OB_EINVAL, "eval: vocabularies differ (%d and %d tokens)", V, c->n_vocab);
        if (ctx_len > c->max_seq)
            return ob_fail(err, OB_ERANGE, "context of %d tokens exceeds %s's %d (--ctx)", ctx_len,
                           c->name[0] ? c->name : "the model", c->max_seq);
    }
    int add_bos = p->style == OB_PPL_LLAMACPP && p->add_bos;
    if (add_bos && (p->bos_id < 0 || p->bos_id >= V))
        return ob_fail(err, OB_EINVAL, "eval: BOS id %d is not a token of this vocabulary", p->bos_id);
    int B = p->n_batch > 0 ? p->n_batch : 8;
    if (B > n_windows) B = n_windows;
    int max_tokens = p->max_tokens > 0 ? p->max_tokens : 2048;
    /* positions fed per window per ob_decode call */
    int chunk = (int64_t)B * ctx_len <= max_tokens ? ctx_len : max_tokens / B;
    if (chunk < 1) chunk = 1;
    int cap = B * chunk;

    ob_ctx *ctxs[2] = {NULL, NULL};
    float *logits[2] = {NULL, NULL};
    int32_t *btok = malloc((size_t)cap * sizeof *btok), *bpos = malloc((size_t)cap * sizeof *bpos);
    int32_t *bseq = malloc((size_t)cap * sizeof *bseq), *target = malloc((size_t)cap * sizeof *target);
    uint8_t *mask = malloc((size_t)cap);
    int64_t *out_index = malloc((size_t)cap * sizeof *out_index);
    rc = 0;
    if (!btok || !bpos || !bseq || !target || !mask || !out_index) {
        rc = ob_fail(err, OB_ENOMEM, "eval: out of memory for a batch of %d tokens", cap);
        goto done;
    }
    for (int m = 0; m < n_models; m++) {
        ob_ctx_params cp = ob_ctx_default_params();
        cp.n_ctx = ctx_len;
        cp.n_seq = B;
        cp.max_batch = cap;
        if ((rc = ob_ctx_new(models[m], pool, &cp, &ctxs[m], err))) goto done;
        logits[m] = malloc((size_t)cap * V * sizeof(float));
        if (!logits[m]) {
            rc = ob_fail(err, OB_ENOMEM, "eval: out of memory for %d rows of %d logits", cap, V);
            goto done;
        }
    }

    double t0 = ob_now();
    int64_t scored = 0;
    for (int g0 = 0; g0 < n_windows; g0 += B) {
        int nb = n_windows - g0 < B ? n_windows - g0 : B;
        for (int m = 0; m < n_models; m++)
            for (int s = 0; s < nb; s++) ob_ctx_seq_trim(ctxs[m], s, 0);
        for (int c0 = 0; c0 < ctx_len; c0 += chunk) {
            int c1 = c0 + chunk < ctx_len ? c0 + chunk : ctx_len, n = 0, rows = 0;
            for (int s = 0; s < nb; s++) {
                int64_t w = g0 + s, start = w * ctx_len;
                for (int pos = c0; pos < c1; pos++) {
                    int32_t t = tokens[start + pos];
                    if (pos == 0 && add_bos) t = p->bos_id;
                    btok[n] = t;
                    bpos[n] = pos;
                    bseq[n] = s;
                    mask[n] = pos >= first && pos <= ctx_len - 2;
                    if (mask[n]) {
                        target[rows] = tokens[start + pos + 1];
                        out_index[rows] = w * spw + (pos - first);
                        rows++;
                    }
                    n++;
                }
            }
            ob_batch b = {n, btok, bpos, bseq, mask};
            for (int m = 0; m < n_models; m++)
                if ((rc = ob_decode(ctxs[m], &b, logits[m], err))) goto done;
            if (rows) {
                const float *lg[2] = {logits[0], logits[1]};
                if ((rc = fn(user, lg, rows, target, out_index, err))) goto done;
                scored += rows;
            }
        }
        if (p->progress) p->progress(p->progress_user, g0 + nb, n_windows, scored, ob_now() - t0);
    }
    if (seconds) *seconds = ob_now() - t0;
done:
    for (int m = 0; m < 2; m++) {
        ob_ctx_free(ctxs[m]);
        free(logits[m]);
    }
    free(btok);
    free(bpos);
    free(bseq);
    free(target);
    free(mask);
    free(out_index);
    return rc;
}

/* ------------------------------------------------------------ perplexity */

typedef struct {
    ob_pool *pool;
    int V;
    const float *logits;
    const int32_t *target;
    const int64_t *out_index;
    int n_rows;
    double *nll; /* [n_scored] */
} ppl_job;

/* -log softmax(x)[t]: max, then sum of exp(x - max) accumulated in float64. */
static void ppl_task(void *ctx, int i, int n_tasks) {
    ppl_job *j = ctx;
    int r0 = (int)((int64_t)j->n_rows * i / n_tasks), r1 = (int)((int64_t)j->n_rows * (i + 1) / n_tasks);
    for (int r = r0; r < r1; r++)
        j->nll[j->out_index[r]] = ob_eval_row_nll(j->logits + (size_t)r * j->V, j->V, j->target[r], NULL);
}

static int ppl_rows(void *user, const float *const *logits, int n_rows, const int32_t *target,
                    const int64_t *out_index, ob_err *err) {
    ppl_job *j = user;
    j->logits = logits[0];
    j->target = target;
    j->out_index = out_index;
    j->n_rows = n_rows;
    int nt = ob_pool_size(j->pool);
    if (nt > n_rows) nt = n_rows;
    ob_pool_run(j->pool, ppl_task, j, nt);
    return 0;
}

int ob_eval_ppl(const ob_model *model, ob_pool *pool, const int32_t *tokens, int64_t n_tokens,
                const ob_ppl_params *p, ob_ppl_result *res, double *token_nll, ob_err *err) {
    int n_windows, spw, rc;
    memset(res, 0, sizeof *res);
    if ((rc = ob_ppl_windows(p, n_tokens, &n_windows, &spw, err))) return rc;
    int64_t N = (int64_t)n_windows * spw;
    if (N < 1) return ob_fail(err, OB_EINVAL, "context of %d tokens scores no token per window", p->n_ctx);
    double *nll = token_nll ? token_nll : malloc((size_t)N * sizeof *nll);
    if (!nll) return ob_fail(err, OB_ENOMEM, "eval: out of memory for %lld NLL values", (long long)N);
    ppl_job j = {.pool = pool, .V = ob_model_config(model)->n_vocab, .nll = nll};
    double secs = 0;
    rc = ob_eval_run_windows(&model, 1, pool, tokens, n_tokens, p, ppl_rows, &j, &secs, err);
    if (!rc) {
        double sum = 0;
        for (int64_t k = 0; k < N; k++) sum += nll[k];
        double mean = sum / (double)N, ss = 0;
        for (int64_t k = 0; k < N; k++) ss += (nll[k] - mean) * (nll[k] - mean);
        double sd = N > 1 ? sqrt(ss / (double)(N - 1)) : 0.0;
        res->style = p->style;
        res->n_ctx = p->n_ctx;
        res->stride = p->n_ctx;
        res->n_windows = n_windows;
        res->scored_per_window = spw;
        res->n_tokens = n_tokens;
        res->n_scored = N;
        res->nll_mean = mean;
        res->nll_sd = sd;
        res->ppl = exp(mean);
        res->ppl_stderr = res->ppl * sd / sqrt((double)N);
        res->seconds = secs;
        res->tokens_per_s = secs > 0 ? (double)n_windows * p->n_ctx / secs : 0;
        res->scored_per_s = secs > 0 ? (double)N / secs : 0;
    }
    if (nll != token_nll) free(nll);
    return rc;
}

/* ---------------------------------------------------------------- corpus */

static int read_file(const char *path, char **buf, size_t *len, ob_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ob_fail(err, OB_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = realloc(b, cap * 2 + 1);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    if (bad) {
        free(b);
        return ob_fail(err, OB_EIO, "%s: read error", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int only_space(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') return 0;
    return 1;
}

int ob_eval_read_text(const char *path, char **text, size_t *len, int *n_docs, ob_err *err) {
    struct stat st;
    *text = NULL;
    *len = 0;
    *n_docs = 0;
    if (stat(path, &st) != 0) return ob_fail(err, OB_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        int rc = read_file(path, text, len, err);
        if (rc) return rc;
        if (only_space(*text, *len)) {
            free(*text);
            *text = NULL;
            return ob_fail(err, OB_EINVAL, "%s: the text is empty", path);
        }
        *n_docs = 1;
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) return ob_fail(err, OB_EIO, "%s: cannot open folder: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".txt") || e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
            break;
        }
        n++;
    }
    closedir(d);
    if (!rc && !n) rc = ob_fail(err, OB_EINVAL, "%s: the folder has no .txt files", path);
    if (!rc) qsort(names, n, sizeof *names, cmp_str);
    char *all = NULL;
    size_t all_len = 0;
    int docs = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char fp[4096], *b;
        size_t bl;
        if ((size_t)snprintf(fp, sizeof fp, "%s/%s", path, names[i]) >= sizeof fp) {
            rc = ob_fail(err, OB_EINVAL, "%s/%s: path too long", path, names[i]);
            break;
        }
        if (stat(fp, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if ((rc = read_file(fp, &b, &bl, err))) break;
        if (only_space(b, bl)) {
            free(b);
            continue;
        }
        char *na = realloc(all, all_len + bl + 3);
        if (!na) {
            free(b);
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
            break;
        }
        all = na;
        if (docs) {
            memcpy(all + all_len, "\n\n", 2);
            all_len += 2;
        }
        memcpy(all + all_len, b, bl);
        all_len += bl;
        all[all_len] = '\0';
        docs++;
        free(b);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (!rc && !docs) rc = ob_fail(err, OB_EINVAL, "%s: every .txt file in the folder is empty", path);
    if (rc) {
        free(all);
        return rc;
    }
    *text = all;
    *len = all_len;
    *n_docs = docs;
    return 0;
}

int ob_eval_tokenize(const ob_tokenizer *tok, const char *text, size_t len, int add_bos, int32_t **ids,
                     int64_t *n_ids, ob_err *err) {
    *ids = NULL;
    *n_ids = 0;
    if (!tok) return ob_fail(err, OB_EINVAL, "tokenize: the model has no tokenizer (give --tokens-file)");
    if (len > (size_t)INT32_MAX - 16) return ob_fail(err, OB_ERANGE, "tokenize: text of %zu bytes is too long", len);
    /* every token covers at least one byte, plus BOS */
    int cap = (int)len + 2, n = 0;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    if (!v) return ob_fail(err, OB_ENOMEM, "tokenize: out of memory for %d ids", cap);
    int rc = ob_tokenize(tok, text, len, add_bos, 0, v, cap, &n, err);
    if (rc == OB_ERANGE && n > cap) { /* not expected, but size it exactly */
        int32_t *nv = realloc(v, (size_t)n * sizeof *v);
        if (!nv) {
            free(v);
            return ob_fail(err, OB_ENOMEM, "tokenize: out of memory for %d ids", n);
        }
        v = nv;
        cap = n;
        rc = ob_tokenize(tok, text, len, add_bos, 0, v, cap, &n, err);
    }
    if (rc) {
        free(v);
        return rc;
    }
    if (n <= (add_bos ? 1 : 0)) {
        free(v);
        return ob_fail(err, OB_EINVAL, "tokenize: the text gives no tokens");
    }
    *ids = v;
    *n_ids = n;
    return 0;
}

int ob_eval_read_tokens(const char *path, int n_vocab, int32_t **ids, int64_t *n_ids, ob_err *err) {
    char *b;
    size_t len;
    *ids = NULL;
    *n_ids = 0;
    int rc = read_file(path, &b, &len, err);
    if (rc) return rc;
    if (len == 0) {
        free(b);
        return ob_fail(err, OB_EINVAL, "%s: the token file is empty", path);
    }
    if (len % 4) {
        free(b);
        return ob_fail(err, OB_EFORMAT, "%s: %zu bytes is not a whole number of int32 token ids", path, len);
    }
    int64_t n = (int64_t)(len / 4);
    int32_t *v = malloc((size_t)n * sizeof *v);
    if (!v) {
        free(b);
        return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    }
    const unsigned char *u = (const unsigned char *)b;
    for (int64_t i = 0; i < n; i++) {
        uint32_t x = (uint32_t)u[4 * i] | (uint32_t)u[4 * i + 1] << 8 | (uint32_t)u[4 * i + 2] << 16 |
                     (uint32_t)u[4 * i + 3] << 24;
        v[i] = (int32_t)x;
        if (v[i] < 0 || v[i] >= n_vocab) {
            rc = ob_fail(err, OB_EINVAL, "%s: token %lld is %d, outside the vocabulary (0..%d)", path, (long long)i,
                         v[i], n_vocab - 1);
            break;
        }
    }
    free(b);
    if (rc) {
        free(v);
        return rc;
    }
    *ids = v;
    *n_ids = n;
    return 0;
}

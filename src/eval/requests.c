/* requests.c - log-likelihood and greedy-generation requests, batched over
 * the KV slots of one context (see requests.h for the rules). */
#include "eval/requests.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

ob_req_params ob_req_default_params(void) {
    ob_req_params p = {.n_seq = 8, .max_tokens = 1024, .max_len = 0};
    return p;
}

/* ------------------------------------------------------------------ feeder
 *
 * Collects tokens of several sequences into one ob_decode call and runs it
 * when the call is full (max_tokens tokens, or max_rows of them wanting
 * logits) or when asked.  Each token that wants logits carries a tag; after
 * the call, every such row is scored against its target (NLL and argmax,
 * rows spread over the pool) and handed back in feed order. */

typedef struct {
    int32_t target;   /* token the row is scored against (-1: none)     */
    int32_t tag_a;    /* caller's labels                                 */
    int32_t tag_b;
} row_tag;

typedef struct feeder feeder;
typedef int (*rows_fn)(feeder *f, void *user, ob_err *err);

struct feeder {
    ob_ctx *ctx;
    ob_pool *pool;
    int V, max_tokens, max_rows, n, rows;
    int32_t *tok, *pos, *seq;
    uint8_t *mask;
    row_tag *tags;
    float *logits;      /* [max_rows][V]                                  */
    double *nll;        /* [max_rows] filled by the scoring pass           */
    int32_t *argmax;    /* [max_rows]                                      */
    int64_t fed;
    rows_fn on_rows;
    void *user;
};

double ob_eval_row_nll(const float *x, int V, int32_t t, int32_t *argmax) {
    float mx = x[0];
    int32_t am = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > mx) {
            mx = x[i];
            am = i;
        }
    if (argmax) *argmax = am;
    if (t < 0) return 0.0;
    double sum = 0.0;
    for (int i = 0; i < V; i++) sum += (double)expf(x[i] - mx);
    return (double)mx + log(sum) - (double)x[t];
}

static void score_task(void *arg, int i, int n_tasks) {
    feeder *f = arg;
    int r0 = (int)((int64_t)f->rows * i / n_tasks), r1 = (int)((int64_t)f->rows * (i + 1) / n_tasks);
    for (int r = r0; r < r1; r++)
        f->nll[r] = ob_eval_row_nll(f->logits + (size_t)r * f->V, f->V, f->tags[r].target, &f->argmax[r]);
}

static void feeder_free(feeder *f) {
    ob_ctx_free(f->ctx);
    free(f->tok);
    free(f->pos);
    free(f->seq);
    free(f->mask);
    free(f->tags);
    free(f->logits);
    free(f->nll);
    free(f->argmax);
}

static int feeder_init(feeder *f, const ob_model *m, ob_pool *pool, int n_seq, int n_ctx, int max_tokens,
                       int batch_invariant, ob_err *err) {
    memset(f, 0, sizeof *f);
    const int V = ob_model_config(m)->n_vocab;
    /* keep the logits block near 64 MB whatever the vocabulary */
    int64_t rows = (int64_t)(64u << 20) / ((int64_t)V * 4);
    if (rows > max_tokens) rows = max_tokens;
    if (rows < 16) rows = 16;
    f->V = V;
    f->pool = pool;
    f->max_tokens = max_tokens;
    f->max_rows = (int)rows;
    size_t T = (size_t)max_tokens, R = (size_t)rows;
    f->tok = malloc(T * sizeof *f->tok);
    f->pos = malloc(T * sizeof *f->pos);
    f->seq = malloc(T * sizeof *f->seq);
    f->mask = malloc(T);
    f->tags = malloc(R * sizeof *f->tags);
    f->logits = malloc(R * (size_t)V * sizeof(float));
    f->nll = malloc(R * sizeof *f->nll);
    f->argmax = malloc(R * sizeof *f->argmax);
    if (!f->tok || !f->pos || !f->seq || !f->mask || !f->tags || !f->logits || !f->nll || !f->argmax) {
        feeder_free(f);
        return ob_fail(err, OB_ENOMEM, "eval: out of memory for a batch of %d tokens and %lld logit rows",
                       max_tokens, (long long)rows);
    }
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = n_ctx;
    cp.n_seq = n_seq;
    cp.max_batch = max_tokens;
    cp.batch_invariant = batch_invariant;
    int rc = ob_ctx_new(m, pool, &cp, &f->ctx, err);
    if (rc) feeder_free(f);
    return rc;
}

static int feeder_flush(feeder *f, ob_err *err) {
    if (!f->n) return 0;
    ob_batch b = {f->n, f->tok, f->pos, f->seq, f->mask};
    int rc;
    if (f->rows == 0) {
        /* ob_decode returns the last token's logits when no row is marked;
         * mark one and ignore it so nothing is computed for nothing */
        f->mask[f->n - 1] = 1;
        f->tags[0] = (row_tag){-1, -1, -1};
        f->rows = 1;
    }
    if ((rc = ob_decode(f->ctx, &b, f->logits, err))) return rc;
    f->fed += f->n;
    int nt = ob_pool_size(f->pool);
    if (nt > f->rows) nt = f->rows;
    ob_pool_run(f->pool, score_task, f, nt);
    rc = f->on_rows(f, f->user, err);
    f->n = f->rows = 0;
    return rc;
}

/* Adds one token; want: whether its logits are scored (with tag). */
static int feeder_add(feeder *f, int seq, int pos, int32_t token, int want, row_tag tag, ob_err *err) {
    int rc;
    if (f->n == f->max_tokens || (want && f->rows == f->max_rows))
        if ((rc = feeder_flush(f, err))) return rc;
    f->tok[f->n] = token;
    f->pos[f->n] = pos;
    f->seq[f->n] = seq;
    f->mask[f->n] = (uint8_t)(want != 0);
    if (want) f->tags[f->rows++] = tag;
    f->n++;
    return 0;
}

static int check_params(const ob_model *m, const ob_req_params *p, int *n_seq, int *max_len, int *max_tokens,
                        ob_err *err) {
    const ob_config *c = ob_model_config(m);
    *n_seq = p->n_seq > 0 ? p->n_seq : 8;
    *max_len = p->max_len > 0 ? p->max_len : c->max_seq;
    *max_tokens = p->max_tokens > 0 ? p->max_tokens : 1024;
    if (*max_len > c->max_seq)
        return ob_fail(err, OB_ERANGE, "eval: window of %d tokens exceeds the model's context of %d", *max_len,
                       c->max_seq);
    if (*max_len < 2) return ob_fail(err, OB_EINVAL, "eval: window of %d tokens is too short", *max_len);
    return 0;
}

/* --------------------------------------------------------- log-likelihood */

/* A run of requests [r0, r1) sharing their prefix: the context tokens
 * ctx[skip .. n_ctx-1), decoded once. */
typedef struct {
    int r0, r1, skip, n_prefix;
    int slot0, n_slots; /* slots [slot0, slot0 + n_slots) in this round */
} ll_unit;

typedef struct {
    const ob_ll_req *reqs;
    ob_ll_result *out;
    int64_t scored;
} ll_job;

static int ll_rows(feeder *f, void *user, ob_err *err) {
    ll_job *j = user;
    for (int r = 0; r < f->rows; r++) {
        const row_tag *t = &f->tags[r];
        if (t->target < 0) continue;
        ob_ll_result *o = &j->out[t->tag_a];
        o->loglik -= f->nll[r];
        if (f->argmax[r] != t->target) o->is_greedy = 0;
        j->scored++;
    }
    return 0;
}

static int same_ctx(const ob_ll_req *a, const ob_ll_req *b) {
    return a->n_ctx == b->n_ctx &&
           (a->ctx == b->ctx || !memcmp(a->ctx, b->ctx, (size_t)a->n_ctx * sizeof *a->ctx));
}

int ob_eval_loglik(const ob_model *model, ob_pool *pool, const ob_ll_req *reqs, int n, const ob_req_params *p,
                   ob_ll_result *out, ob_req_stats *stats, ob_err *err) {
    int S, W, T, rc;
    if ((rc = check_params(model, p, &S, &W, &T, err))) return rc;
    if (n <= 0) return ob_fail(err, OB_EINVAL, "eval: no log-likelihood requests");
    const int V = ob_model_config(model)->n_vocab;
    ll_unit *units = malloc((size_t)n * sizeof *units);
    if (!units) return ob_fail(err, OB_ENOMEM, "eval: out of memory for %d requests", n);
    int n_units = 0, n_trunc = 0;
    for (int r = 0; r < n; r++) {
        const ob_ll_req *q = &reqs[r];
        if (q->n_ctx < 1 || q->n_cont < 1) {
            free(units);
            return ob_fail(err, OB_EINVAL, "eval: request %d has %s", r,
                           q->n_ctx < 1 ? "an empty context" : "an empty continuation");
        }
        if (q->n_cont > W) {
            free(units);
            return ob_fail(err, OB_ERANGE, "eval: request %d: continuation of %d tokens does not fit the window of %d",
                           r, q->n_cont, W);
        }
        for (int k = 0; k < q->n_ctx + q->n_cont; k++) {
            int32_t t = k < q->n_ctx ? q->ctx[k] : q->cont[k - q->n_ctx];
            if (t < 0 || t >= V) {
                free(units);
                return ob_fail(err, OB_EINVAL, "eval: request %d: token %d outside the vocabulary", r, (int)t);
            }
        }
        int64_t total = (int64_t)q->n_ctx + q->n_cont;
        int skip = total > (int64_t)W + 1 ? (int)(total - W - 1) : 0;
        out[r] = (ob_ll_result){0.0, 1, skip};
        n_trunc += skip > 0;
        ll_unit *u = n_units ? &units[n_units - 1] : NULL;
        if (u && u->skip == skip && same_ctx(&reqs[u->r0], q)) {
            u->r1 = r + 1;
        } else {
            units[n_units++] = (ll_unit){r, r + 1, skip, q->n_ctx - 1 - skip, 0, 0};
        }
    }
    feeder f;
    if ((rc = feeder_init(&f, model, pool, S, W, T, p->batch_invariant, err))) {
        free(units);
        return rc;
    }
    ll_job job = {reqs, out, 0};
    f.on_rows = ll_rows;
    f.user = &job;
    double t0 = ob_now();
    int done = 0;
    for (int u0 = 0; u0 < n_units && !rc;) {
        /* a round: as many whole units as have slots */
        int used = 0, u1 = u0;
        while (u1 < n_units) {
            int k = units[u1].r1 - units[u1].r0, d = k < S ? k : S;
            if (used + d > S) break;
            units[u1].slot0 = used;
            units[u1].n_slots = d;
            used += d;
            u1++;
        }
        /* the shared prefixes, once each */
        for (int u = u0; u < u1 && !rc; u++) {
            const ll_unit *un = &units[u];
            const int32_t *ctx = reqs[un->r0].ctx + un->skip;
            ob_ctx_seq_trim(f.ctx, un->slot0, 0);
            for (int i = 0; i < un->n_prefix && !rc; i++)
                rc = feeder_add(&f, un->slot0, i, ctx[i], 0, (row_tag){-1, -1, -1}, err);
        }
        if (!rc) rc = feeder_flush(&f, err);
        for (int u = u0; u < u1 && !rc; u++)
            for (int s = 1; s < units[u].n_slots && !rc; s++)
                rc = ob_ctx_seq_copy(f.ctx, units[u].slot0, units[u].slot0 + s, units[u].n_prefix, err);
        /* the tails, in waves of n_slots per unit */
        for (int wave = 0; !rc; wave++) {
            int any = 0;
            for (int u = u0; u < u1 && !rc; u++) {
                const ll_unit *un = &units[u];
                for (int s = 0; s < un->n_slots && !rc; s++) {
                    int r = un->r0 + wave * un->n_slots + s;
                    if (r >= un->r1) break;
                    const ob_ll_req *q = &reqs[r];
                    int slot = un->slot0 + s;
                    any = 1;
                    ob_ctx_seq_trim(f.ctx, slot, un->n_prefix);
                    for (int k = 0; k < q->n_cont && !rc; k++) {
                        int32_t t = k ? q->cont[k - 1] : q->ctx[q->n_ctx - 1];
                        rc = feeder_add(&f, slot, un->n_prefix + k, t, 1, (row_tag){q->cont[k], r, k}, err);
                    }
                }
            }
            if (!any) break;
            if (!rc) rc = feeder_flush(&f, err);
        }
        for (int u = u0; u < u1; u++) done += units[u].r1 - units[u].r0;
        if (!rc && p->progress) p->progress(p->progress_user, done, n, f.fed, ob_now() - t0);
        u0 = u1;
    }
    if (stats) {
        stats->seconds = ob_now() - t0;
        stats->tokens_fed = f.fed;
        stats->tokens_scored = job.scored;
        stats->n_truncated = n_trunc;
    }
    feeder_free(&f);
    free(units);
    return rc;
}

/* ------------------------------------------------------------- generation */

typedef struct {
    int req;            /* request in this slot, -1 when free              */
    const int32_t *prompt;
    int n_prompt, n_fed;
    int32_t *gen;       /* [max_gen] generated tokens                       */
    int n_gen;
    char *text;         /* pieces so far, for the stop strings              */
    size_t len, cap;
} gen_slot;

typedef struct {
    const ob_tokenizer *tok;
    const ob_gen_params *g;
    gen_slot *slots;
    ob_gen_result *out;
    int done;
    int64_t generated;
} gen_job;

static int text_append(gen_slot *s, const char *p, size_t n) {
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        while (cap < s->len + n + 1) cap *= 2;
        char *t = realloc(s->text, cap);
        if (!t) return -1;
        s->text = t;
        s->cap = cap;
    }
    memcpy(s->text + s->len, p, n);
    s->len += n;
    s->text[s->len] = '\0';
    return 0;
}

/* The end of text at the first occurrence of any stop string. */
static size_t cut_at_stops(const char *text, size_t len, const ob_gen_params *g) {
    size_t end = len;
    for (int i = 0; i < g->n_stop; i++) {
        size_t sl = strlen(g->stop[i]);
        if (!sl) continue;
        const char *hit = memmem(text, end, g->stop[i], sl);
        if (hit) end = (size_t)(hit - text);
    }
    return end;
}

static int gen_finish(gen_job *j, gen_slot *s, ob_stop_reason why, ob_err *err) {
    ob_gen_result *o = &j->out[s->req];
    size_t len = ob_detokenize(j->tok, s->gen, s->n_gen, NULL, 0);
    char *t = malloc(len + 1);
    if (!t) return ob_fail(err, OB_ENOMEM, "eval: out of memory for a generation of %zu bytes", len);
    ob_detokenize(j->tok, s->gen, s->n_gen, t, len + 1);
    t[cut_at_stops(t, len, j->g)] = '\0';
    o->text = t;
    o->n_gen = s->n_gen;
    o->stop = why;
    s->req = -1;
    j->done++;
    return 0;
}

static int gen_rows(feeder *f, void *user, ob_err *err) {
    gen_job *j = user;
    const ob_gen_params *g = j->g;
    for (int r = 0; r < f->rows; r++) {
        if (f->tags[r].tag_a < 0) continue;
        gen_slot *s = &j->slots[f->tags[r].tag_a];
        int32_t t = f->argmax[r];
        j->generated++;
        if (g->eos_id >= 0 && t == g->eos_id) {
            int rc = gen_finish(j, s, OB_STOP_EOS, err);
            if (rc) return rc;
            continue;
        }
        int32_t prev = s->n_gen ? s->gen[s->n_gen - 1] : -1;
        s->gen[s->n_gen++] = t;
        char piece[256];
        int pn = ob_token_to_piece(j->tok, prev, t, piece, sizeof piece);
        size_t old = s->len;
        if (pn > 0 && text_append(s, piece, (size_t)pn))
            return ob_fail(err, OB_ENOMEM, "eval: out of memory for generated text");
        int hit = 0;
        for (int i = 0; i < g->n_stop && !hit; i++) {
            size_t sl = strlen(g->stop[i]);
            if (!sl || s->len < sl) continue;
            size_t from = old >= sl ? old - sl + 1 : 0;
            hit = memmem(s->text + from, s->len - from, g->stop[i], sl) != NULL;
        }
        int rc = 0;
        if (hit) rc = gen_finish(j, s, OB_STOP_STRING, err);
        else if (s->n_gen >= g->max_gen) rc = gen_finish(j, s, OB_STOP_LENGTH, err);
        if (rc) return rc;
    }
    return 0;
}

void ob_gen_results_free(ob_gen_result *out, int n) {
    for (int i = 0; out && i < n; i++) {
        free(out[i].text);
        out[i].text = NULL;
    }
}

int ob_eval_generate(const ob_model *model, ob_pool *pool, const ob_tokenizer *tok,
                     const int32_t *const *prompts, const int *n_prompt, int n, const ob_req_params *p,
                     const ob_gen_params *g, ob_gen_result *out, ob_req_stats *stats, ob_err *err) {
    int S, W, T, rc;
    if ((rc = check_params(model, p, &S, &W, &T, err))) return rc;
    if (n <= 0) return ob_fail(err, OB_EINVAL, "eval: no generation requests");
    if (!tok) return ob_fail(err, OB_EINVAL, "eval: generation needs the model's tokenizer");
    if (g->max_gen < 1 || g->max_gen >= W)
        return ob_fail(err, OB_ERANGE, "eval: max_gen of %d tokens must lie in [1, %d) for a window of %d",
                       g->max_gen, W, W);
    if (S > n) S = n;
    if (T < S) T = S;
    const int V = ob_model_config(model)->n_vocab, max_prompt = W - g->max_gen;
    int n_trunc = 0;
    for (int i = 0; i < n; i++) {
        out[i] = (ob_gen_result){0};
        if (n_prompt[i] < 1) return ob_fail(err, OB_EINVAL, "eval: generation request %d has an empty prompt", i);
        for (int k = 0; k < n_prompt[i]; k++)
            if (prompts[i][k] < 0 || prompts[i][k] >= V)
                return ob_fail(err, OB_EINVAL, "eval: generation request %d: token %d outside the vocabulary", i,
                               (int)prompts[i][k]);
    }
    feeder f;
    if ((rc = feeder_init(&f, model, pool, S, W, T, p->batch_invariant, err))) return rc;
    gen_slot *slots = calloc((size_t)S, sizeof *slots);
    int32_t *gen_mem = malloc((size_t)S * g->max_gen * sizeof *gen_mem);
    if (!slots || !gen_mem) {
        rc = ob_fail(err, OB_ENOMEM, "eval: out of memory for %d generation slots", S);
        goto done;
    }
    for (int s = 0; s < S; s++) {
        slots[s].req = -1;
        slots[s].gen = gen_mem + (size_t)s * g->max_gen;
    }
    gen_job job = {tok, g, slots, out, 0, 0};
    f.on_rows = gen_rows;
    f.user = &job;
    double t0 = ob_now();
    int next = 0, reported = 0;
    while (job.done < n && !rc) {
        for (int s = 0; s < S && next < n; s++) {
            if (slots[s].req >= 0) continue;
            gen_slot *sl = &slots[s];
            int np = n_prompt[next], skip = np > max_prompt ? np - max_prompt : 0;
            sl->req = next;
            sl->prompt = prompts[next] + skip;
            sl->n_prompt = np - skip;
            sl->n_fed = sl->n_gen = 0;
            sl->len = 0;
            out[next].truncated = skip;
            n_trunc += skip > 0;
            ob_ctx_seq_trim(f.ctx, s, 0);
            next++;
        }
        /* one call: a decode step for every slot past its prompt, then
         * prompt chunks in the room left */
        int room = T;
        for (int s = 0; s < S && !rc; s++) {
            gen_slot *sl = &slots[s];
            if (sl->req < 0 || sl->n_fed < sl->n_prompt) continue;
            int pos = sl->n_prompt + sl->n_gen - 1;
            rc = feeder_add(&f, s, pos, sl->gen[sl->n_gen - 1], 1, (row_tag){-1, s, 0}, err);
            room--;
        }
        for (int s = 0; s < S && !rc && room > 0; s++) {
            gen_slot *sl = &slots[s];
            if (sl->req < 0 || sl->n_fed >= sl->n_prompt) continue;
            int k = sl->n_prompt - sl->n_fed < room ? sl->n_prompt - sl->n_fed : room;
            for (int i = 0; i < k && !rc; i++, sl->n_fed++) {
                int last = sl->n_fed == sl->n_prompt - 1;
                rc = feeder_add(&f, s, sl->n_fed, sl->prompt[sl->n_fed], last, (row_tag){-1, s, 0}, err);
            }
            room -= k;
        }
        if (!rc) rc = feeder_flush(&f, err);
        if (!rc && p->progress && job.done > reported) {
            reported = job.done;
            p->progress(p->progress_user, job.done, n, f.fed, ob_now() - t0);
        }
    }
    if (stats) {
        stats->seconds = ob_now() - t0;
        stats->tokens_fed = f.fed;
        stats->tokens_scored = job.generated;
        stats->n_truncated = n_trunc;
    }
done:
    if (slots)
        for (int s = 0; s < S; s++) free(slots[s].text);
    free(slots);
    free(gen_mem);
    feeder_free(&f);
    if (rc) ob_gen_results_free(out, n);
    return rc;
}

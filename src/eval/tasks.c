/* tasks.c - multiple choice, SQuAD v2 and GSM8K run end to end (tasks.h). */
#include "eval/tasks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- encoding */

int ob_task_encode(const ob_task_env *env, const char *text, int32_t **ids, int *n_ids, ob_err *err) {
    size_t len = strlen(text);
    if (len > (size_t)INT32_MAX / 2) return ob_fail(err, OB_ERANGE, "eval: text of %zu bytes is too long", len);
    int cap = (int)len + 8, n = 0, rc;
    for (int attempt = 0; attempt < 2; attempt++) {
        int32_t *buf = malloc((size_t)cap * sizeof *buf);
        if (!buf) return ob_fail(err, OB_ENOMEM, "eval: out of memory encoding %zu bytes", len);
        rc = ob_tokenize(env->tok, text, len, env->add_bos, 1, buf, cap, &n, err);
        if (!rc) {
            *ids = buf;
            *n_ids = n;
            return 0;
        }
        free(buf);
        if (rc != OB_ERANGE) return rc;
        cap = n;
    }
    return ob_fail(err, OB_ERANGE, "eval: tokenizer asked for %d ids twice", n);
}

/* Bytes of trailing whitespace as Python's str.isspace() sees it: ASCII
 * \t\n\v\f\r, \x1c-\x1f and space, and the Unicode spaces U+0085, U+00A0,
 * U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
static size_t trailing_space(const char *s, size_t len) {
    size_t end = len;
    while (end > 0) {
        unsigned char c = (unsigned char)s[end - 1];
        if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) {
            end--;
            continue;
        }
        /* a multi-byte character: find its start and decode it */
        size_t st = end - 1;
        while (st > 0 && end - st < 4 && ((unsigned char)s[st] & 0xc0) == 0x80) st--;
        const unsigned char *u = (const unsigned char *)s + st;
        size_t n = end - st;
        uint32_t cp = 0;
        if (n == 2 && (u[0] & 0xe0) == 0xc0) cp = (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f);
        else if (n == 3 && (u[0] & 0xf0) == 0xe0)
            cp = (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
        else break;
        int sp = cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
                 cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
        if (!sp) break;
        end = st;
    }
    return len - end;
}

int ob_task_encode_pair(const ob_task_env *env, const char *context, const char *continuation, int32_t **ctx,
                        int *n_ctx, int32_t **cont, int *n_cont, ob_err *err) {
    int rc;
    *ctx = *cont = NULL;
    if (!context[0]) {
        int32_t pre = ob_tokenizer_bos(env->tok) >= 0 ? ob_tokenizer_bos(env->tok) : ob_tokenizer_eos(env->tok);
        if (pre < 0) return ob_fail(err, OB_EINVAL, "eval: an empty context needs a BOS or EOS token");
        *ctx = malloc(sizeof **ctx);
        if (!*ctx) return ob_fail(err, OB_ENOMEM, "eval: out of memory");
        (*ctx)[0] = pre;
        *n_ctx = 1;
        if ((rc = ob_task_encode(env, continuation, cont, n_cont, err))) {
            free(*ctx);
            *ctx = NULL;
        }
        return rc;
    }
    size_t cl = strlen(context), ks = trailing_space(context, cl), nl = strlen(continuation);
    char *whole = malloc(cl + nl + 1), *head = malloc(cl - ks + 1);
    if (!whole || !head) {
        free(whole);
        free(head);
        return ob_fail(err, OB_ENOMEM, "eval: out of memory");
    }
    memcpy(whole, context, cl);
    memcpy(whole + cl, continuation, nl + 1);
    memcpy(head, context, cl - ks);
    head[cl - ks] = '\0';
    int32_t *w = NULL;
    int nw = 0;
    rc = ob_task_encode(env, whole, &w, &nw, err);
    if (!rc) rc = ob_task_encode(env, head, ctx, n_ctx, err);
    if (!rc) {
        int nc = nw - *n_ctx;
        if (nc <= 0) {
            rc = ob_fail(err, OB_EINVAL, "eval: continuation '%.40s' encodes to no token after its context",
                         continuation);
        } else {
            *cont = malloc((size_t)nc * sizeof **cont);
            if (!*cont) rc = ob_fail(err, OB_ENOMEM, "eval: out of memory");
            else {
                memcpy(*cont, w + *n_ctx, (size_t)nc * sizeof **cont);
                *n_cont = nc;
            }
        }
    }
    free(w);
    free(whole);
    free(head);
    if (rc) {
        free(*ctx);
        *ctx = NULL;
    }
    return rc;
}

/* -------------------------------------------------------- multiple choice */

void ob_mc_out_free(ob_mc_out *out, int n) {
    for (int i = 0; out && i < n; i++) {
        free(out[i].loglik);
        free(out[i].is_greedy);
        out[i].loglik = NULL;
        out[i].is_greedy = NULL;
    }
}

/* The requests of a list of (context, continuation) string pairs. */
typedef struct {
    ob_ll_req *reqs;
    int32_t **ctx, **cont;
    int n;
} req_list;

static void req_list_free(req_list *l) {
    for (int i = 0; i < l->n; i++) {
        /* choices of one question share their context array */
        if (!i || l->ctx[i] != l->ctx[i - 1]) free(l->ctx[i]);
        free(l->cont[i]);
    }
    free(l->reqs);
    free(l->ctx);
    free(l->cont);
}

static int req_list_alloc(req_list *l, int n, ob_err *err) {
    l->n = 0;
    l->reqs = calloc((size_t)n, sizeof *l->reqs);
    l->ctx = calloc((size_t)n, sizeof *l->ctx);
    l->cont = calloc((size_t)n, sizeof *l->cont);
    if (!l->reqs || !l->ctx || !l->cont) {
        req_list_free(l);
        return ob_fail(err, OB_ENOMEM, "eval: out of memory for %d requests", n);
    }
    return 0;
}

/* Adds the pair; when the encoded context equals the previous request's,
 * the previous array is shared (the engine then decodes it once). */
static int req_list_add(req_list *l, const ob_task_env *env, const char *context, const char *continuation,
                        ob_err *err) {
    int32_t *c = NULL, *k = NULL;
    int nc = 0, nk = 0, rc;
    if ((rc = ob_task_encode_pair(env, context, continuation, &c, &nc, &k, &nk, err))) return rc;
    int i = l->n;
    if (i && l->reqs[i - 1].n_ctx == nc && !memcmp(l->ctx[i - 1], c, (size_t)nc * sizeof *c)) {
        free(c);
        c = l->ctx[i - 1];
    }
    l->ctx[i] = c;
    l->cont[i] = k;
    l->reqs[i] = (ob_ll_req){c, nc, k, nk};
    l->n++;
    return 0;
}

int ob_task_mc(const ob_task_env *env, const ob_mc_set *set, int n, ob_mc_out *out, ob_mc_summary *sum,
               ob_err *err) {
    memset(sum, 0, sizeof *sum);
    if (n <= 0 || n > set->n) return ob_fail(err, OB_EINVAL, "eval: %d items asked of a set of %d", n, set->n);
    int total = 0, rc;
    for (int i = 0; i < n; i++) total += set->items[i].n_choices;
    memset(out, 0, (size_t)n * sizeof *out);
    req_list l;
    if ((rc = req_list_alloc(&l, total, err))) return rc;
    ob_ll_result *res = malloc((size_t)total * sizeof *res);
    double *acc = malloc((size_t)n * 2 * sizeof *acc);
    char *cont = NULL;
    size_t cont_cap = 0;
    if (!res || !acc) {
        rc = ob_fail(err, OB_ENOMEM, "eval: out of memory for %d requests", total);
        goto done;
    }
    for (int i = 0; i < n && !rc; i++) {
        const ob_mc_item *it = &set->items[i];
        for (int c = 0; c < it->n_choices && !rc; c++) {
            /* lm-eval's target_delimiter " " in front of each choice */
            size_t cl = strlen(it->choices[c]) + 2;
            if (cl > cont_cap) {
                char *t = realloc(cont, cl);
                if (!t) {
                    rc = ob_fail(err, OB_ENOMEM, "eval: out of memory");
                    break;
                }
                cont = t;
                cont_cap = cl;
            }
            cont[0] = ' ';
            memcpy(cont + 1, it->choices[c], cl - 1);
            if ((rc = req_list_add(&l, env, it->context, cont, err))) {
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", err->msg);
                ob_fail(err, rc, "%s: choice %d: %s", it->id, c, msg);
            }
        }
    }
    if (!rc) rc = ob_eval_loglik(env->model, env->pool, l.reqs, l.n, &env->req, res, &sum->stats, err);
    for (int i = 0, r = 0; i < n && !rc; i++) {
        const ob_mc_item *it = &set->items[i];
        ob_mc_out *o = &out[i];
        o->n_choices = it->n_choices;
        o->loglik = malloc((size_t)it->n_choices * sizeof *o->loglik);
        o->is_greedy = malloc((size_t)it->n_choices * sizeof *o->is_greedy);
        if (!o->loglik || !o->is_greedy) {
            rc = ob_fail(err, OB_ENOMEM, "eval: out of memory");
            break;
        }
        for (int c = 0; c < it->n_choices; c++, r++) {
            o->loglik[c] = res[r].loglik;
            o->is_greedy[c] = res[r].is_greedy;
            if (res[r].truncated > o->truncated) o->truncated = res[r].truncated;
        }
        if ((rc = ob_mc_score_choices(o->loglik, (const char *const *)it->choices, it->n_choices, it->gold, &o->r,
                                      err)))
            break;
        acc[i] = o->r.acc;
        acc[n + i] = o->r.acc_norm;
        sum->n_truncated += o->truncated > 0;
    }
    if (!rc) rc = ob_mean_stderr(acc, n, &sum->acc, &sum->acc_stderr, err);
    if (!rc) rc = ob_mean_stderr(acc + n, n, &sum->acc_norm, &sum->acc_norm_stderr, err);
    sum->n = n;
    sum->n_requests = total;
done:
    if (rc) ob_mc_out_free(out, n);
    free(cont);
    free(acc);
    free(res);
    req_list_free(&l);
    return rc;
}

/* ------------------------------------------------------------ generation */

/* Encodes each prompt (prompts[i], borrowed) for ob_eval_generate. */
static int encode_prompts(const ob_task_env *env, char *const *prompts, int n, int32_t ***ids, int **n_ids,
                          ob_err *err) {
    *ids = calloc((size_t)n, sizeof **ids);
    *n_ids = calloc((size_t)n, sizeof **n_ids);
    if (!*ids || !*n_ids) return ob_fail(err, OB_ENOMEM, "eval: out of memory for %d prompts", n);
    for (int i = 0; i < n; i++) {
        int rc = ob_task_encode(env, prompts[i], &(*ids)[i], &(*n_ids)[i], err);
        if (rc) return rc;
    }
    return 0;
}

static void free_prompts(int32_t **ids, int *n_ids, int n) {
    for (int i = 0; ids && i < n; i++) free(ids[i]);
    free(ids);
    free(n_ids);
}

/* ------------------------------------------------------------------ SQuAD */

void ob_squad_out_free(ob_squad_out *out, int n) {
    for (int i = 0; out && i < n; i++) {
        free(out[i].pred);
        out[i].pred = NULL;
    }
}

int ob_task_squad(const ob_task_env *env, const ob_squad_set *set, int n, int max_gen, ob_squad_out *out,
                  ob_squad_summary *sum, ob_err *err) {
    memset(sum, 0, sizeof *sum);
    if (n <= 0 || n > set->n) return ob_fail(err, OB_EINVAL, "eval: %d items asked of a set of %d", n, set->n);
    memset(out, 0, (size_t)n * sizeof *out);
    char **prompts = malloc((size_t)n * sizeof *prompts);
    int32_t **ids = NULL;
    int *n_ids = NULL, rc;
    ob_gen_result *gen = calloc((size_t)n, sizeof *gen);
    ob_ll_result *ll = malloc((size_t)n * sizeof *ll);
    ob_squad_item *items = malloc((size_t)n * sizeof *items);
    req_list l = {0};
    if (!prompts || !gen || !ll || !items) {
        rc = ob_fail(err, OB_ENOMEM, "eval: out of memory for %d questions", n);
        goto done;
    }
    for (int i = 0; i < n; i++) prompts[i] = set->items[i].prompt;
    if ((rc = encode_prompts(env, prompts, n, &ids, &n_ids, err))) goto done;
    static const char *const stop[] = {"\n"};
    ob_gen_params g = {max_gen, stop, 1, ob_tokenizer_eos(env->tok)};
    if ((rc = ob_eval_generate(env->model, env->pool, env->tok, (const int32_t *const *)ids, n_ids, n, &env->req, &g,
                               gen, &sum->gen_stats, err)))
        goto done;
    if ((rc = req_list_alloc(&l, n, err))) goto done;
    for (int i = 0; i < n && !rc; i++) rc = req_list_add(&l, env, set->items[i].prompt, " unanswerable", err);
    if (!rc) rc = ob_eval_loglik(env->model, env->pool, l.reqs, l.n, &env->req, ll, &sum->ll_stats, err);
    for (int i = 0; i < n && !rc; i++) {
        const ob_squad_q *q = &set->items[i];
        ob_squad_out *o = &out[i];
        o->pred = gen[i].text;
        gen[i].text = NULL;
        o->ll_unanswerable = ll[i].loglik;
        o->na_prob = exp(ll[i].loglik);
        o->truncated = gen[i].truncated > ll[i].truncated ? gen[i].truncated : ll[i].truncated;
        sum->n_truncated += o->truncated > 0;
        rc = ob_squad_score((const char *const *)q->answers, q->n_answers, o->pred, &o->exact, &o->f1, err);
        items[i] = (ob_squad_item){q->n_answers > 0, o->pred[0] == '\0', o->exact, o->f1, o->na_prob};
    }
    if (!rc) rc = ob_squad_aggregate(items, n, 1.0, &sum->r, err);
done:
    if (rc) ob_squad_out_free(out, n);
    if (gen) ob_gen_results_free(gen, n);
    free(gen);
    free(ll);
    free(items);
    free(prompts);
    free_prompts(ids, n_ids, n);
    if (l.reqs) req_list_free(&l);
    return rc;
}

/* ------------------------------------------------------------------ GSM8K */

void ob_gsm8k_out_free(ob_gsm8k_out *out, int n) {
    for (int i = 0; out && i < n; i++) {
        free(out[i].prompt);
        free(out[i].generation);
        free(out[i].extracted[0]);
        free(out[i].extracted[1]);
        memset(&out[i], 0, sizeof out[i]);
    }
}

int ob_task_gsm8k(const ob_task_env *env, const ob_gsm8k_set *test, const ob_gsm8k_set *train, int k,
                  uint64_t seed, int n, int max_gen, ob_gsm8k_out *out, ob_gsm8k_summary *sum, ob_err *err) {
    memset(sum, 0, sizeof *sum);
    if (n <= 0 || n > test->n) return ob_fail(err, OB_EINVAL, "eval: %d items asked of a set of %d", n, test->n);
    if (k > 0 && !train) return ob_fail(err, OB_EINVAL, "eval: %d-shot GSM8K needs the train file", k);
    memset(out, 0, (size_t)n * sizeof *out);
    ob_gsm8k_fewshot *fs = NULL;
    ob_gsm8k *re = NULL;
    char **prompts = malloc((size_t)n * sizeof *prompts);
    int32_t **ids = NULL;
    int *n_ids = NULL, rc;
    ob_gen_result *gen = calloc((size_t)n, sizeof *gen);
    double *em = malloc((size_t)n * 2 * sizeof *em);
    if (!prompts || !gen || !em) {
        rc = ob_fail(err, OB_ENOMEM, "eval: out of memory for %d questions", n);
        goto done;
    }
    if ((rc = ob_gsm8k_new(&re, err))) goto done;
    if (k > 0 && (rc = ob_gsm8k_fewshot_new(train, k, seed, &fs, err))) goto done;
    for (int i = 0; i < n && !rc; i++) {
        rc = ob_gsm8k_prompt(fs, test->items[i].question, &out[i].prompt, err);
        prompts[i] = out[i].prompt;
    }
    if (rc || (rc = encode_prompts(env, prompts, n, &ids, &n_ids, err))) goto done;
    /* lm-eval gsm8k.yaml: until "Question:", "</s>", "<|im_end|>" */
    static const char *const stop[] = {"Question:", "</s>", "<|im_end|>"};
    ob_gen_params g = {max_gen, stop, 3, ob_tokenizer_eos(env->tok)};
    if ((rc = ob_eval_generate(env->model, env->pool, env->tok, (const int32_t *const *)ids, n_ids, n, &env->req, &g,
                               gen, &sum->stats, err)))
        goto done;
    for (int i = 0; i < n && !rc; i++) {
        ob_gsm8k_out *o = &out[i];
        o->generation = gen[i].text;
        gen[i].text = NULL;
        o->truncated = gen[i].truncated;
        sum->n_truncated += o->truncated > 0;
        for (int f = 0; f < 2 && !rc; f++) {
            rc = ob_gsm8k_extract(re, (ob_gsm8k_filter)f, o->generation, &o->extracted[f], err);
            if (!rc) rc = ob_gsm8k_exact_match(re, o->extracted[f], test->items[i].answer, &o->match[f], err);
            em[f * n + i] = o->match[f];
        }
    }
    for (int f = 0; f < 2 && !rc; f++) rc = ob_mean_stderr(em + f * n, n, &sum->em[f], &sum->em_stderr[f], err);
    sum->n = n;
done:
    if (rc) ob_gsm8k_out_free(out, n);
    if (gen) ob_gen_results_free(gen, n);
    free(gen);
    free(em);
    free(prompts);
    free_prompts(ids, n_ids, n);
    ob_gsm8k_fewshot_free(fs);
    ob_gsm8k_free(re);
    return rc;
}

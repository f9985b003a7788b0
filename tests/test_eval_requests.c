/* test_eval_requests.c - the request engine (src/eval/requests.h) and the
 * task layer's encoding (src/eval/tasks.h).
 *
 * On a tiny random Llama with stories15M's 32000-token vocabulary (its
 * tokenizer.bin from the cache, so generations decode to text):
 *  - log-likelihoods equal an independent computation (one sequence, all
 *    logits from ob_forward, log-softmax in double) within 1e-4, with and
 *    without left truncation, and the truncated counts match;
 *  - n_seq 1, 2, 3, 8 and calls of 16 or 1024 tokens agree within 1e-4
 *    with the SIMD kernels, and are bitwise identical (values and greedy
 *    flags) with batch_invariant contexts and with the scalar kernels
 *    (OPTIBENCH_SIMD=scalar);
 *  - greedy generation with one slot equals a plain argmax loop token for
 *    token; with 3 slots it equals one slot bitwise under the scalar
 *    kernels; stop strings cut the text at their first occurrence and EOS
 *    stops generation, each with its reason;
 *  - lm-eval's _encode_pair: trailing spaces of a context move to the
 *    continuation, an empty context is the prefix token;
 *  - bad requests are refused with a message.
 * Prints the largest differences.  Closing line:
 * "test_eval_requests: N passed, N failed". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "stories_path.h"
#include "eval/eval.h"
#include "eval/requests.h"
#include "eval/tasks.h"
#include "tiny_model.h"

#define V 32000
#define W 64 /* the tiny model's context */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int rnd(int n) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (int)((rng >> 33) % (uint64_t)n);
}

/* Requests grouped like multiple-choice questions: consecutive requests
 * share one context array. */
typedef struct {
    ob_ll_req r[64];
    int32_t tok[64][80 + 8];
    int n;
} req_set;

static void make_requests(req_set *s) {
    s->n = 0;
    /* context lengths: short, long, longer than the window (truncated) */
    const int ctx_len[] = {1, 5, 17, 40, 62, 70, 90, 3, 25};
    for (int q = 0; q < 9; q++) {
        int nc = ctx_len[q], k = 1 + rnd(4);
        int32_t *ctx = s->tok[s->n];
        for (int i = 0; i < nc; i++) ctx[i] = 3 + rnd(V - 3);
        for (int c = 0; c < k; c++) {
            int i = s->n++;
            int32_t *cont = s->tok[i] + 80;
            int ncont = 1 + rnd(6);
            for (int j = 0; j < ncont; j++) cont[j] = 3 + rnd(V - 3);
            s->r[i] = (ob_ll_req){ctx, nc, cont, ncont};
        }
    }
}

/* lm-eval's rule, computed one request at a time in its own context */
static void reference_loglik(const ob_model *m, ob_pool *pool, const ob_ll_req *q, double *ll, int *greedy,
                             int *trunc) {
    int32_t all[200];
    int n = 0;
    for (int i = 0; i < q->n_ctx; i++) all[n++] = q->ctx[i];
    for (int i = 0; i < q->n_cont; i++) all[n++] = q->cont[i];
    int skip = n > W + 1 ? n - W - 1 : 0, n_in = n - skip - 1;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = W;
    ob_ctx *ctx;
    ob_err err = {0};
    float *lg = malloc((size_t)n_in * V * sizeof *lg);
    *ll = 0;
    *greedy = 1;
    *trunc = skip;
    if (ob_ctx_new(m, pool, &cp, &ctx, &err) || ob_forward(ctx, 0, all + skip, n_in, 0, 1, lg, &err)) {
        CHECK(0, "reference forward: %s", err.msg);
        free(lg);
        return;
    }
    for (int k = 0; k < q->n_cont; k++) {
        int row = n_in - q->n_cont + k;
        const float *x = lg + (size_t)row * V;
        double mx = x[0], sum = 0;
        int am = 0;
        for (int i = 1; i < V; i++)
            if (x[i] > mx) mx = x[i], am = i;
        for (int i = 0; i < V; i++) sum += exp((double)x[i] - mx);
        *ll += (double)x[q->cont[k]] - mx - log(sum);
        if (am != q->cont[k]) *greedy = 0;
    }
    ob_ctx_free(ctx);
    free(lg);
}

static const char *const MODES[3] = {"simd", "simd, batch_invariant", "scalar"};

static void check_loglik(const ob_model *m, ob_pool *pool, const req_set *s, int mode_i) {
    const char *mode = MODES[mode_i];
    const int exact = mode_i > 0;
    ob_err err = {0};
    ob_ll_result base[64], got[64];
    ob_req_params p = ob_req_default_params();
    p.max_len = W;
    p.batch_invariant = mode_i == 1;
    ob_req_stats st;
    CHECK_OK(ob_eval_loglik(m, pool, s->r, s->n, &p, base, &st, &err), &err);
    int n_trunc = 0;
    double dmax = 0;
    for (int i = 0; i < s->n; i++) {
        double ll;
        int g, t;
        reference_loglik(m, pool, &s->r[i], &ll, &g, &t);
        double d = fabs(ll - base[i].loglik);
        if (!(d <= dmax)) dmax = d;
        CHECK(base[i].truncated == t, "%s: request %d truncated %d, reference %d", mode, i, base[i].truncated, t);
        n_trunc += t > 0;
    }
    printf("%s: %d requests (%d truncated), max |loglik - reference| = %.3g\n", mode, s->n, n_trunc, dmax);
    CHECK(dmax <= 1e-4, "%s: loglik differs from the reference by %g", mode, dmax);
    CHECK(st.n_truncated == n_trunc && n_trunc > 0, "%s: stats count %d truncated, expected %d", mode, st.n_truncated,
          n_trunc);
    const int seqs[] = {1, 2, 3, 8}, toks[] = {16, 1024};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 2; b++) {
            p.n_seq = seqs[a];
            p.max_tokens = toks[b];
            CHECK_OK(ob_eval_loglik(m, pool, s->r, s->n, &p, got, NULL, &err), &err);
            double d = 0;
            int same = 1;
            for (int i = 0; i < s->n; i++) {
                double x = fabs(got[i].loglik - base[i].loglik);
                if (!(x <= d)) d = x;
                same &= got[i].loglik == base[i].loglik && got[i].is_greedy == base[i].is_greedy;
            }
            printf("%s: n_seq %d, max_tokens %4d: max diff to n_seq 8 = %.3g (%s)\n", mode, seqs[a], toks[b], d,
                   same ? "bitwise" : "not bitwise");
            if (exact) CHECK(same, "%s: n_seq %d max_tokens %d not bitwise (%g)", mode, seqs[a], toks[b], d);
            else CHECK(d <= 1e-4, "n_seq %d max_tokens %d differs by %g", seqs[a], toks[b], d);
        }
}

/* greedy by hand: prompt in one call, then one token at a time */
static int reference_generate(const ob_model *m, ob_pool *pool, const int32_t *prompt, int np, int max_gen,
                              int32_t *out) {
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = W;
    ob_ctx *ctx;
    ob_err err = {0};
    float *lg = malloc(V * sizeof *lg);
    int n = 0;
    if (ob_ctx_new(m, pool, &cp, &ctx, &err) || ob_forward(ctx, 0, prompt, np, 0, 0, lg, &err)) {
        CHECK(0, "reference generate: %s", err.msg);
        free(lg);
        return 0;
    }
    for (;;) {
        int32_t am;
        ob_eval_row_nll(lg, V, -1, &am);
        out[n++] = am;
        if (n == max_gen || ob_forward(ctx, 0, &am, 1, np + n - 1, 0, lg, &err)) break;
    }
    ob_ctx_free(ctx);
    free(lg);
    return n;
}

static void check_generate(const ob_model *m, ob_pool *pool, const ob_tokenizer *tok, int mode_i) {
    const char *mode = MODES[mode_i];
    const int scalar = mode_i > 0;
    enum { NP = 5, MAXG = 12 };
    int32_t pbuf[NP][40];
    const int32_t *prompts[NP];
    int np[NP];
    const int lens[NP] = {1, 9, 30, 60, 14}; /* 60 > W - MAXG: truncated */
    for (int i = 0; i < NP; i++) {
        for (int k = 0; k < lens[i] && k < 40; k++) pbuf[i][k] = 3 + rnd(V - 3);
        prompts[i] = pbuf[i];
        np[i] = lens[i] < 40 ? lens[i] : 40;
    }
    ob_err err = {0};
    ob_req_params p = ob_req_default_params();
    p.max_len = W;
    p.batch_invariant = mode_i == 1;
    ob_gen_params g = {MAXG, NULL, 0, -1};
    ob_gen_result one[NP], three[NP];
    p.n_seq = 1;
    CHECK_OK(ob_eval_generate(m, pool, tok, prompts, np, NP, &p, &g, one, NULL, &err), &err);
    p.n_seq = 3;
    p.max_tokens = 16; /* prompts split across calls, mixed with decode steps */
    CHECK_OK(ob_eval_generate(m, pool, tok, prompts, np, NP, &p, &g, three, NULL, &err), &err);
    int same13 = 1, ref_ok = 1;
    for (int i = 0; i < NP; i++) {
        int32_t ref[MAXG];
        int skip = np[i] > W - MAXG ? np[i] - (W - MAXG) : 0;
        int n = reference_generate(m, pool, prompts[i] + skip, np[i] - skip, MAXG, ref);
        char text[1024];
        ob_detokenize(tok, ref, n, text, sizeof text);
        ref_ok &= one[i].text && !strcmp(one[i].text, text) && one[i].n_gen == n && one[i].stop == OB_STOP_LENGTH &&
                  one[i].truncated == skip;
        same13 &= three[i].text && one[i].text && !strcmp(one[i].text, three[i].text);
    }
    CHECK(ref_ok, "%s: one-slot generation differs from the argmax loop", mode);
    printf("%s: generation, 1 slot == argmax loop: %s; 3 slots == 1 slot: %s\n", mode, ref_ok ? "yes" : "no",
           same13 ? "yes" : "no");
    if (scalar) CHECK(same13, "%s: 3-slot generation differs from 1 slot", mode);

    /* a stop string taken from the middle of generation 2, and EOS set to
     * its 4th token */
    const char *t = one[2].text;
    size_t tl = strlen(t);
    if (tl >= 8) {
        char stop[4] = {t[tl / 2], t[tl / 2 + 1], 0, 0};
        const char *stops[1] = {stop};
        ob_gen_params g2 = {MAXG, stops, 1, -1};
        ob_gen_result r;
        p.n_seq = 1;
        CHECK_OK(ob_eval_generate(m, pool, tok, &prompts[2], &np[2], 1, &p, &g2, &r, NULL, &err), &err);
        size_t cut = (size_t)(strstr(t, stop) - t);
        CHECK(r.text && r.stop == OB_STOP_STRING && strlen(r.text) == cut && !strncmp(r.text, t, cut),
              "stop string '%s': got '%s' (reason %d), expected the first %zu bytes of '%s'", stop,
              r.text ? r.text : "(null)", r.stop, cut, t);
        ob_gen_results_free(&r, 1);
    }
    int32_t ref[MAXG];
    int n = reference_generate(m, pool, prompts[2], np[2], MAXG, ref);
    if (n >= 4) {
        ob_gen_params g3 = {MAXG, NULL, 0, ref[3]};
        ob_gen_result r;
        CHECK_OK(ob_eval_generate(m, pool, tok, &prompts[2], &np[2], 1, &p, &g3, &r, NULL, &err), &err);
        int first = 0;
        while (ref[first] != ref[3]) first++;
        CHECK(r.stop == OB_STOP_EOS && r.n_gen == first, "EOS %d: stop %d after %d tokens, expected EOS after %d",
              ref[3], r.stop, r.n_gen, first);
        ob_gen_results_free(&r, 1);
    }
    ob_gen_results_free(one, NP);
    ob_gen_results_free(three, NP);
}

static void check_encode_pair(const ob_model *m, ob_pool *pool, const ob_tokenizer *tok) {
    ob_task_env env = {m, pool, tok, 0, ob_req_default_params()};
    ob_err err = {0};
    int32_t *c1, *k1, *c2, *k2, *w;
    int n1, m1, n2, m2, nw;
    CHECK_OK(ob_task_encode_pair(&env, "Question: is it?\nAnswer: ", "yes", &c1, &n1, &k1, &m1, &err), &err);
    CHECK_OK(ob_task_encode_pair(&env, "Question: is it?\nAnswer:", " yes", &c2, &n2, &k2, &m2, &err), &err);
    CHECK(n1 == n2 && m1 == m2 && !memcmp(c1, c2, (size_t)n1 * 4) && !memcmp(k1, k2, (size_t)m1 * 4),
          "a trailing space of the context is not moved to the continuation");
    CHECK_OK(ob_task_encode(&env, "Question: is it?\nAnswer: yes", &w, &nw, &err), &err);
    CHECK(nw == n2 + m2 && !memcmp(w, c2, (size_t)n2 * 4) && !memcmp(w + n2, k2, (size_t)m2 * 4),
          "continuation tokens are not whole[len(context):]");
    free(c1), free(k1), free(c2), free(k2), free(w);
    CHECK_OK(ob_task_encode_pair(&env, "", "Once upon a time", &c1, &n1, &k1, &m1, &err), &err);
    CHECK(n1 == 1 && c1[0] == ob_tokenizer_bos(tok) && m1 > 0, "an empty context is not [BOS]");
    free(c1), free(k1);
    env.add_bos = 1;
    CHECK_OK(ob_task_encode_pair(&env, "The cat", " sat", &c1, &n1, &k1, &m1, &err), &err);
    CHECK(n1 >= 2 && c1[0] == ob_tokenizer_bos(tok) && k1[0] != ob_tokenizer_bos(tok), "add_bos: BOS not first");
    free(c1), free(k1);
}

static void check_bad_requests(const ob_model *m, ob_pool *pool, const ob_tokenizer *tok) {
    ob_err err = {0};
    ob_req_params p = ob_req_default_params();
    p.max_len = W;
    int32_t ctx[2] = {5, 6}, cont[W + 1], bad[1] = {V};
    for (int i = 0; i <= W; i++) cont[i] = 7;
    ob_ll_result r;
    ob_ll_req long_cont = {ctx, 2, cont, W + 1}, no_ctx = {ctx, 0, cont, 1}, oov = {bad, 1, cont, 1};
    CHECK(ob_eval_loglik(m, pool, &long_cont, 1, &p, &r, NULL, &err) != 0 && strstr(err.msg, "does not fit"),
          "a continuation longer than the window: '%s'", err.msg);
    CHECK(ob_eval_loglik(m, pool, &no_ctx, 1, &p, &r, NULL, &err) != 0 && strstr(err.msg, "empty context"),
          "an empty context: '%s'", err.msg);
    CHECK(ob_eval_loglik(m, pool, &oov, 1, &p, &r, NULL, &err) != 0 && strstr(err.msg, "vocabulary"),
          "a token outside the vocabulary: '%s'", err.msg);
    CHECK(ob_eval_loglik(m, pool, &oov, 0, &p, &r, NULL, &err) != 0, "no requests");
    const int32_t *pr[1] = {ctx};
    int npr[1] = {2};
    ob_gen_params g = {W, NULL, 0, -1};
    ob_gen_result gr;
    CHECK(ob_eval_generate(m, pool, tok, pr, npr, 1, &p, &g, &gr, NULL, &err) != 0 && strstr(err.msg, "max_gen"),
          "max_gen as large as the window: '%s'", err.msg);
    p.max_len = W + 1;
    g.max_gen = 4;
    CHECK(ob_eval_generate(m, pool, tok, pr, npr, 1, &p, &g, &gr, NULL, &err) != 0 && strstr(err.msg, "exceeds"),
          "a window beyond the model's context: '%s'", err.msg);
}

int main(void) {
    char dir[] = "/tmp/ob_test_requests_XXXXXX", path[600], tokp[600];
    if (!mkdtemp(dir)) return 1;
    stories_path(tokp, sizeof tokp, "tokenizer.bin");
    if (access(tokp, R_OK)) {
        CHECK(0, "stories15M's tokenizer is not in the cache (%s): run `optibench pull stories15M` first", tokp);
        return CHECK_DONE("test_eval_requests");
    }
    snprintf(path, sizeof path, "%s/tiny.bin", dir);
    write_tiny_llama2c(path, 32, 48, 2, 4, 2, V, W, 1, 7);
    ob_err err = {0};
    ob_pool *pool;
    CHECK_OK(ob_pool_new(2, &pool, &err), &err);
    ob_load_params lp = ob_load_default_params();
    lp.tokenizer_path = tokp;
    req_set *s = malloc(sizeof *s);
    make_requests(s);
    for (int mode = 0; mode < 3; mode++) {
        if (mode == 2) setenv("OPTIBENCH_SIMD", "scalar", 1); /* kernels are picked at load */
        ob_model *m = NULL;
        CHECK_OK(ob_model_load(path, &lp, &m, &err), &err);
        if (!m) break;
        const ob_tokenizer *tok = ob_model_tokenizer(m);
        check_loglik(m, pool, s, mode);
        check_generate(m, pool, tok, mode);
        if (!mode) {
            check_encode_pair(m, pool, tok);
            check_bad_requests(m, pool, tok);
        }
        ob_model_free(m);
    }
    unsetenv("OPTIBENCH_SIMD");
    free(s);
    ob_pool_free(pool);
    unlink(path);
    rmdir(dir);
    return CHECK_DONE("test_eval_requests");
}

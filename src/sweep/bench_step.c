/* bench_step.c - a sweep cell's speed measurement (bench_step.h). */
#include "sweep/bench_step.h"

#include <stdlib.h>
#include <string.h>

#include "bench/stats.h"

typedef struct timing {
    double prefill, decode; /* seconds */
} timing;

static int32_t argmax(const float *x, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* One repetition on a cleared sequence 0. */
static int one_rep(ob_ctx *ctx, const int32_t *prompt, const ob_sweep_bench_params *p, int n_vocab, float *logits,
                   timing *t, ob_err *err) {
    ob_ctx_seq_trim(ctx, 0, 0);
    double t0 = ob_now();
    int rc = ob_forward(ctx, 0, prompt, p->prompt_len, 0, 0, logits, err);
    t->prefill = ob_now() - t0;
    t->decode = 0;
    for (int g = 0; g < p->gen_len && !rc; g++) {
        int32_t tok = argmax(logits, n_vocab);
        double t1 = ob_now();
        rc = ob_forward(ctx, 0, &tok, 1, p->prompt_len + g, 0, logits, err);
        t->decode += ob_now() - t1;
    }
    return rc;
}

int ob_sweep_bench(const ob_model *m, ob_pool *pool, const ob_sweep_bench_params *p, ob_sweep_bench_result *r,
                   ob_err *err) {
    const ob_config *c = ob_model_config(m);
    memset(r, 0, sizeof *r);
    if (p->prompt_len < 1 || p->gen_len < 1 || p->reps < 1 || p->warmup < 0)
        return ob_fail(err, OB_EINVAL, "bench: prompt_len, gen_len and reps must be positive");
    if (p->prompt_len + p->gen_len > c->max_seq)
        return ob_fail(err, OB_ERANGE, "bench: prompt %d + generated %d tokens exceed the context of %d",
                       p->prompt_len, p->gen_len, c->max_seq);
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = p->prompt_len + p->gen_len;
    cp.max_batch = p->prompt_len;
    ob_ctx *ctx = NULL;
    int32_t *prompt = malloc((size_t)p->prompt_len * sizeof *prompt);
    float *logits = malloc((size_t)c->n_vocab * sizeof *logits);
    double *pre = malloc((size_t)p->reps * sizeof *pre), *dec = malloc((size_t)p->reps * sizeof *dec),
           *ttft = malloc((size_t)p->reps * sizeof *ttft);
    int rc = !prompt || !logits || !pre || !dec || !ttft ? ob_fail(err, OB_ENOMEM, "bench: out of memory") : 0;
    if (!rc) rc = ob_ctx_new(m, pool, &cp, &ctx, err);
    uint64_t x = 0x9e3779b97f4a7c15ull; /* a fixed prompt: ids 3 .. n_vocab-1 */
    for (int i = 0; !rc && i < p->prompt_len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        prompt[i] = (int32_t)(3 + x % (uint64_t)(c->n_vocab > 3 ? c->n_vocab - 3 : 1));
    }
    timing t;
    for (int k = 0; !rc && k < p->warmup + p->reps; k++) {
        rc = one_rep(ctx, prompt, p, c->n_vocab, logits, &t, err);
        if (rc || k < p->warmup) continue;
        int j = k - p->warmup;
        pre[j] = p->prompt_len / t.prefill;
        dec[j] = p->gen_len / t.decode;
        ttft[j] = 1e3 * t.prefill;
    }
    if (!rc) {
        ob_stats sp = ob_stats_of(pre, p->reps), sd = ob_stats_of(dec, p->reps), st = ob_stats_of(ttft, p->reps);
        r->prefill_tps = sp.median;
        r->decode_tps = sd.median;
        r->decode_tps_min = sd.min;
        r->decode_tps_max = sd.max;
        r->ttft_ms = st.median;
        r->reps = p->reps;
    }
    ob_ctx_free(ctx);
    free(prompt);
    free(logits);
    free(pre);
    free(dec);
    free(ttft);
    return rc;
}

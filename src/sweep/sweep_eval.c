/* sweep_eval.c - a cell's evaluation through the eval library: perplexity
 * and KL divergence from the baseline on the text corpus (src/eval/eval.h),
 * story-cloze accuracy (src/eval/tasks.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "eval/tasks.h"
#include "sweep/sweep_int.h"

typedef struct stage_cb {
    const sweep_run *s;
    const char *stage;
} stage_cb;

static void on_windows(void *user, int done, int total, int64_t scored, double elapsed) {
    const stage_cb *c = user;
    (void)scored, (void)elapsed;
    sweep_stage(c->s, c->stage, done, total);
}

static void on_requests(void *user, int done, int total, int64_t tokens, double elapsed) {
    on_windows(user, done, total, tokens, elapsed);
}

static void put(json_t *metrics, const char *k, double v) {
    if (isfinite(v)) json_object_set_new(metrics, k, json_real(v));
}

int sweep_eval_text(const sweep_run *s, const sweep_model *mm, const ob_model *m, const ob_model *base, ob_pool *pool,
                    json_t *metrics, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    ob_ppl_params pp = ob_ppl_default_params();
    pp.n_ctx = mm->ctx;
    pp.add_bos = mm->add_bos;
    pp.bos_id = mm->bos;
    pp.progress = on_windows;
    int rc = 0, have_ppl = 0;
    if (base && cfg->kld.on) {
        stage_cb cb = {s, "kld"};
        ob_kld_result kr;
        pp.limit = cfg->kld.limit;
        pp.progress_user = &cb;
        if ((rc = ob_eval_same_vocab(m, base, err)) ||
            (rc = ob_eval_kld(m, base, pool, mm->text, mm->n_text, &pp, &kr, NULL, err)))
            return rc;
        put(metrics, "kld", kr.kld_mean);
        put(metrics, "kld_p99", kr.kld_p99);
        put(metrics, "same_top", kr.same_top);
        if (cfg->ppl.on && cfg->ppl.limit == cfg->kld.limit) { /* the same windows: kld measured ppl too */
            put(metrics, "ppl", kr.ppl);
            put(metrics, "ppl_stderr", kr.ppl_stderr);
            have_ppl = 1;
        }
    }
    if (cfg->ppl.on && !have_ppl) {
        stage_cb cb = {s, "ppl"};
        ob_ppl_result pr;
        pp.limit = cfg->ppl.limit;
        pp.progress_user = &cb;
        if ((rc = ob_eval_ppl(m, pool, mm->text, mm->n_text, &pp, &pr, NULL, err))) return rc;
        put(metrics, "ppl", pr.ppl);
        put(metrics, "ppl_stderr", pr.ppl_stderr);
    }
    return 0;
}

int sweep_eval_cloze(const sweep_run *s, const ob_model *m, ob_pool *pool, json_t *metrics, ob_err *err) {
    const ob_mc_set *set = s->cloze;
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    if (!tok) return ob_fail(err, OB_EINVAL, "storycloze needs the model's tokenizer");
    int n = s->cfg->storycloze.limit && s->cfg->storycloze.limit < set->n ? s->cfg->storycloze.limit : set->n;
    const ob_config *c = ob_model_config(m);
    stage_cb cb = {s, "storycloze"};
    ob_task_env env = {m, pool, tok, 0, ob_req_default_params()};
    env.req.max_len = c->max_seq < 4096 ? c->max_seq : 4096;
    env.req.progress = on_requests;
    env.req.progress_user = &cb;
    ob_mc_out *out = calloc((size_t)n, sizeof *out);
    if (!out) return ob_fail(err, OB_ENOMEM, "out of memory for %d items", n);
    ob_mc_summary sum;
    int rc = ob_task_mc(&env, set, n, out, &sum, err);
    if (!rc) {
        put(metrics, "acc", sum.acc);
        put(metrics, "acc_stderr", sum.acc_stderr);
        put(metrics, "acc_norm", sum.acc_norm);
    }
    ob_mc_out_free(out, n);
    free(out);
    return rc;
}

/* sweep_prep.c - what a sweep prepares once per model in the parent
 * process, so every cell's child inherits it: the resolved path and
 * identity, the perplexity corpus tokenized and cut to the windows the
 * tasks use, and the calibration windows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/calib.h"
#include "eval/eval.h"
#include "sweep/sweep_int.h"

void sweep_model_free(sweep_model *mm) {
    json_decref(mm->identity);
    free(mm->text);
    free(mm->calib);
    mm->identity = NULL;
    mm->text = mm->calib = NULL;
}

/* The tokens ppl and kld read: the corpus with BOS as the tokenizer says,
 * cut to the largest number of windows either task uses. */
static int prep_text(sweep_run *s, sweep_model *mm, const ob_model *m, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    const ob_config *c = ob_model_config(m);
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    if (!tok) return ob_fail(err, OB_EINVAL, "%s: the model has no tokenizer to read %s with", mm->arg, s->ppl_path);
    int max_ctx = c->max_seq < 2048 ? c->max_seq : 2048;
    mm->ctx = cfg->ppl.ctx ? cfg->ppl.ctx : max_ctx;
    if (mm->ctx > c->max_seq)
        return ob_fail(err, OB_ERANGE, "tasks.ppl.ctx %d exceeds %s's context of %d tokens", mm->ctx, mm->arg,
                       c->max_seq);
    mm->add_bos = ob_tokenizer_add_bos_default(tok);
    mm->bos = ob_tokenizer_bos(tok) >= 0 ? ob_tokenizer_bos(tok) : c->bos_id;
    int rc = ob_eval_tokenize(tok, s->text, s->text_len, mm->add_bos, &mm->text, &mm->n_text, err);
    if (rc) return rc;
    int lim_p = cfg->ppl.on ? cfg->ppl.limit : 0, lim_k = cfg->kld.on ? cfg->kld.limit : 0;
    int all = (cfg->ppl.on && !lim_p) || (cfg->kld.on && !lim_k);
    int64_t want = (int64_t)(lim_p > lim_k ? lim_p : lim_k) * mm->ctx;
    if (!all && want < mm->n_text) mm->n_text = want;
    if (mm->n_text < mm->ctx)
        return ob_fail(err, OB_EINVAL, "%s: %lld tokens, fewer than one window of %d", s->ppl_path,
                       (long long)mm->n_text, mm->ctx);
    return 0;
}

/* The calibration windows of a loaded model. */
static int prep_calib(sweep_run *s, sweep_model *mm, const ob_model *m, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    const ob_config *c = ob_model_config(m);
    if (cfg->calib.seqlen > c->max_seq)
        return ob_fail(err, OB_ERANGE, "calibration.seqlen %d exceeds %s's context of %d tokens", cfg->calib.seqlen,
                       mm->arg, c->max_seq);
    int rc = ob_calib_tokens(m, s->calib_path, s->calib_brown, cfg->calib.nsamples, cfg->calib.seqlen,
                             (uint64_t)cfg->calib.seed, &mm->calib, NULL, 0, err);
    if (!rc) {
        mm->calib_n = cfg->calib.nsamples;
        mm->calib_seqlen = cfg->calib.seqlen;
    }
    return rc;
}

int sweep_prepare_model(sweep_run *s, int i, int calib, ob_err *err) {
    sweep_model *mm = &s->models[i];
    const ob_sweep_config *cfg = s->cfg;
    if (mm->error[0] || (mm->prepared && (!calib || mm->calib_tried))) return 0;
    ob_err e = {0};
    ob_model *m = NULL;
    int rc = 0;
    if (!mm->prepared) {
        mm->prepared = 1;
        if (s->o->resolve_model) rc = s->o->resolve_model(mm->arg, mm->path, sizeof mm->path, &e);
        else if ((size_t)snprintf(mm->path, sizeof mm->path, "%s", mm->arg) >= sizeof mm->path)
            rc = ob_fail(&e, OB_EINVAL, "%.100s...: path too long", mm->arg);
        if (!rc) rc = ob_model_identity(mm->path, &mm->identity, &e);
    }
    if (!rc) rc = ob_model_load(mm->path, NULL, &m, &e);
    if (!rc && !mm->text && (cfg->ppl.on || cfg->kld.on)) rc = prep_text(s, mm, m, &e);
    if (rc) {
        ob_model_free(m);
        if (rc == OB_ENOMEM) return ob_fail(err, rc, "%s", e.msg);
        snprintf(mm->error, sizeof mm->error, "%s", e.msg);
        return 0;
    }
    if (calib && !mm->calib_tried) {
        mm->calib_tried = 1;
        if ((rc = prep_calib(s, mm, m, &e))) {
            ob_model_free(m);
            if (rc == OB_ENOMEM) return ob_fail(err, rc, "%s", e.msg);
            snprintf(mm->calib_error, sizeof mm->calib_error, "calibration: %s", e.msg);
            return 0;
        }
    }
    ob_model_free(m);
    return 0;
}

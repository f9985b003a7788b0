/* layerwise.c - the layer-by-layer calibration driver (layerwise.h). */
#include "compress/layerwise.h"

#include <stdlib.h>
#include <string.h>

#include "model/context.h"
#include "model/model.h"

/* Pushes every calibration sequence through layer l (hid in, hid out). */
static int run_layer(ob_ctx *x, float *hid, int n_samples, int seqlen, int per_call, int l, int32_t *pos,
                     int32_t *seq, ob_err *err) {
    const int D = x->m->cfg.dim;
    for (int s0 = 0; s0 < n_samples; s0 += per_call) {
        int ns = n_samples - s0 < per_call ? n_samples - s0 : per_call;
        for (int j = 0; j < ns; j++) ob_ctx_seq_trim(x, j, 0);
        ob_batch b = {ns * seqlen, NULL, pos, seq, NULL};
        int rc = ob_decode_layer(x, &b, l, hid + (size_t)s0 * seqlen * D, err);
        if (rc) return rc;
    }
    return 0;
}

int ob_layerwise_run(ob_model *m, ob_pool *pool, const int32_t *calib, int n_samples, int seqlen,
                     const ob_layerwise *lw, ob_err *err) {
    const ob_config *c = &m->cfg;
    if (n_samples < 1 || seqlen < 2 || seqlen > c->max_seq)
        return ob_fail(err, OB_EINVAL, "calibration: %d sequences of %d tokens (the model takes %d)", n_samples,
                       seqlen, c->max_seq);
    const int D = c->dim, bt = lw->batch_tokens > 0 ? lw->batch_tokens : 2048;
    const int per_call = bt / seqlen > 0 ? bt / seqlen : 1, calls_per = per_call < n_samples ? per_call : n_samples;
    const int64_t tokens = (int64_t)n_samples * seqlen;
    const double t0 = ob_now();
    float *hid = malloc((size_t)tokens * D * sizeof *hid), *copy = malloc((size_t)tokens * D * sizeof *copy);
    int32_t *pos = malloc((size_t)calls_per * seqlen * sizeof *pos), *seq = malloc((size_t)calls_per * seqlen * sizeof *seq);
    ob_ctx *x = NULL;
    int rc = 0;
    if (!hid || !copy || !pos || !seq) {
        rc = ob_fail(err, OB_ENOMEM, "calibration: out of memory for %lld tokens", (long long)tokens);
        goto done;
    }
    for (int j = 0; j < calls_per * seqlen; j++) pos[j] = j % seqlen, seq[j] = j / seqlen;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = seqlen;
    cp.n_seq = calls_per;
    cp.max_batch = calls_per * seqlen;
    if ((rc = ob_ctx_new(m, pool, &cp, &x, err))) goto done;
    for (int s0 = 0; s0 < n_samples && !rc; s0 += calls_per) {
        int ns = n_samples - s0 < calls_per ? n_samples - s0 : calls_per;
        ob_batch b = {ns * seqlen, calib + (size_t)s0 * seqlen, pos, seq, NULL};
        rc = ob_embed_batch(x, &b, hid + (size_t)s0 * seqlen * D, err);
    }
    for (int l = 0; l < c->n_layers && !rc; l++) {
        if (lw->begin && (rc = lw->begin(lw->user, l, err))) break;
        if (lw->observe_rc) *lw->observe_rc = 0;
        memcpy(copy, hid, (size_t)tokens * D * sizeof *copy);
        ob_ctx_set_observer(x, lw->observe, lw->user);
        rc = run_layer(x, copy, n_samples, seqlen, calls_per, l, pos, seq, err);
        ob_ctx_set_observer(x, NULL, NULL);
        if (!rc && lw->observe_rc) rc = *lw->observe_rc;
        if (!rc) rc = lw->process(lw->user, l, err);
        if (!rc) rc = run_layer(x, hid, n_samples, seqlen, calls_per, l, pos, seq, err);
        if (lw->end) lw->end(lw->user, l);
        if (!rc && lw->progress) lw->progress(lw->progress_user, l + 1, c->n_layers, ob_now() - t0);
    }
done:
    ob_ctx_free(x);
    free(hid);
    free(copy);
    free(pos);
    free(seq);
    return rc;
}

/* layerwise.h - the calibration driver shared by GPTQ, AWQ, Wanda and
 * SparseGPT: a model is compressed one transformer layer at a time, each
 * layer seeing the activations of the already-compressed layers before it.
 *
 * Calibration sequences [n_samples x seqlen] are embedded once; then for
 * each layer l in order:
 *   1. begin(l)                 the method sets up its statistics
 *   2. the layer runs on every sequence's hidden states (ob_decode_layer);
 *      observe(l, site, X, n, cols) sees each linear layer's input rows
 *      (model/context.h's sites: q/k/v share one, gate/up share one); the
 *      outputs are thrown away
 *   3. process(l)               the method rewrites the layer's weights
 *   4. the layer runs again, now compressed, and its outputs become the
 *      next layer's inputs
 *   5. end(l)                   always called once begin(l) was, even on
 *      an error, so the method can free what begin allocated
 * A non-zero return from begin or process (or an error recorded through
 * ob_layerwise_fail from observe) stops the run with that status. */
#ifndef OB_COMPRESS_LAYERWISE_H
#define OB_COMPRESS_LAYERWISE_H

#include <stdint.h>

#include "optibench.h"

typedef struct ob_layerwise {
    int (*begin)(void *user, int layer, ob_err *err);      /* may be NULL */
    void (*observe)(void *user, int layer, int site, const float *X, int n, int cols);
    int (*process)(void *user, int layer, ob_err *err);
    void (*end)(void *user, int layer);                    /* may be NULL */
    /* set by observe when it fails (it cannot return a status) */
    int *observe_rc;
    void *user;
    int batch_tokens;        /* tokens per layer call; 0: 2048              */
    void (*progress)(void *user, int layer, int n_layers, double elapsed);
    void *progress_user;
} ob_layerwise;

/* Runs the schedule above over model m with the pool's threads.  calib
 * holds n_samples x seqlen token ids (1 < seqlen <= the model's context). */
int ob_layerwise_run(ob_model *m, ob_pool *pool, const int32_t *calib, int n_samples, int seqlen,
                     const ob_layerwise *lw, ob_err *err);

#endif

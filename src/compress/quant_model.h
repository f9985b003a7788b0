/* quant_model.h - GPTQ and AWQ over a whole model, layer by layer.
 *
 * Calibration sequences (calib.h) are embedded once; then for each layer in
 * order:
 *   1. the layer runs on every sequence's hidden states (ob_decode_layer)
 *      while an observer collects what the method needs at each linear
 *      layer's input: GPTQ the Hessian 2/N sum x x^T per input site, AWQ a
 *      subsample of the input rows;
 *   2. the layer's linear layers are quantized (GPTQ: gptq.h; AWQ: awq.h's
 *      scales folded into the previous operation, then round-to-nearest in
 *      the target format);
 *   3. the layer runs again, now quantized, and its outputs become the next
 *      layer's inputs, so every layer is calibrated on the activations of
 *      the already-quantized layers before it (as GPTQ's reference does).
 *
 * Input sites (model/context.h): q, k, v share the normed input; gate and
 * up share theirs; o and down have their own.  AWQ folds its scales into
 *   q, k, v   <- the attention norm's weight (and bias)
 *   gate, up  <- the FFN norm's weight (and bias)
 *   down      <- up's output rows (SwiGLU models only)
 *   o         <- v's output rows (and bias), when every head has its own
 *                key/value head (no GQA), as llm-awq does.
 *
 * GPTQ's results are stored in the group-wise int formats (kernels/quant.h)
 * with the same group size: 4 and 8 bits in I4_G* / I8_G*, 2 and 3 bits in
 * the int4 container (their integers fit).  act-order needs columns in
 * quantization order at run time, which the runtime formats do not have:
 * it is refused here (the GPTQ checkpoint export takes it).
 */
#ifndef OB_COMPRESS_QUANT_MODEL_H
#define OB_COMPRESS_QUANT_MODEL_H

#include <stdint.h>

#include "optibench.h"

typedef enum { OB_QM_GPTQ = 0, OB_QM_AWQ = 1 } ob_qm_method;

typedef void (*ob_qm_progress_fn)(void *user, int layer, int n_layers, double elapsed);

typedef struct ob_qm_params {
    ob_qm_method method;
    const char *format;  /* target format name; GPTQ: i4_g32 .. i8_row      */
    int bits;            /* GPTQ: 2..8 (default: the format's 4 or 8)       */
    int sym;             /* GPTQ: symmetric grid                           */
    double damp;         /* GPTQ: default 0.01                             */
    int n_grid;          /* AWQ: default 20                                */
    int awq_rows;        /* AWQ: input rows kept per site; default 4096    */
    int batch_tokens;    /* tokens per layer call; default 2048            */
    int compare_rtn;     /* also measure RTN's error on the same data      */
    ob_qm_progress_fn progress;
    void *progress_user;
} ob_qm_params;

ob_qm_params ob_qm_default_params(void);

typedef struct ob_qm_tensor {
    char name[48];
    int64_t rows, cols;
    /* GPTQ: the layer-output error trace(dW H dW^T)/2 on the calibration
     * inputs of the stored weights; AWQ: the output MSE of the scale group
     * this tensor belongs to.  *_rtn: plain round-to-nearest on the same
     * inputs (NAN unless compare_rtn). */
    double err, err_rtn;
    double sqnr_db;      /* of the stored weights against the original     */
    double awq_ratio;    /* AWQ: the exponent chosen                       */
    double damp;         /* GPTQ: the damp that factorized                 */
} ob_qm_tensor;

typedef struct ob_qm_report {
    int n_tensors;
    ob_qm_tensor *tensors;   /* owned; ob_qm_report_free                    */
    int64_t bytes_before, bytes_after;
    double seconds, seconds_method;  /* all; the method's own part          */
    int64_t tokens;          /* calibration tokens                          */
} ob_qm_report;

void ob_qm_report_free(ob_qm_report *r);

/* Quantizes model in place with calib [n_samples x seqlen] token ids. */
int ob_model_quantize_calibrated(ob_model *model, ob_pool *pool, const int32_t *calib, int n_samples, int seqlen,
                                 const ob_qm_params *p, ob_qm_report *report, ob_err *err);

#endif

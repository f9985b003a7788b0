/* prune_out.h - the files and table `optibench prune` writes (prune_out.c). */
#ifndef OB_CLI_PRUNE_OUT_H
#define OB_CLI_PRUNE_OUT_H

#include <jansson.h>

#include "compress/prune.h"
#include "compress/sparsify.h"

typedef struct cli_prune_summary {
    const char *method, *pattern, *values, *then_quantize, *calibration, *dense_format;
    double target, seconds;
    int64_t bytes_before;
} cli_prune_summary;

/* out/mask.safetensors, out/prune.json and the per-tensor table. */
int cli_prune_outputs(const char *out, const ob_model *m, const cli_prune_summary *s, const ob_prune_report *rep,
                      const ob_sparsify_report *sr, ob_err *err);
/* j as out/name, through name.tmp and a rename. */
int cli_write_json(json_t *j, const char *dir, const char *name, ob_err *err);

/* Structured pruning (prune_struct.c): the pattern's ob_struct_kind, or -1. */
int cli_struct_kind(const char *pattern);
typedef struct cli_struct_job {
    int kind;
    double sparsity;
    const char *method, *pattern, *out;
    const char *values;      /* a dense format name for RTN after pruning, or NULL / "F32" */
    int quant_bits, quant_group; /* GPTQ after pruning (needs calib)    */
    const int32_t *calib;    /* wanda's activation norms and GPTQ, or NULL */
    int n_calib, seqlen;
} cli_struct_job;
int cli_prune_structured(ob_model *m, ob_pool *pool, const cli_struct_job *j, ob_err *err);

#endif

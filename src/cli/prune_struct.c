/* prune_struct.c - `optibench prune --pattern ffn|heads|ffn+heads|
 * channels-in|channels-out`: structured pruning that shrinks the matrices
 * (compress/structured.h), then optionally the values converted (RTN) or
 * GPTQ-quantized, saved with a report. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/prune_out.h"
#include "compress/quant_model.h"
#include "compress/structured.h"
#include "formats/hf_write.h"

int cli_struct_kind(const char *pattern) {
    static const char *const names[] = {"ffn", "heads", "ffn+heads", "channels-out", "channels-in"};
    for (int k = 0; k < 5; k++)
        if (!strcmp(pattern, names[k])) return k;
    return -1;
}

int cli_prune_structured(ob_model *m, ob_pool *pool, const cli_struct_job *j, ob_err *err) {
    const double t0 = ob_now();
    const int64_t bytes_before = ob_model_weight_bytes(m);
    ob_struct_params sp = ob_struct_default_params();
    sp.kind = (ob_struct_kind)j->kind;
    sp.sparsity = j->sparsity;
    const int dense_values = !j->values || !strcmp(j->values, "F32") || !strcmp(j->values, "F16") ||
                             !strcmp(j->values, "BF16");
    if (j->quant_bits || !dense_values) sp.multiple = 32; /* whole blocks of the quantized formats */
    float **norms = NULL;
    int rc = 0;
    if (j->calib) { /* wanda: |W| * ||X|| per unit */
        rc = ob_struct_act_norms(m, pool, j->calib, j->n_calib, j->seqlen, &norms, err);
        sp.act_norm = (const float *const *)norms;
    }
    ob_struct_report rep = {0};
    if (!rc) rc = ob_prune_structured(m, &sp, &rep, err);
    free(norms);
    if (!rc && j->quant_bits) { /* GPTQ of the smaller model, same calibration */
        char fmt[32];
        snprintf(fmt, sizeof fmt, "i%d_g%d", j->quant_bits, j->quant_group);
        ob_qm_params qp = ob_qm_default_params();
        qp.format = fmt;
        qp.sym = 1;
        ob_qm_report qr;
        if (!(rc = ob_model_quantize_calibrated(m, pool, j->calib, j->n_calib, j->seqlen, &qp, &qr, err)))
            ob_qm_report_free(&qr);
    } else if (!rc && j->values && strcmp(j->values, "F32")) {
        ob_quant_params qp = ob_quant_default_params();
        qp.format = j->values;
        rc = ob_model_quantize(m, &qp, pool, NULL, err);
    }
    if (!rc) rc = ob_model_save_hf_container(m, j->out, OB_DT_F32, err);
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    if (!rc && tok) rc = ob_tokenizer_save_hf(tok, j->out, err);
    json_t *root = json_object(), *ts = json_array();
    if (!rc && (!root || !ts)) rc = ob_fail(err, OB_ENOMEM, "out of memory");
    printf("| tensor | shape before | shape after | sparsity |\n|---|---|---|---|\n");
    for (int i = 0; !rc && i < rep.n_tensors; i++) {
        const ob_struct_tensor *t = &rep.tensors[i];
        printf("| %s | %lldx%lld | %lldx%lld | %.4f |\n", t->name, (long long)t->rows_before,
               (long long)t->cols_before, (long long)t->rows_after, (long long)t->cols_after, t->sparsity);
        json_array_append_new(ts, json_pack("{s:s, s:[I,I], s:[I,I], s:f}", "name", t->name, "shape_before",
                                            (json_int_t)t->rows_before, (json_int_t)t->cols_before, "shape_after",
                                            (json_int_t)t->rows_after, (json_int_t)t->cols_after, "sparsity",
                                            t->sparsity));
    }
    char sp_path[2300];
    snprintf(sp_path, sizeof sp_path, "%s/model.safetensors", j->out);
    struct stat st;
    const int64_t disk = stat(sp_path, &st) == 0 ? (int64_t)st.st_size : -1;
    const double removed = rep.before.params > 0 ? 1.0 - (double)rep.after.params / (double)rep.before.params : 0;
    if (!rc) {
        json_object_set_new(root, "method", json_string(j->method));
        json_object_set_new(root, "pattern", json_string(j->pattern));
        json_object_set_new(root, "sparsity_target", json_real(j->sparsity));
        json_object_set_new(root, "params_before", json_integer(rep.before.params));
        json_object_set_new(root, "params_after", json_integer(rep.after.params));
        json_object_set_new(root, "ffn_dim", json_pack("[i,i]", rep.before.ffn, rep.after.ffn));
        json_object_set_new(root, "n_heads", json_pack("[i,i]", rep.before.heads, rep.after.heads));
        json_object_set_new(root, "n_kv_heads", json_pack("[i,i]", rep.before.kv_heads, rep.after.kv_heads));
        json_object_set_new(root, "values", json_string(j->quant_bits ? (j->quant_bits == 8 ? "gptq8" : "gptq4")
                                                                       : j->values ? j->values : "F32"));
        json_object_set_new(root, "model_bytes_before", json_integer(bytes_before));
        json_object_set_new(root, "model_bytes_in_memory", json_integer(ob_model_weight_bytes(m)));
        json_object_set_new(root, "model_file_bytes", json_integer(disk));
        json_object_set_new(root, "seconds", json_real(ob_now() - t0));
        json_object_set_new(root, "tensors", ts);
        ts = NULL;
        rc = cli_write_json(root, j->out, "prune.json", err);
    }
    if (!rc)
        printf("prune: %s %s %.2f: ffn %d -> %d, heads %d -> %d (kv %d -> %d); %.4f of the parameters removed; "
               "weights %.1f MB -> %.1f MB in memory, %.1f MB on disk; %.1f s\n",
               j->method, j->pattern, j->sparsity, rep.before.ffn, rep.after.ffn, rep.before.heads, rep.after.heads,
               rep.before.kv_heads, rep.after.kv_heads, removed, bytes_before / 1e6, ob_model_weight_bytes(m) / 1e6,
               disk / 1e6, ob_now() - t0);
    json_decref(ts);
    json_decref(root);
    ob_struct_report_free(&rep);
    return rc;
}

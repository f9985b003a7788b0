/* prune_out.c - what `optibench prune` writes beside the model: the masks
 * (formats/mask_file.h), prune.json (the report, written then renamed) and
 * the table on stdout. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/prune_out.h"
#include "formats/mask_file.h"

static int64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* json written to dir/name through a temporary file and a rename */
int cli_write_json(json_t *j, const char *dir, const char *name, ob_err *err) {
    char path[2300], tmp[2400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) || rename(tmp, path)) {
        remove(tmp);
        return ob_fail(err, OB_EIO, "%s: cannot write", path);
    }
    return 0;
}

int cli_prune_outputs(const char *out, const ob_model *m, const cli_prune_summary *s, const ob_prune_report *rep,
                      const ob_sparsify_report *sr, ob_err *err) {
    ob_mask_entry *me = calloc((size_t)(rep->n_tensors > 0 ? rep->n_tensors : 1), sizeof *me);
    char (*names)[128] = calloc((size_t)(rep->n_tensors > 0 ? rep->n_tensors : 1), sizeof *names);
    json_t *j = json_object(), *ts = json_array();
    int rc = me && names && j && ts ? 0 : ob_fail(err, OB_ENOMEM, "out of memory");
    printf("| tensor | shape | sparsity | layer-output error | stored as | dense MB | stored MB |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int i = 0; !rc && i < rep->n_tensors; i++) {
        const ob_prune_tensor *t = &rep->tensors[i];
        const ob_sparsify_tensor *st = i < sr->n_tensors ? &sr->tensors[i] : NULL;
        const double sp = (double)t->n_pruned / (double)(t->rows * t->cols);
        const char *fmt = st ? ob_format_name(st->format) : s->dense_format;
        ob_hf_llama_name(t->name, names[i], sizeof names[i]);
        me[i] = (ob_mask_entry){names[i], t->rows, t->cols, t->keep};
        printf("| %s | %lldx%lld | %.4f | %.4g | %s | %.3f | %.3f |\n", t->name, (long long)t->rows,
               (long long)t->cols, sp, t->err, fmt, st ? st->dense_bytes / 1e6 : NAN, st ? st->bytes / 1e6 : NAN);
        json_array_append_new(ts, json_pack("{s:s, s:I, s:I, s:f, s:o, s:s, s:o, s:o}", "name", t->name, "rows",
                                            (json_int_t)t->rows, "cols", (json_int_t)t->cols, "sparsity", sp,
                                            "layer_output_error", num_or_null(t->err), "format", fmt,
                                            "dense_bytes", st ? json_integer(st->dense_bytes) : json_null(),
                                            "bytes", st ? json_integer(st->bytes) : json_null()));
    }
    char mp[2300], sp[2300];
    snprintf(mp, sizeof mp, "%s/mask.safetensors", out);
    snprintf(sp, sizeof sp, "%s/model.safetensors", out);
    if (!rc) rc = ob_mask_save(mp, me, rep->n_tensors, err);
    const double achieved = rep->n_weights ? (double)rep->n_pruned / (double)rep->n_weights : 0.0;
    const int64_t mem = ob_model_weight_bytes(m), disk = file_size(sp);
    if (!rc) {
        json_object_set_new(j, "method", json_string(s->method));
        json_object_set_new(j, "pattern", json_string(s->pattern));
        json_object_set_new(j, "sparsity_target", json_real(round(s->target * 1e6) / 1e6));
        json_object_set_new(j, "sparsity", json_real(achieved));
        json_object_set_new(j, "values", json_string(s->values));
        json_object_set_new(j, "then_quantize", s->then_quantize ? json_string(s->then_quantize) : json_null());
        json_object_set_new(j, "calibration", s->calibration ? json_string(s->calibration) : json_null());
        json_object_set_new(j, "weights_pruned", json_integer(rep->n_pruned));
        json_object_set_new(j, "weights_in_pruned_layers", json_integer(rep->n_weights));
        json_object_set_new(j, "pruned_layers_dense_bytes", json_integer(sr->dense_bytes));
        json_object_set_new(j, "pruned_layers_bytes", json_integer(sr->bytes));
        json_object_set_new(j, "model_bytes_before", json_integer(s->bytes_before));
        json_object_set_new(j, "model_bytes_in_memory", json_integer(mem));
        json_object_set_new(j, "model_file_bytes", json_integer(disk));
        json_object_set_new(j, "seconds", json_real(s->seconds));
        json_object_set_new(j, "tensors", ts);
        ts = NULL;
        rc = cli_write_json(j, out, "prune.json", err);
    }
    if (!rc && sr->n_tensors)
        printf("prune: pruned linear layers %.1f MB dense in %s -> %.1f MB stored (%.2fx smaller)\n",
               sr->dense_bytes / 1e6, s->values, sr->bytes / 1e6, (double)sr->dense_bytes / (double)sr->bytes);
    if (!rc)
        printf("prune: %s %s, %.4f of %lld linear weights removed; weights %.1f MB dense -> %.1f MB in memory, "
               "%.1f MB on disk; %.1f s\n",
               s->method, s->pattern, achieved, (long long)rep->n_weights, s->bytes_before / 1e6, mem / 1e6,
               disk / 1e6, s->seconds);
    json_decref(ts);
    json_decref(j);
    free(me);
    free(names);
    return rc;
}

/* sparsify.c - pruned linear layers into sparse storage (sparsify.h). */
#include "compress/sparsify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/sparse.h"
#include "model/context.h"
#include "model/model.h"

/* The model's matrix named "blk.L.NAME.weight". */
static ob_matrix *find(ob_model *m, const char *name) {
    int l, used = 0;
    char part[32];
    if (sscanf(name, "blk.%d.%31[a-z_].weight%n", &l, part, &used) != 2 || name[used] || l < 0 || l >= m->cfg.n_layers)
        return NULL;
    ob_linref ls[7];
    int nl = ob_layer_linears(m, l, ls);
    for (int k = 0; k < nl; k++)
        if (!strcmp(ls[k].name, part)) return ls[k].mat;
    return NULL;
}

/* the smallest sparse storage for keep (S24 only when the mask is 2:4) */
static ob_format smallest_sparse(ob_format values, const uint8_t *keep, int64_t R, int64_t C) {
    ob_format best = (ob_format)-1;
    size_t best_b = 0;
    for (int s = 0; s < OB_SPARSE_STORAGES; s++) {
        if (s == OB_SPARSE_24 && !ob_sparse_is_24(keep, R, C)) continue;
        ob_format f = ob_sparse_format(values, s);
        size_t aux, b = ob_sparse_size(f, keep, R, C, &aux);
        if ((int)best < 0 || b + aux < best_b) best = f, best_b = b + aux;
    }
    return best;
}

static int store_one(ob_model *m, ob_matrix *w, const ob_prune_tensor *t, ob_format values, int storage, int qgroup,
                     ob_sparsify_tensor *o, ob_err *err) {
    const int64_t R = t->rows, C = t->cols;
    snprintf(o->name, sizeof o->name, "%s", t->name);
    if (w->format != OB_FMT_F32 || w->rows != R || w->cols != C)
        return ob_fail(err, OB_EINVAL, "sparsify: %s is not the float32 matrix pruning left", t->name);
    if (C % OB_SP_COLS) return ob_fail(err, OB_EINVAL, "sparsify: %s has %lld columns, not a multiple of 32", t->name,
                                       (long long)C);
    const ob_format_ops *vops = ob_format_get(values);
    o->dense_bytes = (int64_t)(vops->row_bytes(C) * (size_t)R);
    const float *W = w->data;
    ob_format f;
    if (storage == OB_STORE_AUTO) {
        f = ob_sparse_choose(values, t->keep, R, C, -1);
        if (t->scales && !ob_format_is_sparse(f)) f = smallest_sparse(values, t->keep, R, C);
    } else {
        f = ob_sparse_format(values, storage);
    }
    if ((int)f < 0) return ob_fail(err, OB_EINVAL, "sparsify: no sparse storage for %s values", ob_format_name(values));
    uint16_t *sc = NULL;
    if (t->scales) { /* the group's scale for each 32-column chunk */
        const int64_t nc = C / OB_SP_COLS, ng = (C + qgroup - 1) / qgroup;
        if (!(sc = malloc((size_t)(R * nc) * sizeof *sc))) return ob_fail(err, OB_ENOMEM, "sparsify: out of memory");
        for (int64_t r = 0; r < R; r++)
            for (int64_t b = 0; b < nc; b++) sc[r * nc + b] = ob_f32_to_f16(t->scales[r * ng + b * OB_SP_COLS / qgroup]);
    }
    int rc = 0;
    if (!ob_format_is_sparse(f)) { /* dense in the value format */
        uint8_t *data = ob_model_alloc(m, (size_t)o->dense_bytes);
        if (!data) rc = ob_fail(err, OB_ENOMEM, "sparsify: out of memory");
        for (int64_t r = 0; !rc && r < R; r++) vops->quantize_row(W + r * C, C, data + (size_t)r * vops->row_bytes(C));
        if (!rc) ob_matrix_init(w, f, R, C, data);
        o->bytes = o->dense_bytes;
    } else {
        size_t aux_b, bytes = ob_sparse_size(f, t->keep, R, C, &aux_b);
        uint8_t *data = ob_model_alloc(m, bytes + aux_b + 8);
        void *aux = aux_b ? data + ((bytes + 7) & ~(size_t)7) : NULL;
        if (!data) rc = ob_fail(err, OB_ENOMEM, "sparsify: out of memory");
        if (!rc) rc = ob_sparse_pack(f, W, t->keep, R, C, sc, data, aux, err);
        if (!rc) ob_matrix_init_sparse(w, f, R, C, data, aux);
        o->bytes = (int64_t)(bytes + aux_b);
    }
    o->format = f;
    free(sc);
    return rc;
}

int ob_model_sparsify(ob_model *m, const ob_prune_report *rep, ob_format values, int storage, int quant_bits,
                      int quant_group, ob_sparsify_report *out, ob_err *err) {
    memset(out, 0, sizeof *out);
    if (values != OB_FMT_F32 && values != OB_FMT_F16 && values != OB_FMT_BF16 && values != OB_FMT_Q8_0 &&
        values != OB_FMT_Q4_0)
        return ob_fail(err, OB_EINVAL, "sparsify: values in %s (f32, f16, bf16, q8_0 or q4_0)", ob_format_name(values));
    if (quant_bits && values != (quant_bits == 8 ? OB_FMT_Q8_0 : OB_FMT_Q4_0))
        return ob_fail(err, OB_EINVAL, "sparsify: weights quantized to %d bits are stored as %s, not %s", quant_bits,
                       quant_bits == 8 ? "q8_0" : "q4_0", ob_format_name(values));
    if (quant_bits && (quant_group < OB_SP_COLS || quant_group % OB_SP_COLS))
        return ob_fail(err, OB_EINVAL, "sparsify: group %d is not a multiple of 32", quant_group);
    if (!(out->tensors = calloc((size_t)(rep->n_tensors > 0 ? rep->n_tensors : 1), sizeof *out->tensors)))
        return ob_fail(err, OB_ENOMEM, "sparsify: out of memory");
    for (int i = 0; i < rep->n_tensors; i++) {
        const ob_prune_tensor *t = &rep->tensors[i];
        ob_matrix *w = find(m, t->name);
        if (!w) return ob_fail(err, OB_EINVAL, "sparsify: the model has no %s", t->name);
        int rc = store_one(m, w, t, values, storage, quant_group, &out->tensors[i], err);
        if (rc) return rc;
        out->n_tensors++;
        out->dense_bytes += out->tensors[i].dense_bytes;
        out->bytes += out->tensors[i].bytes;
    }
    return 0;
}

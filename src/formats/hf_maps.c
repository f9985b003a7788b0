/* hf_maps.c - index maps of channel-pruned matrices (hf_maps.h). */
#include "formats/hf_maps.h"

#include <stdio.h>
#include <string.h>

int ob_hf_index_map(ob_model *m, const char *dir, ob_hf_find_fn find, void *user, const char *weight_name,
                    const char *suffix, int64_t full, const int32_t **keep, int64_t *n, ob_err *err) {
    *keep = NULL;
    *n = full;
    char name[300];
    size_t nl = strlen(weight_name);
    if (nl > 7 && !strcmp(weight_name + nl - 7, ".weight")) nl -= 7;
    snprintf(name, sizeof name, "%.*s%s", (int)nl, weight_name, suffix);
    const ob_tensor *t = find(user, name);
    if (!t) return 0;
    if (t->dtype != OB_DT_I32 || t->n_dims != 1 || t->shape[0] < 1 || t->shape[0] > full)
        return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' must be I32 [1..%lld] (got %s with %d dims, %lld entries)", dir,
                       name, (long long)full, ob_dtype_name(t->dtype), t->n_dims, (long long)t->numel);
    const int64_t len = t->shape[0];
    int32_t *d = ob_model_alloc(m, (size_t)len * sizeof *d);
    if (!d) return ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    memcpy(d, t->data, (size_t)len * sizeof *d);
    for (int64_t i = 0; i < len; i++) {
        if (d[i] < 0 || d[i] >= full)
            return ob_fail(err, OB_EFORMAT, "%s: tensor '%s': entry %lld is %d, outside [0, %lld)", dir, name,
                           (long long)i, d[i], (long long)full);
        if (i > 0 && d[i] == d[i - 1])
            return ob_fail(err, OB_EFORMAT, "%s: tensor '%s': index %d appears twice", dir, name, d[i]);
        if (i > 0 && d[i] < d[i - 1])
            return ob_fail(err, OB_EFORMAT, "%s: tensor '%s': entry %lld (%d) is below the one before (%d); indices "
                           "must ascend", dir, name, (long long)i, d[i], d[i - 1]);
    }
    *keep = d;
    *n = len;
    return 0;
}

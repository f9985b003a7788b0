/* hf_gptq.c - GPTQ checkpoints into group-wise int matrices (hf_gptq.h). */
#include "formats/hf_gptq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gptq_pack.h"
#include "kernels/quant.h"

int ob_hf_gptq_parse(json_t *cfg, const char *dir, ob_hf_gptq *g, ob_err *err) {
    memset(g, 0, sizeof *g);
    json_t *q = json_object_get(cfg, "quantization_config");
    if (!q) return 0;
    const char *method = json_string_value(json_object_get(q, "quant_method"));
    if (!method || strcmp(method, "gptq"))
        return ob_fail(err, OB_EUNSUP, "%s/config.json: quantization_config: quant_method '%s' is not supported (gptq is)",
                       dir, method ? method : "?");
    g->bits = (int)json_integer_value(json_object_get(q, "bits"));
    json_t *gs = json_object_get(q, "group_size");
    g->group_size = gs ? (int)json_integer_value(gs) : -1;
    const char *fmt = json_string_value(json_object_get(q, "checkpoint_format"));
    g->v2 = fmt && !strcmp(fmt, "gptq_v2");
    if (fmt && strcmp(fmt, "gptq") && !g->v2)
        return ob_fail(err, OB_EUNSUP, "%s/config.json: quantization_config: checkpoint_format '%s' is not supported", dir,
                       fmt);
    if (g->bits != 2 && g->bits != 3 && g->bits != 4 && g->bits != 8)
        return ob_fail(err, OB_EUNSUP, "%s/config.json: quantization_config: %d bits (2, 3, 4 or 8 load)", dir, g->bits);
    if (g->group_size != -1 && g->group_size != 32 && g->group_size != 64 && g->group_size != 128)
        return ob_fail(err, OB_EUNSUP, "%s/config.json: quantization_config: group_size %d (-1, 32, 64 or 128 load)",
                       dir, g->group_size);
    if (json_is_true(json_object_get(q, "desc_act")))
        return ob_fail(err, OB_EUNSUP, "%s/config.json: quantization_config: desc_act (act-order) checkpoints are not "
                       "supported yet", dir);
    return 0;
}

static const ob_tensor *need(const char *dir, const char *base, const char *suffix, ob_dtype dt, int64_t d0,
                             int64_t d1, const ob_tensor *(*find)(void *, const char *), void *u, ob_err *err) {
    char name[300];
    snprintf(name, sizeof name, "%s.%s", base, suffix);
    const ob_tensor *t = find(u, name);
    if (!t) {
        ob_fail(err, OB_EFORMAT, "%s: missing tensor '%s'", dir, name);
        return NULL;
    }
    int nd = d1 < 0 ? 1 : 2;
    if (t->dtype != dt || t->n_dims != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
        ob_fail(err, OB_EFORMAT, "%s: tensor '%s': %s with %d dims, expected %s [%lld%s%lld]", dir, name,
                ob_dtype_name(t->dtype), t->n_dims, ob_dtype_name(dt), (long long)d0, nd == 2 ? ", " : "",
                nd == 2 ? (long long)d1 : 0LL);
        return NULL;
    }
    return t;
}

int ob_hf_gptq_matrix(ob_model *m, const char *dir, const ob_hf_gptq *g, const char *base,
                      const ob_tensor *(*find)(void *u, const char *name), void *u, int64_t rows, int64_t cols,
                      ob_matrix *w, ob_err *err) {
    const int bits = g->bits, is8 = bits == 8;
    const int64_t G = g->group_size > 0 ? g->group_size : cols, ng = (cols + G - 1) / G;
    if ((cols * bits) % 32 || (rows * bits) % 32 || cols % OB_QK)
        return ob_fail(err, OB_EFORMAT, "%s: '%s': %lld x %lld does not pack at %d bits", dir, base, (long long)rows,
                       (long long)cols, bits);
    ob_format f = is8 ? (G == 32 ? OB_FMT_I8_G32 : G == 64 ? OB_FMT_I8_G64 : G == 128 ? OB_FMT_I8_G128 : OB_FMT_I8_ROW)
                      : (G == 32 ? OB_FMT_I4_G32 : G == 64 ? OB_FMT_I4_G64 : G == 128 ? OB_FMT_I4_G128 : OB_FMT_I4_ROW);
    const ob_tensor *qw = need(dir, base, "qweight", OB_DT_I32, cols * bits / 32, rows, find, u, err);
    const ob_tensor *qz = qw ? need(dir, base, "qzeros", OB_DT_I32, ng, rows * bits / 32, find, u, err) : NULL;
    const ob_tensor *sc = qz ? need(dir, base, "scales", OB_DT_F16, ng, rows, find, u, err) : NULL;
    if (!sc) return err->code;
    char gname[300];
    snprintf(gname, sizeof gname, "%s.g_idx", base);
    const ob_tensor *gi = find(u, gname);
    int32_t *g_idx = malloc((size_t)cols * sizeof *g_idx);
    uint8_t *q = malloc((size_t)(rows * cols));
    int32_t *zeros = malloc((size_t)(rows * ng) * sizeof *zeros);
    int rc = !g_idx || !q || !zeros ? ob_fail(err, OB_ENOMEM, "%s: out of memory", dir) : 0;
    for (int64_t c = 0; !rc && c < cols; c++) {
        g_idx[c] = (int32_t)(c / G);
        if (gi) {
            int32_t v;
            if (gi->dtype != OB_DT_I32 || gi->numel != cols) {
                rc = ob_fail(err, OB_EFORMAT, "%s: tensor '%s': expected I32 [%lld]", dir, gname, (long long)cols);
                break;
            }
            memcpy(&v, (const char *)gi->data + c * 4, 4);
            if (v != g_idx[c])
                rc = ob_fail(err, OB_EUNSUP, "%s: tensor '%s': column %lld is in group %d, not %lld: act-order "
                             "checkpoints are not supported yet", dir, gname, (long long)c, v, (long long)(c / G));
        }
    }
    ob_gptq_packed p = {rows, cols, ng, bits, g->v2, (int32_t *)qw->data, (int32_t *)qz->data,
                        (uint16_t *)sc->data, g_idx};
    if (!rc) rc = ob_gptq_ints(&p, q, zeros, err);
    void *data = NULL;
    const ob_format_ops *ops = ob_format_get(f);
    size_t rb = ops->row_bytes(cols);
    if (!rc && !(data = ob_model_alloc(m, rb * (size_t)rows))) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    uint16_t *hs = rc ? NULL : malloc((size_t)ng * sizeof *hs);
    if (!rc && !hs) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    for (int64_t r = 0; !rc && r < rows; r++) {
        for (int64_t k = 0; k < ng; k++) memcpy(&hs[k], (const char *)sc->data + (k * rows + r) * 2, 2);
        ob_qgroup_pack_row(f, q + r * cols, hs, zeros + r * ng, cols, (uint8_t *)data + r * rb);
    }
    free(hs);
    if (!rc) ob_matrix_init(w, f, rows, cols, data);
    free(g_idx);
    free(q);
    free(zeros);
    return rc;
}

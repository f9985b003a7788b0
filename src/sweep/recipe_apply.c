/* recipe_apply.c - a recipe applied to a loaded model through the
 * compression library (recipe.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/prune.h"
#include "compress/quant_model.h"
#include "compress/sparsify.h"
#include "compress/structured.h"
#include "kernels/matrix.h"
#include "sweep/recipe.h"

static int need_calib(const ob_recipe *r, const ob_recipe_calib *c, ob_err *err) {
    if (c && c->tokens && c->n_samples > 0 && c->seqlen > 1) return 0;
    return ob_fail(err, OB_EINVAL, "recipe '%s': %s needs calibration tokens", r->name, ob_recipe_kind_name(r->kind));
}

static int apply_rtn(ob_model *m, const char *format, int embd, int output, ob_pool *pool, ob_err *err) {
    ob_quant_params qp = ob_quant_default_params();
    qp.format = format;
    qp.embeddings = embd;
    qp.output = output;
    return ob_model_quantize(m, &qp, pool, NULL, err);
}

static int apply_calibrated(ob_model *m, const ob_recipe *r, const json_t *params, ob_pool *pool,
                            const ob_recipe_calib *c, ob_recipe_progress_fn progress, void *user, ob_err *err) {
    int rc = need_calib(r, c, err);
    if (rc) return rc;
    ob_qm_params qp = ob_qm_default_params();
    qp.method = r->kind == OB_RECIPE_GPTQ ? OB_QM_GPTQ : OB_QM_AWQ;
    qp.format = json_string_value(json_object_get(params, "format"));
    if (r->kind == OB_RECIPE_GPTQ) {
        qp.bits = (int)json_integer_value(json_object_get(params, "bits"));
        qp.sym = r->sym;
        qp.damp = r->damp;
    }
    qp.compare_rtn = 0;
    qp.progress = progress;
    qp.progress_user = user;
    ob_qm_report rep = {0};
    rc = ob_model_quantize_calibrated(m, pool, c->tokens, c->n_samples, c->seqlen, &qp, &rep, err);
    ob_qm_report_free(&rep);
    return rc;
}

static int apply_prune(ob_model *m, const ob_recipe *r, const json_t *params, ob_pool *pool, const ob_recipe_calib *c,
                       ob_recipe_progress_fn progress, void *user, ob_recipe_info *info, ob_err *err) {
    ob_prune_params pp = ob_prune_default_params();
    const char *method = r->method;
    pp.method = !strcmp(method, "wanda") ? OB_PRUNE_WANDA : !strcmp(method, "sparsegpt") ? OB_PRUNE_SPARSEGPT
                                                                                          : OB_PRUNE_MAGNITUDE;
    int rc = ob_pattern_parse(r->pattern, &pp.pattern, err);
    if (rc) return rc;
    pp.sparsity = json_real_value(json_object_get(params, "sparsity"));
    pp.global = r->global;
    pp.damp = r->damp;
    pp.quant_group = r->group >= 0 ? r->group : 128;
    pp.quant_bits = !strcmp(r->then_quantize, "gptq8") ? 8 : !strcmp(r->then_quantize, "gptq4") ? 4 : 0;
    pp.progress = progress;
    pp.progress_user = user;
    const int calibrated = ob_recipe_calibrated(r);
    if (calibrated && (rc = need_calib(r, c, err))) return rc;
    if ((rc = ob_prune_check(m, &pp, calibrated ? c->n_samples : 0, err))) return rc;
    static const char *const vnames[][2] = {{"f32", "F32"}, {"f16", "F16"}, {"bf16", "BF16"}, {"int8", "Q8_0"},
                                            {"int4", "Q4_0"}};
    const char *values = json_string_value(json_object_get(params, "values"));
    ob_format vfmt = OB_FMT_F32;
    for (int k = 0; k < 5; k++)
        if (!strcmp(values, vnames[k][0])) vfmt = (ob_format)ob_format_from_name(vnames[k][1]);
    ob_prune_report rep = {0};
    ob_sparsify_report sr = {0};
    rc = ob_model_prune(m, pool, calibrated ? c->tokens : NULL, calibrated ? c->n_samples : 0,
                        calibrated ? c->seqlen : 0, &pp, &rep, err);
    if (!rc) rc = ob_model_sparsify(m, &rep, vfmt, OB_STORE_AUTO, pp.quant_bits, pp.quant_group, &sr, err);
    if (!rc && rep.n_weights) info->sparsity = (double)rep.n_pruned / (double)rep.n_weights;
    free(sr.tensors);
    ob_prune_report_free(&rep);
    return rc;
}

/* Removes whole units (compress/structured.h), scored by L1 norm or, when
 * calibrated, by |W| * ||X||; then the RTN format of then_quantize. */
static int apply_structured(ob_model *m, const ob_recipe *r, ob_pool *pool, const ob_recipe_calib *c,
                            ob_recipe_info *info, ob_err *err) {
    static const char *const targets[] = {"ffn", "heads", "ffn_heads", "channels_out", "channels_in"};
    static const ob_struct_kind kinds[] = {OB_STRUCT_FFN, OB_STRUCT_HEADS, OB_STRUCT_FFN_HEADS,
                                           OB_STRUCT_CHANNELS_OUT, OB_STRUCT_CHANNELS_IN};
    ob_struct_params sp = ob_struct_default_params();
    int k = 0;
    while (k < 5 && strcmp(targets[k], r->target)) k++;
    if (k == 5) return ob_fail(err, OB_EINVAL, "recipe '%s': unknown target '%s'", r->name, r->target);
    sp.kind = kinds[k];
    sp.sparsity = r->sparsity;
    if (r->then_quantize[0]) sp.multiple = 32; /* whole blocks of the quantized formats */
    float **norms = NULL;
    int rc = 0;
    if (r->calibrated) {
        if (!(rc = need_calib(r, c, err))) rc = ob_struct_act_norms(m, pool, c->tokens, c->n_samples, c->seqlen, &norms, err);
        sp.act_norm = (const float *const *)norms;
    }
    ob_struct_report rep = {0};
    if (!rc) rc = ob_prune_structured(m, &sp, &rep, err);
    free(norms);
    if (!rc && rep.before.params > 0) info->sparsity = 1.0 - (double)rep.after.params / (double)rep.before.params;
    ob_struct_report_free(&rep);
    if (!rc && r->then_quantize[0]) rc = apply_rtn(m, r->then_quantize, 0, 0, pool, err);
    return rc;
}

int ob_recipe_apply(ob_model *m, const ob_recipe *r, ob_pool *pool, const ob_recipe_calib *calib,
                    ob_recipe_progress_fn progress, void *user, ob_recipe_info *info, ob_err *err) {
    ob_recipe_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    info->sparsity = NAN;
    info->bytes_before = ob_model_weight_bytes(m);
    const double t0 = ob_now();
    json_t *params = ob_recipe_params(r);
    if (!params) return ob_fail(err, OB_ENOMEM, "out of memory");
    const char *format = json_string_value(json_object_get(params, "format"));
    int rc = 0;
    switch (r->kind) {
    case OB_RECIPE_BASELINE: break;
    case OB_RECIPE_RTN: {
        /* f16 / bf16 mean the whole model in that precision */
        int whole = !strcmp(format, "f16") || !strcmp(format, "bf16");
        rc = apply_rtn(m, format, r->embeddings || whole, r->output || whole, pool, err);
        break;
    }
    case OB_RECIPE_DYNAMIC: rc = apply_rtn(m, "w8a8", 0, 0, pool, err); break;
    case OB_RECIPE_GPTQ:
    case OB_RECIPE_AWQ: rc = apply_calibrated(m, r, params, pool, calib, progress, user, err); break;
    case OB_RECIPE_PRUNE: rc = apply_prune(m, r, params, pool, calib, progress, user, info, err); break;
    case OB_RECIPE_STRUCTURED: rc = apply_structured(m, r, pool, calib, info, err); break;
    default: rc = ob_fail(err, OB_EINVAL, "recipe '%s': unknown kind", r->name); break;
    }
    json_decref(params);
    info->bytes_after = ob_model_weight_bytes(m);
    info->seconds = ob_now() - t0;
    return rc;
}

/* recipe.h - a compression recipe applied to a loaded model through the
 * library (no subprocess), its parameters as canonical JSON, the SHA-256
 * that names its cached result, and that cache.
 *
 * Kinds and what they call:
 *   baseline    nothing: the model as loaded
 *   rtn         ob_model_quantize into format (f16 and bf16: every tensor,
 *               so the cached model is the whole model in that precision)
 *   dynamic     ob_model_quantize into w8a8
 *   gptq, awq   ob_model_quantize_calibrated (calibration tokens needed)
 *   prune       ob_model_prune, then ob_model_sparsify (auto storage);
 *               then_quantize gptq4/gptq8 quantizes on the way
 *   structured  ob_prune_structured (activation norms from the calibration
 *               tokens when calibrated), then an RTN format if
 *               then_quantize names one
 *
 * The cache: OUTPUT/cache/<hash>/ holds the compressed model in optibench's
 * container (formats/hf_write.h), its tokenizer, and recipe.json - the
 * canonical JSON the hash was taken of.  The hash covers the model's
 * identity (absolute path, size and modification time), the recipe's
 * parameters (defaults filled in, so equal recipes hash equally whatever
 * the YAML spelled out), the calibration settings when the recipe is
 * calibrated, and OB_SWEEP_VERSION.  A folder is written under a temporary
 * name and renamed into place, so a cache entry is whole or absent. */
#ifndef OB_SWEEP_RECIPE_H
#define OB_SWEEP_RECIPE_H

#include <stdint.h>

#include <jansson.h>

#include "optibench.h"
#include "sweep/config.h"

/* Bumped when a compression method's results change, so old cache entries
 * are not reused. */
#define OB_SWEEP_VERSION "optibench-sweep/1"

/* A new JSON object of scalars: "kind" and the parameters that apply to
 * the recipe's kind, defaults filled in and names canonical ("q8_0",
 * "2:4").  The recipe's name is not part of it.  NULL when out of memory. */
json_t *ob_recipe_params(const ob_recipe *r);

/* 1 when applying r needs calibration tokens. */
int ob_recipe_calibrated(const ob_recipe *r);

/* The identity of the model file or folder at path: a new object
 * {"path": absolute path, "size": bytes, "mtime_ns": ...}; for a folder,
 * size and mtime_ns are the sum and the latest over its regular files. */
int ob_model_identity(const char *path, json_t **out, ob_err *err);

/* The lowercase hex SHA-256 (64 digits + NUL) of v dumped as canonical
 * JSON (sorted keys, compact, reals in their shortest exact form). */
int ob_json_sha256(const json_t *v, char hex[65], ob_err *err);

/* What names r's cached result: a new object {"version", "model" (a copy
 * of model_id), "recipe" (ob_recipe_params), "calibration" (a copy of
 * calib, only when r is calibrated; may be NULL otherwise)}. */
json_t *ob_recipe_key(const ob_recipe *r, const json_t *model_id, const json_t *calib);

/* Calibration tokens for ob_recipe_apply: [n_samples x seqlen] ids. */
typedef struct ob_recipe_calib {
    const int32_t *tokens;
    int n_samples, seqlen;
} ob_recipe_calib;

/* What applying did. */
typedef struct ob_recipe_info {
    int64_t bytes_before, bytes_after; /* ob_model_weight_bytes               */
    double sparsity;   /* pruned weights / weights of the pruned matrices, or
                          NAN when nothing was pruned                         */
    double seconds;
} ob_recipe_info;

/* Called after each transformer layer of the layer-by-layer methods. */
typedef void (*ob_recipe_progress_fn)(void *user, int layer, int n_layers, double elapsed);

/* Applies r to m in place.  calib may be NULL for recipes that are not
 * calibrated.  pool (may be NULL) runs the work.  On failure the model may
 * be partly changed: free it. */
int ob_recipe_apply(ob_model *m, const ob_recipe *r, ob_pool *pool, const ob_recipe_calib *calib,
                    ob_recipe_progress_fn progress, void *user, ob_recipe_info *info, ob_err *err);

/* The container dtype r's results are saved in: OB_DT_F16 / OB_DT_BF16
 * for those precisions, else OB_DT_F32. */
int ob_recipe_save_dtype(const ob_recipe *r);

/* Saves m (compressed by r), its tokenizer and key (as recipe.json) as
 * dir, through dir's temporary sibling renamed into place; an existing dir
 * is replaced. */
int ob_recipe_cache_save(const ob_model *m, const ob_recipe *r, const json_t *key, const char *dir, ob_err *err);

/* 1 when dir holds a whole cache entry whose recipe.json equals key. */
int ob_recipe_cache_valid(const char *dir, const json_t *key);

/* Removes the folder path and everything in it (missing: not an error). */
int ob_remove_tree(const char *path, ob_err *err);

#endif

/* hf_maps.h - reading the index maps of channel-pruned matrices from
 * optibench's container (hf_write.h: I32 "<base>.in_index" and
 * "<base>.out_index" beside "<base>.weight", config.json's
 * quantization_config "index_maps": true). */
#ifndef OB_FORMATS_HF_MAPS_H
#define OB_FORMATS_HF_MAPS_H
#include "formats/safetensors.h"
#include "model/model.h"

typedef const ob_tensor *(*ob_hf_find_fn)(void *user, const char *name);

/* The map "<weight_name without .weight><suffix>" of a matrix whose
 * logical width on that side is full: *keep receives a model-owned copy
 * and *n its length, or NULL and full when the file has no such tensor.
 * A map that is not I32 [n] with 1 <= n <= full, or holds an index
 * outside [0, full), a duplicate, or an index below the one before, is
 * OB_EFORMAT naming dir and the tensor. */
int ob_hf_index_map(ob_model *m, const char *dir, ob_hf_find_fn find, void *user, const char *weight_name,
                    const char *suffix, int64_t full, const int32_t **keep, int64_t *n, ob_err *err);

#endif

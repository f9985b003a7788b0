/* hf_gptq.h - reading GPTQ checkpoints (gptq_pack.h) from Hugging Face
 * directories into the runtime's group-wise int formats. */
#ifndef OB_FORMATS_HF_GPTQ_H
#define OB_FORMATS_HF_GPTQ_H

#include <jansson.h>

#include "formats/safetensors.h"
#include "model/model.h"

typedef struct ob_hf_gptq {
    int bits;        /* 0: the checkpoint is not GPTQ-quantized        */
    int group_size;  /* -1: one group per row                          */
    int v2;          /* checkpoint_format "gptq_v2"                    */
} ob_hf_gptq;

/* config.json's quantization_config: bits 2, 3, 4 or 8, group_size -1,
 * 32, 64 or 128, desc_act false (act-order checkpoints are refused),
 * checkpoint_format "gptq" or "gptq_v2".  No quantization_config:
 * g->bits = 0.  Any other quant_method is refused by name. */
int ob_hf_gptq_parse(json_t *cfg, const char *dir, ob_hf_gptq *g, ob_err *err);

/* The linear `base` (its ".qweight", ".qzeros", ".scales" and optional
 * ".g_idx" tensors, found with find) as a rows x cols model-owned matrix in
 * I4_G* (2-4 bits) or I8_G* (8 bits): the integers and zero points as
 * stored, the fp16 scales copied bit for bit. */
int ob_hf_gptq_matrix(ob_model *m, const char *dir, const ob_hf_gptq *g, const char *base,
                      const ob_tensor *(*find)(void *u, const char *name), void *u, int64_t rows, int64_t cols,
                      ob_matrix *w, ob_err *err);

#endif

/* mask_file.h - pruning masks on disk.
 *
 * A safetensors file with one U8 tensor per pruned weight, named as the
 * weight is in the model file ("model.layers.3.mlp.up_proj.weight"), shape
 * [rows, ceil(cols / 8)]: bit j % 8 (least significant first) of byte
 * j / 8 in row r is 1 when weight (r, j) is kept.  Metadata:
 * "optibench.mask" = "1", "bit_order" = "lsb_first", and per tensor
 * "sparsity.<name>" = the fraction removed, printed with %.6f. */
#ifndef OB_FORMATS_MASK_FILE_H
#define OB_FORMATS_MASK_FILE_H

#include <stdint.h>

#include "optibench.h"

typedef struct ob_mask_entry {
    const char *name;      /* Hugging Face tensor name */
    int64_t rows, cols;
    const uint8_t *keep;   /* [rows x cols] bytes, 1 = kept (borrowed) */
} ob_mask_entry;

int ob_mask_save(const char *path, const ob_mask_entry *e, int n, ob_err *err);

/* llama.cpp's "blk.L.NAME.weight" as the Hugging Face llama name, into buf. */
int ob_hf_llama_name(const char *gguf_name, char *buf, int size);

#endif

/* rope_order.c - moving Q/K rows between the two RoPE conventions.
 *
 * Meta's checkpoints (and so llama2.c files and GGUF, whose converter
 * permutes Hugging Face weights back) rotate interleaved pairs (2j, 2j+1)
 * of each head; Hugging Face rotates (j, j + hd/2).  Within each head of hd
 * rows, Meta row 2j is HF row j and Meta row 2j+1 is HF row hd/2 + j.  Rows
 * are moved whole, so this works for any format whose rows stand alone. */
#include <string.h>

#include "model/model.h"

void ob_rope_rows_meta_to_hf(void *dst, const void *src, int n_heads, int hd, size_t row_bytes) {
    for (int h = 0; h < n_heads; h++)
        for (int j = 0; j < hd / 2; j++)
            for (int i = 0; i < 2; i++)
                memcpy((char *)dst + ((size_t)h * hd + (size_t)i * (hd / 2) + j) * row_bytes,
                       (const char *)src + ((size_t)h * hd + 2 * (size_t)j + i) * row_bytes, row_bytes);
}

void ob_rope_rows_hf_to_meta(void *dst, const void *src, int n_heads, int hd, size_t row_bytes) {
    for (int h = 0; h < n_heads; h++)
        for (int j = 0; j < hd / 2; j++)
            for (int i = 0; i < 2; i++)
                memcpy((char *)dst + ((size_t)h * hd + 2 * (size_t)j + i) * row_bytes,
                       (const char *)src + ((size_t)h * hd + (size_t)i * (hd / 2) + j) * row_bytes, row_bytes);
}

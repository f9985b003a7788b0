/* gguf_export.h - saving a loaded model as a GGUF file llama.cpp can load. */
#ifndef OB_FORMATS_GGUF_EXPORT_H
#define OB_FORMATS_GGUF_EXPORT_H
#include <stdint.h>

#include "optibench.h"

/* `type` for ob_model_save_gguf: every matrix in the ggml type it already
 * has (F32, F16, BF16, Q8_0, Q4_0, Q4_1; other formats are refused). */
#define OB_GGUF_KEEP_TYPES UINT32_MAX

/* Writes path (via path.tmp) with general.* and llama.* metadata, the
 * tokenizer (tokenizer.ggml.*, when the model has a SentencePiece-style
 * one) and every matrix in ggml type `type` (OB_GGML_F32, F16, BF16, Q8_0,
 * Q4_0 or Q4_1, or OB_GGUF_KEEP_TYPES; norms stay F32), named and
 * RoPE-permuted as llama.cpp's converter does.  A matrix already in the
 * target type is copied byte for byte (rows permuted where RoPE needs
 * it); any other is dequantized row by row and quantized with the
 * format's round-to-nearest rule.  Llama family with uniform layers only. */
int ob_model_save_gguf(const ob_model *m, const char *path, uint32_t type, ob_err *err);

#endif

/* gguf_export.h - saving a loaded model as a GGUF file llama.cpp can load. */
#ifndef OB_FORMATS_GGUF_EXPORT_H
#define OB_FORMATS_GGUF_EXPORT_H
#include <stdint.h>

#include "optibench.h"

/* Writes path (via path.tmp) with general.* and llama.* metadata, the
 * tokenizer (tokenizer.ggml.*, when the model has a SentencePiece-style
 * one) and every matrix in ggml type `type` (OB_GGML_F32, OB_GGML_F16 or
 * OB_GGML_BF16; norms stay F32), named and RoPE-permuted as llama.cpp's
 * converter does.  Llama family with uniform layers only. */
int ob_model_save_gguf(const ob_model *m, const char *path, uint32_t type, ob_err *err);

#endif

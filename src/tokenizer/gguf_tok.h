/* gguf_tok.h - the tokenizer stored in a GGUF file's tokenizer.ggml.* keys,
 * read and written (gguf_tok.c). */
#ifndef OB_TOKENIZER_GGUF_TOK_H
#define OB_TOKENIZER_GGUF_TOK_H
#include "formats/gguf.h"
#include "optibench.h"

/* llama.cpp's token types (tokenizer.ggml.token_type, int32 per token). */
enum {
    OB_TOKTYPE_NORMAL = 1, OB_TOKTYPE_UNKNOWN = 2, OB_TOKTYPE_CONTROL = 3,
    OB_TOKTYPE_USER_DEFINED = 4, OB_TOKTYPE_UNUSED = 5, OB_TOKTYPE_BYTE = 6
};

/* Builds the tokenizer of g (tokenizer.ggml.model "llama": SentencePiece
 * BPE by scores with <0xNN> byte fallback; "gpt2": byte-level BPE by merge
 * rank with GPT-2's pre-tokenizer).  Errors name the file and the key. */
int ob_tokenizer_load_gguf(const ob_gguf *g, ob_tokenizer **out, ob_err *err);
/* Adds tok's tokenizer.ggml.* keys to w (SentencePiece-style tokenizers
 * only: model "llama", tokens in SentencePiece spelling, scores,
 * token_type, bos/eos/unknown ids, add_bos_token). */
int ob_tokenizer_save_gguf(const ob_tokenizer *tok, ob_gguf_writer *w, ob_err *err);

#endif

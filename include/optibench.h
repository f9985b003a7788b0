/*
 * optibench.h - the public API of liboptibench.
 *
 * optibench loads a Llama- or GPT-2-family language model, runs it on the CPU,
 * and (in later modules) compresses, evaluates and benchmarks it.  This header
 * is the documentation: every function states its shapes, dtypes and who owns
 * what.
 *
 * Conventions
 *  - Every function that can fail returns an int: 0 on success, a non-zero
 *    OB_E* code on failure.  It then fills the caller's ob_err with a one-line
 *    message that names the file (or object) and the problem.  Library code
 *    never prints and never exits; only the CLI does.
 *  - Objects are opaque handles created by *_new / *_load and released by the
 *    matching *_free, which accepts NULL.
 *  - Token ids are int32_t.  Logits are float32, row-major, one row of
 *    n_vocab floats per requested position.
 *  - Sizes and offsets are size_t / int64_t.
 */
#ifndef OPTIBENCH_H
#define OPTIBENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ errors */

enum {
    OB_OK = 0,
    OB_EIO = 1,       /* a file could not be opened, read, written or mapped  */
    OB_EFORMAT = 2,   /* a file is truncated, corrupt or not what it claims    */
    OB_EINVAL = 3,    /* a bad argument or an impossible combination           */
    OB_ENOMEM = 4,    /* an allocation failed                                  */
    OB_EUNSUP = 5,    /* a valid input this build does not support             */
    OB_ENET = 6,      /* a download failed                                     */
    OB_ERANGE = 7,    /* a value outside what the model accepts (e.g. context) */
};

/* A status message.  Functions write at most sizeof(msg)-1 bytes plus NUL.  */
typedef struct ob_err {
    int code;
    char msg[1024];
} ob_err;

/* Fills err (if not NULL) and returns code.  printf-style. */
int ob_fail(ob_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* -------------------------------------------------------------- threading */

/* A pool of worker threads, created once and passed down to every kernel.
 * n_threads counts the calling thread: a pool of 2 runs work on the caller
 * plus one worker.  n_threads <= 0 means one per online CPU. */
typedef struct ob_pool ob_pool;
int ob_pool_new(int n_threads, ob_pool **out, ob_err *err);
void ob_pool_free(ob_pool *pool);
int ob_pool_size(const ob_pool *pool);

/* Runs fn(ctx, i, n_tasks) for i in [0, n_tasks) across the pool and returns
 * when all have finished.  Tasks must not call ob_pool_run themselves. */
typedef void (*ob_task_fn)(void *ctx, int i, int n_tasks);
void ob_pool_run(ob_pool *pool, ob_task_fn fn, void *ctx, int n_tasks);

/* ----------------------------------------------------------- CPU features */

/* The SIMD level the kernels dispatch to.  Chosen once at run time from
 * cpuid; the environment variable OPTIBENCH_SIMD=scalar|avx2|avx512 can only
 * lower it (tests use this to compare every path with the scalar reference). */
typedef enum { OB_SIMD_SCALAR = 0, OB_SIMD_AVX2 = 1, OB_SIMD_AVX512 = 2 } ob_simd;
ob_simd ob_cpu_simd(void);        /* the level in force                        */
ob_simd ob_cpu_simd_max(void);    /* the best this CPU supports                */
int ob_cpu_has_vnni(void);        /* AVX-512 VNNI (vpdpbusd)                   */
int ob_cpu_has_vbmi2(void);       /* AVX-512 VBMI2 (vpexpandb / vpexpandw)     */
int ob_cpu_has_f16c(void);        /* F16C half-precision conversions           */
const char *ob_simd_name(ob_simd s);
/* Writes e.g. "AMD EPYC ... | avx2 fma f16c avx512f avx512bw avx512vnni". */
void ob_cpu_describe(char *buf, size_t size);

/* ------------------------------------------------------------------ time */

double ob_now(void); /* monotonic seconds */

/* -------------------------------------------------------------- tokenizer */

/* A tokenizer turns UTF-8 text into token ids and back.  Four kinds exist:
 *  - llama2.c's tokenizer.bin (SentencePiece-style BPE by merge scores, byte
 *    fallback; the older layout stores byte tokens as raw bytes);
 *  - Hugging Face tokenizer.json with model.type "BPE": either SentencePiece
 *    style (Llama-2: "▁" for spaces, <0xNN> byte fallback) or byte-level
 *    (GPT-2, Llama-3, Qwen2: regex pre-tokenization, bytes mapped to unicode);
 *  - GPT-2's original encoder.json + vocab.bpe pair;
 *  - BioGPT's vocab.json + merges.txt (Moses tokenization, then fastBPE
 *    with "</w>" word ends).
 * Added/special tokens (e.g. "<|endoftext|>", "<s>") are matched verbatim in
 * the input before BPE when parse_special is set. */
typedef struct ob_tokenizer ob_tokenizer;

/* path: tokenizer.bin.  n_vocab: from the model header. */
int ob_tokenizer_load_llama2c(const char *path, int n_vocab, ob_tokenizer **out, ob_err *err);
/* json_path: tokenizer.json; config_path: tokenizer_config.json or NULL
 * (used for bos/eos and add_bos_token when present). */
int ob_tokenizer_load_hf(const char *json_path, const char *config_path, ob_tokenizer **out,
                         ob_err *err);
/* GPT-2's encoder.json (token -> id) and vocab.bpe (merges, ranked). */
int ob_tokenizer_load_gpt2(const char *encoder_json, const char *vocab_bpe, ob_tokenizer **out,
                           ob_err *err);
/* BioGPT's vocab.json (token -> id) and merges.txt ("left right [count]"
 * per line, ranked): text is split by the Moses English tokenizer (XML
 * escaping, aggressive "@-@" hyphen splits), each word BPE'd fastBPE-style;
 * BOS is "</s>" as transformers' BioGptTokenizer prepends it, and decoding
 * runs the Moses detokenizer (special tokens decode to nothing). */
int ob_tokenizer_load_biogpt(const char *vocab_json, const char *merges_txt, ob_tokenizer **out,
                             ob_err *err);
void ob_tokenizer_free(ob_tokenizer *tok);

/* Encodes text[0..len) into ids[0..max_ids).  add_bos prepends the BOS id
 * (if the tokenizer has one).  *n_ids receives the count; if it exceeds
 * max_ids the call fails with OB_ERANGE and *n_ids holds the needed size. */
int ob_tokenize(const ob_tokenizer *tok, const char *text, size_t len, int add_bos,
                int parse_special, int32_t *ids, int max_ids, int *n_ids, ob_err *err);

/* Decodes one token to UTF-8 bytes as it should be printed after prev_id
 * (SentencePiece strips the leading space after BOS).  Returns the number of
 * bytes written (at most size, no NUL), or -1 for an invalid id.  Byte
 * tokens give their raw byte; a multi-byte character may span tokens. */
int ob_token_to_piece(const ob_tokenizer *tok, int32_t prev_id, int32_t id, char *buf, size_t size);
/* Decodes a whole sequence into buf (NUL-terminated, truncated to size-1).
 * Returns the full decoded length in bytes. */
size_t ob_detokenize(const ob_tokenizer *tok, const int32_t *ids, int n_ids, char *buf, size_t size);

/* Writes dir/tokenizer.json and dir/tokenizer_config.json describing tok in
 * Hugging Face's format, so that loading them gives the same encodings.  A
 * llama2.c tokenizer becomes a SentencePiece-style BPE with byte fallback
 * whose merges are ranked by the merged piece's score. */
int ob_tokenizer_save_hf(const ob_tokenizer *tok, const char *dir, ob_err *err);

int ob_tokenizer_n_vocab(const ob_tokenizer *tok);
int32_t ob_tokenizer_bos(const ob_tokenizer *tok); /* -1 if none */
int32_t ob_tokenizer_eos(const ob_tokenizer *tok); /* -1 if none */
/* Whether the model's tokenizer wants BOS prepended by default. */
int ob_tokenizer_add_bos_default(const ob_tokenizer *tok);
/* The vocabulary string of id (not decoded: "▁the", "Ġthe", "<0x0A>"). */
const char *ob_tokenizer_vocab_str(const ob_tokenizer *tok, int32_t id);

/* ------------------------------------------------------------------ model */

typedef enum { OB_ARCH_LLAMA = 0, OB_ARCH_GPT2 = 1, OB_ARCH_BIOGPT = 2 } ob_arch;
/* FFN activations: SwiGLU down(silu(gate x) * up x); GELU tanh approx; exact GELU */
enum { OB_ACT_SWIGLU = 0, OB_ACT_GELU_TANH = 1, OB_ACT_GELU = 2 };

/* The hyper-parameters of a loaded model.  Per-layer shapes (heads and FFN
 * width can differ after structured pruning) live in the layers; these are
 * the widest values and the defaults. */
typedef struct ob_config {
    ob_arch arch;
    int dim;          /* residual width                                      */
    int n_layers;
    int n_heads;      /* query heads (largest over layers)                   */
    int n_kv_heads;   /* key/value heads (GQA when < n_heads)                */
    int head_dim;     /* per-head width, usually dim / n_heads               */
    int ffn_dim;      /* FFN hidden width (largest over layers)              */
    int n_vocab;
    int max_seq;      /* context length the model was trained for            */
    float norm_eps;
    float rope_theta;
    /* Llama-3 rope_scaling ("rope_type": "llama3"); factor 0 = none */
    float rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_orig_max_pos;
    int tied_embeddings; /* lm_head shares the token embedding              */
    /* What differs between the families, so one forward pass serves all:
     *   llama : RMSNorm, RoPE, SwiGLU, no biases (qkv_bias for Qwen2)
     *   gpt2  : LayerNorm, learned positions, GELU(tanh), biases
     *   biogpt: as gpt2 but exact GELU, embeddings scaled by sqrt(dim),
     *           positions offset by 2, separate q/k/v projections */
    int layer_norm;      /* 1: LayerNorm with bias; 0: RMSNorm             */
    int act;             /* OB_ACT_*                                        */
    int learned_pos;     /* 1: position embedding table; 0: RoPE            */
    int pos_offset;      /* index of position 0 in that table               */
    float embed_scale;   /* token embeddings are multiplied by this         */
    int qkv_bias, out_bias, ffn_bias; /* which linears carry biases        */
    int sliding_window;  /* attend to at most this many positions; 0 = all  */
    int32_t bos_id, eos_id; /* from config/generation_config; -1 if unknown  */
    char name[128];      /* model name for reports                          */
} ob_config;

typedef struct ob_model ob_model;

typedef struct ob_load_params {
    int use_mmap;        /* map weights instead of reading them (default 1)  */
    const char *tokenizer_path; /* override the tokenizer file, or NULL      */
    int populate;        /* read the mapped weights in at load, on 2 MiB
                          * pages where the kernel allows (default 1; see
                          * ob_model_populate); 0 leaves them to be read on
                          * first use, for a caller that only describes   */
} ob_load_params;
ob_load_params ob_load_default_params(void);

/* Loads a model from path, which is one of:
 *  - a llama2.c checkpoint file (model.bin); its tokenizer is tokenizer.bin
 *    beside it unless params->tokenizer_path names another;
 *  - a Hugging Face directory (config.json, model.safetensors or
 *    model.safetensors.index.json with shards, tokenizer.json);
 *  - a GGUF file (name ending in .gguf, or the GGUF magic): llama
 *    architecture, F32/F16/BF16 tensors, tokenizer.ggml.* (see
 *    src/formats/gguf.h and docs/models.md).
 * The model owns its mappings and buffers; free with ob_model_free. */
int ob_model_load(const char *path, const ob_load_params *params, ob_model **out, ob_err *err);
void ob_model_free(ob_model *model);
const ob_config *ob_model_config(const ob_model *model);
/* The model's tokenizer (owned by the model), or NULL if none was found. */
const ob_tokenizer *ob_model_tokenizer(const ob_model *model);
int64_t ob_model_n_params(const ob_model *model);
/* Bytes of weight data the model holds (all tensors, in their formats).  */
int64_t ob_model_weight_bytes(const ob_model *model);
/* Reads every mapped weight file of the model in now, and gets them onto
 * 2 MiB pages where it can: a file whose pages the kernel cached in small
 * folios is dropped from the page cache and read again once (one read of
 * it from disk; ob_mapfile_populate in src/core/mapfile.h).  Decode reads
 * each weight once per token, and on 4 KiB pages that costs a TLB miss
 * every 4 KiB: 10-15% of the memory bandwidth on the 2-core EPYC this was
 * measured on.  ob_model_load calls it unless params->populate is 0.
 * Returns ob_model_huge_bytes. */
int64_t ob_model_populate(ob_model *model);
/* Bytes of the model's weight memory (file mappings and owned buffers)
 * that the kernel maps with 2 MiB pages, from /proc/self/smaps; 0 where
 * that file cannot be read. */
int64_t ob_model_huge_bytes(const ob_model *model);
/* Puts every linear weight whose format has an x16 layout (Q8_0, Q4_0,
 * Q4_1, MXFP4, NF4, NF4_DQ, group int4/int8: src/kernels/x16.h) into it,
 * when this CPU has the kernels that make it pay (AVX-512 VNNI); nothing
 * elsewhere.  Same bytes, in an order that lets one vpdpbusd serve 16
 * blocks.  For inference only: the writers refuse a packed model, so call
 * it after anything that saves.  Owned buffers are reordered in place;
 * weights that point into a file are copied into owned memory and their
 * mapped pages given back.  *n_packed (may be NULL) gets the number of
 * matrices packed.  Returns 0, or OB_ENOMEM (the model stays usable). */
int ob_model_pack_x16(ob_model *model, ob_pool *pool, int *n_packed, ob_err *err);
/* How many of the model's matrices are in the x16 layout. */
int ob_model_x16_matrices(const ob_model *model);
/* Bytes of weights read to produce one token's logits (decode). */
int64_t ob_model_bytes_per_token(const ob_model *model);
/* A short description ("llama dim=288 layers=6 heads=6/6 ffn=768 ..."). */
void ob_model_describe(const ob_model *model, char *buf, size_t size);

/* ------------------------------------------------------------ quantization */

/* Round-to-nearest quantization of a loaded model, in memory.
 *
 * Tensors are named as llama.cpp's GGUF files name them, without
 * ".weight": token_embd, output (lm_head), and blk.N.attn_q, blk.N.attn_k,
 * blk.N.attn_v, blk.N.attn_output, blk.N.ffn_gate, blk.N.ffn_up,
 * blk.N.ffn_down for layer N.  Formats are named as ob_format's names, case
 * ignored: f32 f16 bf16 q8_0 q4_0 q4_1 i4_g32 i4_g64 i4_g128 i4_row i8_g32
 * i8_g64 i8_g128 i8_row nf4 nf4_dq mxfp4 w8a8 (docs/quantization.md
 * describes each); "keep" in an override leaves a tensor as it is. */
typedef struct ob_quant_params {
    const char *format;    /* every linear layer's format (default "q8_0"; "keep":
                              only what the overrides name changes)         */
    int embeddings;        /* also convert token_embd (default 0: kept)     */
    int output;            /* also convert output, the lm_head (default 0)  */
    /* "PATTERN=FORMAT" entries: the first whose glob PATTERN (fnmatch)
     * matches a tensor's name decides its format, over the rules above,
     * e.g. "blk.*.ffn_down=q8_0", "output=q8_0", "blk.0.*=keep". */
    const char *const *overrides;
    int n_overrides;
} ob_quant_params;
ob_quant_params ob_quant_default_params(void);

/* What quantization did to one tensor. */
typedef struct ob_quant_tensor {
    char name[48];
    const char *format;     /* new format's name (a static string)          */
    int64_t rows, cols;
    double bits_per_weight; /* stored bytes * 8 / (rows * cols)             */
    double rmse;            /* sqrt(mean((w - deq(q(w)))^2))                 */
    double sqnr_db;         /* 10 log10(sum w^2 / sum (w - deq(q(w)))^2),
                               INFINITY when exact                          */
} ob_quant_tensor;

typedef struct ob_quant_report {
    int n_tensors;
    ob_quant_tensor *tensors;   /* [n_tensors], owned: ob_quant_report_free */
    int64_t bytes_before;       /* ob_model_weight_bytes before and after   */
    int64_t bytes_after;
} ob_quant_report;

/* Converts the model's matrices as params says (NULL: the defaults), each
 * row dequantized from its current format to float32 and quantized with
 * the new format's RTN rule.  The new weights live in buffers the model
 * owns (freed by ob_model_free); the original data stays mapped or
 * allocated until then.  Tensors already in their target format are left
 * alone.  A tied lm_head converted differently from token_embd is untied.
 * report (may be NULL) receives one entry per converted tensor.  pool (may
 * be NULL: one thread) splits each tensor's rows.  Fails (model unchanged)
 * on an unknown format or pattern, and (model partly converted: free it)
 * when a tensor's width is not a multiple of the format's block (32), or
 * out of memory.  No context may be running on the model meanwhile. */
int ob_model_quantize(ob_model *model, const ob_quant_params *params, ob_pool *pool,
                      ob_quant_report *report, ob_err *err);
void ob_quant_report_free(ob_quant_report *report);

/* --------------------------------------------------------------- inference */

/* A context holds the KV cache of n_seq independent sequences of up to
 * n_ctx tokens each, plus activation buffers for batches of up to
 * max_batch tokens, all allocated once here.  It borrows the model and the
 * pool, which must outlive it. */
typedef struct ob_ctx ob_ctx;
typedef struct ob_ctx_params {
    int n_ctx;      /* tokens per sequence; 0 = the model's max_seq          */
    int n_seq;      /* independent sequences (KV slots); default 1           */
    int max_batch;  /* tokens per ob_decode call; default 512                */
    int batch_invariant; /* 1: every matrix product runs one token at a time
                       (the decode kernels), so a token's results are bitwise
                       the same whatever else is in the batch; prefill then
                       reads the weights once per token.  Default 0: the
                       kernels pick their method by the number of tokens,
                       which changes results by float rounding only. */
} ob_ctx_params;
ob_ctx_params ob_ctx_default_params(void);
int ob_ctx_new(const ob_model *model, ob_pool *pool, const ob_ctx_params *params, ob_ctx **out,
               ob_err *err);
void ob_ctx_free(ob_ctx *ctx);
int ob_ctx_n_ctx(const ob_ctx *ctx);
/* Forgets sequence seq's cache from position p0 on (p0 = 0 clears it). */
void ob_ctx_seq_trim(ob_ctx *ctx, int seq, int p0);
/* Makes sequence dst hold the first n_pos cached positions of sequence src
 * (its own cache is replaced; n_pos <= what src holds).  Scoring several
 * continuations of one context decodes the context once and copies it. */
int ob_ctx_seq_copy(ob_ctx *ctx, int src, int dst, int n_pos, ob_err *err);

/* A batch of n tokens, possibly from several sequences, processed in one
 * pass (matrix-matrix products).  Token i sits at position pos[i] of
 * sequence seq[i] and attends to that sequence's cached positions
 * [0, pos[i]] (earlier tokens of the same batch included).  Positions of one
 * sequence within a batch must be increasing and contiguous with its cache.
 * If logits_mask is NULL only the last token's logits are returned;
 * otherwise logits are returned for each i with logits_mask[i] != 0, in
 * order, into logits[k * n_vocab]. */
typedef struct ob_batch {
    int n;
    const int32_t *tokens; /* [n] */
    const int32_t *pos;    /* [n] */
    const int32_t *seq;    /* [n] or NULL: all sequence 0 */
    const uint8_t *logits_mask; /* [n] or NULL */
} ob_batch;
int ob_decode(ob_ctx *ctx, const ob_batch *batch, float *logits, ob_err *err);

/* Convenience: feeds tokens[0..n) of one sequence starting at pos, in
 * chunks of max_batch.  all_logits != 0 writes n rows of logits, otherwise
 * one row for the last token. */
int ob_forward(ob_ctx *ctx, int seq, const int32_t *tokens, int n, int pos, int all_logits,
               float *logits, ob_err *err);

/* ---------------------------------------------------------------- sampling */

typedef struct ob_sampler_params {
    float temperature;      /* 0 = greedy                                   */
    int top_k;              /* 0 = off                                      */
    float top_p;            /* 1 = off                                      */
    float repeat_penalty;   /* 1 = off; divides positive, multiplies negative logits */
    int repeat_last_n;      /* how many previous tokens the penalty sees    */
    uint64_t seed;
} ob_sampler_params;
ob_sampler_params ob_sampler_default_params(void);
typedef struct ob_sampler ob_sampler;
int ob_sampler_new(const ob_sampler_params *params, int n_vocab, ob_sampler **out, ob_err *err);
void ob_sampler_free(ob_sampler *s);
/* Picks the next token from logits (modified in place by penalties).
 * history: the tokens so far (for the repetition penalty). */
int32_t ob_sample(ob_sampler *s, float *logits, const int32_t *history, int n_history);

#ifdef __cplusplus
}
#endif
#endif /* OPTIBENCH_H */

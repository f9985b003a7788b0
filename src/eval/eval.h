/* eval.h - perplexity and KL divergence over a text corpus.
 *
 * The corpus is read once (ob_eval_read_text), tokenized once
 * (ob_eval_tokenize) and cut into windows of n_ctx tokens; every window is
 * one independent sequence (its own KV slot, positions 0..n_ctx-1).  Several
 * windows go through each ob_decode call, so the model runs at prefill speed.
 *
 * Two windowing conventions are supported; both cut the token stream into
 * n_windows = n_tokens / n_ctx non-overlapping windows (the tail that does not
 * fill a window is dropped) with a stride of n_ctx:
 *
 *  - OB_PPL_GPTQ, as the GPTQ reference (IST-DASLab/gptq, llama.py
 *    llama_eval) and the AWQ papers evaluate: the documents are joined with
 *    "\n\n" and tokenized once (BOS only at the very start, when the model
 *    adds one).  Inside each window the logits at positions 0..n_ctx-2 are
 *    scored against the labels shifted by one (positions 1..n_ctx-1), so a
 *    window scores n_ctx-1 tokens; the first token of a window is context
 *    only.  GPTQ multiplies each window's mean loss by n_ctx and divides the
 *    sum by n_windows*n_ctx; since every window has the same n_ctx-1 scored
 *    tokens, that is exactly exp(mean NLL over all scored tokens).
 *  - OB_PPL_LLAMACPP, as llama.cpp's perplexity tool (tools/perplexity/
 *    perplexity.cpp, perplexity()): the whole text is tokenized once with
 *    BOS; window i is tokens[i*n_ctx, (i+1)*n_ctx) with its first token
 *    replaced by BOS when the model adds BOS; with first = n_ctx/2, the logits
 *    at positions first..n_ctx-2 are scored against the next token, so a
 *    window scores n_ctx-1-first tokens.  (llama.cpp refuses fewer than
 *    2*n_ctx tokens; here one window is enough.)
 *
 * Negative log-likelihoods are log-softmax values accumulated in float64.
 * Perplexity is exp(mean NLL); its standard error is the delta-method value
 * ppl * sd(NLL) / sqrt(N) with the sample standard deviation (the same number
 * llama.cpp prints as "+/-").
 *
 * The library never prints: progress is reported through a callback.
 */
#ifndef OB_EVAL_EVAL_H
#define OB_EVAL_EVAL_H
#include <stddef.h>
#include <stdint.h>

#include "optibench.h"

typedef enum { OB_PPL_GPTQ = 0, OB_PPL_LLAMACPP = 1 } ob_ppl_style;

/* "gptq" or "llamacpp". */
const char *ob_ppl_style_name(ob_ppl_style s);
/* Parses "gptq" / "llamacpp"; returns 0 and sets *out, or -1. */
int ob_ppl_style_parse(const char *s, ob_ppl_style *out);

/* Called after every group of windows: windows done of n_windows, tokens
 * scored so far, seconds since the run began. */
typedef void (*ob_eval_progress_fn)(void *user, int done, int n_windows, int64_t scored, double elapsed);

typedef struct ob_ppl_params {
    ob_ppl_style style;
    int n_ctx;       /* window length in tokens (>= 2, <= the model's max_seq) */
    int n_batch;     /* windows per ob_decode call (KV slots); default 8      */
    int max_tokens;  /* tokens per ob_decode call; a group of n_batch windows
                        is fed in position chunks of max_tokens / n_batch
                        when n_batch * n_ctx exceeds it; default 2048         */
    int limit;       /* use at most this many windows; 0 = all                */
    int add_bos;     /* llamacpp: replace each window's first token by BOS    */
    int32_t bos_id;  /* the BOS id used for that                              */
    ob_eval_progress_fn progress; /* or NULL                                  */
    void *progress_user;
} ob_ppl_params;

/* style gptq, n_batch 8, max_tokens 2048, everything else 0, bos_id -1. */
ob_ppl_params ob_ppl_default_params(void);

/* The windows a run would use: *n_windows (after limit) and *scored_per_window
 * (n_ctx-1 or n_ctx-1-n_ctx/2).  Fails with a message naming the problem when
 * n_ctx < 2 or the stream holds fewer than n_ctx tokens. */
int ob_ppl_windows(const ob_ppl_params *p, int64_t n_tokens, int *n_windows, int *scored_per_window,
                   ob_err *err);

typedef struct ob_ppl_result {
    ob_ppl_style style;
    int n_ctx, stride, n_windows, scored_per_window;
    int64_t n_tokens;   /* tokens in the stream                                */
    int64_t n_scored;   /* NLL terms: n_windows * scored_per_window            */
    double nll_mean;    /* mean NLL (nats)                                     */
    double nll_sd;      /* sample standard deviation of the per-token NLL      */
    double ppl, ppl_stderr;
    double seconds;     /* wall time of the model passes and scoring           */
    double tokens_per_s;        /* tokens fed to the model per second          */
    double scored_per_s;        /* NLL terms per second                        */
} ob_ppl_result;

/* Perplexity of model over tokens[0..n_tokens) (the stream as tokenized,
 * including the leading BOS if any).  pool runs the model and the scoring.
 * token_nll, when not NULL, receives n_windows * scored_per_window values
 * (window-major, in position order); size it with ob_ppl_windows.  All
 * buffers are allocated and freed inside the call. */
int ob_eval_ppl(const ob_model *model, ob_pool *pool, const int32_t *tokens, int64_t n_tokens,
                const ob_ppl_params *p, ob_ppl_result *res, double *token_nll, ob_err *err);

typedef struct ob_kld_result {
    ob_ppl_style style;
    int n_ctx, stride, n_windows, scored_per_window;
    int64_t n_tokens, n_scored;
    /* KL(P_base || P_model) per scored token, nats */
    double kld_mean, kld_stderr, kld_median, kld_p90, kld_p99, kld_max;
    double same_top;        /* fraction of tokens whose argmax agrees          */
    double same_top_stderr;
    double dp_rms;          /* RMS of p_model(correct) - p_base(correct)       */
    double dp_rms_stderr;
    double dp_mean;
    double ppl, ppl_stderr;           /* of the model on these tokens          */
    double ppl_base, ppl_base_stderr; /* of the base model                     */
    double seconds, tokens_per_s;     /* tokens fed per second (both models)   */
} ob_kld_result;

/* KL divergence of model from base on the same windows: both run side by
 * side, one group of windows at a time; nothing but per-token statistics is
 * kept.  The two must have the same vocabulary: the same n_vocab and, when
 * both have tokenizers, the same string for every id (else OB_EINVAL naming
 * the first difference).  Percentiles interpolate linearly between order
 * statistics as llama.cpp's kl_divergence does (median: mean of the middle
 * two).  token_kld, when not NULL, receives n_windows * scored_per_window
 * values like ob_eval_ppl's token_nll. */
int ob_eval_kld(const ob_model *model, const ob_model *base, ob_pool *pool, const int32_t *tokens,
                int64_t n_tokens, const ob_ppl_params *p, ob_kld_result *res, double *token_kld, ob_err *err);

/* Checks that two models share a vocabulary (see ob_eval_kld). */
int ob_eval_same_vocab(const ob_model *a, const ob_model *b, ob_err *err);

/* Reads a corpus: path is a text file (taken as one document) or a folder,
 * whose regular files ending in ".txt" are read in byte order of their names
 * and joined with "\n\n" (GPTQ's document separator).  *text is malloc'd,
 * NUL-terminated and owned by the caller; *n_docs counts the documents.
 * An empty corpus (no bytes, or only whitespace) is an error. */
int ob_eval_read_text(const char *path, char **text, size_t *len, int *n_docs, ob_err *err);

/* Tokenizes text once (add_bos: prepend BOS).  *ids is malloc'd, owned by the
 * caller; fails on an empty result. */
int ob_eval_tokenize(const ob_tokenizer *tok, const char *text, size_t len, int add_bos, int32_t **ids,
                     int64_t *n_ids, ob_err *err);

/* Reads raw little-endian int32 token ids from path (whole file).  *ids is
 * malloc'd, owned by the caller.  Fails when the size is not a multiple of
 * 4, the file is empty or an id lies outside [0, n_vocab). */
int ob_eval_read_tokens(const char *path, int n_vocab, int32_t **ids, int64_t *n_ids, ob_err *err);

/* ---------------------------------------------------- shared by ppl / kld */

/* -log softmax(x)[t] of one row of V logits, accumulated in float64 from
 * the row's maximum; *argmax (if not NULL) gets the first largest index.
 * t < 0 computes only the argmax and returns 0. */
double ob_eval_row_nll(const float *x, int V, int32_t t, int32_t *argmax);

/* The window runner behind ob_eval_ppl and ob_eval_kld.  It feeds the
 * windows through each of models[0..n_models) (same vocabulary, same
 * batches) and, after every ob_decode round, hands the scored rows to fn:
 * logits[m] holds n_rows rows of n_vocab floats from model m; row r predicts
 * target[r] and its result belongs at out_index[r] (window * spw + position
 * - first, so results land in window-major position order whatever the
 * batching).  fn may use the pool.  Progress is reported per group. */
typedef int (*ob_eval_rows_fn)(void *user, const float *const *logits, int n_rows, const int32_t *target,
                               const int64_t *out_index, ob_err *err);
int ob_eval_run_windows(const ob_model *const *models, int n_models, ob_pool *pool, const int32_t *tokens,
                        int64_t n_tokens, const ob_ppl_params *p, ob_eval_rows_fn fn, void *user,
                        double *seconds, ob_err *err);

#endif

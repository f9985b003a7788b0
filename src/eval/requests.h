/* requests.h - the two kinds of model requests every task is made of.
 *
 *  - Log-likelihood: log P(continuation | context) summed over the
 *    continuation's tokens, and whether greedy decoding would have produced
 *    the continuation (lm-eval's (loglikelihood, is_greedy) pair).
 *  - Greedy generation: the model's continuation of a prompt, stopped at
 *    EOS, at the first of a list of stop strings, or after max_gen tokens.
 *
 * Both follow lm-evaluation-harness's HFLM (lm_eval/models/huggingface.py
 * _loglikelihood_tokens and generate_until), so a score computed here can be
 * put next to lm-eval's:
 *
 *  - A request whose context and continuation do not fit in the window of
 *    max_len tokens is truncated from the left: the tokens fed are
 *    (context + continuation)[-(max_len + 1):][:-1].  The number of tokens
 *    dropped is returned with the result, never hidden.
 *  - A generation prompt is left-truncated to max_len - max_gen tokens.
 *  - A generation's text is the detokenized generated tokens (special
 *    tokens decode to nothing), cut at the first occurrence of any stop
 *    string (lm-eval's split on each `until` term).
 *
 * How the work is batched (none of it changes a result beyond float
 * rounding, see below):
 *
 *   Requests that follow one another with the same context tokens (the
 *   choices of one question) share it: the context minus its last token
 *   is decoded ONCE into a KV slot, copied into as many slots as there are
 *   choices (ob_ctx_seq_copy), and every choice's tail
 *       [last context token] + continuation[:-1]
 *   is decoded in its own slot, all tails of many questions in one
 *   ob_decode call.  Generation runs n_seq prompts side by side
 *   (continuous batching: a finished slot takes the next prompt, whose
 *   prefill shares ob_decode calls with the other slots' decode steps).
 *
 *   Batch invariance: each token's logits depend only on its own sequence
 *   (no padding, no attention across slots).  With the scalar kernels
 *   (OPTIBENCH_SIMD=scalar), or with batch_invariant set (every product
 *   one token at a time), results are bitwise the same for every n_seq;
 *   otherwise the SIMD matrix products pick a method by the number of
 *   tokens in a call, so results agree to float rounding (about 1e-6
 *   relative).  tests/test_eval_requests checks all three.
 *
 * The library never prints; progress goes through a callback.
 */
#ifndef OB_EVAL_REQUESTS_H
#define OB_EVAL_REQUESTS_H

#include <stdint.h>

#include "optibench.h"

/* done of total requests answered; tokens fed to the model so far. */
typedef void (*ob_req_progress_fn)(void *user, int done, int total, int64_t tokens, double elapsed);

typedef struct ob_req_params {
    int n_seq;      /* sequences decoded side by side (KV slots); default 8   */
    int max_tokens; /* tokens per ob_decode call; default 1024                */
    int max_len;    /* the window in tokens (lm-eval's max_length); 0 = the
                       model's context length                                */
    int batch_invariant; /* contexts with ob_ctx_params.batch_invariant:
                       results bitwise independent of n_seq and max_tokens
                       with any kernels, at decode speed                   */
    ob_req_progress_fn progress; /* or NULL                                  */
    void *progress_user;
} ob_req_params;

ob_req_params ob_req_default_params(void);

/* Speed figures of one call. */
typedef struct ob_req_stats {
    double seconds;      /* wall time, model passes and scoring              */
    int64_t tokens_fed;  /* tokens through the model (shared contexts once)  */
    int64_t tokens_scored; /* log-likelihood terms, or tokens generated      */
    int n_truncated;     /* requests that lost tokens on the left            */
} ob_req_stats;

/* ------------------------------------------------------- log-likelihood */

/* One request; the arrays are borrowed for the call.  n_ctx >= 1 (a task
 * with an empty context passes the prefix token, BOS or EOS, as lm-eval
 * does) and 1 <= n_cont <= max_len. */
typedef struct ob_ll_req {
    const int32_t *ctx;
    int n_ctx;
    const int32_t *cont;
    int n_cont;
} ob_ll_req;

typedef struct ob_ll_result {
    double loglik;   /* sum of log P(cont[i] | everything before it), nats  */
    int is_greedy;   /* every continuation token was the argmax             */
    int truncated;   /* tokens dropped from the left                        */
} ob_ll_result;

/* Answers reqs[0..n) into out[0..n).  Consecutive requests with equal
 * context tokens share the context's computation. */
int ob_eval_loglik(const ob_model *model, ob_pool *pool, const ob_ll_req *reqs, int n, const ob_req_params *p,
                   ob_ll_result *out, ob_req_stats *stats, ob_err *err);

/* ----------------------------------------------------------- generation */

typedef struct ob_gen_params {
    int max_gen;              /* tokens to generate at most (lm-eval's
                                 max_gen_toks, default 256); must be below
                                 max_len                                   */
    const char *const *stop;  /* stop strings (lm-eval's `until`), borrowed */
    int n_stop;
    int32_t eos_id;           /* generation stops here too; -1 = none       */
} ob_gen_params;

typedef enum {
    OB_STOP_EOS = 0,     /* the model produced eos_id                        */
    OB_STOP_STRING = 1,  /* a stop string appeared                           */
    OB_STOP_LENGTH = 2,  /* max_gen tokens, or the window was full           */
} ob_stop_reason;

typedef struct ob_gen_result {
    char *text;          /* malloc'd, NUL-terminated; the caller frees it    */
    int n_gen;           /* tokens generated (EOS not counted)               */
    int truncated;       /* prompt tokens dropped from the left              */
    ob_stop_reason stop;
} ob_gen_result;

/* Greedy continuations of prompts[i] (token arrays of n_prompt[i] >= 1
 * tokens, borrowed) into out[0..n).  tok decodes the text.  On failure
 * every out[i].text is freed and set to NULL. */
int ob_eval_generate(const ob_model *model, ob_pool *pool, const ob_tokenizer *tok,
                     const int32_t *const *prompts, const int *n_prompt, int n, const ob_req_params *p,
                     const ob_gen_params *g, ob_gen_result *out, ob_req_stats *stats, ob_err *err);

/* Frees out[i].text for i < n. */
void ob_gen_results_free(ob_gen_result *out, int n);

#endif

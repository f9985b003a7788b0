/* tasks.h - the evaluation tasks, end to end: prompts (datasets.h) turned
 * into requests (requests.h), answered by the model and scored (score.h).
 *
 * Encoding follows lm-evaluation-harness's HFLM:
 *  - A (context, continuation) pair is encoded as TemplateLM._encode_pair:
 *    trailing whitespace of the context (Python's str.rstrip) moves to the
 *    front of the continuation; whole = encode(context + continuation),
 *    ctx = encode(context), and the continuation's tokens are
 *    whole[len(ctx):].  An empty context is the single prefix token (BOS,
 *    or EOS when there is none) with the continuation encoded alone.
 *  - Every encoding gets BOS in front when add_bos is set (lm-eval's
 *    add_bos_token, false by default for the "hf" model).
 *  - Generation prompts are encoded the same way and left-truncated to the
 *    window minus max_gen tokens.
 *
 * Results are per item (for --log-samples) and aggregated with lm-eval's
 * mean and standard error.  Everything an out-struct points to is
 * malloc'd; release it with the matching *_free.
 */
#ifndef OB_EVAL_TASKS_H
#define OB_EVAL_TASKS_H

#include "eval/datasets.h"
#include "eval/requests.h"
#include "eval/score.h"

typedef struct ob_task_env {
    const ob_model *model;
    ob_pool *pool;
    const ob_tokenizer *tok;  /* the model's tokenizer                     */
    int add_bos;              /* BOS before every encoding                  */
    ob_req_params req;        /* batching, window, progress                 */
} ob_task_env;

/* _encode_pair as described above; *ctx and *cont are malloc'd. */
int ob_task_encode_pair(const ob_task_env *env, const char *context, const char *continuation, int32_t **ctx,
                        int *n_ctx, int32_t **cont, int *n_cont, ob_err *err);

/* Encodes text alone (add_bos as env says); *ids is malloc'd. */
int ob_task_encode(const ob_task_env *env, const char *text, int32_t **ids, int *n_ids, ob_err *err);

/* -------------------------------------------------------- multiple choice */

typedef struct ob_mc_out {
    int n_choices;
    double *loglik;      /* [n_choices] log P(" " + choice | context)       */
    int *is_greedy;      /* [n_choices]                                      */
    ob_mc_result r;      /* pred, pred_norm, acc, acc_norm, ...              */
    int truncated;       /* most tokens any choice lost on the left          */
} ob_mc_out;

typedef struct ob_mc_summary {
    int n;                       /* items scored                            */
    double acc, acc_stderr, acc_norm, acc_norm_stderr;
    int n_truncated;             /* items with a truncated request          */
    int n_requests;
    ob_req_stats stats;
} ob_mc_summary;

/* Scores set->items[0..n) (n <= set->n); out has n entries. */
int ob_task_mc(const ob_task_env *env, const ob_mc_set *set, int n, ob_mc_out *out, ob_mc_summary *sum,
               ob_err *err);
void ob_mc_out_free(ob_mc_out *out, int n);

/* ------------------------------------------------------------------ SQuAD */

typedef struct ob_squad_out {
    char *pred;             /* the generation, cut at "\n"                    */
    double ll_unanswerable; /* log P(" unanswerable" | prompt)                */
    double na_prob;         /* exp of that, lm-eval's no_answer_probability   */
    int exact;              /* against the golds, as the official script      */
    double f1;
    int truncated;          /* prompt tokens dropped from the left            */
} ob_squad_out;

typedef struct ob_squad_summary {
    ob_squad_result r;      /* the official script's dictionary               */
    int n_truncated;
    ob_req_stats gen_stats, ll_stats;
} ob_squad_summary;

/* lm-eval's squadv2: greedy generation until "\n" (max_gen tokens at
 * most), plus the likelihood of " unanswerable" as the no-answer
 * probability, aggregated by evaluate-v2.0.py with its default threshold
 * of 1.0. */
int ob_task_squad(const ob_task_env *env, const ob_squad_set *set, int n, int max_gen, ob_squad_out *out,
                  ob_squad_summary *sum, ob_err *err);
void ob_squad_out_free(ob_squad_out *out, int n);

/* ------------------------------------------------------------------ GSM8K */

typedef struct ob_gsm8k_out {
    char *prompt;          /* the k-shot prompt                              */
    char *generation;      /* cut at the stop strings                         */
    char *extracted[2];    /* by OB_GSM8K_STRICT and OB_GSM8K_FLEXIBLE        */
    int match[2];          /* exact_match for each filter                     */
    int truncated;
} ob_gsm8k_out;

typedef struct ob_gsm8k_summary {
    int n;
    double em[2], em_stderr[2]; /* strict-match, flexible-extract            */
    int n_truncated;
    ob_req_stats stats;
} ob_gsm8k_summary;

/* lm-eval's gsm8k: k exemplars from train (may be NULL when k == 0) drawn
 * with Python's random.Random(seed), "Question: ...\nAnswer:" prompts,
 * greedy generation until "Question:", "</s>" or "<|im_end|>" (and EOS),
 * both filters, exact match. */
int ob_task_gsm8k(const ob_task_env *env, const ob_gsm8k_set *test, const ob_gsm8k_set *train, int k,
                  uint64_t seed, int n, int max_gen, ob_gsm8k_out *out, ob_gsm8k_summary *sum, ob_err *err);
void ob_gsm8k_out_free(ob_gsm8k_out *out, int n);

#endif

/* score.h - the scorers of the evaluation tasks, as pure functions.
 *
 * Every scorer here reproduces a reference implementation rule for rule, so
 * that a number optibench reports can be put next to the reference's:
 *
 *  - SQuAD v2: the official evaluate-v2.0.py (normalize_answer,
 *    compute_exact, compute_f1, get_raw_scores, apply_no_ans_threshold,
 *    make_eval_dict, find_best_thresh), which is also what lm-evaluation-
 *    harness's squadv2 task calls through the `evaluate` library's
 *    "squad_v2" metric (lm_eval/tasks/squadv2/task.py).
 *  - GSM8K: lm-evaluation-harness's lm_eval/tasks/gsm8k/gsm8k.yaml (the
 *    "strict-match" and "flexible-extract" filters, lm_eval/filters/
 *    extraction.py RegexFilter) and the exact_match metric with its
 *    regexes_to_ignore and ignore_case (lm_eval/api/metrics.py
 *    exact_match_hf_evaluate).
 *  - Multiple choice: lm_eval/api/task.py process_results for
 *    output_type multiple_choice (acc, acc_norm, acc_bytes).
 *  - Means and standard errors: lm_eval/api/metrics.py mean, sample_stddev
 *    and mean_stderr.
 *
 * Text is UTF-8.  Where the reference works on Python str (code points),
 * these functions decode UTF-8 first; a byte that is not part of valid
 * UTF-8 is kept as it is and counts as one character that is neither a
 * letter, a digit, punctuation nor a space.  Returned strings are
 * allocated with malloc and owned by the caller (free()).
 */
#ifndef OB_EVAL_SCORE_H
#define OB_EVAL_SCORE_H

#include <stddef.h>

#include "optibench.h"

/* --------------------------------------------------------------- helpers */

/* The number of characters (Unicode code points) in s[0..len), as Python's
 * len() counts them on the decoded string; each invalid byte counts one. */
size_t ob_utf8_n_chars(const char *s, size_t len);

/* Lowercases s as Python's str.lower() does: the Unicode lowercase mapping
 * of every character (utf8proc), plus Python's two context rules: U+0130
 * (capital I with dot) becomes "i" + U+0307, and a capital sigma that ends
 * a word becomes final sigma U+03C2.  *out is NUL-terminated. */
int ob_py_lower(const char *s, size_t len, char **out, ob_err *err);

/* Mean and standard error of v[0..n), as lm-eval's mean and mean_stderr:
 * se = sample standard deviation (divisor n - 1) / sqrt(n).  With n == 1
 * the mean is v[0] and se is NaN (lm-eval reports "N/A"); n <= 0 or a NULL
 * v is OB_EINVAL. */
int ob_mean_stderr(const double *v, int n, double *mean, double *se, ob_err *err);

/* The index of the largest of v[0..n), the first one on ties, as numpy's
 * argmax: a NaN counts as larger than everything (the first NaN wins).
 * Returns -1 when n <= 0. */
int ob_argmax(const double *v, int n);

/* ------------------------------------------------------------------ SQuAD */

/* The official SQuAD normalize_answer: Python-lowercase the text, delete
 * every character of Python's string.punctuation (the 32 ASCII characters
 * !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~; other Unicode punctuation stays),
 * replace each whole word "a", "an" or "the" by a space (the regex
 * \b(a|an|the)\b, where a word is a run of Unicode letters, digits and
 * underscores, so "theory" and "thé" are kept), then split on Python
 * whitespace and join the pieces with single spaces. */
int ob_squad_normalize(const char *s, size_t len, char **out, ob_err *err);

/* compute_exact: 1 if gold and pred normalize to the same string, else 0. */
int ob_squad_compute_exact(const char *gold, const char *pred, int *exact, ob_err *err);

/* compute_f1: the token-overlap F1 of the normalized whitespace tokens.  The
 * overlap counts each token min(times in gold, times in pred) (Python's
 * Counter intersection).  If either side has no tokens, F1 is 1 when both
 * have none and 0 otherwise. */
int ob_squad_compute_f1(const char *gold, const char *pred, double *f1, ob_err *err);

/* The score of one question, as get_raw_scores: the gold answers that
 * normalize to an empty string are dropped; if none is left (an
 * unanswerable question, n_golds == 0) the only gold is ""; exact and f1
 * are the maxima over the golds. */
int ob_squad_score(const char *const *golds, int n_golds, const char *pred, int *exact,
                   double *f1, ob_err *err);

/* One scored question, the input of ob_squad_aggregate. */
typedef struct ob_squad_item {
    int has_ans;     /* the question's "answers" list is non-empty          */
    int pred_empty;  /* the raw prediction is "" (find_best_thresh's test)   */
    double exact;    /* from ob_squad_score                                  */
    double f1;       /* from ob_squad_score                                  */
    double na_prob;  /* the model's probability of no answer (lm-eval: exp of
                        the log-likelihood of " unanswerable"), 0 if unused  */
} ob_squad_item;

/* The official script's output dictionary.  exact, f1 and the best_* are
 * percentages (0..100).  The HasAns_* (NoAns_*) figures are only present in
 * the official output when HasAns_total (NoAns_total) > 0; here they are
 * then 0. */
typedef struct ob_squad_result {
    double exact, f1;
    int total;
    double HasAns_exact, HasAns_f1;
    int HasAns_total;
    double NoAns_exact, NoAns_f1;
    int NoAns_total;
    double best_exact, best_exact_thresh;
    double best_f1, best_f1_thresh;
} ob_squad_result;

/* Aggregates items[0..n) as evaluate-v2.0.py's main(): a question whose
 * na_prob > na_prob_thresh is scored as a predicted no-answer
 * (apply_no_ans_threshold: 1 if it has no answer, else 0) before the
 * averages; 1.0, the script's and lm-eval's default, disables that.  The
 * best_* fields follow find_best_thresh on the raw scores: questions are
 * sorted by na_prob (stable), starting from the score of answering nothing
 * (the number of NoAns questions), each adds its score (HasAns) or loses 1
 * if it is NoAns and its prediction is non-empty; the best running total
 * and the na_prob where it was reached are reported.  n <= 0 is OB_EINVAL. */
int ob_squad_aggregate(const ob_squad_item *items, int n, double na_prob_thresh,
                       ob_squad_result *out, ob_err *err);

/* ------------------------------------------------------------------ GSM8K */

/* lm-eval's two filters on a GSM8K generation. */
typedef enum {
    OB_GSM8K_STRICT = 0,   /* "strict-match": first match of
                              "#### (\-?[0-9\.\,]+)", its group            */
    OB_GSM8K_FLEXIBLE = 1, /* "flexible-extract": last match of
                              "(-?[$0-9.,]{2,})|(-?[0-9]+)", its first
                              non-empty group (group_select -1)            */
} ob_gsm8k_filter;

/* The compiled regular expressions (PCRE2) of the GSM8K scorer. */
typedef struct ob_gsm8k ob_gsm8k;
int ob_gsm8k_new(ob_gsm8k **out, ob_err *err);
void ob_gsm8k_free(ob_gsm8k *g);

/* Applies a filter to a generation: the extracted answer, stripped, or
 * "[invalid]" (RegexFilter's fallback) when the regex does not match. */
int ob_gsm8k_extract(const ob_gsm8k *g, ob_gsm8k_filter filter, const char *generation,
                     char **out, ob_err *err);

/* The exact_match metric's cleanup, applied to predictions and references
 * alike: delete every match of ",", then "\$", then "(?s).*#### ", then
 * "\.$" (regexes_to_ignore, in that order), then Python-lowercase
 * (ignore_case: true; ignore_punctuation is false).  On a reference answer
 * this leaves the text after its last "#### ". */
int ob_gsm8k_clean(const ob_gsm8k *g, const char *s, char **out, ob_err *err);

/* exact_match: 1 if clean(extracted) == clean(gold_answer), else 0.
 * gold_answer is the dataset's full "answer" field (the reference lm-eval
 * compares against is doc_to_target "{{answer}}"). */
int ob_gsm8k_exact_match(const ob_gsm8k *g, const char *extracted, const char *gold_answer,
                         int *match, ob_err *err);

/* -------------------------------------------------------- multiple choice */

/* The per-example metrics of a multiple-choice question. */
typedef struct ob_mc_result {
    int pred;        /* argmax of the summed log-likelihoods                 */
    int pred_norm;   /* argmax of loglik / length of the choice in characters */
    int pred_bytes;  /* argmax of loglik / length of the choice in UTF-8 bytes */
    int acc, acc_norm, acc_bytes; /* 1 if that prediction is gold            */
} ob_mc_result;

/* Scores one question as lm-eval's process_results for multiple_choice.
 * loglik[i] is log P(" " + choice_i | context) summed over its tokens;
 * n_chars[i] and n_bytes[i] are the lengths of choice_i as doc_to_choice
 * gives it, WITHOUT the target delimiter " " that is prepended for scoring
 * (lm-eval: completion_len = len(choice) over doc_to_choice(doc)).  The
 * divisions are in double and the argmax is numpy's (first on ties; a
 * zero length gives -inf, or NaN for a zero log-likelihood, as numpy).
 * gold must be in [0, n). */
int ob_mc_score(const double *loglik, const size_t *n_chars, const size_t *n_bytes, int n,
                int gold, ob_mc_result *out, ob_err *err);

/* The same, taking the choice strings and measuring them. */
int ob_mc_score_choices(const double *loglik, const char *const *choices, int n, int gold,
                        ob_mc_result *out, ob_err *err);

#endif

/* datasets.h - the evaluation data sets, read from their original files.
 *
 * Each loader reads one data set in the schema its authors released and
 * builds the prompts exactly as lm-evaluation-harness's task of the same
 * name does (the sources are cited at each loader).  Everything returned is
 * owned by the caller and released by the matching *_free, which accepts
 * NULL.  docs/eval-formats.md describes the files.
 *
 * Errors (OB_EIO for a file that cannot be read, OB_EFORMAT otherwise) name
 * the file and, for JSON Lines, the line: "FILE:LINE: ...".  A malformed
 * JSON file reports jansson's line and column ("FILE:LINE:COL: ..."); a
 * missing or mistyped field is named ("FILE:LINE: missing field 'answer'",
 * or with a JSON path such as "FILE: data[0].paragraphs[2].qas[1]: ..." in
 * a single-document file); a data set with no examples is an error, and so
 * is a gold answer that is not one of the choices.
 */
#ifndef OB_EVAL_DATASETS_H
#define OB_EVAL_DATASETS_H

#include <stdint.h>

#include "optibench.h"

/* -------------------------------------------------------- multiple choice */

/* One multiple-choice question.  Each choice is scored as the continuation
 * " " + choices[i] after context (lm-eval's target_delimiter " "); the
 * choices are stored without that space, as lm-eval's doc_to_choice gives
 * them, which is also what acc_norm measures. */
typedef struct ob_mc_item {
    char *id;         /* where it came from: file name, PubMed id, "FILE:LINE" */
    char *context;    /* the prompt                                           */
    char **choices;   /* [n_choices]                                          */
    int n_choices;
    int gold;         /* index of the right choice                            */
} ob_mc_item;

typedef struct ob_mc_set {
    ob_mc_item *items;
    int n;
} ob_mc_set;

void ob_mc_set_free(ob_mc_set *set);

/* RACE, the original release: dir holds one JSON document per article (in
 * the release, test/high/NNNN.txt), each with "article" (string),
 * "questions" [string], "options" [[4 strings]], "answers" ["A".."D"] and
 * "id".  Every regular file in dir not starting with "." is read, in
 * natural name order (1.txt, 2.txt, 10.txt).  As lm-eval's `race` task
 * (lm_eval/tasks/race/preprocess_race.py, race.yaml), an article gives ONE
 * item, its last question:
 *   context = "Article: " + article + "\n\n"
 *             + for each earlier question q with answer text a:
 *                 if q ends with "  _  ." (a fill-in-the-blank):
 *                     q without its last 5 characters + a + "\n"
 *                 else "Question: " + q + "\n" + "Answer: " + a + "\n"
 *             + the last question, as it is (no prefix, no "Answer:");
 *   choices = the last question's four options; gold = its answer letter. */
int ob_race_load(const char *dir, ob_mc_set **out, ob_err *err);

/* PubMedQA, the original ori_pqal.json: an object of PubMed id -> {
 * "QUESTION": string, "CONTEXTS": [string], "final_decision": "yes" | "no"
 * | "maybe", ... }, one item per id in file order.  As lm-eval's
 * `pubmedqa` (lm_eval/tasks/pubmedqa/preprocess_pubmedqa.py, pubmedqa.yaml):
 *   context = "Abstract: " + CONTEXTS joined with "\n" + "\nQuestion: "
 *             + QUESTION + "\nAnswer:";
 *   choices = "yes", "no", "maybe"; gold = final_decision's index. */
int ob_pubmedqa_load(const char *path, ob_mc_set **out, ob_err *err);

/* The generic multiple-choice JSON Lines format (docs/eval-formats.md):
 * one object per line, {"context": string, "choices": [string, at least
 * 2], "gold": integer index into choices}, optionally "id": string.  The
 * context is used as it is; blank lines are skipped. */
int ob_mc_jsonl_load(const char *path, ob_mc_set **out, ob_err *err);

/* ------------------------------------------------------------------ SQuAD */

typedef struct ob_squad_q {
    char *id, *title, *context, *question;
    char **answers;   /* the gold answer texts, [n_answers]; none when the
                         question is unanswerable                        */
    int n_answers;
    int is_impossible; /* the file's flag (0 if absent); scoring uses
                          n_answers > 0 as the official script does       */
    char *prompt;     /* "Title: " + title + "\n\nBackground: " + context
                         + "\n\nQuestion: " + question + "\n\nAnswer:"    */
} ob_squad_q;

typedef struct ob_squad_set {
    ob_squad_q *items;
    int n;
} ob_squad_set;

void ob_squad_set_free(ob_squad_set *set);

/* SQuAD v2, the original dev-v2.0.json: {"data": [{"title", "paragraphs":
 * [{"context", "qas": [{"id", "question", "answers": [{"text", ...}],
 * "is_impossible"}]}]}]}, one item per question in file order.  "title"
 * may be missing ("" then, as Hugging Face's squad_v2 loader); the prompt
 * is lm-eval's squadv2 doc_to_text (lm_eval/tasks/squadv2/task.py). */
int ob_squad_load(const char *path, ob_squad_set **out, ob_err *err);

/* ------------------------------------------------------------------ GSM8K */

typedef struct ob_gsm8k_item {
    char *question;
    char *answer;     /* the full solution, ending in "#### N"              */
} ob_gsm8k_item;

typedef struct ob_gsm8k_set {
    ob_gsm8k_item *items;
    int n;
} ob_gsm8k_set;

void ob_gsm8k_set_free(ob_gsm8k_set *set);

/* GSM8K, the original test.jsonl / train.jsonl: one {"question": string,
 * "answer": string} per line; blank lines are skipped. */
int ob_gsm8k_load(const char *path, ob_gsm8k_set **out, ob_err *err);

/* Python's random.Random (MT19937), enough of it to draw the same few-shot
 * exemplars as lm-eval: seeded from an integer as random.seed(int) does
 * (init_by_array over the 32-bit words of |seed|). */
typedef struct ob_pyrandom {
    uint32_t mt[624];
    int mti;
} ob_pyrandom;

void ob_pyrandom_seed(ob_pyrandom *r, uint64_t seed);
uint32_t ob_pyrandom_u32(ob_pyrandom *r);
/* random._randbelow(n) for 1 <= n < 2^32 (randint(a, b) = a + below(b - a + 1)). */
uint32_t ob_pyrandom_below(ob_pyrandom *r, uint32_t n);
/* random.Random.sample(range(n), k): writes k distinct indices < n into
 * out in selection order.  Needs 0 <= k <= n < 2^31. */
int ob_pyrandom_sample(ob_pyrandom *r, int n, int k, int *out, ob_err *err);

/* The few-shot prompt builder of lm-eval's `gsm8k` task (gsm8k.yaml:
 * doc_to_text "Question: {{question}}\nAnswer:", doc_to_target
 * "{{answer}}", the default target_delimiter " " and fewshot_delimiter
 * "\n\n", fewshot_split train).  For each evaluated question, in order,
 * k exemplars are drawn as lm-eval's default ContextSampler does,
 * random.Random(seed).sample(train, k) with one generator kept across the
 * questions (lm-eval's default seed is 1234), and the prompt is
 *   for each exemplar: "Question: " + q + "\nAnswer: " + full answer + "\n\n"
 *   then "Question: " + question + "\nAnswer:".
 * The builder borrows train, which must outlive it. */
typedef struct ob_gsm8k_fewshot ob_gsm8k_fewshot;
int ob_gsm8k_fewshot_new(const ob_gsm8k_set *train, int k, uint64_t seed,
                         ob_gsm8k_fewshot **out, ob_err *err);
void ob_gsm8k_fewshot_free(ob_gsm8k_fewshot *fs);
/* Builds the next prompt (fs may be NULL or have k = 0: zero-shot).
 * Call once per evaluated question, in order; *out is malloc'ed. */
int ob_gsm8k_prompt(ob_gsm8k_fewshot *fs, const char *question, char **out, ob_err *err);

#endif

/* fuzz_datasets - the evaluation data set loaders (src/eval/datasets.h).
 * The first byte of the input picks the loader, the rest is the file:
 *   0 generic multiple-choice JSONL   1 PubMedQA ori_pqal.json
 *   2 SQuAD v2 dev-v2.0.json          3 GSM8K test.jsonl
 *   4 RACE, one article file in a folder
 * A set that loads is walked: GSM8K builds 2-shot prompts from itself,
 * SQuAD answers are normalized and scored against each other. */
#include "eval/datasets.h"
#include "eval/score.h"
#include "fuzz_common.h"

static const char *const seeds[][2] = {
    {"mc", "\x00{\"context\": \"It was\", \"choices\": [\"raining\", \"sunny\"], \"gold\": 0, \"id\": \"a\"}\n\n"
           "{\"context\": \"\", \"choices\": [\"x\", \"y\", \"z\"], \"gold\": 2}\n"},
    {"pubmedqa", "\x01{\"1\": {\"QUESTION\": \"Is it?\", \"CONTEXTS\": [\"A.\", \"B.\"], \"final_decision\": \"maybe\"}}"},
    {"squad", "\x02{\"data\": [{\"title\": \"T\", \"paragraphs\": [{\"context\": \"The cat sat.\", \"qas\": ["
              "{\"id\": \"q1\", \"question\": \"Who sat?\", \"answers\": [{\"text\": \"The cat\", \"answer_start\": 0}],"
              " \"is_impossible\": false}, {\"id\": \"q2\", \"question\": \"Why?\", \"answers\": [],"
              " \"is_impossible\": true}]}]}]}"},
    {"gsm8k", "\x03{\"question\": \"1+1?\", \"answer\": \"It is 2.\\n#### 2\"}\n"
              "{\"question\": \"2+3?\", \"answer\": \"#### 5\"}\n{\"question\": \"q\", \"answer\": \"#### -1,000\"}\n"},
    {"race", "\x04{\"id\": \"high1.txt\", \"article\": \"Tom ran.\", \"questions\": [\"Who ran?\", \"Tom  _  .\"],"
             " \"options\": [[\"Tom\", \"Sue\", \"Ben\", \"Max\"], [\"ran\", \"sat\", \"ate\", \"hid\"]],"
             " \"answers\": [\"A\", \"A\"]}"},
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *dir = fz_seeds_dir();
    if (dir) {
        for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
            fz_put_seed(dir, seeds[i][0], seeds[i][1], 1 + strlen(seeds[i][1] + 1));
        exit(0);
    }
    return 0;
}

static void walk_gsm8k(const ob_gsm8k_set *s) {
    ob_err err = {0};
    ob_gsm8k_fewshot *fs = NULL;
    if (ob_gsm8k_fewshot_new(s, s->n < 2 ? s->n : 2, 1234, &fs, &err)) return;
    for (int i = 0; i < s->n && i < 8; i++) {
        char *p = NULL;
        if (!ob_gsm8k_prompt(fs, s->items[i].question, &p, &err)) free(p);
    }
    ob_gsm8k_fewshot_free(fs);
}

static void walk_squad(const ob_squad_set *s) {
    ob_err err = {0};
    for (int i = 0; i < s->n && i < 8; i++) {
        const ob_squad_q *q = &s->items[i];
        int ex;
        double f1;
        const char *pred = q->n_answers ? q->answers[q->n_answers - 1] : "";
        ob_squad_score((const char *const *)q->answers, q->n_answers, pred, &ex, &f1, &err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    ob_err err = {0};
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: {
        ob_mc_set *s = NULL;
        ob_mc_jsonl_load(fz_tmpfile("mc.jsonl", body, n), &s, &err);
        ob_mc_set_free(s);
        break;
    }
    case 1: {
        ob_mc_set *s = NULL;
        ob_pubmedqa_load(fz_tmpfile("ori_pqal.json", body, n), &s, &err);
        ob_mc_set_free(s);
        break;
    }
    case 2: {
        ob_squad_set *s = NULL;
        if (!ob_squad_load(fz_tmpfile("dev-v2.0.json", body, n), &s, &err)) walk_squad(s);
        ob_squad_set_free(s);
        break;
    }
    case 3: {
        ob_gsm8k_set *s = NULL;
        if (!ob_gsm8k_load(fz_tmpfile("test.jsonl", body, n), &s, &err)) walk_gsm8k(s);
        ob_gsm8k_set_free(s);
        break;
    }
    default: {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/race", fz_tmpdir());
        mkdir(dir, 0700);
        char p[700];
        snprintf(p, sizeof p, "%s/1.txt", dir);
        fz_write(p, body, n);
        ob_mc_set *s = NULL;
        ob_race_load(dir, &s, &err);
        ob_mc_set_free(s);
        unlink(p);
        rmdir(dir);
        break;
    }
    }
    fz_note("datasets", &err);
    return 0;
}

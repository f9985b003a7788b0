/* test_eval_datasets.c - the dataset loaders on small files in the exact
 * original schemas (tests/data/eval/), compared with the prompts
 * lm-evaluation-harness builds for them, and the bad-input errors.
 *
 * The expected prompts were worked out from lm-eval's task code:
 * race/preprocess_race.py, pubmedqa/preprocess_pubmedqa.py,
 * squadv2/task.py and gsm8k.yaml with the default delimiters; the few-shot
 * draws from CPython's random.Random(1234).sample. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "eval/datasets.h"

static char *join(char *buf, size_t size, const char *root, const char *rel) {
    snprintf(buf, size, "%s/%s", root, rel);
    return buf;
}

static int str_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* ------------------------------------------------------------------- RACE */

static void test_race(const char *root) {
    ob_err err = {0};
    char p[2048];
    ob_mc_set *s = NULL;
    CHECK_OK(ob_race_load(join(p, sizeof p, root, "tests/data/eval/race/test/high"), &s, &err),
             &err);
    if (!s) return;
    CHECK(s->n == 3, "RACE: one item per article, got %d", s->n);
    if (s->n != 3) goto done;
    /* natural order: 1.txt, 2.txt, 10.txt */
    CHECK(str_eq(s->items[0].id, "1.txt") && str_eq(s->items[1].id, "2.txt") &&
              str_eq(s->items[2].id, "10.txt"),
          "RACE order %s %s %s", s->items[0].id, s->items[1].id, s->items[2].id);
    /* earlier questions answered; the blank one filled in (question[:-5] +
     * answer); the last question as it is */
    CHECK(str_eq(s->items[0].context,
                 "Article: Tom found a small dog in the park.\nHe took it home and gave it some "
                 "milk. He was very happy.\n\n"
                 "Question: What did Tom find in the park?\nAnswer: a dog\n"
                 "When Tom took it home, he felt happy\n"
                 "What is the purpose of the passage?"),
          "RACE prompt 1:\n%s", s->items[0].context);
    CHECK(s->items[0].n_choices == 4 && str_eq(s->items[0].choices[0], "To tell a story about a pet.") &&
              str_eq(s->items[0].choices[3], "To describe a city."),
          "RACE choices are the last question's options");
    CHECK(s->items[0].gold == 0, "RACE gold 1 = %d", s->items[0].gold);
    /* a single fill-in-the-blank question is asked as it is */
    CHECK(str_eq(s->items[1].context,
                 "Article: Our school was built in 2010. It has a big library.\n\n"
                 "The school was built  _  ."),
          "RACE prompt 2:\n%s", s->items[1].context);
    CHECK(s->items[1].gold == 2 && str_eq(s->items[1].choices[2], "in 2010"), "RACE gold 2");
    CHECK(str_eq(s->items[2].context,
                 "Article: Café Bleu and Café Rouge open at 8 a.m. on weekdays.\n\n"
                 "Question: Who would read this?\nAnswer: Café owners\n"
                 "How many cafés are named?"),
          "RACE prompt 3:\n%s", s->items[2].context);
    CHECK(s->items[2].gold == 3 && str_eq(s->items[2].choices[3], "4"), "RACE gold 3");
done:
    ob_mc_set_free(s);
}

/* --------------------------------------------------------------- PubMedQA */

static void test_pubmedqa(const char *root) {
    ob_err err = {0};
    char p[2048];
    ob_mc_set *s = NULL;
    CHECK_OK(ob_pubmedqa_load(join(p, sizeof p, root, "tests/data/eval/pubmedqa/ori_pqal.json"),
                              &s, &err),
             &err);
    if (!s) return;
    CHECK(s->n == 3, "PubMedQA items %d", s->n);
    if (s->n != 3) goto done;
    CHECK(str_eq(s->items[0].id, "21645374") && str_eq(s->items[2].id, "9488747"),
          "PubMedQA file order");
    CHECK(str_eq(s->items[0].context,
                 "Abstract: Programmed cell death (PCD) is the regulated death of cells within an "
                 "organism.\nThe following organelle dynamics were examined.\n"
                 "Question: Do mitochondria play a role in remodelling lace plant leaves during "
                 "programmed cell death?\nAnswer:"),
          "PubMedQA prompt 1:\n%s", s->items[0].context);
    CHECK(str_eq(s->items[1].context,
                 "Abstract: Assessment of visual acuity depends on the optotypes used for "
                 "measurement.\nQuestion: Landolt C and snellen e acuity: differences in "
                 "strabismus amblyopia?\nAnswer:"),
          "PubMedQA prompt 2:\n%s", s->items[1].context);
    CHECK(str_eq(s->items[2].context,
                 "Abstract: Apparent life-threatening events in infants are a difficult "
                 "problem.\nThree infants presented with syncope.\nAll were évalués.\n"
                 "Question: Syncope during bathing in infants, a pediatric form of water-induced "
                 "urticaria?\nAnswer:"),
          "PubMedQA prompt 3:\n%s", s->items[2].context);
    CHECK(s->items[0].gold == 0 && s->items[1].gold == 1 && s->items[2].gold == 2,
          "PubMedQA golds yes/no/maybe");
    CHECK(s->items[1].n_choices == 3 && str_eq(s->items[1].choices[0], "yes") &&
              str_eq(s->items[1].choices[1], "no") && str_eq(s->items[1].choices[2], "maybe"),
          "PubMedQA choices");
done:
    ob_mc_set_free(s);
}

/* ------------------------------------------------------------------ SQuAD */

static void test_squad(const char *root) {
    ob_err err = {0};
    char p[2048];
    ob_squad_set *s = NULL;
    CHECK_OK(ob_squad_load(join(p, sizeof p, root, "tests/data/eval/squad/dev-v2.0.json"), &s,
                           &err),
             &err);
    if (!s) return;
    CHECK(s->n == 3, "SQuAD questions %d", s->n);
    if (s->n != 3) goto done;
    const ob_squad_q *q = &s->items[0];
    CHECK(str_eq(q->id, "56ddde6b9a695914005b9628") && q->n_answers == 3 && !q->is_impossible &&
              str_eq(q->answers[2], "a region in France"),
          "SQuAD answerable question");
    CHECK(str_eq(q->prompt,
                 "Title: Normans\n\nBackground: The Normans were the people who in the 10th and "
                 "11th centuries gave their name to Normandy, a region in France.\n\n"
                 "Question: In what country is Normandy located?\n\nAnswer:"),
          "SQuAD prompt 1:\n%s", q->prompt);
    q = &s->items[1];
    CHECK(str_eq(q->id, "5ad39d53604f3c001a3fe8d1") && q->n_answers == 0 && q->is_impossible,
          "SQuAD impossible question: %d answers", q->n_answers);
    q = &s->items[2];
    CHECK(str_eq(q->prompt, "Title: Café\n\nBackground: A café serves coffee.\nIt often serves "
                            "tea too.\n\nQuestion: What does a café serve?\n\nAnswer:"),
          "SQuAD prompt 3:\n%s", q->prompt);
done:
    ob_squad_set_free(s);
}

/* ------------------------------------------------------------------ GSM8K */

static void test_pyrandom(void) {
    ob_err err = {0};
    ob_pyrandom r;
    /* CPython: random.Random(1234).getrandbits(32) == 4150886329 */
    ob_pyrandom_seed(&r, 1234);
    CHECK(ob_pyrandom_u32(&r) == 4150886329u, "MT19937 seeded as Python");
    /* Random(1234).sample(range(7473), 5), twice (the set method) */
    int got[10];
    ob_pyrandom_seed(&r, 1234);
    CHECK_OK(ob_pyrandom_sample(&r, 7473, 5, got, &err), &err);
    CHECK_OK(ob_pyrandom_sample(&r, 7473, 5, got + 5, &err), &err);
    int want[10] = {6374, 3610, 957, 61, 742, 7462, 6610, 4769, 286, 5501};
    CHECK(memcmp(got, want, sizeof want) == 0, "sample(7473, 5) = %d %d %d %d %d", got[0],
          got[1], got[2], got[3], got[4]);
    /* Random(7).sample(range(10), 10) (the pool method), then
     * sample(range(100), 8) (k > 5 enlarges setsize to 21 + 64 = 85) */
    int p10[10], p8[8];
    ob_pyrandom_seed(&r, 7);
    CHECK_OK(ob_pyrandom_sample(&r, 10, 10, p10, &err), &err);
    CHECK_OK(ob_pyrandom_sample(&r, 100, 8, p8, &err), &err);
    int w10[10] = {5, 2, 6, 9, 0, 7, 4, 1, 3, 8}, w8[8] = {4, 11, 55, 53, 8, 30, 70, 54};
    CHECK(memcmp(p10, w10, sizeof w10) == 0 && memcmp(p8, w8, sizeof w8) == 0,
          "pool and set sampling");
    /* a seed wider than 32 bits uses two key words: Random(2**40 + 5) */
    ob_pyrandom_seed(&r, (1ull << 40) + 5);
    int p3[3];
    CHECK(ob_pyrandom_u32(&r) == 2166296868u, "64-bit seed");
    CHECK_OK(ob_pyrandom_sample(&r, 1000, 3, p3, &err), &err);
    CHECK(p3[0] == 529 && p3[1] == 275 && p3[2] == 679, "64-bit seed sample");
    CHECK(ob_pyrandom_sample(&r, 3, 4, p3, &err) == OB_EINVAL, "k > n");
}

static void test_gsm8k(const char *root) {
    ob_err err = {0};
    char p[2048];
    ob_gsm8k_set *test = NULL, *train = NULL;
    CHECK_OK(ob_gsm8k_load(join(p, sizeof p, root, "tests/data/eval/gsm8k/test.jsonl"), &test,
                           &err),
             &err);
    CHECK_OK(ob_gsm8k_load(join(p, sizeof p, root, "tests/data/eval/gsm8k/train.jsonl"), &train,
                           &err),
             &err);
    if (!test || !train) goto done;
    CHECK(test->n == 2 && train->n == 5, "GSM8K sizes %d %d", test->n, train->n);
    CHECK(str_eq(test->items[1].question, "A robe takes 2 bolts of blue fiber and half that much "
                                          "white fiber. How many bolts in total does it take?"),
          "GSM8K question");
    CHECK(str_eq(test->items[1].answer,
                 "It takes 2/2=<<2/2=1>>1 bolt of white fiber\nSo the total amount of fabric is "
                 "2+1=<<2+1=3>>3 bolts of fabric\n#### 3"),
          "GSM8K answer");
    /* zero-shot */
    char *pr = NULL;
    CHECK_OK(ob_gsm8k_prompt(NULL, test->items[1].question, &pr, &err), &err);
    CHECK(str_eq(pr, "Question: A robe takes 2 bolts of blue fiber and half that much white "
                     "fiber. How many bolts in total does it take?\nAnswer:"),
          "GSM8K 0-shot:\n%s", pr);
    free(pr);
    /* 2-shot, seed 1234: Random(1234).sample(train, 2) gives 3, 0 for the
     * first question (the first two of sample(range(5), 3) = 3, 0, 4 draw
     * the same way: the pool method for n = 5) */
    ob_gsm8k_fewshot *fs = NULL;
    CHECK_OK(ob_gsm8k_fewshot_new(train, 2, 1234, &fs, &err), &err);
    if (fs) {
        CHECK_OK(ob_gsm8k_prompt(fs, test->items[0].question, &pr, &err), &err);
        char want[8192];
        snprintf(want, sizeof want,
                 "Question: %s\nAnswer: %s\n\nQuestion: %s\nAnswer: %s\n\nQuestion: %s\nAnswer:",
                 train->items[3].question, train->items[3].answer, train->items[0].question,
                 train->items[0].answer, test->items[0].question);
        CHECK(str_eq(pr, want), "GSM8K 2-shot prompt:\n%s", pr);
        CHECK(pr && strstr(pr, "\n#### 624\n\nQuestion: Natalia"),
              "exemplars carry the full chain-of-thought answer");
        free(pr);
        /* the generator goes on: the second question gets the next draw,
         * Random(1234) after sample(range(5), 2) -> sample(range(5), 2) */
        ob_pyrandom r;
        int a[2], b[2];
        ob_pyrandom_seed(&r, 1234);
        ob_pyrandom_sample(&r, 5, 2, a, &err);
        ob_pyrandom_sample(&r, 5, 2, b, &err);
        CHECK(a[0] == 3 && a[1] == 0, "first draw %d %d", a[0], a[1]);
        CHECK_OK(ob_gsm8k_prompt(fs, test->items[1].question, &pr, &err), &err);
        snprintf(want, sizeof want, "Question: %s\nAnswer: %s\n\n", train->items[b[0]].question,
                 train->items[b[0]].answer);
        CHECK(pr && strncmp(pr, want, strlen(want)) == 0, "second question's first exemplar");
        free(pr);
    }
    ob_gsm8k_fewshot_free(fs);
    fs = NULL;
    CHECK(ob_gsm8k_fewshot_new(train, 6, 1234, &fs, &err) == OB_EINVAL && !fs,
          "more shots than train examples");
done:
    ob_gsm8k_set_free(test);
    ob_gsm8k_set_free(train);
}

/* ---------------------------------------------------------- generic JSONL */

static void test_mc_jsonl(const char *root) {
    ob_err err = {0};
    char p[2048];
    ob_mc_set *s = NULL;
    CHECK_OK(ob_mc_jsonl_load(join(p, sizeof p, root, "tests/data/eval/mc.jsonl"), &s, &err),
             &err);
    if (!s) return;
    CHECK(s->n == 3, "mc.jsonl items %d (blank line skipped)", s->n);
    if (s->n == 3) {
        CHECK(str_eq(s->items[0].context, "The sky on a clear day is") &&
                  s->items[0].n_choices == 4 && str_eq(s->items[0].choices[2], "made of cheese") &&
                  s->items[0].gold == 0,
              "mc item 1");
        CHECK(str_eq(s->items[1].id, "boolq-1") && s->items[1].n_choices == 2 &&
                  str_eq(s->items[1].context, "Question: Is water wet?\nAnswer:"),
              "mc item 2");
        /* without "id" the item is named by file and line (line 4: the
         * blank line 2 counts) */
        const char *id = s->items[2].id;
        size_t n = id ? strlen(id) : 0;
        CHECK(n > 10 && strcmp(id + n - 10, "mc.jsonl:4") == 0, "mc item 3 id %s", id);
    }
    ob_mc_set_free(s);
}

/* -------------------------------------------------------------- bad input */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Expects rc != 0 and every piece of want[] in the message. */
static void expect_err(int rc, const ob_err *err, const char *what, const char *a, const char *b) {
    CHECK(rc != 0, "%s: should fail", what);
    if (rc == 0) return;
    CHECK(strstr(err->msg, a) != NULL && (!b || strstr(err->msg, b) != NULL),
          "%s: message \"%s\" lacks \"%s\"%s%s", what, err->msg, a, b ? " / " : "", b ? b : "");
}

static void test_bad_input(void) {
    char dir[] = "/tmp/ob_eval_dsXXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char p[512], p2[1024];
    ob_err err = {0};
    ob_mc_set *mc = NULL;
    ob_gsm8k_set *gs = NULL;
    ob_squad_set *sq = NULL;
    int rc;

    /* malformed JSONL line: its line number */
    snprintf(p, sizeof p, "%s/bad.jsonl", dir);
    write_file(p, "{\"question\": \"q\", \"answer\": \"#### 1\"}\n"
                  "{\"question\": \"q2\", \"answer\": \"#### 2\"}\n"
                  "{\"question\": \"q3\", \"answer\": }\n");
    rc = ob_gsm8k_load(p, &gs, &err);
    expect_err(rc, &err, "malformed JSONL", "bad.jsonl:3:", "invalid JSON");
    CHECK(rc == OB_EFORMAT && gs == NULL, "malformed JSONL: OB_EFORMAT, no set");

    /* missing field named, with its line */
    write_file(p, "{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"question\": \"q2\"}\n");
    rc = ob_gsm8k_load(p, &gs, &err);
    expect_err(rc, &err, "missing field", "bad.jsonl:2: missing field 'answer'", NULL);

    /* wrong type */
    write_file(p, "{\"question\": 5, \"answer\": \"#### 1\"}\n");
    rc = ob_gsm8k_load(p, &gs, &err);
    expect_err(rc, &err, "wrong type", "bad.jsonl:1: field 'question' is not a string", NULL);

    /* a line that is not an object */
    write_file(p, "[1, 2]\n");
    rc = ob_gsm8k_load(p, &gs, &err);
    expect_err(rc, &err, "not an object", "bad.jsonl:1: not a JSON object", NULL);

    /* empty file, and a file of blank lines */
    write_file(p, "");
    rc = ob_gsm8k_load(p, &gs, &err);
    expect_err(rc, &err, "empty GSM8K", "bad.jsonl", "no examples");
    write_file(p, "\n  \n");
    rc = ob_mc_jsonl_load(p, &mc, &err);
    expect_err(rc, &err, "blank MC file", "bad.jsonl", "no examples");

    /* missing file */
    snprintf(p2, sizeof p2, "%s/absent.jsonl", dir);
    rc = ob_mc_jsonl_load(p2, &mc, &err);
    expect_err(rc, &err, "missing file", "absent.jsonl", "cannot open");
    CHECK(rc == OB_EIO, "missing file is OB_EIO");

    /* generic MC: gold out of range, negative, not an integer, too few
     * choices, a choice that is not a string */
    write_file(p, "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n"
                  "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n");
    rc = ob_mc_jsonl_load(p, &mc, &err);
    expect_err(rc, &err, "gold out of range", "bad.jsonl:2: gold 2 is out of range", NULL);
    write_file(p, "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": -1}\n");
    rc = ob_mc_jsonl_load(p, &mc, &err);
    expect_err(rc, &err, "negative gold", "bad.jsonl:1: gold -1", NULL);
    write_file(p, "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": \"0\"}\n");
    rc = ob_mc_jsonl_load(p, &mc, &err);
    expect_err(rc, &err, "string gold", "field 'gold' is not an integer", NULL);
    write_file(p, "{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": 0}\n");
    rc = ob_mc_jsonl_load(p, &mc, &err);
    expect_err(rc, &err, "one choice", "at least 2", NULL);
    write_file(p, "{\"context\": \"c\", \"choices\": [\"a\", 3], \"gold\": 0}\n");
    rc = ob_mc_jsonl_load(p, &mc, &err);
    expect_err(rc, &err, "non-string choice", "'choices'[1] is not a string", NULL);
    write_file(p, "{\"choices\": [\"a\", \"b\"], \"gold\": 0}\n");
    rc = ob_mc_jsonl_load(p, &mc, &err);
    expect_err(rc, &err, "missing context", "bad.jsonl:1: missing field 'context'", NULL);
    CHECK(mc == NULL, "no set on failure");

    /* malformed JSON file: jansson's line and column */
    snprintf(p, sizeof p, "%s/pq.json", dir);
    write_file(p, "{\n  \"1\": {\"QUESTION\": \"q\",\n   \"CONTEXTS\": [\"c\"],, }\n}\n");
    rc = ob_pubmedqa_load(p, &mc, &err);
    expect_err(rc, &err, "malformed JSON file", "pq.json:3:", "invalid JSON");
    write_file(p, "{\"1\": {\"QUESTION\": \"q\", \"CONTEXTS\": [\"c\"], \"final_decision\": "
                  "\"yes\"}, \"2\": {\"QUESTION\": \"q\", \"CONTEXTS\": [\"c\"]}}");
    rc = ob_pubmedqa_load(p, &mc, &err);
    expect_err(rc, &err, "PubMedQA missing field", "item '2': missing field 'final_decision'",
               NULL);
    write_file(p, "{\"1\": {\"QUESTION\": \"q\", \"CONTEXTS\": [\"c\"], \"final_decision\": "
                  "\"perhaps\"}}");
    rc = ob_pubmedqa_load(p, &mc, &err);
    expect_err(rc, &err, "PubMedQA bad label", "final_decision 'perhaps'", NULL);
    write_file(p, "{}");
    rc = ob_pubmedqa_load(p, &mc, &err);
    expect_err(rc, &err, "PubMedQA empty", "pq.json: no examples", NULL);
    write_file(p, "");
    rc = ob_pubmedqa_load(p, &mc, &err);
    expect_err(rc, &err, "PubMedQA empty file", "pq.json:", "invalid JSON");

    /* SQuAD: missing field with its JSON path; no questions */
    snprintf(p, sizeof p, "%s/dev.json", dir);
    write_file(p, "{\"data\": [{\"title\": \"T\", \"paragraphs\": [{\"context\": \"c\", \"qas\": "
                  "[{\"id\": \"x\", \"answers\": []}]}]}]}");
    rc = ob_squad_load(p, &sq, &err);
    expect_err(rc, &err, "SQuAD missing question",
               "data[0].paragraphs[0].qas[0]: missing field 'question'", NULL);
    write_file(p, "{\"data\": [{\"title\": \"T\", \"paragraphs\": []}]}");
    rc = ob_squad_load(p, &sq, &err);
    expect_err(rc, &err, "SQuAD empty", "dev.json: no questions", NULL);
    write_file(p, "{\"version\": \"v2.0\"}");
    rc = ob_squad_load(p, &sq, &err);
    expect_err(rc, &err, "SQuAD no data", "missing field 'data'", NULL);
    CHECK(sq == NULL, "no SQuAD set on failure");

    /* RACE: answer letter out of range, missing field, malformed, empty dir */
    snprintf(p, sizeof p, "%s/race", dir);
    mkdir(p, 0700);
    snprintf(p2, sizeof p2, "%s/1.txt", p);
    write_file(p2, "{\"answers\": [\"E\"], \"options\": [[\"a\", \"b\", \"c\", \"d\"]], "
                   "\"questions\": [\"q\"], \"article\": \"x\", \"id\": \"high1.txt\"}");
    rc = ob_race_load(p, &mc, &err);
    expect_err(rc, &err, "RACE gold out of range", "1.txt: answers[0] is 'E'", NULL);
    write_file(p2, "{\"answers\": [\"A\"], \"options\": [[\"a\", \"b\", \"c\", \"d\"]], "
                   "\"article\": \"x\"}");
    rc = ob_race_load(p, &mc, &err);
    expect_err(rc, &err, "RACE missing field", "1.txt: missing field 'questions'", NULL);
    write_file(p2, "{\"answers\": [\"A\"],\n \"options\": [[\"a\", \"b\", \"c\"]], "
                   "\"questions\": [\"q\"], \"article\": \"x\"}");
    rc = ob_race_load(p, &mc, &err);
    expect_err(rc, &err, "RACE 3 options", "options[0] is not a list of 4", NULL);
    write_file(p2, "{\"answers\": [\"A\"],\n \"options\": [[\"a\" \"b\"]]}");
    rc = ob_race_load(p, &mc, &err);
    expect_err(rc, &err, "RACE malformed", "1.txt:2:", "invalid JSON");
    unlink(p2);
    rc = ob_race_load(p, &mc, &err);
    expect_err(rc, &err, "RACE empty directory", "race: no examples", NULL);
    rmdir(p);
    rc = ob_race_load(p, &mc, &err);
    expect_err(rc, &err, "RACE missing directory", "cannot open directory", NULL);
    CHECK(mc == NULL, "no RACE set on failure");

    snprintf(p, sizeof p, "%s/bad.jsonl", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/pq.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/dev.json", dir);
    unlink(p);
    rmdir(dir);
}

int main(void) {
    const char *r = getenv("OB_ROOT");
    const char *root = r && *r ? r : ".";
    test_race(root);
    test_pubmedqa(root);
    test_squad(root);
    test_pyrandom();
    test_gsm8k(root);
    test_mc_jsonl(root);
    test_bad_input();
    return CHECK_DONE("test_eval_datasets");
}

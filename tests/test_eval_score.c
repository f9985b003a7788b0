/* test_eval_score.c - the scorers against hand-worked cases from the
 * reference definitions: the official SQuAD v2 evaluate-v2.0.py, and
 * lm-evaluation-harness's gsm8k.yaml filters / exact_match and its
 * multiple-choice process_results.  Expected values were worked by hand
 * from those definitions (and agree with running them). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "eval/score.h"

static int near(double a, double b) { return fabs(a - b) < 1e-12; }

/* ------------------------------------------------------------------ SQuAD */

static void check_norm(const char *in, const char *want) {
    ob_err err = {0};
    char *out = NULL;
    CHECK_OK(ob_squad_normalize(in, strlen(in), &out, &err), &err);
    CHECK(out && strcmp(out, want) == 0, "normalize(\"%s\") = \"%s\", want \"%s\"", in,
          out ? out : "(null)", want);
    free(out);
}

static void test_squad_normalize(void) {
    /* punctuation (ASCII string.punctuation only) and articles */
    check_norm("The Theory of Everything!", "theory of everything");
    check_norm("  a  an the  ", "");
    check_norm("An apple, a day", "apple day");
    check_norm("The.Cat", "thecat"); /* punctuation goes first: "thecat" is one word */
    check_norm("don't stop", "dont stop");
    check_norm("the_end", "theend");
    check_norm("theatre-goers", "theatregoers");
    check_norm("ana", "ana");
    check_norm("A", "");
    check_norm("...", "");
    check_norm("", "");
    check_norm("a1 b2", "a1 b2");
    /* "the" inside words is kept: theory, anthem, bathe */
    check_norm("theory anthem bathe", "theory anthem bathe");
    /* Unicode: lowercase with Python's str.lower */
    check_norm("Café  AU lait", "café au lait");
    check_norm("ÉCOLE Normale", "école normale");
    check_norm("ΟΔΟΣ ΣΑΣ", "οδος σας"); /* final sigma */
    check_norm("İstanbul", "i\xcc\x87stanbul"); /* U+0130 -> i + U+0307 */
    /* an accented letter is a word character: "thé" is not an article, and
     * the "a" after it is a word of its own */
    check_norm("thé a", "thé");
    /* non-ASCII punctuation is not string.punctuation: kept */
    check_norm("\xe2\x80\x94" "dash" "\xe2\x80\x94", "\xe2\x80\x94" "dash" "\xe2\x80\x94");
    check_norm("¿Qué?", "¿qué");
    /* whitespace runs, including Unicode spaces (NBSP, ideographic) */
    check_norm("tab\there\nnewline", "tab here newline");
    check_norm("x\xc2\xa0y\xe3\x80\x80z", "x y z");
    /* an invalid byte is kept as it is */
    check_norm("ab\xff The", "ab\xff");
}

static void test_squad_exact_f1(void) {
    ob_err err = {0};
    int em = -1;
    double f1 = -1;
    CHECK_OK(ob_squad_compute_exact("The Eiffel Tower", "eiffel tower.", &em, &err), &err);
    CHECK(em == 1, "exact normalizes both sides");
    CHECK_OK(ob_squad_compute_exact("Eiffel Tower", "Tower", &em, &err), &err);
    CHECK(em == 0, "exact is whole-string");

    /* Counter intersection: gold {cat, sat, on, mat}, pred {cat x2, sat}:
     * overlap 2, P = 2/3, R = 2/4, F1 = 4/7 */
    CHECK_OK(ob_squad_compute_f1("the cat sat on the mat", "cat cat sat", &f1, &err), &err);
    CHECK(near(f1, 4.0 / 7.0), "F1 repeated pred token = %.17g, want 4/7", f1);
    /* gold {b, b, c} ("a" is an article), pred {b, b, b, d}: overlap 2 */
    CHECK_OK(ob_squad_compute_f1("a b b c", "b b b d", &f1, &err), &err);
    CHECK(near(f1, 4.0 / 7.0), "F1 repeated tokens both sides = %.17g", f1);
    CHECK_OK(ob_squad_compute_f1("New York City", "new york", &f1, &err), &err);
    CHECK(near(f1, 0.8), "F1 partial = %.17g, want 0.8", f1);
    CHECK_OK(ob_squad_compute_f1("Paris", "London", &f1, &err), &err);
    CHECK(f1 == 0.0, "F1 disjoint = %g", f1);
    /* empty sides: 1 iff both empty */
    CHECK_OK(ob_squad_compute_f1("", "", &f1, &err), &err);
    CHECK(f1 == 1.0, "F1 both empty = %g", f1);
    CHECK_OK(ob_squad_compute_f1("", "x", &f1, &err), &err);
    CHECK(f1 == 0.0, "F1 empty gold, answer given = %g", f1);
    CHECK_OK(ob_squad_compute_f1("the", "", &f1, &err), &err);
    CHECK(f1 == 1.0, "F1 gold normalizing to nothing vs empty = %g", f1);

    /* max over golds; golds that normalize to "" are dropped */
    const char *golds[] = {"France", "France", "a region in France"};
    CHECK_OK(ob_squad_score(golds, 3, "region", &em, &f1, &err), &err);
    /* "region" vs "region in france": P = 1, R = 1/3, F1 = 0.5 */
    CHECK(em == 0 && near(f1, 0.5), "max over golds: em %d f1 %.17g", em, f1);
    CHECK_OK(ob_squad_score(golds, 3, "The France!", &em, &f1, &err), &err);
    CHECK(em == 1 && f1 == 1.0, "exact on one gold: em %d f1 %g", em, f1);
    const char *eiffel[] = {"the Eiffel Tower", "Eiffel", "..."};
    CHECK_OK(ob_squad_score(eiffel, 3, "tower", &em, &f1, &err), &err);
    CHECK(em == 0 && near(f1, 2.0 / 3.0), "eiffel: em %d f1 %.17g", em, f1);
    /* no answer: the only gold is "" */
    CHECK_OK(ob_squad_score(NULL, 0, "", &em, &f1, &err), &err);
    CHECK(em == 1 && f1 == 1.0, "no answer, empty prediction: em %d f1 %g", em, f1);
    CHECK_OK(ob_squad_score(NULL, 0, "Normans", &em, &f1, &err), &err);
    CHECK(em == 0 && f1 == 0.0, "no answer, answer given: em %d f1 %g", em, f1);
    const char *only_punct[] = {"...", "the"};
    CHECK_OK(ob_squad_score(only_punct, 2, "a", &em, &f1, &err), &err);
    CHECK(em == 1 && f1 == 1.0, "golds all empty after normalization act as no answer");
}

static void test_squad_aggregate(void) {
    ob_err err = {0};
    /* q1 HasAns 1/1, q2 NoAns "" 1/1, q3 HasAns 0/0.5, q4 NoAns "Normans"
     * 0/0, q5 HasAns 0/(2/3); na_probs .1 .9 .5 .2 .5 */
    ob_squad_item it[5] = {
        {1, 0, 1, 1.0, 0.1},       {0, 1, 1, 1.0, 0.9},
        {1, 0, 0, 0.5, 0.5},       {0, 0, 0, 0.0, 0.2},
        {1, 0, 0, 2.0 / 3.0, 0.5},
    };
    ob_squad_result r;
    CHECK_OK(ob_squad_aggregate(it, 5, 1.0, &r, &err), &err);
    CHECK(r.total == 5 && r.HasAns_total == 3 && r.NoAns_total == 2, "totals");
    CHECK(near(r.exact, 40.0), "exact %.17g", r.exact);
    CHECK(near(r.f1, 100.0 * (1 + 1 + 0.5 + 0 + 2.0 / 3.0) / 5), "f1 %.17g", r.f1);
    CHECK(near(r.HasAns_exact, 100.0 / 3.0), "HasAns_exact %.17g", r.HasAns_exact);
    CHECK(near(r.HasAns_f1, 100.0 * (1 + 0.5 + 2.0 / 3.0) / 3), "HasAns_f1 %.17g", r.HasAns_f1);
    CHECK(near(r.NoAns_exact, 50.0) && near(r.NoAns_f1, 50.0), "NoAns %g %g", r.NoAns_exact,
          r.NoAns_f1);
    /* find_best_thresh: order q1 q4 q3 q5 q2; exact 2 -> 3 (at .1) -> 2 ..;
     * f1 2 -> 3 -> 2 -> 2.5 -> 3.1667 (at .5) */
    CHECK(near(r.best_exact, 60.0) && r.best_exact_thresh == 0.1, "best_exact %g at %g",
          r.best_exact, r.best_exact_thresh);
    CHECK(near(r.best_f1, 100.0 * (2 + 1 + 0.5 + 2.0 / 3.0 - 1) / 5) && r.best_f1_thresh == 0.5,
          "best_f1 %.17g at %g", r.best_f1, r.best_f1_thresh);
    /* a threshold of .4 turns q2 (NoAns, right), q3 and q5 (HasAns, wrong)
     * into predicted no-answers */
    CHECK_OK(ob_squad_aggregate(it, 5, 0.4, &r, &err), &err);
    CHECK(near(r.exact, 40.0) && near(r.f1, 40.0) && near(r.HasAns_f1, 100.0 / 3.0),
          "thresholded %g %g %g", r.exact, r.f1, r.HasAns_f1);
    /* all answerable: no NoAns figures */
    CHECK_OK(ob_squad_aggregate(it, 1, 1.0, &r, &err), &err);
    CHECK(r.NoAns_total == 0 && r.NoAns_exact == 0 && r.exact == 100.0, "HasAns only");
    CHECK(ob_squad_aggregate(it, 0, 1.0, &r, &err) == OB_EINVAL, "no items is an error");
}

/* ------------------------------------------------------------------ GSM8K */

static void check_gsm(const ob_gsm8k *g, const char *gen, const char *strict_raw,
                      const char *strict_clean, const char *flex_raw, const char *flex_clean) {
    ob_err err = {0};
    char *s = NULL, *sc = NULL, *f = NULL, *fc = NULL;
    CHECK_OK(ob_gsm8k_extract(g, OB_GSM8K_STRICT, gen, &s, &err), &err);
    CHECK_OK(ob_gsm8k_extract(g, OB_GSM8K_FLEXIBLE, gen, &f, &err), &err);
    if (s && f) {
        CHECK_OK(ob_gsm8k_clean(g, s, &sc, &err), &err);
        CHECK_OK(ob_gsm8k_clean(g, f, &fc, &err), &err);
        CHECK(strcmp(s, strict_raw) == 0 && sc && strcmp(sc, strict_clean) == 0,
              "strict(\"%s\") = \"%s\" -> \"%s\", want \"%s\" -> \"%s\"", gen, s, sc ? sc : "",
              strict_raw, strict_clean);
        CHECK(strcmp(f, flex_raw) == 0 && fc && strcmp(fc, flex_clean) == 0,
              "flexible(\"%s\") = \"%s\" -> \"%s\", want \"%s\" -> \"%s\"", gen, f,
              fc ? fc : "", flex_raw, flex_clean);
    }
    free(s);
    free(sc);
    free(f);
    free(fc);
}

static void test_gsm8k(void) {
    ob_err err = {0};
    ob_gsm8k *g = NULL;
    CHECK_OK(ob_gsm8k_new(&g, &err), &err);
    if (!g) return;
    const char *inv = "[invalid]";
    check_gsm(g, "She makes 9 * 2 = $18 every day.\n#### 18", "18", "18", "18", "18");
    check_gsm(g, "The answer is -5.", inv, inv, "-5.", "-5");                 /* negative */
    check_gsm(g, "Total: 1,234 apples", inv, inv, "1,234", "1234");          /* commas */
    check_gsm(g, "It costs $5", inv, inv, "$5", "5");                        /* dollar */
    check_gsm(g, "So 42.", inv, inv, "42.", "42");                           /* period */
    check_gsm(g, "I got 4.\n", inv, inv, "4.", "4");
    /* several numbers: strict takes the "####" one, flexible the last */
    check_gsm(g, "First 3 then 7 then 10.\n#### 10 and later 11", "10", "10", "11", "11");
    check_gsm(g, "Answer 7\n\nQuestion: 12 + 3", inv, inv, "3", "3");
    check_gsm(g, "#### -1,000.5", "-1,000.5", "-1000.5", "-1,000.5", "-1000.5");
    check_gsm(g, "#### 12.", "12.", "12", "12.", "12");
    check_gsm(g, "#### $7", inv, inv, "$7", "7");
    check_gsm(g, "x = .5 and 9", inv, inv, "9", "9");
    check_gsm(g, "1.2.3", inv, inv, "1.2.3", "1.2.3");
    check_gsm(g, "3-4", inv, inv, "-4", "-4");
    check_gsm(g, "A 9", inv, inv, "9", "9"); /* the second alternative's group */
    /* no number at all: lm-eval's fallback */
    check_gsm(g, "no numbers here", inv, inv, inv, inv);
    check_gsm(g, "-", inv, inv, inv, inv);
    check_gsm(g, "", inv, inv, inv, inv);

    /* gold: the cleanup leaves what follows the last "#### " */
    struct {
        const char *answer, *want;
    } golds[] = {
        {"Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = "
         "$<<9*2=18>>18 every day at the farmer\xe2\x80\x99s market.\n#### 18",
         "18"},
        {"x\n#### 1,234", "1234"},
        {"#### 5 #### 6", "6"},
        {"a\n#### -3", "-3"},
        {"ABC.\n", "abc\n"}, /* "\.$" also matches before a final newline */
    };
    for (size_t i = 0; i < sizeof golds / sizeof golds[0]; i++) {
        char *c = NULL;
        CHECK_OK(ob_gsm8k_clean(g, golds[i].answer, &c, &err), &err);
        CHECK(c && strcmp(c, golds[i].want) == 0, "clean(gold %zu) = \"%s\", want \"%s\"", i,
              c ? c : "", golds[i].want);
        free(c);
    }
    int m = -1;
    CHECK_OK(ob_gsm8k_exact_match(g, "$1,234.", "It is 1234.\n#### 1,234", &m, &err), &err);
    CHECK(m == 1, "exact match after cleanup");
    CHECK_OK(ob_gsm8k_exact_match(g, "[invalid]", "#### 5", &m, &err), &err);
    CHECK(m == 0, "fallback never matches");
    CHECK_OK(ob_gsm8k_exact_match(g, "-5", "#### 5", &m, &err), &err);
    CHECK(m == 0, "sign matters");
    ob_gsm8k_free(g);
}

/* -------------------------------------------------------- multiple choice */

static void test_mc(void) {
    ob_err err = {0};
    ob_mc_result r;
    /* acc picks the short choice (-4 > -6); per character the long one wins
     * (-6/12 = -0.5 > -4/4 = -1) */
    const char *ch[] = {"blue", "made of blue"};
    double ll[] = {-4.0, -6.0};
    CHECK_OK(ob_mc_score_choices(ll, ch, 2, 1, &r, &err), &err);
    CHECK(r.pred == 0 && r.pred_norm == 1 && r.acc == 0 && r.acc_norm == 1,
          "acc vs acc_norm disagree: pred %d norm %d", r.pred, r.pred_norm);
    /* characters, not bytes: "café" is 4 characters, 5 bytes */
    const char *uc[] = {"café", "abcde"};
    double ull[] = {-4.0, -4.9};
    CHECK_OK(ob_mc_score_choices(ull, uc, 2, 0, &r, &err), &err);
    CHECK(r.pred == 0 && r.pred_norm == 1 && r.pred_bytes == 0,
          "chars vs bytes: pred %d norm %d bytes %d", r.pred, r.pred_norm, r.pred_bytes);
    /* -4/4 = -1 vs -4.9/5 = -0.98 by characters; -4/5 = -0.8 wins by bytes */
    CHECK(r.acc == 1 && r.acc_norm == 0 && r.acc_bytes == 1, "chars vs bytes acc");
    /* ties: the first wins, for acc and acc_norm */
    const char *tie[] = {"ab", "cd", "ef"};
    double tll[] = {-3.0, -2.0, -2.0};
    CHECK_OK(ob_mc_score_choices(tll, tie, 3, 2, &r, &err), &err);
    CHECK(r.pred == 1 && r.pred_norm == 1 && r.acc == 0, "tie -> first");
    /* lengths given directly */
    size_t nc[] = {1, 10}, nb[] = {1, 10};
    double l2[] = {-1.0, -5.0};
    CHECK_OK(ob_mc_score(l2, nc, nb, 2, 1, &r, &err), &err);
    CHECK(r.pred == 0 && r.pred_norm == 1 && r.acc_norm == 1, "given lengths");
    CHECK(ob_mc_score(l2, nc, nb, 2, 2, &r, &err) == OB_EINVAL, "gold out of range");
    CHECK(ob_mc_score(l2, nc, nb, 2, -1, &r, &err) == OB_EINVAL, "negative gold");
    /* numpy argmax: NaN wins, first of equal maxima */
    double nanv[] = {1.0, NAN, 5.0};
    CHECK(ob_argmax(nanv, 3) == 1, "NaN counts as max");
    double eq[] = {2.0, 5.0, 5.0};
    CHECK(ob_argmax(eq, 3) == 1 && ob_argmax(eq, 0) == -1, "argmax ties");
    CHECK(ob_utf8_n_chars("café", strlen("café")) == 4, "char count");
}

static void test_mean_stderr(void) {
    ob_err err = {0};
    double m, se;
    double acc[] = {1, 0, 1, 1, 0, 1, 1, 1};
    /* mean 0.75; sample variance (6*0.0625 + 2*0.5625)/7 = 1.5/7 */
    CHECK_OK(ob_mean_stderr(acc, 8, &m, &se, &err), &err);
    CHECK(near(m, 0.75) && near(se, sqrt(1.5 / 7) / sqrt(8.0)), "acc stderr %.17g", se);
    double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
    /* mean 5, sum of squares 32, sample sd sqrt(32/7) */
    CHECK_OK(ob_mean_stderr(v, 8, &m, &se, &err), &err);
    CHECK(near(m, 5.0) && near(se, sqrt(32.0 / 7.0) / sqrt(8.0)), "stderr %.17g", se);
    CHECK(fabs(se - 0.7559289460184544) < 1e-15, "stderr value %.17g", se);
    CHECK_OK(ob_mean_stderr(v, 1, &m, &se, &err), &err);
    CHECK(m == 2.0 && isnan(se), "one value: stderr N/A");
    CHECK(ob_mean_stderr(v, 0, &m, &se, &err) == OB_EINVAL, "no values is an error");
}

static void test_lower(void) {
    ob_err err = {0};
    char *o = NULL;
    CHECK_OK(ob_py_lower("ÉCOLE ΣΟΦΟΣ. Σ", strlen("ÉCOLE ΣΟΦΟΣ. Σ"), &o, &err), &err);
    /* a final sigma before "." (case-ignorable) and a lone capital sigma
     * (no cased letter before it) stay as Python gives them */
    CHECK(o && strcmp(o, "école σοφος. σ") == 0, "lower = \"%s\"", o ? o : "");
    free(o);
}

int main(void) {
    test_squad_normalize();
    test_squad_exact_f1();
    test_squad_aggregate();
    test_gsm8k();
    test_mc();
    test_mean_stderr();
    test_lower();
    return CHECK_DONE("test_eval_score");
}

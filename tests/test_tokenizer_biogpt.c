/* test_tokenizer_biogpt.c - BioGPT's tokenizer: the Moses English rules,
 * fastBPE merges with "</w>" word ends, decoding, bad files, and a tiny
 * BioGPT model directory that generates through it.
 *
 * Data: tests/data/tokenizer/biogpt/{vocab.json,merges.txt} under $OB_ROOT
 * (default "."), a 102-token vocabulary and 33 merges made by hand:
 *   rank 0 "t h", 1 "th e</w>", 2 "i n", 3 "i n</w>", 4 "p r", 5 "pr o",
 *   6 "pro t", 7 "e in</w>", 8 "prot ein</w>", 9 "b in", 10 "d s</w>",
 *   11 "bin ds</w>", 12 "D N", 13 "DN A</w>", 14 "T h", 15 "Th e</w>",
 *   16 "c e", 17 "ce l", 18 "cel l", 19 "cell s</w>", 20 "I L</w>",
 *   21 "@ -", 22 "@- @</w>", 23..28 "&" "a" "p" "o" "s" ";" into "&apos;"
 *   and then "&apos; s</w>", 29 "o f</w>", 30 "i s</w>", 31 "a n",
 *   32 "an d</w>".
 * "pr", "pro", "in</w>" and others are merge results that are not in the
 * vocabulary, as with fastBPE's files.
 * The model test needs /usr/bin/python3 with numpy (tests/ref/make_tiny.py)
 * and is skipped without it. */
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "optibench.h"
#include "tokenizer/tokenizer_internal.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char root_[1024];

/* ---------------------------------------------------------------- Moses */

static void expect_moses(const tok_moses *m, const char *text, const char *want) {
    tok_str out = {0};
    ob_err err = {0};
    int rc = tok_moses_tokenize(m, text, strlen(text), &out, &err);
    CHECK(rc == 0, "moses(\"%s\") -> %d: %s", text, rc, err.msg);
    const char *got = out.len ? out.p : "";
    CHECK(rc || strcmp(got, want) == 0, "moses(\"%s\")\n  got  [%s]\n  want [%s]", text, got, want);
    tok_str_free(&out);
}

static void expect_detok(const tok_moses *m, const char *tokens, const char *want) {
    tok_str out = {0};
    ob_err err = {0};
    int rc = tok_moses_detokenize(m, tokens, strlen(tokens), &out, &err);
    CHECK(rc == 0, "detok(\"%s\") -> %d: %s", tokens, rc, err.msg);
    const char *got = out.len ? out.p : "";
    CHECK(rc || strcmp(got, want) == 0, "detok(\"%s\")\n  got  [%s]\n  want [%s]", tokens, got, want);
    tok_str_free(&out);
}

/* Expected token lists, worked out by applying sacremoses' rules in their
 * order: whitespace/control clean-up, PAD_NOT_ISALNUM (pad everything but
 * alphanumerics, whitespace and . ' ` , -), AGGRESSIVE_HYPHEN_SPLIT,
 * multidots, COMMA_SEPARATE_1..3, EN_SPECIFIC_1..5 (apostrophes),
 * nonbreaking prefixes, TRAILING_DOT_APOSTROPHE, XML escaping. */
static void test_moses(void) {
    ob_err err = {0};
    tok_moses *m = NULL;
    CHECK_OK(tok_moses_new(&m, &err, "moses"), &err);
    if (!m) return;

    /* "Dr." is a nonbreaking prefix; "Smith's": EN_SPECIFIC_4 splits before
     * the apostrophe between letters; "IL-6": hyphen between alphanumerics;
     * "(" "<" ")" padded, "<" escaped; "0.05" and "5,300" keep their
     * period and comma (digits on both sides); "e.g.": the prefix holds a
     * period and letters; "...": a multidot run stands alone; "Don't" ->
     * "Don 't" (Moses, not Penn's "Do n't"); the final period splits off. */
    expect_moses(m,
                 "Dr. Smith's IL-6 levels (p<0.05) rose 5,300-fold, e.g. in cells... Don't stop.",
                 "Dr. Smith &apos;s IL @-@ 6 levels ( p &lt; 0.05 ) rose 5,300 @-@ fold , e.g. in "
                 "cells ... Don &apos;t stop .");
    /* "TNF-α": α is alphanumeric, so the hyphen splits; "%", "=", ">" and
     * "/" are padded; ">" escaped */
    expect_moses(m, "We found that 25% of patients (n = 120) had TNF-\xce\xb1 > 10 pg/mL.",
                 "We found that 25 % of patients ( n = 120 ) had TNF @-@ \xce\xb1 &gt; 10 pg / mL .");
    /* "U.S.": period + letter inside; "Jan.": nonbreaking; "2020." -> "2020 ."
     * (next token "See" is not lowercase); "Fig." is not in the English
     * list and "3" is not lowercase: split; "No." before a number stays
     * (#NUMERIC_ONLY#), "No." before "Really" splits */
    expect_moses(m, "The U.S. FDA approved it in Jan. 2020. See Fig. 3 and No. 5. No. Really.",
                 "The U.S. FDA approved it in Jan. 2020 . See Fig . 3 and No. 5 . No . Really .");
    /* quotes: '"' is padded and escaped; a quote next to a non-letter stands
     * alone (EN_SPECIFIC_1/2/3), so does the possessive "Jones'" */
    expect_moses(m, "\"Quoted text,\" she said. 'Single quotes' and the Jones' house.",
                 "&quot; Quoted text , &quot; she said . &apos; Single quotes &apos; and the Jones "
                 "&apos; house .");
    /* all eight XML escapes; " 'z" is EN_SPECIFIC_2 (a non-letter before,
     * a letter after: the quote stands alone), while the final "z'" has no
     * character after it, which every apostrophe rule needs: it stays */
    expect_moses(m, "A&B | C [1] <x> \"y\" 'z'",
                 "A &amp; B &#124; C &#91; 1 &#93; &lt; x &gt; &quot; y &quot; &apos; z&apos;");
    /* contractions; "Wait...what": the dots split off on both sides; "?"
     * and "!" padded */
    expect_moses(m, "It's the patient's choice, isn't it? Yes! Wait...what?",
                 "It &apos;s the patient &apos;s choice , isn &apos;t it ? Yes ! Wait ... what ?");
    /* whitespace runs (tab, newline, NBSP) become one space; control
     * characters vanish; the ends are stripped */
    expect_moses(m, "  Tabs\tand\nnew\xc2\xa0lines\x01  ", "Tabs and new lines");
    expect_moses(m, "", "");
    expect_moses(m, " \t\n ", "");
    /* the inner ".' " is EN_SPECIFIC_1 (non-letters on both sides), so
     * "cells." is a token followed by "'" (not lowercase) and splits; the
     * final ".'" is TRAILING_DOT_APOSTROPHE */
    expect_moses(m, "cells.' He left.'", "cells . &apos; He left . &apos;");
    /* commas: kept between digits only (COMMA_SEPARATE_1/2), and a final
     * "digit," splits (COMMA_SEPARATE_3) */
    expect_moses(m, "A,B,C 1,2 x,1 1,x 3,", "A , B , C 1,2 x , 1 1 , x 3 ,");
    /* "Mr." nonbreaking; "here." before "He": split; "yrs." before a
     * lowercase word stays */
    expect_moses(m, "Mr. Jones lives here. He is 40 yrs. old.",
                 "Mr. Jones lives here . He is 40 yrs. old .");
    /* EN_SPECIFIC_5: a digit and "'s" */
    expect_moses(m, "The 1990's data.", "The 1990 &apos;s data .");
    /* "approx.)": ")" is padded first, so "approx." is followed by ")"
     * (not lowercase) and splits; "ref." before "12" splits too ("ref" is
     * not a prefix; only "rev" is) */
    expect_moses(m, "It cost $5 (approx.) per test; see ref. 12.",
                 "It cost $ 5 ( approx . ) per test ; see ref . 12 .");
    expect_moses(m, "in vitro vs. in vivo", "in vitro vs. in vivo");
    expect_moses(m, "BRCA1/2 and IL-1\xce\xb2-induced", "BRCA1 / 2 and IL @-@ 1\xce\xb2 @-@ induced");
    /* "--" is not between alphanumerics: kept; a leading hyphen stays */
    expect_moses(m, "a--b -c", "a--b -c");
    /* CJK ideographs are not in Moses' letter tables: each is padded */
    expect_moses(m, "\xe4\xb8\xad\xe6\x96\x87 text", "\xe4\xb8\xad \xe6\x96\x87 text");
    /* invalid UTF-8 becomes U+FFFD, which is padded like any symbol */
    expect_moses(m, "a\xffz", "a \xef\xbf\xbd z");

    /* detokenizer */
    expect_detok(m, "Dr. Smith &apos;s IL @-@ 6 levels ( p &lt; 0.05 ) rose 5,300 @-@ fold , e.g. "
                    "in cells ... Don &apos;t stop .",
                 "Dr. Smith's IL-6 levels (p < 0.05) rose 5,300-fold, e.g. in cells... Don't stop.");
    expect_detok(m, "&quot; Quoted text , &quot; she said . &apos; Single quotes &apos; and the "
                    "Jones &apos; house .",
                 "\"Quoted text,\" she said. 'Single quotes' and the Jones' house.");
    expect_detok(m, "It cost $ 5 ( approx . ) per test ; see ref . 12 .",
                 "It cost $5 (approx.) per test; see ref. 12.");
    expect_detok(m, "A &amp; B &#124; C &#91; 1 &#93;", "A & B | C [1]");
    expect_detok(m, "\xe4\xb8\xad \xe6\x96\x87 text", "\xe4\xb8\xad\xe6\x96\x87 text");
    expect_detok(m, "", "");
    tok_moses_free(m);
}

/* ------------------------------------------------------------------ BPE */

static void expect_ids(const ob_tokenizer *tok, const char *text, int add_bos, int special,
                       const int32_t *want, int n_want, const char *decoded) {
    int32_t ids[256];
    int n = -1;
    ob_err err = {0};
    int rc = ob_tokenize(tok, text, strlen(text), add_bos, special, ids, N_OF(ids), &n, &err);
    CHECK(rc == 0, "tokenize(\"%s\") -> %d: %s", text, rc, err.msg);
    if (rc) return;
    int same = n == n_want;
    for (int i = 0; same && i < n; i++) same = ids[i] == want[i];
    if (!same) {
        char got[1024] = "", exp[1024] = "";
        for (int i = 0; i < n && strlen(got) < sizeof got - 16; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", ids[i]);
        for (int i = 0; i < n_want && strlen(exp) < sizeof exp - 16; i++)
            snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%d ", want[i]);
        CHECK(0, "\"%s\": got [%s] want [%s]", text, got, exp);
    } else {
        CHECK(1, "ok");
    }
    if (decoded) {
        char out[1024];
        size_t len = ob_detokenize(tok, ids, n, out, sizeof out);
        CHECK(len == strlen(decoded) && strcmp(out, decoded) == 0, "decode(encode(\"%s\")) = \"%s\", want \"%s\"",
              text, out, decoded);
    }
}

#define EXPECT(tok, text, bos, special, decoded, ...)                                       \
    do {                                                                                    \
        const int32_t want_[] = {__VA_ARGS__};                                              \
        expect_ids(tok, text, bos, special, want_, N_OF(want_), decoded);                  \
    } while (0)

/* Concatenated pieces of ids, each decoded after its predecessor. */
static void expect_pieces(const ob_tokenizer *tok, const int32_t *ids, int n, const char *want) {
    char out[1024] = "";
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        char piece[64];
        int m = ob_token_to_piece(tok, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
        CHECK(m >= 0, "piece of id %d -> %d", ids[i], m);
        if (m > 0 && k + (size_t)m < sizeof out) {
            memcpy(out + k, piece, (size_t)m);
            k += (size_t)m;
        }
    }
    out[k] = 0;
    CHECK(strcmp(out, want) == 0, "pieces: \"%s\", want \"%s\"", out, want);
}

#define PIECES(tok, want, ...)                                                              \
    do {                                                                                    \
        const int32_t ids_[] = {__VA_ARGS__};                                               \
        expect_pieces(tok, ids_, N_OF(ids_), want);                                         \
    } while (0)

static void test_bpe(void) {
    char vj[1200], mt[1200];
    snprintf(vj, sizeof vj, "%s/tests/data/tokenizer/biogpt/vocab.json", root_);
    snprintf(mt, sizeof mt, "%s/tests/data/tokenizer/biogpt/merges.txt", root_);
    ob_err err = {0};
    ob_tokenizer *tok = NULL;
    CHECK_OK(ob_tokenizer_load_biogpt(vj, mt, &tok, &err), &err);
    if (!tok) return;
    CHECK(ob_tokenizer_n_vocab(tok) == 102, "n_vocab %d", ob_tokenizer_n_vocab(tok));
    CHECK(ob_tokenizer_bos(tok) == 2 && ob_tokenizer_eos(tok) == 2, "bos %d eos %d (want </s> = 2)",
          ob_tokenizer_bos(tok), ob_tokenizer_eos(tok));
    CHECK(ob_tokenizer_add_bos_default(tok) == 1, "BioGPT prepends </s> by default");
    const char *s6 = ob_tokenizer_vocab_str(tok, 6);
    CHECK(s6 && strcmp(s6, "protein</w>") == 0, "vocab_str(6) = %s", s6 ? s6 : "(null)");

    /* "The": T h e</w> -> (T,h) rank 14 -> Th e</w> -> (Th,e</w>) 15 ->
     * The</w> = 5.  "protein": p r o t e i n</w>; the best pair is (i,n</w>)
     * rank 3 -> in</w>; then (p,r) 4, (pr,o) 5, (pro,t) 6, (e,in</w>) 7,
     * (prot,ein</w>) 8 -> protein</w> = 6.  "binds": (i,n) 2, (b,in) 9,
     * (d,s</w>) 10, (bin,ds</w>) 11 -> 7.  "DNA": (D,N) 12, (DN,A</w>) 13
     * -> 8.  "." -> .</w> = 13.  BOS </s> = 2 first. */
    EXPECT(tok, "The protein binds DNA.", 1, 0, "The protein binds DNA.", 2, 5, 6, 7, 8, 13);
    EXPECT(tok, "The protein binds DNA.", 0, 0, "The protein binds DNA.", 5, 6, 7, 8, 13);
    /* Moses: IL @-@ 6 binds the cells .  "IL": (I,L</w>) 20 -> 10; "@-@":
     * (@,-) 21, (@-,@</w>) 22 -> 11; "6</w>" 15; "the": (t,h) 0, (th,e</w>)
     * 1 -> 4; "cells": (c,e) 16, (ce,l) 17, (cel,l) 18, (cell,s</w>) 19 -> 9 */
    EXPECT(tok, "IL-6 binds the cells.", 0, 0, "IL-6 binds the cells.", 10, 11, 15, 7, 4, 9, 13);
    /* "proteins": (i,n) 2 first, then (p,r) (pr,o) (pro,t); prot e in s</w>
     * has no ranked pair left -> prot 17, e 19, in 16, s</w> 18 (the
     * intermediate "pr" and "pro" are not vocabulary tokens) */
    EXPECT(tok, "proteins", 0, 0, "proteins", 17, 19, 16, 18);
    /* "in": (i,n</w>) rank 3 -> "in</w>", which the vocabulary lacks: <unk> */
    EXPECT(tok, "in", 0, 0, "", 3);
    /* "q" is in no token: q q</w> -> <unk> <unk> */
    EXPECT(tok, "qq", 0, 0, "", 3, 3);
    /* Moses: It &apos;s DNA .  "It": I t</w> (no merge) -> 20 21;
     * "&apos;s": & a p o s ; s</w> merged by ranks 23..28 -> 12 */
    EXPECT(tok, "It's DNA.", 0, 0, "It's DNA.", 20, 21, 12, 8, 13);
    /* "of": (o,f</w>) 29 -> 25; "and": (a,n) 31, (an,d</w>) 32 -> 27;
     * "is": (i,s</w>) 30 -> 26; "," -> 14 */
    EXPECT(tok, "DNA, of and is", 0, 0, "DNA, of and is", 8, 14, 25, 27, 26);
    /* "(5%)" -> ( 5 % ): 22 32 31 23; decoding glues them back */
    EXPECT(tok, "(5%)", 0, 0, "(5%)", 22, 32, 31, 23);
    /* "a" alone: a</w> = 24; "e" alone: e</w> = 29 */
    EXPECT(tok, "a e", 0, 0, "a e", 24, 29);
    /* special tokens: matched verbatim with parse_special; they decode to
     * nothing */
    EXPECT(tok, "DNA</s>DNA<unk>", 0, 1, "DNA DNA", 8, 2, 8, 3);
    EXPECT(tok, "", 1, 0, "", 2);
    int32_t none[4];
    int n_none = -1;
    CHECK(ob_tokenize(tok, "  \t ", 4, 0, 0, none, 4, &n_none, &err) == 0 && n_none == 0,
          "whitespace gives %d ids", n_none);

    /* one token at a time: a space before a word unless it is closing
     * punctuation or a contraction, or follows "(" or BOS; "@-@" is "-" */
    PIECES(tok, "The protein binds DNA.", 2, 5, 6, 7, 8, 13);
    PIECES(tok, "IL-6 binds the cells.", 10, 11, 15, 7, 4, 9, 13);
    PIECES(tok, "proteins (5%), It's", 17, 19, 16, 18, 22, 32, 31, 23, 14, 20, 21, 12);
    char piece[8];
    CHECK(ob_token_to_piece(tok, -1, 102, piece, sizeof piece) == -1, "id past the vocab");
    CHECK(ob_token_to_piece(tok, 5, 2, piece, sizeof piece) == 0, "</s> prints nothing");
    /* truncation: full length returned, buffer NUL-terminated */
    const int32_t ids[] = {5, 6, 7, 8, 13};
    char small[8];
    size_t full = ob_detokenize(tok, ids, 5, small, sizeof small);
    CHECK(full == strlen("The protein binds DNA.") && strcmp(small, "The pro") == 0,
          "truncated decode: %zu \"%s\"", full, small);

    /* a long text: every sentence comes back (word cache and buffers) */
    size_t cap = 200000, len = 0;
    char *big = malloc(cap);
    int32_t *bids = malloc(sizeof *bids * 60000);
    if (big && bids) {
        const char *sent = "The protein binds DNA. IL-6 binds the cells. ";
        while (len + strlen(sent) < cap - 1) {
            memcpy(big + len, sent, strlen(sent));
            len += strlen(sent);
        }
        big[len] = 0;
        int n = 0;
        CHECK_OK(ob_tokenize(tok, big, len, 0, 0, bids, 60000, &n, &err), &err);
        int n_sent = (int)(len / strlen(sent));
        CHECK(n == n_sent * 12, "long text: %d tokens for %d sentence pairs", n, n_sent);
        char *back = malloc(len + 16);
        if (back) {
            size_t bl = ob_detokenize(tok, bids, n, back, len + 16);
            CHECK(bl == len - 1 && memcmp(back, big, bl) == 0, "long text round trip (%zu vs %zu)", bl,
                  len - 1);
            free(back);
        }
        /* too small an output: OB_ERANGE and the count needed */
        int need = 0;
        CHECK(ob_tokenize(tok, big, len, 0, 0, bids, 5, &need, &err) == OB_ERANGE && need == n,
              "ERANGE with %d needed", need);
    }
    free(big);
    free(bids);

    /* tok_bio_save writes vocab.json + merges.txt that load back the same */
    char dir[64] = "/tmp/ob_biogpt_save_XXXXXX";
    if (mkdtemp(dir)) {
        CHECK_OK(tok_bio_save(tok, dir, &err), &err);
        char v2[128], m2[128], cmd[160];
        snprintf(v2, sizeof v2, "%s/vocab.json", dir);
        snprintf(m2, sizeof m2, "%s/merges.txt", dir);
        ob_tokenizer *again = NULL;
        CHECK_OK(ob_tokenizer_load_biogpt(v2, m2, &again, &err), &err);
        if (again) {
            EXPECT(again, "The proteins binds DNA, It's IL-6 in qq.", 1, 0, NULL, 2, 5, 17, 19, 16, 18, 7, 8,
                   14, 20, 21, 12, 10, 11, 15, 3, 3, 3, 13);
            ob_tokenizer_free(again);
        }
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    ob_tokenizer_free(tok);
}

/* ------------------------------------------------------------- bad input */

static char tmp_[256];

/* Writes tmp_/name (text NULL: none, path names a missing file). */
static void write_tmp(char *path, const char *name, const char *text) {
    if (!text) {
        snprintf(path, 512, "/nonexistent/biogpt/%s", name);
        return;
    }
    snprintf(path, 512, "%s/%s", tmp_, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Loads vocab + merges from strings (NULL: a file that does not exist). */
static int load_tmp(const char *vocab, const char *merges, ob_tokenizer **tok, ob_err *err,
                    char *vpath, char *mpath) {
    write_tmp(vpath, "vocab.json", vocab);
    write_tmp(mpath, "merges.txt", merges);
    return ob_tokenizer_load_biogpt(vpath, mpath, tok, err);
}

static void expect_load_error(const char *label, const char *vocab, const char *merges,
                              int which, const char *phrase) {
    char vpath[512], mpath[512];
    ob_tokenizer *tok = (ob_tokenizer *)1;
    ob_err err = {0};
    int rc = load_tmp(vocab, merges, &tok, &err, vpath, mpath);
    const char *path = which ? mpath : vpath;
    CHECK(rc != 0 && tok == NULL, "%s: loaded anyway", label);
    CHECK(strstr(err.msg, path) != NULL, "%s: error does not name %s: %s", label, path, err.msg);
    CHECK(strstr(err.msg, phrase) != NULL, "%s: error lacks \"%s\": %s", label, phrase, err.msg);
    if (rc == 0) ob_tokenizer_free(tok);
}

static const char SMALL_VOCAB[] =
    "{\"<unk>\": 0, \"a\": 1, \"b\": 2, \"c</w>\": 3, \"ab\": 4, \"bc</w>\": 5, \"</s>\": 6}";

/* Encodes "abc" (a b c</w>) with SMALL_VOCAB and the given merges. */
static void abc_ids(const char *label, const char *merges, const int32_t *want, int n_want) {
    char vpath[512], mpath[512];
    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    int rc = load_tmp(SMALL_VOCAB, merges, &tok, &err, vpath, mpath);
    CHECK(rc == 0, "%s: %s", label, err.msg);
    if (rc) return;
    int32_t ids[8];
    int n = 0;
    rc = ob_tokenize(tok, "abc", 3, 0, 0, ids, 8, &n, &err);
    int same = rc == 0 && n == n_want;
    for (int i = 0; same && i < n; i++) same = ids[i] == want[i];
    CHECK(same, "%s: got %d ids [%d %d %d], want %d [%d %d %d]", label, n, n > 0 ? ids[0] : -1,
          n > 1 ? ids[1] : -1, n > 2 ? ids[2] : -1, n_want, want[0], n_want > 1 ? want[1] : -1,
          n_want > 2 ? want[2] : -1);
    ob_tokenizer_free(tok);
}

#define ABC(label, merges, ...)                                                             \
    do {                                                                                    \
        const int32_t w_[] = {__VA_ARGS__};                                                 \
        abc_ids(label, merges, w_, N_OF(w_));                                               \
    } while (0)

static void test_bad_input(void) {
    snprintf(tmp_, sizeof tmp_, "/tmp/ob_biogpt_XXXXXX");
    if (!mkdtemp(tmp_)) {
        CHECK(0, "mkdtemp");
        return;
    }
    const char *merges = "a b\n";
    expect_load_error("malformed vocab.json", "{\"a\": 1,", merges, 0, "malformed JSON");
    expect_load_error("vocab.json not an object", "[1, 2]", merges, 0, "not a JSON object");
    expect_load_error("vocab.json bad id", "{\"a\": -4}", merges, 0, "no valid id");
    expect_load_error("vocab.json empty", "{}", merges, 0, "empty vocabulary");
    expect_load_error("missing vocab.json", NULL, merges, 0, "cannot open");
    expect_load_error("missing merges.txt", SMALL_VOCAB, NULL, 1, "cannot open");
    expect_load_error("merge with one field", SMALL_VOCAB, "a b\nab\n", 1, ":2: a merge needs two fields");

    /* "abc" = a b c</w>; (a,b) -> ab c</w> = [4 3]; (b,c</w>) -> a bc</w> = [1 5] */
    ABC("a b first", "a b 10\nb c</w> 5\n", 4, 3);
    ABC("b c</w> first", "b c</w>\na b\n", 1, 5);
    /* a "#version" header on line 1 is skipped */
    ABC("header", "#version: 0.2\na b\n", 4, 3);
    /* transformers reads split("\n")[:-1]: an unterminated last line is ignored */
    ABC("no final newline", "b c</w>\na b", 1, 5);
    /* a repeated pair takes its last rank (a dict): (a,b) ranks 2 > 1 */
    ABC("duplicate", "a b\nb c</w>\na b\n", 1, 5);
    /* blank lines and CRLF are fine; no merges at all is fine */
    ABC("blank and CRLF", "\r\n\na b 7\r\n", 4, 3);
    ABC("no merges", "", 1, 2, 3);
    /* "abc</w>" is a merge result but no vocabulary token: <unk> */
    ABC("merged to unk", "b c</w>\na bc</w>\n", 0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_);
}

/* ----------------------------------------------------- tiny BioGPT model */

static void test_model_dir(const char *self) {
    char dir[256], cmd[4096];
    snprintf(dir, sizeof dir, "/tmp/ob_biogpt_model_XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s/tests/ref/make_tiny.py' biogpt_scaled '%s/m' >/dev/null 2>&1 && "
             "cp '%s/tests/data/tokenizer/biogpt/vocab.json' '%s/tests/data/tokenizer/biogpt/merges.txt' '%s/m/'",
             root_, dir, root_, root_, dir);
    if (system(cmd) != 0) {
        printf("skip: tiny BioGPT model (needs /usr/bin/python3 with numpy)\n");
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
        return;
    }
    char mdir[300];
    snprintf(mdir, sizeof mdir, "%s/m", dir);
    ob_err err = {0};
    ob_model *m = NULL;
    ob_load_params lp = ob_load_default_params();
    CHECK_OK(ob_model_load(mdir, &lp, &m, &err), &err);
    const ob_tokenizer *tok = m ? ob_model_tokenizer(m) : NULL;
    CHECK(tok != NULL, "the BioGPT directory has vocab.json + merges.txt but no tokenizer was loaded");
    if (tok) {
        CHECK(ob_tokenizer_n_vocab(tok) == 102 && ob_model_config(m)->n_vocab == 120,
              "tokenizer %d tokens, model %d", ob_tokenizer_n_vocab(tok), ob_model_config(m)->n_vocab);
        /* greedy decoding through the library, pieces as the CLI prints them */
        ob_pool *pool = NULL;
        ob_ctx *ctx = NULL;
        int32_t toks[40];
        int n = 0;
        float logits[120];
        CHECK_OK(ob_tokenize(tok, "The protein binds", 17, 1, 0, toks, 40, &n, &err), &err);
        CHECK(n == 4 && toks[0] == 2 && toks[1] == 5 && toks[2] == 6 && toks[3] == 7, "prompt ids");
        ob_ctx_params cp = ob_ctx_default_params();
        cp.n_ctx = 32;
        if (n == 4 && ob_pool_new(1, &pool, &err) == 0 && ob_ctx_new(m, pool, &cp, &ctx, &err) == 0) {
            int rc = ob_forward(ctx, 0, toks, n, 0, 0, logits, &err);
            for (int step = 0; rc == 0 && step < 8; step++) {
                int32_t best = 0;
                for (int v = 1; v < 120; v++)
                    if (logits[v] > logits[best]) best = v;
                toks[n++] = best;
                rc = ob_forward(ctx, 0, &toks[n - 1], 1, n - 1, 0, logits, &err);
            }
            CHECK(rc == 0, "forward: %s", err.msg);
            char text[512];
            ob_detokenize(tok, toks, n, text, sizeof text);
            CHECK(strncmp(text, "The protein binds", 17) == 0, "decoded \"%s\"", text);
        } else {
            CHECK(0, "context: %s", err.msg);
        }
        ob_ctx_free(ctx);
        ob_pool_free(pool);
    }
    ob_model_free(m);

    /* the CLI beside this test binary (BUILD/tests/.. /optibench) */
    char exe[1024];
    snprintf(exe, sizeof exe, "%s", self);
    char *d = dirname(exe);
    char bin[1100];
    snprintf(bin, sizeof bin, "%s/../optibench", d);
    if (access(bin, X_OK) == 0) {
        snprintf(cmd, sizeof cmd,
                 "'%s' generate -m '%s' -p 'The protein binds DNA.' -n 6 --quiet-stats > '%s/out.txt' 2>&1",
                 bin, mdir, dir);
        int rc = system(cmd);
        char out[512] = "";
        snprintf(cmd, sizeof cmd, "%s/out.txt", dir);
        FILE *f = fopen(cmd, "rb");
        if (f) {
            size_t k = fread(out, 1, sizeof out - 1, f);
            out[k] = 0;
            fclose(f);
        }
        CHECK(rc == 0 && strncmp(out, "The protein binds DNA.", 22) == 0,
              "optibench generate -> %d: %s", rc, out);
    } else {
        printf("skip: %s not built\n", bin);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv) {
    const char *r = getenv("OB_ROOT");
    snprintf(root_, sizeof root_, "%s", r && *r ? r : ".");
    test_moses();
    test_bpe();
    test_bad_input();
    test_model_dir(argc > 0 ? argv[0] : "");
    return CHECK_DONE("test_tokenizer_biogpt");
}

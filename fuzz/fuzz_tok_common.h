/* fuzz_tok_common.h - exercising a loaded tokenizer with fixed texts. */
#ifndef OB_FUZZ_TOK_COMMON_H
#define OB_FUZZ_TOK_COMMON_H
#include "fuzz_common.h"

static const struct {
    const char *s;
    size_t n;
} fz_texts[] = {
#define T(lit) {lit, sizeof(lit) - 1}
    T(""),
    T("Hello world"),
    T(" The quick brown fox, jumps over 12345 lazy dogs!\n"),
    T("  leading spaces\tand\ttabs\r\n\n trailing  "),
    T("h\xc3\xa9llo w\xc3\xb6rld \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82 \xe2\x96\x81x"),
    T("<s>hi</s><unk><|endoftext|><|begin_of_text|><|im_start|>user<|im_end|> <0x41>"),
    T("3.14159 2024-01-01 don't I'm we'll"),
    T("\xff\xfe\xc3( bad \xe2\x82 utf8 \xf4\x90\x80\x80 \xed\xa0\x80"),
    T("nul\0inside\0"),
    T("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
#undef T
};

/* Tokenizes text (retrying once with the size ob_tokenize asks for) into a
 * malloc'd array; returns the count, or -1 on an error. */
static FZ_UNUSED int fz_encode(const ob_tokenizer *tok, const char *s, size_t n, int add_bos, int special,
                     int32_t **out) {
    ob_err err = {0};
    int cap = (int)n + 8, got = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    if (!ids) abort();
    int rc = ob_tokenize(tok, s, n, add_bos, special, ids, cap, &got, &err);
    if (rc == OB_ERANGE) {
        if (got <= cap) abort(); /* ERANGE must report the size needed */
        cap = got;
        int32_t *p = realloc(ids, (size_t)cap * sizeof *ids);
        if (!p) abort();
        ids = p;
        rc = ob_tokenize(tok, s, n, add_bos, special, ids, cap, &got, &err);
        if (rc == OB_ERANGE) abort(); /* the size it asked for must be enough */
    }
    if (rc) {
        free(ids);
        *out = NULL;
        return -1;
    }
    if (got < 0 || got > cap) abort();
    int V = ob_tokenizer_n_vocab(tok);
    for (int i = 0; i < got; i++)
        if (ids[i] < 0 || ids[i] >= V) abort(); /* every id must be in the vocabulary */
    *out = ids;
    return got;
}

/* Decodes ids; returns a malloc'd NUL-terminated string and its length.
 * Checks ob_detokenize against the concatenation of ob_token_to_piece. */
static FZ_UNUSED char *fz_decode(const ob_tokenizer *tok, const int32_t *ids, int n, size_t *len) {
    size_t need = ob_detokenize(tok, ids, n, NULL, 0);
    char *buf = malloc(need + 1);
    if (!buf) abort();
    size_t got = ob_detokenize(tok, ids, n, buf, need + 1);
    if (got != need || buf[need] != 0) abort();
    /* a short buffer truncates and still terminates */
    if (need > 2) {
        char small[3] = {1, 1, 1};
        if (ob_detokenize(tok, ids, n, small, sizeof small) != need || small[2] != 0) abort();
    }
    char piece[512];
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        int k = ob_token_to_piece(tok, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
        if (k < 0) continue;
        if ((size_t)k > sizeof piece) abort();
        if (k == (int)sizeof piece) break; /* maybe truncated: stop comparing */
        if (at + (size_t)k > need || memcmp(buf + at, piece, (size_t)k) != 0) abort();
        at += (size_t)k;
    }
    *len = need;
    return buf;
}

/* Runs every fixed text through tok both ways (parse_special 0/1). */
static FZ_UNUSED void fz_exercise(const ob_tokenizer *tok) {
    int V = ob_tokenizer_n_vocab(tok);
    if (V <= 0) abort();
    int32_t bos = ob_tokenizer_bos(tok), eos = ob_tokenizer_eos(tok);
    if (bos >= V || eos >= V || bos < -1 || eos < -1) abort();
    (void)ob_tokenizer_add_bos_default(tok);
    for (int32_t id = -1; id <= V && id < 300; id++) {
        const char *s = ob_tokenizer_vocab_str(tok, id);
        if ((id < 0 || id >= V) != (s == NULL)) abort();
        if (s) (void)strlen(s);
    }
    (void)ob_tokenizer_vocab_str(tok, V - 1);
    for (size_t t = 0; t < sizeof fz_texts / sizeof fz_texts[0]; t++)
        for (int special = 0; special < 2; special++) {
            int32_t *ids;
            int n = fz_encode(tok, fz_texts[t].s, fz_texts[t].n, special, special, &ids);
            if (n < 0) continue;
            size_t len;
            free(fz_decode(tok, ids, n, &len));
            free(ids);
        }
    /* decoding ids the encoder never makes: out of range, every id in a row */
    int32_t odd[] = {-1, V, 0, V - 1, bos, eos, INT32_MAX, INT32_MIN};
    size_t len;
    free(fz_decode(tok, odd, (int)(sizeof odd / sizeof odd[0]), &len));
    int n_all = V < 2048 ? V : 2048;
    int32_t *all = malloc((size_t)n_all * sizeof *all);
    if (!all) abort();
    for (int i = 0; i < n_all; i++) all[i] = V - 1 - i;
    free(fz_decode(tok, all, n_all, &len));
    free(all);
}

#endif

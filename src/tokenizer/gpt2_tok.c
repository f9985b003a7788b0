/* gpt2_tok.c - GPT-2's original encoder.json + vocab.bpe.
 *
 * encoder.json: one JSON object, token string (bytes_to_unicode-mapped,
 *   "Ġthe") -> id.
 * vocab.bpe: a "#version: 0.2" comment line, then one merge per line,
 *   "left right", in rank order (the first line after the comment is rank 0).
 *
 * Encoding: GPT-2's regex splits the text, each piece's bytes are mapped to
 * their bytes_to_unicode characters and merged by rank (the shared engine in
 * bpe.c).  "<|endoftext|>" is BOS and EOS and the only special token. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

int tok_merge_strings(ob_tokenizer *t, const char *a, size_t an, const char *b, size_t bn,
                      float prio) {
    int32_t ia = tok_vocab_find(&t->v, a, an), ib = tok_vocab_find(&t->v, b, bn);
    if (ia < 0 || ib < 0) return -1;
    char small[256];
    char *cat = an + bn <= sizeof small ? small : malloc(an + bn);
    if (!cat) return OB_ENOMEM;
    memcpy(cat, a, an);
    memcpy(cat + an, b, bn);
    int32_t im = tok_vocab_find(&t->v, cat, an + bn);
    if (cat != small) free(cat);
    if (im < 0) return -1;
    tok_merges_add(&t->merges, ia, ib, im, prio);
    return 0;
}

int tok_json_load(const char *path, int flags, json_t **out, ob_err *err) {
    *out = NULL;
    char *text;
    size_t len;
    int rc = tok_read_file(path, &text, &len, err);
    if (rc) return rc;
    json_error_t je;
    json_t *root = json_loadb(text, len, (size_t)flags | JSON_ALLOW_NUL, &je);
    free(text);
    if (!root)
        return ob_fail(err, OB_EFORMAT, "%s:%d:%d: malformed JSON: %s", path, je.line, je.column,
                       je.text);
    *out = root;
    return 0;
}

/* A tokenizer whose vocabulary is a JSON object token -> id (GPT-2's
 * encoder.json, BioGPT's vocab.json); everything else left empty. */
int tok_load_vocab_json(const char *path, ob_tokenizer **out, ob_err *err) {
    json_t *root;
    int rc = tok_json_load(path, 0, &root, err);
    if (rc) return rc;
    if (!json_is_object(root)) {
        json_decref(root);
        return ob_fail(err, OB_EFORMAT, "%s: not a JSON object of token -> id", path);
    }
    const char *key;
    json_t *val;
    json_int_t max_id = -1;
    json_object_foreach(root, key, val) {
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || id >= (1 << 24)) {
            rc = ob_fail(err, OB_EFORMAT, "%s: token \"%.64s\" has no valid id", path, key);
            json_decref(root); /* key lives in root */
            return rc;
        }
        if (id > max_id) max_id = id;
    }
    if (max_id < 0) {
        json_decref(root);
        return ob_fail(err, OB_EFORMAT, "%s: empty vocabulary", path);
    }
    ob_tokenizer *t;
    if ((rc = tok_new((int)max_id + 1, &t, err, path))) {
        json_decref(root);
        return rc;
    }
    json_object_foreach(root, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        if (tok_vocab_set(&t->v, id, key, strlen(key))) {
            json_decref(root);
            ob_tokenizer_free(t);
            return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        }
    }
    json_decref(root);
    for (int32_t id = 0; id < t->v.n; id++)
        if (t->v.flags[id] & TOKF_PRESENT) tok_vocab_index(&t->v, id);
    *out = t;
    return 0;
}

/* The merges from vocab.bpe. */
static int load_merges(ob_tokenizer *t, const char *path, ob_err *err) {
    char *text;
    size_t len;
    int rc = tok_read_file(path, &text, &len, err);
    if (rc) return rc;
    int rank = 0, line = 0;
    for (char *p = text; p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        char *end = nl ? nl : text + len;
        line++;
        size_t n = (size_t)(end - p);
        if (n && p[n - 1] == '\r') n--;
        if (n && !(line == 1 && p[0] == '#')) {
            char *sp = memchr(p, ' ', n);
            if (!sp || sp == p || sp == p + n - 1) {
                rc = ob_fail(err, OB_EFORMAT, "%s:%d: not a \"left right\" merge", path, line);
                break;
            }
            rc = tok_merge_strings(t, p, (size_t)(sp - p), sp + 1, (size_t)(p + n - sp - 1),
                                   (float)rank++);
            if (rc < 0) {
                rc = ob_fail(err, OB_EFORMAT, "%s:%d: merge \"%.*s\" uses a token not in the vocab",
                             path, line, (int)(n < 64 ? n : 64), p);
                break;
            }
            if (rc) {
                rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
                break;
            }
        }
        p = nl ? nl + 1 : text + len;
    }
    free(text);
    if (!rc && rank == 0) rc = ob_fail(err, OB_EFORMAT, "%s: no merges", path);
    return rc;
}

int ob_tokenizer_load_gpt2(const char *encoder_json, const char *vocab_bpe, ob_tokenizer **out,
                           ob_err *err) {
    if (out) *out = NULL;
    if (!encoder_json || !vocab_bpe || !out)
        return ob_fail(err, OB_EINVAL, "load_gpt2: bad arguments");
    ob_tokenizer *t = NULL;
    int rc = tok_load_vocab_json(encoder_json, &t, err);
    if (rc) return rc;
    if ((rc = load_merges(t, vocab_bpe, err))) goto fail;
    const char *eot = "<|endoftext|>";
    int32_t id = tok_vocab_find(&t->v, eot, strlen(eot));
    if (id >= 0) {
        if (tok_add_added(t, id, 1, 0, 0)) goto oom;
        t->bos = t->eos = id;
    }
    t->add_bos = 0;
    if ((rc = tok_setup_bytelevel(t, err, encoder_json))) goto fail;
    if ((rc = tok_pre_regex(&t->pre[0], tok_gpt2_pattern, strlen(tok_gpt2_pattern), 0,
                            SPLIT_ISOLATED, 0, err, encoder_json)))
        goto fail;
    t->n_pre = 1;
    tok_finish_added(t);
    *out = t;
    return 0;
oom:
    rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", encoder_json);
fail:
    ob_tokenizer_free(t);
    return rc;
}

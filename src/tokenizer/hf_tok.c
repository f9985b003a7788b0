/* hf_tok.c - Hugging Face tokenizer.json (model.type "BPE") and the
 * optional tokenizer_config.json.
 *
 * The parts of tokenizer.json used here:
 *   model: {type: "BPE", vocab: {token: id}, merges: ["a b", ...] or
 *           [["a", "b"], ...] in rank order, byte_fallback, fuse_unk,
 *           ignore_merges, unk_token}
 *   added_tokens: [{id, content, special, lstrip, rstrip, ...}]
 *   normalizer: null | Sequence | Prepend | Replace (String pattern) |
 *               NFC | NFD | NFKC | NFKD | Lowercase
 *   pre_tokenizer: null | Sequence | ByteLevel | Split | Metaspace | Digits |
 *                  Whitespace | WhitespaceSplit
 *   decoder: only inspected: ByteLevel anywhere makes the tokenizer
 *            byte-level; Strip (start > 0) or a prepending Metaspace makes a
 *            SentencePiece-style one drop the dummy-prefix space.
 *   post_processor: TemplateProcessing's "single" tells whether BOS is added.
 * A tokenizer with ByteLevel in its pre-tokenizer or decoder is byte-level
 * (GPT-2, Llama-3, Qwen2); any other is SentencePiece style (Llama-2,
 * Mistral, TinyLlama: "▁" for spaces, <0xNN> byte fallback).
 * tokenizer_config.json, when given, overrides bos_token, eos_token (strings
 * or {"content": ...}, null for none) and add_bos_token. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static const char SPM_SPACE[] = "\xe2\x96\x81"; /* ▁ U+2581 */

typedef struct hf_ctx {
    ob_tokenizer *t;
    const char *path;
    ob_err *err;
} hf_ctx;

static const char *jstr(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int jbool(const json_t *o, const char *key, int def) {
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

/* 1 if j, or any step of a Sequence inside it, has the given type. */
static int has_type(const json_t *j, const char *type) {
    if (!json_is_object(j)) return 0;
    const char *ty = jstr(j, "type");
    if (ty && strcmp(ty, type) == 0) return 1;
    static const char *const lists[] = {"pretokenizers", "normalizers", "decoders", "processors"};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        json_t *arr = json_object_get(j, lists[l]), *item;
        size_t i;
        json_array_foreach(arr, i, item) if (has_type(item, type)) return 1;
    }
    return 0;
}

static char *dup_bytes(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* A Split/Replace pattern: {"String": s} or {"Regex": r}. */
static int get_pattern(hf_ctx *c, const json_t *pat, const char *what, const char **s, size_t *n,
                       int *regex) {
    json_t *v = json_object_get(pat, "String");
    *regex = 0;
    if (!json_is_string(v)) {
        v = json_object_get(pat, "Regex");
        *regex = 1;
    }
    if (!json_is_string(v))
        return ob_fail(c->err, OB_EFORMAT, "%s: %s has no String or Regex pattern", c->path, what);
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

/* ----------------------------------------------------------- normalizers */

static int parse_normalizer(hf_ctx *c, const json_t *j) {
    ob_tokenizer *t = c->t;
    if (!j || json_is_null(j)) return 0;
    const char *ty = jstr(j, "type");
    if (!ty) return ob_fail(c->err, OB_EFORMAT, "%s: normalizer without a type", c->path);
    if (strcmp(ty, "Sequence") == 0) {
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(j, "normalizers"), i, item) {
            int rc = parse_normalizer(c, item);
            if (rc) return rc;
        }
        return 0;
    }
    if (t->n_norm == TOK_MAX_STEPS)
        return ob_fail(c->err, OB_EUNSUP, "%s: more than %d normalizers", c->path, TOK_MAX_STEPS);
    tok_norm nm = {0};
    if (strcmp(ty, "Prepend") == 0) {
        json_t *v = json_object_get(j, "prepend");
        if (!json_is_string(v))
            return ob_fail(c->err, OB_EFORMAT, "%s: Prepend normalizer without \"prepend\"", c->path);
        nm.kind = NORM_PREPEND;
        nm.a_len = json_string_length(v);
        nm.a = dup_bytes(json_string_value(v), nm.a_len);
        if (!nm.a) return ob_fail(c->err, OB_ENOMEM, "%s: out of memory", c->path);
    } else if (strcmp(ty, "Replace") == 0) {
        const char *pat;
        size_t pn;
        int regex, rc = get_pattern(c, json_object_get(j, "pattern"), "Replace normalizer", &pat,
                                    &pn, &regex);
        if (rc) return rc;
        json_t *content = json_object_get(j, "content");
        if (regex || pn == 0 || !json_is_string(content))
            return ob_fail(c->err, OB_EUNSUP,
                           "%s: Replace normalizer: only non-empty String patterns are supported",
                           c->path);
        nm.kind = NORM_REPLACE;
        nm.a_len = pn;
        nm.b_len = json_string_length(content);
        nm.a = dup_bytes(pat, pn);
        nm.b = dup_bytes(json_string_value(content), nm.b_len);
        if (!nm.a || !nm.b) {
            tok_norm_free(&nm);
            return ob_fail(c->err, OB_ENOMEM, "%s: out of memory", c->path);
        }
    } else if (strcmp(ty, "NFC") == 0) {
        nm.kind = NORM_NFC;
    } else if (strcmp(ty, "NFD") == 0) {
        nm.kind = NORM_NFD;
    } else if (strcmp(ty, "NFKC") == 0) {
        nm.kind = NORM_NFKC;
    } else if (strcmp(ty, "NFKD") == 0) {
        nm.kind = NORM_NFKD;
    } else if (strcmp(ty, "Lowercase") == 0) {
        nm.kind = NORM_LOWER;
    } else {
        return ob_fail(c->err, OB_EUNSUP, "%s: normalizer \"%s\" is not supported", c->path, ty);
    }
    t->norm[t->n_norm++] = nm;
    return 0;
}

/* -------------------------------------------------------- pre-tokenizers */

static int split_behavior(const char *b) {
    if (!b) return SPLIT_ISOLATED;
    if (strcmp(b, "Removed") == 0) return SPLIT_REMOVED;
    if (strcmp(b, "Isolated") == 0) return SPLIT_ISOLATED;
    if (strcmp(b, "MergedWithPrevious") == 0) return SPLIT_MERGED_PREV;
    if (strcmp(b, "MergedWithNext") == 0) return SPLIT_MERGED_NEXT;
    if (strcmp(b, "Contiguous") == 0) return SPLIT_CONTIGUOUS;
    return -1;
}

static tok_pre *new_step(hf_ctx *c) {
    if (c->t->n_pre == TOK_MAX_STEPS) return NULL;
    tok_pre *p = &c->t->pre[c->t->n_pre];
    memset(p, 0, sizeof *p);
    return p;
}

/* Adds a regex split step. */
static int add_split(hf_ctx *c, const char *pat, size_t n, int literal, int behavior, int invert) {
    tok_pre *p = new_step(c);
    if (!p) return ob_fail(c->err, OB_EUNSUP, "%s: more than %d pre-tokenizers", c->path, TOK_MAX_STEPS);
    int rc = tok_pre_regex(p, pat, n, literal, behavior, invert, c->err, c->path);
    if (!rc) c->t->n_pre++;
    return rc;
}

static int parse_pre(hf_ctx *c, const json_t *j) {
    ob_tokenizer *t = c->t;
    if (!j || json_is_null(j)) return 0;
    const char *ty = jstr(j, "type");
    if (!ty) return ob_fail(c->err, OB_EFORMAT, "%s: pre_tokenizer without a type", c->path);
    if (strcmp(ty, "Sequence") == 0) {
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(j, "pretokenizers"), i, item) {
            int rc = parse_pre(c, item);
            if (rc) return rc;
        }
        return 0;
    }
    if (strcmp(ty, "ByteLevel") == 0) {
        if (jbool(j, "add_prefix_space", 0)) {
            tok_pre *p = new_step(c);
            if (!p) return ob_fail(c->err, OB_EUNSUP, "%s: too many pre-tokenizers", c->path);
            p->kind = PRE_PREFIX_SPACE;
            t->n_pre++;
        }
        if (!jbool(j, "use_regex", 1)) return 0;
        return add_split(c, tok_gpt2_pattern, strlen(tok_gpt2_pattern), 0, SPLIT_ISOLATED, 0);
    }
    if (strcmp(ty, "Split") == 0) {
        const char *pat;
        size_t pn;
        int regex, rc = get_pattern(c, json_object_get(j, "pattern"), "Split", &pat, &pn, &regex);
        if (rc) return rc;
        int behavior = split_behavior(jstr(j, "behavior"));
        if (behavior < 0)
            return ob_fail(c->err, OB_EUNSUP, "%s: Split behavior \"%s\" is not supported", c->path,
                           jstr(j, "behavior"));
        return add_split(c, pat, pn, !regex, behavior, jbool(j, "invert", 0));
    }
    if (strcmp(ty, "Whitespace") == 0) {
        const char *pat = "\\w+|[^\\w\\s]+";
        return add_split(c, pat, strlen(pat), 0, SPLIT_REMOVED, 1);
    }
    if (strcmp(ty, "WhitespaceSplit") == 0) return add_split(c, "\\s+", 3, 0, SPLIT_REMOVED, 0);
    tok_pre *p = new_step(c);
    if (!p) return ob_fail(c->err, OB_EUNSUP, "%s: too many pre-tokenizers", c->path);
    if (strcmp(ty, "Metaspace") == 0) {
        const char *r = jstr(j, "replacement");
        if (!r) r = SPM_SPACE;
        size_t rl = strlen(r);
        if (rl == 0 || rl >= sizeof p->repl)
            return ob_fail(c->err, OB_EFORMAT, "%s: Metaspace replacement must be one character",
                           c->path);
        p->kind = PRE_METASPACE;
        memcpy(p->repl, r, rl);
        p->repl_len = (int)rl;
        const char *scheme = jstr(j, "prepend_scheme");
        if (scheme)
            p->prepend = strcmp(scheme, "first") == 0   ? PREPEND_FIRST
                         : strcmp(scheme, "never") == 0 ? PREPEND_NEVER
                                                         : PREPEND_ALWAYS;
        else
            p->prepend = jbool(j, "add_prefix_space", 1) ? PREPEND_ALWAYS : PREPEND_NEVER;
        p->split = jbool(j, "split", 1);
    } else if (strcmp(ty, "Digits") == 0) {
        p->kind = PRE_DIGITS;
        p->individual = jbool(j, "individual_digits", 0);
    } else {
        return ob_fail(c->err, OB_EUNSUP, "%s: pre_tokenizer \"%s\" is not supported", c->path, ty);
    }
    t->n_pre++;
    return 0;
}

/* ---------------------------------------------------- decoder, processor */

/* 1 if decoding drops the dummy-prefix space at the start. */
static int decoder_strips(const json_t *j) {
    if (!json_is_object(j)) return 0;
    const char *ty = jstr(j, "type");
    if (!ty) return 0;
    if (strcmp(ty, "Sequence") == 0) {
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(j, "decoders"), i, item) if (decoder_strips(item)) return 1;
        return 0;
    }
    if (strcmp(ty, "Strip") == 0) {
        json_t *start = json_object_get(j, "start");
        return json_is_integer(start) && json_integer_value(start) > 0;
    }
    if (strcmp(ty, "Metaspace") == 0) {
        const char *scheme = jstr(j, "prepend_scheme");
        return scheme ? strcmp(scheme, "never") != 0 : jbool(j, "add_prefix_space", 1);
    }
    return 0;
}

/* From the post-processor: *bos the BOS token name, *add whether it is
 * added (-1 if the post-processor does not say). */
static void parse_post(const json_t *j, const char **bos, int *add) {
    if (!json_is_object(j)) return;
    const char *ty = jstr(j, "type");
    if (!ty) return;
    if (strcmp(ty, "Sequence") == 0) {
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(j, "processors"), i, item) parse_post(item, bos, add);
    } else if (strcmp(ty, "TemplateProcessing") == 0) {
        json_t *first = json_array_get(json_object_get(j, "single"), 0);
        json_t *sp = json_object_get(first, "SpecialToken");
        if (json_is_object(sp) && jstr(sp, "id")) {
            *bos = jstr(sp, "id");
            *add = 1;
        } else if (json_object_get(first, "Sequence")) {
            *add = 0;
        }
    } else if (strcmp(ty, "RobertaProcessing") == 0 || strcmp(ty, "BertProcessing") == 0) {
        json_t *cls = json_array_get(json_object_get(j, "cls"), 0);
        if (json_is_string(cls)) {
            *bos = json_string_value(cls);
            *add = 1;
        }
    }
}

/* tokenizer_config.json's bos_token/eos_token: 0 if absent, 1 if present
 * (*name NULL when it is null). */
static int config_token(const json_t *cfg, const char *key, const char **name) {
    json_t *v = json_object_get(cfg, key);
    *name = NULL;
    if (!v) return 0;
    if (json_is_string(v)) *name = json_string_value(v);
    else if (json_is_object(v)) *name = jstr(v, "content");
    return 1;
}

static int32_t find_name(const ob_tokenizer *t, const char *name) {
    return name ? tok_vocab_find(&t->v, name, strlen(name)) : -1;
}

static int32_t find_first(const ob_tokenizer *t, const char *const *names) {
    for (; *names; names++) {
        int32_t id = find_name(t, *names);
        if (id >= 0) return id;
    }
    return -1;
}

static void setup_special_ids(ob_tokenizer *t, const json_t *root, const json_t *cfg) {
    static const char *const bos_names[] = {"<s>", "<|begin_of_text|>", "<bos>",
                                            "<|startoftext|>", NULL};
    static const char *const eos_names[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>",
                                            "<|im_end|>", NULL};
    const char *tmpl_bos = NULL, *name;
    int tmpl_add = -1;
    parse_post(json_object_get(root, "post_processor"), &tmpl_bos, &tmpl_add);

    if (cfg && config_token(cfg, "bos_token", &name)) t->bos = find_name(t, name);
    else if (tmpl_bos) t->bos = find_name(t, tmpl_bos);
    else {
        t->bos = find_first(t, bos_names);
        if (t->bos < 0 && t->kind == TOK_BYTELEVEL) t->bos = find_name(t, "<|endoftext|>");
    }
    if (cfg && config_token(cfg, "eos_token", &name)) t->eos = find_name(t, name);
    else t->eos = find_first(t, eos_names);

    json_t *ab = cfg ? json_object_get(cfg, "add_bos_token") : NULL;
    if (json_is_boolean(ab)) t->add_bos = json_is_true(ab);
    else if (tmpl_add >= 0) t->add_bos = tmpl_add;
    else t->add_bos = t->kind == TOK_SPM;
    if (t->bos < 0) t->add_bos = 0;
}

/* ------------------------------------------------------------- the model */

/* Vocab strings and added tokens; the index. */
static int load_vocab(hf_ctx *c, const json_t *vocab, const json_t *added) {
    const char *key;
    json_t *val, *item;
    size_t i;
    json_int_t max_id = -1;
    json_object_foreach((json_t *)vocab, key, val) {
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || id >= (1 << 24))
            return ob_fail(c->err, OB_EFORMAT, "%s: vocab token \"%.64s\" has no valid id", c->path,
                           key);
        if (id > max_id) max_id = id;
    }
    json_array_foreach(added, i, item) {
        json_t *idv = json_object_get(item, "id");
        json_int_t id = json_is_integer(idv) ? json_integer_value(idv) : -1;
        if (id < 0 || id >= (1 << 24) || !jstr(item, "content"))
            return ob_fail(c->err, OB_EFORMAT, "%s: added_tokens[%zu] needs an id and a content",
                           c->path, i);
        if (id > max_id) max_id = id;
    }
    if (max_id < 0) return ob_fail(c->err, OB_EFORMAT, "%s: empty vocabulary", c->path);
    int rc = tok_new((int)max_id + 1, &c->t, c->err, c->path);
    if (rc) return rc;
    tok_vocab *v = &c->t->v;
    json_object_foreach((json_t *)vocab, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        if (!(v->flags[id] & TOKF_PRESENT) && tok_vocab_set(v, id, key, strlen(key))) goto oom;
    }
    json_array_foreach(added, i, item) {
        int32_t id = (int32_t)json_integer_value(json_object_get(item, "id"));
        json_t *content = json_object_get(item, "content");
        const char *s = json_string_value(content);
        size_t n = json_string_length(content);
        if (!(v->flags[id] & TOKF_PRESENT) || v->str_len[id] != n ||
            memcmp(tok_vocab_str(v, id), s, n) != 0)
            if (tok_vocab_set(v, id, s, n)) goto oom;
        if (tok_add_added(c->t, id, jbool(item, "special", 0), jbool(item, "lstrip", 0),
                          jbool(item, "rstrip", 0)))
            goto oom;
    }
    for (int32_t id = 0; id < v->n; id++)
        if ((v->flags[id] & (TOKF_PRESENT | TOKF_ADDED)) == TOKF_PRESENT) tok_vocab_index(v, id);
    for (int32_t id = 0; id < v->n; id++)
        if (v->flags[id] & TOKF_ADDED) tok_vocab_index(v, id);
    return 0;
oom:
    return ob_fail(c->err, OB_ENOMEM, "%s: out of memory", c->path);
}

static int load_merges(hf_ctx *c, const json_t *merges) {
    json_t *item;
    size_t i;
    json_array_foreach(merges, i, item) {
        const char *a, *b;
        size_t an, bn;
        if (json_is_string(item)) {
            a = json_string_value(item);
            const char *sp = strchr(a, ' ');
            if (!sp) goto bad;
            an = (size_t)(sp - a);
            b = sp + 1;
            bn = json_string_length(item) - an - 1;
        } else if (json_is_array(item) && json_array_size(item) == 2 &&
                   json_is_string(json_array_get(item, 0)) && json_is_string(json_array_get(item, 1))) {
            a = json_string_value(json_array_get(item, 0));
            an = json_string_length(json_array_get(item, 0));
            b = json_string_value(json_array_get(item, 1));
            bn = json_string_length(json_array_get(item, 1));
        } else {
            goto bad;
        }
        int rc = tok_merge_strings(c->t, a, an, b, bn, (float)i);
        if (rc < 0)
            return ob_fail(c->err, OB_EFORMAT, "%s: merge %zu (\"%.*s\" + \"%.*s\") uses a token not in the vocab",
                           c->path, i, (int)(an < 48 ? an : 48), a, (int)(bn < 48 ? bn : 48), b);
        if (rc) return ob_fail(c->err, OB_ENOMEM, "%s: out of memory", c->path);
    }
    return 0;
bad:
    return ob_fail(c->err, OB_EFORMAT, "%s: merge %zu is neither \"a b\" nor [\"a\", \"b\"]",
                   c->path, i);
}

/* SentencePiece-style pieces: "▁" prints as a space, <0xNN> as its byte. */
static int setup_spm(hf_ctx *c, const json_t *model, const json_t *decoder) {
    ob_tokenizer *t = c->t;
    tok_vocab *v = &t->v;
    int fallback = jbool(model, "byte_fallback", 0);
    t->kind = TOK_SPM;
    t->strip_lead = decoder_strips(decoder);
    for (int32_t id = 0; id < v->n; id++) {
        if ((v->flags[id] & (TOKF_PRESENT | TOKF_ADDED)) != TOKF_PRESENT) continue;
        const char *s = tok_vocab_str(v, id);
        size_t n = v->str_len[id];
        unsigned b;
        char hex[8];
        if (n == 6 && sscanf(s, "<0x%2X>", &b) == 1 && snprintf(hex, sizeof hex, "<0x%02X>", b) == 6 &&
            memcmp(hex, s, 6) == 0) {
            unsigned char byte = (unsigned char)b;
            v->flags[id] |= TOKF_BYTE;
            if (fallback && t->byte_id[b] < 0) t->byte_id[b] = id;
            if (tok_vocab_set_piece(v, id, &byte, 1)) goto oom;
            continue;
        }
        if (tok_vocab_piece_unspm(v, id)) goto oom;
    }
    tok_setup_space_split(t, SPM_SPACE, 3);
    return 0;
oom:
    return ob_fail(c->err, OB_ENOMEM, "%s: out of memory", c->path);
}

static int build(hf_ctx *c, const json_t *root, const json_t *cfg) {
    if (!json_is_object(root))
        return ob_fail(c->err, OB_EFORMAT, "%s: top level is not a JSON object", c->path);
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model))
        return ob_fail(c->err, OB_EFORMAT, "%s: no \"model\" object", c->path);
    const char *type = jstr(model, "type");
    json_t *merges = json_object_get(model, "merges");
    if (type ? strcmp(type, "BPE") != 0 : !merges)
        return ob_fail(c->err, OB_EUNSUP, "%s: model type \"%s\" is not supported (only BPE)",
                       c->path, type ? type : "(none)");
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab))
        return ob_fail(c->err, OB_EFORMAT, "%s: model.vocab is missing or not an object", c->path);
    if (merges && !json_is_array(merges))
        return ob_fail(c->err, OB_EFORMAT, "%s: model.merges is not an array", c->path);
    const char *cont = jstr(model, "continuing_subword_prefix"), *eow = jstr(model, "end_of_word_suffix");
    if ((cont && *cont) || (eow && *eow))
        return ob_fail(c->err, OB_EUNSUP, "%s: BPE with a subword prefix/suffix is not supported",
                       c->path);
    json_t *added = json_object_get(root, "added_tokens");
    int rc = load_vocab(c, vocab, json_is_array(added) ? added : NULL);
    if (rc) return rc;
    ob_tokenizer *t = c->t;
    if ((rc = load_merges(c, merges))) return rc;
    t->unk = find_name(t, jstr(model, "unk_token"));
    t->fuse_unk = jbool(model, "fuse_unk", 0);
    t->ignore_merges = jbool(model, "ignore_merges", 0);
    json_t *pre = json_object_get(root, "pre_tokenizer"), *dec = json_object_get(root, "decoder");
    if ((rc = parse_normalizer(c, json_object_get(root, "normalizer")))) return rc;
    if ((rc = parse_pre(c, pre))) return rc;
    if (has_type(pre, "ByteLevel") || has_type(dec, "ByteLevel"))
        rc = tok_setup_bytelevel(t, c->err, c->path);
    else
        rc = setup_spm(c, model, dec);
    if (rc) return rc;
    setup_special_ids(t, root, cfg);
    if (t->kind == TOK_SPM) {
        if (t->bos >= 0) t->v.flags[t->bos] |= TOKF_CONTROL;
        if (t->eos >= 0) t->v.flags[t->eos] |= TOKF_CONTROL;
    }
    return tok_finish_added(t);
}

int ob_tokenizer_load_hf(const char *json_path, const char *config_path, ob_tokenizer **out,
                         ob_err *err) {
    if (out) *out = NULL;
    if (!json_path || !out) return ob_fail(err, OB_EINVAL, "load_hf: bad arguments");
    json_t *root = NULL, *cfg = NULL;
    int rc = tok_json_load(json_path, 0, &root, err);
    if (rc) return rc;
    if (config_path) {
        /* the config may hold integers too big for json_int_t
         * (model_max_length = 1e30): read numbers as reals there */
        if ((rc = tok_json_load(config_path, JSON_DECODE_INT_AS_REAL, &cfg, err))) {
            json_decref(root);
            return rc;
        }
        if (!json_is_object(cfg)) {
            json_decref(root);
            json_decref(cfg);
            return ob_fail(err, OB_EFORMAT, "%s: top level is not a JSON object", config_path);
        }
    }
    hf_ctx c = {NULL, json_path, err};
    rc = build(&c, root, cfg);
    json_decref(root);
    json_decref(cfg);
    if (rc) {
        ob_tokenizer_free(c.t);
        return rc;
    }
    *out = c.t;
    return 0;
}

/* save_hf.c - writing a SentencePiece-style tokenizer as Hugging Face's
 * tokenizer.json + tokenizer_config.json (the Llama-2 layout):
 *
 *   normalizer     Prepend "▁", Replace " " -> "▁"
 *   model          BPE, byte_fallback, unk "<unk>", vocab {string: id},
 *                  merges ["left right", ...] lowest rank first
 *   decoder        Replace "▁" -> " ", ByteFallback, Fuse, Strip one leading space
 *   post_processor TemplateProcessing that prepends <s>
 *
 * Vocabulary strings are written in SentencePiece spelling: spaces as "▁",
 * byte-fallback tokens as "<0xNN>".  The merges are this tokenizer's merge
 * table ordered by priority (for llama2.c: the merged piece's score, highest
 * first), ties broken by merged id, then left id, so loading the file back
 * gives the same encodings. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static const char SPM_SPACE[] = "\xe2\x96\x81";

char *tok_spm_string(const ob_tokenizer *t, int32_t id) {
    const tok_vocab *v = &t->v;
    if (v->flags[id] & TOKF_BYTE) {
        char *s = malloc(16);
        if (s) {
            int b = -1;
            for (int k = 0; k < 256; k++)
                if (t->byte_id[k] == id) b = k;
            snprintf(s, 16, "<0x%02X>", b < 0 ? 0 : b & 0xff);
        }
        return s;
    }
    const char *s = tok_vocab_str(v, id);
    size_t n = v->str_len[id], k = 0;
    char *out = malloc(3 * n + 1);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(out + k, SPM_SPACE, 3);
            k += 3;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = 0;
    return out;
}

typedef struct {
    float prio;
    int32_t merged, left, right;
} merge_row;

static int cmp_merge(const void *a, const void *b) {
    const merge_row *x = a, *y = b;
    if (x->prio != y->prio) return x->prio < y->prio ? -1 : 1;
    if (x->merged != y->merged) return x->merged < y->merged ? -1 : 1;
    return (x->left > y->left) - (x->left < y->left);
}

static json_t *added_token(int32_t id, const char *content) {
    return json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", id, "content", content, "single_word", 0, "lstrip",
                     0, "rstrip", 0, "normalized", 0, "special", 1);
}

static json_t *build(const ob_tokenizer *t, char **strs) {
    const tok_vocab *v = &t->v;
    json_t *vocab = json_object(), *merges = json_array(), *added = json_array();
    for (int32_t id = 0; id < v->n; id++)
        if (strs[id] && !json_object_get(vocab, strs[id])) json_object_set_new(vocab, strs[id], json_integer(id));
    size_t n = 0;
    for (size_t i = 0; i <= t->merges.mask; i++)
        if (t->merges.slots[i].key != UINT64_MAX) n++;
    merge_row *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) return NULL;
    n = 0;
    for (size_t i = 0; i <= t->merges.mask; i++) {
        const tok_merge_slot *s = &t->merges.slots[i];
        if (s->key == UINT64_MAX) continue;
        rows[n++] = (merge_row){s->prio, s->merged, (int32_t)(s->key >> 32), (int32_t)(s->key & 0xffffffffu)};
    }
    qsort(rows, n, sizeof *rows, cmp_merge);
    for (size_t i = 0; i < n; i++) {
        const char *a = strs[rows[i].left], *b = strs[rows[i].right];
        if (!a || !b) continue;
        char *m = malloc(strlen(a) + strlen(b) + 2);
        if (!m) break;
        sprintf(m, "%s %s", a, b);
        json_array_append_new(merges, json_string(m));
        free(m);
    }
    free(rows);
    int32_t specials[3] = {t->unk, t->bos, t->eos};
    for (int k = 0; k < 3; k++)
        if (specials[k] >= 0 && strs[specials[k]]) json_array_append_new(added, added_token(specials[k], strs[specials[k]]));
    const char *unk = t->unk >= 0 && strs[t->unk] ? strs[t->unk] : "<unk>";
    const char *bos = t->bos >= 0 && strs[t->bos] ? strs[t->bos] : "<s>";
    json_t *model = json_pack("{s:s, s:n, s:s, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout", "unk_token",
                              unk, "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 1, "byte_fallback", 1,
                              "ignore_merges", 0, "vocab", vocab, "merges", merges);
    json_t *normalizer = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:{s:s}, s:s}]}", "type", "Sequence", "normalizers",
                                   "type", "Prepend", "prepend", SPM_SPACE, "type", "Replace", "pattern", "String", " ",
                                   "content", SPM_SPACE);
    json_t *decoder = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}, {s:s}, {s:s}, {s:s, s:s, s:i, s:i}]}", "type", "Sequence",
                                "decoders", "type", "Replace", "pattern", "String", SPM_SPACE, "content", " ", "type",
                                "ByteFallback", "type", "Fuse", "type", "Strip", "content", " ", "start", 1, "stop", 0);
    json_t *post = json_pack("{s:s, s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:{s:{s:s, s:[i], s:[s]}}}", "type",
                             "TemplateProcessing", "single", "SpecialToken", "id", bos, "type_id", 0, "Sequence", "id",
                             "A", "type_id", 0, "special_tokens", bos, "id", bos, "ids", t->bos, "tokens", bos);
    if (t->bos < 0) {
        json_decref(post);
        post = json_null();
    }
    return json_pack("{s:s, s:n, s:n, s:o, s:o, s:n, s:o, s:o, s:o}", "version", "1.0", "truncation", "padding",
                     "added_tokens", added, "normalizer", normalizer, "pre_tokenizer", "post_processor", post,
                     "decoder", decoder, "model", model);
}

int ob_tokenizer_save_hf(const ob_tokenizer *t, const char *dir, ob_err *err) {
    if (t->kind != TOK_SPM)
        return ob_fail(err, OB_EUNSUP, "%s: saving a byte-level tokenizer as tokenizer.json is not supported yet", dir);
    const tok_vocab *v = &t->v;
    char **strs = calloc((size_t)v->n, sizeof *strs);
    if (!strs) return ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    int rc = 0;
    for (int32_t id = 0; id < v->n && !rc; id++)
        if ((v->flags[id] & TOKF_PRESENT) || v->str_len[id])
            if (!(strs[id] = tok_spm_string(t, id))) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    json_t *root = rc ? NULL : build(t, strs);
    if (!rc && !root) rc = ob_fail(err, OB_ENOMEM, "%s: cannot build tokenizer.json", dir);
    char path[2048];
    if (!rc) {
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        if (json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER))
            rc = ob_fail(err, OB_EIO, "%s: cannot write", path);
    }
    if (!rc) {
        json_t *cfg = json_pack("{s:b, s:b, s:s?, s:s?, s:s?, s:s}", "add_bos_token", t->add_bos, "add_eos_token", 0,
                                "bos_token", t->bos >= 0 ? strs[t->bos] : NULL, "eos_token",
                                t->eos >= 0 ? strs[t->eos] : NULL, "unk_token", t->unk >= 0 ? strs[t->unk] : NULL,
                                "tokenizer_class", "LlamaTokenizer");
        snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
        if (!cfg || json_dump_file(cfg, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
            rc = ob_fail(err, OB_EIO, "%s: cannot write", path);
        json_decref(cfg);
    }
    json_decref(root);
    for (int32_t id = 0; id < v->n; id++) free(strs[id]);
    free(strs);
    return rc;
}

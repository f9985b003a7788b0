/* gguf_tok.c - tokenizers from and to GGUF metadata.
 *
 * Keys (llama.cpp's names):
 *   tokenizer.ggml.model        "llama" (SentencePiece) or "gpt2" (byte-level BPE)
 *   tokenizer.ggml.tokens       string per id, SentencePiece spelling ("▁the",
 *                               "<0x0A>") or GPT-2's byte-to-unicode spelling
 *   tokenizer.ggml.scores       f32 per id (llama: merges prefer higher)
 *   tokenizer.ggml.token_type   i32 per id: 1 normal, 2 unknown, 3 control,
 *                               4 user-defined, 5 unused, 6 byte
 *   tokenizer.ggml.merges       "left right" strings in rank order (gpt2)
 *   tokenizer.ggml.{bos,eos,unknown}_token_id, add_bos_token, add_space_prefix
 *
 * A "llama" tokenizer becomes the same engine as llama2.c's tokenizer.bin:
 * spaces are replaced by "▁", one "▁" is prepended to the text, characters
 * are merged by the score of the merged token, and characters without a
 * token fall back to their <0xNN> byte tokens.  Control tokens decode to
 * nothing and are matched in text only with parse_special; user-defined
 * tokens are always matched verbatim. */
#include "tokenizer/gguf_tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static const char SPM_SPACE[] = "\xe2\x96\x81";
#define K_MODEL "tokenizer.ggml.model"
#define K_TOKENS "tokenizer.ggml.tokens"
#define K_SCORES "tokenizer.ggml.scores"
#define K_TYPES "tokenizer.ggml.token_type"
#define K_MERGES "tokenizer.ggml.merges"

typedef struct {
    const ob_gguf *g;
    ob_tokenizer *t;
    const int32_t *types; /* copied, aligned; NULL when absent */
    float *scores;        /* NULL when absent                  */
    ob_err *err;
} gctx;

static int oom(gctx *c) { return ob_fail(c->err, OB_ENOMEM, "%s: out of memory", c->g->path); }

/* An optional id key in [0, n), or def. */
static int opt_id(gctx *c, const char *key, int32_t def, int32_t *out) {
    *out = def;
    if (!ob_gguf_find(c->g, key)) return 0;
    int64_t v;
    int rc = ob_gguf_get_int(c->g, key, 0, c->t->v.n - 1, &v, c->err);
    if (!rc) *out = (int32_t)v;
    return rc;
}

static int opt_bool(gctx *c, const char *key, int def, int *out) {
    *out = def;
    return ob_gguf_find(c->g, key) ? ob_gguf_get_bool(c->g, key, out, c->err) : 0;
}

/* Vocabulary strings, token types and scores (copied out of the file). */
static int read_tokens(gctx *c) {
    const unsigned char *p;
    uint64_t n;
    int rc = ob_gguf_get_array(c->g, K_TOKENS, OB_GGUF_STRING, -1, &p, &n, c->err);
    if (rc) return rc;
    if (n == 0 || n > (1 << 24))
        return ob_fail(c->err, OB_EFORMAT, "%s: key '" K_TOKENS "': %llu tokens (expected 1..2^24)", c->g->path,
                       (unsigned long long)n);
    if ((rc = tok_new((int)n, &c->t, c->err, c->g->path))) return rc;
    ob_gguf_str_iter it;
    ob_gguf_str_iter_init(&it, p, n);
    const char *s;
    size_t len;
    for (int32_t id = 0; ob_gguf_str_next(&it, &s, &len); id++)
        if (tok_vocab_set(&c->t->v, id, s, len)) return oom(c);
    if (ob_gguf_find(c->g, K_TYPES)) {
        if ((rc = ob_gguf_get_array(c->g, K_TYPES, OB_GGUF_I32, (int64_t)n, &p, NULL, c->err))) return rc;
        int32_t *ty = malloc(n * sizeof *ty);
        if (!ty) return oom(c);
        memcpy(ty, p, n * sizeof *ty);
        c->types = ty;
        for (uint64_t i = 0; i < n; i++)
            if (ty[i] < 0 || ty[i] > OB_TOKTYPE_BYTE)
                return ob_fail(c->err, OB_EFORMAT, "%s: key '" K_TYPES "': token %llu has type %d (expected 0..6)",
                               c->g->path, (unsigned long long)i, ty[i]);
    }
    if (ob_gguf_find(c->g, K_SCORES)) {
        if ((rc = ob_gguf_get_array(c->g, K_SCORES, OB_GGUF_F32, (int64_t)n, &p, NULL, c->err))) return rc;
        if (!(c->scores = malloc(n * sizeof *c->scores))) return oom(c);
        memcpy(c->scores, p, n * sizeof *c->scores);
    }
    return 0;
}

static int type_of(const gctx *c, int32_t id) { return c->types ? c->types[id] : OB_TOKTYPE_NORMAL; }

/* Flags, byte tokens, added tokens and pieces of a "llama" vocabulary. */
static int setup_spm_vocab(gctx *c) {
    ob_tokenizer *t = c->t;
    tok_vocab *v = &t->v;
    for (int32_t id = 0; id < v->n; id++) {
        int ty = type_of(c, id);
        const char *s = tok_vocab_str(v, id);
        if (ty == OB_TOKTYPE_BYTE) {
            unsigned b;
            char hex[8];
            if (v->str_len[id] != 6 || sscanf(s, "<0x%2X>", &b) != 1 || snprintf(hex, sizeof hex, "<0x%02X>", b) != 6 ||
                memcmp(hex, s, 6))
                return ob_fail(c->err, OB_EFORMAT, "%s: key '" K_TOKENS "': byte token %d is \"%.32s\", not <0xNN>",
                               c->g->path, id, s);
            unsigned char byte = (unsigned char)b;
            v->flags[id] |= TOKF_BYTE;
            if (t->byte_id[b] < 0) t->byte_id[b] = id;
            if (tok_vocab_set_piece(v, id, &byte, 1)) return oom(c);
            continue;
        }
        if (ty == OB_TOKTYPE_CONTROL) v->flags[id] |= TOKF_CONTROL;
        if ((ty == OB_TOKTYPE_CONTROL || ty == OB_TOKTYPE_USER_DEFINED) &&
            tok_add_added(t, id, ty == OB_TOKTYPE_CONTROL, 0, 0))
            return oom(c);
        if (ty != OB_TOKTYPE_CONTROL && tok_vocab_piece_unspm(v, id)) return oom(c);
        if (ty == OB_TOKTYPE_UNKNOWN && t->unk < 0) t->unk = id;
    }
    for (int32_t id = 0; id < v->n; id++)
        if (!(v->flags[id] & TOKF_BYTE)) tok_vocab_index(v, id);
    return 0;
}

/* Longest SentencePiece token accepted: the merge setup is quadratic in a
 * token's length (SentencePiece's own limit is 16 characters). */
enum { MAX_SPM_TOKEN = 1024 };

static int load_spm(gctx *c) {
    ob_tokenizer *t = c->t;
    for (int32_t id = 0; id < t->v.n; id++)
        if (t->v.str_len[id] > MAX_SPM_TOKEN)
            return ob_fail(c->err, OB_EFORMAT, "%s: key '" K_TOKENS "': token %d is %u bytes long (at most %d)", c->g->path,
                           id, t->v.str_len[id], MAX_SPM_TOKEN);
    int rc = setup_spm_vocab(c), prefix;
    if (rc) return rc;
    int32_t unk = t->unk >= 0 ? t->unk : 0;
    if ((rc = opt_id(c, "tokenizer.ggml.unknown_token_id", unk, &t->unk)) ||
        (rc = opt_id(c, "tokenizer.ggml.bos_token_id", t->v.n > 1 ? 1 : -1, &t->bos)) ||
        (rc = opt_id(c, "tokenizer.ggml.eos_token_id", t->v.n > 2 ? 2 : -1, &t->eos)) ||
        (rc = opt_bool(c, "tokenizer.ggml.add_bos_token", 1, &t->add_bos)) ||
        (rc = opt_bool(c, "tokenizer.ggml.add_space_prefix", 1, &prefix)))
        return rc;
    if (t->bos >= 0) t->v.flags[t->bos] |= TOKF_CONTROL;
    if (t->eos >= 0) t->v.flags[t->eos] |= TOKF_CONTROL;
    if (!c->scores && !(c->scores = calloc((size_t)t->v.n, sizeof *c->scores))) return oom(c);
    tok_spm_score_merges(t, c->scores);
    if (tok_add_norm(t, NORM_REPLACE, 0, " ", SPM_SPACE) ||
        (prefix && tok_add_norm(t, NORM_PREPEND, 1, SPM_SPACE, NULL)))
        return oom(c);
    tok_setup_space_split(t, SPM_SPACE, 3);
    t->kind = TOK_SPM;
    t->strip_lead = prefix;
    t->scores = c->scores;
    c->scores = NULL;
    return 0;
}

static int load_bpe(gctx *c) {
    ob_tokenizer *t = c->t;
    tok_vocab *v = &t->v;
    const char *pre = "gpt2";
    size_t pre_len = 4;
    int rc;
    if (ob_gguf_find(c->g, "tokenizer.ggml.pre") &&
        (rc = ob_gguf_get_str(c->g, "tokenizer.ggml.pre", &pre, &pre_len, c->err)))
        return rc;
    if (!(pre_len == 4 && !memcmp(pre, "gpt2", 4)) && !(pre_len == 7 && !memcmp(pre, "default", 7)))
        return ob_fail(c->err, OB_EUNSUP, "%s: key 'tokenizer.ggml.pre': pre-tokenizer '%.*s' is not supported (only gpt2)",
                       c->g->path, (int)(pre_len < 64 ? pre_len : 64), pre);
    for (int32_t id = 0; id < v->n; id++) {
        int ty = type_of(c, id);
        if ((ty == OB_TOKTYPE_CONTROL || ty == OB_TOKTYPE_USER_DEFINED) &&
            tok_add_added(t, id, ty == OB_TOKTYPE_CONTROL, 0, 0))
            return oom(c);
    }
    for (int32_t id = 0; id < v->n; id++)
        if (!(v->flags[id] & TOKF_ADDED)) tok_vocab_index(v, id);
    for (int32_t id = 0; id < v->n; id++)
        if (v->flags[id] & TOKF_ADDED) tok_vocab_index(v, id);
    const unsigned char *p;
    uint64_t n;
    if ((rc = ob_gguf_get_array(c->g, K_MERGES, OB_GGUF_STRING, -1, &p, &n, c->err))) return rc;
    ob_gguf_str_iter it;
    ob_gguf_str_iter_init(&it, p, n);
    const char *s;
    size_t len;
    for (uint64_t i = 0; ob_gguf_str_next(&it, &s, &len); i++) {
        const char *sp = memchr(s, ' ', len);
        int r = sp && sp > s ? tok_merge_strings(t, s, (size_t)(sp - s), sp + 1, len - (size_t)(sp - s) - 1, (float)i) : -1;
        if (r < 0)
            return ob_fail(c->err, OB_EFORMAT, "%s: key '" K_MERGES "': merge %llu (\"%.*s\") is not two tokens of the vocabulary",
                           c->g->path, (unsigned long long)i, (int)(len < 64 ? len : 64), s);
        if (r) return oom(c);
    }
    if ((rc = tok_setup_bytelevel(t, c->err, c->g->path))) return rc;
    if ((rc = tok_pre_regex(&t->pre[0], tok_gpt2_pattern, strlen(tok_gpt2_pattern), 0, SPLIT_ISOLATED, 0, c->err,
                            c->g->path)))
        return rc;
    t->n_pre = 1;
    if ((rc = opt_id(c, "tokenizer.ggml.unknown_token_id", -1, &t->unk)) ||
        (rc = opt_id(c, "tokenizer.ggml.bos_token_id", -1, &t->bos)) ||
        (rc = opt_id(c, "tokenizer.ggml.eos_token_id", -1, &t->eos)) ||
        (rc = opt_bool(c, "tokenizer.ggml.add_bos_token", 0, &t->add_bos)))
        return rc;
    if (t->bos < 0) t->add_bos = 0;
    return 0;
}

int ob_tokenizer_load_gguf(const ob_gguf *g, ob_tokenizer **out, ob_err *err) {
    *out = NULL;
    const char *model;
    size_t mlen;
    int rc = ob_gguf_get_str(g, K_MODEL, &model, &mlen, err);
    if (rc) return rc;
    int spm = mlen == 5 && !memcmp(model, "llama", 5), bpe = mlen == 4 && !memcmp(model, "gpt2", 4);
    if (!spm && !bpe)
        return ob_fail(err, OB_EUNSUP, "%s: key '" K_MODEL "': tokenizer '%.*s' is not supported (llama, gpt2)", g->path,
                       (int)(mlen < 64 ? mlen : 64), model);
    gctx c = {g, NULL, NULL, NULL, err};
    rc = read_tokens(&c);
    if (!rc) rc = spm ? load_spm(&c) : load_bpe(&c);
    if (!rc) rc = tok_finish_added(c.t);
    free((void *)c.types);
    free(c.scores);
    if (rc) {
        ob_tokenizer_free(c.t);
        return rc;
    }
    *out = c.t;
    return 0;
}

/* ------------------------------------------------------------------ export */

static int32_t token_type(const ob_tokenizer *t, int32_t id) {
    uint8_t f = t->v.flags[id];
    if (f & TOKF_BYTE) return OB_TOKTYPE_BYTE;
    if (id == t->unk) return OB_TOKTYPE_UNKNOWN;
    if ((f & TOKF_CONTROL) || (f & TOKF_SPECIAL)) return OB_TOKTYPE_CONTROL;
    if (f & TOKF_ADDED) return OB_TOKTYPE_USER_DEFINED;
    if (!(f & TOKF_PRESENT)) return OB_TOKTYPE_UNUSED;
    return OB_TOKTYPE_NORMAL;
}

/* Scores: the tokenizer's own, else minus the best merge priority that
 * produces each id (so the best-ranked merges score highest), else 0. */
static float *export_scores(const ob_tokenizer *t) {
    float *sc = calloc((size_t)t->v.n, sizeof *sc);
    if (!sc) return NULL;
    if (t->scores) {
        memcpy(sc, t->scores, (size_t)t->v.n * sizeof *sc);
        return sc;
    }
    uint8_t *seen = calloc((size_t)t->v.n, 1);
    if (!seen) {
        free(sc);
        return NULL;
    }
    for (size_t i = 0; i <= t->merges.mask; i++) {
        const tok_merge_slot *s = &t->merges.slots[i];
        if (s->key == UINT64_MAX || s->merged < 0 || s->merged >= t->v.n) continue;
        if (!seen[s->merged] || -s->prio > sc[s->merged]) sc[s->merged] = -s->prio;
        seen[s->merged] = 1;
    }
    free(seen);
    return sc;
}

int ob_tokenizer_save_gguf(const ob_tokenizer *t, ob_gguf_writer *w, ob_err *err) {
    if (t->kind != TOK_SPM)
        return ob_fail(err, OB_EUNSUP, "GGUF export: only SentencePiece-style tokenizers can be written (this one is %s)",
                       t->kind == TOK_BYTELEVEL ? "byte-level BPE" : "BioGPT's");
    int n = t->v.n, rc = 0;
    char **strs = calloc((size_t)n, sizeof *strs);
    int32_t *types = malloc((size_t)n * sizeof *types);
    float *scores = export_scores(t);
    if (!strs || !types || !scores) rc = ob_fail(err, OB_ENOMEM, "GGUF export: out of memory");
    for (int32_t id = 0; !rc && id < n; id++) {
        types[id] = token_type(t, id);
        if (!(strs[id] = tok_spm_string(t, id))) rc = ob_fail(err, OB_ENOMEM, "GGUF export: out of memory");
    }
    if (!rc) rc = ob_gguf_writer_str(w, K_MODEL, "llama", 5, err);
    if (!rc) rc = ob_gguf_writer_str_array(w, K_TOKENS, (const char *const *)strs, NULL, (uint64_t)n, err);
    if (!rc) rc = ob_gguf_writer_array(w, K_SCORES, OB_GGUF_F32, scores, (uint64_t)n, err);
    if (!rc) rc = ob_gguf_writer_array(w, K_TYPES, OB_GGUF_I32, types, (uint64_t)n, err);
    if (!rc && t->bos >= 0) rc = ob_gguf_writer_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos, err);
    if (!rc && t->eos >= 0) rc = ob_gguf_writer_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)t->eos, err);
    if (!rc && t->unk >= 0) rc = ob_gguf_writer_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)t->unk, err);
    if (!rc) rc = ob_gguf_writer_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos, err);
    if (!rc) rc = ob_gguf_writer_bool(w, "tokenizer.ggml.add_eos_token", 0, err);
    for (int32_t id = 0; strs && id < n; id++) free(strs[id]);
    free(strs);
    free(types);
    free(scores);
    return rc;
}

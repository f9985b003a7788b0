/* tokenizer.c - the public tokenizer API: encoding (added tokens first, then
 * normalizers, pre-tokenizers and BPE per segment), decoding, accessors and
 * the setup helpers the loaders share.
 *
 * Decoding conventions:
 *  - every id decodes to its precomputed piece (the bytes it stands for);
 *  - SentencePiece-style tokenizers mark BOS and EOS as control tokens that
 *    decode to nothing, and drop one leading space from the piece that
 *    follows BOS or starts the text (prev_id < 0), undoing the dummy prefix;
 *  - byte-level tokenizers decode special tokens to their content
 *    ("<|endoftext|>"), so decode(encode(x)) == x there as well;
 *  - BioGPT tokenizers encode and decode through biogpt_tok.c (Moses). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

/* ----------------------------------------------------------------- setup */

int tok_new(int n, ob_tokenizer **out, ob_err *err, const char *path) {
    *out = NULL;
    ob_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    t->bos = t->eos = t->unk = -1;
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    if (tok_vocab_init(&t->v, n) || tok_merges_init(&t->merges, (size_t)n)) {
        ob_tokenizer_free(t);
        return ob_fail(err, OB_ENOMEM, "%s: out of memory for %d tokens", path, n);
    }
    *out = t;
    return 0;
}

int tok_add_added(ob_tokenizer *t, int32_t id, int special, int lstrip, int rstrip) {
    if (t->v.str_len[id] == 0) return 0; /* an empty token can never match */
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id == id) return 0;
    if (t->n_added == t->cap_added) {
        int cap = t->cap_added ? t->cap_added * 2 : 16;
        tok_added *a = realloc(t->added, (size_t)cap * sizeof *a);
        if (!a) return OB_ENOMEM;
        t->added = a;
        t->cap_added = cap;
    }
    tok_added *a = &t->added[t->n_added++];
    a->off = t->v.str_off[id];
    a->len = t->v.str_len[id];
    a->id = id;
    a->first = (uint8_t)t->v.arena[a->off];
    a->special = (uint8_t)!!special;
    a->lstrip = (uint8_t)!!lstrip;
    a->rstrip = (uint8_t)!!rstrip;
    t->v.flags[id] |= TOKF_ADDED | (special ? TOKF_SPECIAL : 0);
    return 0;
}

static int added_cmp(const void *pa, const void *pb) {
    const tok_added *a = pa, *b = pb;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1; /* longest first */
    return a->id < b->id ? -1 : a->id > b->id;
}

int tok_finish_added(ob_tokenizer *t) {
    if (t->n_added) qsort(t->added, (size_t)t->n_added, sizeof *t->added, added_cmp);
    int k = 0;
    for (int c = 0; c < 256; c++) {
        t->added_start[c] = k;
        while (k < t->n_added && t->added[k].first == c) k++;
    }
    t->added_start[256] = k;
    return 0;
}

int tok_setup_bytelevel(ob_tokenizer *t, ob_err *err, const char *path) {
    tok_vocab *v = &t->v;
    t->kind = TOK_BYTELEVEL;
    for (int b = 0; b < 256; b++) {
        char u[4];
        int k = tok_utf8_put(tok_byte_to_cp((unsigned)b), u);
        t->byte_id[b] = tok_vocab_find(v, u, (size_t)k);
    }
    /* Pieces: each character of the vocab string back to its byte; a
     * character that stands for no byte is kept as UTF-8. */
    size_t cap = 64;
    char *tmp = malloc(cap);
    if (!tmp) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    for (int32_t id = 0; id < v->n; id++) {
        if (!(v->flags[id] & TOKF_PRESENT) || (v->flags[id] & TOKF_ADDED)) continue;
        const unsigned char *s = (const unsigned char *)tok_vocab_str(v, id);
        size_t n = v->str_len[id], k = 0;
        if (n > cap) {
            char *p = realloc(tmp, n);
            if (!p) {
                free(tmp);
                return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
            }
            tmp = p;
            cap = n;
        }
        for (size_t i = 0; i < n;) {
            size_t cl = tok_utf8_len(s + i, n - i);
            uint32_t cp = s[i];
            if (cl == 2 && (s[i] & 0xE0) == 0xC0) cp = (uint32_t)(s[i] & 0x1F) << 6 | (s[i + 1] & 0x3F);
            int byte = (cl == 1 && cp >= 0x80) ? -1 : tok_cp_to_byte(cp);
            if (cl <= 2 && byte >= 0) {
                tmp[k++] = (char)byte;
            } else {
                memcpy(tmp + k, s + i, cl);
                k += cl;
            }
            i += cl;
        }
        if (k != n || memcmp(tmp, s, n) != 0) {
            if (tok_vocab_set_piece(v, id, tmp, k)) {
                free(tmp);
                return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
            }
        }
    }
    free(tmp);
    return 0;
}

void tok_setup_space_split(ob_tokenizer *t, const char *mark, size_t len) {
    const tok_vocab *v = &t->v;
    t->space_len = 0;
    if (len == 0 || len > sizeof t->space) return;
    for (int32_t id = 0; id < v->n; id++) {
        if ((v->flags[id] & (TOKF_PRESENT | TOKF_ADDED | TOKF_BYTE)) != TOKF_PRESENT) continue;
        const char *s = tok_vocab_str(v, id);
        size_t n = v->str_len[id];
        for (size_t p = 1; p + len <= n; p++)
            if (memcmp(s + p, mark, len) == 0 && !(p >= len && memcmp(s + p - len, mark, len) == 0))
                return; /* a merge could cross a split point */
    }
    memcpy(t->space, mark, len);
    t->space_len = (int)len;
}

void ob_tokenizer_free(ob_tokenizer *tok) {
    if (!tok) return;
    tok_vocab_free(&tok->v);
    tok_merges_free(&tok->merges);
    tok_bio_free(tok->bio);
    for (int i = 0; i < tok->n_norm; i++) tok_norm_free(&tok->norm[i]);
    for (int i = 0; i < tok->n_pre; i++) tok_pre_free(&tok->pre[i]);
    free(tok->added);
    free(tok->scores);
    free(tok);
}

/* -------------------------------------------------------------- encoding */

static int is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The added token that starts at text[i], or NULL. */
static const tok_added *match_added(const ob_tokenizer *t, const char *text, size_t len, size_t i,
                                    int parse_special) {
    unsigned char c = (unsigned char)text[i];
    for (int k = t->added_start[c]; k < t->added_start[c + 1]; k++) {
        const tok_added *a = &t->added[k];
        if (a->special && !parse_special) continue;
        if (a->len <= len - i && memcmp(text + i, t->v.arena + a->off, a->len) == 0) return a;
    }
    return NULL;
}

/* One segment between added tokens (BioGPT: Moses + fastBPE instead). */
static int encode_segment(tok_work *w, const char *s, size_t n, int at_start) {
    if (w->t->kind == TOK_BIOGPT) return tok_bio_encode_segment(w, s, n);
    return tok_encode_segment(w, s, n, at_start);
}

static int encode_all(tok_work *w, const char *text, size_t len, int parse_special) {
    const ob_tokenizer *t = w->t;
    size_t seg = 0;
    if (t->n_added) {
        for (size_t i = 0; i < len;) {
            const tok_added *a = match_added(t, text, len, i, parse_special);
            if (!a) {
                i++;
                continue;
            }
            size_t end = i;
            if (a->lstrip)
                while (end > seg && is_ws((unsigned char)text[end - 1])) end--;
            int rc = encode_segment(w, text + seg, end - seg, seg == 0);
            if (rc) return rc;
            tok_emit(w, a->id);
            i += a->len;
            if (a->rstrip)
                while (i < len && is_ws((unsigned char)text[i])) i++;
            seg = i;
        }
    }
    return encode_segment(w, text + seg, len - seg, seg == 0);
}

int ob_tokenize(const ob_tokenizer *tok, const char *text, size_t len, int add_bos,
                int parse_special, int32_t *ids, int max_ids, int *n_ids, ob_err *err) {
    if (n_ids) *n_ids = 0;
    if (!tok || !n_ids || (!text && len) || max_ids < 0 || (max_ids > 0 && !ids))
        return ob_fail(err, OB_EINVAL, "tokenize: bad arguments");
    if (len > (size_t)INT_MAX / 2)
        return ob_fail(err, OB_ERANGE, "tokenize: text of %zu bytes too long", len);
    tok_work w;
    memset(&w, 0, sizeof w);
    w.t = tok;
    w.err = err;
    w.ids = ids;
    w.max_ids = max_ids;
    w.md = pcre2_match_data_create(1, NULL);
    if (!w.md) return ob_fail(err, OB_ENOMEM, "tokenize: out of memory");
    tok_cache_init(&w, len);
    if (add_bos && tok->bos >= 0) tok_emit(&w, tok->bos);
    int rc = len ? encode_all(&w, text, len, parse_special) : 0;
    int n = w.n;
    tok_work_free(&w);
    if (rc) return rc;
    *n_ids = n;
    if (n > max_ids)
        return ob_fail(err, OB_ERANGE, "tokenize: %d tokens do not fit in %d", n, max_ids);
    return 0;
}

/* -------------------------------------------------------------- decoding */

/* The bytes id prints as after prev_id; NULL for an invalid id. */
static const char *piece_of(const ob_tokenizer *t, int32_t prev_id, int32_t id, size_t *n) {
    if (!t || id < 0 || id >= t->v.n || !(t->v.flags[id] & TOKF_PRESENT)) return NULL;
    *n = 0;
    if (t->v.flags[id] & TOKF_CONTROL) return "";
    const char *p = t->v.arena + t->v.piece_off[id];
    *n = t->v.piece_len[id];
    if (t->strip_lead && (prev_id < 0 || prev_id == t->bos) && *n && p[0] == ' ') {
        p++;
        (*n)--;
    }
    return p;
}

int ob_token_to_piece(const ob_tokenizer *tok, int32_t prev_id, int32_t id, char *buf,
                      size_t size) {
    if (tok && tok->kind == TOK_BIOGPT) return tok_bio_piece(tok, prev_id, id, buf, size);
    size_t n;
    const char *p = piece_of(tok, prev_id, id, &n);
    if (!p) return -1;
    if (n > size) n = size;
    if (n) memcpy(buf, p, n);
    return (int)n;
}

size_t ob_detokenize(const ob_tokenizer *tok, const int32_t *ids, int n_ids, char *buf,
                     size_t size) {
    if (tok && tok->kind == TOK_BIOGPT) return tok_bio_detokenize(tok, ids, n_ids, buf, size);
    size_t total = 0;
    int32_t prev = -1;
    for (int i = 0; i < n_ids; i++) {
        size_t n;
        const char *p = piece_of(tok, prev, ids[i], &n);
        prev = ids[i];
        if (!p) continue;
        if (size && total < size - 1) {
            size_t k = n < size - 1 - total ? n : size - 1 - total;
            memcpy(buf + total, p, k);
        }
        total += n;
    }
    if (size) buf[total < size - 1 ? total : size - 1] = 0;
    return total;
}

/* ------------------------------------------------------------- accessors */

int ob_tokenizer_n_vocab(const ob_tokenizer *tok) { return tok ? tok->v.n : 0; }
int32_t ob_tokenizer_bos(const ob_tokenizer *tok) { return tok ? tok->bos : -1; }
int32_t ob_tokenizer_eos(const ob_tokenizer *tok) { return tok ? tok->eos : -1; }
int ob_tokenizer_add_bos_default(const ob_tokenizer *tok) { return tok ? tok->add_bos : 0; }

const char *ob_tokenizer_vocab_str(const ob_tokenizer *tok, int32_t id) {
    if (!tok || id < 0 || id >= tok->v.n) return NULL;
    return tok_vocab_str(&tok->v, id);
}

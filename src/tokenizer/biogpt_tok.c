/* biogpt_tok.c - BioGPT's tokenizer (transformers' BioGptTokenizer):
 * Moses tokenization, then fastBPE / XLM-style BPE per Moses token.
 *
 * Files (microsoft/biogpt ships these, no tokenizer.json):
 *   vocab.json: one JSON object, token -> id; word-final pieces end in
 *     "</w>" ("the</w>", "prote", "in</w>");
 *   merges.txt: one merge per line, "left right count" or "left right", in
 *     rank order.  As transformers reads it (read().split("\n")[:-1]), only
 *     newline-terminated lines count; a blank line or a "#version" header
 *     on line 1 is skipped; a later duplicate of a pair takes the later rank.
 *
 * Encoding: special tokens (<s> <pad> </s> <unk>) are matched verbatim when
 * parse_special is set; the text between them goes through the Moses
 * tokenizer (moses.c); each Moses token is split into characters with
 * "</w>" appended to the last one, and adjacent symbols are merged, lowest
 * rank first, while merges.txt has the pair.  The merged strings need not
 * be vocabulary tokens (fastBPE keeps intermediate merges out of the
 * vocabulary), so merging runs over its own symbol table built from
 * merges.txt; each final piece is then looked up in vocab.json, <unk> when
 * absent.  With add_bos the sequence starts with "</s>" (id 2 in BioGPT):
 * build_inputs_with_special_tokens prepends sep_token, not "<s>".
 *
 * Decoding (as decode(ids, skip_special_tokens=True)): special tokens decode
 * to nothing; the pieces are joined, "</w>" marks a word end, and the words
 * go through the Moses detokenizer (entities unescaped, " @-@ " -> "-",
 * punctuation attached).  One token at a time (ob_token_to_piece) a word
 * gets a leading space after a word-final token unless the detokenizer
 * would attach it: closing punctuation and contractions join the previous
 * word, nothing follows an opening bracket or currency sign with a space,
 * "@-@" prints as a bare "-", CJK words join.  Straight quotes, whose side depends on how
 * many came before, get spaces there; ob_detokenize places them exactly. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static const char EOW[] = "</w>";
enum { EOW_LEN = 4 };

/* Per-token decoding class. */
enum {
    BIO_END = 1,    /* ends a word ("...</w>")                          */
    BIO_LEFT = 2,   /* a whole word that joins the previous one (", ")  */
    BIO_RIGHT = 4,  /* a whole word the next one joins ("(", "$")       */
    BIO_CONTR = 8,  /* starts a contraction ("&apos;s")                 */
    BIO_HYPHEN = 16, /* the aggressive-split hyphen "@-@</w>"          */
    BIO_CJK_FIRST = 32, BIO_CJK_LAST = 64 /* CJK words join each other  */
};

struct tok_bio {
    tok_moses *moses;
    tok_vocab sym;            /* merge symbols: string -> symbol id      */
    int32_t n_sym;
    tok_merges merges;        /* (left, right) symbols -> merged, rank   */
    int32_t *rank_l, *rank_r; /* the merges in file order (for saving)   */
    int n_merges;
    uint8_t *cls;             /* per token id: BIO_*                     */
};

void tok_bio_free(struct tok_bio *b) {
    if (!b) return;
    tok_moses_free(b->moses);
    tok_vocab_free(&b->sym);
    tok_merges_free(&b->merges);
    free(b->rank_l);
    free(b->rank_r);
    free(b->cls);
    free(b);
}

/* ------------------------------------------------------------- loading */

/* The symbol id of s, added when new; -1 when out of memory. */
static int32_t intern(struct tok_bio *b, const char *s, size_t n) {
    int32_t id = tok_vocab_find(&b->sym, s, n);
    if (id >= 0) return id;
    if (b->n_sym >= b->sym.n || tok_vocab_set(&b->sym, b->n_sym, s, n)) return -1;
    tok_vocab_index(&b->sym, b->n_sym);
    return b->n_sym++;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static int load_merges(struct tok_bio *b, const char *path, ob_err *err) {
    char *text;
    size_t len;
    int rc = tok_read_file(path, &text, &len, err);
    if (rc) return rc;
    size_t n_lines = 0;
    for (size_t i = 0; i < len; i++) n_lines += text[i] == '\n';
    if (n_lines > (1u << 24)) {
        free(text);
        return ob_fail(err, OB_EFORMAT, "%s: %zu merges are too many", path, n_lines);
    }
    char small[256], *cat = small;
    size_t cat_cap = sizeof small;
    if (tok_vocab_init(&b->sym, (int)(3 * n_lines + 1)) || tok_merges_init(&b->merges, n_lines + 1) ||
        !(b->rank_l = malloc((n_lines + 1) * sizeof *b->rank_l)) ||
        !(b->rank_r = malloc((n_lines + 1) * sizeof *b->rank_r))) {
        rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t line = 0;
    for (char *p = text, *nl; (nl = memchr(p, '\n', (size_t)(text + len - p))); p = nl + 1) {
        line++;
        /* up to three fields: left, right, and anything after */
        const char *f[2];
        size_t fl[2];
        int nf = 0;
        for (char *q = p; q < nl && nf < 2;) {
            while (q < nl && is_blank(*q)) q++;
            if (q == nl) break;
            f[nf] = q;
            while (q < nl && !is_blank(*q)) q++;
            fl[nf] = (size_t)(q - f[nf]);
            nf++;
        }
        if (nf == 0) continue;
        if (line == 1 && fl[0] >= 8 && memcmp(f[0], "#version", 8) == 0) continue;
        if (nf == 1) {
            rc = ob_fail(err, OB_EFORMAT,
                         "%s:%zu: a merge needs two fields (\"left right [count]\"), got \"%.*s\"",
                         path, line, (int)(fl[0] < 64 ? fl[0] : 64), f[0]);
            goto done;
        }
        if (fl[0] + fl[1] > cat_cap) {
            char *c = malloc(fl[0] + fl[1]);
            if (!c) goto oom;
            if (cat != small) free(cat);
            cat = c;
            cat_cap = fl[0] + fl[1];
        }
        memcpy(cat, f[0], fl[0]);
        memcpy(cat + fl[0], f[1], fl[1]);
        int32_t l = intern(b, f[0], fl[0]), r = intern(b, f[1], fl[1]);
        int32_t m = intern(b, cat, fl[0] + fl[1]);
        if (l < 0 || r < 0 || m < 0) goto oom;
        float rank = (float)(line - 1);
        tok_merge_slot *dup = (tok_merge_slot *)tok_merges_find(&b->merges, l, r);
        if (dup) dup->prio = rank; /* a dict: the last occurrence's rank */
        else tok_merges_add(&b->merges, l, r, m, rank);
        b->rank_l[b->n_merges] = l;
        b->rank_r[b->n_merges] = r;
        b->n_merges++;
    }
    goto done;
oom:
    rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
done:
    if (cat != small) free(cat);
    free(text);
    return rc;
}

/* Decoding pieces and classes: the piece is the token without "</w>" and
 * spaces, entities unescaped, "@-@" as "-". */
static int setup_pieces(ob_tokenizer *t, ob_err *err, const char *path) {
    struct tok_bio *b = t->bio;
    tok_vocab *v = &t->v;
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    tok_str piece = {0};
    int rc = 0;
    if (!md) goto oom;
    for (int32_t id = 0; id < v->n; id++) {
        if ((v->flags[id] & (TOKF_PRESENT | TOKF_CONTROL)) != TOKF_PRESENT) continue;
        const char *s = tok_vocab_str(v, id);
        size_t n = v->str_len[id];
        uint8_t c = 0;
        if (n >= EOW_LEN && memcmp(s + n - EOW_LEN, EOW, EOW_LEN) == 0) {
            c |= BIO_END;
            n -= EOW_LEN;
        }
        tok_str raw = {0};
        for (size_t i = 0; i < n; i++)
            if (s[i] != ' ' && tok_str_put(&raw, s + i, 1)) goto oom;
        if ((c & BIO_END) && raw.len == 3 && memcmp(raw.p, "@-@", 3) == 0) {
            c |= BIO_HYPHEN;
            piece.len = 0;
            if (tok_str_put(&piece, "-", 1)) {
                tok_str_free(&raw);
                goto oom;
            }
        } else {
            /* the detokenizer unescapes the joined text; per token here */
            rc = tok_moses_detokenize(b->moses, raw.len ? raw.p : "", raw.len, &piece, err);
            if (rc) {
                tok_str_free(&raw);
                goto done;
            }
            if (piece.len == 0 && raw.len) {
                piece.len = 0;
                if (tok_str_put(&piece, raw.p, raw.len)) {
                    tok_str_free(&raw);
                    goto oom;
                }
            }
        }
        tok_str_free(&raw);
        int mc = piece.len ? tok_moses_class(b->moses, md, piece.p, piece.len) : 0;
        if ((c & BIO_END) && (mc & MOSES_CLOSE)) c |= BIO_LEFT;
        if ((c & BIO_END) && (mc & MOSES_OPEN)) c |= BIO_RIGHT;
        if (mc & MOSES_CONTRACTION) c |= BIO_CONTR;
        if (mc & MOSES_CJK_FIRST) c |= BIO_CJK_FIRST;
        if ((c & BIO_END) && (mc & MOSES_CJK_LAST)) c |= BIO_CJK_LAST;
        b->cls[id] = c;
        if (tok_vocab_set_piece(v, id, piece.len ? piece.p : "", piece.len)) goto oom;
    }
    goto done;
oom:
    rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
done:
    tok_str_free(&piece);
    if (md) pcre2_match_data_free(md);
    return rc;
}

int ob_tokenizer_load_biogpt(const char *vocab_json, const char *merges_txt, ob_tokenizer **out,
                             ob_err *err) {
    if (out) *out = NULL;
    if (!vocab_json || !merges_txt || !out)
        return ob_fail(err, OB_EINVAL, "load_biogpt: bad arguments");
    ob_tokenizer *t = NULL;
    int rc = tok_load_vocab_json(vocab_json, &t, err);
    if (rc) return rc;
    t->kind = TOK_BIOGPT;
    struct tok_bio *b = t->bio = calloc(1, sizeof *b);
    if (!b || !(b->cls = calloc((size_t)t->v.n, 1))) goto oom;
    if ((rc = tok_moses_new(&b->moses, err, vocab_json))) goto fail;
    if ((rc = load_merges(b, merges_txt, err))) goto fail;
    static const char *const specials[] = {"<s>", "<pad>", "</s>", "<unk>"};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
        int32_t id = tok_vocab_find(&t->v, specials[i], strlen(specials[i]));
        if (id < 0) continue;
        if (tok_add_added(t, id, 1, 0, 0)) goto oom;
        t->v.flags[id] |= TOKF_CONTROL;
    }
    t->eos = t->bos = tok_vocab_find(&t->v, "</s>", 4);
    t->unk = tok_vocab_find(&t->v, "<unk>", 5);
    t->add_bos = t->bos >= 0;
    if ((rc = setup_pieces(t, err, vocab_json))) goto fail;
    tok_finish_added(t);
    *out = t;
    return 0;
oom:
    rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", vocab_json);
fail:
    ob_tokenizer_free(t);
    return rc;
}

/* ------------------------------------------------------------ encoding */

typedef struct bsym {
    int32_t sid;        /* merge symbol, -1 if merges.txt never names it */
    int32_t start, end; /* bytes of the word ("</w>" included at the end) */
    int32_t prev, next; /* -1 at the ends; next = -2 once merged away     */
} bsym;

typedef struct bent {
    float rank;
    int32_t pos, left, right, merged;
} bent;

typedef struct bio_work {
    tok_str word;
    bsym *sym;
    size_t sym_cap;
    bent *heap;
    size_t heap_len, heap_cap;
} bio_work;

static int bent_before(const bent *a, const bent *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static int heap_push(bio_work *bw, const bent *e) {
    if (bw->heap_len == bw->heap_cap) {
        size_t cap = bw->heap_cap ? bw->heap_cap * 2 : 64;
        bent *h = realloc(bw->heap, cap * sizeof *h);
        if (!h) return OB_ENOMEM;
        bw->heap = h;
        bw->heap_cap = cap;
    }
    size_t i = bw->heap_len++;
    while (i > 0 && bent_before(e, &bw->heap[(i - 1) / 2])) {
        bw->heap[i] = bw->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    bw->heap[i] = *e;
    return 0;
}

static bent heap_pop(bio_work *bw) {
    bent *h = bw->heap, top = h[0], last = h[--bw->heap_len];
    size_t n = bw->heap_len, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bent_before(&h[c + 1], &h[c])) c++;
        if (!bent_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (n) h[i] = last;
    return top;
}

/* Queues the pair (i, its next) if merges.txt has it. */
static int push_pair(const struct tok_bio *b, bio_work *bw, int32_t i) {
    int32_t j = bw->sym[i].next;
    if (j < 0 || bw->sym[i].sid < 0 || bw->sym[j].sid < 0) return 0;
    const tok_merge_slot *m = tok_merges_find(&b->merges, bw->sym[i].sid, bw->sym[j].sid);
    if (!m) return 0;
    bent e = {m->prio, i, bw->sym[i].sid, bw->sym[j].sid, m->merged};
    return heap_push(bw, &e);
}

/* BPE of one Moses token s[0..n), emitting vocabulary ids. */
static int bpe_token(tok_work *w, bio_work *bw, const char *s, size_t n) {
    const ob_tokenizer *t = w->t;
    const struct tok_bio *b = t->bio;
    if (n == 0) return 0;
    if (n > INT32_MAX / 2) return ob_fail(w->err, OB_ERANGE, "tokenize: word of %zu bytes too long", n);
    bw->word.len = 0;
    if (tok_str_put(&bw->word, s, n) || tok_str_put(&bw->word, EOW, EOW_LEN)) goto oom;
    if (bw->sym_cap < n) {
        bsym *p = realloc(bw->sym, n * sizeof *p);
        if (!p) goto oom;
        bw->sym = p;
        bw->sym_cap = n;
    }
    const char *wd = bw->word.p;
    int32_t k = 0;
    for (size_t i = 0; i < n; k++) {
        size_t cl = tok_utf8_len((const unsigned char *)s + i, n - i);
        bsym *y = &bw->sym[k];
        y->start = (int32_t)i;
        i += cl;
        y->end = (int32_t)(i == n ? n + EOW_LEN : i);
        y->prev = k - 1;
        y->next = i == n ? -1 : k + 1;
        y->sid = tok_vocab_find(&b->sym, wd + y->start, (size_t)(y->end - y->start));
    }
    bw->heap_len = 0;
    for (int32_t i = 0; i + 1 < k; i++)
        if (push_pair(b, bw, i)) goto oom;
    while (bw->heap_len) {
        bent e = heap_pop(bw);
        bsym *l = &bw->sym[e.pos];
        if (l->next < 0 || l->sid != e.left) continue; /* gone, or changed */
        bsym *r = &bw->sym[l->next];
        if (r->sid != e.right) continue;
        l->sid = e.merged;
        l->end = r->end;
        l->next = r->next;
        if (l->next >= 0) bw->sym[l->next].prev = e.pos;
        r->sid = -1;
        r->next = -2;
        if ((l->prev >= 0 && push_pair(b, bw, l->prev)) || push_pair(b, bw, e.pos)) goto oom;
    }
    for (int32_t i = 0; i >= 0; i = bw->sym[i].next) {
        const bsym *y = &bw->sym[i];
        int32_t id = tok_vocab_find(&t->v, wd + y->start, (size_t)(y->end - y->start));
        if (id < 0) id = t->unk;
        if (id < 0)
            return ob_fail(w->err, OB_EFORMAT,
                           "tokenize: \"%.*s\" is not in the vocabulary, which has no <unk>",
                           (int)(y->end - y->start < 64 ? y->end - y->start : 64), wd + y->start);
        tok_emit(w, id);
    }
    return 0;
oom:
    return ob_fail(w->err, OB_ENOMEM, "tokenize: out of memory");
}

int tok_bio_encode_segment(tok_work *w, const char *s, size_t n) {
    tok_str toks = {0};
    bio_work bw;
    memset(&bw, 0, sizeof bw);
    int rc = tok_moses_tokenize(w->t->bio->moses, s, n, &toks, w->err);
    for (size_t i = 0; !rc && i < toks.len;) {
        if (toks.p[i] == ' ') {
            i++;
            continue;
        }
        size_t e = i;
        while (e < toks.len && toks.p[e] != ' ') e++;
        rc = bpe_token(w, &bw, toks.p + i, e - i);
        i = e;
    }
    tok_str_free(&toks);
    tok_str_free(&bw.word);
    free(bw.sym);
    free(bw.heap);
    return rc;
}

/* ------------------------------------------------------------ decoding */

static int usable(const ob_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->v.n && (t->v.flags[id] & TOKF_PRESENT);
}

int tok_bio_piece(const ob_tokenizer *t, int32_t prev_id, int32_t id, char *buf, size_t size) {
    if (!usable(t, id)) return -1;
    if (t->v.flags[id] & TOKF_CONTROL) return 0;
    const uint8_t *cls = t->bio->cls;
    uint8_t c = cls[id];
    int space = 0;
    if (usable(t, prev_id) && prev_id != t->bos) {
        /* other special tokens (<unk>, <pad>) print nothing but end a word */
        uint8_t p = (t->v.flags[prev_id] & TOKF_CONTROL) ? BIO_END : cls[prev_id];
        space = (p & BIO_END) && !(p & (BIO_RIGHT | BIO_HYPHEN)) &&
                !(c & (BIO_LEFT | BIO_CONTR | BIO_HYPHEN)) &&
                !((p & BIO_CJK_LAST) && (c & BIO_CJK_FIRST));
    }
    size_t k = 0, n = t->v.piece_len[id];
    if (space && k < size) buf[k++] = ' ';
    if (n > size - k) n = size - k;
    if (n) memcpy(buf + k, t->v.arena + t->v.piece_off[id], n);
    return (int)(k + n);
}

size_t tok_bio_detokenize(const ob_tokenizer *t, const int32_t *ids, int n_ids, char *buf,
                          size_t size) {
    tok_str words = {0}, text = {0};
    ob_err err = {0};
    size_t total = 0;
    int ok = 1;
    for (int i = 0; ok && i < n_ids; i++) {
        if (!usable(t, ids[i]) || (t->v.flags[ids[i]] & TOKF_CONTROL)) continue;
        const char *s = tok_vocab_str(&t->v, ids[i]);
        size_t n = t->v.str_len[ids[i]];
        for (size_t j = 0; ok && j < n;) { /* drop spaces, "</w>" -> " " */
            if (n - j >= EOW_LEN && memcmp(s + j, EOW, EOW_LEN) == 0) {
                ok = !tok_str_put(&words, " ", 1);
                j += EOW_LEN;
            } else {
                ok = s[j] == ' ' || !tok_str_put(&words, s + j, 1);
                j++;
            }
        }
    }
    if (ok && words.len) ok = !tok_moses_detokenize(t->bio->moses, words.p, words.len, &text, &err);
    if (ok) total = text.len;
    if (size) {
        size_t k = total < size - 1 ? total : size - 1;
        if (k) memcpy(buf, text.p, k);
        buf[k] = 0;
    }
    tok_str_free(&words);
    tok_str_free(&text);
    return total;
}

/* -------------------------------------------------------------- saving */

int tok_bio_save(const ob_tokenizer *t, const char *dir, ob_err *err) {
    const struct tok_bio *b = t->bio;
    char path[2048];
    json_t *vocab = json_object();
    int rc = vocab ? 0 : ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    for (int32_t id = 0; !rc && id < t->v.n; id++)
        if ((t->v.flags[id] & TOKF_PRESENT) &&
            json_object_set_new(vocab, tok_vocab_str(&t->v, id), json_integer(id)))
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    if (!rc && json_dump_file(vocab, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII))
        rc = ob_fail(err, OB_EIO, "%s: cannot write", path);
    json_decref(vocab);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return ob_fail(err, OB_EIO, "%s: cannot write", path);
    for (int i = 0; i < b->n_merges; i++)
        fprintf(f, "%s %s\n", tok_vocab_str(&b->sym, b->rank_l[i]),
                tok_vocab_str(&b->sym, b->rank_r[i]));
    if (ferror(f) | fclose(f)) return ob_fail(err, OB_EIO, "%s: write failed", path);
    return 0;
}

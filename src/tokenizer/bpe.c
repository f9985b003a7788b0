/* bpe.c - the BPE engine shared by every tokenizer.
 *
 * A word becomes a doubly linked list of symbols (token ids): one per raw
 * byte for byte-level BPE, one per UTF-8 character for SentencePiece-style
 * BPE (characters missing from the vocabulary fall back to byte tokens, or
 * to unk).  Every adjacent pair found in the merge table goes into a binary
 * min-heap ordered by (priority, position).  Popping the best pair merges it
 * in place (the left symbol takes the merged id, the right one is unlinked)
 * and pushes the two new pairs it forms with its neighbours; entries whose
 * symbols have changed since they were pushed are skipped when popped.
 * That is O(n log n) per word and equals the classic "merge the best pair,
 * leftmost first" loop.
 *
 * SentencePiece-style text has no pre-tokenizer, so a "word" can be the
 * whole input; it is cut before each space marker that follows another
 * character when the vocabulary makes that exact (tok_setup_space_split).
 * For long inputs a per-call cache maps short words to their ids. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

int tok_work_buf(tok_work *w, int i, size_t cap) {
    if (w->buf_cap[i] >= cap) return 0;
    size_t c = w->buf_cap[i] ? w->buf_cap[i] : 256;
    while (c < cap) c *= 2;
    char *p = realloc(w->buf[i], c);
    if (!p) return ob_fail(w->err, OB_ENOMEM, "tokenize: out of memory (%zu bytes)", c);
    w->buf[i] = p;
    w->buf_cap[i] = c;
    return 0;
}

static int ent_before(const tok_ent *a, const tok_ent *b) {
    return a->prio < b->prio || (a->prio == b->prio && a->pos < b->pos);
}

static int heap_push(tok_work *w, const tok_ent *e) {
    if (w->heap_len == w->heap_cap) {
        size_t cap = w->heap_cap ? w->heap_cap * 2 : 64;
        tok_ent *h = realloc(w->heap, cap * sizeof *h);
        if (!h) return ob_fail(w->err, OB_ENOMEM, "tokenize: out of memory");
        w->heap = h;
        w->heap_cap = cap;
    }
    tok_ent *h = w->heap;
    size_t i = w->heap_len++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ent_before(e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = *e;
    return 0;
}

static tok_ent heap_pop(tok_work *w) {
    tok_ent *h = w->heap;
    tok_ent top = h[0], last = h[--w->heap_len];
    size_t n = w->heap_len, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && ent_before(&h[c + 1], &h[c])) c++;
        if (!ent_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (n) h[i] = last;
    return top;
}

/* Pushes the pair (i, next of i) if the merge table knows it. */
static int push_pair(tok_work *w, int32_t i) {
    int32_t j = w->sym[i].next;
    if (j < 0) return 0;
    const tok_merge_slot *m = tok_merges_find(&w->t->merges, w->sym[i].id, w->sym[j].id);
    if (!m) return 0;
    tok_ent e = {m->prio, i, w->sym[i].id, w->sym[j].id, m->merged};
    return heap_push(w, &e);
}

/* Merges w->sym[0..n) and emits the result. */
static int merge_and_emit(tok_work *w, int32_t n) {
    tok_sym *sym = w->sym;
    w->heap_len = 0;
    for (int32_t i = 0; i + 1 < n; i++)
        if (push_pair(w, i)) return OB_ENOMEM;
    while (w->heap_len) {
        tok_ent e = heap_pop(w);
        tok_sym *l = &sym[e.pos];
        if (l->id != e.left_id) continue;
        int32_t r = l->next;
        if (r < 0 || sym[r].id != e.right_id) continue;
        l->id = e.merged;
        l->next = sym[r].next;
        if (l->next >= 0) sym[l->next].prev = e.pos;
        sym[r].id = -1;
        if (l->prev >= 0 && push_pair(w, l->prev)) return OB_ENOMEM;
        if (push_pair(w, e.pos)) return OB_ENOMEM;
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) tok_emit(w, sym[i].id);
    return 0;
}

static int ensure_syms(tok_work *w, size_t n) {
    if (w->sym_cap >= n) return 0;
    size_t cap = w->sym_cap ? w->sym_cap : 64;
    while (cap < n) cap *= 2;
    tok_sym *s = realloc(w->sym, cap * sizeof *s);
    if (!s) return ob_fail(w->err, OB_ENOMEM, "tokenize: out of memory");
    w->sym = s;
    w->sym_cap = cap;
    return 0;
}

static void add_sym(tok_work *w, int32_t *n, int32_t id) {
    tok_sym *s = &w->sym[*n];
    s->id = id;
    s->prev = *n - 1;
    s->next = -1;
    if (*n > 0) w->sym[*n - 1].next = *n;
    (*n)++;
}

/* Byte-level: one symbol per byte (its bytes_to_unicode character). */
static int word_bytelevel(tok_work *w, const unsigned char *s, size_t len) {
    const ob_tokenizer *t = w->t;
    if (t->ignore_merges) {
        if (tok_work_buf(w, WBUF_WORD, 2 * len)) return OB_ENOMEM;
        char *m = w->buf[WBUF_WORD];
        size_t k = 0;
        for (size_t i = 0; i < len; i++) k += (size_t)tok_utf8_put(tok_byte_to_cp(s[i]), m + k);
        int32_t id = tok_vocab_find(&t->v, m, k);
        if (id >= 0) {
            tok_emit(w, id);
            return 0;
        }
    }
    if (ensure_syms(w, len)) return OB_ENOMEM;
    int32_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t id = t->byte_id[s[i]];
        if (id < 0) id = t->unk;
        if (id >= 0) add_sym(w, &n, id);
    }
    return n ? merge_and_emit(w, n) : 0;
}

/* SentencePiece style: one symbol per character; unknown characters become
 * byte tokens, or unk (consecutive unknowns fused when fuse_unk). */
static int word_spm(tok_work *w, const unsigned char *s, size_t len) {
    const ob_tokenizer *t = w->t;
    if (ensure_syms(w, len)) return OB_ENOMEM;
    int32_t n = 0;
    int prev_unk = 0;
    for (size_t i = 0; i < len;) {
        size_t k = tok_utf8_len(s + i, len - i);
        int32_t id = tok_vocab_find(&t->v, (const char *)s + i, k);
        if (id >= 0) {
            add_sym(w, &n, id);
            prev_unk = 0;
        } else {
            size_t b = 0;
            while (b < k && t->byte_id[s[i + b]] >= 0) b++;
            if (b == k) { /* every byte has a fallback token */
                for (b = 0; b < k; b++) add_sym(w, &n, t->byte_id[s[i + b]]);
                prev_unk = 0;
            } else if (t->unk >= 0 && !(prev_unk && t->fuse_unk)) {
                add_sym(w, &n, t->unk);
                prev_unk = 1;
            }
        }
        i += k;
    }
    return n ? merge_and_emit(w, n) : 0;
}

typedef int (*word_fn)(tok_work *w, const unsigned char *s, size_t n);
static int cached_word(tok_work *w, const unsigned char *s, size_t n, word_fn fn);

/* SPM words can be long (no pre-tokenizer: the whole text); when the
 * vocab allows (see tok_setup_space_split) they are cut before each space
 * marker that follows another character, and each part merged alone. */
static int words_spm(tok_work *w, const unsigned char *s, size_t n) {
    const ob_tokenizer *t = w->t;
    size_t ml = (size_t)t->space_len;
    if (ml == 0) return cached_word(w, s, n, word_spm);
    size_t start = 0;
    for (size_t i = 1; i + ml <= n; i++) {
        if (s[i] != (unsigned char)t->space[0] || memcmp(s + i, t->space, ml) != 0) continue;
        if (i >= start + ml && memcmp(s + i - ml, t->space, ml) == 0) continue;
        int rc = cached_word(w, s + start, i - start, word_spm);
        if (rc) return rc;
        start = i;
        i += ml - 1;
    }
    return cached_word(w, s + start, n - start, word_spm);
}

int tok_bpe_word(tok_work *w, const char *s, size_t n) {
    if (n == 0) return 0;
    if (n > INT32_MAX) return ob_fail(w->err, OB_ERANGE, "tokenize: word of %zu bytes too long", n);
    if (w->t->kind == TOK_BYTELEVEL) return cached_word(w, (const unsigned char *)s, n, word_bytelevel);
    return words_spm(w, (const unsigned char *)s, n);
}

/* ------------------------------------------------------------ word cache */

void tok_cache_init(tok_work *w, size_t len) {
    tok_cache *c = &w->cache;
    memset(c, 0, sizeof *c);
    if (len < 4096) return; /* not worth it for a prompt */
    size_t slots = len >= (1 << 20) ? (1 << 16) : (1 << 12);
    c->slots = calloc(slots, sizeof *c->slots);
    if (!c->slots) return; /* no cache, no harm */
    c->mask = (uint32_t)(slots - 1);
}

void tok_work_free(tok_work *w) {
    if (w->md) pcre2_match_data_free(w->md);
    free(w->sym);
    free(w->heap);
    for (size_t i = 0; i < sizeof w->buf / sizeof w->buf[0]; i++) free(w->buf[i]);
    free(w->cache.slots);
    free(w->cache.keys);
    free(w->cache.ids);
    memset(w, 0, sizeof *w);
}

/* Appends n items of size sz to a growing array; 0 or OB_ENOMEM. */
static int grow_append(void **arr, size_t *len, size_t *cap, const void *src, size_t n, size_t sz) {
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n) c *= 2;
        void *p = realloc(*arr, c * sz);
        if (!p) return OB_ENOMEM;
        *arr = p;
        *cap = c;
    }
    memcpy((char *)*arr + *len * sz, src, n * sz);
    *len += n;
    return 0;
}

/* Remembers the ids just captured for word s[0..n); a full cache or a
 * failed allocation just stops caching. */
static void cache_put(tok_cache *c, uint64_t h, uint32_t slot, const unsigned char *s, size_t n,
                      const int32_t *ids, int n_ids) {
    if ((c->used + 1) * 2 > (size_t)c->mask + 1) return;
    size_t key_off = c->keys_len, ids_off = c->ids_len;
    if (key_off > UINT32_MAX - n || ids_off > UINT32_MAX - (size_t)n_ids) return;
    if (grow_append((void **)&c->keys, &c->keys_len, &c->keys_cap, s, n, 1) ||
        grow_append((void **)&c->ids, &c->ids_len, &c->ids_cap, ids, (size_t)n_ids, sizeof *ids))
        return;
    tok_cache_ent *e = &c->slots[slot];
    e->hash = h;
    e->key_off = (uint32_t)key_off;
    e->key_len = (uint16_t)n;
    e->ids_off = (uint32_t)ids_off;
    e->n_ids = (uint16_t)n_ids;
    c->used++;
}

/* Runs fn(w, s, n) through the word cache. */
static int cached_word(tok_work *w, const unsigned char *s, size_t n, word_fn fn) {
    tok_cache *c = &w->cache;
    if (!c->slots || n > TOK_CACHE_WORD) return fn(w, s, n);
    uint64_t h = tok_hash_bytes((const char *)s, n) | 1;
    uint32_t i = (uint32_t)h & c->mask;
    for (;; i = (i + 1) & c->mask) {
        const tok_cache_ent *e = &c->slots[i];
        if (e->hash == 0) break;
        if (e->hash == h && e->key_len == n && memcmp(c->keys + e->key_off, s, n) == 0) {
            for (int k = 0; k < e->n_ids; k++) tok_emit(w, c->ids[e->ids_off + k]);
            return 0;
        }
    }
    w->capture = 1;
    w->n_captured = 0;
    int rc = fn(w, s, n);
    w->capture = 0;
    if (!rc && w->n_captured <= TOK_CACHE_WORD + 8)
        cache_put(c, h, i, s, n, w->captured, w->n_captured);
    return rc;
}

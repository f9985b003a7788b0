/* vocab.c - the vocabulary arena and string index, the merge-pair table,
 * and small UTF-8 / GPT-2 byte-mapping helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

/* 64-bit FNV-1a; vocabulary strings are short. */
uint64_t tok_hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static uint64_t hash_pair(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ull;
    key ^= key >> 33;
    return key;
}

/* ------------------------------------------------------------ vocabulary */

int tok_vocab_init(tok_vocab *v, int n) {
    memset(v, 0, sizeof *v);
    v->n = n;
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap <<= 1;
    v->mask = (uint32_t)(cap - 1);
    v->str_off = calloc((size_t)n, sizeof *v->str_off);
    v->str_len = calloc((size_t)n, sizeof *v->str_len);
    v->piece_off = calloc((size_t)n, sizeof *v->piece_off);
    v->piece_len = calloc((size_t)n, sizeof *v->piece_len);
    v->flags = calloc((size_t)n, 1);
    v->slots = malloc(cap * sizeof *v->slots);
    v->arena_cap = 1 << 16;
    v->arena = malloc(v->arena_cap);
    if (!v->str_off || !v->str_len || !v->piece_off || !v->piece_len || !v->flags || !v->slots ||
        !v->arena)
        return OB_ENOMEM;
    memset(v->slots, 0xff, cap * sizeof *v->slots);
    v->arena[0] = 0; /* offset 0: the empty string */
    v->arena_len = 1;
    return 0;
}

void tok_vocab_free(tok_vocab *v) {
    free(v->str_off);
    free(v->str_len);
    free(v->piece_off);
    free(v->piece_len);
    free(v->flags);
    free(v->slots);
    free(v->arena);
    memset(v, 0, sizeof *v);
}

int tok_vocab_append(tok_vocab *v, const void *s, size_t len, uint32_t *off) {
    if (v->arena_len + len + 1 > UINT32_MAX) return OB_ENOMEM;
    if (v->arena_len + len + 1 > v->arena_cap) {
        size_t cap = v->arena_cap;
        while (cap < v->arena_len + len + 1) cap *= 2;
        char *p = realloc(v->arena, cap);
        if (!p) return OB_ENOMEM;
        v->arena = p;
        v->arena_cap = cap;
    }
    *off = (uint32_t)v->arena_len;
    if (len) memcpy(v->arena + v->arena_len, s, len);
    v->arena[v->arena_len + len] = 0;
    v->arena_len += len + 1;
    return 0;
}

int tok_vocab_set(tok_vocab *v, int32_t id, const char *s, size_t len) {
    uint32_t off;
    if (tok_vocab_append(v, s, len, &off)) return OB_ENOMEM;
    v->str_off[id] = v->piece_off[id] = off;
    v->str_len[id] = v->piece_len[id] = (uint32_t)len;
    v->flags[id] |= TOKF_PRESENT;
    return 0;
}

int tok_vocab_set_piece(tok_vocab *v, int32_t id, const void *s, size_t len) {
    uint32_t off;
    if (tok_vocab_append(v, s, len, &off)) return OB_ENOMEM;
    v->piece_off[id] = off;
    v->piece_len[id] = (uint32_t)len;
    return 0;
}

void tok_vocab_index(tok_vocab *v, int32_t id) {
    const char *s = tok_vocab_str(v, id);
    size_t len = v->str_len[id];
    for (uint32_t i = (uint32_t)tok_hash_bytes(s, len) & v->mask;; i = (i + 1) & v->mask) {
        int32_t o = v->slots[i];
        if (o < 0) {
            v->slots[i] = id;
            return;
        }
        if (o == id) return;
        if (v->str_len[o] == len && memcmp(tok_vocab_str(v, o), s, len) == 0) return;
    }
}

int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t len) {
    for (uint32_t i = (uint32_t)tok_hash_bytes(s, len) & v->mask;; i = (i + 1) & v->mask) {
        int32_t o = v->slots[i];
        if (o < 0) return -1;
        if (v->str_len[o] == len && memcmp(tok_vocab_str(v, o), s, len) == 0) return o;
    }
}

/* --------------------------------------------------------------- merges */

int tok_merges_init(tok_merges *m, size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    m->slots = malloc(cap * sizeof *m->slots);
    if (!m->slots) return OB_ENOMEM;
    for (size_t i = 0; i < cap; i++) m->slots[i].key = UINT64_MAX;
    m->mask = (uint32_t)(cap - 1);
    m->n = 0;
    return 0;
}

void tok_merges_free(tok_merges *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static int merges_grow(tok_merges *m) {
    tok_merges bigger;
    if (tok_merges_init(&bigger, (size_t)(m->mask + 1))) return OB_ENOMEM;
    for (uint32_t i = 0; i <= m->mask; i++) {
        tok_merge_slot *s = &m->slots[i];
        if (s->key != UINT64_MAX)
            tok_merges_add(&bigger, (int32_t)(s->key >> 32), (int32_t)(uint32_t)s->key, s->merged,
                           s->prio);
    }
    free(m->slots);
    *m = bigger;
    return 0;
}

void tok_merges_add(tok_merges *m, int32_t left, int32_t right, int32_t merged, float prio) {
    if ((m->n + 1) * 2 > (size_t)m->mask + 1 && merges_grow(m)) return;
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (uint32_t i = (uint32_t)hash_pair(key) & m->mask;; i = (i + 1) & m->mask) {
        tok_merge_slot *s = &m->slots[i];
        if (s->key == key) return;
        if (s->key == UINT64_MAX) {
            s->key = key;
            s->merged = merged;
            s->prio = prio;
            m->n++;
            return;
        }
    }
}

const tok_merge_slot *tok_merges_find(const tok_merges *m, int32_t left, int32_t right) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (uint32_t i = (uint32_t)hash_pair(key) & m->mask;; i = (i + 1) & m->mask) {
        const tok_merge_slot *s = &m->slots[i];
        if (s->key == key) return s;
        if (s->key == UINT64_MAX) return NULL;
    }
}

/* ---------------------------------------------------------------- UTF-8 */

int tok_utf8_put(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t tok_utf8_len(const unsigned char *s, size_t n) {
    size_t k = 1;
    while (k < 4 && k < n && (s[k] & 0xC0) == 0x80) k++;
    return k;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes ('!'..'~', '¡'..'¬',
 * '®'..'ÿ') stand for themselves; the other 68 bytes, in increasing order,
 * take codepoints 256, 257, ...: 0..32 -> 256..288, 127..160 -> 289..322,
 * 173 -> 323. */
uint32_t tok_byte_to_cp(unsigned b) {
    if (b <= 32) return 256 + b;
    if (b >= 127 && b <= 160) return 289 + (b - 127);
    if (b == 173) return 323;
    return b;
}

int tok_cp_to_byte(uint32_t cp) {
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255))
        return (int)cp;
    if (cp >= 256 && cp <= 288) return (int)(cp - 256);
    if (cp >= 289 && cp <= 322) return (int)(cp - 289 + 127);
    if (cp == 323) return 173;
    return -1;
}

/* ----------------------------------------------------------------- files */

int tok_read_file(const char *path, char **out, size_t *len, ob_err *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ob_fail(err, OB_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int oom = !buf;
    while (!oom) {
        if (n + 1 >= cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                oom = 1;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (oom || ioerr) {
        free(buf);
        return ob_fail(err, oom ? OB_ENOMEM : OB_EIO, "%s: %s", path,
                       oom ? "out of memory" : "read failed");
    }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return 0;
}

int tok_vocab_piece_unspm(tok_vocab *v, int32_t id) {
    static const char spm_space[] = "\xe2\x96\x81";
    const char *s = tok_vocab_str(v, id);
    size_t n = v->str_len[id];
    if (!memmem(s, n, spm_space, 3)) return 0;
    char *p = malloc(n);
    if (!p) return OB_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && memcmp(s + i, spm_space, 3) == 0) {
            p[k++] = ' ';
            i += 3;
        } else {
            p[k++] = s[i++];
        }
    }
    int rc = tok_vocab_set_piece(v, id, p, k);
    free(p);
    return rc;
}

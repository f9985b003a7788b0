/* pretok.c - normalizers and pre-tokenizers: what happens to a segment of
 * text (the input between added tokens) before BPE.
 *
 * Normalizers rewrite the whole segment (ping-ponging between two work
 * buffers).  Pre-tokenizer steps run as a recursion: step i splits (and for
 * Metaspace/prefix-space, rewrites into its own work buffer) the piece it is
 * given and hands each sub-piece to step i+1; past the last step the piece
 * is one BPE word.  Nothing is materialised as a list, so megabytes of text
 * stream through in constant extra memory per word. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/tokenizer_internal.h"

const char tok_gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

int tok_pre_regex(tok_pre *p, const char *pattern, size_t len, int literal, int behavior,
                  int invert, ob_err *err, const char *path) {
    int ec;
    PCRE2_SIZE eo;
    /* PCRE2_LITERAL admits no PCRE2_UCP (nothing to classify then) */
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    memset(p, 0, sizeof *p);
    p->kind = PRE_SPLIT;
    p->behavior = behavior;
    p->invert = invert;
    p->re = pcre2_compile((PCRE2_SPTR)pattern, len, opts, &ec, &eo, NULL);
    if (!p->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return ob_fail(err, OB_EFORMAT, "%s: bad split regex at offset %zu: %s", path, (size_t)eo,
                       (const char *)msg);
    }
    pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE); /* an interpreter fallback is fine */
    return 0;
}

void tok_pre_free(tok_pre *p) {
    if (p->re) pcre2_code_free(p->re);
    p->re = NULL;
}

void tok_norm_free(tok_norm *n) {
    free(n->a);
    free(n->b);
    n->a = n->b = NULL;
}

/* ----------------------------------------------------------- normalizers */

/* Applies normalizer nm to s[0..n) into buffer bi; *out, *out_n: the result
 * (which may be s itself when nothing changes). */
static int normalize(tok_work *w, const tok_norm *nm, int bi, const char *s, size_t n,
                     int at_start, const char **out, size_t *out_n) {
    *out = s;
    *out_n = n;
    switch (nm->kind) {
    case NORM_PREPEND:
        if (n == 0 || (nm->first_only && !at_start)) return 0;
        if (tok_work_buf(w, bi, nm->a_len + n)) return OB_ENOMEM;
        memcpy(w->buf[bi], nm->a, nm->a_len);
        memcpy(w->buf[bi] + nm->a_len, s, n);
        *out = w->buf[bi];
        *out_n = nm->a_len + n;
        return 0;
    case NORM_REPLACE: {
        size_t count = 0;
        for (size_t i = 0; i + nm->a_len <= n;) {
            if (memcmp(s + i, nm->a, nm->a_len) == 0) {
                count++;
                i += nm->a_len;
            } else {
                i++;
            }
        }
        if (count == 0) return 0;
        size_t cap = n + count * nm->b_len;
        if (tok_work_buf(w, bi, cap)) return OB_ENOMEM;
        char *o = w->buf[bi];
        size_t k = 0;
        for (size_t i = 0; i < n;) {
            if (i + nm->a_len <= n && memcmp(s + i, nm->a, nm->a_len) == 0) {
                memcpy(o + k, nm->b, nm->b_len);
                k += nm->b_len;
                i += nm->a_len;
            } else {
                o[k++] = s[i++];
            }
        }
        *out = o;
        *out_n = k;
        return 0;
    }
    case NORM_LOWER: {
        if (tok_work_buf(w, bi, n * 2 + 4)) return OB_ENOMEM;
        char *o = w->buf[bi];
        size_t k = 0;
        for (size_t i = 0; i < n;) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t r =
                utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
            if (r <= 0) { /* invalid UTF-8: keep the byte */
                o[k++] = s[i++];
                continue;
            }
            char tmp[4];
            int m;
            if (cp == 0x130) { /* İ lowercases to i + U+0307 (SpecialCasing.txt) */
                memcpy(tmp, "i\xcc\x87", 3);
                m = 3;
            } else {
                m = tok_utf8_put((uint32_t)utf8proc_tolower(cp), tmp);
            }
            if (k + (size_t)m > n * 2 + 4) break; /* cannot happen: lowercase never triples */
            memcpy(o + k, tmp, (size_t)m);
            k += (size_t)m;
            i += (size_t)r;
        }
        *out = o;
        *out_n = k;
        return 0;
    }
    default: { /* NFC, NFD, NFKC, NFKD */
        size_t i = 0;
        while (i < n && (unsigned char)s[i] < 0x80) i++;
        if (i == n) return 0; /* ASCII is in every normal form already */
        int opt = UTF8PROC_STABLE;
        if (nm->kind == NORM_NFC || nm->kind == NORM_NFKC) opt |= UTF8PROC_COMPOSE;
        else opt |= UTF8PROC_DECOMPOSE;
        if (nm->kind == NORM_NFKC || nm->kind == NORM_NFKD) opt |= UTF8PROC_COMPAT;
        utf8proc_uint8_t *dst = NULL;
        utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst,
                                          (utf8proc_option_t)opt);
        if (r < 0) { /* invalid UTF-8 (or no memory): leave the text as it is */
            free(dst);
            return 0;
        }
        int rc = tok_work_buf(w, bi, (size_t)r + 1);
        if (!rc) {
            memcpy(w->buf[bi], dst, (size_t)r);
            *out = w->buf[bi];
            *out_n = (size_t)r;
        }
        free(dst);
        return rc;
    }
    }
}

/* --------------------------------------------------------- pre-tokenizers */

static int run_pre(tok_work *w, int step, const char *s, size_t n, int at_start);

/* The state of one split: pieces go to step+1 according to the behaviour. */
typedef struct splitter {
    tok_work *w;
    int step, behavior, at_start;
    const char *base;
    size_t start;             /* MERGED_*: where the pending piece begins */
    size_t dstart, dend;      /* CONTIGUOUS: the pending delimiter run     */
    int have_delim;
} splitter;

static int emit_piece(splitter *sp, size_t a, size_t b) {
    if (b <= a) return 0;
    return run_pre(sp->w, sp->step + 1, sp->base + a, b - a, sp->at_start && a == 0);
}

/* One span [a, b) of the input, a delimiter or not, in order. */
static int split_span(splitter *sp, int delim, size_t a, size_t b) {
    if (b <= a) return 0;
    switch (sp->behavior) {
    case SPLIT_REMOVED:
        return delim ? 0 : emit_piece(sp, a, b);
    case SPLIT_ISOLATED:
        return emit_piece(sp, a, b);
    case SPLIT_MERGED_PREV:
        if (!delim) return 0;
        {
            int rc = emit_piece(sp, sp->start, b);
            sp->start = b;
            return rc;
        }
    case SPLIT_MERGED_NEXT:
        if (!delim) return 0;
        {
            int rc = emit_piece(sp, sp->start, a);
            sp->start = a;
            return rc;
        }
    default: /* SPLIT_CONTIGUOUS */
        if (delim) {
            if (sp->have_delim && sp->dend == a) {
                sp->dend = b;
                return 0;
            }
            int rc = sp->have_delim ? emit_piece(sp, sp->dstart, sp->dend) : 0;
            sp->have_delim = 1;
            sp->dstart = a;
            sp->dend = b;
            return rc;
        } else {
            int rc = sp->have_delim ? emit_piece(sp, sp->dstart, sp->dend) : 0;
            sp->have_delim = 0;
            return rc ? rc : emit_piece(sp, a, b);
        }
    }
}

static int split_end(splitter *sp, size_t n) {
    switch (sp->behavior) {
    case SPLIT_MERGED_PREV:
    case SPLIT_MERGED_NEXT:
        return emit_piece(sp, sp->start, n);
    case SPLIT_CONTIGUOUS:
        return sp->have_delim ? emit_piece(sp, sp->dstart, sp->dend) : 0;
    default:
        return 0;
    }
}

static int pre_split(tok_work *w, int step, const tok_pre *p, const char *s, size_t n,
                     int at_start) {
    splitter sp = {w, step, p->behavior, at_start, s, 0, 0, 0, 0};
    size_t pos = 0, gap = 0;
    int rc = 0;
    while (pos < n) {
        int m = pcre2_match(p->re, (PCRE2_SPTR)s, n, pos, 0, w->md, NULL);
        if (m == PCRE2_ERROR_NOMATCH) break;
        if (m < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(m, msg, sizeof msg);
            return ob_fail(w->err, OB_EINVAL, "tokenize: regex match failed: %s",
                           (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) { /* an empty match splits nothing: step over a character */
            if (ms >= n) break;
            pos = ms + tok_utf8_len((const unsigned char *)s + ms, n - ms);
            continue;
        }
        if ((rc = split_span(&sp, p->invert, gap, ms))) return rc;
        if ((rc = split_span(&sp, !p->invert, ms, me))) return rc;
        gap = pos = me;
    }
    if ((rc = split_span(&sp, p->invert, gap, n))) return rc;
    return split_end(&sp, n);
}

/* Metaspace: ' ' -> replacement, maybe a leading replacement, maybe split
 * so that every piece starts with the replacement. */
static int pre_metaspace(tok_work *w, int step, const tok_pre *p, const char *s, size_t n,
                         int at_start) {
    if (n == 0) return 0;
    size_t rl = (size_t)p->repl_len, spaces = 0;
    for (size_t i = 0; i < n; i++) spaces += s[i] == ' ';
    int bi = WBUF_PRE + step;
    if (tok_work_buf(w, bi, n + (spaces + 1) * rl)) return OB_ENOMEM;
    char *o = w->buf[bi];
    size_t k = 0;
    int starts = s[0] == ' ' || (n >= rl && memcmp(s, p->repl, rl) == 0);
    if (!starts && (p->prepend == PREPEND_ALWAYS || (p->prepend == PREPEND_FIRST && at_start))) {
        memcpy(o, p->repl, rl);
        k = rl;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(o + k, p->repl, rl);
            k += rl;
        } else {
            o[k++] = s[i];
        }
    }
    if (!p->split) return run_pre(w, step + 1, o, k, at_start);
    size_t start = 0;
    for (size_t i = 1; i + rl <= k; i++) {
        if (memcmp(o + i, p->repl, rl) == 0) {
            int rc = run_pre(w, step + 1, o + start, i - start, at_start && start == 0);
            if (rc) return rc;
            start = i;
            i += rl - 1;
        }
    }
    return run_pre(w, step + 1, o + start, k - start, at_start && start == 0);
}

static int pre_digits(tok_work *w, int step, const tok_pre *p, const char *s, size_t n,
                      int at_start) {
    size_t start = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] < '0' || s[i] > '9') {
            i++;
            continue;
        }
        size_t j = i + 1;
        if (!p->individual)
            while (j < n && s[j] >= '0' && s[j] <= '9') j++;
        int rc = 0;
        if (i > start) rc = run_pre(w, step + 1, s + start, i - start, at_start && start == 0);
        if (!rc) rc = run_pre(w, step + 1, s + i, j - i, at_start && i == 0);
        if (rc) return rc;
        start = i = j;
    }
    return start < n ? run_pre(w, step + 1, s + start, n - start, at_start && start == 0) : 0;
}

static int run_pre(tok_work *w, int step, const char *s, size_t n, int at_start) {
    const ob_tokenizer *t = w->t;
    if (n == 0) return 0;
    if (step == t->n_pre) return tok_bpe_word(w, s, n);
    const tok_pre *p = &t->pre[step];
    switch (p->kind) {
    case PRE_SPLIT:
        return pre_split(w, step, p, s, n, at_start);
    case PRE_METASPACE:
        return pre_metaspace(w, step, p, s, n, at_start);
    case PRE_DIGITS:
        return pre_digits(w, step, p, s, n, at_start);
    default: /* PRE_PREFIX_SPACE */
        if (s[0] == ' ') return run_pre(w, step + 1, s, n, at_start);
        if (tok_work_buf(w, WBUF_PRE + step, n + 1)) return OB_ENOMEM;
        w->buf[WBUF_PRE + step][0] = ' ';
        memcpy(w->buf[WBUF_PRE + step] + 1, s, n);
        return run_pre(w, step + 1, w->buf[WBUF_PRE + step], n + 1, at_start);
    }
}

int tok_encode_segment(tok_work *w, const char *s, size_t n, int at_start) {
    const ob_tokenizer *t = w->t;
    for (int i = 0; i < t->n_norm; i++) {
        const char *o;
        size_t on;
        int bi = (s == w->buf[WBUF_NORM0]) ? WBUF_NORM1 : WBUF_NORM0;
        int rc = normalize(w, &t->norm[i], bi, s, n, at_start, &o, &on);
        if (rc) return rc;
        s = o;
        n = on;
    }
    return run_pre(w, 0, s, n, at_start);
}

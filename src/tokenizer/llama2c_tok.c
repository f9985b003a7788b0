/* llama2c_tok.c - llama2.c's tokenizer.bin.
 *
 * Layout (little-endian, no padding):
 *   int32 max_token_length
 *   n_vocab times: float32 score, int32 len, len bytes (no NUL)
 * n_vocab is not stored; it comes from the model header.
 *
 * Ids 0, 1, 2 are <unk>, BOS and EOS.  Ids 3..258 are the byte-fallback
 * tokens for bytes 0..255, stored either as "<0xNN>" or (older export) as
 * the byte itself, bytes >= 0x80 written as the UTF-8 of U+0080..U+00FF.
 * SentencePiece's "▁" is stored as a plain space in both exports (a vocab
 * with "▁" is accepted too).
 *
 * Encoding as llama2.c's run.c: a dummy-prefix space before non-empty text,
 * one symbol per UTF-8 character (bytes + 3 when the character is not in
 * the vocab), then merge the adjacent pair whose concatenation is in the
 * vocab with the highest score, leftmost first, until none is left.  The
 * merge table is precomputed from every split of every vocab string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static const char SPM_SPACE[] = "\xe2\x96\x81"; /* ▁ U+2581 */

/* Returns 1 if ids 3..258 are byte tokens in either layout. */
static int has_byte_tokens(const tok_vocab *v) {
    if (v->n < 259) return 0;
    int raw = 1, hex = 1;
    for (int b = 0; b < 256; b++) {
        const char *s = tok_vocab_str(v, 3 + b);
        size_t n = v->str_len[3 + b];
        char want[8];
        int wn = tok_utf8_put((uint32_t)b, want);
        if (!((n == 1 && (unsigned char)s[0] == b) || (n == (size_t)wn && memcmp(s, want, n) == 0)))
            raw = 0;
        snprintf(want, sizeof want, "<0x%02X>", b);
        if (n != 6 || memcmp(s, want, 6) != 0) hex = 0;
    }
    return raw || hex;
}

int tok_add_norm(ob_tokenizer *t, int kind, int first_only, const char *a, const char *b) {
    if (t->n_norm == TOK_MAX_STEPS) return OB_ENOMEM;
    tok_norm *nm = &t->norm[t->n_norm++];
    nm->kind = kind;
    nm->first_only = first_only;
    nm->a_len = strlen(a);
    nm->b_len = b ? strlen(b) : 0;
    nm->a = malloc(nm->a_len + 1);
    nm->b = malloc(nm->b_len + 1);
    if (!nm->a || !nm->b) return OB_ENOMEM;
    memcpy(nm->a, a, nm->a_len + 1);
    if (b) memcpy(nm->b, b, nm->b_len + 1);
    else nm->b[0] = 0;
    return 0;
}

void tok_spm_score_merges(ob_tokenizer *t, const float *scores) {
    const tok_vocab *v = &t->v;
    for (int32_t id = 0; id < v->n; id++) {
        if ((v->flags[id] & (TOKF_BYTE | TOKF_ADDED | TOKF_CONTROL)) || id == t->unk) continue;
        const char *s = tok_vocab_str(v, id);
        size_t len = v->str_len[id];
        for (size_t k = 1; k < len; k++) {
            int32_t a = tok_vocab_find(v, s, k);
            if (a < 0) continue;
            int32_t b = tok_vocab_find(v, s + k, len - k);
            if (b >= 0) tok_merges_add(&t->merges, a, b, id, -scores[id]);
        }
    }
}

/* Pieces, index, byte tokens, merges and the encoding recipe. */
static int setup(ob_tokenizer *t, const float *scores) {
    tok_vocab *v = &t->v;
    int n = v->n, bytes = has_byte_tokens(v);
    if (bytes) {
        for (int b = 0; b < 256; b++) {
            unsigned char c = (unsigned char)b;
            t->byte_id[b] = 3 + b;
            v->flags[3 + b] |= TOKF_BYTE;
            if (tok_vocab_set_piece(v, 3 + b, &c, 1)) return OB_ENOMEM;
        }
    }
    /* The index: ordinary tokens first, so that "a" finds the piece "a"
     * rather than the byte token 0x61; then the single-byte ASCII byte
     * tokens for characters that have no piece of their own.  Byte tokens
     * >= 0x80 are never looked up by text. */
    for (int32_t id = 0; id < n; id++)
        if (!(v->flags[id] & TOKF_BYTE)) tok_vocab_index(v, id);
    for (int b = 0; bytes && b < 0x80; b++)
        if (v->str_len[3 + b] == 1) tok_vocab_index(v, 3 + b);

    int spm_space = tok_vocab_find(v, " ", 1) < 0 && tok_vocab_find(v, SPM_SPACE, 3) >= 0;
    const char *space = spm_space ? SPM_SPACE : " ";
    if (spm_space) {
        if (tok_add_norm(t, NORM_REPLACE, 0, " ", SPM_SPACE)) return OB_ENOMEM;
        /* pieces print "▁" as a space */
        for (int32_t id = 0; id < n; id++) {
            if (v->flags[id] & TOKF_BYTE) continue;
            if (tok_vocab_piece_unspm(v, id)) return OB_ENOMEM;
        }
    }
    if (tok_add_norm(t, NORM_PREPEND, 1, space, NULL)) return OB_ENOMEM;

    t->unk = 0;
    t->bos = n > 1 ? 1 : -1;
    t->eos = n > 2 ? 2 : -1;
    if (t->bos >= 0) v->flags[t->bos] |= TOKF_CONTROL;
    if (t->eos >= 0) v->flags[t->eos] |= TOKF_CONTROL;
    tok_spm_score_merges(t, scores); /* not into unk, BOS, EOS */
    tok_setup_space_split(t, space, strlen(space));
    t->kind = TOK_SPM;
    t->add_bos = 1;
    t->strip_lead = 1;
    return tok_finish_added(t);
}

int ob_tokenizer_load_llama2c(const char *path, int n_vocab, ob_tokenizer **out, ob_err *err) {
    if (out) *out = NULL;
    if (!path || !out || n_vocab <= 0)
        return ob_fail(err, OB_EINVAL, "%s: bad arguments (n_vocab %d)", path ? path : "(null)",
                       n_vocab);
    char *data;
    size_t size;
    int rc = tok_read_file(path, &data, &size, err);
    if (rc) return rc;
    ob_tokenizer *t = NULL;
    float *scores = NULL;
    if (size < 4) {
        rc = ob_fail(err, OB_EFORMAT, "%s: truncated: %zu bytes, no header", path, size);
        goto done;
    }
    if ((rc = tok_new(n_vocab, &t, err, path))) goto done;
    scores = malloc((size_t)n_vocab * sizeof *scores);
    if (!scores) {
        rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    int32_t max_len;
    memcpy(&max_len, data, 4);
    if (max_len <= 0 || max_len > 4096) {
        rc = ob_fail(err, OB_EFORMAT, "%s: max_token_length %d is not plausible (1..4096)", path, (int)max_len);
        goto done;
    }
    size_t off = 4;
    for (int i = 0; i < n_vocab; i++) {
        int32_t len;
        if (size - off < 8) {
            rc = ob_fail(err, OB_EFORMAT, "%s: truncated at token %d of %d (byte %zu of %zu)",
                         path, i, n_vocab, off, size);
            goto done;
        }
        memcpy(&scores[i], data + off, 4);
        memcpy(&len, data + off + 4, 4);
        off += 8;
        if (len > max_len) { /* also bounds the quadratic merge setup below */
            rc = ob_fail(err, OB_EFORMAT, "%s: token %d: length %d exceeds max_token_length %d", path, i, (int)len,
                         (int)max_len);
            goto done;
        }
        if (len < 0 || (size_t)len > size - off) {
            rc = ob_fail(err, OB_EFORMAT, "%s: token %d: length %d runs past the end (%zu bytes left)",
                         path, i, (int)len, size - off);
            goto done;
        }
        if (tok_vocab_set(&t->v, i, data + off, (size_t)len)) {
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        off += (size_t)len;
    }
    if ((rc = setup(t, scores))) {
        rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    t->scores = scores; /* kept for exports (GGUF) */
    scores = NULL;
    *out = t;
    t = NULL;
done:
    free(scores);
    free(data);
    ob_tokenizer_free(t);
    return rc;
}

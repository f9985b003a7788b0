/* tokenizer_internal.h - the shared state of the three tokenizer loaders and
 * the one BPE engine they all use.
 *
 * Every tokenizer is reduced to the same pieces:
 *  - a vocabulary: id -> string (as the file spells it: "▁the", "Ġthe",
 *    "<0x0A>") and id -> decoded bytes ("piece"), plus a hash index
 *    string -> id;
 *  - a merge table: (left id, right id) -> (merged id, priority), lower
 *    priority merges first.  For HF/GPT-2 files the priority is the merge's
 *    rank; for llama2.c it is minus the merged token's score;
 *  - an encoding recipe: normalizers, pre-tokenizer steps and how a word is
 *    turned into initial symbols (raw bytes for byte-level BPE, codepoints
 *    with byte fallback for SentencePiece-style BPE);
 *  - added tokens, matched verbatim in the input before anything else.
 */
#ifndef OB_TOKENIZER_INTERNAL_H
#define OB_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "optibench.h"

/* ------------------------------------------------------------ vocabulary */

/* Per-id flags. */
enum {
    TOKF_PRESENT = 1, /* the id has a string (HF vocabularies may have gaps) */
    TOKF_ADDED = 2,   /* an added token (matched verbatim, never by BPE)     */
    TOKF_SPECIAL = 4, /* a special added token (matched only with parse_special) */
    TOKF_CONTROL = 8, /* decodes to nothing (SentencePiece's <s>, </s>)      */
    TOKF_BYTE = 16,   /* a byte-fallback token                               */
};

/* id -> string and id -> decoded piece, both stored NUL-terminated in one
 * growing arena addressed by offsets; arena[0] is the empty string that
 * missing ids point at.  The index is open addressing over ids (-1 empty),
 * first insert of a string wins. */
typedef struct tok_vocab {
    int n;
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t *str_off, *str_len;
    uint32_t *piece_off, *piece_len;
    uint8_t *flags;
    int32_t *slots;
    uint32_t mask;
} tok_vocab;

/* 64-bit FNV-1a with a final mix. */
uint64_t tok_hash_bytes(const char *s, size_t n);
int tok_vocab_init(tok_vocab *v, int n);
void tok_vocab_free(tok_vocab *v);
/* Appends bytes (plus a NUL) to the arena; *off receives their offset. */
int tok_vocab_append(tok_vocab *v, const void *s, size_t len, uint32_t *off);
/* Sets id's string (the piece defaults to the same bytes). */
int tok_vocab_set(tok_vocab *v, int32_t id, const char *s, size_t len);
int tok_vocab_set_piece(tok_vocab *v, int32_t id, const void *s, size_t len);
/* Sets id's piece to its string with every SentencePiece "▁" (U+2581) read
 * as a space; leaves strings without one alone.  Returns 0 or OB_ENOMEM. */
int tok_vocab_piece_unspm(tok_vocab *v, int32_t id);
/* Adds id to the string index unless its string is already there. */
void tok_vocab_index(tok_vocab *v, int32_t id);
/* The id of string s, or -1. */
int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t len);
static inline const char *tok_vocab_str(const tok_vocab *v, int32_t id) {
    return v->arena + v->str_off[id];
}

/* --------------------------------------------------------------- merges */

typedef struct tok_merge_slot {
    uint64_t key;   /* left << 32 | right; UINT64_MAX = empty */
    int32_t merged; /* id of the concatenation                */
    float prio;     /* lower merges first                     */
} tok_merge_slot;

typedef struct tok_merges {
    tok_merge_slot *slots;
    uint32_t mask;
    size_t n;
} tok_merges;

int tok_merges_init(tok_merges *m, size_t expected);
void tok_merges_free(tok_merges *m);
/* Inserts unless the pair is already present (the first, best rank wins). */
void tok_merges_add(tok_merges *m, int32_t left, int32_t right, int32_t merged, float prio);
const tok_merge_slot *tok_merges_find(const tok_merges *m, int32_t left, int32_t right);

/* ------------------------------------------------------------- pipeline */

enum { TOK_MAX_STEPS = 8 };

enum { TOK_SPM = 0, TOK_BYTELEVEL = 1, TOK_BIOGPT = 2 };

enum { NORM_PREPEND, NORM_REPLACE, NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD, NORM_LOWER };
typedef struct tok_norm {
    int kind;
    int first_only;   /* NORM_PREPEND: only for text at input offset 0 */
    char *a, *b;      /* PREPEND: a = prefix; REPLACE: a -> b          */
    size_t a_len, b_len;
} tok_norm;

enum { PRE_SPLIT, PRE_PREFIX_SPACE, PRE_METASPACE, PRE_DIGITS };
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };
typedef struct tok_pre {
    int kind;
    pcre2_code *re;   /* SPLIT: the delimiter pattern                     */
    int behavior;     /* SPLIT: SPLIT_*                                   */
    int invert;       /* SPLIT: the non-matches are the delimiters        */
    char repl[8];     /* METASPACE: the replacement for ' ' ("▁")         */
    int repl_len;
    int prepend;      /* METASPACE: PREPEND_*                             */
    int split;        /* METASPACE: split before each replacement         */
    int individual;   /* DIGITS: one piece per digit                      */
} tok_pre;

typedef struct tok_added {
    uint32_t off, len; /* content, in the vocab arena */
    int32_t id;
    uint8_t first;     /* content's first byte (the sort key) */
    uint8_t special, lstrip, rstrip;
} tok_added;

struct tok_bio;

struct ob_tokenizer {
    int kind;                  /* TOK_SPM, TOK_BYTELEVEL or TOK_BIOGPT     */
    tok_vocab v;
    tok_merges merges;
    int32_t byte_id[256];      /* BYTELEVEL: initial symbol of each byte;
                                  SPM: byte-fallback token or -1           */
    int32_t bos, eos, unk;     /* -1 if none                               */
    int add_bos;
    int strip_lead;            /* decoding drops one leading space at the
                                  start of text and after BOS              */
    int ignore_merges;         /* a word found whole in the vocab skips BPE */
    int fuse_unk;              /* consecutive unknowns give one unk        */
    char space[4];             /* SPM: the space marker (" " or "▁")       */
    int space_len;             /* 0: BPE runs on the whole word; else no
                                  vocab token has the marker after another
                                  character, so words are split before each
                                  marker that follows a non-marker (exact,
                                  and keeps the merge heaps small)          */
    tok_norm norm[TOK_MAX_STEPS];
    int n_norm;
    tok_pre pre[TOK_MAX_STEPS];
    int n_pre;
    tok_added *added;          /* sorted by first byte, then longest first */
    int n_added, cap_added;
    int32_t added_start[257];  /* added[added_start[c] .. added_start[c+1]) begin with byte c */
    struct tok_bio *bio;       /* TOK_BIOGPT: Moses rules and merge symbols */
    float *scores;             /* SPM from tokenizer.bin or GGUF: each id's
                                  score (merges prefer higher); else NULL  */
};

/* Allocates a tokenizer with an n-id vocabulary, everything else empty. */
int tok_new(int n, ob_tokenizer **out, ob_err *err, const char *path);
/* Registers id as an added token (its vocab string is the content). */
int tok_add_added(ob_tokenizer *t, int32_t id, int special, int lstrip, int rstrip);
/* Sorts the added tokens and builds added_start; call once after loading. */
int tok_finish_added(ob_tokenizer *t);
/* SPM: enables splitting words before the space marker when no vocab
 * string could merge across such a point. */
void tok_setup_space_split(ob_tokenizer *t, const char *mark, size_t len);
/* Byte-level setup: byte_id from the vocab and every piece decoded through
 * GPT-2's bytes_to_unicode table (added tokens keep their content). */
int tok_setup_bytelevel(ob_tokenizer *t, ob_err *err, const char *path);
/* Makes p a regex split step (literal: pattern is a plain string);
 * errors name path. */
int tok_pre_regex(tok_pre *p, const char *pattern, size_t len, int literal, int behavior,
                  int invert, ob_err *err, const char *path);
void tok_pre_free(tok_pre *p);
void tok_norm_free(tok_norm *n);

/* Adds a normalizer step (NORM_PREPEND: a is the prefix; NORM_REPLACE:
 * a -> b); 0 or OB_ENOMEM. */
int tok_add_norm(ob_tokenizer *t, int kind, int first_only, const char *a, const char *b);
/* SPM merges by score: every split of every plain token id (not byte,
 * added, control or unk) into two known strings merges into id with priority
 * -scores[id] (llama2.c's and SentencePiece's rule). */
void tok_spm_score_merges(ob_tokenizer *t, const float *scores);
/* The SentencePiece spelling of id into a malloc'd string: spaces as "▁",
 * byte-fallback tokens as "<0xNN>"; NULL when out of memory. */
char *tok_spm_string(const ob_tokenizer *t, int32_t id);

/* GPT-2's byte-level regex. */
extern const char tok_gpt2_pattern[];
/* GPT-2's bytes_to_unicode: the codepoint standing for byte b, and back
 * (-1 for a codepoint that stands for no byte). */
uint32_t tok_byte_to_cp(unsigned b);
int tok_cp_to_byte(uint32_t cp);
/* Writes cp as UTF-8 into out (4 bytes room); returns the length. */
int tok_utf8_put(uint32_t cp, char *out);
/* Length of the UTF-8 character at s (lead byte plus following continuation
 * bytes, at most 4, at least 1, never past n). */
size_t tok_utf8_len(const unsigned char *s, size_t n);

/* Adds the merge (a, b) -> a+b with priority prio, all looked up by string.
 * Returns 0, -1 if a, b or a+b is not in the vocab, or OB_ENOMEM. */
int tok_merge_strings(ob_tokenizer *t, const char *a, size_t an, const char *b, size_t bn,
                      float prio);
/* Loads a JSON file with jansson (flags: JSON_* decoding flags); errors
 * name path (and line:column). */
struct json_t;
int tok_json_load(const char *path, int flags, struct json_t **out, ob_err *err);

/* A new tokenizer whose vocabulary is the JSON object token -> id in path
 * (GPT-2's encoder.json, BioGPT's vocab.json), indexed; nothing else set. */
int tok_load_vocab_json(const char *path, ob_tokenizer **out, ob_err *err);
/* Reads a whole file into a NUL-terminated malloc'd buffer. */
int tok_read_file(const char *path, char **out, size_t *len, ob_err *err);

/* ------------------------------------------------------------- encoding */

typedef struct tok_sym {
    int32_t id;         /* -1 once merged into its left neighbour */
    int32_t prev, next; /* -1 at the ends                         */
} tok_sym;

typedef struct tok_ent {
    float prio;
    int32_t pos;        /* left symbol                            */
    int32_t left_id, right_id, merged;
} tok_ent;

/* A word cache for long inputs: short words (at most TOK_CACHE_WORD
 * bytes) -> their ids, so repeated words skip BPE.  Lives for one call. */
enum { TOK_CACHE_WORD = 48 };
typedef struct tok_cache_ent {
    uint64_t hash;                  /* 0 = empty                       */
    uint32_t key_off, ids_off;      /* into keys / ids below           */
    uint16_t key_len, n_ids;
} tok_cache_ent;

typedef struct tok_cache {
    tok_cache_ent *slots;
    uint32_t mask;
    size_t used;
    char *keys;
    size_t keys_len, keys_cap;
    int32_t *ids;
    size_t ids_len, ids_cap;
} tok_cache;

/* Per-call scratch: output ids, symbol and heap arrays, one buffer per
 * normalizer/pre-tokenizer stage, the word cache. */
typedef struct tok_work {
    const ob_tokenizer *t;
    ob_err *err;
    int32_t *ids;
    int max_ids;
    int n;
    tok_sym *sym;
    size_t sym_cap;
    tok_ent *heap;
    size_t heap_len, heap_cap;
    char *buf[TOK_MAX_STEPS * 2 + 4];
    size_t buf_cap[TOK_MAX_STEPS * 2 + 4];
    pcre2_match_data *md;
    tok_cache cache;                /* slots NULL: no caching          */
    int capture;                    /* copy emitted ids to captured[]  */
    int n_captured;
    int32_t captured[TOK_CACHE_WORD + 16];
} tok_work;

enum { WBUF_NORM0 = 0, WBUF_NORM1 = 1, WBUF_WORD = 2, WBUF_PRE = 3 };

/* Ensures w->buf[i] holds at least cap bytes. */
int tok_work_buf(tok_work *w, int i, size_t cap);
static inline void tok_emit(tok_work *w, int32_t id) {
    if (w->n < w->max_ids) w->ids[w->n] = id;
    w->n++;
    if (w->capture && w->n_captured < TOK_CACHE_WORD + 16) w->captured[w->n_captured++] = id;
}
/* Sets up the word cache for a text of len bytes (none for short texts);
 * tok_work_free releases everything. */
void tok_cache_init(tok_work *w, size_t len);
void tok_work_free(tok_work *w);
/* Runs normalizers and pre-tokenizers on one segment of text (no added
 * tokens inside) and BPE on each piece, emitting ids. at_start: the
 * segment begins at offset 0 of the input. */
int tok_encode_segment(tok_work *w, const char *s, size_t n, int at_start);
/* BPE on one pre-tokenized word. */
int tok_bpe_word(tok_work *w, const char *s, size_t n);

/* ------------------------------------------------ BioGPT: Moses + fastBPE */

/* A growing byte string (p is NUL-terminated once anything was reserved). */
typedef struct tok_str {
    char *p;
    size_t len, cap;
} tok_str;
/* Ensures room for cap bytes plus a NUL; 0 or OB_ENOMEM. */
int tok_str_reserve(tok_str *s, size_t cap);
int tok_str_put(tok_str *s, const void *p, size_t n);
void tok_str_free(tok_str *s);

/* The Moses tokenizer and detokenizer for English as sacremoses runs them
 * (moses.c): compiled rules, shared read-only by concurrent calls. */
typedef struct tok_moses tok_moses;
int tok_moses_new(tok_moses **out, ob_err *err, const char *path);
void tok_moses_free(tok_moses *m);
/* MosesTokenizer("en").tokenize(s, aggressive_dash_splits=True,
 * escape=True): out receives the tokens joined by single spaces. */
int tok_moses_tokenize(const tok_moses *m, const char *s, size_t n, tok_str *out, ob_err *err);
/* MosesDetokenizer("en").detokenize(s.split()): out receives the text. */
int tok_moses_detokenize(const tok_moses *m, const char *s, size_t n, tok_str *out, ob_err *err);

/* How the detokenizer treats a (unescaped) token: MOSES_OPEN (currency
 * signs, opening brackets) joins the next token, MOSES_CLOSE (, . ? ! : ;
 * % ) ] }) the previous one, MOSES_CONTRACTION ("'s") the previous one;
 * a token starting with a CJK character joins one ending with one. */
enum { MOSES_OPEN = 1, MOSES_CLOSE = 2, MOSES_CONTRACTION = 4, MOSES_CJK_FIRST = 8, MOSES_CJK_LAST = 16 };
int tok_moses_class(const tok_moses *m, pcre2_match_data *md, const char *s, size_t n);

/* The BioGPT tokenizer's parts (biogpt_tok.c), dispatched to from
 * tokenizer.c when kind is TOK_BIOGPT. */
void tok_bio_free(struct tok_bio *b);
/* Moses-tokenizes one segment (no added tokens inside) and BPEs each token. */
int tok_bio_encode_segment(tok_work *w, const char *s, size_t n);
int tok_bio_piece(const ob_tokenizer *t, int32_t prev_id, int32_t id, char *buf, size_t size);
size_t tok_bio_detokenize(const ob_tokenizer *t, const int32_t *ids, int n_ids, char *buf,
                          size_t size);
/* Writes dir/vocab.json and dir/merges.txt (the files it was loaded from). */
int tok_bio_save(const ob_tokenizer *t, const char *dir, ob_err *err);

#endif

/* moses.c - the Moses tokenizer and detokenizer for English, as sacremoses
 * (the Python port that BioGPT's tokenizer calls) runs them with
 * MosesTokenizer(lang="en").tokenize(text, aggressive_dash_splits=True,
 * escape=True) and MosesDetokenizer(lang="en").detokenize(tokens).
 *
 * Tokenizing applies, in order, to the whole text:
 *   1. every run of whitespace becomes one space, control characters
 *      U+0000..U+001F are dropped, the ends are stripped;
 *   2. every character that is not alphanumeric, whitespace, or one of
 *      . ' ` , - is padded with spaces ("(", "%", ":", "?", "/", "=", ...);
 *   3. a hyphen between two alphanumerics becomes " @-@ " ("IL-6" ->
 *      "IL @-@ 6");
 *   4. runs of two or more dots are set apart as one token;
 *   5. commas are split off unless between digits ("5,300" stays);
 *   6. English apostrophes: "it's" -> "it 's", "don't" -> "don 't" (Moses
 *      splits before the apostrophe, not Penn-style "do n't"), a quote next
 *      to a non-letter stands alone;
 *   7. a token ending in a period loses it (" .") unless the rest holds a
 *      period and a letter ("e.g.", "U.S."), is a known abbreviation ("Dr.",
 *      "Fig.", single capitals), is followed by a lowercase word, or is
 *      "No."/"Art."/"pp." followed by a number;
 *   8. a final ".'" splits; the XML specials & | < > ' " [ ] are escaped
 *      (&amp; &#124; &lt; &gt; &apos; &quot; &#91; &#93;).
 * The regular-expression steps run through PCRE2 with the character classes
 * of sacremoses' Perl tables: letters are Unicode Alphabetic except CJK
 * ideographs, Hangul syllables and everything above U+FFFF (which those
 * tables lack, so such characters are padded like punctuation), plus the
 * Indic viramas and nuktas its tokenizer adds; numbers are \p{N} within the BMP;
 * whitespace is Python's.
 *
 * Detokenizing joins the tokens, turns " @-@ " back into "-", unescapes the
 * entities and glues punctuation: closing marks (, . ? ! : ; % ) ] }) join
 * the previous token, currency signs and opening brackets the next one,
 * "'s"-style contractions the previous one, straight quotes alternate
 * between opening and closing, consecutive CJK tokens join. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/tokenizer_internal.h"

/* ------------------------------------------------------------ strings */

int tok_str_reserve(tok_str *s, size_t cap) {
    if (cap + 1 <= s->cap) return 0;
    size_t c = s->cap ? s->cap : 256;
    while (c < cap + 1) c *= 2;
    char *p = realloc(s->p, c);
    if (!p) return OB_ENOMEM;
    s->p = p;
    s->cap = c;
    s->p[s->len] = 0;
    return 0;
}

int tok_str_put(tok_str *s, const void *p, size_t n) {
    if (tok_str_reserve(s, s->len + n)) return OB_ENOMEM;
    if (n) memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = 0;
    return 0;
}

void tok_str_free(tok_str *s) {
    free(s->p);
    memset(s, 0, sizeof *s);
}

/* -------------------------------------------------------------- rules */

/* Python's str.isspace() characters (what \s means to sacremoses). */
#define PYWS                                                                                    \
    "\\t\\n\\x{0b}\\f\\r\\x{1c}-\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}"     \
    "\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
/* Alphabetic characters missing from sacremoses' IsAlpha / IsAlnum tables. */
#define NOALPHA                                                                                 \
    "\\x{3400}-\\x{4dbf}\\x{4e00}-\\x{9fff}\\x{ac00}-\\x{d7a3}\\x{f900}-\\x{faff}"              \
    "\\x{10000}-\\x{10ffff}"
/* The viramas and nuktas sacremoses' tokenizer adds to both. */
#define INDIC                                                                                   \
    "\\x{93c}\\x{94d}\\x{9bc}\\x{9cd}\\x{a3c}\\x{a4d}\\x{abc}\\x{acd}\\x{afd}-\\x{aff}"          \
    "\\x{b3c}\\x{b4d}\\x{bcd}\\x{c4d}\\x{cbc}\\x{ccd}\\x{d3b}\\x{d3c}\\x{d4d}\\x{dca}"           \
    "\\x{eba}\\x{1039}\\x{1714}\\x{1bab}\\x{1c37}\\x{a8c4}\\x{a8f3}\\x{a8f4}\\x{a953}\\x{aaf6}"   \
    "\\x{10a3f}\\x{11046}\\x{110b9}\\x{110ba}\\x{11133}\\x{11173}\\x{111c0}\\x{111ca}"         \
    "\\x{11235}\\x{11236}\\x{112e9}\\x{112ea}\\x{1133c}\\x{1134d}\\x{11442}\\x{11446}"        \
    "\\x{114c2}\\x{114c3}\\x{115bf}\\x{115c0}\\x{1163f}\\x{116b6}\\x{116b7}\\x{11839}"        \
    "\\x{1183a}\\x{119e0}\\x{11a34}\\x{11c3f}\\x{11d42}\\x{11d45}\\x{11d97}\\x{1e94a}"
/* The detokenizer's letters lack those. */
#define DETOK_ALPHA "(?![" NOALPHA "])\\p{Alphabetic}"
#define ALPHA "(?:[" INDIC "]|" DETOK_ALPHA ")"
#define ALNUM "(?:[" INDIC "]|(?![" NOALPHA "])[\\p{Alphabetic}\\p{Nd}])"
#define ISN "(?:(?![\\x{10000}-\\x{10ffff}])\\p{N})"
#define NOT(x) "(?!" x ")(?s:.)"

enum {
    R_SPACE,
    R_PAD,
    R_DASH,
    R_COMMA1,
    R_COMMA2,
    R_COMMA3,
    R_APOS1,
    R_APOS2,
    R_APOS3,
    R_APOS4,
    R_APOS5,
    R_ALPHA,       /* is there a letter anywhere (nonbreaking prefixes) */
    R_LOWER,       /* does it start lowercase                            */
    R_CURRENCY,    /* detok: currency signs and opening brackets only    */
    R_CONTRACTION, /* detok: an apostrophe and a letter                  */
    R_COUNT
};

/* pattern, replacement (NULL: a test only), a byte the text must contain
 * for the rule to do anything (0: always run) */
static const struct {
    const char *pat, *rep;
    char need;
} rules[R_COUNT] = {
    [R_SPACE] = {"[" PYWS "]+", " ", 0},
    [R_PAD] = {"((?!" ALNUM ")[^" PYWS ".'`,\\-])", " $1 ", 0},
    [R_DASH] = {"(" ALNUM ")-(?=" ALNUM ")", "$1 @-@ ", '-'},
    [R_COMMA1] = {"(" NOT(ISN) "),", "$1 , ", ','},
    [R_COMMA2] = {",(" NOT(ISN) ")", " , $1", ','},
    [R_COMMA3] = {"(" ISN "),$", "$1 , ", ','},
    [R_APOS1] = {"(" NOT(ALPHA) ")'(" NOT(ALPHA) ")", "$1 ' $2", '\''},
    [R_APOS2] = {"(" NOT(ALPHA "|" ISN) ")'(" ALPHA ")", "$1 ' $2", '\''},
    [R_APOS3] = {"(" ALPHA ")'(" NOT(ALPHA) ")", "$1 ' $2", '\''},
    [R_APOS4] = {"(" ALPHA ")'(" ALPHA ")", "$1 '$2", '\''},
    [R_APOS5] = {"(" ISN ")'(s)", "$1 '$2", '\''},
    [R_ALPHA] = {ALPHA, NULL, 0},
    [R_LOWER] = {"^\\p{Lowercase}", NULL, 0},
    [R_CURRENCY] = {"^(?:(?![\\x{10000}-\\x{10ffff}])\\p{Sc}|[(\\[{\\x{bf}\\x{a1}])+$", NULL, 0},
    [R_CONTRACTION] = {"^'" DETOK_ALPHA, NULL, 0},
};

struct tok_moses {
    pcre2_code *re[R_COUNT];
};

/* English nonbreaking prefixes (Moses' nonbreaking_prefix.en): a token made
 * of one of these and a period keeps its period. */
static const char *const nonbreaking[] = {
    "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R",
    "S", "T", "U", "V", "W", "X", "Y", "Z", "Adj", "Adm", "Adv", "Asst", "Bart", "Bldg",
    "Brig", "Bros", "Capt", "Cmdr", "Col", "Comdr", "Con", "Corp", "Cpl", "DR", "Dr", "Drs",
    "Ens", "Gen", "Gov", "Hon", "Hr", "Hosp", "Insp", "Lt", "MM", "MR", "MRS", "MS", "Maj",
    "Messrs", "Mlle", "Mme", "Mr", "Mrs", "Ms", "Msgr", "Op", "Ord", "Pfc", "Ph", "Prof", "Pvt",
    "Rep", "Reps", "Res", "Rev", "Rt", "Sen", "Sens", "Sfc", "Sgt", "Sr", "St", "Supt", "Surg",
    "v", "vs", "i.e", "rev", "e.g", "Rs", "Nos", "Nr", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul",
    "Aug", "Sep", "Oct", "Nov", "Dec",
};
/* ... and these only when the next token starts with a digit. */
static const char *const numeric_only[] = {"No", "Art", "pp"};

static int in_list(const char *const *list, size_t n, const char *s, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0) return 1;
    return 0;
}

int tok_moses_new(tok_moses **out, ob_err *err, const char *path) {
    *out = NULL;
    tok_moses *m = calloc(1, sizeof *m);
    if (!m) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    for (int i = 0; i < R_COUNT; i++) {
        int ec;
        PCRE2_SIZE eo;
        m->re[i] = pcre2_compile((PCRE2_SPTR)rules[i].pat, PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
        if (!m->re[i]) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            tok_moses_free(m);
            return ob_fail(err, OB_EUNSUP, "%s: Moses rule %d does not compile at offset %zu: %s",
                           path, i, (size_t)eo, (const char *)msg);
        }
        pcre2_jit_compile(m->re[i], PCRE2_JIT_COMPLETE); /* the interpreter is fine too */
    }
    *out = m;
    return 0;
}

void tok_moses_free(tok_moses *m) {
    if (!m) return;
    for (int i = 0; i < R_COUNT; i++)
        if (m->re[i]) pcre2_code_free(m->re[i]);
    free(m);
}

/* Applies rule r to *a (all matches) into *b and swaps them.  Returns 0,
 * OB_ENOMEM, or OB_EFORMAT with err filled when PCRE2 fails. */
static int apply(const tok_moses *m, int r, pcre2_match_data *md, tok_str *a, tok_str *b,
                 ob_err *err) {
    if (rules[r].need && !memchr(a->p, rules[r].need, a->len)) return 0;
    size_t need = a->len + a->len / 2 + 64;
    for (;;) {
        if (tok_str_reserve(b, need)) return ob_fail(err, OB_ENOMEM, "tokenize: out of memory");
        PCRE2_SIZE olen = b->cap;
        int rc = pcre2_substitute(m->re[r], (PCRE2_SPTR)a->p, a->len, 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, md,
                                  NULL, (PCRE2_SPTR)rules[r].rep, PCRE2_ZERO_TERMINATED,
                                  (PCRE2_UCHAR *)b->p, &olen);
        if (rc >= 0) {
            b->len = olen;
            tok_str t = *a;
            *a = *b;
            *b = t;
            return 0;
        }
        if (rc != PCRE2_ERROR_NOMEMORY || olen <= need) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return ob_fail(err, OB_EFORMAT, "tokenize: Moses rule %d failed: %s", r,
                           (const char *)msg);
        }
        need = olen;
    }
}

static int test(const tok_moses *m, int r, pcre2_match_data *md, const char *s, size_t n) {
    return pcre2_match(m->re[r], (PCRE2_SPTR)(n ? s : ""), n, 0, 0, md, NULL) >= 0;
}

/* Copies s into out as valid UTF-8: each byte of an invalid sequence
 * becomes U+FFFD (Python only ever sees text). */
static int put_valid_utf8(tok_str *out, const char *s, size_t n) {
    if (tok_str_reserve(out, n + 16)) return OB_ENOMEM;
    out->len = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k > 0) {
            if (tok_str_put(out, s + i, (size_t)k)) return OB_ENOMEM;
            i += (size_t)k;
        } else {
            if (tok_str_put(out, "\xef\xbf\xbd", 3)) return OB_ENOMEM;
            i++;
        }
    }
    return 0;
}

static int starts_with(const char *s, size_t n, const char *lit) {
    size_t k = strlen(lit);
    return n >= k && memcmp(s, lit, k) == 0;
}

/* sacremoses' replace_multidots, in one pass: a run of k >= 2 dots becomes
 * " " + "DOT" * (k-1) + "DOTMULTI", plus a space when text follows; a
 * literal "DOTMULTI." the same way (its loop rewrites that too).  The
 * placeholders are letters to the comma, apostrophe and prefix rules, as
 * there. */
static int multidots(const tok_str *a, tok_str *b) {
    b->len = 0;
    if (tok_str_reserve(b, a->len)) return OB_ENOMEM;
    const char *s = a->p;
    size_t n = a->len;
    for (size_t i = 0; i < n;) {
        size_t k = 0, lead = 0;
        if (s[i] == '.') {
            while (i + k < n && s[i + k] == '.') k++;
            if (k < 2) k = 0;
        } else if (starts_with(s + i, n - i, "DOTMULTI.") &&
                   !(i + 9 < n && s[i + 9] == '.')) {
            lead = 8; /* "DOTMULTI" then exactly one dot */
            k = 2;
        }
        if (!k) {
            if (tok_str_put(b, s + i, 1)) return OB_ENOMEM;
            i++;
            continue;
        }
        if (!lead && tok_str_put(b, " ", 1)) return OB_ENOMEM;
        for (size_t d = 1; d < k; d++)
            if (tok_str_put(b, "DOT", 3)) return OB_ENOMEM;
        if (tok_str_put(b, "DOTMULTI", 8)) return OB_ENOMEM;
        i += lead ? lead + 1 : k;
        if (i < n && tok_str_put(b, " ", 1)) return OB_ENOMEM;
    }
    return 0;
}

/* restore_multidots: "DOT" * j + "DOTMULTI" -> j + 1 dots. */
static int restore_multidots(const tok_str *a, tok_str *b) {
    b->len = 0;
    if (tok_str_reserve(b, a->len)) return OB_ENOMEM;
    for (size_t i = 0; i < a->len;) {
        if (starts_with(a->p + i, a->len - i, "DOTMULTI")) {
            size_t dots = 1;
            while (b->len >= 3 && memcmp(b->p + b->len - 3, "DOT", 3) == 0) {
                b->len -= 3;
                dots++;
            }
            for (size_t d = 0; d < dots; d++) b->p[b->len++] = '.';
            i += 8;
        } else {
            b->p[b->len++] = a->p[i++];
        }
    }
    b->p[b->len] = 0;
    return 0;
}

/* handles_nonbreaking_prefixes: splits a on spaces, joins the tokens with
 * single spaces into b, splitting a final period off where it ends a
 * sentence. */
static int nonbreaking_prefixes(const tok_moses *m, pcre2_match_data *md, const tok_str *a,
                                tok_str *b) {
    b->len = 0;
    if (tok_str_reserve(b, a->len * 2)) return OB_ENOMEM;
    const char *s = a->p, *end = a->p + a->len;
    const char *tok = s;
    while (tok < end && *tok == ' ') tok++;
    while (tok < end) {
        const char *te = tok;
        while (te < end && *te != ' ') te++;
        const char *next = te;
        while (next < end && *next == ' ') next++;
        const char *ne = next;
        while (ne < end && *ne != ' ') ne++;
        size_t n = (size_t)(te - tok);
        int split = 0;
        if (n >= 2 && tok[n - 1] == '.') {
            size_t pn = n - 1; /* the prefix before the final period */
            int has_next = next < end;
            if (memchr(tok, '.', pn) && test(m, R_ALPHA, md, tok, pn)) {
                split = 0; /* "e.g.", "U.S." */
            } else if (in_list(nonbreaking, sizeof nonbreaking / sizeof *nonbreaking, tok, pn)) {
                split = 0; /* "Dr.", "Fig."-like titles, single capitals */
            } else if (has_next && test(m, R_LOWER, md, next, (size_t)(ne - next))) {
                split = 0; /* the sentence goes on in lowercase */
            } else if (in_list(numeric_only, sizeof numeric_only / sizeof *numeric_only, tok, pn) &&
                       has_next && *next >= '0' && *next <= '9') {
                split = 0; /* "No. 5" */
            } else {
                split = 1;
            }
        }
        if (b->len) b->p[b->len++] = ' ';
        memcpy(b->p + b->len, tok, split ? n - 1 : n);
        b->len += split ? n - 1 : n;
        if (split) {
            memcpy(b->p + b->len, " .", 2);
            b->len += 2;
        }
        tok = next;
    }
    b->p[b->len] = 0;
    return 0;
}

int tok_moses_tokenize(const tok_moses *m, const char *s, size_t n, tok_str *out, ob_err *err) {
    tok_str a = {0}, b = {0};
    pcre2_match_data *md = pcre2_match_data_create(8, NULL);
    int rc = md ? put_valid_utf8(&a, s, n) : OB_ENOMEM;
    if (rc) goto oom;
    out->len = 0;
    if ((rc = apply(m, R_SPACE, md, &a, &b, err))) goto done;
    size_t k = 0; /* drop control characters, then strip */
    for (size_t i = 0; i < a.len; i++)
        if ((unsigned char)a.p[i] >= 0x20) a.p[k++] = a.p[i];
    a.len = k;
    size_t lo = 0, hi = a.len;
    while (lo < hi && a.p[lo] == ' ') lo++;
    while (hi > lo && a.p[hi - 1] == ' ') hi--;
    if (lo == hi) goto done;
    memmove(a.p, a.p + lo, hi - lo);
    a.len = hi - lo;
    a.p[a.len] = 0;

    if ((rc = apply(m, R_PAD, md, &a, &b, err)) || (rc = apply(m, R_DASH, md, &a, &b, err)))
        goto done;
    if (multidots(&a, &b)) goto oom;
    for (int r = R_COMMA1; r <= R_APOS5; r++)
        if ((rc = apply(m, r, md, &b, &a, err))) goto done;
    /* b holds the text again */
    if (nonbreaking_prefixes(m, md, &b, &a)) goto oom;
    /* a: single-spaced and stripped; split a final ".'" */
    if (a.len >= 2 && a.p[a.len - 2] == '.' && a.p[a.len - 1] == '\'') {
        if (tok_str_reserve(&a, a.len + 3)) goto oom;
        a.len -= 2;
        if (a.len) a.p[a.len++] = ' ';
        memcpy(a.p + a.len, ". '", 3);
        a.len += 3;
        a.p[a.len] = 0;
    }
    if (restore_multidots(&a, &b)) goto oom;
    for (size_t i = 0; i < b.len; i++) { /* escape_xml */
        const char *e = NULL;
        switch (b.p[i]) {
        case '&': e = "&amp;"; break;
        case '|': e = "&#124;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '\'': e = "&apos;"; break;
        case '"': e = "&quot;"; break;
        case '[': e = "&#91;"; break;
        case ']': e = "&#93;"; break;
        }
        if (tok_str_put(out, e ? e : b.p + i, e ? strlen(e) : 1)) goto oom;
    }
    rc = 0;
    goto done;
oom:
    rc = ob_fail(err, OB_ENOMEM, "tokenize: out of memory");
done:
    if (md) pcre2_match_data_free(md);
    tok_str_free(&a);
    tok_str_free(&b);
    return rc;
}

/* ------------------------------------------------------- detokenizer */

/* Length of the Python whitespace character at s, or 0. */
static size_t py_space(const unsigned char *s, size_t n) {
    if (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0d) || (s[0] >= 0x1c && s[0] <= 0x1f)) return 1;
    if (s[0] < 0xc2 || n < 2) return 0;
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)(n < 4 ? n : 4), &cp);
    if (k <= 0) return 0;
    if (cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
        cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
        return (size_t)k;
    return 0;
}

/* The codepoint at s (a lone invalid byte counts as itself). */
static uint32_t cp_at(const char *s, size_t n, size_t *len) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &cp);
    if (k <= 0) {
        *len = 1;
        return (unsigned char)s[0];
    }
    *len = (size_t)k;
    return (uint32_t)cp;
}

/* The codepoint that ends s[0..n). */
static uint32_t last_cp(const char *s, size_t n) {
    size_t i = n - 1, len;
    while (i > 0 && n - i < 4 && ((unsigned char)s[i] & 0xc0) == 0x80) i--;
    return cp_at(s + i, n - i, &len);
}

/* sacremoses' is_cjk: open intervals, first one whose end exceeds c. */
static int is_cjk(uint32_t c) {
    static const uint32_t r[][2] = {
        {4352, 4607},     {11904, 42191},   {43072, 43135},   {44032, 55215},
        {63744, 64255},   {65072, 65103},   {65381, 65500},   {94208, 101119},
        {110592, 110895}, {110960, 111359}, {131072, 196607},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (c < r[i][1]) return c > r[i][0];
    return 0;
}

/* Every character of s[0..n) is in the ASCII set. */
static int all_in(const char *s, size_t n, const char *set) {
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]) || !s[i]) return 0;
    return n > 0;
}

/* Every character is one of ' " „ “ ` (IS_OPEN_QUOTE); *curly: all are one
 * of „ “ ” (they count as '"'). */
static int is_quote(const char *s, size_t n, int *curly) {
    int any = n > 0, all = n > 0, curly_all = n > 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        uint32_t c = cp_at(s + i, n - i, &len);
        int q = c == '\'' || c == '"' || c == 0x201e || c == 0x201c || c == '`';
        int cq = c == 0x201e || c == 0x201c || c == 0x201d;
        all &= q;
        curly_all &= cq;
        i += len;
    }
    *curly = curly_all;
    return any && all;
}

typedef struct span {
    size_t off, len;
} span;

typedef struct quote_count {
    size_t off, len; /* the quote string, in the token text */
    int count;
} quote_count;

int tok_moses_detokenize(const tok_moses *m, const char *s, size_t n, tok_str *out, ob_err *err) {
    tok_str a = {0};
    span *tok = NULL;
    quote_count *qc = NULL;
    size_t n_tok = 0, cap_tok = 0, n_qc = 0;
    int rc = 0;
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    out->len = 0;
    if (!md || tok_str_reserve(out, n + 2) || tok_str_reserve(&a, n + 2)) goto oom;
    /* " " + tokens joined by one space + " ", with " @-@ " -> "-" and the
     * XML entities unescaped (one pass: no replacement makes another) */
    static const struct {
        const char *ent, *ch;
    } ents[] = {{"&bar;", "|"}, {"&#124;", "|"}, {"&lt;", "<"},   {"&gt;", ">"},
                {"&bra;", "["}, {"&ket;", "]"},  {"&quot;", "\""}, {"&apos;", "'"},
                {"&#91;", "["}, {"&#93;", "]"},  {"&amp;", "&"}};
    tok_str j = {0};
    if (tok_str_put(&j, " ", 1)) goto oom;
    for (size_t i = 0; i < n;) {
        size_t w = py_space((const unsigned char *)s + i, n - i);
        if (w) {
            i += w;
            continue;
        }
        size_t e = i;
        while (e < n && !py_space((const unsigned char *)s + e, n - e)) e++;
        if ((j.len > 1 && tok_str_put(&j, " ", 1)) || tok_str_put(&j, s + i, e - i)) {
            tok_str_free(&j);
            goto oom;
        }
        i = e;
    }
    if (tok_str_put(&j, " ", 1)) {
        tok_str_free(&j);
        goto oom;
    }
    for (size_t i = 0; i < j.len;) {
        if (starts_with(j.p + i, j.len - i, " @-@ ")) {
            a.p[a.len++] = '-';
            i += 5;
            continue;
        }
        a.p[a.len++] = j.p[i++];
    }
    tok_str_free(&j);
    size_t k = 0;
    for (size_t i = 0; i < a.len;) {
        size_t e = 0;
        if (a.p[i] == '&')
            for (e = 0; e < sizeof ents / sizeof ents[0]; e++)
                if (starts_with(a.p + i, a.len - i, ents[e].ent)) break;
        if (a.p[i] == '&' && e < sizeof ents / sizeof ents[0]) {
            a.p[k++] = ents[e].ch[0];
            i += strlen(ents[e].ent);
        } else {
            a.p[k++] = a.p[i++];
        }
    }
    a.len = k;
    for (size_t i = 0; i < a.len;) { /* tokens = text.split() */
        size_t w = py_space((const unsigned char *)a.p + i, a.len - i);
        if (w) {
            i += w;
            continue;
        }
        size_t e = i;
        while (e < a.len && !py_space((const unsigned char *)a.p + e, a.len - e)) e++;
        if (n_tok == cap_tok) {
            size_t c = cap_tok ? cap_tok * 2 : 64;
            span *p = realloc(tok, c * sizeof *p);
            if (!p) goto oom;
            tok = p;
            cap_tok = c;
        }
        tok[n_tok++] = (span){i, e - i};
        i = e;
    }
    if (n_tok && !(qc = calloc(n_tok, sizeof *qc))) goto oom;
    if (tok_str_reserve(out, a.len + 1)) goto oom;
    /* out cannot outgrow a: each token adds at most one space before it */
    const char *prepend = " ";
    for (size_t i = 0; i < n_tok; i++) {
        const char *t = a.p + tok[i].off;
        size_t tn = tok[i].len, len;
        uint32_t c0 = cp_at(t, tn, &len);
        int curly;
        const char *pre = prepend;
        if (is_cjk(c0)) {
            const span *p = i ? &tok[i - 1] : NULL;
            pre = p && is_cjk(last_cp(a.p + p->off, p->len)) ? "" : prepend;
            prepend = " ";
        } else if (test(m, R_CURRENCY, md, t, tn)) {
            prepend = ""; /* right shift: "$ 5" -> "$5", "( a" -> "(a" */
        } else if (all_in(t, tn, ",.?!:;\\%}])")) {
            pre = ""; /* left shift */
            prepend = " ";
        } else if (i > 0 && test(m, R_CONTRACTION, md, t, tn)) {
            pre = ""; /* "it 's" -> "it's" */
            prepend = " ";
        } else if (is_quote(t, tn, &curly)) {
            const char *key = curly ? "\"" : t;
            size_t kn = curly ? 1 : tn, q;
            for (q = 0; q < n_qc; q++)
                if (qc[q].len == kn &&
                    memcmp(qc[q].off == (size_t)-1 ? "\"" : a.p + qc[q].off, key, kn) == 0)
                    break;
            if (q == n_qc) {
                qc[q] = (quote_count){curly ? (size_t)-1 : tok[i].off, kn, 0};
                n_qc++;
            }
            if (qc[q].count % 2 == 0) {
                const span *p = i ? &tok[i - 1] : NULL;
                if (tn == 1 && t[0] == '\'' && p && a.p[p->off + p->len - 1] == 's') {
                    pre = ""; /* "the Jones' house" */
                    prepend = " ";
                } else {
                    prepend = ""; /* opening quote */
                    qc[q].count++;
                }
            } else {
                pre = ""; /* closing quote */
                prepend = " ";
                qc[q].count++;
            }
        } else {
            prepend = " ";
        }
        /* pre is "" or " " and tokens hold no spaces: never " {2,}" */
        if (tok_str_put(out, pre, strlen(pre)) || tok_str_put(out, t, tn)) goto oom;
    }
    size_t lo = 0; /* strip */
    while (lo < out->len && out->p[lo] == ' ') lo++;
    memmove(out->p, out->p + lo, out->len - lo);
    out->len -= lo;
    while (out->len && out->p[out->len - 1] == ' ') out->len--;
    out->p[out->len] = 0;
    goto done;
oom:
    rc = ob_fail(err, OB_ENOMEM, "detokenize: out of memory");
done:
    if (md) pcre2_match_data_free(md);
    free(tok);
    free(qc);
    tok_str_free(&a);
    return rc;
}

int tok_moses_class(const tok_moses *m, pcre2_match_data *md, const char *s, size_t n) {
    int c = 0;
    if (test(m, R_CURRENCY, md, s, n)) c |= MOSES_OPEN;
    else if (all_in(s, n, ",.?!:;\\%}])")) c |= MOSES_CLOSE;
    else if (test(m, R_CONTRACTION, md, s, n)) c |= MOSES_CONTRACTION;
    if (n) {
        size_t len;
        if (is_cjk(cp_at(s, n, &len))) c |= MOSES_CJK_FIRST;
        if (is_cjk(last_cp(s, n))) c |= MOSES_CJK_LAST;
    }
    return c;
}

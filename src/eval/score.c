/* score.c - SQuAD v2, GSM8K and multiple-choice scoring, as the references.
 *
 * Sources of the rules (facts only; every line here is written anew):
 *  - SQuAD v2: the official "evaluate-v2.0.py" (SQuAD 2.0 site, copied in
 *    e.g. github.com/qwang70/bert evaluate-v2.0.py): normalize_answer,
 *    get_tokens, compute_exact, compute_f1, get_raw_scores,
 *    apply_no_ans_threshold, make_eval_dict, merge_eval, find_best_thresh.
 *  - GSM8K: EleutherAI/lm-evaluation-harness lm_eval/tasks/gsm8k/gsm8k.yaml
 *    (filter_list, metric_list), lm_eval/filters/extraction.py (RegexFilter:
 *    findall, group_select, tuple -> first non-empty group, strip, fallback
 *    "[invalid]") and lm_eval/api/metrics.py (exact_match_hf_evaluate).
 *  - Multiple choice: lm_eval/api/task.py (process_results, multiple_choice:
 *    completion_len = len(choice), byte_length = len(choice.encode()),
 *    np.argmax).
 *  - Standard errors: lm_eval/api/metrics.py (sample_stddev, mean_stderr)
 *    and lm_eval/evaluator_utils.py ("N/A" when there is one item).
 *  - Python's str.lower() context rules: CPython Objects/unicodeobject.c
 *    (lower_ucs4, handle_capital_sigma); str.isspace(): the code points
 *    listed in is_py_space below.
 */
#include "eval/score.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ------------------------------------------------------------ code points */

/* An invalid UTF-8 byte b is carried as RAW_BASE + b: not a letter, digit,
 * space or punctuation, and written back as the byte itself. */
#define RAW_BASE 0x110000

typedef struct cpbuf {
    int32_t *v;
    size_t n, cap;
} cpbuf;

static int cp_push(cpbuf *b, int32_t c) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int32_t *v = realloc(b->v, cap * sizeof *v);
        if (!v) return -1;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = c;
    return 0;
}

static int decode(const char *s, size_t len, cpbuf *b) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {
            c = RAW_BASE + p[i];
            k = 1;
        }
        if (cp_push(b, c)) return -1;
        i += (size_t)k;
    }
    return 0;
}

/* Encodes b into a new NUL-terminated string. */
static char *encode(const cpbuf *b) {
    char *out = malloc(b->n * 4 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < b->n; i++) {
        int32_t c = b->v[i];
        if (c >= RAW_BASE)
            out[o++] = (char)(c - RAW_BASE);
        else
            o += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)out + o);
    }
    out[o] = 0;
    return out;
}

size_t ob_utf8_n_chars(const char *s, size_t len) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, n = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        i += k > 0 ? (size_t)k : 1;
        n++;
    }
    return n;
}

static int is_raw(int32_t c) { return c >= RAW_BASE; }

/* Python's str.isspace(): bidirectional class WS, B or S, or category Zs. */
static int is_py_space(int32_t c) {
    if (c >= 0x09 && c <= 0x0D) return 1;
    if (c >= 0x1C && c <= 0x20) return 1;
    if (c == 0x85 || c == 0xA0 || c == 0x1680) return 1;
    if (c >= 0x2000 && c <= 0x200A) return 1;
    return c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Python's string.punctuation: the 32 ASCII punctuation characters. */
static int is_ascii_punct(int32_t c) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}

/* Python re's \w on str patterns: str.isalnum() or '_' (letters L*,
 * numbers N*). */
static int is_word(int32_t c) {
    if (is_raw(c)) return 0;
    if (c == '_') return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* Unicode "Cased" (Lowercase, Uppercase or Lt), as used by Final_Sigma. */
static int is_cased(int32_t c) {
    if (is_raw(c)) return 0;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           utf8proc_islower(c) || utf8proc_isupper(c);
}

/* Unicode "Case_Ignorable": Mn, Me, Cf, Lm, Sk, or Word_Break MidLetter,
 * MidNumLet or Single_Quote. */
static int is_case_ignorable(int32_t c) {
    if (is_raw(c)) return 0;
    switch (c) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x5F4: case 0x2018:
    case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55:
    case 0xFF07: case 0xFF0E: case 0xFF1A:
        return 1;
    default:
        break;
    }
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK;
}

/* CPython handle_capital_sigma: U+03A3 at i is final when a cased letter
 * precedes it (skipping case-ignorables) and none follows it. */
static int final_sigma(const int32_t *v, size_t n, size_t i) {
    size_t j = i;
    int32_t c = 0;
    int found = 0;
    while (j > 0) {
        c = v[--j];
        if (!is_case_ignorable(c)) {
            found = 1;
            break;
        }
    }
    if (!found || !is_cased(c)) return 0;
    for (j = i + 1; j < n; j++) {
        if (!is_case_ignorable(v[j])) return !is_cased(v[j]);
    }
    return 1;
}

static int lower_cps(const cpbuf *in, cpbuf *out) {
    for (size_t i = 0; i < in->n; i++) {
        int32_t c = in->v[i];
        if (is_raw(c)) {
            if (cp_push(out, c)) return -1;
        } else if (c == 0x130) {
            if (cp_push(out, 'i') || cp_push(out, 0x307)) return -1;
        } else if (c == 0x3A3) {
            if (cp_push(out, final_sigma(in->v, in->n, i) ? 0x3C2 : 0x3C3)) return -1;
        } else {
            if (cp_push(out, utf8proc_tolower(c))) return -1;
        }
    }
    return 0;
}

int ob_py_lower(const char *s, size_t len, char **out, ob_err *err) {
    cpbuf a = {0}, b = {0};
    *out = NULL;
    int rc = decode(s, len, &a) || lower_cps(&a, &b);
    if (!rc) *out = encode(&b);
    free(a.v);
    free(b.v);
    if (!*out) return ob_fail(err, OB_ENOMEM, "lowercase: out of memory");
    return 0;
}

/* ---------------------------------------------------------------- helpers */

int ob_mean_stderr(const double *v, int n, double *mean, double *se, ob_err *err) {
    if (!v || n <= 0) return ob_fail(err, OB_EINVAL, "mean: no values");
    double m = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    if (mean) *mean = m;
    if (se) *se = n > 1 ? sqrt(ss / (n - 1)) / sqrt((double)n) : NAN;
    return 0;
}

int ob_argmax(const double *v, int n) {
    if (n <= 0) return -1;
    int best = 0;
    if (isnan(v[0])) return 0;
    for (int i = 1; i < n; i++) {
        if (isnan(v[i])) return i;
        if (v[i] > v[best]) best = i;
    }
    return best;
}

/* ------------------------------------------------------------------ SQuAD */

/* normalize_answer on code points; the result is in out. */
static int squad_normalize_cps(const char *s, size_t len, cpbuf *out) {
    cpbuf raw = {0}, low = {0}, mid = {0};
    int rc = -1;
    if (decode(s, len, &raw) || lower_cps(&raw, &low)) goto done;
    /* remove_punc */
    size_t m = 0;
    for (size_t i = 0; i < low.n; i++)
        if (!is_ascii_punct(low.v[i])) low.v[m++] = low.v[i];
    low.n = m;
    /* remove_articles: a maximal run of word characters equal to a, an or
     * the is exactly a match of \b(a|an|the)\b; it becomes one space. */
    for (size_t i = 0; i < low.n;) {
        if (!is_word(low.v[i])) {
            if (cp_push(&mid, low.v[i])) goto done;
            i++;
            continue;
        }
        size_t j = i;
        while (j < low.n && is_word(low.v[j])) j++;
        size_t w = j - i;
        const int32_t *p = low.v + i;
        int art = (w == 1 && p[0] == 'a') || (w == 2 && p[0] == 'a' && p[1] == 'n') ||
                  (w == 3 && p[0] == 't' && p[1] == 'h' && p[2] == 'e');
        if (art) {
            if (cp_push(&mid, ' ')) goto done;
        } else {
            for (size_t k = i; k < j; k++)
                if (cp_push(&mid, low.v[k])) goto done;
        }
        i = j;
    }
    /* white_space_fix: ' '.join(text.split()) */
    for (size_t i = 0; i < mid.n;) {
        while (i < mid.n && is_py_space(mid.v[i])) i++;
        if (i == mid.n) break;
        if (out->n && cp_push(out, ' ')) goto done;
        while (i < mid.n && !is_py_space(mid.v[i]))
            if (cp_push(out, mid.v[i++])) goto done;
    }
    rc = 0;
done:
    free(raw.v);
    free(low.v);
    free(mid.v);
    return rc;
}

int ob_squad_normalize(const char *s, size_t len, char **out, ob_err *err) {
    cpbuf b = {0};
    *out = NULL;
    if (!squad_normalize_cps(s, len, &b)) *out = encode(&b);
    free(b.v);
    if (!*out) return ob_fail(err, OB_ENOMEM, "SQuAD normalization: out of memory");
    return 0;
}

int ob_squad_compute_exact(const char *gold, const char *pred, int *exact, ob_err *err) {
    char *a = NULL, *b = NULL;
    int rc = ob_squad_normalize(gold, strlen(gold), &a, err);
    if (!rc) rc = ob_squad_normalize(pred, strlen(pred), &b, err);
    if (!rc) *exact = strcmp(a, b) == 0;
    free(a);
    free(b);
    return rc;
}

/* Splits a normalized string (single spaces, none at the ends) in place
 * into tokens; *toks is allocated. */
static int split_tokens(char *s, char ***toks, size_t *n) {
    size_t cnt = 0;
    *toks = NULL;
    *n = 0;
    if (!*s) return 0;
    cnt = 1;
    for (char *p = s; *p; p++) cnt += *p == ' ';
    char **t = malloc(cnt * sizeof *t);
    if (!t) return -1;
    size_t k = 0;
    t[k++] = s;
    for (char *p = s; *p; p++) {
        if (*p == ' ') {
            *p = 0;
            t[k++] = p + 1;
        }
    }
    *toks = t;
    *n = cnt;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ob_squad_compute_f1(const char *gold, const char *pred, double *f1, ob_err *err) {
    char *a = NULL, *b = NULL, **ta = NULL, **tb = NULL;
    size_t na = 0, nb = 0;
    int rc = ob_squad_normalize(gold, strlen(gold), &a, err);
    if (!rc) rc = ob_squad_normalize(pred, strlen(pred), &b, err);
    if (!rc && (split_tokens(a, &ta, &na) || split_tokens(b, &tb, &nb)))
        rc = ob_fail(err, OB_ENOMEM, "SQuAD F1: out of memory");
    if (!rc) {
        if (na == 0 || nb == 0) {
            *f1 = (na == 0 && nb == 0) ? 1.0 : 0.0;
        } else {
            /* Counter(gold) & Counter(pred): a merge of the sorted lists
             * counts each token min(count in gold, count in pred) times. */
            qsort(ta, na, sizeof *ta, cmp_str);
            qsort(tb, nb, sizeof *tb, cmp_str);
            size_t i = 0, j = 0, same = 0;
            while (i < na && j < nb) {
                int c = strcmp(ta[i], tb[j]);
                if (c == 0) {
                    same++;
                    i++;
                    j++;
                } else if (c < 0) {
                    i++;
                } else {
                    j++;
                }
            }
            if (same == 0) {
                *f1 = 0.0;
            } else {
                double precision = 1.0 * (double)same / (double)nb;
                double recall = 1.0 * (double)same / (double)na;
                *f1 = (2 * precision * recall) / (precision + recall);
            }
        }
    }
    free(ta);
    free(tb);
    free(a);
    free(b);
    return rc;
}

int ob_squad_score(const char *const *golds, int n_golds, const char *pred, int *exact,
                   double *f1, ob_err *err) {
    int best_em = 0, used = 0;
    double best_f1 = 0;
    for (int g = 0; g < n_golds; g++) {
        char *norm = NULL;
        int rc = ob_squad_normalize(golds[g], strlen(golds[g]), &norm, err);
        if (rc) return rc;
        int keep = norm[0] != 0;
        free(norm);
        if (!keep) continue;
        int em;
        double f;
        if ((rc = ob_squad_compute_exact(golds[g], pred, &em, err))) return rc;
        if ((rc = ob_squad_compute_f1(golds[g], pred, &f, err))) return rc;
        if (!used || em > best_em) best_em = em;
        if (!used || f > best_f1) best_f1 = f;
        used = 1;
    }
    if (!used) {
        int rc = ob_squad_compute_exact("", pred, &best_em, err);
        if (!rc) rc = ob_squad_compute_f1("", pred, &best_f1, err);
        if (rc) return rc;
    }
    *exact = best_em;
    *f1 = best_f1;
    return 0;
}

typedef struct na_key {
    double p;
    int i;
} na_key;

static int cmp_na(const void *a, const void *b) {
    const na_key *x = a, *y = b;
    if (x->p < y->p) return -1;
    if (x->p > y->p) return 1;
    return (x->i > y->i) - (x->i < y->i); /* Python's sort is stable */
}

/* find_best_thresh over the raw scores s (exact or f1 of each item). */
static void best_thresh(const ob_squad_item *it, const na_key *order, int n, int use_f1,
                        double *best, double *thresh) {
    double cur = 0;
    for (int i = 0; i < n; i++) cur += !it[i].has_ans;
    double best_score = cur, best_t = 0.0;
    for (int k = 0; k < n; k++) {
        const ob_squad_item *q = &it[order[k].i];
        double diff;
        if (q->has_ans)
            diff = use_f1 ? q->f1 : q->exact;
        else
            diff = q->pred_empty ? 0 : -1;
        cur += diff;
        if (cur > best_score) {
            best_score = cur;
            best_t = q->na_prob;
        }
    }
    *best = 100.0 * best_score / n;
    *thresh = best_t;
}

int ob_squad_aggregate(const ob_squad_item *items, int n, double na_prob_thresh,
                       ob_squad_result *out, ob_err *err) {
    if (!items || n <= 0) return ob_fail(err, OB_EINVAL, "SQuAD: no questions to aggregate");
    memset(out, 0, sizeof *out);
    double ex = 0, f = 0, hex = 0, hf = 0, nex = 0, nf = 0;
    for (int i = 0; i < n; i++) {
        const ob_squad_item *q = &items[i];
        double e = q->exact, g = q->f1;
        if (q->na_prob > na_prob_thresh) e = g = q->has_ans ? 0.0 : 1.0;
        ex += e;
        f += g;
        if (q->has_ans) {
            hex += e;
            hf += g;
            out->HasAns_total++;
        } else {
            nex += e;
            nf += g;
            out->NoAns_total++;
        }
    }
    out->total = n;
    out->exact = 100.0 * ex / n;
    out->f1 = 100.0 * f / n;
    if (out->HasAns_total) {
        out->HasAns_exact = 100.0 * hex / out->HasAns_total;
        out->HasAns_f1 = 100.0 * hf / out->HasAns_total;
    }
    if (out->NoAns_total) {
        out->NoAns_exact = 100.0 * nex / out->NoAns_total;
        out->NoAns_f1 = 100.0 * nf / out->NoAns_total;
    }
    na_key *order = malloc((size_t)n * sizeof *order);
    if (!order) return ob_fail(err, OB_ENOMEM, "SQuAD: out of memory");
    for (int i = 0; i < n; i++) order[i] = (na_key){items[i].na_prob, i};
    qsort(order, (size_t)n, sizeof *order, cmp_na);
    best_thresh(items, order, n, 0, &out->best_exact, &out->best_exact_thresh);
    best_thresh(items, order, n, 1, &out->best_f1, &out->best_f1_thresh);
    free(order);
    return 0;
}

/* ------------------------------------------------------------------ GSM8K */

#define GSM8K_N_IGNORE 4

struct ob_gsm8k {
    pcre2_code *strict, *flexible;
    pcre2_code *ignore[GSM8K_N_IGNORE];
};

/* gsm8k.yaml, verbatim (YAML "\\" unescaped to one backslash). */
static const char *const GSM8K_STRICT_RE = "#### (\\-?[0-9\\.\\,]+)";
static const char *const GSM8K_FLEXIBLE_RE = "(-?[$0-9.,]{2,})|(-?[0-9]+)";
static const char *const GSM8K_IGNORE_RE[GSM8K_N_IGNORE] = {",", "\\$", "(?s).*#### ", "\\.$"};

static int compile_re(const char *pat, pcre2_code **out, ob_err *err) {
    int code;
    PCRE2_SIZE off;
    *out = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (!*out) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return ob_fail(err, OB_EINVAL, "GSM8K regex '%s' at %zu: %s", pat, (size_t)off,
                       (const char *)msg);
    }
    return 0;
}

void ob_gsm8k_free(ob_gsm8k *g) {
    if (!g) return;
    pcre2_code_free(g->strict);
    pcre2_code_free(g->flexible);
    for (int i = 0; i < GSM8K_N_IGNORE; i++) pcre2_code_free(g->ignore[i]);
    free(g);
}

int ob_gsm8k_new(ob_gsm8k **out, ob_err *err) {
    *out = NULL;
    ob_gsm8k *g = calloc(1, sizeof *g);
    if (!g) return ob_fail(err, OB_ENOMEM, "GSM8K scorer: out of memory");
    int rc = compile_re(GSM8K_STRICT_RE, &g->strict, err);
    if (!rc) rc = compile_re(GSM8K_FLEXIBLE_RE, &g->flexible, err);
    for (int i = 0; !rc && i < GSM8K_N_IGNORE; i++)
        rc = compile_re(GSM8K_IGNORE_RE[i], &g->ignore[i], err);
    if (rc) {
        ob_gsm8k_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

static char *dup_range(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

int ob_gsm8k_extract(const ob_gsm8k *g, ob_gsm8k_filter filter, const char *generation,
                     char **out, ob_err *err) {
    *out = NULL;
    const pcre2_code *re = filter == OB_GSM8K_STRICT ? g->strict : g->flexible;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return ob_fail(err, OB_ENOMEM, "GSM8K: out of memory");
    uint32_t n_groups = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n_groups);
    size_t len = strlen(generation), off = 0;
    size_t got_s = 0, got_n = 0;
    int found = 0;
    /* findall: successive non-overlapping matches; strict keeps the first
     * (take group 1), flexible the last (its first non-empty group). */
    while (off <= len) {
        int r = pcre2_match(re, (PCRE2_SPTR)generation, len, off, 0, md, NULL);
        if (r < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t gs = 0, gn = 0;
        int have = 0;
        for (int k = 1; k < r; k++) {
            /* one group: findall gives that group's text, empty or not; a
             * tuple of groups: the first non-empty one */
            if (ov[2 * k] != PCRE2_UNSET && (n_groups == 1 || ov[2 * k + 1] > ov[2 * k])) {
                gs = ov[2 * k];
                gn = ov[2 * k + 1] - ov[2 * k];
                have = 1;
                break;
            }
        }
        found = 1;
        got_s = gs;
        got_n = have ? gn : 0;
        if (!have) found = 2; /* a match whose groups are all empty */
        if (filter == OB_GSM8K_STRICT) break;
        off = ov[1] > ov[0] ? ov[1] : ov[1] + 1; /* these patterns never match empty */
    }
    pcre2_match_data_free(md);
    /* RegexFilter: a tuple with no non-empty group also falls back.  The
     * groups hold only [-$0-9.,], so .strip() changes nothing. */
    if (found == 1)
        *out = dup_range(generation + got_s, got_n);
    else
        *out = dup_range("[invalid]", 9);
    if (!*out) return ob_fail(err, OB_ENOMEM, "GSM8K: out of memory");
    return 0;
}

/* re.sub(pattern, "", s) for every match, left to right. */
static int delete_matches(const pcre2_code *re, char **s, ob_err *err) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    size_t len = strlen(*s);
    char *o = malloc(len + 1);
    if (!md || !o) {
        pcre2_match_data_free(md);
        free(o);
        return ob_fail(err, OB_ENOMEM, "GSM8K: out of memory");
    }
    size_t off = 0, w = 0, last = 0;
    while (off <= len) {
        int r = pcre2_match(re, (PCRE2_SPTR)*s, len, off, 0, md, NULL);
        if (r < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        memcpy(o + w, *s + last, ov[0] - last);
        w += ov[0] - last;
        last = ov[1];
        off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    if (last < len) {
        memcpy(o + w, *s + last, len - last);
        w += len - last;
    }
    o[w] = 0;
    pcre2_match_data_free(md);
    free(*s);
    *s = o;
    return 0;
}

int ob_gsm8k_clean(const ob_gsm8k *g, const char *s, char **out, ob_err *err) {
    *out = NULL;
    char *t = dup_range(s, strlen(s));
    if (!t) return ob_fail(err, OB_ENOMEM, "GSM8K: out of memory");
    for (int i = 0; i < GSM8K_N_IGNORE; i++) {
        int rc = delete_matches(g->ignore[i], &t, err);
        if (rc) {
            free(t);
            return rc;
        }
    }
    int rc = ob_py_lower(t, strlen(t), out, err);
    free(t);
    return rc;
}

int ob_gsm8k_exact_match(const ob_gsm8k *g, const char *extracted, const char *gold_answer,
                         int *match, ob_err *err) {
    char *a = NULL, *b = NULL;
    int rc = ob_gsm8k_clean(g, extracted, &a, err);
    if (!rc) rc = ob_gsm8k_clean(g, gold_answer, &b, err);
    if (!rc) *match = strcmp(a, b) == 0;
    free(a);
    free(b);
    return rc;
}

/* -------------------------------------------------------- multiple choice */

int ob_mc_score(const double *loglik, const size_t *n_chars, const size_t *n_bytes, int n,
                int gold, ob_mc_result *out, ob_err *err) {
    if (n <= 0) return ob_fail(err, OB_EINVAL, "multiple choice: no choices");
    if (gold < 0 || gold >= n)
        return ob_fail(err, OB_EINVAL, "multiple choice: gold index %d outside 0..%d", gold,
                       n - 1);
    double *v = malloc((size_t)n * sizeof *v);
    if (!v) return ob_fail(err, OB_ENOMEM, "multiple choice: out of memory");
    out->pred = ob_argmax(loglik, n);
    for (int i = 0; i < n; i++) v[i] = loglik[i] / (double)n_chars[i];
    out->pred_norm = ob_argmax(v, n);
    for (int i = 0; i < n; i++) v[i] = loglik[i] / (double)n_bytes[i];
    out->pred_bytes = ob_argmax(v, n);
    free(v);
    out->acc = out->pred == gold;
    out->acc_norm = out->pred_norm == gold;
    out->acc_bytes = out->pred_bytes == gold;
    return 0;
}

int ob_mc_score_choices(const double *loglik, const char *const *choices, int n, int gold,
                        ob_mc_result *out, ob_err *err) {
    if (n <= 0) return ob_fail(err, OB_EINVAL, "multiple choice: no choices");
    size_t *lens = malloc(2 * (size_t)n * sizeof *lens);
    if (!lens) return ob_fail(err, OB_ENOMEM, "multiple choice: out of memory");
    for (int i = 0; i < n; i++) {
        size_t b = strlen(choices[i]);
        lens[i] = ob_utf8_n_chars(choices[i], b);
        lens[n + i] = b;
    }
    int rc = ob_mc_score(loglik, lens, lens + n, n, gold, out, err);
    free(lens);
    return rc;
}

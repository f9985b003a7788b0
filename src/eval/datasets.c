/* datasets.c - RACE, PubMedQA, SQuAD v2, GSM8K and generic multiple-choice
 * loaders, with lm-evaluation-harness's prompts.
 *
 * Sources of the rules (facts only; every line here is written anew), all in
 * EleutherAI/lm-evaluation-harness unless said otherwise:
 *  - lm_eval/tasks/race/preprocess_race.py, race.yaml (doc_to_text,
 *    doc_to_choice, doc_to_target; one document per article).
 *  - lm_eval/tasks/pubmedqa/preprocess_pubmedqa.py, pubmedqa.yaml.
 *  - lm_eval/tasks/squadv2/task.py (doc_to_text); Hugging Face's squad_v2
 *    loader for the title default.
 *  - lm_eval/tasks/gsm8k/gsm8k.yaml; lm_eval/api/task.py (fewshot_context,
 *    build_qa_turn: target_delimiter " ", fewshot_delimiter "\n\n");
 *    lm_eval/api/samplers.py (ContextSampler.sample = rnd.sample(docs, n));
 *    lm_eval/defaults.py (DEFAULT_OTHER_SEED = 1234, the fewshot seed).
 *  - CPython Modules/_randommodule.c (init_genrand, init_by_array,
 *    genrand_uint32, random_seed for ints, getrandbits) and Lib/random.py
 *    (Random.sample, _randbelow_with_getrandbits).
 */
#include "eval/datasets.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ small tools */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Returns the built string (never NULL unless out of memory). */
static char *sb_take(sbuf *b) {
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    if (!b->s) sb_add(b, "", 0);
    if (b->oom) return NULL;
    return b->s;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Reads a whole file; *data is NUL-terminated. */
static int read_file(const char *path, char **data, size_t *len, ob_err *err) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ob_fail(err, OB_EIO, "%s: cannot open: %s", path, strerror(errno));
    sbuf b = {0};
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) sb_add(&b, chunk, k);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b.s);
        return ob_fail(err, OB_EIO, "%s: read error", path);
    }
    *len = b.n;
    *data = sb_take(&b);
    if (!*data) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    return 0;
}

/* Parses a whole JSON document; errors carry jansson's line and column. */
static int parse_json(const char *path, const char *data, size_t len, json_t **out,
                      ob_err *err) {
    json_error_t je;
    *out = json_loadb(data, len, JSON_DECODE_ANY, &je);
    if (!*out) return ob_fail(err, OB_EFORMAT, "%s:%d:%d: invalid JSON: %s", path, je.line,
                              je.column, je.text);
    return 0;
}

/* A string member; where says where the object is ("FILE:LINE" or
 * "FILE: data[0]..."). */
static int get_str(json_t *obj, const char *key, const char *where, const char **out,
                   ob_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!v) return ob_fail(err, OB_EFORMAT, "%s: missing field '%s'", where, key);
    if (!json_is_string(v))
        return ob_fail(err, OB_EFORMAT, "%s: field '%s' is not a string", where, key);
    *out = json_string_value(v);
    return 0;
}

static int get_array(json_t *obj, const char *key, const char *where, json_t **out,
                     ob_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!v) return ob_fail(err, OB_EFORMAT, "%s: missing field '%s'", where, key);
    if (!json_is_array(v))
        return ob_fail(err, OB_EFORMAT, "%s: field '%s' is not an array", where, key);
    *out = v;
    return 0;
}

/* Copies an array of strings. */
static int get_str_array(json_t *arr, const char *key, const char *where, char ***out, int *n,
                         ob_err *err) {
    size_t m = json_array_size(arr);
    *out = NULL;
    *n = 0;
    char **v = calloc(m ? m : 1, sizeof *v);
    if (!v) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    for (size_t i = 0; i < m; i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_string(e) || !(v[i] = xstrdup(json_string_value(e)))) {
            for (size_t j = 0; j < i; j++) free(v[j]);
            free(v);
            if (json_is_string(e)) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
            return ob_fail(err, OB_EFORMAT, "%s: '%s'[%zu] is not a string", where, key, i);
        }
    }
    *out = v;
    *n = (int)m;
    return 0;
}

/* A growing array of items of size sz. */
typedef struct vec {
    void *v;
    int n, cap;
} vec;

static void *vec_push(vec *a, size_t sz) {
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        void *p = realloc(a->v, (size_t)cap * sz);
        if (!p) return NULL;
        a->v = p;
        a->cap = cap;
    }
    void *slot = (char *)a->v + (size_t)a->n++ * sz;
    memset(slot, 0, sz);
    return slot;
}

/* Reads a JSON Lines file: calls fn(obj, where, ctx) for each non-blank
 * line, where obj is the parsed object and where is "FILE:LINE". */
typedef int (*line_fn)(json_t *obj, const char *where, void *ctx, ob_err *err);

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static int read_jsonl(const char *path, line_fn fn, void *ctx, ob_err *err) {
    char *data;
    size_t len;
    int rc = read_file(path, &data, &len, err);
    if (rc) return rc;
    size_t pos = 0;
    int line = 0;
    char where[1024];
    while (pos < len && !rc) {
        line++;
        const char *s = data + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (is_blank(s, n)) continue;
        snprintf(where, sizeof where, "%s:%d", path, line);
        json_error_t je;
        json_t *obj = json_loadb(s, n, JSON_DECODE_ANY, &je);
        if (!obj) {
            rc = ob_fail(err, OB_EFORMAT, "%s: invalid JSON at column %d: %s", where, je.column,
                         je.text);
        } else if (!json_is_object(obj)) {
            rc = ob_fail(err, OB_EFORMAT, "%s: not a JSON object", where);
        } else {
            rc = fn(obj, where, ctx, err);
        }
        json_decref(obj);
    }
    free(data);
    return rc;
}

/* -------------------------------------------------------- multiple choice */

static void mc_item_clear(ob_mc_item *it) {
    free(it->id);
    free(it->context);
    for (int i = 0; i < it->n_choices; i++) free(it->choices[i]);
    free(it->choices);
}

void ob_mc_set_free(ob_mc_set *set) {
    if (!set) return;
    for (int i = 0; i < set->n; i++) mc_item_clear(&set->items[i]);
    free(set->items);
    free(set);
}

static int mc_finish(vec *items, const char *path, ob_mc_set **out, ob_err *err) {
    ob_mc_set *set = calloc(1, sizeof *set);
    if (set) {
        set->items = items->v;
        set->n = items->n;
    }
    if (!set || items->n == 0) {
        if (set) ob_mc_set_free(set);
        else {
            for (int i = 0; i < items->n; i++) mc_item_clear(&((ob_mc_item *)items->v)[i]);
            free(items->v);
        }
        if (!set) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        return ob_fail(err, OB_EFORMAT, "%s: no examples", path);
    }
    *out = set;
    return 0;
}

static void mc_fail_cleanup(vec *items) {
    for (int i = 0; i < items->n; i++) mc_item_clear(&((ob_mc_item *)items->v)[i]);
    free(items->v);
}

/* --- generic JSONL */

static int mc_line(json_t *obj, const char *where, void *ctx, ob_err *err) {
    vec *items = ctx;
    const char *context, *id = NULL;
    json_t *choices, *gold = json_object_get(obj, "gold");
    int rc = get_str(obj, "context", where, &context, err);
    if (!rc) rc = get_array(obj, "choices", where, &choices, err);
    if (rc) return rc;
    if (!gold) return ob_fail(err, OB_EFORMAT, "%s: missing field 'gold'", where);
    if (!json_is_integer(gold))
        return ob_fail(err, OB_EFORMAT, "%s: field 'gold' is not an integer", where);
    if (json_object_get(obj, "id") && (rc = get_str(obj, "id", where, &id, err))) return rc;
    size_t nc = json_array_size(choices);
    if (nc < 2) return ob_fail(err, OB_EFORMAT, "%s: 'choices' has %zu entries, needs at least 2",
                               where, nc);
    json_int_t g = json_integer_value(gold);
    if (g < 0 || (size_t)g >= nc)
        return ob_fail(err, OB_EFORMAT, "%s: gold %lld is out of range 0..%zu", where,
                       (long long)g, nc - 1);
    ob_mc_item *it = vec_push(items, sizeof *it);
    if (!it) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    it->gold = (int)g;
    if ((rc = get_str_array(choices, "choices", where, &it->choices, &it->n_choices, err))) {
        items->n--;
        return rc;
    }
    it->context = xstrdup(context);
    it->id = xstrdup(id ? id : where);
    if (!it->context || !it->id) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    return 0;
}

int ob_mc_jsonl_load(const char *path, ob_mc_set **out, ob_err *err) {
    vec items = {0};
    *out = NULL;
    int rc = read_jsonl(path, mc_line, &items, err);
    if (rc) {
        mc_fail_cleanup(&items);
        return rc;
    }
    return mc_finish(&items, path, out, err);
}

/* --- RACE */

static int race_name_cmp(const void *a, const void *b) {
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Fills it from one article file (already parsed). */
static int race_article(json_t *doc, const char *where, ob_mc_item *it, ob_err *err) {
    const char *article;
    json_t *qs, *opts, *ans;
    if (!json_is_object(doc)) return ob_fail(err, OB_EFORMAT, "%s: not a JSON object", where);
    int rc = get_str(doc, "article", where, &article, err);
    if (!rc) rc = get_array(doc, "questions", where, &qs, err);
    if (!rc) rc = get_array(doc, "options", where, &opts, err);
    if (!rc) rc = get_array(doc, "answers", where, &ans, err);
    if (rc) return rc;
    size_t nq = json_array_size(qs);
    if (nq == 0) return ob_fail(err, OB_EFORMAT, "%s: 'questions' is empty", where);
    if (json_array_size(opts) != nq || json_array_size(ans) != nq)
        return ob_fail(err, OB_EFORMAT,
                       "%s: %zu questions but %zu option lists and %zu answers", where, nq,
                       json_array_size(opts), json_array_size(ans));
    /* Check every question first: its options (4 strings) and its answer
     * letter, which lm-eval maps with {"A": 0, "B": 1, "C": 2, "D": 3}. */
    int *golds = malloc(nq * sizeof *golds);
    if (!golds) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    for (size_t q = 0; q < nq && !rc; q++) {
        json_t *o = json_array_get(opts, q), *a = json_array_get(ans, q);
        if (!json_is_string(json_array_get(qs, q)))
            rc = ob_fail(err, OB_EFORMAT, "%s: questions[%zu] is not a string", where, q);
        else if (!json_is_array(o) || json_array_size(o) != 4)
            rc = ob_fail(err, OB_EFORMAT, "%s: options[%zu] is not a list of 4 options", where,
                         q);
        else if (!json_is_string(a))
            rc = ob_fail(err, OB_EFORMAT, "%s: answers[%zu] is not a string", where, q);
        for (size_t k = 0; !rc && k < 4; k++)
            if (!json_is_string(json_array_get(o, k)))
                rc = ob_fail(err, OB_EFORMAT, "%s: options[%zu][%zu] is not a string", where, q,
                             k);
        if (rc) break;
        const char *l = json_string_value(a);
        if (strlen(l) != 1 || l[0] < 'A' || l[0] > 'D')
            rc = ob_fail(err, OB_EFORMAT, "%s: answers[%zu] is '%s', not A, B, C or D", where, q,
                         l);
        else
            golds[q] = l[0] - 'A';
    }
    if (rc) {
        free(golds);
        return rc;
    }
    sbuf b = {0};
    sb_str(&b, "Article: ");
    sb_str(&b, article);
    sb_str(&b, "\n\n");
    for (size_t q = 0; q + 1 < nq; q++) {
        const char *text = json_string_value(json_array_get(qs, q));
        const char *answer =
            json_string_value(json_array_get(json_array_get(opts, q), (size_t)golds[q]));
        size_t tl = strlen(text);
        if (tl >= 6 && memcmp(text + tl - 6, "  _  .", 6) == 0) {
            sb_add(&b, text, tl - 5); /* problem["question"][:-5] */
            sb_str(&b, answer);
            sb_str(&b, "\n");
        } else {
            sb_str(&b, "Question: ");
            sb_str(&b, text);
            sb_str(&b, "\n");
            sb_str(&b, "Answer: ");
            sb_str(&b, answer);
            sb_str(&b, "\n");
        }
    }
    sb_str(&b, json_string_value(json_array_get(qs, nq - 1)));
    it->context = sb_take(&b);
    it->gold = golds[nq - 1];
    free(golds);
    if (!it->context) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    return get_str_array(json_array_get(opts, nq - 1), "options", where, &it->choices,
                         &it->n_choices, err);
}

int ob_race_load(const char *dir, ob_mc_set **out, ob_err *err) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return ob_fail(err, OB_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    vec names = {0};
    int rc = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        char **slot = vec_push(&names, sizeof(char *));
        if (!slot || !(*slot = xstrdup(e->d_name))) {
            if (slot) names.n--;
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
            break;
        }
    }
    closedir(d);
    char **nm = names.v;
    if (!rc && names.n > 1) qsort(nm, (size_t)names.n, sizeof *nm, race_name_cmp);
    vec items = {0};
    for (int i = 0; !rc && i < names.n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, nm[i]);
        char *data;
        size_t len;
        json_t *doc = NULL;
        if ((rc = read_file(path, &data, &len, err))) break;
        rc = parse_json(path, data, len, &doc, err);
        free(data);
        if (rc) break;
        ob_mc_item *it = vec_push(&items, sizeof *it);
        if (!it) {
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        } else {
            rc = race_article(doc, path, it, err);
            if (!rc && !(it->id = xstrdup(nm[i])))
                rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
        }
        json_decref(doc);
    }
    for (int i = 0; i < names.n; i++) free(nm[i]);
    free(nm);
    if (rc) {
        mc_fail_cleanup(&items);
        return rc;
    }
    return mc_finish(&items, dir, out, err);
}

/* --- PubMedQA */

static const char *const PUBMEDQA_CHOICES[3] = {"yes", "no", "maybe"};

static int pubmedqa_item(json_t *v, const char *where, ob_mc_item *it, ob_err *err) {
    const char *question, *decision;
    json_t *ctxs;
    if (!json_is_object(v)) return ob_fail(err, OB_EFORMAT, "%s: not a JSON object", where);
    int rc = get_str(v, "QUESTION", where, &question, err);
    if (!rc) rc = get_array(v, "CONTEXTS", where, &ctxs, err);
    if (!rc) rc = get_str(v, "final_decision", where, &decision, err);
    if (rc) return rc;
    it->gold = -1;
    for (int c = 0; c < 3; c++)
        if (strcmp(decision, PUBMEDQA_CHOICES[c]) == 0) it->gold = c;
    if (it->gold < 0)
        return ob_fail(err, OB_EFORMAT, "%s: final_decision '%s' is not yes, no or maybe", where,
                       decision);
    sbuf b = {0};
    sb_str(&b, "Abstract: ");
    for (size_t i = 0; i < json_array_size(ctxs); i++) {
        json_t *c = json_array_get(ctxs, i);
        if (!json_is_string(c)) {
            free(b.s);
            return ob_fail(err, OB_EFORMAT, "%s: CONTEXTS[%zu] is not a string", where, i);
        }
        if (i) sb_str(&b, "\n");
        sb_str(&b, json_string_value(c));
    }
    sb_str(&b, "\nQuestion: ");
    sb_str(&b, question);
    sb_str(&b, "\nAnswer:");
    if (!(it->context = sb_take(&b))) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    it->choices = calloc(3, sizeof *it->choices);
    if (!it->choices) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    for (int c = 0; c < 3; c++) {
        if (!(it->choices[c] = xstrdup(PUBMEDQA_CHOICES[c])))
            return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
        it->n_choices = c + 1;
    }
    return 0;
}

int ob_pubmedqa_load(const char *path, ob_mc_set **out, ob_err *err) {
    *out = NULL;
    char *data;
    size_t len;
    json_t *doc;
    int rc = read_file(path, &data, &len, err);
    if (rc) return rc;
    rc = parse_json(path, data, len, &doc, err);
    free(data);
    if (rc) return rc;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return ob_fail(err, OB_EFORMAT, "%s: not a JSON object of PubMed id -> item", path);
    }
    vec items = {0};
    const char *key;
    json_t *v;
    char where[1024];
    json_object_foreach(doc, key, v) {
        snprintf(where, sizeof where, "%s: item '%s'", path, key);
        ob_mc_item *it = vec_push(&items, sizeof *it);
        if (!it) {
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
            break;
        }
        if ((rc = pubmedqa_item(v, where, it, err))) break;
        if (!(it->id = xstrdup(key))) {
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
            break;
        }
    }
    json_decref(doc);
    if (rc) {
        mc_fail_cleanup(&items);
        return rc;
    }
    return mc_finish(&items, path, out, err);
}

/* ------------------------------------------------------------------ SQuAD */

static void squad_q_clear(ob_squad_q *q) {
    free(q->id);
    free(q->title);
    free(q->context);
    free(q->question);
    free(q->prompt);
    for (int i = 0; i < q->n_answers; i++) free(q->answers[i]);
    free(q->answers);
}

void ob_squad_set_free(ob_squad_set *set) {
    if (!set) return;
    for (int i = 0; i < set->n; i++) squad_q_clear(&set->items[i]);
    free(set->items);
    free(set);
}

static int squad_qa(json_t *qa, const char *where, const char *title, const char *context,
                    ob_squad_q *q, ob_err *err) {
    const char *id, *question;
    json_t *answers;
    if (!json_is_object(qa)) return ob_fail(err, OB_EFORMAT, "%s: not a JSON object", where);
    int rc = get_str(qa, "id", where, &id, err);
    if (!rc) rc = get_str(qa, "question", where, &question, err);
    if (!rc) rc = get_array(qa, "answers", where, &answers, err);
    if (rc) return rc;
    json_t *imp = json_object_get(qa, "is_impossible");
    if (imp && !json_is_boolean(imp))
        return ob_fail(err, OB_EFORMAT, "%s: field 'is_impossible' is not a boolean", where);
    q->is_impossible = imp ? json_is_true(imp) : 0;
    size_t na = json_array_size(answers);
    q->answers = calloc(na ? na : 1, sizeof *q->answers);
    if (!q->answers) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    for (size_t i = 0; i < na; i++) {
        const char *text;
        char w[1200];
        snprintf(w, sizeof w, "%s.answers[%zu]", where, i);
        json_t *a = json_array_get(answers, i);
        if (!json_is_object(a)) return ob_fail(err, OB_EFORMAT, "%s: not a JSON object", w);
        if ((rc = get_str(a, "text", w, &text, err))) return rc;
        if (!(q->answers[i] = xstrdup(text))) return ob_fail(err, OB_ENOMEM, "%s: out of memory", w);
        q->n_answers = (int)i + 1;
    }
    sbuf b = {0};
    sb_str(&b, "Title: ");
    sb_str(&b, title);
    sb_str(&b, "\n\nBackground: ");
    sb_str(&b, context);
    sb_str(&b, "\n\nQuestion: ");
    sb_str(&b, question);
    sb_str(&b, "\n\nAnswer:");
    q->prompt = sb_take(&b);
    q->id = xstrdup(id);
    q->title = xstrdup(title);
    q->context = xstrdup(context);
    q->question = xstrdup(question);
    if (!q->prompt || !q->id || !q->title || !q->context || !q->question)
        return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    return 0;
}

static int squad_walk(json_t *doc, const char *path, vec *items, ob_err *err) {
    char where[1024];
    json_t *data;
    snprintf(where, sizeof where, "%s", path);
    if (!json_is_object(doc)) return ob_fail(err, OB_EFORMAT, "%s: not a JSON object", path);
    int rc = get_array(doc, "data", where, &data, err);
    for (size_t a = 0; !rc && a < json_array_size(data); a++) {
        json_t *art = json_array_get(data, a), *paras;
        const char *title = "";
        snprintf(where, sizeof where, "%s: data[%zu]", path, a);
        if (!json_is_object(art)) return ob_fail(err, OB_EFORMAT, "%s: not a JSON object", where);
        if (json_object_get(art, "title") && (rc = get_str(art, "title", where, &title, err)))
            return rc;
        if ((rc = get_array(art, "paragraphs", where, &paras, err))) return rc;
        for (size_t p = 0; p < json_array_size(paras); p++) {
            json_t *para = json_array_get(paras, p), *qas;
            const char *context;
            snprintf(where, sizeof where, "%s: data[%zu].paragraphs[%zu]", path, a, p);
            if (!json_is_object(para))
                return ob_fail(err, OB_EFORMAT, "%s: not a JSON object", where);
            if ((rc = get_str(para, "context", where, &context, err))) return rc;
            if ((rc = get_array(para, "qas", where, &qas, err))) return rc;
            for (size_t k = 0; k < json_array_size(qas); k++) {
                snprintf(where, sizeof where, "%s: data[%zu].paragraphs[%zu].qas[%zu]", path, a,
                         p, k);
                ob_squad_q *q = vec_push(items, sizeof *q);
                if (!q) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
                if ((rc = squad_qa(json_array_get(qas, k), where, title, context, q, err)))
                    return rc;
            }
        }
    }
    return rc;
}

int ob_squad_load(const char *path, ob_squad_set **out, ob_err *err) {
    *out = NULL;
    char *data;
    size_t len;
    json_t *doc;
    int rc = read_file(path, &data, &len, err);
    if (rc) return rc;
    rc = parse_json(path, data, len, &doc, err);
    free(data);
    if (rc) return rc;
    vec items = {0};
    rc = squad_walk(doc, path, &items, err);
    json_decref(doc);
    ob_squad_set *set = NULL;
    if (!rc && items.n == 0) rc = ob_fail(err, OB_EFORMAT, "%s: no questions", path);
    if (!rc && !(set = calloc(1, sizeof *set))) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    if (rc) {
        for (int i = 0; i < items.n; i++) squad_q_clear(&((ob_squad_q *)items.v)[i]);
        free(items.v);
        return rc;
    }
    set->items = items.v;
    set->n = items.n;
    *out = set;
    return 0;
}

/* ------------------------------------------------------------------ GSM8K */

void ob_gsm8k_set_free(ob_gsm8k_set *set) {
    if (!set) return;
    for (int i = 0; i < set->n; i++) {
        free(set->items[i].question);
        free(set->items[i].answer);
    }
    free(set->items);
    free(set);
}

static int gsm8k_line(json_t *obj, const char *where, void *ctx, ob_err *err) {
    vec *items = ctx;
    const char *q, *a;
    int rc = get_str(obj, "question", where, &q, err);
    if (!rc) rc = get_str(obj, "answer", where, &a, err);
    if (rc) return rc;
    ob_gsm8k_item *it = vec_push(items, sizeof *it);
    if (!it) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    it->question = xstrdup(q);
    it->answer = xstrdup(a);
    if (!it->question || !it->answer) return ob_fail(err, OB_ENOMEM, "%s: out of memory", where);
    return 0;
}

int ob_gsm8k_load(const char *path, ob_gsm8k_set **out, ob_err *err) {
    *out = NULL;
    vec items = {0};
    int rc = read_jsonl(path, gsm8k_line, &items, err);
    ob_gsm8k_set *set = NULL;
    if (!rc && items.n == 0) rc = ob_fail(err, OB_EFORMAT, "%s: no examples", path);
    if (!rc && !(set = calloc(1, sizeof *set))) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    if (rc) {
        ob_gsm8k_set tmp = {items.v, items.n};
        for (int i = 0; i < tmp.n; i++) {
            free(tmp.items[i].question);
            free(tmp.items[i].answer);
        }
        free(items.v);
        return rc;
    }
    set->items = items.v;
    set->n = items.n;
    *out = set;
    return 0;
}

/* --- Python's random */

#define MT_N 624
#define MT_M 397

static void mt_init_genrand(ob_pyrandom *r, uint32_t s) {
    r->mt[0] = s;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = MT_N;
}

void ob_pyrandom_seed(ob_pyrandom *r, uint64_t seed) {
    /* random.seed(int): init_by_array over the little-endian 32-bit words of
     * |seed|, at least one word. */
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    int klen = key[1] ? 2 : 1;
    mt_init_genrand(r, 19650218u);
    int i = 1, j = 0;
    for (int k = MT_N > klen ? MT_N : klen; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525u)) + key[j] +
                   (uint32_t)j;
        i++;
        j++;
        if (i >= MT_N) {
            r->mt[0] = r->mt[MT_N - 1];
            i = 1;
        }
        if (j >= klen) j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941u)) -
                   (uint32_t)i;
        i++;
        if (i >= MT_N) {
            r->mt[0] = r->mt[MT_N - 1];
            i = 1;
        }
    }
    r->mt[0] = 0x80000000u;
    r->mti = MT_N;
}

uint32_t ob_pyrandom_u32(ob_pyrandom *r) {
    static const uint32_t mag01[2] = {0x0u, 0x9908b0dfu};
    uint32_t y;
    if (r->mti >= MT_N) {
        int kk;
        for (kk = 0; kk < MT_N - MT_M; kk++) {
            y = (r->mt[kk] & 0x80000000u) | (r->mt[kk + 1] & 0x7fffffffu);
            r->mt[kk] = r->mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 1u];
        }
        for (; kk < MT_N - 1; kk++) {
            y = (r->mt[kk] & 0x80000000u) | (r->mt[kk + 1] & 0x7fffffffu);
            r->mt[kk] = r->mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1u];
        }
        y = (r->mt[MT_N - 1] & 0x80000000u) | (r->mt[0] & 0x7fffffffu);
        r->mt[MT_N - 1] = r->mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1u];
        r->mti = 0;
    }
    y = r->mt[r->mti++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

/* _randbelow_with_getrandbits(n): k = n.bit_length(); r = getrandbits(k)
 * until r < n; getrandbits(k <= 32) is the top k bits of one draw. */
uint32_t ob_pyrandom_below(ob_pyrandom *r, uint32_t n) {
    int k = 0;
    while (k < 32 && (n >> k)) k++;
    uint32_t v;
    do {
        v = ob_pyrandom_u32(r) >> (32 - k);
    } while (v >= n);
    return v;
}

int ob_pyrandom_sample(ob_pyrandom *r, int n, int k, int *out, ob_err *err) {
    if (n < 0 || k < 0 || k > n)
        return ob_fail(err, OB_EINVAL, "sample: cannot draw %d of %d", k, n);
    /* Random.sample: a pool list when n <= setsize, else a selected set. */
    long setsize = 21;
    if (k > 5) {
        long p = 1;
        while (p < 3L * k) p *= 4; /* 4 ** ceil(log(3k, 4)); 3k is never a power of 4 */
        setsize += p;
    }
    if (n <= setsize) {
        int *pool = malloc((size_t)(n ? n : 1) * sizeof *pool);
        if (!pool) return ob_fail(err, OB_ENOMEM, "sample: out of memory");
        for (int i = 0; i < n; i++) pool[i] = i;
        for (int i = 0; i < k; i++) {
            int j = (int)ob_pyrandom_below(r, (uint32_t)(n - i));
            out[i] = pool[j];
            pool[j] = pool[n - i - 1];
        }
        free(pool);
    } else {
        for (int i = 0; i < k; i++) {
            int j, dup;
            do {
                j = (int)ob_pyrandom_below(r, (uint32_t)n);
                dup = 0;
                for (int t = 0; t < i; t++) dup |= out[t] == j;
            } while (dup);
            out[i] = j;
        }
    }
    return 0;
}

/* --- few-shot prompts */

struct ob_gsm8k_fewshot {
    const ob_gsm8k_set *train;
    int k;
    int *pick;
    ob_pyrandom rnd;
};

int ob_gsm8k_fewshot_new(const ob_gsm8k_set *train, int k, uint64_t seed,
                         ob_gsm8k_fewshot **out, ob_err *err) {
    *out = NULL;
    if (k < 0) return ob_fail(err, OB_EINVAL, "GSM8K: negative number of shots %d", k);
    if (k > 0 && (!train || train->n < k))
        return ob_fail(err, OB_EINVAL, "GSM8K: %d shots asked but the train set has %d examples",
                       k, train ? train->n : 0);
    ob_gsm8k_fewshot *fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->pick = malloc((size_t)(k ? k : 1) * sizeof *fs->pick))) {
        free(fs);
        return ob_fail(err, OB_ENOMEM, "GSM8K few-shot: out of memory");
    }
    fs->train = train;
    fs->k = k;
    ob_pyrandom_seed(&fs->rnd, seed);
    *out = fs;
    return 0;
}

void ob_gsm8k_fewshot_free(ob_gsm8k_fewshot *fs) {
    if (!fs) return;
    free(fs->pick);
    free(fs);
}

int ob_gsm8k_prompt(ob_gsm8k_fewshot *fs, const char *question, char **out, ob_err *err) {
    *out = NULL;
    sbuf b = {0};
    if (fs && fs->k > 0) {
        int rc = ob_pyrandom_sample(&fs->rnd, fs->train->n, fs->k, fs->pick, err);
        if (rc) return rc;
        for (int i = 0; i < fs->k; i++) {
            const ob_gsm8k_item *ex = &fs->train->items[fs->pick[i]];
            sb_str(&b, "Question: ");
            sb_str(&b, ex->question);
            sb_str(&b, "\nAnswer: ");
            sb_str(&b, ex->answer);
            sb_str(&b, "\n\n");
        }
    }
    sb_str(&b, "Question: ");
    sb_str(&b, question);
    sb_str(&b, "\nAnswer:");
    if (!(*out = sb_take(&b))) return ob_fail(err, OB_ENOMEM, "GSM8K prompt: out of memory");
    return 0;
}

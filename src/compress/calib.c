/* calib.c - calibration windows and the Brown corpus reader (calib.h). */
#include "compress/calib.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/datasets.h"
#include "eval/eval.h"

int ob_calib_windows(const int32_t *tok, int64_t n_tok, int n, int seqlen, uint64_t seed, int32_t *out,
                     ob_err *err) {
    if (n < 1 || seqlen < 1) return ob_fail(err, OB_EINVAL, "calibration: %d windows of %d tokens", n, seqlen);
    if (n_tok <= seqlen || n_tok - seqlen > (int64_t)UINT32_MAX)
        return ob_fail(err, OB_EINVAL, "calibration: %lld tokens cannot give windows of %d", (long long)n_tok,
                       seqlen);
    ob_pyrandom r;
    ob_pyrandom_seed(&r, seed);
    for (int k = 0; k < n; k++) {
        int64_t i = ob_pyrandom_below(&r, (uint32_t)(n_tok - seqlen)); /* randint(0, n_tok - seqlen - 1) */
        memcpy(out + (int64_t)k * seqlen, tok + i, (size_t)seqlen * sizeof *out);
    }
    return 0;
}

static int is_brown_name(const char *s) {
    return strlen(s) == 4 && islower((unsigned char)s[0]) && islower((unsigned char)s[1]) &&
           isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]);
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
    char *p;
    size_t n, cap;
} buf;

static int put(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 20;
        while (cap < b->n + n + 1) cap *= 2;
        char *t = realloc(b->p, cap);
        if (!t) return -1;
        b->p = t;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

/* one file: tokens "word/tag" -> "word", a line per sentence */
static int strip_file(const char *path, buf *b, ob_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) return ob_fail(err, OB_EIO, "%s: cannot open: %s", path, strerror(errno));
    char line[1 << 16];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        int words = 0;
        for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && !rc; t = strtok_r(NULL, " \t\r\n", &save)) {
            char *slash = strrchr(t, '/');
            size_t n = slash && slash > t ? (size_t)(slash - t) : strlen(t);
            if ((words++ && put(b, " ", 1)) || put(b, t, n)) rc = -1;
        }
        if (!rc && words && put(b, "\n", 1)) rc = -1;
    }
    int bad = ferror(f);
    fclose(f);
    if (rc) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    if (bad) return ob_fail(err, OB_EIO, "%s: read error", path);
    return 0;
}

int ob_calib_read_brown(const char *dir, char **text, size_t *len, int *n_files, ob_err *err) {
    DIR *d = opendir(dir);
    if (!d) return ob_fail(err, OB_EIO, "%s: cannot open: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_brown_name(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 512;
            char **t = realloc(names, (size_t)cap * sizeof *t);
            if (!t) break;
            names = t;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    if (e) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", dir);
    if (!rc && !n) rc = ob_fail(err, OB_EFORMAT, "%s: no Brown corpus files (ca01 ... cr09)", dir);
    buf b = {0};
    if (!rc) qsort(names, (size_t)n, sizeof *names, cmp_name);
    for (int i = 0; i < n && !rc; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%.4000s/%s", dir, names[i]);
        if (i && put(&b, "\n", 1)) rc = ob_fail(err, OB_ENOMEM, "out of memory");
        if (!rc) rc = strip_file(path, &b, err);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc) {
        free(b.p);
        return rc;
    }
    *text = b.p;
    *len = b.n;
    *n_files = n;
    return 0;
}

int ob_calib_tokens(const ob_model *m, const char *path, int brown, int n, int seqlen, uint64_t seed,
                    int32_t **out, char *desc, size_t dsize, ob_err *err) {
    char *text = NULL;
    size_t len = 0;
    int n_docs = 0;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    *out = NULL;
    if (!tok) return ob_fail(err, OB_EINVAL, "the model has no tokenizer to read calibration text with");
    int rc = brown ? ob_calib_read_brown(path, &text, &len, &n_docs, err) : ob_eval_read_text(path, &text, &len, &n_docs, err);
    if (!rc) rc = ob_eval_tokenize(tok, text, len, ob_tokenizer_add_bos_default(tok), &ids, &n_ids, err);
    free(text);
    if (!rc && !(*out = malloc((size_t)n * (size_t)seqlen * sizeof **out))) rc = ob_fail(err, OB_ENOMEM, "out of memory");
    if (!rc) rc = ob_calib_windows(ids, n_ids, n, seqlen, seed, *out, err);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    if (!rc && desc && dsize) snprintf(desc, dsize, "%s, %lld tokens", path, (long long)n_ids);
    free(ids);
    return rc;
}

/* eval_out.c - results.json, samples files and progress for `optibench eval`. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/eval_cli.h"
#include "formats/fetch.h"

const char *eval_data_for(const eval_cli *e, const char *task, const char *alias1, const char *alias2) {
    for (int i = 0; i < e->n_data; i++) {
        const char *t = e->data_task[i];
        if (!strcmp(t, task) || (alias1 && !strcmp(t, alias1)) || (alias2 && !strcmp(t, alias2)))
            return e->data_path[i];
    }
    return e->data_plain;
}

void eval_fmt_secs(char *buf, size_t n, double s) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void eval_progress_cb(void *user, int done, int total, int64_t tokens, double elapsed) {
    eval_progress *ps = user;
    double now = ob_now();
    int fin = done == total;
    double tps = elapsed > 0 ? (double)tokens / elapsed : 0, eps = elapsed > 0 ? done / elapsed : 0;
    char eta[32];
    eval_fmt_secs(eta, sizeof eta, done ? elapsed * (total - done) / done : 0);
    if (ps->tty) {
        if (!fin && now - ps->last < 0.2) return;
        ps->last = now;
        int w = 30, fill = total ? (int)((int64_t)w * done / total) : w;
        char bar[64];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : ' ';
        bar[w] = '\0';
        fprintf(stderr, "\r%s [%s] %d/%d %s  %.1f/s  %.0f tok/s  ETA %s ", ps->task, bar, done, total, ps->unit,
                eps, tps, eta);
        if (fin) fputc('\n', stderr);
    } else {
        /* about every tenth of the run, at most every 30 s, and at the end */
        int step = total >= 10 ? total / 10 : 1;
        if (!fin && done % step && now - ps->last < 30) return;
        if (!fin && now - ps->last < 1.0 && done % step) return;
        ps->last = now;
        fprintf(stderr, "%s: %d/%d %s, %.1f/s, %.0f tok/s, ETA %s\n", ps->task, done, total, ps->unit, eps, tps,
                eta);
    }
    fflush(stderr);
}

void eval_set_num(json_t *o, const char *k, double v) {
    json_object_set_new(o, k, isfinite(v) ? json_real(v) : json_string("N/A"));
}
void eval_set_int(json_t *o, const char *k, int64_t v) { json_object_set_new(o, k, json_integer(v)); }
void eval_set_str(json_t *o, const char *k, const char *v) { json_object_set_new(o, k, json_string(v)); }

/* Moves a finished tmp file over path, so a reader never sees half a file. */
static int rename_into_place(const char *tmp, const char *path, ob_err *err) {
    if (rename(tmp, path) == 0) return 0;
    int e = errno;
    unlink(tmp);
    return ob_fail(err, OB_EIO, "%s: cannot rename into place: %s", path, strerror(e));
}

int eval_write_results(const char *dir, json_t *root, ob_err *err) {
    int rc = ob_mkdir_p(dir, err);
    if (rc) return rc;
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/results.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
        unlink(tmp);
        return ob_fail(err, OB_EIO, "%s: cannot write", tmp);
    }
    return rename_into_place(tmp, path, err);
}

int eval_samples_open(eval_samples *s, const char *dir, const char *task, ob_err *err) {
    int rc = ob_mkdir_p(dir, err);
    if (rc) return rc;
    snprintf(s->path, sizeof s->path, "%s/samples_%s.jsonl", dir, task);
    snprintf(s->tmp, sizeof s->tmp, "%s.tmp.%ld", s->path, (long)getpid());
    s->f = fopen(s->tmp, "w");
    if (!s->f) return ob_fail(err, OB_EIO, "%s: cannot create: %s", s->tmp, strerror(errno));
    return 0;
}

int eval_samples_write(eval_samples *s, json_t *line, ob_err *err) {
    int bad = json_dumpf(line, s->f, JSON_COMPACT | JSON_REAL_PRECISION(17)) != 0 || fputc('\n', s->f) == EOF;
    json_decref(line);
    return bad ? ob_fail(err, OB_EIO, "%s: write failed", s->tmp) : 0;
}

int eval_samples_close(eval_samples *s, int ok, ob_err *err) {
    if (!s->f) return 0;
    int bad = ferror(s->f) | fclose(s->f);
    s->f = NULL;
    if (!ok || bad) {
        unlink(s->tmp);
        return ok ? ob_fail(err, OB_EIO, "%s: write failed", s->tmp) : 0;
    }
    return rename_into_place(s->tmp, s->path, err);
}

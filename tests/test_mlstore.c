/* test_mlstore.c - the MLflow file store writer: key cleaning, the Default
 * experiment, get-or-create by name, run folders, params without newline,
 * metric lines "ms value step", standard tags, end status, artifacts, and
 * a sweep cell logged as a run.
 *
 * With "--keep DIR" it writes its sample store (two experiments, several
 * runs) to DIR and leaves it there, for tests/test_report.sh to read back
 * with the independent Python reader (tests/ref/read_mlruns.py). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/mapfile.h"
#include "report/mlstore.h"
#include "report/yamlio.h"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static char *slurp(const char *path) {
    char *s = NULL;
    size_t n;
    ob_err e;
    if (ob_read_text(path, &s, &n, &e)) return NULL;
    return s;
}

static int file_is(const char *path, const char *want) {
    char *s = slurp(path);
    int ok = s && !strcmp(s, want);
    if (!ok) fprintf(stderr, "  %s holds '%s', want '%s'\n", path, s ? s : "(missing)", want);
    free(s);
    return ok;
}

static void check_keys(void) {
    static const char *cases[][2] = {
        {"ppl", "ppl"},
        {"acc/race", "acc/race"},
        {"decode tok/s", "decode tok/s"},
        {"a:b*c?", "a_b_c_"},
        {"/lead//double/", "lead/double"},
        {"a/../b", "a/__/b"},
        {"./x", "_/x"},
        {"..", "__"},
        {"", "_"},
        {"///", "_"},
        {"caf\xc3\xa9", "caf__"},
        {"x/.", "x/_"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[300];
        ob_mlflow_key(cases[i][0], out, sizeof out);
        CHECK(!strcmp(out, cases[i][1]), "key '%s' -> '%s', want '%s'", cases[i][0], out, cases[i][1]);
    }
    char long_key[600], out[300];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = 0;
    ob_mlflow_key(long_key, out, sizeof out);
    CHECK(strlen(out) == 250, "long key cut to %zu bytes, want 250", strlen(out));
}

/* Writes the sample store: experiments "optibench sweep" and
 * "it's: a \"quoted\" name", runs with params, metrics over steps, tags,
 * an artifact, a failed run and two cells. */
static void write_sample(const char *root) {
    ob_err err = {0};
    ob_mlstore *s;
    CHECK_OK(ob_mlstore_open(root, &s, &err), &err);
    if (!s) return;
    char e1[OB_MLFLOW_ID_MAX] = "", e2[OB_MLFLOW_ID_MAX] = "", again[OB_MLFLOW_ID_MAX] = "";
    CHECK_OK(ob_mlstore_experiment(s, "optibench sweep", e1, &err), &err);
    CHECK_OK(ob_mlstore_experiment(s, "it's: a \"quoted\" name", e2, &err), &err);
    CHECK_OK(ob_mlstore_experiment(s, "optibench sweep", again, &err), &err);
    CHECK(!strcmp(e1, "1") && !strcmp(e2, "2"), "experiment ids %s %s, want 1 2", e1, e2);
    CHECK(!strcmp(e1, again), "get-or-create gave %s then %s", e1, again);

    json_t *params = json_pack("{s:s, s:i, s:f, s:b}", "method", "rtn", "bits", 4, "alpha", 0.5, "sym", 1);
    json_t *tags = json_pack("{s:s}", "optibench.machine", "test box");
    ob_mlrun *r;
    CHECK_OK(ob_mlrun_start(s, e1, "q4_0", params, tags, &r, &err), &err);
    if (r) {
        CHECK(strlen(ob_mlrun_id(r)) == 32 && strspn(ob_mlrun_id(r), "0123456789abcdef") == 32, "run id %s",
              ob_mlrun_id(r));
        for (int step = 0; step < 3; step++)
            CHECK_OK(ob_mlrun_log_metric(r, "decode_tps", 40.0 + step, step, &err), &err);
        CHECK_OK(ob_mlrun_log_metric(r, "ppl", 5.4321, 0, &err), &err);
        CHECK_OK(ob_mlrun_log_metric(r, "acc/race", 0.61, 0, &err), &err);
        CHECK_OK(ob_mlrun_log_param(r, "group size", "128", &err), &err);
        char src[4200], p[4400];
        snprintf(src, sizeof src, "%s/../artifact-src.txt", root);
        FILE *f = fopen(src, "w");
        if (f) fputs("hello artifact\n", f), fclose(f);
        CHECK_OK(ob_mlrun_log_artifact(r, src, NULL, &err), &err);
        CHECK_OK(ob_mlrun_log_artifact(r, src, "sub/dir/copy.txt", &err), &err);
        CHECK(ob_mlrun_log_artifact(r, src, "../escape", &err) == OB_EINVAL, "artifact path with .. accepted");

        snprintf(p, sizeof p, "%s/params/bits", ob_mlrun_dir(r));
        CHECK(file_is(p, "4"), "param bits");
        snprintf(p, sizeof p, "%s/params/sym", ob_mlrun_dir(r));
        CHECK(file_is(p, "True"), "param sym");
        snprintf(p, sizeof p, "%s/params/alpha", ob_mlrun_dir(r));
        CHECK(file_is(p, "0.5"), "param alpha");
        snprintf(p, sizeof p, "%s/tags/mlflow.runName", ob_mlrun_dir(r));
        CHECK(file_is(p, "q4_0"), "runName tag");
        snprintf(p, sizeof p, "%s/artifacts/sub/dir/copy.txt", ob_mlrun_dir(r));
        CHECK(file_is(p, "hello artifact\n"), "artifact copy");
        snprintf(p, sizeof p, "%s/meta.yaml", ob_mlrun_dir(r));
        char v[64] = "";
        CHECK(ob_yaml_get(p, "status", v, sizeof v, &err) == 1 && !strcmp(v, "1"), "running status '%s'", v);
        CHECK(ob_yaml_get(p, "end_time", v, sizeof v, &err) == 1 && !strcmp(v, "null"), "end_time '%s'", v);
        snprintf(p, sizeof p, "%s/metrics/decode_tps", ob_mlrun_dir(r));
        char *m = slurp(p);
        int lines = 0, good = 1;
        for (char *line = m ? strtok(m, "\n") : NULL; line; line = strtok(NULL, "\n"), lines++) {
            long long ts, step;
            double val;
            char extra;
            good &= sscanf(line, "%lld %lf %lld %c", &ts, &val, &step, &extra) == 3 && ts > 1600000000000LL &&
                    val == 40.0 + lines && step == lines;
        }
        free(m);
        CHECK(lines == 3 && good, "decode_tps has %d lines (good %d)", lines, good);

        CHECK(ob_mlrun_end(r, 9, &err) == OB_EINVAL, "bad status accepted");
        CHECK_OK(ob_mlrun_end(r, OB_RUN_FINISHED, &err), &err);
        snprintf(p, sizeof p, "%s/meta.yaml", ob_mlrun_dir(r));
        CHECK(ob_yaml_get(p, "status", v, sizeof v, &err) == 1 && !strcmp(v, "3"), "finished status '%s'", v);
        ob_mlrun_free(r);
    }
    json_decref(params);
    json_decref(tags);

    CHECK_OK(ob_mlrun_start(s, e1, "oom recipe", NULL, NULL, &r, &err), &err);
    if (r) {
        CHECK_OK(ob_mlrun_set_tag(r, "error", "out of memory: line 1\nline 2", &err), &err);
        CHECK_OK(ob_mlrun_end(r, OB_RUN_FAILED, &err), &err);
        ob_mlrun_free(r);
    }
    CHECK_OK(ob_mlrun_start(s, e2, NULL, NULL, NULL, &r, &err), &err);
    if (r) {
        CHECK_OK(ob_mlrun_log_metric(r, "ppl", 7.25, 0, &err), &err);
        CHECK_OK(ob_mlrun_end(r, OB_RUN_KILLED, &err), &err);
        ob_mlrun_free(r);
    }
    json_t *cell = json_pack("{s:s, s:s, s:{s:s, s:i}, s:{s:f, s:f, s:I}, s:s}", "model", "stories15M", "recipe",
                             "gptq-4b", "params", "method", "gptq", "bits", 4, "metrics", "ppl", 5.9, "decode_tps",
                             77.5, "model_size_bytes", (json_int_t)12345678, "status", "ok");
    char run_id[33] = "";
    CHECK_OK(ob_mlstore_log_cell(s, e2, cell, run_id, &err), &err);
    CHECK(strlen(run_id) == 32, "cell run id '%s'", run_id);
    json_object_set_new(cell, "recipe", json_string("broken"));
    json_object_set_new(cell, "status", json_string("failed"));
    json_object_set_new(cell, "error", json_string("kernel crashed"));
    CHECK_OK(ob_mlstore_log_cell(s, e2, cell, NULL, &err), &err);
    json_decref(cell);

    CHECK(ob_mlrun_start(s, "99", "x", NULL, NULL, &r, &err) == OB_EINVAL && strstr(err.msg, "99"),
          "run in a missing experiment: %s", err.msg);
    ob_mlstore_close(s);

    /* reopening keeps ids and the Default experiment */
    CHECK_OK(ob_mlstore_open(root, &s, &err), &err);
    if (s) {
        char id[OB_MLFLOW_ID_MAX] = "";
        CHECK_OK(ob_mlstore_experiment(s, "it's: a \"quoted\" name", id, &err), &err);
        CHECK(!strcmp(id, "2"), "reopened experiment id %s", id);
        char p[4200], name[64] = "";
        snprintf(p, sizeof p, "%s/0/meta.yaml", ob_mlstore_root(s));
        CHECK(ob_yaml_get(p, "name", name, sizeof name, &err) == 1 && !strcmp(name, "Default"), "Default: %s", name);
        snprintf(p, sizeof p, "%s/2/meta.yaml", ob_mlstore_root(s));
        CHECK(ob_yaml_get(p, "experiment_id", name, sizeof name, &err) == 1 && !strcmp(name, "2"), "id in meta");
        ob_mlstore_close(s);
    }
}

int main(int argc, char **argv) {
    check_keys();
    if (argc == 3 && !strcmp(argv[1], "--keep")) {
        write_sample(argv[2]);
        return CHECK_DONE("test_mlstore");
    }
    char tmp[] = "/tmp/ob-mlstore-XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    char root[128];
    snprintf(root, sizeof root, "%s/mlruns", tmp);
    write_sample(root);

    ob_err err = {0};
    ob_mlstore *s;
    char bad[256];
    snprintf(bad, sizeof bad, "%s/artifact-src.txt/mlruns", tmp);
    CHECK(ob_mlstore_open(bad, &s, &err) == OB_EIO && strstr(err.msg, "artifact-src.txt"),
          "store under a file: %s", err.msg);
    CHECK(ob_mlstore_open("/proc/ob-no-store", &s, &err) == OB_EIO && strstr(err.msg, "/proc"),
          "store in /proc: %s", err.msg);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return CHECK_DONE("test_mlstore");
}

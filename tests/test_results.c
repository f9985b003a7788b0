/* test_results.c - results.csv / results.jsonl: the column union and its
 * order, RFC 4180 quoting, the JSONL round trip and its errors (file:line),
 * atomic writes that leave the old file and no temporary behind when the
 * disk fills (RLIMIT_FSIZE) or the folder is unusable, the output-folder
 * preflight, and the size parser. */
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "core/mapfile.h"
#include "report/fileio.h"
#include "report/results.h"

static char tmp[] = "/tmp/ob-results-XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void put(const char *name, const char *text) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    FILE *f = fopen(p, "w");
    if (f) fputs(text, f), fclose(f);
}

static char *get(const char *path) {
    char *s = NULL;
    size_t n;
    ob_err e;
    return ob_read_text(path, &s, &n, &e) ? NULL : s;
}

/* Files in tmp whose name contains ".tmp." (leftover temporaries). */
static int leftovers(void) {
    int n = 0;
    DIR *d = opendir(tmp);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

static json_t *sample(void) {
    json_error_t je;
    json_t *a = json_loads(
        "[{\"model\":\"m\",\"recipe\":\"base\",\"params\":{\"bits\":32},\"metrics\":{\"decode_tps\":40.5,\"ppl\":5,"
        "\"custom\":1},\"status\":\"ok\",\"threads\":4},"
        "{\"model\":\"m\",\"recipe\":\"q, \\\"4\\\"\",\"params\":{\"bits\":4,\"group\":128},\"metrics\":{\"acc\":0.5,"
        "\"ppl\":5.25},\"status\":\"ok\"},"
        "{\"model\":\"m\",\"recipe\":\"bad\\nline\",\"params\":{\"nested\":{\"a\":[1,2]}},\"metrics\":{},"
        "\"status\":\"failed\",\"error\":\"oom, \\\"big\\\"\\r\\nend\",\"ppl\":\"top-level ppl\"}]",
        0, &je);
    if (!a) fprintf(stderr, "sample: %s\n", je.text);
    return a;
}

static void check_columns_and_csv(void) {
    ob_err err = {0};
    json_t *cells = sample();
    ob_result_col *cols;
    size_t n;
    CHECK_OK(ob_results_columns(cells, &cols, &n, &err), &err);
    const char *want[] = {"model",       "recipe",       "status",       "metrics.ppl",   "acc",  "decode_tps",
                          "custom",      "params.bits",  "params.group", "params.nested", "threads", "ppl",
                          "error"};
    CHECK(n == sizeof want / sizeof want[0], "%zu columns", n);
    for (size_t i = 0; i < n && i < sizeof want / sizeof want[0]; i++)
        CHECK(!strcmp(cols[i].header, want[i]), "column %zu is '%s', want '%s'", i, cols[i].header, want[i]);
    ob_results_columns_free(cols, n);

    ob_sbuf b = {0};
    CHECK_OK(ob_results_csv(cells, &b, &err), &err);
    const char *csv =
        "model,recipe,status,metrics.ppl,acc,decode_tps,custom,params.bits,params.group,params.nested,threads,ppl,"
        "error\r\n"
        "m,base,ok,5,,40.5,1,32,,,4,,\r\n"
        "m,\"q, \"\"4\"\"\",ok,5.25,0.5,,,4,128,,,,\r\n"
        "m,\"bad\nline\",failed,,,,,,,\"{\"\"a\"\":[1,2]}\",,top-level ppl,\"oom, \"\"big\"\"\r\nend\"\r\n";
    CHECK(b.s && !strcmp(b.s, csv), "csv:\n%s\nwant:\n%s", b.s, csv);
    ob_sbuf_free(&b);

    json_t *bad = json_pack("[i]", 3);
    CHECK(ob_results_csv(bad, &b, &err) == OB_EINVAL && strstr(err.msg, "row 1"), "non-object row: %s", err.msg);
    ob_sbuf_free(&b);
    json_decref(bad);
    json_decref(cells);
}

static void check_jsonl(void) {
    ob_err err = {0};
    json_t *cells = sample(), *back = NULL;
    char path[256];
    snprintf(path, sizeof path, "%s/results.jsonl", tmp);
    CHECK_OK(ob_results_write_jsonl(path, cells, &err), &err);
    char *text = get(path);
    int lines = 0;
    for (char *p = text; p && *p; p++) lines += *p == '\n';
    CHECK(lines == 3, "%d lines in results.jsonl", lines);
    free(text);
    CHECK_OK(ob_results_read_jsonl(path, &back, &err), &err);
    CHECK(back && json_equal(cells, back), "JSONL round trip differs");
    json_decref(back);
    json_decref(cells);

    put("blank.jsonl", "\n{\"recipe\":\"a\"}\n   \n{\"recipe\":\"b\",\"metrics\":{\"ppl\":1}}");
    snprintf(path, sizeof path, "%s/blank.jsonl", tmp);
    CHECK_OK(ob_results_read_jsonl(path, &back, &err), &err);
    CHECK(json_array_size(back) == 2, "blank lines: %zu records", json_array_size(back));
    json_decref(back);

    static const char *bad[][2] = {
        {"{\"recipe\":\"a\"}\n{\"recipe\": \"b\",,}\n", ":2: column"},
        {"{\"recipe\":\"a\"}\n\n[1,2]\n", ":3: not a JSON object"},
        {"{\"model\":\"x\"}\n", ":1: no \"recipe\""},
        {"{\"recipe\":\"a\",\"metrics\":[1]}\n", ":1: \"metrics\" is not an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put("bad.jsonl", bad[i][0]);
        snprintf(path, sizeof path, "%s/bad.jsonl", tmp);
        back = NULL;
        int rc = ob_results_read_jsonl(path, &back, &err);
        CHECK(rc == OB_EFORMAT && strstr(err.msg, "bad.jsonl") && strstr(err.msg, bad[i][1]) && !back,
              "case %zu: %d %s", i, rc, err.msg);
    }
    snprintf(path, sizeof path, "%s/missing.jsonl", tmp);
    CHECK(ob_results_read_jsonl(path, &back, &err) == OB_EIO && strstr(err.msg, "missing.jsonl"), "missing: %s",
          err.msg);
}

static void check_atomic(void) {
    ob_err err = {0};
    char path[256];
    snprintf(path, sizeof path, "%s/results.csv", tmp);
    put("results.csv", "old contents\n");

    /* a disk that fills mid-write: writes past 4 KiB fail with EFBIG */
    size_t big = 1 << 20;
    char *data = malloc(big);
    if (data) memset(data, 'x', big);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    int set = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    int rc = data ? ob_write_atomic(path, data, big, &err) : -1;
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK(set, "could not lower RLIMIT_FSIZE");
    CHECK(rc == OB_EIO && strstr(err.msg, "results.csv") && strstr(err.msg, "cannot write"), "full disk: %d %s", rc,
          err.msg);
    char *now = get(path);
    CHECK(now && !strcmp(now, "old contents\n"), "the old file changed: %.40s", now ? now : "(gone)");
    free(now);
    CHECK(leftovers() == 0, "a temporary file was left behind");

    /* the same write with room succeeds and replaces it */
    CHECK_OK(ob_write_atomic(path, data, big, &err), &err);
    now = get(path);
    CHECK(now && strlen(now) == big, "new file has %zu bytes", now ? strlen(now) : 0);
    free(now);
    free(data);
    CHECK(leftovers() == 0, "a temporary file was left behind after success");

    /* a folder that cannot hold files */
    char under[300];
    snprintf(under, sizeof under, "%s/results.csv/inner.csv", tmp);
    CHECK(ob_write_atomic(under, "x", 1, &err) == OB_EIO && strstr(err.msg, "inner.csv"), "under a file: %s",
          err.msg);
    CHECK(ob_write_atomic("/proc/ob-report.csv", "x", 1, &err) == OB_EIO && strstr(err.msg, "/proc"), "in /proc: %s",
          err.msg);
    json_t *cells = sample();
    CHECK(ob_results_write_csv("/proc/results.csv", cells, &err) == OB_EIO, "csv into /proc: %s", err.msg);
    json_decref(cells);
}

static void check_preflight(void) {
    ob_err err = {0};
    char dir[300];
    snprintf(dir, sizeof dir, "%s/new/nested/out", tmp);
    CHECK_OK(ob_output_preflight(dir, 1, &err), &err);
    CHECK(ob_is_dir(dir), "preflight did not create %s", dir);
    CHECK(ob_output_preflight("/proc", 0, &err) == OB_EIO && strstr(err.msg, "/proc") &&
              strstr(err.msg, "not writable"),
          "/proc: %s", err.msg);
    CHECK(ob_output_preflight("/proc/ob-sweep", 0, &err) == OB_EIO && strstr(err.msg, "/proc/ob-sweep"),
          "/proc/ob-sweep: %s", err.msg);
    snprintf(dir, sizeof dir, "%s/results.jsonl/sub", tmp);
    CHECK(ob_output_preflight(dir, 0, &err) == OB_EIO && strstr(err.msg, "results.jsonl"), "under a file: %s",
          err.msg);
    CHECK(ob_output_preflight(tmp, (int64_t)1 << 62, &err) == OB_EIO && strstr(err.msg, "free"), "no room: %s",
          err.msg);
    if (geteuid() != 0) { /* permissions only bind other users than root */
        snprintf(dir, sizeof dir, "%s/ro", tmp);
        mkdir(dir, 0555);
        CHECK(ob_output_preflight(dir, 0, &err) == OB_EIO && strstr(err.msg, "/ro"), "read-only: %s", err.msg);
    }
    CHECK(leftovers() == 0, "preflight left a probe");
}

static void check_sizes(void) {
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {{"123", 123},         {"512M", 512LL << 20}, {"2GiB", 2LL << 30}, {"1.5 GB", 1500000000},
              {"4k", 4096},         {"3kB", 3000},         {"1T", 1LL << 40},   {"10B", 10}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        CHECK(ob_parse_bytes(ok[i].s, &v) == 0 && v == ok[i].v, "'%s' -> %lld", ok[i].s, (long long)v);
    }
    static const char *bad[] = {"", "GiB", "-1", "2X", "2GiBs", "1e40", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        CHECK(ob_parse_bytes(bad[i], &v) == -1, "'%s' accepted", bad[i]);
    }
    char buf[32];
    ob_format_bytes(1536.0 * 1024 * 1024, buf, sizeof buf);
    CHECK(!strcmp(buf, "1.50 GiB"), "format: %s", buf);
    CHECK(ob_metric_lower_is_better("ppl") && ob_metric_lower_is_better("ttft_ms") &&
              ob_metric_lower_is_better("peak_rss_bytes") && !ob_metric_lower_is_better("acc") &&
              !ob_metric_lower_is_better("decode_tps"),
          "metric directions");
}

int main(void) {
    if (!mkdtemp(tmp)) return 1;
    check_columns_and_csv();
    check_jsonl();
    check_atomic();
    check_preflight();
    check_sizes();
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return CHECK_DONE("test_results");
}

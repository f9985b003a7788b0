/* test_bench.c - the bench library on a tiny model: rows present and
 * consistent, the records and writers, and the sensor readers against a
 * fake sysfs tree (values, never a silent 0 when a file is absent), RAPL
 * wrap-around, NVML absent.  No speed is asserted. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench.h"
#include "bench/bench_json.h"
#include "bench/sensors.h"
#include "check.h"
#include "tiny_model.h"

static char tmpdir[] = "/tmp/ob_test_bench_XXXXXX";

static void put_file(const char *dir, const char *name, const char *text) {
    char p[1024];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void sub(char *out, size_t n, const char *a, const char *b) { snprintf(out, n, "%s/%s", a, b); }

static int stats_ordered(const ob_stats *s) {
    return s->n > 0 && s->min <= s->median && s->median <= s->p90 && s->p90 <= s->max && s->min <= s->mean &&
           s->mean <= s->max && s->stddev >= 0 && isfinite(s->mean);
}

static void test_rapl(void) {
    CHECK(ob_rapl_delta(100, 300, 1000) == 200, "plain delta");
    CHECK(ob_rapl_delta(900, 100, 1000) == 200, "one wrap: 900 -> 1000 -> 0 -> 100 is 200, got %llu",
          (unsigned long long)ob_rapl_delta(900, 100, 1000));
    CHECK(ob_rapl_delta(900, 100, 0) == UINT64_MAX, "backwards without a range is unusable");
    CHECK(ob_rapl_delta(5, 5, 0) == 0, "no change");

    char root[512], zone[600], subz[600], mmio[600];
    sub(root, sizeof root, tmpdir, "powercap");
    mkdir(root, 0755);
    sub(zone, sizeof zone, root, "intel-rapl:0");
    sub(subz, sizeof subz, root, "intel-rapl:0:0");
    sub(mmio, sizeof mmio, root, "intel-rapl-mmio:0");
    put_file(root, "intel-rapl", ""); /* the control type, not a zone (a file here) */
    put_file(zone, "energy_uj", "1000000\n");
    put_file(zone, "max_energy_range_uj", "2000000\n");
    put_file(subz, "energy_uj", "7\n");
    put_file(mmio, "energy_uj", "9\n");
    ob_rapl r;
    CHECK(ob_rapl_open(root, &r) == 1, "one package zone (subzone and mmio ignored): %d", r.n);
    CHECK(ob_rapl_start(&r) == 0, "start");
    put_file(zone, "energy_uj", "3500000\n");
    CHECK(fabs(ob_rapl_joules(&r) - 2.5) < 1e-9, "2.5 J, got %g", ob_rapl_joules(&r));
    put_file(zone, "energy_uj", "500000\n"); /* wrapped: 1.0 -> 2.0 -> 0 -> 0.5 */
    CHECK(fabs(ob_rapl_joules(&r) - 1.5) < 1e-9, "1.5 J across the wrap, got %g", ob_rapl_joules(&r));
    put_file(zone, "energy_uj", "garbage\n");
    CHECK(isnan(ob_rapl_joules(&r)), "unreadable counter: NAN, got %g", ob_rapl_joules(&r));

    char empty[512];
    sub(empty, sizeof empty, tmpdir, "no-powercap");
    CHECK(ob_rapl_open(empty, &r) == 0 && isnan(ob_rapl_joules(&r)), "absent tree: unavailable, not 0");
    CHECK(ob_rapl_open("", &r) == 0 && isnan(ob_rapl_joules(&r)), "switched off: unavailable");
}

static void test_temp(void) {
    char hw[512], th[512], h0[600], h1[600], z0[600], none[512];
    sub(hw, sizeof hw, tmpdir, "hwmon");
    sub(th, sizeof th, tmpdir, "thermal");
    sub(none, sizeof none, tmpdir, "absent");
    mkdir(hw, 0755);
    mkdir(th, 0755);
    sub(h0, sizeof h0, hw, "hwmon0");
    sub(h1, sizeof h1, hw, "hwmon1");
    sub(z0, sizeof z0, th, "thermal_zone0");
    put_file(h0, "temp1_input", "45000\n");
    put_file(h0, "temp1_label", "Tctl\n");
    put_file(h0, "temp1_max", "99000\n"); /* a limit, not a reading */
    put_file(h1, "temp2_input", "52500\n");
    put_file(h1, "temp3_input", "300000\n"); /* bogus, ignored */
    put_file(z0, "temp", "48000\n");
    put_file(z0, "trip_point_0_temp", "120000\n");
    double t = ob_temp_max_c(hw, th);
    CHECK(fabs(t - 52.5) < 1e-9, "hottest of hwmon and thermal: 52.5, got %g", t);
    t = ob_temp_max_c("", th);
    CHECK(fabs(t - 48.0) < 1e-9, "thermal zone only: 48, got %g", t);
    t = ob_temp_max_c(hw, "");
    CHECK(fabs(t - 52.5) < 1e-9, "hwmon only: 52.5, got %g", t);
    CHECK(isnan(ob_temp_max_c(none, none)), "no sensors: NAN, not 0");
    CHECK(isnan(ob_temp_max_c("", "")), "switched off: NAN");
}

/* A stand-in for libnvidia-ml.so.1 with NVML's C ABI: one device that
 * refuses its temperature. */
static const char *fake_nvml_src =
    "typedef struct { unsigned gpu, memory; } U; typedef struct { unsigned long long total, free, used; } M;\n"
    "int nvmlInit_v2(void) { return 0; } int nvmlShutdown(void) { return 0; }\n"
    "int nvmlDeviceGetCount_v2(unsigned *n) { *n = 1; return 0; }\n"
    "int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d) { *d = (void *)16; return i ? 2 : 0; }\n"
    "int nvmlDeviceGetName(void *d, char *s, unsigned n) { const char *f = \"Fake GPU\";\n"
    "  unsigned i = 0; for (; f[i] && i + 1 < n; i++) s[i] = f[i]; s[i] = 0; return 0; }\n"
    "int nvmlDeviceGetUtilizationRates(void *d, U *u) { u->gpu = 37; u->memory = 5; return 0; }\n"
    "int nvmlDeviceGetMemoryInfo(void *d, M *m) { m->total = 80000000000ull; m->used = 1000000000ull;\n"
    "  m->free = m->total - m->used; return 0; }\n"
    "int nvmlDeviceGetPowerUsage(void *d, unsigned *mw) { *mw = 123456; return 0; }\n"
    "int nvmlDeviceGetTemperature(void *d, int sensor, unsigned *c) { return 3; }\n";

static void test_fake_nvml(void) {
    char src[600], lib[600], cmd[1400];
    sub(src, sizeof src, tmpdir, "fake_nvml.c");
    sub(lib, sizeof lib, tmpdir, "libfake-nvml.so");
    FILE *f = fopen(src, "w");
    if (!f) return;
    fputs(fake_nvml_src, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o '%s' '%s' 2>/dev/null", lib, src);
    if (system(cmd)) {
        printf("skip the fake NVML: no C compiler to build it\n");
        return;
    }
    ob_gpu_info g;
    ob_nvml_sample(lib, &g);
    CHECK(g.count == 1 && !strcmp(g.name, "Fake GPU"), "fake NVML: %d device(s), '%s'", g.count, g.name);
    CHECK(g.util_pct == 37 && g.mem_used_bytes == 1000000000 && g.mem_total_bytes == 80000000000 &&
              fabs(g.power_w - 123.456) < 1e-9,
          "fake NVML figures: util %g, used %lld, power %g", g.util_pct, (long long)g.mem_used_bytes, g.power_w);
    CHECK(isnan(g.temp_c), "a refused figure is unavailable alone: %g", g.temp_c);
}

static void test_nvml(void) {
    ob_gpu_info g;
    ob_nvml_sample("libnvidia-ml-absent-for-the-test.so.1", &g);
    CHECK(g.count == -1 && isnan(g.util_pct) && isnan(g.power_w) && isnan(g.temp_c) && g.mem_used_bytes == -1 &&
              g.mem_total_bytes == -1 && g.name[0] == '\0',
          "no NVML: every GPU figure unavailable");
    ob_nvml_sample("", &g);
    CHECK(g.count == -1, "NVML switched off");
    ob_nvml_sample(NULL, &g); /* the real one: either absent, or figures that make sense */
    CHECK(g.count == -1 || (g.count >= 0 && (isnan(g.util_pct) || (g.util_pct >= 0 && g.util_pct <= 100))),
          "system NVML: count %d util %g", g.count, g.util_pct);
}

static void check_row(const ob_bench_row *w, int P, int B, int G, int reps) {
    CHECK(w->n_prompt == P && w->n_parallel == B && w->n_gen == G && w->reps == reps && w->warmup == 1,
          "row (%d, %d) is what was asked: P %d B %d G %d reps %d", P, B, w->n_prompt, w->n_parallel, w->n_gen,
          w->reps);
    CHECK(w->n_threads == 2 && w->n_batch >= B, "threads %d, n_batch %d", w->n_threads, w->n_batch);
    CHECK(w->prompt_tokens == (int64_t)reps * B * P && w->gen_tokens == (int64_t)reps * B * G,
          "tokens counted: %lld prompt, %lld generated", (long long)w->prompt_tokens, (long long)w->gen_tokens);
    CHECK(stats_ordered(&w->prefill_tps) && w->prefill_tps.min > 0 && w->prefill_tps.n == reps, "prefill tok/s");
    CHECK(stats_ordered(&w->decode_tps) && w->decode_tps.min > 0 && w->decode_tps.n == reps, "decode tok/s");
    CHECK(stats_ordered(&w->ttft_ms) && w->ttft_ms.min > 0, "TTFT");
    CHECK(stats_ordered(&w->token_ms) && w->token_ms.n == reps * G && w->token_ms.min > 0, "token latency over %d steps",
          w->token_ms.n);
    double sum = 0, min_prefill_ms = INFINITY;
    for (int k = 0; k < reps; k++) {
        CHECK(w->prefill_s[k] > 0 && w->decode_s[k] > 0, "rep %d times", k);
        sum += (double)B * G / w->decode_s[k];
        if (w->prefill_s[k] * 1e3 < min_prefill_ms) min_prefill_ms = w->prefill_s[k] * 1e3;
    }
    CHECK(fabs(sum / reps - w->decode_tps.mean) <= 1e-9 * sum, "decode tok/s is B*G / decode time");
    CHECK(w->ttft_ms.min >= min_prefill_ms, "TTFT includes the prefill: %g >= %g ms", w->ttft_ms.min,
          min_prefill_ms);
    CHECK(isnan(w->tokenize_ms) && w->tokenize_tokens == -1, "no prompt text: tokenization unavailable");
    CHECK(w->sample_ms >= 0 && isfinite(w->sample_ms), "sample ms");
    CHECK(isnan(w->cpu_util_pct) || (w->cpu_util_pct > 0 && w->cpu_util_pct <= 100.0 * 64), "cpu util %g",
          w->cpu_util_pct);
    CHECK(isnan(w->energy_j) && isnan(w->avg_power_w), "energy off: NAN, not 0");
    CHECK(w->decode_gbs > 0 && w->wall_s > 0 && strlen(w->test_time) == 20, "decode GB/s, wall, time stamp");
}

static void test_records(const ob_bench_result *r) {
    json_t *recs = NULL;
    ob_err err = {0};
    CHECK_OK(ob_bench_records(r, &recs, &err), &err);
    CHECK(json_array_size(recs) == (size_t)(2 * r->n_rows), "two records per row: %zu", json_array_size(recs));
    for (int i = 0; recs && i < r->n_rows; i++) {
        const ob_bench_row *w = &r->rows[i];
        json_t *pp = json_array_get(recs, 2 * i), *tg = json_array_get(recs, 2 * i + 1);
        CHECK(json_integer_value(json_object_get(pp, "n_prompt")) == w->n_prompt &&
                  json_integer_value(json_object_get(pp, "n_gen")) == 0 &&
                  json_integer_value(json_object_get(tg, "n_prompt")) == 0 &&
                  json_integer_value(json_object_get(tg, "n_gen")) == w->n_gen &&
                  json_integer_value(json_object_get(tg, "n_depth")) == w->n_prompt,
              "pp / tg convention, row %d", i);
        CHECK(json_array_size(json_object_get(pp, "samples_ns")) == (size_t)w->reps &&
                  json_array_size(json_object_get(tg, "samples_ts")) == (size_t)w->reps,
              "samples per repetition");
        CHECK(fabs(json_real_value(json_object_get(tg, "avg_ts")) - w->decode_tps.mean) < 1e-6 * w->decode_tps.mean,
              "tg avg_ts is the decode mean");
        CHECK(json_is_null(json_object_get(pp, "energy_j")) && json_is_null(json_object_get(pp, "temp_c")) &&
                  json_is_null(json_object_get(pp, "gpu_count")),
              "unavailable figures are null");
        CHECK(json_integer_value(json_object_get(pp, "model_size")) == r->model_size, "model_size");
    }
    json_decref(recs);
    json_t *metrics = json_object();
    CHECK_OK(ob_bench_metrics(r, 0, metrics, &err), &err);
    CHECK(json_real_value(json_object_get(metrics, "decode_tps")) > 0 && !json_object_get(metrics, "energy_j") &&
              json_integer_value(json_object_get(metrics, "model_size_bytes")) == r->model_size,
          "sweep metrics: decode_tps set, energy absent");
    CHECK(ob_bench_metrics(r, r->n_rows, metrics, &err) == OB_EINVAL, "metrics of a missing row");
    json_decref(metrics);

    const char *names[] = {"md", "csv", "json", "jsonl"};
    for (int f = 0; f < 4; f++) {
        FILE *out = tmpfile();
        CHECK(ob_bench_format_parse(names[f]) == f, "format %s", names[f]);
        CHECK_OK(ob_bench_write(r, (ob_bench_format)f, out, &err), &err);
        long n = ftell(out);
        CHECK(n > 200, "%s output of %ld bytes", names[f], n);
        fclose(out);
    }
    CHECK(ob_bench_format_parse("xml") == -1 && ob_bench_format_parse(NULL) == -1, "unknown format");
    CHECK(ob_bench_write(r, (ob_bench_format)7, stdout, &err) == OB_EINVAL, "bad format value refused");
}

static void test_bad_params(ob_model *m) {
    ob_err err = {0};
    ob_bench_result r;
    int P[] = {60}, B0[] = {0}, B1[] = {1}, P0[] = {0};
    ob_bench_params p = ob_bench_default_params();
    p.prompt_lens = P;
    p.n_prompt = 1;
    p.gen_len = 8;
    CHECK(ob_bench_run(m, NULL, &p, &r, &err) == OB_ERANGE && r.n_rows == 0 && strstr(err.msg, "context"),
          "prompt beyond the context: %s", err.msg);
    ob_bench_result_free(&r);
    CHECK(ob_bench_check(&p, 0, &err) == 0, "no context check without max_seq");
    p.prompt_lens = P0;
    CHECK(ob_bench_check(&p, 64, &err) == OB_EINVAL, "prompt 0");
    p.prompt_lens = NULL;
    p.batches = B0;
    p.n_batch = 1;
    CHECK(ob_bench_check(&p, 64, &err) == OB_EINVAL && strstr(err.msg, "batch"), "batch 0: %s", err.msg);
    p.batches = B1;
    p.reps = 0;
    CHECK(ob_bench_check(&p, 64, &err) == OB_EINVAL && strstr(err.msg, "repetitions"), "reps 0: %s", err.msg);
    p.reps = 1;
    p.gen_len = 0;
    CHECK(ob_bench_check(&p, 64, &err) == OB_EINVAL, "gen 0");
    p.gen_len = 1;
    p.n_batch = 0;
    CHECK(ob_bench_check(&p, 64, &err) == OB_EINVAL, "empty batch list");
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    test_rapl();
    test_temp();
    test_nvml();
    test_fake_nvml();

    char path[700], dir[600];
    sub(dir, sizeof dir, tmpdir, "model");
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/model.bin", dir);
    size_t size = write_tiny_llama2c(path, 32, 48, 2, 4, 2, 64, 64, 1, 11);
    put_file(dir, "extra.txt", "12345");
    CHECK(ob_path_bytes(path) == (int64_t)size, "file size on disk");
    CHECK(ob_path_bytes(dir) == (int64_t)size + 5, "folder size: its files");
    CHECK(ob_path_bytes(NULL) == -1 && ob_path_bytes("/nonexistent/x") == -1, "unknown size: -1");
    CHECK(ob_proc_peak_rss() > 0 && ob_proc_cpu_seconds() >= 0, "peak RSS and CPU time readable on Linux");

    ob_err err = {0};
    ob_model *m = NULL;
    CHECK_OK(ob_model_load(path, NULL, &m, &err), &err);
    if (!m) return CHECK_DONE("test_bench");
    test_bad_params(m);

    int P[] = {8, 12}, B[] = {1, 3};
    ob_bench_params p = ob_bench_default_params();
    p.prompt_lens = P;
    p.n_prompt = 2;
    p.batches = B;
    p.n_batch = 2;
    p.gen_len = 5;
    p.reps = 2;
    p.threads = 2;
    p.max_batch = 16; /* 3 x 12 prompt tokens take 3 calls */
    p.model_path = path;
    p.powercap_root = p.hwmon_root = p.thermal_root = p.nvml_lib = "";
    ob_bench_result r;
    CHECK_OK(ob_bench_run(m, NULL, &p, &r, &err), &err);
    CHECK(r.n_rows == 4, "2 prompt lengths x 2 batches: %d rows", r.n_rows);
    for (int i = 0; i < r.n_rows && r.n_rows == 4; i++) check_row(&r.rows[i], P[i / 2], B[i % 2], 5, 2);
    CHECK(r.model_disk_bytes == (int64_t)size && r.model_size == ob_model_weight_bytes(m) &&
              r.model_n_params == ob_model_n_params(m) && r.bytes_per_token > 0,
          "model sizes: disk %lld, memory %lld", (long long)r.model_disk_bytes, (long long)r.model_size);
    CHECK(r.peak_rss_bytes > 0 && (r.peak_rss_tests_only == 0 || r.peak_rss_tests_only == 1), "peak RSS");
    CHECK(isnan(r.energy_j) && isnan(r.temp_c) && r.gpu.count == -1 && isnan(r.read_bw_gbs),
          "sensors off: all unavailable");
    CHECK(strlen(r.start_time) == 20 && strlen(r.end_time) == 20 && r.cpu_info[0] && r.simd[0], "run description");
    test_records(&r);

    /* sensors from the fake tree: energy finite (the fake counter stands
     * still: 0 J is then the truth), temperature read */
    char pc[600], hw[600], th[600];
    sub(pc, sizeof pc, tmpdir, "powercap");
    sub(hw, sizeof hw, tmpdir, "hwmon");
    sub(th, sizeof th, tmpdir, "thermal");
    char zone[700];
    snprintf(zone, sizeof zone, "%s/intel-rapl:0", pc);
    put_file(zone, "energy_uj", "1000\n");
    int P1[] = {4};
    p.prompt_lens = P1;
    p.n_prompt = 1;
    p.batches = NULL;
    p.reps = 1;
    p.model_path = NULL;
    p.powercap_root = pc;
    p.hwmon_root = hw;
    p.thermal_root = th;
    p.threads = 1;
    ob_bench_result r2;
    CHECK_OK(ob_bench_run(m, NULL, &p, &r2, &err), &err);
    CHECK(r2.n_rows == 1 && r2.rows[0].n_parallel == 1 && r2.rows[0].n_threads == 1, "default batch list {1}");
    CHECK(r2.n_rows == 1 && r2.rows[0].energy_j == 0 && r2.rows[0].avg_power_w == 0 && r2.energy_j == 0,
          "fake RAPL read");
    CHECK(fabs(r2.temp_c - 52.5) < 1e-9, "fake temperature: %g", r2.temp_c);
    CHECK(r2.model_disk_bytes == -1 && r2.model_filename[0] == '\0', "no model path: disk size unavailable");

    /* a paired bandwidth probe: a reading after every repetition, a share
     * per row, and the probe's 256 MiB left out of the peak RSS (this
     * model and its context take a few MiB) */
    ob_bench_params pb = p;
    pb.powercap_root = pb.hwmon_root = pb.thermal_root = pb.nvml_lib = "";
    pb.reps = 3;
    pb.threads = 2;
    pb.bw_bytes = (size_t)256 << 20;
    ob_bench_result r3;
    CHECK_OK(ob_bench_run(m, NULL, &pb, &r3, &err), &err);
    const ob_bench_row *w3 = r3.n_rows == 1 ? &r3.rows[0] : NULL;
    CHECK(w3 && w3->read_bw_gbs > 0 && isfinite(w3->read_bw_gbs) && isfinite(r3.read_bw_gbs),
          "paired probe: read bandwidth %g GB/s", w3 ? w3->read_bw_gbs : NAN);
    CHECK(w3 && w3->bw_share_pct > 0 && isfinite(w3->bw_share_pct), "paired probe: share %g%%",
          w3 ? w3->bw_share_pct : NAN);
    CHECK(r3.peak_rss_bytes > 0 && r3.peak_rss_bytes < ((int64_t)200 << 20),
          "peak RSS leaves the probe's 256 MiB out: %lld bytes", (long long)r3.peak_rss_bytes);
    CHECK(w3 && isnan(r2.rows[0].bw_share_pct), "no probe: share unavailable");
    printf("paired probe: %.1f GB/s, decode at %.1f%% of it, peak RSS %.1f MiB\n", w3 ? w3->read_bw_gbs : NAN,
           w3 ? w3->bw_share_pct : NAN, (double)r3.peak_rss_bytes / 1048576);
    ob_bench_result_free(&r3);

    int before = r.n_rows;
    CHECK_OK(ob_bench_result_append(&r, &r2, &err), &err);
    CHECK(r.n_rows == before + 1 && r2.n_rows == 0 && r.rows[before].n_threads == 1, "append moves the rows");
    CHECK(isnan(r.energy_j), "energy of the whole: unavailable when a part is");
    ob_bench_result_free(&r);
    ob_bench_result_free(&r2);
    ob_model_free(m);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_DONE("test_bench");
}

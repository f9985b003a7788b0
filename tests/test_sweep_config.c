/* test_sweep_config.c - the sweep's YAML configuration (src/sweep/config.h)
 * and recipe hashing (src/sweep/recipe.h): every key read, defaults, the
 * list and section forms, grid expansion and naming, errors with their
 * line and column, command-line overrides, and hashes that stay the same
 * for equal recipes and change with anything that changes the result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sweep/config.h"
#include "sweep/recipe.h"

static int parse(const char *text, ob_sweep_config *cfg, ob_err *err) {
    memset(err, 0, sizeof *err);
    return ob_sweep_config_parse("t.yaml", text, strlen(text), cfg, err);
}

/* Parsing text fails with a message starting with want_prefix and
 * containing want. */
static void expect_error(const char *text, const char *want_prefix, const char *want) {
    ob_sweep_config cfg;
    ob_err err;
    int rc = parse(text, &cfg, &err);
    CHECK(rc != 0, "accepted: %s", text);
    CHECK(!strncmp(err.msg, want_prefix, strlen(want_prefix)), "'%s' does not start with '%s'", err.msg, want_prefix);
    CHECK(strstr(err.msg, want) != NULL, "'%s' lacks '%s'", err.msg, want);
    CHECK(!strchr(err.msg, '\n'), "message of more than one line: %s", err.msg);
    if (!rc) ob_sweep_config_free(&cfg);
}

static void test_full(void) {
    const char *y = "experiment: exp one\n"
                    "output: out/x\n"
                    "models: [stories15M, /m/model.bin]\n"
                    "threads: 3\n"
                    "calibration: {text: cal.txt, nsamples: 16, seqlen: 64, seed: 7}\n"
                    "tasks:\n"
                    "  ppl: {data: sotu, limit: 5, ctx: 128}\n"
                    "  kld: {limit: 6}\n"
                    "  storycloze: {data: sc.jsonl, limit: 9}\n"
                    "bench: {prompt_len: 32, gen_len: 8, reps: 2, warmup: 0}\n"
                    "report: {min_accuracy: 0.5, max_ppl_increase: 10, max_memory: 2GiB, accuracy_metric: acc, "
                    "title: T}\n"
                    "recipes:\n"
                    "  - {name: base, kind: baseline}\n"
                    "  - {name: q8, kind: rtn, format: Q8_0, embeddings: true}\n"
                    "  - {name: g4, kind: gptq, bits: 4, group: 64, sym: yes, damp: 0.02}\n"
                    "  - {name: a4, kind: awq}\n"
                    "  - {name: dyn, kind: dynamic}\n"
                    "  - name: sg\n"
                    "    kind: prune\n"
                    "    method: sparsegpt\n"
                    "    pattern: '2:4'\n"
                    "    then_quantize: gptq8\n"
                    "    group: 64\n"
                    "  - {name: st, kind: structured, target: ffn, sparsity: 0.25, then_quantize: q8_0}\n";
    ob_sweep_config c;
    ob_err err;
    CHECK_OK(parse(y, &c, &err), &err);
    if (err.code) return;
    CHECK(!strcmp(c.experiment, "exp one") && !strcmp(c.output, "out/x"), "experiment/output");
    CHECK(c.n_models == 2 && !strcmp(c.models[1], "/m/model.bin"), "models");
    CHECK(c.threads == 3, "threads %d", c.threads);
    CHECK(!strcmp(c.calib.text, "cal.txt") && c.calib.nsamples == 16 && c.calib.seqlen == 64 && c.calib.seed == 7,
          "calibration");
    CHECK(c.ppl.on && c.ppl.limit == 5 && c.ppl.ctx == 128 && !strcmp(c.ppl.data, "sotu"), "ppl");
    CHECK(c.kld.on && c.kld.limit == 6, "kld");
    CHECK(c.storycloze.on && c.storycloze.limit == 9 && !strcmp(c.storycloze.data, "sc.jsonl"), "storycloze");
    CHECK(c.bench.on && c.bench.prompt_len == 32 && c.bench.gen_len == 8 && c.bench.reps == 2 && c.bench.warmup == 0,
          "bench");
    CHECK(c.report.min_accuracy == 0.5 && c.report.max_ppl_increase == 10, "report bounds");
    CHECK(c.report.max_memory == 2.0 * 1024 * 1024 * 1024, "max_memory %g", c.report.max_memory);
    CHECK(!strcmp(c.report.acc_metric, "acc") && !strcmp(c.report.title, "T"), "report strings");
    CHECK(c.n_recipes == 7, "%d recipes", c.n_recipes);
    const ob_recipe *q8 = ob_sweep_config_recipe(&c, "q8"), *g4 = ob_sweep_config_recipe(&c, "g4");
    const ob_recipe *sg = ob_sweep_config_recipe(&c, "sg"), *st = ob_sweep_config_recipe(&c, "st");
    CHECK(q8 && q8->kind == OB_RECIPE_RTN && q8->embeddings && !strcmp(q8->format, "Q8_0"), "q8");
    CHECK(q8 && q8->line == 14 && q8->col == 5, "q8 at %d:%d", q8 ? q8->line : 0, q8 ? q8->col : 0);
    CHECK(g4 && g4->bits == 4 && g4->group == 64 && g4->sym && fabs(g4->damp - 0.02) < 1e-12, "g4");
    CHECK(sg && !strcmp(sg->pattern, "2:4") && !strcmp(sg->then_quantize, "gptq8") && sg->group == 64, "sg");
    CHECK(st && !strcmp(st->target, "ffn") && st->sparsity == 0.25, "st");
    CHECK(ob_sweep_config_baseline(&c) == ob_sweep_config_recipe(&c, "base"), "baseline");
    /* canonical parameters: defaults filled in, names lowercase */
    json_t *p = ob_recipe_params(q8);
    CHECK(!strcmp(json_string_value(json_object_get(p, "format")), "q8_0"), "canonical format");
    json_decref(p);
    p = ob_recipe_params(ob_sweep_config_recipe(&c, "a4"));
    CHECK(!strcmp(json_string_value(json_object_get(p, "format")), "i4_g128"), "awq default format");
    json_decref(p);
    p = ob_recipe_params(sg);
    CHECK(json_real_value(json_object_get(p, "sparsity")) == 0.5 && !strcmp(json_string_value(json_object_get(p, "values")), "int8"),
          "2:4 implies 0.5 and gptq8 int8 values");
    json_decref(p);
    CHECK(ob_recipe_calibrated(g4) && ob_recipe_calibrated(sg) && !ob_recipe_calibrated(q8) && !ob_recipe_calibrated(st),
          "calibrated");
    ob_sweep_config_free(&c);
}

static void test_defaults_and_forms(void) {
    ob_sweep_config c;
    ob_err err;
    CHECK_OK(parse("models: stories15M\nrecipes: [{kind: baseline}]\n", &c, &err), &err);
    if (!err.code) {
        CHECK(c.n_models == 1 && c.ppl.on && c.kld.on && c.storycloze.on && c.bench.on, "defaults on");
        CHECK(c.calib.nsamples == 32 && c.calib.seqlen == 128 && c.bench.reps == 3 && c.bench.prompt_len == 128,
              "defaults");
        CHECK(isnan(c.report.min_accuracy) && isnan(c.report.max_memory) && !c.output && !c.experiment, "unset");
        CHECK(c.n_recipes == 1 && !strcmp(c.recipes[0].name, "baseline"), "unnamed baseline is 'baseline'");
        ob_sweep_config_free(&c);
    }
    CHECK_OK(parse("models: [m]\ntasks: [ppl, storycloze]\nbench: false\nrecipes: [{kind: rtn}]\n", &c, &err), &err);
    if (!err.code) {
        CHECK(c.ppl.on && !c.kld.on && c.storycloze.on && !c.bench.on, "list form and bench: false");
        ob_sweep_config_free(&c);
    }
    CHECK_OK(parse("models: [m]\ntasks:\n  ppl:\n  storycloze: {limit: 3}\nrecipes: [{kind: rtn}]\n", &c, &err), &err);
    if (!err.code) {
        CHECK(c.ppl.on && !c.kld.on && c.storycloze.on && c.storycloze.limit == 3, "null section is on");
        ob_sweep_config_free(&c);
    }
}

static void test_grid(void) {
    ob_sweep_config c;
    ob_err err;
    const char *y = "models: [m]\ntasks: [ppl]\nrecipes:\n"
                    "  - {name: w, kind: prune, method: [magnitude, wanda], sparsity: [0.3, 0.5]}\n"
                    "  - {kind: rtn, format: [q8_0, q4_0]}\n"
                    "  - {name: one, kind: prune, method: wanda, pattern: ['2:4', '4:8']}\n";
    CHECK_OK(parse(y, &c, &err), &err);
    if (err.code) return;
    const char *want[] = {"w-magnitude-0.3", "w-magnitude-0.5", "w-wanda-0.3", "w-wanda-0.5",
                          "rtn-q8_0",        "rtn-q4_0",        "one-2:4",     "one-4:8"};
    CHECK(c.n_recipes == 8, "%d recipes", c.n_recipes);
    for (int i = 0; i < 8 && i < c.n_recipes; i++)
        CHECK(!strcmp(c.recipes[i].name, want[i]), "recipe %d is '%s', not '%s'", i, c.recipes[i].name, want[i]);
    if (c.n_recipes == 8) {
        CHECK(!strcmp(c.recipes[2].method, "wanda") && c.recipes[2].sparsity == 0.3, "w-wanda-0.3 values");
        CHECK(!strcmp(c.recipes[5].format, "q4_0"), "rtn-q4_0 format");
        CHECK(c.recipes[7].line == 6, "grid recipes keep their line");
    }
    ob_sweep_config_free(&c);
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: d, kind: rtn, format: [q8_0, q8_0]}\n", "t.yaml:4:5:",
                 "recipe name 'd-q8_0' is used twice");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {kind: rtn, format: []}\n", "t.yaml:4:",
                 "format: an empty list");
}

static void test_errors(void) {
    /* YAML syntax: libyaml's own marks */
    expect_error("models: [m\nrecipes: []\n", "t.yaml:", "did not find expected");
    expect_error("models: [m]\n  bad indent: 1\nrecipes: [{kind: baseline}]\n", "t.yaml:2:3:", "did not find expected key");
    expect_error("models: [m]\nrecipes:\n  - {name: a, kind: baseline\n", "t.yaml:4:1:", "did not find expected");
    expect_error("", "t.yaml: ", "empty configuration");
    expect_error("- a\n- b\n", "t.yaml:1:1:", "must be a mapping");
    /* unknown keys and kinds, named */
    expect_error("models: [m]\nrecipes: [{kind: baseline}]\nmodles: [x]\n", "t.yaml:3:1:", "unknown key 'modles'");
    expect_error("models: [m]\nrecipes: [{kind: baseline}]\ntasks:\n  ppl: {limt: 3}\n", "t.yaml:4:9:",
                 "unknown key 'limt' in tasks.ppl (known: data, limit, ctx)");
    expect_error("models: [m]\nrecipes: [{kind: baseline}]\ntasks: [ppl, mmlu]\n", "t.yaml:3:14:", "unknown task 'mmlu'");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: x, kind: rtm}\n", "t.yaml:4:21:",
                 "unknown recipe kind 'rtm' (known: baseline, rtn, dynamic, gptq, awq, prune, structured)");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: x, kind: rtn, bits: 4}\n", "t.yaml:4:26:",
                 "no key 'bits' for a rtn recipe (it takes: name, kind, format, embeddings, output)");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: x, kind: rtn, colour: red}\n", "t.yaml:4:26:",
                 "unknown key 'colour'");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: x}\n", "t.yaml:4:5:", "recipe without a kind");
    /* values */
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {kind: rtn, format: q9_9}\n", "t.yaml:4:25:",
                 "unknown format 'q9_9'");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {kind: gptq, format: nf4}\n", "t.yaml:4:26:",
                 "gptq stores its results in");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {kind: prune, method: wanda, sparsity: 1.5}\n",
                 "t.yaml:4:44:", "sparsity must be a number in [0, ");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {kind: prune, method: wanda, pattern: '5:4'}\n",
                 "t.yaml:4:43:", "5:4");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {kind: prune, method: pruney, sparsity: 0.5}\n",
                 "t.yaml:4:27:", "unknown pruning method 'pruney'");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: p, kind: prune, method: wanda}\n", "t.yaml:4:5:",
                 "recipe 'p': sparsity is required");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: p, kind: prune, method: wanda, pattern: '2:4', "
                 "sparsity: 0.3}\n",
                 "t.yaml:4:5:", "a sparsity of 0.5, not 0.3");
    expect_error("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: g, kind: gptq, format: i4_g32, bits: 4}\n",
                 "t.yaml:4:5:", "give format, or bits and group, not both");
    expect_error("models: [m]\nthreads: many\nrecipes: [{kind: baseline}]\n", "t.yaml:2:10:",
                 "threads must be an integer");
    expect_error("models: [m]\nreport: {max_memory: lots}\nrecipes: [{kind: baseline}]\n", "t.yaml:2:22:",
                 "report.max_memory must be a size");
    expect_error("models: [m]\nmodels: [n]\nrecipes: [{kind: baseline}]\n", "t.yaml:2:1:", "duplicate key 'models'");
    expect_error("models: [m]\nrecipes:\n  - {name: a, kind: baseline}\n  - {name: a, kind: rtn}\n", "t.yaml:4:5:",
                 "recipe name 'a' is used twice (first at line 3)");
    /* across keys */
    expect_error("recipes: [{kind: baseline}]\n", "t.yaml: ", "no models");
    expect_error("models: [m]\n", "t.yaml: ", "no recipes");
    expect_error("models: [m]\nrecipes: [{kind: rtn}]\n", "t.yaml: ", "tasks.kld compares with the baseline");
}

static void test_set(void) {
    ob_sweep_config c;
    ob_err err = {0};
    CHECK_OK(parse("models: [m]\ntasks: [ppl]\nrecipes: [{kind: baseline}]\n", &c, &err), &err);
    if (err.code) return;
    CHECK_OK(ob_sweep_config_set(&c, "tasks.ppl.limit", "7", &err), &err);
    CHECK(c.ppl.limit == 7, "--set limit");
    CHECK_OK(ob_sweep_config_set(&c, "tasks.storycloze.limit", "4", &err), &err);
    CHECK(c.storycloze.on && c.storycloze.limit == 4, "--set inside a task turns it on");
    CHECK_OK(ob_sweep_config_set(&c, "bench", "off", &err), &err);
    CHECK(!c.bench.on, "--set bench=off");
    CHECK_OK(ob_sweep_config_set(&c, "report.max_memory", "512M", &err), &err);
    CHECK(c.report.max_memory == 512.0 * 1024 * 1024, "--set max_memory");
    CHECK_OK(ob_sweep_config_set(&c, "report.min_accuracy", "null", &err), &err);
    CHECK(isnan(c.report.min_accuracy), "--set null");
    CHECK_OK(ob_sweep_config_set(&c, "output", "o2", &err), &err);
    CHECK(!strcmp(c.output, "o2"), "--set output");
    CHECK(ob_sweep_config_set(&c, "bench.reps", "x", &err) && !strncmp(err.msg, "--set bench.reps: ", 18), "%s",
          err.msg);
    CHECK(ob_sweep_config_set(&c, "tasks.ppl.lim", "1", &err) && strstr(err.msg, "known in tasks.ppl: data, limit, ctx"),
          "%s", err.msg);
    CHECK(ob_sweep_config_set(&c, "recipes", "x", &err) && strstr(err.msg, "in the file only"), "%s", err.msg);
    CHECK_OK(ob_sweep_config_set(&c, "tasks.kld", "null", &err), &err);
    CHECK(c.kld.on && ob_sweep_config_check(&c, &err) == 0, "kld with a baseline");
    ob_sweep_config_free(&c);
}

static json_t *key_of(const char *recipe_yaml, const json_t *ident, const json_t *calib) {
    char y[512];
    ob_sweep_config c;
    ob_err err;
    snprintf(y, sizeof y, "models: [m]\ntasks: [ppl]\nrecipes: [%s]\n", recipe_yaml);
    if (parse(y, &c, &err)) {
        CHECK(0, "%s: %s", recipe_yaml, err.msg);
        return NULL;
    }
    json_t *k = ob_recipe_key(&c.recipes[0], ident, calib);
    ob_sweep_config_free(&c);
    return k;
}

static void hash_of(const char *recipe_yaml, const json_t *ident, const json_t *calib, char hex[65]) {
    json_t *k = key_of(recipe_yaml, ident, calib);
    ob_err err = {0};
    hex[0] = '\0';
    if (k) CHECK_OK(ob_json_sha256(k, hex, &err), &err);
    json_decref(k);
}

static void test_hash(void) {
    json_t *id1 = json_pack("{s:s, s:i, s:i}", "path", "/m", "size", 1, "mtime_ns", 2);
    json_t *id2 = json_pack("{s:s, s:i, s:i}", "path", "/m", "size", 1, "mtime_ns", 3);
    json_t *cal1 = json_pack("{s:s, s:i, s:i, s:i}", "text", "brown", "nsamples", 32, "seqlen", 128, "seed", 0);
    json_t *cal2 = json_pack("{s:s, s:i, s:i, s:i}", "text", "brown", "nsamples", 32, "seqlen", 128, "seed", 1);
    char a[65], b[65];
    /* stable: the canonical JSON and its SHA-256, computed independently
     * (Python: json.dumps(sort_keys=True, separators=(',', ':'))) */
    hash_of("{name: x, kind: rtn, format: q8_0}", id1, cal1, a);
    CHECK(!strcmp(a, "a265810c67c228c1d71afe4c5c423c6476c6eac928ece63816b85f7fb80bb328"), "rtn key hash %s", a);
    /* equal recipes spelled differently */
    hash_of("{name: other, kind: rtn, format: Q8_0, output: false}", id1, cal1, b);
    CHECK(!strcmp(a, b), "name, case and explicit defaults do not matter");
    hash_of("{kind: rtn}", id1, cal1, b);
    CHECK(!strcmp(a, b), "q8_0 is rtn's default");
    hash_of("{kind: gptq, bits: 4, group: 128}", id1, cal1, a);
    hash_of("{kind: gptq, format: i4_g128}", id1, cal1, b);
    CHECK(!strcmp(a, b), "gptq bits/group = format");
    hash_of("{kind: gptq}", id1, cal1, b);
    CHECK(!strcmp(a, b), "gptq defaults");
    hash_of("{kind: prune, method: wanda, pattern: '2:4'}", id1, cal1, a);
    hash_of("{kind: prune, method: wanda, pattern: '2:4', sparsity: 0.5}", id1, cal1, b);
    CHECK(!strcmp(a, b), "implied sparsity");
    /* anything that changes the result changes the hash */
    hash_of("{kind: gptq}", id1, cal1, a);
    hash_of("{kind: gptq, damp: 0.05}", id1, cal1, b);
    CHECK(strcmp(a, b), "damp");
    hash_of("{kind: gptq}", id2, cal1, b);
    CHECK(strcmp(a, b), "model mtime");
    hash_of("{kind: gptq}", id1, cal2, b);
    CHECK(strcmp(a, b), "calibration seed");
    hash_of("{kind: gptq, sym: true}", id1, cal1, b);
    CHECK(strcmp(a, b), "sym");
    hash_of("{kind: rtn, format: q4_0}", id1, cal1, a);
    hash_of("{kind: rtn, format: q4_0}", id1, cal2, b);
    CHECK(!strcmp(a, b), "calibration does not matter to rtn");
    hash_of("{kind: rtn, format: q4_0, embeddings: true}", id1, cal1, b);
    CHECK(strcmp(a, b), "embeddings");
    hash_of("{kind: prune, method: wanda, sparsity: 0.5}", id1, cal1, a);
    hash_of("{kind: prune, method: wanda, sparsity: 0.6}", id1, cal1, b);
    CHECK(strcmp(a, b), "sparsity");
    hash_of("{kind: prune, method: magnitude, sparsity: 0.5}", id1, cal1, b);
    CHECK(strcmp(a, b), "method");

    /* the identity of a real file follows its size and time */
    char path[] = "/tmp/ob_sweep_idXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        CHECK(write(fd, "abc", 3) == 3, "write");
        close(fd);
        json_t *i1 = NULL, *i2 = NULL;
        ob_err err = {0};
        CHECK_OK(ob_model_identity(path, &i1, &err), &err);
        CHECK(json_integer_value(json_object_get(i1, "size")) == 3, "identity size");
        struct timespec ts[2] = {{0, UTIME_OMIT}, {12345, 0}};
        utimensat(AT_FDCWD, path, ts, 0);
        CHECK_OK(ob_model_identity(path, &i2, &err), &err);
        CHECK(i1 && i2 && !json_equal(i1, i2), "identity follows mtime");
        CHECK(ob_model_identity("/no/such/model", &i2, &err) == OB_EIO && strstr(err.msg, "/no/such/model"),
              "missing model");
        json_decref(i1);
        json_decref(i2);
        unlink(path);
    }
    json_decref(id1);
    json_decref(id2);
    json_decref(cal1);
    json_decref(cal2);
}

/* ob_recipe_set: what search uses to make its probes */
static void test_recipe_set(void) {
    ob_sweep_config c;
    ob_err err;
    CHECK_OK(parse("models: [m]\ntasks: [ppl]\nrecipes:\n  - {name: w, kind: prune, method: wanda, sparsity: 0.5}\n"
                   "  - {name: g, kind: gptq, bits: 4}\n  - {name: t, kind: prune, method: wanda, pattern: '2:4'}\n",
                   &c, &err),
             &err);
    if (err.code) return;
    ob_recipe w = c.recipes[0], g = c.recipes[1], t = c.recipes[2];
    CHECK_OK(ob_recipe_set(&w, "sparsity", "0.625", &err), &err);
    CHECK(w.sparsity == 0.625 && !strcmp(w.name, "w"), "set sparsity");
    CHECK_OK(ob_recipe_set(&g, "bits", "3", &err), &err);
    CHECK(g.bits == 3, "set bits");
    CHECK(ob_recipe_set(&g, "bits", "9", &err) && !strncmp(err.msg, "bits: ", 6), "%s", err.msg);
    CHECK(ob_recipe_set(&g, "format", "i4_g32", &err) && strstr(err.msg, "not both"), "%s", err.msg);
    CHECK(ob_recipe_set(&w, "bits", "4", &err) && strstr(err.msg, "not a key for a prune recipe"), "%s", err.msg);
    CHECK(ob_recipe_set(&t, "sparsity", "0.7", &err) && strstr(err.msg, "a sparsity of 0.5, not 0.7"), "%s", err.msg);
    ob_sweep_config_free(&c);
}

int main(void) {
    test_recipe_set();
    test_full();
    test_defaults_and_forms();
    test_grid();
    test_errors();
    test_set();
    test_hash();
    return CHECK_DONE("test_sweep_config");
}

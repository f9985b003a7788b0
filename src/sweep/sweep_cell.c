/* sweep_cell.c - one cell of a sweep: the compressed model from the cache
 * or made and cached, then benchmarked and evaluated (sweep.h).  Runs in
 * the cell's child process when the sweep isolates cells. */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/sensors.h"
#include "report/fileio.h"
#include "sweep/bench_step.h"
#include "sweep/sweep_int.h"

static void put(json_t *o, const char *k, double v) {
    if (isfinite(v)) json_object_set_new(o, k, json_real(v));
}

static void on_layer(void *user, int layer, int n_layers, double elapsed) {
    (void)elapsed;
    sweep_stage(user, "compress", layer, n_layers);
}

/* compress.json beside the cached model: what compressing did. */
static int write_info(const char *dir, const ob_recipe_info *info, ob_err *err) {
    char path[4500];
    json_t *o = json_object();
    put(o, "sparsity", info->sparsity);
    put(o, "compress_s", info->seconds);
    json_object_set_new(o, "bytes_before", json_integer(info->bytes_before));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    snprintf(path, sizeof path, "%s/compress.json", dir);
    int rc = s ? ob_write_atomic(path, s, strlen(s), err) : ob_fail(err, OB_ENOMEM, "out of memory");
    free(s);
    return rc;
}

static void read_info(const char *dir, json_t *metrics) {
    char path[4500];
    snprintf(path, sizeof path, "%s/compress.json", dir);
    json_t *o = json_load_file(path, 0, NULL);
    const char *keys[2] = {"sparsity", "compress_s"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (json_is_number(v)) put(metrics, keys[i], json_number_value(v));
    }
    json_decref(o);
}

/* The cell's compressed model: from the cache when it holds this recipe's
 * entry, else compressed now, saved and reloaded from the cache. */
static int compressed_model(sweep_run *s, const sweep_cell *c, const char *dir, ob_pool *pool, ob_model **out,
                            json_t *res, json_t *metrics, ob_err *err) {
    const sweep_model *mm = &s->models[c->model];
    const ob_recipe *r = &c->recipe;
    if (ob_recipe_cache_valid(dir, c->key)) {
        sweep_stage(s, "cache", 0, 0);
        ob_err le = {0};
        if (!ob_model_load(dir, NULL, out, &le)) {
            json_object_set_new(res, "cached", json_true());
            read_info(dir, metrics);
            put(metrics, "disk_bytes", (double)ob_path_bytes(dir));
            return 0;
        }
        ob_sweep_event ev = {.kind = OB_SWEEP_EV_NOTE, .text = le.msg};
        sweep_emit(s, &ev); /* a broken entry is made again */
    }
    ob_model *m = NULL;
    ob_recipe_info info;
    ob_recipe_calib cal = {mm->calib, mm->calib_n, mm->calib_seqlen};
    sweep_stage(s, "load", 0, 0);
    int rc = ob_model_load(mm->path, NULL, &m, err);
    if (!rc) {
        sweep_stage(s, "compress", 0, 0);
        rc = ob_recipe_apply(m, r, pool, mm->calib ? &cal : NULL, on_layer, s, &info, err);
    }
    if (!rc) {
        sweep_stage(s, "save", 0, 0);
        rc = ob_recipe_cache_save(m, r, c->key, dir, err);
    }
    if (!rc) rc = write_info(dir, &info, err);
    ob_model_free(m);
    malloc_trim(0);
    if (!rc) rc = ob_model_load(dir, NULL, out, err);
    if (!rc) {
        json_object_set_new(res, "cached", json_false());
        put(metrics, "sparsity", info.sparsity);
        put(metrics, "compress_s", info.seconds);
        put(metrics, "disk_bytes", (double)ob_path_bytes(dir));
    }
    return rc;
}

/* Speed, and the peak memory of the benchmark when the cell has a
 * process of its own. */
static int bench(sweep_run *s, ob_model *m, const char *path, ob_pool *pool, json_t *metrics, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    ob_sweep_bench_params bp = {cfg->bench.prompt_len, cfg->bench.gen_len, cfg->bench.batch, cfg->bench.reps,
                                cfg->bench.warmup, path};
    malloc_trim(0);
    sweep_stage(s, "bench", 0, 0);
    return ob_sweep_bench(m, pool, &bp, s->o->isolate, metrics, err);
}

static int run(sweep_run *s, const sweep_cell *c, json_t *res, json_t *metrics, ob_err *err) {
    const ob_sweep_config *cfg = s->cfg;
    const sweep_model *mm = &s->models[c->model];
    const int is_base = c->recipe.kind == OB_RECIPE_BASELINE;
    ob_pool *pool = NULL;
    ob_model *m = NULL, *base = NULL;
    char dir[4400];
    const char *bench_path = is_base ? mm->path : dir;
    snprintf(dir, sizeof dir, "%s/cache/%s", s->out, c->hash);
    if (mm->error[0]) return ob_fail(err, OB_EINVAL, "%s", mm->error);
    if (ob_recipe_calibrated(&c->recipe) && mm->calib_error[0]) return ob_fail(err, OB_EINVAL, "%s", mm->calib_error);
    int rc = ob_pool_new(cfg->threads, &pool, err);
    if (!rc && is_base) {
        sweep_stage(s, "load", 0, 0);
        rc = ob_model_load(mm->path, NULL, &m, err);
        if (!rc) put(metrics, "disk_bytes", (double)ob_path_bytes(mm->path));
    } else if (!rc) {
        rc = compressed_model(s, c, dir, pool, &m, res, metrics, err);
    }
    if (!rc) rc = ob_model_pack_x16(m, pool, NULL, err); /* after the cache is written: inference only */
    if (!rc) {
        int64_t bytes = ob_model_weight_bytes(m), params = ob_model_n_params(m);
        put(metrics, "model_size_bytes", (double)bytes);
        if (params > 0) put(metrics, "bits_per_weight", 8.0 * (double)bytes / (double)params);
    }
    if (!rc && cfg->bench.on) rc = bench(s, m, bench_path, pool, metrics, err);
    if (!rc && (cfg->ppl.on || cfg->kld.on)) {
        if (cfg->kld.on && !is_base) {
            sweep_stage(s, "kld", 0, 0);
            rc = ob_model_load(mm->path, NULL, &base, err);
            if (!rc) rc = ob_model_pack_x16(base, pool, NULL, err);
        }
        if (!rc) rc = sweep_eval_text(s, mm, m, base, pool, metrics, err);
        if (!rc && is_base && cfg->kld.on) { /* the reference itself */
            put(metrics, "kld", 0.0);
            put(metrics, "same_top", 1.0);
        }
    }
    ob_model_free(base);
    if (!rc && cfg->storycloze.on) rc = sweep_eval_cloze(s, m, pool, metrics, err);
    ob_model_free(m);
    ob_pool_free(pool);
    return rc;
}

json_t *sweep_cell_run(sweep_run *s, int ci) {
    const double t0 = ob_now();
    json_t *res = json_object(), *metrics = json_object();
    if (!res || !metrics) {
        json_decref(res);
        json_decref(metrics);
        return NULL;
    }
    ob_err err = {0};
    int rc = run(s, &s->cells[ci], res, metrics, &err);
    json_object_set_new(res, "status", json_string(rc ? "failed" : "ok"));
    if (rc) json_object_set_new(res, "error", json_string(err.msg[0] ? err.msg : "failed"));
    json_object_set_new(res, "metrics", metrics);
    json_object_set_new(res, "seconds", json_real(ob_now() - t0));
    return res;
}

/* recipe.c - a recipe's canonical parameters, its hash, and the cache of
 * compressed models (recipe.h).  Applying a recipe is recipe_apply.c. */
#include "sweep/recipe.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress/prune.h"
#include "formats/hf_write.h"
#include "kernels/matrix.h"
#include "report/fileio.h"

/* ------------------------------------------------------------ params */

/* The canonical lowercase name of a format ("Q8_0" -> "q8_0"). */
static void canon_format(const char *name, char *out, size_t size) {
    int f = ob_format_from_name(name);
    snprintf(out, size, "%s", f >= 0 ? ob_format_name((ob_format)f) : name);
    for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
}

/* GPTQ's format from format, or from bits and group. */
static void gptq_format(const ob_recipe *r, char *out, size_t size) {
    if (r->format[0]) {
        canon_format(r->format, out, size);
        return;
    }
    int bits = r->bits ? r->bits : 4, group = r->group >= 0 ? r->group : 128;
    if (group) snprintf(out, size, "i%d_g%d", bits > 4 ? 8 : 4, group);
    else snprintf(out, size, "i%d_row", bits > 4 ? 8 : 4);
}

static int gptq_bits(const ob_recipe *r, const char *fmt) {
    if (r->bits) return r->bits;
    return fmt[1] == '8' ? 8 : 4;
}

int ob_recipe_calibrated(const ob_recipe *r) {
    switch (r->kind) {
    case OB_RECIPE_GPTQ:
    case OB_RECIPE_AWQ: return 1;
    case OB_RECIPE_PRUNE: return strcmp(r->method, "magnitude") || r->then_quantize[0];
    case OB_RECIPE_STRUCTURED: return r->calibrated;
    default: return 0;
    }
}

static void set_s(json_t *o, const char *k, const char *v) { json_object_set_new(o, k, json_string(v)); }
static void set_i(json_t *o, const char *k, int64_t v) { json_object_set_new(o, k, json_integer(v)); }
static void set_r(json_t *o, const char *k, double v) { json_object_set_new(o, k, json_real(v)); }
static void set_b(json_t *o, const char *k, int v) { json_object_set_new(o, k, json_boolean(v)); }

/* prune: method, pattern, sparsity (implied for N:M) and the quantization */
static void prune_params(json_t *o, const ob_recipe *r) {
    ob_pattern p;
    ob_err e = {0};
    char pn[64];
    set_s(o, "method", r->method);
    if (ob_pattern_parse(r->pattern, &p, &e)) {
        set_s(o, "pattern", r->pattern);
    } else {
        ob_pattern_name(&p, pn, sizeof pn);
        set_s(o, "pattern", pn);
    }
    set_r(o, "sparsity", !e.code && p.kind == OB_PAT_NM ? 1.0 - (double)p.n / p.m : r->sparsity);
    if (!strcmp(r->method, "magnitude")) set_b(o, "global", r->global);
    const char *tq = r->then_quantize;
    const char *values = r->values[0] ? r->values : !strcmp(tq, "gptq8") ? "int8" : !strcmp(tq, "gptq4") ? "int4" : "f32";
    set_s(o, "values", values);
    if (tq[0]) {
        set_s(o, "then_quantize", tq);
        set_i(o, "group", r->group >= 0 ? r->group : 128);
    }
    if (tq[0] || !strcmp(r->method, "sparsegpt")) set_r(o, "damp", r->damp);
}

json_t *ob_recipe_params(const ob_recipe *r) {
    json_t *o = json_object();
    char f[32];
    if (!o) return NULL;
    set_s(o, "kind", ob_recipe_kind_name(r->kind));
    switch (r->kind) {
    case OB_RECIPE_BASELINE: break;
    case OB_RECIPE_RTN:
        canon_format(r->format[0] ? r->format : "q8_0", f, sizeof f);
        set_s(o, "format", f);
        set_b(o, "embeddings", r->embeddings);
        set_b(o, "output", r->output);
        break;
    case OB_RECIPE_DYNAMIC: set_s(o, "format", "w8a8"); break;
    case OB_RECIPE_GPTQ:
        gptq_format(r, f, sizeof f);
        set_s(o, "format", f);
        set_i(o, "bits", gptq_bits(r, f));
        set_b(o, "sym", r->sym);
        set_r(o, "damp", r->damp);
        break;
    case OB_RECIPE_AWQ:
        canon_format(r->format[0] ? r->format : "i4_g128", f, sizeof f);
        set_s(o, "format", f);
        break;
    case OB_RECIPE_PRUNE: prune_params(o, r); break;
    case OB_RECIPE_STRUCTURED:
        set_s(o, "target", r->target);
        set_r(o, "sparsity", r->sparsity);
        set_b(o, "calibrated", r->calibrated);
        if (r->then_quantize[0]) {
            canon_format(r->then_quantize, f, sizeof f);
            set_s(o, "then_quantize", f);
        }
        break;
    default: break;
    }
    return o;
}

/* -------------------------------------------------------------- hashing */

int ob_model_identity(const char *path, json_t **out, ob_err *err) {
    char abs[PATH_MAX];
    struct stat st;
    if (!realpath(path, abs) || stat(abs, &st))
        return ob_fail(err, OB_EIO, "%s: cannot open: %s", path, strerror(errno));
    int64_t size = st.st_size, mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(abs);
        if (!d) return ob_fail(err, OB_EIO, "%s: cannot open: %s", path, strerror(errno));
        struct dirent *e;
        size = 0;
        while ((e = readdir(d))) {
            char p[PATH_MAX + 256];
            struct stat fs;
            snprintf(p, sizeof p, "%s/%s", abs, e->d_name);
            if (stat(p, &fs) || !S_ISREG(fs.st_mode)) continue;
            size += fs.st_size;
            int64_t t = (int64_t)fs.st_mtim.tv_sec * 1000000000 + fs.st_mtim.tv_nsec;
            if (t > mtime) mtime = t;
        }
        closedir(d);
    }
    *out = json_pack("{s:s, s:I, s:I}", "path", abs, "size", (json_int_t)size, "mtime_ns", (json_int_t)mtime);
    return *out ? 0 : ob_fail(err, OB_ENOMEM, "out of memory");
}

int ob_json_sha256(const json_t *v, char hex[65], ob_err *err) {
    char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) return ob_fail(err, OB_ENOMEM, "out of memory");
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    int ok = EVP_Digest(s, strlen(s), d, &dn, EVP_sha256(), NULL) == 1 && dn == 32;
    free(s);
    if (!ok) return ob_fail(err, OB_EINVAL, "SHA-256 failed");
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

json_t *ob_recipe_key(const ob_recipe *r, const json_t *model_id, const json_t *calib) {
    json_t *k = json_object(), *p = ob_recipe_params(r);
    if (!k || !p) {
        json_decref(k);
        json_decref(p);
        return NULL;
    }
    set_s(k, "version", OB_SWEEP_VERSION);
    json_object_set_new(k, "model", json_deep_copy(model_id));
    json_object_set_new(k, "recipe", p);
    if (ob_recipe_calibrated(r) && calib) json_object_set_new(k, "calibration", json_deep_copy(calib));
    return k;
}

/* ---------------------------------------------------------------- cache */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path) && errno != ENOENT ? -1 : 0;
}

int ob_remove_tree(const char *path, ob_err *err) {
    struct stat st;
    if (lstat(path, &st)) return 0;
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS))
        return ob_fail(err, OB_EIO, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int ob_recipe_save_dtype(const ob_recipe *r) {
    if (r->kind != OB_RECIPE_RTN) return OB_DT_F32;
    int f = ob_format_from_name(r->format[0] ? r->format : "q8_0");
    return f == OB_FMT_F16 ? OB_DT_F16 : f == OB_FMT_BF16 ? OB_DT_BF16 : OB_DT_F32;
}

int ob_recipe_cache_save(const ob_model *m, const ob_recipe *r, const json_t *key, const char *dir, ob_err *err) {
    char tmp[4200], path[4300];
    const char *slash = strrchr(dir, '/');
    if (slash)
        snprintf(tmp, sizeof tmp, "%.*s/.%s.tmp.%ld", (int)(slash - dir), dir, slash + 1, (long)getpid());
    else
        snprintf(tmp, sizeof tmp, ".%s.tmp.%ld", dir, (long)getpid());
    int rc = ob_remove_tree(tmp, err);
    if (!rc) rc = ob_model_save_hf_container(m, tmp, (ob_dtype)ob_recipe_save_dtype(r), err);
    const ob_tokenizer *tok = ob_model_tokenizer(m);
    if (!rc && tok) rc = ob_tokenizer_save_hf(tok, tmp, err);
    if (!rc) {
        char *s = json_dumps(key, JSON_SORT_KEYS | JSON_INDENT(2));
        snprintf(path, sizeof path, "%s/recipe.json", tmp);
        rc = s ? ob_write_atomic(path, s, strlen(s), err) : ob_fail(err, OB_ENOMEM, "out of memory");
        free(s);
    }
    if (!rc) rc = ob_remove_tree(dir, err);
    if (!rc && rename(tmp, dir)) rc = ob_fail(err, OB_EIO, "%s: cannot rename into place: %s", dir, strerror(errno));
    if (rc) {
        ob_err ignore = {0};
        ob_remove_tree(tmp, &ignore);
    }
    return rc;
}

int ob_recipe_cache_valid(const char *dir, const json_t *key) {
    char path[4300];
    snprintf(path, sizeof path, "%s/recipe.json", dir);
    json_t *have = json_load_file(path, 0, NULL);
    int ok = have && json_equal(have, key);
    json_decref(have);
    return ok;
}

/* safetensors.c - the safetensors reader and writer (layout in the header). */
#include "formats/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[OB_DT_COUNT] = {
    [OB_DT_F32] = {"F32", 4}, [OB_DT_F16] = {"F16", 2}, [OB_DT_BF16] = {"BF16", 2},
    [OB_DT_F64] = {"F64", 8}, [OB_DT_I8] = {"I8", 1},   [OB_DT_U8] = {"U8", 1},
    [OB_DT_I16] = {"I16", 2}, [OB_DT_I32] = {"I32", 4}, [OB_DT_I64] = {"I64", 8},
    [OB_DT_BOOL] = {"BOOL", 1},
};

const char *ob_dtype_name(ob_dtype dt) { return (unsigned)dt < OB_DT_COUNT ? dtypes[dt].name : "?"; }
size_t ob_dtype_size(ob_dtype dt) { return (unsigned)dt < OB_DT_COUNT ? dtypes[dt].size : 0; }

static int dtype_parse(const char *s, ob_dtype *out) {
    for (int i = 0; i < OB_DT_COUNT; i++)
        if (!strcmp(s, dtypes[i].name)) {
            *out = (ob_dtype)i;
            return 0;
        }
    return -1;
}

enum { MAX_HEADER = 100 * 1024 * 1024 };

static int parse_entry(const char *name, const char *key, json_t *v, const unsigned char *buf,
                       size_t buf_size, ob_tensor *t, ob_err *err) {
    if (!json_is_object(v)) return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' is not an object", name, key);
    json_t *jdt = json_object_get(v, "dtype"), *jshape = json_object_get(v, "shape"),
           *joff = json_object_get(v, "data_offsets");
    if (!json_is_string(jdt) || !json_is_array(jshape) || !json_is_array(joff) ||
        json_array_size(joff) != 2)
        return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' lacks dtype, shape or data_offsets", name, key);
    if (dtype_parse(json_string_value(jdt), &t->dtype))
        return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' has unknown dtype '%s'", name, key,
                       json_string_value(jdt));
    size_t nd = json_array_size(jshape);
    if (nd > OB_MAX_DIMS) return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' has %zu dimensions", name, key, nd);
    t->n_dims = (int)nd;
    uint64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(jshape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' has a bad shape", name, key);
        uint64_t di = (uint64_t)json_integer_value(d);
        if (di && numel > UINT64_MAX / 16 / di)
            return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' shape overflows", name, key);
        numel *= di;
        t->shape[i] = (int64_t)di;
    }
    json_t *jb = json_array_get(joff, 0), *je = json_array_get(joff, 1);
    if (!json_is_integer(jb) || !json_is_integer(je) || json_integer_value(jb) < 0 ||
        json_integer_value(je) < json_integer_value(jb))
        return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' has bad data_offsets", name, key);
    uint64_t b = (uint64_t)json_integer_value(jb), e = (uint64_t)json_integer_value(je);
    if (e > buf_size)
        return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' data [%llu, %llu) lies past the end of the file (%zu data bytes)",
                       name, key, (unsigned long long)b, (unsigned long long)e, buf_size);
    if (e - b != numel * dtypes[t->dtype].size)
        return ob_fail(err, OB_EFORMAT, "%s: tensor '%s' has %llu bytes but shape and dtype need %llu", name,
                       key, (unsigned long long)(e - b), (unsigned long long)(numel * dtypes[t->dtype].size));
    t->numel = (int64_t)numel;
    t->nbytes = (size_t)(e - b);
    t->data = buf + b;
    t->name = strdup(key);
    if (!t->name) return ob_fail(err, OB_ENOMEM, "%s: out of memory", name);
    return 0;
}

int ob_st_parse(const char *name, const unsigned char *data, size_t size, ob_safetensors *out,
                ob_err *err) {
    if (size < 8) return ob_fail(err, OB_EFORMAT, "%s: too short for a safetensors file (%zu bytes)", name, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | data[i];
    if (n > size - 8)
        return ob_fail(err, OB_EFORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", name,
                       (unsigned long long)n, size);
    if (n > MAX_HEADER) return ob_fail(err, OB_EFORMAT, "%s: header length %llu is implausible", name, (unsigned long long)n);
    json_error_t je;
    json_t *root = json_loadb((const char *)data + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!root) return ob_fail(err, OB_EFORMAT, "%s: bad JSON header: %s (column %d)", name, je.text, je.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return ob_fail(err, OB_EFORMAT, "%s: header is not a JSON object", name);
    }
    const unsigned char *buf = data + 8 + n;
    size_t buf_size = size - 8 - (size_t)n;
    size_t cap = json_object_size(root);
    out->tensors = calloc(cap ? cap : 1, sizeof *out->tensors);
    if (!out->tensors) {
        json_decref(root);
        return ob_fail(err, OB_ENOMEM, "%s: out of memory", name);
    }
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) {
                rc = ob_fail(err, OB_EFORMAT, "%s: __metadata__ is not an object", name);
                break;
            }
            free(out->metadata_json);
            out->metadata_json = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
            continue;
        }
        rc = parse_entry(name, key, v, buf, buf_size, &out->tensors[out->n_tensors], err);
        if (rc) break;
        out->n_tensors++;
    }
    json_decref(root);
    if (rc) ob_st_clear(out);
    return rc;
}

void ob_st_clear(ob_safetensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    free(st->metadata_json);
    st->tensors = NULL;
    st->metadata_json = NULL;
    st->n_tensors = 0;
}

int ob_st_open(const char *path, int use_mmap, ob_safetensors **out, ob_err *err) {
    *out = NULL;
    ob_safetensors *st = calloc(1, sizeof *st);
    if (!st) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    st->path = strdup(path);
    int rc = ob_mapfile_open(path, use_mmap, &st->file, err);
    if (!rc) rc = ob_st_parse(path, st->file.data, st->file.size, st, err);
    if (rc) {
        ob_st_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void ob_st_close(ob_safetensors *st) {
    if (!st) return;
    ob_st_clear(st);
    ob_mapfile_close(&st->file);
    free(st->path);
    free(st);
}

const ob_tensor *ob_st_find(const ob_safetensors *st, const char *name) {
    for (int i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

/* ------------------------------------------------------------------ writer */

typedef struct {
    char *name;
    ob_dtype dt;
    int n_dims;
    int64_t shape[OB_MAX_DIMS];
    const void *data;
    size_t nbytes;
} w_entry;

struct ob_st_writer {
    w_entry *e;
    int n, cap;
    json_t *meta;
};

int ob_st_writer_new(ob_st_writer **out, ob_err *err) {
    *out = calloc(1, sizeof **out);
    if (!*out) return ob_fail(err, OB_ENOMEM, "safetensors writer: out of memory");
    return 0;
}

int ob_st_writer_add(ob_st_writer *w, const char *name, ob_dtype dt, int n_dims,
                     const int64_t *shape, const void *data, ob_err *err) {
    if (n_dims < 0 || n_dims > OB_MAX_DIMS || (unsigned)dt >= OB_DT_COUNT)
        return ob_fail(err, OB_EINVAL, "safetensors writer: tensor '%s' has a bad shape or dtype", name);
    if (w->n == w->cap) {
        int cap = w->cap ? w->cap * 2 : 64;
        w_entry *e = realloc(w->e, (size_t)cap * sizeof *e);
        if (!e) return ob_fail(err, OB_ENOMEM, "safetensors writer: out of memory");
        w->e = e;
        w->cap = cap;
    }
    w_entry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    e->dt = dt;
    e->n_dims = n_dims;
    size_t numel = 1;
    for (int i = 0; i < n_dims; i++) {
        e->shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    e->data = data;
    e->nbytes = numel * dtypes[dt].size;
    if (!e->name) return ob_fail(err, OB_ENOMEM, "safetensors writer: out of memory");
    w->n++;
    return 0;
}

int ob_st_writer_meta(ob_st_writer *w, const char *key, const char *value, ob_err *err) {
    if (!w->meta) w->meta = json_object();
    if (!w->meta || json_object_set_new(w->meta, key, json_string(value)))
        return ob_fail(err, OB_EINVAL, "safetensors writer: bad metadata '%s'", key);
    return 0;
}

int ob_st_writer_write(ob_st_writer *w, const char *path, ob_err *err) {
    json_t *root = json_object();
    size_t off = 0;
    if (w->meta) json_object_set(root, "__metadata__", w->meta);
    for (int i = 0; i < w->n; i++) {
        json_t *shape = json_array();
        for (int d = 0; d < w->e[i].n_dims; d++) json_array_append_new(shape, json_integer(w->e[i].shape[d]));
        json_t *t = json_pack("{s:s, s:o, s:[I,I]}", "dtype", dtypes[w->e[i].dt].name, "shape", shape,
                              "data_offsets", (json_int_t)off, (json_int_t)(off + w->e[i].nbytes));
        json_object_set_new(root, w->e[i].name, t);
        off += w->e[i].nbytes;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!hdr) return ob_fail(err, OB_ENOMEM, "%s: cannot encode header", path);
    size_t hlen = strlen(hdr), padded = (hlen + 7) & ~(size_t)7;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(hdr);
        return ob_fail(err, OB_EIO, "%s: cannot create", tmp);
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hdr, 1, hlen, f) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < w->n; i++)
        ok = w->e[i].nbytes == 0 || fwrite(w->e[i].data, 1, w->e[i].nbytes, f) == w->e[i].nbytes;
    free(hdr);
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return ob_fail(err, OB_EIO, "%s: write failed (disk full or not writable?)", path);
    }
    return 0;
}

void ob_st_writer_free(ob_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    json_decref(w->meta);
    free(w);
}

/* gguf.c - the GGUF reader: header, metadata, tensor table (layout in
 * gguf.h).  Every read is checked against the bytes left in the image. */
#include "formats/gguf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ggml's types by id: name, elements per block, bytes per block.  Ids ggml
 * retired (4, 5, 31-33, 36-38) have no entry. */
static const struct {
    const char *name;
    int64_t block;
    size_t size;
} ggml_types[] = {
    [0] = {"F32", 1, 4},          [1] = {"F16", 1, 2},        [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},       [6] = {"Q5_0", 32, 22},     [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},       [9] = {"Q8_1", 32, 36},     [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110},    [12] = {"Q4_K", 256, 144},  [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},    [15] = {"Q8_K", 256, 292},  [16] = {"IQ2_XXS", 256, 66},
    [17] = {"IQ2_XS", 256, 74},   [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18},    [21] = {"IQ3_S", 256, 110}, [22] = {"IQ2_S", 256, 82},
    [23] = {"IQ4_XS", 256, 136},  [24] = {"I8", 1, 1},        [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},         [27] = {"I64", 1, 8},       [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", 256, 56},    [30] = {"BF16", 1, 2},      [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66},    [39] = {"MXFP4", 32, 17},
};

const char *ob_ggml_type_info(uint32_t t, int64_t *block, size_t *type_size) {
    if (t >= sizeof ggml_types / sizeof ggml_types[0] || !ggml_types[t].name) return NULL;
    if (block) *block = ggml_types[t].block;
    if (type_size) *type_size = ggml_types[t].size;
    return ggml_types[t].name;
}

static const char *const vtype_names[OB_GGUF_NTYPES] = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                                        "bool", "string", "array", "u64", "i64", "f64"};

const char *ob_gguf_vtype_name(uint32_t vt) { return vt < OB_GGUF_NTYPES ? vtype_names[vt] : "?"; }

size_t ob_gguf_scalar_size(uint32_t vt) {
    switch (vt) {
    case OB_GGUF_U8: case OB_GGUF_I8: case OB_GGUF_BOOL: return 1;
    case OB_GGUF_U16: case OB_GGUF_I16: return 2;
    case OB_GGUF_U32: case OB_GGUF_I32: case OB_GGUF_F32: return 4;
    case OB_GGUF_U64: case OB_GGUF_I64: case OB_GGUF_F64: return 8;
    default: return 0;
    }
}

static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* ------------------------------------------------------------------ parser */

typedef struct {
    const char *name;
    const unsigned char *base;
    size_t size, pos;
    ob_err *err;
} reader;

/* "NAME: WHAT 'ID': message" with the id cut to 200 bytes. */
static int fail_at(reader *r, int code, const char *what, const char *id, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ob_fail(r->err, code, "%s: %s '%.200s': %s", r->name, what, id, msg);
}

static size_t left(const reader *r) { return r->size - r->pos; }

static int get32(reader *r, uint32_t *v) {
    if (left(r) < 4) return -1;
    *v = rd32(r->base + r->pos);
    r->pos += 4;
    return 0;
}

static int get64(reader *r, uint64_t *v) {
    if (left(r) < 8) return -1;
    *v = rd64(r->base + r->pos);
    r->pos += 8;
    return 0;
}

/* A string: *s points into the image. */
static int get_string(reader *r, const unsigned char **s, uint64_t *len) {
    if (get64(r, len) || *len > left(r)) return -1;
    *s = r->base + r->pos;
    r->pos += (size_t)*len;
    return 0;
}

/* A NUL-terminated copy of n bytes. */
static char *copy_name(const unsigned char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

enum { MAX_NESTING = 8 };

/* Validates and skips one value of type vt (a key's value or an array
 * element); key names it in messages. */
static int skip_value(reader *r, uint32_t vt, int depth, const char *key) {
    size_t sz = ob_gguf_scalar_size(vt);
    if (sz) {
        if (left(r) < sz) return fail_at(r, OB_EFORMAT, "key", key, "%s value runs past the end of the file", vtype_names[vt]);
        if (vt == OB_GGUF_BOOL && r->base[r->pos] > 1)
            return fail_at(r, OB_EFORMAT, "key", key, "bool value %u is neither 0 nor 1", r->base[r->pos]);
        r->pos += sz;
        return 0;
    }
    if (vt == OB_GGUF_STRING) {
        const unsigned char *s;
        uint64_t n;
        if (get_string(r, &s, &n)) return fail_at(r, OB_EFORMAT, "key", key, "string runs past the end of the file");
        return 0;
    }
    if (vt != OB_GGUF_ARRAY) return fail_at(r, OB_EFORMAT, "key", key, "unknown value type %u", vt);
    if (depth >= MAX_NESTING) return fail_at(r, OB_EFORMAT, "key", key, "arrays nested deeper than %d", MAX_NESTING);
    uint32_t et;
    uint64_t n;
    if (get32(r, &et) || get64(r, &n)) return fail_at(r, OB_EFORMAT, "key", key, "array header runs past the end of the file");
    if (et >= OB_GGUF_NTYPES) return fail_at(r, OB_EFORMAT, "key", key, "array of unknown value type %u", et);
    size_t esz = ob_gguf_scalar_size(et), min = esz ? esz : et == OB_GGUF_STRING ? 8 : 12;
    if (n > left(r) / min)
        return fail_at(r, OB_EFORMAT, "key", key, "array of %llu %s elements runs past the end of the file",
                       (unsigned long long)n, vtype_names[et]);
    if (esz && et != OB_GGUF_BOOL) {
        r->pos += (size_t)n * esz;
        return 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        int rc = skip_value(r, et, depth + 1, key);
        if (rc) return rc;
    }
    return 0;
}

int ob_gguf_check_value(const char *file, const char *key, uint32_t vt, const void *bytes, size_t n,
                        ob_err *err) {
    reader r = {file, bytes, n, 0, err};
    int rc = skip_value(&r, vt, 0, key);
    if (!rc && r.pos != n)
        rc = fail_at(&r, OB_EFORMAT, "key", key, "%zu bytes left after the %s value", n - r.pos, ob_gguf_vtype_name(vt));
    return rc;
}

static int parse_kv(reader *r, size_t i, ob_gguf_kv *kv) {
    const unsigned char *s;
    uint64_t n;
    if (get_string(r, &s, &n))
        return ob_fail(r->err, OB_EFORMAT, "%s: key #%zu: name runs past the end of the file", r->name, i);
    if (n == 0 || n > 65535)
        return ob_fail(r->err, OB_EFORMAT, "%s: key #%zu: name length %llu is outside 1..65535", r->name, i,
                       (unsigned long long)n);
    if (memchr(s, 0, (size_t)n)) return ob_fail(r->err, OB_EFORMAT, "%s: key #%zu: name contains a NUL byte", r->name, i);
    if (!(kv->key = copy_name(s, (size_t)n))) return ob_fail(r->err, OB_ENOMEM, "%s: out of memory", r->name);
    if (get32(r, &kv->type)) return fail_at(r, OB_EFORMAT, "key", kv->key, "value type runs past the end of the file");
    size_t start = r->pos;
    if (kv->type == OB_GGUF_ARRAY && left(r) >= 12) {
        kv->elem_type = rd32(r->base + r->pos);
        kv->n = rd64(r->base + r->pos + 4);
        start += 12;
    } else if (kv->type == OB_GGUF_STRING && left(r) >= 8) {
        kv->n = rd64(r->base + r->pos);
        start += 8;
    }
    int rc = skip_value(r, kv->type, 0, kv->key);
    if (rc) return rc;
    kv->data = r->base + start;
    kv->nbytes = r->pos - start;
    return 0;
}

static int parse_tensor_info(reader *r, size_t i, ob_gguf_tensor *t) {
    const unsigned char *s;
    uint64_t n;
    if (get_string(r, &s, &n))
        return ob_fail(r->err, OB_EFORMAT, "%s: tensor #%zu: name runs past the end of the file", r->name, i);
    if (n == 0 || n > 64)
        return ob_fail(r->err, OB_EFORMAT, "%s: tensor #%zu: name length %llu is outside 1..64", r->name, i,
                       (unsigned long long)n);
    if (memchr(s, 0, (size_t)n)) return ob_fail(r->err, OB_EFORMAT, "%s: tensor #%zu: name contains a NUL byte", r->name, i);
    if (!(t->name = copy_name(s, (size_t)n))) return ob_fail(r->err, OB_ENOMEM, "%s: out of memory", r->name);
    uint32_t nd;
    if (get32(r, &nd)) return fail_at(r, OB_EFORMAT, "tensor", t->name, "dimensions run past the end of the file");
    if (nd > OB_GGUF_MAX_DIMS) return fail_at(r, OB_EFORMAT, "tensor", t->name, "%u dimensions (at most 4)", nd);
    t->n_dims = (int)nd;
    for (int d = 0; d < OB_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        uint64_t v;
        if (get64(r, &v)) return fail_at(r, OB_EFORMAT, "tensor", t->name, "dimensions run past the end of the file");
        if (v > INT64_MAX) return fail_at(r, OB_EFORMAT, "tensor", t->name, "dimension %u is %llu", d, (unsigned long long)v);
        t->ne[d] = (int64_t)v;
    }
    if (get32(r, &t->type) || get64(r, &t->offset))
        return fail_at(r, OB_EFORMAT, "tensor", t->name, "type and offset run past the end of the file");
    return 0;
}

/* Checks type, shape, alignment and bounds; sets numel, nbytes and data. */
static int place_tensor(reader *r, const ob_gguf *g, ob_gguf_tensor *t) {
    int64_t block;
    size_t tsize;
    const char *tname = ob_ggml_type_info(t->type, &block, &tsize);
    if (!tname) return fail_at(r, OB_EFORMAT, "tensor", t->name, "unknown ggml type id %u", t->type);
    int64_t numel = 1;
    for (int d = 0; d < t->n_dims; d++) {
        if (t->ne[d] && numel > INT64_MAX / t->ne[d])
            return fail_at(r, OB_EFORMAT, "tensor", t->name, "shape overflows (dimension %d is %lld)", d, (long long)t->ne[d]);
        numel *= t->ne[d];
    }
    if (t->ne[0] % block)
        return fail_at(r, OB_EFORMAT, "tensor", t->name, "row of %lld elements is not a multiple of the %s block size %lld",
                       (long long)t->ne[0], tname, (long long)block);
    uint64_t blocks = (uint64_t)(numel / block);
    if (blocks > SIZE_MAX / tsize) return fail_at(r, OB_EFORMAT, "tensor", t->name, "size overflows");
    t->numel = numel;
    t->nbytes = (size_t)blocks * tsize;
    if (t->offset % g->alignment)
        return fail_at(r, OB_EFORMAT, "tensor", t->name, "data offset %llu is not a multiple of the alignment %u",
                       (unsigned long long)t->offset, g->alignment);
    size_t avail = r->size - g->data_offset;
    if (t->offset > avail || t->nbytes > avail - t->offset)
        return fail_at(r, OB_EFORMAT, "tensor", t->name,
                       "data [%llu, +%zu) lies past the end of the file (%zu data bytes)",
                       (unsigned long long)t->offset, t->nbytes, avail);
    t->data = r->base + g->data_offset + t->offset;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The first name that appears twice in names[0..n), or NULL. */
static const char *find_duplicate(char **names, size_t n, int *oom) {
    *oom = 0;
    if (n < 2) return NULL;
    char **s = malloc(n * sizeof *s);
    if (!s) {
        *oom = 1;
        return NULL;
    }
    memcpy(s, names, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_str);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (!strcmp(s[i - 1], s[i])) dup = s[i];
    free(s);
    return dup;
}

static int check_unique(reader *r, ob_gguf *g) {
    size_t n = g->n_kv > g->n_tensors ? g->n_kv : g->n_tensors;
    char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names) return ob_fail(r->err, OB_ENOMEM, "%s: out of memory", r->name);
    int oom, rc = 0;
    for (size_t i = 0; i < g->n_kv; i++) names[i] = g->kv[i].key;
    const char *dup = find_duplicate(names, g->n_kv, &oom);
    if (dup) rc = fail_at(r, OB_EFORMAT, "key", dup, "appears twice");
    if (!rc && !oom) {
        for (size_t i = 0; i < g->n_tensors; i++) names[i] = g->tensors[i].name;
        dup = find_duplicate(names, g->n_tensors, &oom);
        if (dup) rc = fail_at(r, OB_EFORMAT, "tensor", dup, "appears twice");
    }
    free(names);
    if (!rc && oom) rc = ob_fail(r->err, OB_ENOMEM, "%s: out of memory", r->name);
    return rc;
}

static int parse_header(reader *r, ob_gguf *g, uint64_t *n_tensors, uint64_t *n_kv) {
    if (r->size < 4 || memcmp(r->base, OB_GGUF_MAGIC, 4))
        return ob_fail(r->err, OB_EFORMAT, "%s: not a GGUF file (no \"GGUF\" magic)", r->name);
    if (r->size < 24) return ob_fail(r->err, OB_EFORMAT, "%s: truncated GGUF header (%zu bytes)", r->name, r->size);
    g->version = rd32(r->base + 4);
    if (g->version == 1)
        return ob_fail(r->err, OB_EUNSUP, "%s: GGUF version 1 is not supported (only 2 and 3)", r->name);
    if (g->version == 0x02000000u || g->version == 0x03000000u)
        return ob_fail(r->err, OB_EUNSUP, "%s: a big-endian GGUF file is not supported", r->name);
    if (g->version != 2 && g->version != 3)
        return ob_fail(r->err, OB_EFORMAT, "%s: unknown GGUF version %u", r->name, g->version);
    *n_tensors = rd64(r->base + 8);
    *n_kv = rd64(r->base + 16);
    r->pos = 24;
    /* a tensor description takes at least 24 bytes, a key/value 14 */
    if (*n_tensors > left(r) / 24 || *n_kv > left(r) / 14)
        return ob_fail(r->err, OB_EFORMAT, "%s: header claims %llu tensors and %llu keys, more than the file can hold",
                       r->name, (unsigned long long)*n_tensors, (unsigned long long)*n_kv);
    return 0;
}

static int parse_alignment(reader *r, ob_gguf *g) {
    g->alignment = OB_GGUF_DEFAULT_ALIGNMENT;
    const ob_gguf_kv *kv = ob_gguf_find(g, "general.alignment");
    if (!kv) return 0;
    if (kv->type != OB_GGUF_U32)
        return fail_at(r, OB_EFORMAT, "key", kv->key, "is %s, expected u32", vtype_names[kv->type]);
    uint32_t a = rd32(kv->data);
    if (a == 0 || (a & (a - 1)) || a > (1u << 24))
        return fail_at(r, OB_EFORMAT, "key", kv->key, "alignment %u is not a power of two up to 2^24", a);
    g->alignment = a;
    return 0;
}

int ob_gguf_parse(const char *name, const unsigned char *data, size_t size, ob_gguf *out, ob_err *err) {
    memset(out, 0, sizeof *out);
    reader r = {name, data, size, 0, err};
    uint64_t n_tensors = 0, n_kv = 0;
    int rc = parse_header(&r, out, &n_tensors, &n_kv);
    if (rc) return rc;
    out->path = strdup(name);
    out->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof *out->kv);
    out->tensors = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *out->tensors);
    if (!out->path || !out->kv || !out->tensors) rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", name);
    for (size_t i = 0; !rc && i < n_kv; i++) {
        rc = parse_kv(&r, i, &out->kv[i]);
        out->n_kv = i + 1; /* so that clear frees a partial key */
    }
    if (!rc) rc = parse_alignment(&r, out);
    for (size_t i = 0; !rc && i < n_tensors; i++) {
        rc = parse_tensor_info(&r, i, &out->tensors[i]);
        out->n_tensors = i + 1;
    }
    if (!rc) {
        size_t a = out->alignment, pad = (a - r.pos % a) % a;
        out->data_offset = r.pos + pad;
        if (n_tensors && pad > left(&r))
            rc = ob_fail(err, OB_EFORMAT, "%s: the tensor data section would start past the end of the file", name);
    }
    for (size_t i = 0; !rc && i < out->n_tensors; i++) rc = place_tensor(&r, out, &out->tensors[i]);
    if (!rc) rc = check_unique(&r, out);
    if (rc) ob_gguf_clear(out);
    return rc;
}

void ob_gguf_clear(ob_gguf *g) {
    for (size_t i = 0; i < g->n_kv; i++) free(g->kv[i].key);
    for (size_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    free(g->path);
    g->kv = NULL;
    g->tensors = NULL;
    g->path = NULL;
    g->n_kv = g->n_tensors = 0;
}

int ob_gguf_open(const char *path, int use_mmap, ob_gguf **out, ob_err *err) {
    *out = NULL;
    ob_gguf *g = calloc(1, sizeof *g);
    if (!g) return ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    ob_mapfile mf;
    int rc = ob_mapfile_open(path, use_mmap, &mf, err);
    if (!rc) rc = ob_gguf_parse(path, mf.data, mf.size, g, err);
    g->file = mf;
    if (rc) {
        ob_gguf_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

void ob_gguf_close(ob_gguf *g) {
    if (!g) return;
    ob_gguf_clear(g);
    ob_mapfile_close(&g->file);
    free(g);
}

int ob_gguf_sniff(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char m[4];
    int ok = fread(m, 1, 4, f) == 4 && !memcmp(m, OB_GGUF_MAGIC, 4);
    fclose(f);
    return ok;
}

/* ----------------------------------------------------------------- lookups */

const ob_gguf_kv *ob_gguf_find(const ob_gguf *g, const char *key) {
    for (size_t i = 0; i < g->n_kv; i++)
        if (!strcmp(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const ob_gguf_tensor *ob_gguf_find_tensor(const ob_gguf *g, const char *name) {
    for (size_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

/* The kv of key, or NULL after an error naming it. */
static const ob_gguf_kv *need_kv(const ob_gguf *g, const char *key, ob_err *err) {
    const ob_gguf_kv *kv = ob_gguf_find(g, key);
    if (!kv) ob_fail(err, OB_EFORMAT, "%s: key '%s': missing", g->path, key);
    return kv;
}

static int wrong_type(const ob_gguf *g, const ob_gguf_kv *kv, const char *want, ob_err *err) {
    return ob_fail(err, OB_EFORMAT, "%s: key '%s': is %s, expected %s", g->path, kv->key, ob_gguf_vtype_name(kv->type),
                   want);
}

int ob_gguf_get_int(const ob_gguf *g, const char *key, int64_t lo, int64_t hi, int64_t *out, ob_err *err) {
    const ob_gguf_kv *kv = need_kv(g, key, err);
    if (!kv) return OB_EFORMAT;
    const unsigned char *p = kv->data;
    int64_t v;
    switch (kv->type) {
    case OB_GGUF_U8: v = p[0]; break;
    case OB_GGUF_I8: v = (int8_t)p[0]; break;
    case OB_GGUF_U16: v = (int64_t)(p[0] | p[1] << 8); break;
    case OB_GGUF_I16: v = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
    case OB_GGUF_U32: v = rd32(p); break;
    case OB_GGUF_I32: v = (int32_t)rd32(p); break;
    case OB_GGUF_I64: v = (int64_t)rd64(p); break;
    case OB_GGUF_U64:
        if (rd64(p) > INT64_MAX)
            return ob_fail(err, OB_EFORMAT, "%s: key '%s': value %llu is too large", g->path, key,
                           (unsigned long long)rd64(p));
        v = (int64_t)rd64(p);
        break;
    default: return wrong_type(g, kv, "an integer", err);
    }
    if (v < lo || v > hi)
        return ob_fail(err, OB_EFORMAT, "%s: key '%s': value %lld is outside [%lld, %lld]", g->path, key, (long long)v,
                       (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

int ob_gguf_get_float(const ob_gguf *g, const char *key, double *out, ob_err *err) {
    const ob_gguf_kv *kv = need_kv(g, key, err);
    if (!kv) return OB_EFORMAT;
    if (kv->type == OB_GGUF_F32) {
        uint32_t u = rd32(kv->data);
        float f;
        memcpy(&f, &u, 4);
        *out = f;
        return 0;
    }
    if (kv->type == OB_GGUF_F64) {
        uint64_t u = rd64(kv->data);
        memcpy(out, &u, 8);
        return 0;
    }
    int64_t v;
    if (ob_gguf_scalar_size(kv->type) && kv->type != OB_GGUF_BOOL && !ob_gguf_get_int(g, key, INT64_MIN, INT64_MAX, &v, err)) {
        *out = (double)v;
        return 0;
    }
    return wrong_type(g, kv, "a number", err);
}

int ob_gguf_get_bool(const ob_gguf *g, const char *key, int *out, ob_err *err) {
    const ob_gguf_kv *kv = need_kv(g, key, err);
    if (!kv) return OB_EFORMAT;
    if (kv->type != OB_GGUF_BOOL) return wrong_type(g, kv, "bool", err);
    *out = kv->data[0];
    return 0;
}

int ob_gguf_get_str(const ob_gguf *g, const char *key, const char **s, size_t *len, ob_err *err) {
    const ob_gguf_kv *kv = need_kv(g, key, err);
    if (!kv) return OB_EFORMAT;
    if (kv->type != OB_GGUF_STRING) return wrong_type(g, kv, "string", err);
    *s = (const char *)kv->data;
    *len = (size_t)kv->n;
    return 0;
}

int ob_gguf_get_array(const ob_gguf *g, const char *key, uint32_t elem_type, int64_t n,
                      const unsigned char **elems, uint64_t *count, ob_err *err) {
    const ob_gguf_kv *kv = need_kv(g, key, err);
    if (!kv) return OB_EFORMAT;
    if (kv->type != OB_GGUF_ARRAY || kv->elem_type != elem_type) {
        char want[32];
        snprintf(want, sizeof want, "an array of %s", ob_gguf_vtype_name(elem_type));
        if (kv->type == OB_GGUF_ARRAY)
            return ob_fail(err, OB_EFORMAT, "%s: key '%s': is an array of %s, expected %s", g->path, key,
                           ob_gguf_vtype_name(kv->elem_type), want);
        return wrong_type(g, kv, want, err);
    }
    if (n >= 0 && kv->n != (uint64_t)n)
        return ob_fail(err, OB_EFORMAT, "%s: key '%s': has %llu elements, expected %lld", g->path, key,
                       (unsigned long long)kv->n, (long long)n);
    *elems = kv->data;
    if (count) *count = kv->n;
    return 0;
}

void ob_gguf_str_iter_init(ob_gguf_str_iter *it, const unsigned char *elems, uint64_t count) {
    it->p = elems;
    it->left = count;
}

int ob_gguf_str_next(ob_gguf_str_iter *it, const char **s, size_t *len) {
    if (!it->left) return 0;
    uint64_t n = rd64(it->p);
    *s = (const char *)it->p + 8;
    *len = (size_t)n;
    it->p += 8 + n;
    it->left--;
    return 1;
}

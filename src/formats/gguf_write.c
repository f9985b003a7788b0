/* gguf_write.c - the GGUF writer (layout in gguf.h).  Metadata is encoded
 * into one growing buffer as keys are added; tensors are kept as borrowed
 * byte ranges and laid out, aligned, when the file is written.  The host is
 * little-endian (x86-64, aarch64), so scalars are copied as they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/gguf.h"

typedef struct {
    char *name;
    uint32_t type;
    int n_dims;
    int64_t ne[OB_GGUF_MAX_DIMS];
    const void *data;
    size_t nbytes;
} w_tensor;

struct ob_gguf_writer {
    uint32_t alignment;
    unsigned char *meta;
    size_t meta_len, meta_cap;
    char **keys;
    size_t n_kv, cap_kv;
    w_tensor *t;
    size_t n_t, cap_t;
    void **bufs;
    size_t n_bufs, cap_bufs;
};

/* Grows *p (of *cap elements of size es) to hold at least need. */
static int grow(void **p, size_t *cap, size_t need, size_t es) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * es);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int put(ob_gguf_writer *w, const void *p, size_t n) {
    if (grow((void **)&w->meta, &w->meta_cap, w->meta_len + n, 1)) return -1;
    if (n) memcpy(w->meta + w->meta_len, p, n);
    w->meta_len += n;
    return 0;
}
static int put32(ob_gguf_writer *w, uint32_t v) { return put(w, &v, 4); }
static int put64(ob_gguf_writer *w, uint64_t v) { return put(w, &v, 8); }
static int put_str(ob_gguf_writer *w, const char *s, size_t n) { return put64(w, n) || put(w, s, n); }

static int oom(ob_err *err) { return ob_fail(err, OB_ENOMEM, "gguf writer: out of memory"); }

/* Checks the key and writes it with the value type; the value follows. */
static int begin_kv(ob_gguf_writer *w, const char *key, uint32_t vt, ob_err *err) {
    size_t n = strlen(key);
    if (n == 0 || n > 65535) return ob_fail(err, OB_EINVAL, "gguf writer: key '%.200s' has length %zu", key, n);
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->keys[i], key)) return ob_fail(err, OB_EINVAL, "gguf writer: key '%.200s' added twice", key);
    if (grow((void **)&w->keys, &w->cap_kv, w->n_kv + 1, sizeof *w->keys)) return oom(err);
    if (!(w->keys[w->n_kv] = strdup(key))) return oom(err);
    w->n_kv++;
    return put_str(w, key, n) || put32(w, vt) ? oom(err) : 0;
}

int ob_gguf_writer_new(uint32_t alignment, ob_gguf_writer **out, ob_err *err) {
    *out = NULL;
    if (alignment < 8 || (alignment & (alignment - 1)) || alignment > (1u << 24))
        return ob_fail(err, OB_EINVAL, "gguf writer: alignment %u is not a power of two from 8 to 2^24", alignment);
    ob_gguf_writer *w = calloc(1, sizeof *w);
    if (!w) return oom(err);
    w->alignment = alignment;
    int rc = ob_gguf_writer_u32(w, "general.alignment", alignment, err);
    if (rc) {
        ob_gguf_writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void ob_gguf_writer_free(ob_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    for (size_t i = 0; i < w->n_bufs; i++) free(w->bufs[i]);
    free(w->keys);
    free(w->t);
    free(w->bufs);
    free(w->meta);
    free(w);
}

void *ob_gguf_writer_alloc(ob_gguf_writer *w, size_t size) {
    if (grow((void **)&w->bufs, &w->cap_bufs, w->n_bufs + 1, sizeof *w->bufs)) return NULL;
    void *p = malloc(size ? size : 1);
    if (p) w->bufs[w->n_bufs++] = p;
    return p;
}

/* 0 if the n bools at p are all 0 or 1. */
static int bad_bools(const unsigned char *p, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i] > 1) return 1;
    return 0;
}

int ob_gguf_writer_scalar(ob_gguf_writer *w, const char *key, uint32_t vt, const void *value, ob_err *err) {
    size_t sz = ob_gguf_scalar_size(vt);
    if (!sz) return ob_fail(err, OB_EINVAL, "gguf writer: key '%.200s': type %u is not a scalar", key, vt);
    if (vt == OB_GGUF_BOOL && bad_bools(value, 1))
        return ob_fail(err, OB_EINVAL, "gguf writer: key '%.200s': bool must be 0 or 1", key);
    int rc = begin_kv(w, key, vt, err);
    return rc ? rc : put(w, value, sz) ? oom(err) : 0;
}

int ob_gguf_writer_u32(ob_gguf_writer *w, const char *key, uint32_t v, ob_err *err) {
    return ob_gguf_writer_scalar(w, key, OB_GGUF_U32, &v, err);
}

int ob_gguf_writer_f32(ob_gguf_writer *w, const char *key, float v, ob_err *err) {
    return ob_gguf_writer_scalar(w, key, OB_GGUF_F32, &v, err);
}

int ob_gguf_writer_bool(ob_gguf_writer *w, const char *key, int v, ob_err *err) {
    uint8_t b = v != 0;
    return ob_gguf_writer_scalar(w, key, OB_GGUF_BOOL, &b, err);
}

int ob_gguf_writer_str(ob_gguf_writer *w, const char *key, const char *s, size_t len, ob_err *err) {
    int rc = begin_kv(w, key, OB_GGUF_STRING, err);
    return rc ? rc : put_str(w, s, len) ? oom(err) : 0;
}

int ob_gguf_writer_array(ob_gguf_writer *w, const char *key, uint32_t vt, const void *elems, uint64_t n,
                         ob_err *err) {
    size_t sz = ob_gguf_scalar_size(vt);
    if (!sz) return ob_fail(err, OB_EINVAL, "gguf writer: key '%.200s': type %u is not a scalar", key, vt);
    if (n > SIZE_MAX / sz) return ob_fail(err, OB_EINVAL, "gguf writer: key '%.200s': array too long", key);
    if (vt == OB_GGUF_BOOL && bad_bools(elems, n))
        return ob_fail(err, OB_EINVAL, "gguf writer: key '%.200s': bool must be 0 or 1", key);
    int rc = begin_kv(w, key, OB_GGUF_ARRAY, err);
    if (rc) return rc;
    return put32(w, vt) || put64(w, n) || put(w, elems, (size_t)n * sz) ? oom(err) : 0;
}

int ob_gguf_writer_str_array(ob_gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                             uint64_t n, ob_err *err) {
    int rc = begin_kv(w, key, OB_GGUF_ARRAY, err);
    if (rc) return rc;
    if (put32(w, OB_GGUF_STRING) || put64(w, n)) return oom(err);
    for (uint64_t i = 0; i < n; i++)
        if (put_str(w, strs[i], lens ? lens[i] : strlen(strs[i]))) return oom(err);
    return 0;
}

int ob_gguf_writer_raw(ob_gguf_writer *w, const char *key, uint32_t vt, const void *bytes, size_t n, ob_err *err) {
    int rc = ob_gguf_check_value("gguf writer", key, vt, bytes, n, err);
    if (!rc) rc = begin_kv(w, key, vt, err);
    return rc ? rc : put(w, bytes, n) ? oom(err) : 0;
}

int ob_gguf_writer_copy_kv(ob_gguf_writer *w, const ob_gguf_kv *kv, ob_err *err) {
    /* kv->data skips an array's element type and count, a string's length */
    size_t hdr = kv->type == OB_GGUF_ARRAY ? 12 : kv->type == OB_GGUF_STRING ? 8 : 0;
    return ob_gguf_writer_raw(w, kv->key, kv->type, kv->data - hdr, kv->nbytes + hdr, err);
}

int ob_gguf_writer_tensor(ob_gguf_writer *w, const char *name, uint32_t type, int n_dims, const int64_t *ne,
                          const void *data, size_t nbytes, ob_err *err) {
    size_t len = strlen(name);
    if (len == 0 || len > 63) return ob_fail(err, OB_EINVAL, "gguf writer: tensor '%.200s': name length %zu is outside 1..63", name, len);
    int64_t block;
    size_t tsize;
    const char *tname = ob_ggml_type_info(type, &block, &tsize);
    if (!tname) return ob_fail(err, OB_EINVAL, "gguf writer: tensor '%s': unknown ggml type id %u", name, type);
    if (n_dims < 1 || n_dims > OB_GGUF_MAX_DIMS)
        return ob_fail(err, OB_EINVAL, "gguf writer: tensor '%s': %d dimensions", name, n_dims);
    int64_t numel = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 0 || (ne[d] && numel > INT64_MAX / ne[d]))
            return ob_fail(err, OB_EINVAL, "gguf writer: tensor '%s': bad shape", name);
        numel *= ne[d];
    }
    if (ne[0] % block)
        return ob_fail(err, OB_EINVAL, "gguf writer: tensor '%s': row of %lld is not a multiple of the %s block %lld", name,
                       (long long)ne[0], tname, (long long)block);
    if ((uint64_t)(numel / block) * tsize != nbytes)
        return ob_fail(err, OB_EINVAL, "gguf writer: tensor '%s': %zu bytes, but %s of this shape needs %llu", name, nbytes,
                       tname, (unsigned long long)((uint64_t)(numel / block) * tsize));
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return ob_fail(err, OB_EINVAL, "gguf writer: tensor '%s' added twice", name);
    if (grow((void **)&w->t, &w->cap_t, w->n_t + 1, sizeof *w->t)) return oom(err);
    w_tensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return oom(err);
    t->type = type;
    t->n_dims = n_dims;
    memcpy(t->ne, ne, (size_t)n_dims * sizeof *ne);
    t->data = data;
    t->nbytes = nbytes;
    w->n_t++;
    return 0;
}

static uint64_t align_up(uint64_t x, uint32_t a) { return (x + a - 1) / a * a; }

/* Writes n zero bytes. */
static int zeros(FILE *f, size_t n) {
    static const unsigned char z[64];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        if (fwrite(z, 1, k, f) != k) return -1;
        n -= k;
    }
    return 0;
}

/* Header, metadata, tensor table, padding, data. */
static int write_all(ob_gguf_writer *w, FILE *f) {
    uint32_t version = 3;
    uint64_t nt = w->n_t, nkv = w->n_kv, pos = 24 + w->meta_len, off = 0;
    if (fwrite(OB_GGUF_MAGIC, 1, 4, f) != 4 || fwrite(&version, 4, 1, f) != 1 || fwrite(&nt, 8, 1, f) != 1 ||
        fwrite(&nkv, 8, 1, f) != 1 || fwrite(w->meta, 1, w->meta_len, f) != w->meta_len)
        return -1;
    for (size_t i = 0; i < w->n_t; i++) {
        const w_tensor *t = &w->t[i];
        uint64_t len = strlen(t->name), ne;
        uint32_t nd = (uint32_t)t->n_dims;
        if (fwrite(&len, 8, 1, f) != 1 || fwrite(t->name, 1, len, f) != len || fwrite(&nd, 4, 1, f) != 1) return -1;
        for (int d = 0; d < t->n_dims; d++)
            if ((ne = (uint64_t)t->ne[d]), fwrite(&ne, 8, 1, f) != 1) return -1;
        if (fwrite(&t->type, 4, 1, f) != 1 || fwrite(&off, 8, 1, f) != 1) return -1;
        pos += 8 + len + 4 + 8 * (uint64_t)t->n_dims + 4 + 8;
        off = align_up(off + t->nbytes, w->alignment);
    }
    if (zeros(f, (size_t)(align_up(pos, w->alignment) - pos))) return -1;
    for (size_t i = 0; i < w->n_t; i++) {
        const w_tensor *t = &w->t[i];
        if (t->nbytes && fwrite(t->data, 1, t->nbytes, f) != t->nbytes) return -1;
        if (zeros(f, (size_t)(align_up(t->nbytes, w->alignment) - t->nbytes))) return -1;
    }
    return 0;
}

int ob_gguf_writer_write(ob_gguf_writer *w, const char *path, ob_err *err) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return ob_fail(err, OB_EINVAL, "%.200s...: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return ob_fail(err, OB_EIO, "%s: cannot create", tmp);
    int ok = write_all(w, f) == 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return ob_fail(err, OB_EIO, "%s: write failed (disk full or not writable?)", path);
    }
    return 0;
}

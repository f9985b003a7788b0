/* gguf.h - reading and writing GGUF (versions 2 and 3), llama.cpp's format.
 *
 * A GGUF file is a header, typed key/value metadata, a table of tensor
 * descriptions, then the tensor data, every tensor starting at a multiple
 * of the alignment (the uint32 key "general.alignment", 32 when absent).
 * All numbers are little-endian.  Strings are a uint64 byte count followed
 * by that many bytes of UTF-8, with no NUL.
 *
 *   offset 0  +------------------------------------------------------------+
 *             | "GGUF" | u32 version (2, 3) | u64 n_tensors | u64 n_kv     |
 *             +------------------------------------------------------------+
 *             | n_kv times:  string key | u32 value type | value          |
 *             |   value: the scalar, a string, or an array:               |
 *             |          u32 element type | u64 count | count elements   |
 *             +------------------------------------------------------------+
 *             | n_tensors times: string name | u32 n_dims (1..4)          |
 *             |   | u64 ne[n_dims] (ne[0] varies fastest: a row)          |
 *             |   | u32 ggml type | u64 offset (into the data section)    |
 *             +------------------------------------------------------------+
 *             | zero padding up to a multiple of the alignment             |
 * data_offset +------------------------------------------------------------+
 *             | tensor bytes at data_offset + offset, each zero-padded to  |
 *             | the alignment; a matrix of shape (rows, cols) is stored    |
 *             | with ne = [cols, rows], row after row                      |
 *             +------------------------------------------------------------+
 *
 * Value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool (one
 * byte, 0 or 1), 8 string, 9 array (arrays may nest), 10 u64, 11 i64,
 * 12 f64.  Version 1 (32-bit counts) is refused.
 *
 * Tensor types are ggml's ids.  A type packs `block` elements into
 * `type_size` bytes, so a row of ne[0] elements (a multiple of block) takes
 * ne[0] / block * type_size bytes.  The blocks optibench knows byte for byte:
 *   F32  (0)  block 1,  4 bytes   F16 (1) block 1, 2 bytes (IEEE half)
 *   BF16 (30) block 1,  2 bytes   (the top half of a float32)
 *   Q8_0 (8)  block 32, 34 bytes: f16 scale d, then 32 int8 q; x = d*q
 *   Q4_0 (2)  block 32, 18 bytes: f16 d, then 16 bytes; byte j holds
 *             element j in its low nibble and element j+16 in its high
 *             nibble; x = d * (nibble - 8)
 *   Q4_1 (3)  block 32, 20 bytes: f16 d, f16 m, 16 bytes as Q4_0;
 *             x = d * nibble + m
 * The reader knows the sizes of every other type ggml defines (K-quants,
 * IQ types, ...) so it can validate and skip them; loading them into a
 * model is refused with a message naming the tensor and type.
 *
 * The reader works over a mapped file: keys and tensor names are copied
 * (NUL-terminated), but values and tensor data point into the mapping and
 * stay valid until ob_gguf_close.  Every count, length and offset is
 * checked against the file size before use (with overflow-safe arithmetic),
 * so a corrupt file gives a one-line error naming the file and the key or
 * tensor ("m.gguf: tensor 'blk.3.attn_q.weight': data ... past the end"),
 * never a crash. */
#ifndef OB_FORMATS_GGUF_H
#define OB_FORMATS_GGUF_H
#include <stddef.h>
#include <stdint.h>

#include "core/mapfile.h"
#include "optibench.h"

enum {
    OB_GGUF_U8 = 0, OB_GGUF_I8 = 1, OB_GGUF_U16 = 2, OB_GGUF_I16 = 3, OB_GGUF_U32 = 4,
    OB_GGUF_I32 = 5, OB_GGUF_F32 = 6, OB_GGUF_BOOL = 7, OB_GGUF_STRING = 8, OB_GGUF_ARRAY = 9,
    OB_GGUF_U64 = 10, OB_GGUF_I64 = 11, OB_GGUF_F64 = 12, OB_GGUF_NTYPES = 13
};

/* ggml tensor type ids (the ones optibench reads or writes by name). */
enum {
    OB_GGML_F32 = 0, OB_GGML_F16 = 1, OB_GGML_Q4_0 = 2, OB_GGML_Q4_1 = 3, OB_GGML_Q8_0 = 8,
    OB_GGML_BF16 = 30
};

#define OB_GGUF_MAGIC "GGUF"
#define OB_GGUF_DEFAULT_ALIGNMENT 32
#define OB_GGUF_MAX_DIMS 4

/* The name of ggml type id t ("Q8_0"), or NULL for an id ggml does not
 * define (or no longer allows in files).  *block and *type_size receive
 * its block geometry when the name is not NULL. */
const char *ob_ggml_type_info(uint32_t t, int64_t *block, size_t *type_size);
/* The name of value type vt ("u32", "array"), "?" if unknown. */
const char *ob_gguf_vtype_name(uint32_t vt);
/* Bytes of one scalar of value type vt; 0 for strings, arrays, unknown. */
size_t ob_gguf_scalar_size(uint32_t vt);
/* Checks that bytes[0..n) hold exactly one well-formed value of type vt
 * (what follows the type field of a key); errors name file and key. */
int ob_gguf_check_value(const char *file, const char *key, uint32_t vt, const void *bytes, size_t n,
                        ob_err *err);

typedef struct ob_gguf_kv {
    char *key;                 /* NUL-terminated copy                          */
    uint32_t type;             /* OB_GGUF_*                                    */
    uint32_t elem_type;        /* arrays: the element type                     */
    uint64_t n;                /* arrays: element count; strings: byte length  */
    const unsigned char *data; /* the value (arrays: the first element)        */
    size_t nbytes;             /* bytes of the value from data on              */
} ob_gguf_kv;

typedef struct ob_gguf_tensor {
    char *name;                /* NUL-terminated copy                          */
    uint32_t type;             /* ggml type id                                 */
    int n_dims;
    int64_t ne[OB_GGUF_MAX_DIMS]; /* ne[0] varies fastest; unused dims are 1   */
    int64_t numel;
    uint64_t offset;           /* into the data section                        */
    const void *data;          /* into the mapping                             */
    size_t nbytes;
} ob_gguf_tensor;

typedef struct ob_gguf {
    char *path;                /* for messages                                 */
    ob_mapfile file;           /* ob_gguf_open only                            */
    uint32_t version;
    uint32_t alignment;
    size_t data_offset;        /* start of the data section in the file        */
    ob_gguf_kv *kv;
    size_t n_kv;
    ob_gguf_tensor *tensors;
    size_t n_tensors;
} ob_gguf;

/* 1 if the first bytes of path are the GGUF magic. */
int ob_gguf_sniff(const char *path);
/* Parses an in-memory image; data must outlive the result.  name is used
 * in messages (and copied).  On failure nothing is left allocated. */
int ob_gguf_parse(const char *name, const unsigned char *data, size_t size, ob_gguf *out,
                  ob_err *err);
/* Releases what ob_gguf_parse allocated (not the data). */
void ob_gguf_clear(ob_gguf *g);
int ob_gguf_open(const char *path, int use_mmap, ob_gguf **out, ob_err *err);
void ob_gguf_close(ob_gguf *g);

const ob_gguf_kv *ob_gguf_find(const ob_gguf *g, const char *key);
const ob_gguf_tensor *ob_gguf_find_tensor(const ob_gguf *g, const char *name);

/* Typed getters.  A missing key or a value of the wrong kind fails with
 * OB_EFORMAT and "FILE: key 'K': ..." (use ob_gguf_find first for optional
 * keys).  get_int accepts any integer type and checks [lo, hi]; get_float
 * accepts f32, f64 and integers. */
int ob_gguf_get_int(const ob_gguf *g, const char *key, int64_t lo, int64_t hi, int64_t *out,
                    ob_err *err);
int ob_gguf_get_float(const ob_gguf *g, const char *key, double *out, ob_err *err);
int ob_gguf_get_bool(const ob_gguf *g, const char *key, int *out, ob_err *err);
/* The string's bytes (not NUL-terminated) and length. */
int ob_gguf_get_str(const ob_gguf *g, const char *key, const char **s, size_t *len, ob_err *err);
/* An array of elem_type with exactly n elements (n < 0: any count; *count
 * receives it).  *elems points at the first element, packed. */
int ob_gguf_get_array(const ob_gguf *g, const char *key, uint32_t elem_type, int64_t n,
                      const unsigned char **elems, uint64_t *count, ob_err *err);

/* Walking an array of strings (already validated by the parser). */
typedef struct ob_gguf_str_iter {
    const unsigned char *p;
    uint64_t left;
} ob_gguf_str_iter;
void ob_gguf_str_iter_init(ob_gguf_str_iter *it, const unsigned char *elems, uint64_t count);
/* The next string; 0 at the end. */
int ob_gguf_str_next(ob_gguf_str_iter *it, const char **s, size_t *len);

/* ------------------------------------------------------------------ writer
 *
 * Metadata is encoded as it is added; tensors are already-encoded bytes of
 * a ggml type (any type in the table, so quantized tensors need no new
 * API), borrowed until ob_gguf_writer_write (or allocated from the writer
 * with ob_gguf_writer_alloc).  The file is written as version 3 with
 * "general.alignment" = alignment first, to path.tmp, then renamed. */
typedef struct ob_gguf_writer ob_gguf_writer;
int ob_gguf_writer_new(uint32_t alignment, ob_gguf_writer **out, ob_err *err);
void ob_gguf_writer_free(ob_gguf_writer *w);
/* A buffer freed with the writer (for converted tensor data). */
void *ob_gguf_writer_alloc(ob_gguf_writer *w, size_t size);

/* A scalar of type vt (not string or array) read from *value. */
int ob_gguf_writer_scalar(ob_gguf_writer *w, const char *key, uint32_t vt, const void *value,
                          ob_err *err);
int ob_gguf_writer_u32(ob_gguf_writer *w, const char *key, uint32_t v, ob_err *err);
int ob_gguf_writer_f32(ob_gguf_writer *w, const char *key, float v, ob_err *err);
int ob_gguf_writer_bool(ob_gguf_writer *w, const char *key, int v, ob_err *err);
int ob_gguf_writer_str(ob_gguf_writer *w, const char *key, const char *s, size_t len,
                       ob_err *err);
/* An array of n fixed-size elements of type vt, packed. */
int ob_gguf_writer_array(ob_gguf_writer *w, const char *key, uint32_t vt, const void *elems,
                         uint64_t n, ob_err *err);
/* An array of n strings (lens[i] bytes each; lens NULL: NUL-terminated). */
int ob_gguf_writer_str_array(ob_gguf_writer *w, const char *key, const char *const *strs,
                             const size_t *lens, uint64_t n, ob_err *err);
/* A value of type vt already encoded (for nested arrays or copying a kv):
 * bytes are exactly what follows the type field in the file. */
int ob_gguf_writer_raw(ob_gguf_writer *w, const char *key, uint32_t vt, const void *bytes,
                       size_t n, ob_err *err);
/* A copy of kv (read from another file) under the same key. */
int ob_gguf_writer_copy_kv(ob_gguf_writer *w, const ob_gguf_kv *kv, ob_err *err);
/* A tensor of ggml type `type` and shape ne[0..n_dims) (ne[0] fastest);
 * nbytes must be what the type and shape need. */
int ob_gguf_writer_tensor(ob_gguf_writer *w, const char *name, uint32_t type, int n_dims,
                          const int64_t *ne, const void *data, size_t nbytes, ob_err *err);
int ob_gguf_writer_write(ob_gguf_writer *w, const char *path, ob_err *err);

#endif

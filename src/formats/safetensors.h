/* safetensors.h - reading and writing the safetensors format.
 *
 *   +----------+----------------------------+------------------------------+
 *   | u64 (LE) | N bytes of UTF-8 JSON      | data buffer                  |
 *   |    N     | {"name": {"dtype": "F32",  | tensors at data_offsets      |
 *   |          |   "shape": [r, c],         | [begin, end) relative to the |
 *   |          |   "data_offsets": [b, e]}, | start of this buffer, row-   |
 *   |          |  "__metadata__": {...}}    | major, little-endian         |
 *   +----------+----------------------------+------------------------------+
 *
 * The reader maps the file; tensor data pointers point into the mapping and
 * stay valid until ob_st_close.  Every header field is validated (lengths,
 * dtypes, shapes against byte ranges, overflow), so a corrupt file gives an
 * error naming the file and the tensor, never a crash. */
#ifndef OB_FORMATS_SAFETENSORS_H
#define OB_FORMATS_SAFETENSORS_H
#include <stdint.h>

#include "core/mapfile.h"
#include "optibench.h"

typedef enum {
    OB_DT_F32, OB_DT_F16, OB_DT_BF16, OB_DT_F64, OB_DT_I8, OB_DT_U8, OB_DT_I16,
    OB_DT_I32, OB_DT_I64, OB_DT_BOOL, OB_DT_COUNT
} ob_dtype;

const char *ob_dtype_name(ob_dtype dt);
size_t ob_dtype_size(ob_dtype dt);

#define OB_MAX_DIMS 8
typedef struct ob_tensor {
    char *name;
    ob_dtype dtype;
    int n_dims;
    int64_t shape[OB_MAX_DIMS];
    int64_t numel;
    const void *data; /* into the mapping */
    size_t nbytes;
} ob_tensor;

typedef struct ob_safetensors {
    char *path;
    ob_mapfile file;
    ob_tensor *tensors;
    int n_tensors;
    char *metadata_json; /* the "__metadata__" object as JSON text, or NULL */
} ob_safetensors;

/* Parses an in-memory safetensors image (used by the fuzzer and by
 * ob_st_open).  data must outlive the result; name is used in messages. */
int ob_st_parse(const char *name, const unsigned char *data, size_t size, ob_safetensors *out,
                ob_err *err);
int ob_st_open(const char *path, int use_mmap, ob_safetensors **out, ob_err *err);
void ob_st_close(ob_safetensors *st);
/* Releases what ob_st_parse allocated (not the data). */
void ob_st_clear(ob_safetensors *st);
const ob_tensor *ob_st_find(const ob_safetensors *st, const char *name);

/* Writer: add tensors (data is borrowed until ob_st_write), then write. */
typedef struct ob_st_writer ob_st_writer;
int ob_st_writer_new(ob_st_writer **out, ob_err *err);
int ob_st_writer_add(ob_st_writer *w, const char *name, ob_dtype dt, int n_dims,
                     const int64_t *shape, const void *data, ob_err *err);
/* Adds a "__metadata__" string entry. */
int ob_st_writer_meta(ob_st_writer *w, const char *key, const char *value, ob_err *err);
/* Writes path atomically (path.tmp then rename). */
int ob_st_writer_write(ob_st_writer *w, const char *path, ob_err *err);
void ob_st_writer_free(ob_st_writer *w);

#endif

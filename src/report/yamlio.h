/* yamlio.h - the little YAML the MLflow store needs: a flat mapping of
 * strings, integers, nulls and empty lists, written and read with libyaml
 * (so any name, quote or colon comes out escaped correctly). */
#ifndef OB_REPORT_YAMLIO_H
#define OB_REPORT_YAMLIO_H
#include <stddef.h>
#include <stdint.h>

#include "optibench.h"
#include "report/sbuf.h"

typedef enum { OB_Y_STR, OB_Y_INT, OB_Y_NULL, OB_Y_EMPTY_LIST } ob_ykind;

/* One key of a flat mapping.  str is borrowed (OB_Y_STR only). */
typedef struct ob_yfield {
    const char *key;
    ob_ykind kind;
    const char *str;
    int64_t num;
} ob_yfield;

/* Appends "key: value" lines for f[0..n) to out: strings single-quoted (so
 * '0' stays a string), integers plain, null as null, empty lists as []. */
int ob_yaml_mapping(const ob_yfield *f, size_t n, ob_sbuf *out, ob_err *err);

/* Reads the YAML file path, a mapping, and copies the scalar under key into
 * buf.  1 when found, 0 when the key is absent or not a scalar, and -1 with
 * err filled (naming path) when the file cannot be read or parsed. */
int ob_yaml_get(const char *path, const char *key, char *buf, size_t size, ob_err *err);

#endif

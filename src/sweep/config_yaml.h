/* config_yaml.h - what config.c and config_recipe.c share (private to
 * src/sweep/): where a value came from, for messages, and the scalar
 * readers both use. */
#ifndef OB_SWEEP_CONFIG_YAML_H
#define OB_SWEEP_CONFIG_YAML_H

#include <yaml.h>

#include "sweep/config.h"

/* A value's origin: file + 1-based line and column, or "--set PATH". */
typedef struct cfg_loc {
    const char *file;
    int line, col;
    const char *set_path; /* not NULL: a command-line override */
} cfg_loc;

/* The location of a libyaml node. */
cfg_loc cfg_node_loc(const char *file, const yaml_node_t *n);

/* Fills err with "FILE:LINE:COL: message" (or "--set PATH: message") and
 * returns code. */
int cfg_fail(ob_err *err, int code, const cfg_loc *at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* YAML 1.1 scalars as the config reads them: plain "", "~" and null are
 * null; true/false/yes/no/on/off (any case) are booleans. */
int cfg_is_null(const char *s, int plain);
int cfg_bool(const char *s, int *out);                      /* -1: not one */
int cfg_int(const char *s, long lo, long hi, int *out);      /* -1: bad     */
int cfg_num(const char *s, double lo, double hi, double *out);

/* The text of a scalar node. */
const char *cfg_scalar(const yaml_node_t *n);

/* Parses the recipes sequence into cfg->recipes (appended, grids
 * expanded) - config_recipe.c. */
int cfg_parse_recipes(yaml_document_t *doc, yaml_node_t *seq, const char *file, ob_sweep_config *cfg, ob_err *err);

#endif

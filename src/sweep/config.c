/* config.c - a sweep's YAML configuration: the top-level keys, the
 * sections, command-line overrides and the checks across keys (config.h).
 * Recipes are read in config_recipe.c. */
#include "sweep/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mapfile.h"
#include "report/results.h"
#include "sweep/config_yaml.h"

/* ------------------------------------------------------------ scalars */

cfg_loc cfg_node_loc(const char *file, const yaml_node_t *n) {
    cfg_loc l = {file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, NULL};
    return l;
}

int cfg_fail(ob_err *err, int code, const cfg_loc *at, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at->set_path) return ob_fail(err, code, "--set %s: %s", at->set_path, msg);
    if (at->line > 0) return ob_fail(err, code, "%s:%d:%d: %s", at->file, at->line, at->col, msg);
    return ob_fail(err, code, "%s: %s", at->file, msg);
}

int cfg_is_null(const char *s, int plain) {
    return plain && (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"));
}

int cfg_bool(const char *s, int *out) {
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(s, yes[i])) return *out = 1, 0;
        if (!strcasecmp(s, no[i])) return *out = 0, 0;
    }
    return -1;
}

int cfg_int(const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int cfg_num(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

const char *cfg_scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

const char *ob_recipe_kind_name(ob_recipe_kind k) {
    static const char *const names[OB_RECIPE_N_KINDS] = {"baseline", "rtn",   "dynamic",   "gptq",
                                                         "awq",      "prune", "structured"};
    return (unsigned)k < OB_RECIPE_N_KINDS ? names[k] : "?";
}

/* ------------------------------------------------------ the key tables */

typedef enum { K_STR, K_INT, K_NUM, K_BYTES } key_type;

typedef struct {
    const char *path;
    key_type t;
    size_t off;
    long lo, hi;
} key_def;

#define OFF(f) offsetof(ob_sweep_config, f)
static const key_def KEYS[] = {
    {"experiment", K_STR, OFF(experiment), 0, 0},
    {"output", K_STR, OFF(output), 0, 0},
    {"threads", K_INT, OFF(threads), 0, 1024},
    {"calibration.text", K_STR, OFF(calib.text), 0, 0},
    {"calibration.nsamples", K_INT, OFF(calib.nsamples), 1, 1 << 16},
    {"calibration.seqlen", K_INT, OFF(calib.seqlen), 2, 1 << 16},
    {"calibration.seed", K_INT, OFF(calib.seed), 0, INT_MAX},
    {"tasks.ppl.data", K_STR, OFF(ppl.data), 0, 0},
    {"tasks.ppl.limit", K_INT, OFF(ppl.limit), 0, INT_MAX},
    {"tasks.ppl.ctx", K_INT, OFF(ppl.ctx), 0, 1 << 16},
    {"tasks.kld.limit", K_INT, OFF(kld.limit), 0, INT_MAX},
    {"tasks.storycloze.data", K_STR, OFF(storycloze.data), 0, 0},
    {"tasks.storycloze.limit", K_INT, OFF(storycloze.limit), 0, INT_MAX},
    {"bench.prompt_len", K_INT, OFF(bench.prompt_len), 1, 1 << 16},
    {"bench.gen_len", K_INT, OFF(bench.gen_len), 1, 1 << 16},
    {"bench.batch", K_INT, OFF(bench.batch), 1, 4096},
    {"bench.reps", K_INT, OFF(bench.reps), 1, 1000},
    {"bench.warmup", K_INT, OFF(bench.warmup), 0, 100},
    {"report.min_accuracy", K_NUM, OFF(report.min_accuracy), 0, 0},
    {"report.max_ppl_increase", K_NUM, OFF(report.max_ppl_increase), 0, 0},
    {"report.max_memory", K_BYTES, OFF(report.max_memory), 0, 0},
    {"report.accuracy_metric", K_STR, OFF(report.acc_metric), 0, 0},
    {"report.title", K_STR, OFF(report.title), 0, 0},
};
enum { N_KEYS = sizeof KEYS / sizeof KEYS[0] };

/* Sections: mappings of keys.  A section with an on switch runs only when
 * present (tasks) or unless turned off (bench). */
static const struct {
    const char *path;
    ptrdiff_t on; /* offset of its int on flag, or -1 */
} SECTIONS[] = {
    {"calibration", -1},         {"tasks", -1}, {"tasks.ppl", OFF(ppl.on)}, {"tasks.kld", OFF(kld.on)},
    {"tasks.storycloze", OFF(storycloze.on)}, {"bench", OFF(bench.on)}, {"report", -1},
};
enum { N_SECTIONS = sizeof SECTIONS / sizeof SECTIONS[0] };
#undef OFF

static int find_section(const char *path) {
    for (int i = 0; i < N_SECTIONS; i++)
        if (!strcmp(SECTIONS[i].path, path)) return i;
    return -1;
}

static const key_def *find_key(const char *path) {
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].path, path)) return &KEYS[i];
    return NULL;
}

/* "a, b, c": the keys and sections directly under prefix ("" = top). */
static void known_under(const char *prefix, int top, char *buf, size_t size) {
    size_t pl = strlen(prefix), at = 0;
    buf[0] = '\0';
    const char *names[N_KEYS + N_SECTIONS + 2];
    int n = 0;
    for (int i = 0; i < N_KEYS + N_SECTIONS; i++) {
        const char *p = i < N_KEYS ? KEYS[i].path : SECTIONS[i - N_KEYS].path;
        if (pl && (strncmp(p, prefix, pl) || p[pl] != '.')) continue;
        const char *rest = pl ? p + pl + 1 : p;
        if (strchr(rest, '.')) continue;
        names[n++] = rest;
    }
    if (top) names[n++] = "models", names[n++] = "recipes";
    for (int i = 0; i < n && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "", names[i]);
}

/* The section that contains path ("tasks.ppl" for "tasks.ppl.limit"),
 * turned on: a key inside a task means the task runs. */
static void switch_on_parent(ob_sweep_config *cfg, const char *path) {
    char parent[64];
    const char *dot = strrchr(path, '.');
    if (!dot || (size_t)(dot - path) >= sizeof parent) return;
    memcpy(parent, path, (size_t)(dot - path));
    parent[dot - path] = '\0';
    int s = find_section(parent);
    if (s >= 0 && SECTIONS[s].on >= 0) *(int *)((char *)cfg + SECTIONS[s].on) = 1;
}

/* Sets the key at path from a scalar; plain: not quoted (null applies). */
static int set_key(ob_sweep_config *cfg, const key_def *k, const char *v, int plain, const cfg_loc *at, ob_err *err) {
    void *f = (char *)cfg + k->off;
    int is_null = cfg_is_null(v, plain);
    switch (k->t) {
    case K_STR: {
        char **s = f;
        free(*s);
        *s = NULL;
        if (!is_null && !(*s = strdup(v))) return ob_fail(err, OB_ENOMEM, "out of memory");
        break;
    }
    case K_INT:
        if (is_null || cfg_int(v, k->lo, k->hi, f))
            return cfg_fail(err, OB_EINVAL, at, "%s must be an integer in [%ld, %ld], not '%s'", k->path, k->lo, k->hi,
                            v);
        break;
    case K_NUM:
        if (is_null) *(double *)f = NAN;
        else if (cfg_num(v, -1e300, 1e300, f))
            return cfg_fail(err, OB_EINVAL, at, "%s must be a number or null, not '%s'", k->path, v);
        break;
    case K_BYTES: {
        int64_t b;
        if (is_null) *(double *)f = NAN;
        else if (ob_parse_bytes(v, &b) || b <= 0)
            return cfg_fail(err, OB_EINVAL, at, "%s must be a size such as 2GiB, 512M or 1000000, or null, not '%s'",
                            k->path, v);
        else *(double *)f = (double)b;
        break;
    }
    }
    switch_on_parent(cfg, k->path);
    return 0;
}

/* A section given as a scalar: null turns it on with its defaults, false
 * (or off) turns it off. */
static int set_section_scalar(ob_sweep_config *cfg, int s, const char *v, int plain, const cfg_loc *at,
                              ob_err *err) {
    int b = 1;
    if (!cfg_is_null(v, plain) && cfg_bool(v, &b))
        return cfg_fail(err, OB_EINVAL, at, "%s is a section: give its keys, null, or false to turn it off, not '%s'",
                        SECTIONS[s].path, v);
    if (SECTIONS[s].on < 0) {
        if (!b) return cfg_fail(err, OB_EINVAL, at, "%s cannot be turned off", SECTIONS[s].path);
        return 0;
    }
    *(int *)((char *)cfg + SECTIONS[s].on) = b;
    return 0;
}

/* ------------------------------------------------------ the YAML walk */

typedef struct walk {
    yaml_document_t *doc;
    const char *file;
    ob_sweep_config *cfg;
    ob_err *err;
    int saw_models, saw_recipes;
} walk;

static yaml_node_t *node_at(walk *w, int i) { return yaml_document_get_node(w->doc, i); }

static int walk_section(walk *w, yaml_node_t *map, const char *prefix);

static int parse_models(walk *w, yaml_node_t *v) {
    ob_sweep_config *cfg = w->cfg;
    cfg_loc at = cfg_node_loc(w->file, v);
    if (v->type == YAML_SCALAR_NODE) { /* models: stories15M */
        if (!(cfg->models = calloc(1, sizeof *cfg->models)) || !(cfg->models[0] = strdup(cfg_scalar(v))))
            return ob_fail(w->err, OB_ENOMEM, "out of memory");
        cfg->n_models = 1;
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE) return cfg_fail(w->err, OB_EINVAL, &at, "models must be a list of names or paths");
    int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (!n) return cfg_fail(w->err, OB_EINVAL, &at, "models is empty");
    if (!(cfg->models = calloc((size_t)n, sizeof *cfg->models))) return ob_fail(w->err, OB_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = node_at(w, v->data.sequence.items.start[i]);
        cfg_loc il = cfg_node_loc(w->file, it);
        if (it->type != YAML_SCALAR_NODE || !*cfg_scalar(it))
            return cfg_fail(w->err, OB_EINVAL, &il, "a model must be a name (stories15M) or a path");
        for (int j = 0; j < cfg->n_models; j++)
            if (!strcmp(cfg->models[j], cfg_scalar(it)))
                return cfg_fail(w->err, OB_EINVAL, &il, "model '%s' is listed twice", cfg_scalar(it));
        if (!(cfg->models[cfg->n_models] = strdup(cfg_scalar(it)))) return ob_fail(w->err, OB_ENOMEM, "out of memory");
        cfg->n_models++;
    }
    return 0;
}

/* tasks: [ppl, storycloze] - the list form, every task with its defaults. */
static int parse_task_list(walk *w, yaml_node_t *v) {
    for (yaml_node_item_t *p = v->data.sequence.items.start; p < v->data.sequence.items.top; p++) {
        yaml_node_t *it = node_at(w, *p);
        cfg_loc at = cfg_node_loc(w->file, it);
        char path[96], known[256];
        if (it->type == YAML_SCALAR_NODE) {
            snprintf(path, sizeof path, "tasks.%.80s", cfg_scalar(it));
            int s = find_section(path);
            if (s >= 0 && SECTIONS[s].on >= 0) {
                *(int *)((char *)w->cfg + SECTIONS[s].on) = 1;
                continue;
            }
        }
        known_under("tasks", 0, known, sizeof known);
        return cfg_fail(w->err, OB_EINVAL, &at, "unknown task '%s' (known: %s)",
                        it->type == YAML_SCALAR_NODE ? cfg_scalar(it) : "(not a name)", known);
    }
    return 0;
}

/* One key of a mapping at prefix; v is its value. */
static int walk_key(walk *w, const char *prefix, yaml_node_t *kn, yaml_node_t *v) {
    const char *key = cfg_scalar(kn);
    cfg_loc at = cfg_node_loc(w->file, kn), vat = cfg_node_loc(w->file, v);
    char path[160];
    snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
    if (!*prefix && !strcmp(key, "models")) return w->saw_models = 1, parse_models(w, v);
    if (!*prefix && !strcmp(key, "recipes")) {
        w->saw_recipes = 1;
        if (v->type != YAML_SEQUENCE_NODE) return cfg_fail(w->err, OB_EINVAL, &vat, "recipes must be a list");
        return cfg_parse_recipes(w->doc, v, w->file, w->cfg, w->err);
    }
    int s = find_section(path);
    if (s >= 0) {
        if (!strcmp(path, "tasks")) w->cfg->ppl.on = w->cfg->kld.on = w->cfg->storycloze.on = 0;
        if (v->type == YAML_MAPPING_NODE) {
            if (SECTIONS[s].on >= 0) *(int *)((char *)w->cfg + SECTIONS[s].on) = 1;
            return walk_section(w, v, path);
        }
        if (!strcmp(path, "tasks") && v->type == YAML_SEQUENCE_NODE) return parse_task_list(w, v);
        if (v->type == YAML_SCALAR_NODE)
            return set_section_scalar(w->cfg, s, cfg_scalar(v), v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, &vat,
                                      w->err);
        return cfg_fail(w->err, OB_EINVAL, &vat, "%s must be a mapping of keys", path);
    }
    const key_def *k = find_key(path);
    if (!k) {
        char known[512];
        known_under(prefix, !*prefix, known, sizeof known);
        if (*prefix) return cfg_fail(w->err, OB_EINVAL, &at, "unknown key '%s' in %s (known: %s)", key, prefix, known);
        return cfg_fail(w->err, OB_EINVAL, &at, "unknown key '%s' (known: %s)", key, known);
    }
    if (v->type != YAML_SCALAR_NODE) return cfg_fail(w->err, OB_EINVAL, &vat, "%s must be a single value", path);
    return set_key(w->cfg, k, cfg_scalar(v), v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, &vat, w->err);
}

static int walk_section(walk *w, yaml_node_t *map, const char *prefix) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = node_at(w, p->key), *v = node_at(w, p->value);
        cfg_loc at = cfg_node_loc(w->file, kn);
        if (kn->type != YAML_SCALAR_NODE) return cfg_fail(w->err, OB_EINVAL, &at, "a key must be a plain name");
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = node_at(w, q->key);
            if (prev->type == YAML_SCALAR_NODE && !strcmp(cfg_scalar(prev), cfg_scalar(kn)))
                return cfg_fail(w->err, OB_EINVAL, &at, "duplicate key '%s' (first at line %d)", cfg_scalar(kn),
                                (int)prev->start_mark.line + 1);
        }
        int rc = walk_key(w, prefix, kn, v);
        if (rc) return rc;
    }
    return 0;
}

/* ------------------------------------------------------------- loading */

static void set_defaults(ob_sweep_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->calib.nsamples = 32;
    cfg->calib.seqlen = 128;
    cfg->ppl.on = cfg->kld.on = cfg->storycloze.on = 1;
    cfg->bench.on = 1;
    cfg->bench.prompt_len = 128;
    cfg->bench.gen_len = 64;
    cfg->bench.reps = 3;
    cfg->bench.batch = 1;
    cfg->bench.warmup = 1;
    cfg->report.min_accuracy = cfg->report.max_ppl_increase = cfg->report.max_memory = NAN;
}

int ob_sweep_config_parse(const char *name, const char *text, size_t len, ob_sweep_config *cfg, ob_err *err) {
    set_defaults(cfg);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return ob_fail(err, OB_ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        cfg_loc at = {name, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1, NULL};
        rc = cfg_fail(err, OB_EFORMAT, &at, "%s%s%s", parser.problem ? parser.problem : "malformed YAML",
                      parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_parser_delete(&parser);
    cfg->file = strdup(name);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    cfg_loc top = {name, 0, 0, NULL};
    walk w = {&doc, name, cfg, err, 0, 0};
    if (!cfg->file) rc = ob_fail(err, OB_ENOMEM, "out of memory");
    else if (!root) rc = cfg_fail(err, OB_EFORMAT, &top, "empty configuration (models and recipes are required)");
    else if (root->type != YAML_MAPPING_NODE) {
        cfg_loc at = cfg_node_loc(name, root);
        rc = cfg_fail(err, OB_EFORMAT, &at, "the configuration must be a mapping of keys (models:, recipes:, ...)");
    } else rc = walk_section(&w, root, "");
    if (!rc && !w.saw_models) rc = cfg_fail(err, OB_EINVAL, &top, "no models: list the models to compress");
    if (!rc && !w.saw_recipes) rc = cfg_fail(err, OB_EINVAL, &top, "no recipes: list the compression recipes");
    if (!rc) rc = ob_sweep_config_check(cfg, err);
    yaml_document_delete(&doc);
    if (rc) ob_sweep_config_free(cfg);
    return rc;
}

int ob_sweep_config_load(const char *path, ob_sweep_config *cfg, ob_err *err) {
    char *text = NULL;
    size_t len = 0;
    memset(cfg, 0, sizeof *cfg);
    int rc = ob_read_text(path, &text, &len, err);
    if (rc) return rc;
    rc = ob_sweep_config_parse(path, text, len, cfg, err);
    free(text);
    return rc;
}

void ob_sweep_config_free(ob_sweep_config *cfg) {
    if (!cfg) return;
    for (int i = 0; i < cfg->n_models; i++) free(cfg->models[i]);
    free(cfg->models);
    for (int i = 0; i < N_KEYS; i++)
        if (KEYS[i].t == K_STR) free(*(char **)((char *)cfg + KEYS[i].off));
    free(cfg->file);
    free(cfg->recipes);
    memset(cfg, 0, sizeof *cfg);
}

int ob_sweep_config_set(ob_sweep_config *cfg, const char *path, const char *value, ob_err *err) {
    cfg_loc at = {cfg->file, 0, 0, path};
    const key_def *k = find_key(path);
    if (k) return set_key(cfg, k, value, 1, &at, err);
    int s = find_section(path);
    if (s >= 0) return set_section_scalar(cfg, s, value, 1, &at, err);
    if (!strcmp(path, "models") || !strcmp(path, "recipes") || !strncmp(path, "recipes.", 8))
        return cfg_fail(err, OB_EINVAL, &at, "models and recipes are set in the file only");
    char known[512], prefix[128];
    const char *dot = strrchr(path, '.');
    snprintf(prefix, sizeof prefix, "%.*s", dot ? (int)(dot - path) : 0, path);
    if (*prefix && find_section(prefix) < 0)
        return cfg_fail(err, OB_EINVAL, &at, "unknown section '%s'", prefix);
    known_under(prefix, !*prefix, known, sizeof known);
    return cfg_fail(err, OB_EINVAL, &at, "unknown key (known%s%s: %s)", *prefix ? " in " : "", prefix, known);
}

/* ---------------------------------------------------------- the checks */

const ob_recipe *ob_sweep_config_recipe(const ob_sweep_config *cfg, const char *name) {
    for (int i = 0; i < cfg->n_recipes; i++)
        if (!strcmp(cfg->recipes[i].name, name)) return &cfg->recipes[i];
    return NULL;
}

const ob_recipe *ob_sweep_config_baseline(const ob_sweep_config *cfg) {
    for (int i = 0; i < cfg->n_recipes; i++)
        if (cfg->recipes[i].kind == OB_RECIPE_BASELINE) return &cfg->recipes[i];
    return NULL;
}

/* What must hold across keys, after the file and after every override. */
int ob_sweep_config_check(const ob_sweep_config *cfg, ob_err *err) {
    cfg_loc top = {cfg->file ? cfg->file : "config", 0, 0, NULL};
    if (!cfg->n_models) return cfg_fail(err, OB_EINVAL, &top, "no models");
    if (!cfg->n_recipes) return cfg_fail(err, OB_EINVAL, &top, "no recipes");
    if (cfg->kld.on && !ob_sweep_config_baseline(cfg))
        return cfg_fail(err, OB_EINVAL, &top,
                        "tasks.kld compares with the baseline: add a recipe of kind baseline");
    if (cfg->ppl.ctx == 1) return cfg_fail(err, OB_EINVAL, &top, "tasks.ppl.ctx must be 0 (the model's) or at least 2");
    if (cfg->experiment && !*cfg->experiment) return cfg_fail(err, OB_EINVAL, &top, "experiment is empty");
    if (cfg->output && !*cfg->output) return cfg_fail(err, OB_EINVAL, &top, "output is empty");
    return 0;
}

/* config_recipe.c - the recipes list of a sweep's configuration: each
 * mapping checked key by key against its kind, grids expanded into one
 * recipe per combination, and every recipe checked whole (config.h). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/prune.h"
#include "kernels/matrix.h"
#include "sweep/config_yaml.h"

enum { MAX_GRID = 4096 };

#define KB(k) (1u << (k))
enum {
    RK_RTN = KB(OB_RECIPE_RTN),
    RK_GPTQ = KB(OB_RECIPE_GPTQ),
    RK_AWQ = KB(OB_RECIPE_AWQ),
    RK_PRUNE = KB(OB_RECIPE_PRUNE),
    RK_STRUCT = KB(OB_RECIPE_STRUCTURED),
};

typedef enum { F_STR, F_INT, F_NUM, F_BOOL } field_type;

typedef struct {
    const char *key;
    field_type t;
    size_t off, size;
    unsigned kinds;
    double lo, hi;
} field_def;

#define F(name) offsetof(ob_recipe, name), sizeof(((ob_recipe *)0)->name)
static const field_def FIELDS[] = {
    {"format", F_STR, F(format), RK_RTN | RK_GPTQ | RK_AWQ, 0, 0},
    {"embeddings", F_BOOL, F(embeddings), RK_RTN, 0, 0},
    {"output", F_BOOL, F(output), RK_RTN, 0, 0},
    {"bits", F_INT, F(bits), RK_GPTQ, 2, 8},
    {"group", F_INT, F(group), RK_GPTQ | RK_PRUNE, 0, 1 << 20},
    {"sym", F_BOOL, F(sym), RK_GPTQ, 0, 0},
    {"damp", F_NUM, F(damp), RK_GPTQ | RK_PRUNE, 1e-9, 1e3},
    {"method", F_STR, F(method), RK_PRUNE, 0, 0},
    {"pattern", F_STR, F(pattern), RK_PRUNE, 0, 0},
    {"sparsity", F_NUM, F(sparsity), RK_PRUNE | RK_STRUCT, 0, 0.999999},
    {"global", F_BOOL, F(global), RK_PRUNE, 0, 0},
    {"then_quantize", F_STR, F(then_quantize), RK_PRUNE | RK_STRUCT, 0, 0},
    {"values", F_STR, F(values), RK_PRUNE, 0, 0},
    {"target", F_STR, F(target), RK_STRUCT, 0, 0},
    {"calibrated", F_BOOL, F(calibrated), RK_STRUCT, 0, 0},
};
#undef F
enum { N_FIELDS = sizeof FIELDS / sizeof FIELDS[0] };

static const char *const STRUCT_TARGETS[] = {"ffn", "heads", "ffn_heads", "channels_out", "channels_in"};
static const char *const PRUNE_VALUES[] = {"f32", "f16", "bf16", "int8", "int4"};

static int in_list(const char *s, const char *const *list, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(s, list[i])) return 1;
    return 0;
}

static const field_def *find_field(const char *key) {
    for (int i = 0; i < N_FIELDS; i++)
        if (!strcmp(FIELDS[i].key, key)) return &FIELDS[i];
    return NULL;
}

/* "format, embeddings, output" - the keys kind k takes. */
static void keys_of(ob_recipe_kind k, char *buf, size_t size) {
    size_t at = (size_t)snprintf(buf, size, "name, kind");
    for (int i = 0; i < N_FIELDS && at < size; i++)
        if (FIELDS[i].kinds & KB(k)) at += (size_t)snprintf(buf + at, size - at, ", %s", FIELDS[i].key);
}

static int is_group_int(int fmt) { return fmt >= OB_FMT_I4_G32 && fmt <= OB_FMT_I8_ROW; }

/* Checks a string value that names something (a format, a method ...). */
static int check_name(const ob_recipe *r, const field_def *f, const char *v, const cfg_loc *at, ob_err *err) {
    if (!strcmp(f->key, "format")) {
        int fmt = ob_format_from_name(v);
        if (fmt < 0 || fmt >= OB_FMT_SP_F32)
            return cfg_fail(err, OB_EINVAL, at, "unknown format '%s' (f16 bf16 q8_0 q4_0 q4_1 i4_g32 .. i8_row nf4 "
                                                "nf4_dq mxfp4 w8a8; docs/quantization.md)", v);
        if (r->kind == OB_RECIPE_GPTQ && !is_group_int(fmt))
            return cfg_fail(err, OB_EINVAL, at, "gptq stores its results in i4_g32 .. i4_row or i8_g32 .. i8_row, "
                                                "not %s", v);
    } else if (!strcmp(f->key, "method")) {
        if (strcmp(v, "magnitude") && strcmp(v, "wanda") && strcmp(v, "sparsegpt"))
            return cfg_fail(err, OB_EINVAL, at, "unknown pruning method '%s' (magnitude, wanda, sparsegpt)", v);
    } else if (!strcmp(f->key, "pattern")) {
        ob_pattern p;
        ob_err pe = {0};
        if (ob_pattern_parse(v, &p, &pe)) return cfg_fail(err, OB_EINVAL, at, "%s", pe.msg);
    } else if (!strcmp(f->key, "values")) {
        if (!in_list(v, PRUNE_VALUES, 5))
            return cfg_fail(err, OB_EINVAL, at, "values must be f32, f16, bf16, int8 or int4, not '%s'", v);
    } else if (!strcmp(f->key, "target")) {
        if (!in_list(v, STRUCT_TARGETS, 5))
            return cfg_fail(err, OB_EINVAL, at, "unknown target '%s' (ffn, heads, ffn_heads, channels_out, "
                                                "channels_in)", v);
    } else if (!strcmp(f->key, "then_quantize")) {
        if (r->kind == OB_RECIPE_PRUNE && strcmp(v, "gptq4") && strcmp(v, "gptq8"))
            return cfg_fail(err, OB_EINVAL, at, "then_quantize of a prune recipe is gptq4 or gptq8, not '%s'", v);
        int fmt = ob_format_from_name(v);
        if (r->kind == OB_RECIPE_STRUCTURED && (fmt < 0 || fmt >= OB_FMT_SP_F32))
            return cfg_fail(err, OB_EINVAL, at, "then_quantize of a structured recipe is a format (q8_0, q4_0, nf4, "
                                                "...), not '%s'", v);
    }
    return 0;
}

/* Sets field f of r from the scalar v. */
static int set_field(ob_recipe *r, const field_def *f, const char *v, int plain, const cfg_loc *at, ob_err *err) {
    char *p = (char *)r + f->off;
    if (cfg_is_null(v, plain)) return cfg_fail(err, OB_EINVAL, at, "%s needs a value", f->key);
    switch (f->t) {
    case F_STR:
        if (strlen(v) >= f->size) return cfg_fail(err, OB_EINVAL, at, "%s '%s' is too long", f->key, v);
        strcpy(p, v);
        return check_name(r, f, v, at, err);
    case F_INT:
        if (cfg_int(v, (long)f->lo, (long)f->hi, (int *)p))
            return cfg_fail(err, OB_EINVAL, at, "%s must be an integer in [%g, %g], not '%s'", f->key, f->lo, f->hi, v);
        return 0;
    case F_NUM:
        if (cfg_num(v, f->lo, f->hi, (double *)p))
            return cfg_fail(err, OB_EINVAL, at, "%s must be a number in [%g, %g], not '%s'", f->key, f->lo, f->hi, v);
        return 0;
    case F_BOOL:
        if (cfg_bool(v, (int *)p)) return cfg_fail(err, OB_EINVAL, at, "%s must be true or false, not '%s'", f->key, v);
        return 0;
    }
    return 0;
}

/* What must hold across one recipe's keys. */
static int check_recipe(const ob_recipe *r, const cfg_loc *at, ob_err *err) {
    switch (r->kind) {
    case OB_RECIPE_GPTQ:
        if (r->format[0] && (r->bits || r->group >= 0))
            return cfg_fail(err, OB_EINVAL, at, "recipe '%s': give format, or bits and group, not both", r->name);
        if (r->group > 0 && r->group != 32 && r->group != 64 && r->group != 128)
            return cfg_fail(err, OB_EINVAL, at, "recipe '%s': group must be 32, 64, 128 or 0 (per row), not %d",
                            r->name, r->group);
        break;
    case OB_RECIPE_PRUNE: {
        ob_pattern p;
        ob_err pe = {0};
        ob_pattern_parse(r->pattern, &p, &pe);
        if (!r->method[0]) return cfg_fail(err, OB_EINVAL, at, "recipe '%s': method is required", r->name);
        if (p.kind != OB_PAT_NM && isnan(r->sparsity))
            return cfg_fail(err, OB_EINVAL, at, "recipe '%s': sparsity is required for the %s pattern", r->name,
                            r->pattern);
        if (p.kind == OB_PAT_NM && !isnan(r->sparsity) && fabs(r->sparsity - (1.0 - (double)p.n / p.m)) > 1e-9)
            return cfg_fail(err, OB_EINVAL, at, "recipe '%s': the %s pattern keeps %d of %d, a sparsity of %g, not %g",
                            r->name, r->pattern, p.n, p.m, 1.0 - (double)p.n / p.m, r->sparsity);
        if (r->global && strcmp(r->method, "magnitude"))
            return cfg_fail(err, OB_EINVAL, at, "recipe '%s': global is magnitude's", r->name);
        if (r->group >= 0 && (r->group < 32 || r->group % 32))
            return cfg_fail(err, OB_EINVAL, at, "recipe '%s': group must be a multiple of 32", r->name);
        if (r->group >= 0 && !r->then_quantize[0])
            return cfg_fail(err, OB_EINVAL, at, "recipe '%s': group belongs to then_quantize", r->name);
        if (r->then_quantize[0] && r->values[0]) {
            const char *want = !strcmp(r->then_quantize, "gptq8") ? "int8" : "int4";
            if (strcmp(r->values, want))
                return cfg_fail(err, OB_EINVAL, at, "recipe '%s': then_quantize %s stores %s values, not %s", r->name,
                                r->then_quantize, want, r->values);
        }
        break;
    }
    case OB_RECIPE_STRUCTURED:
        if (isnan(r->sparsity)) return cfg_fail(err, OB_EINVAL, at, "recipe '%s': sparsity is required", r->name);
        break;
    default: break;
    }
    return 0;
}

/* ------------------------------------------------------ one recipe entry */

typedef struct entry {
    const char *file;
    yaml_document_t *doc;
    yaml_node_t *node;
    ob_recipe_kind kind;
    const char *name;           /* NULL: derived                    */
    int n_keys;
    yaml_node_t *keys[N_FIELDS]; /* key nodes, in file order         */
    yaml_node_t *vals[N_FIELDS]; /* scalar or sequence               */
    const field_def *defs[N_FIELDS];
    int n_vals[N_FIELDS];        /* 1 for a scalar                  */
} entry;

static yaml_node_t *item(const entry *e, yaml_node_t *v, int i) {
    if (v->type == YAML_SCALAR_NODE) return v;
    return yaml_document_get_node(e->doc, v->data.sequence.items.start[i]);
}

/* Reads the mapping into e: kind and name, and every other key checked
 * against the kind. */
static int read_entry(entry *e, ob_err *err) {
    yaml_node_t *m = e->node, *kind = NULL;
    cfg_loc at = cfg_node_loc(e->file, m);
    if (m->type != YAML_MAPPING_NODE)
        return cfg_fail(err, OB_EINVAL, &at, "a recipe must be a mapping such as {name: q8, kind: rtn, format: q8_0}");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(e->doc, p->key), *v = yaml_document_get_node(e->doc, p->value);
        cfg_loc kl = cfg_node_loc(e->file, k);
        if (k->type != YAML_SCALAR_NODE) return cfg_fail(err, OB_EINVAL, &kl, "a key must be a plain name");
        if (!strcmp(cfg_scalar(k), "kind")) kind = v;
    }
    if (!kind) return cfg_fail(err, OB_EINVAL, &at, "recipe without a kind (baseline, rtn, dynamic, gptq, awq, prune, "
                                                    "structured)");
    cfg_loc kl = cfg_node_loc(e->file, kind);
    e->kind = OB_RECIPE_N_KINDS;
    for (int k = 0; kind->type == YAML_SCALAR_NODE && k < OB_RECIPE_N_KINDS; k++)
        if (!strcmp(cfg_scalar(kind), ob_recipe_kind_name((ob_recipe_kind)k))) e->kind = (ob_recipe_kind)k;
    if (e->kind == OB_RECIPE_N_KINDS)
        return cfg_fail(err, OB_EINVAL, &kl, "unknown recipe kind '%s' (known: baseline, rtn, dynamic, gptq, awq, "
                                             "prune, structured)",
                        kind->type == YAML_SCALAR_NODE ? cfg_scalar(kind) : "(not a name)");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(e->doc, p->key), *v = yaml_document_get_node(e->doc, p->value);
        const char *key = cfg_scalar(k);
        cfg_loc l = cfg_node_loc(e->file, k), vl = cfg_node_loc(e->file, v);
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++)
            if (!strcmp(cfg_scalar(yaml_document_get_node(e->doc, q->key)), key))
                return cfg_fail(err, OB_EINVAL, &l, "duplicate key '%s'", key);
        if (!strcmp(key, "kind")) continue;
        if (!strcmp(key, "name")) {
            if (v->type != YAML_SCALAR_NODE || !*cfg_scalar(v))
                return cfg_fail(err, OB_EINVAL, &vl, "name must be a non-empty text");
            e->name = cfg_scalar(v);
            continue;
        }
        const field_def *f = find_field(key);
        if (!f || !(f->kinds & KB(e->kind))) {
            char keys[300];
            keys_of(e->kind, keys, sizeof keys);
            return cfg_fail(err, OB_EINVAL, &l, "%s key '%s' for a %s recipe (it takes: %s)", f ? "no" : "unknown", key,
                            ob_recipe_kind_name(e->kind), keys);
        }
        int n = 1;
        if (v->type == YAML_SEQUENCE_NODE) {
            n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
            if (!n) return cfg_fail(err, OB_EINVAL, &vl, "%s: an empty list", key);
            for (int i = 0; i < n; i++) {
                yaml_node_t *it = item(e, v, i);
                cfg_loc il = cfg_node_loc(e->file, it);
                if (it->type != YAML_SCALAR_NODE)
                    return cfg_fail(err, OB_EINVAL, &il, "%s: a list of values must hold single values", key);
            }
        } else if (v->type != YAML_SCALAR_NODE) {
            return cfg_fail(err, OB_EINVAL, &vl, "%s must be a value or a list of values", key);
        }
        e->keys[e->n_keys] = k;
        e->vals[e->n_keys] = v;
        e->defs[e->n_keys] = f;
        e->n_vals[e->n_keys++] = n;
    }
    return 0;
}

static void recipe_defaults(ob_recipe *r, ob_recipe_kind kind) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->group = -1; /* unset */
    r->damp = 0.01;
    r->sparsity = NAN;
    if (kind == OB_RECIPE_PRUNE) strcpy(r->pattern, "unstructured");
    if (kind == OB_RECIPE_STRUCTURED) strcpy(r->target, "ffn_heads");
}

static int append(ob_sweep_config *cfg, int *cap, const ob_recipe *r, ob_err *err) {
    if (cfg->n_recipes == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        ob_recipe *nr = realloc(cfg->recipes, (size_t)nc * sizeof *nr);
        if (!nr) return ob_fail(err, OB_ENOMEM, "out of memory");
        cfg->recipes = nr;
        *cap = nc;
    }
    cfg->recipes[cfg->n_recipes++] = *r;
    return 0;
}

/* Expands e into one recipe per combination of its lists. */
static int expand(entry *e, ob_sweep_config *cfg, int *cap, ob_err *err) {
    cfg_loc at = cfg_node_loc(e->file, e->node);
    long total = 1;
    for (int k = 0; k < e->n_keys; k++) {
        total *= e->n_vals[k];
        if (total > MAX_GRID) return cfg_fail(err, OB_EINVAL, &at, "the grid has more than %d combinations", MAX_GRID);
    }
    for (long c = 0; c < total; c++) {
        ob_recipe r;
        recipe_defaults(&r, e->kind);
        r.line = at.line;
        r.col = at.col;
        char name[256];
        size_t nl = (size_t)snprintf(name, sizeof name, "%s", e->name ? e->name : ob_recipe_kind_name(e->kind));
        long rest = c;
        int idx[N_FIELDS];
        for (int k = e->n_keys - 1; k >= 0; k--) { /* the first key varies slowest */
            idx[k] = (int)(rest % e->n_vals[k]);
            rest /= e->n_vals[k];
        }
        for (int k = 0; k < e->n_keys; k++) {
            yaml_node_t *v = item(e, e->vals[k], idx[k]);
            cfg_loc vl = cfg_node_loc(e->file, v);
            int rc = set_field(&r, e->defs[k], cfg_scalar(v), v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, &vl, err);
            if (rc) return rc;
            /* named recipes take the grid's values; unnamed ones every value */
            if ((!e->name || e->n_vals[k] > 1) && nl < sizeof name)
                nl += (size_t)snprintf(name + nl, sizeof name - nl, "-%s", cfg_scalar(v));
        }
        if (nl >= sizeof r.name) return cfg_fail(err, OB_EINVAL, &at, "recipe name '%.60s...' is too long", name);
        strcpy(r.name, name);
        int rc = check_recipe(&r, &at, err);
        if (rc) return rc;
        const ob_recipe *dup = ob_sweep_config_recipe(cfg, r.name);
        if (dup)
            return cfg_fail(err, OB_EINVAL, &at, "recipe name '%s' is used twice (first at line %d)", r.name, dup->line);
        if ((rc = append(cfg, cap, &r, err))) return rc;
    }
    return 0;
}

int cfg_parse_recipes(yaml_document_t *doc, yaml_node_t *seq, const char *file, ob_sweep_config *cfg, ob_err *err) {
    int cap = cfg->n_recipes;
    cfg_loc at = cfg_node_loc(file, seq);
    if (seq->data.sequence.items.top == seq->data.sequence.items.start)
        return cfg_fail(err, OB_EINVAL, &at, "recipes is empty");
    for (yaml_node_item_t *p = seq->data.sequence.items.start; p < seq->data.sequence.items.top; p++) {
        entry e = {.file = file, .doc = doc, .node = yaml_document_get_node(doc, *p)};
        int rc = read_entry(&e, err);
        if (!rc) rc = expand(&e, cfg, &cap, err);
        if (rc) return rc;
    }
    return 0;
}

int ob_recipe_set(ob_recipe *r, const char *key, const char *value, ob_err *err) {
    cfg_loc at = {key, 0, 0, NULL};
    const field_def *f = find_field(key);
    if (!f || !(f->kinds & KB(r->kind))) {
        char keys[300];
        keys_of(r->kind, keys, sizeof keys);
        return cfg_fail(err, OB_EINVAL, &at, "%s key for a %s recipe (it takes: %s)", f ? "not a" : "unknown",
                        ob_recipe_kind_name(r->kind), keys);
    }
    int rc = set_field(r, f, value, 1, &at, err);
    if (!rc) rc = check_recipe(r, &at, err);
    return rc;
}

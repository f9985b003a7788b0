/* search.c - bisection over a recipe's setting, one sweep cell per probe
 * (search.h). */
#include "sweep/search.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/results.h"

ob_search_spec ob_search_default_spec(void) {
    ob_search_spec s = {0};
    s.max_probes = 12;
    s.tol = 0.02;
    return s;
}

typedef struct searcher {
    ob_sweep *s;
    int model;
    const ob_recipe *tmpl;
    const ob_search_spec *spec;
    ob_search_result *res;
    int lower_better;
} searcher;

static double metric_of(const json_t *rec, const char *key) {
    const char *st = json_string_value(json_object_get(rec, "status"));
    const json_t *v = json_object_get(json_object_get(rec, "metrics"), key);
    return st && !strcmp(st, "ok") && json_is_number(v) ? json_number_value(v) : NAN;
}

/* Runs the probe of value; *pass receives whether it met the bound. */
static int probe(searcher *q, const char *value, int *pass, ob_err *err) {
    ob_search_result *res = q->res;
    if (res->n_probes == OB_SEARCH_MAX_PROBES) return ob_fail(err, OB_ERANGE, "search: too many probes");
    ob_recipe r = *q->tmpl;
    int rc = ob_recipe_set(&r, q->spec->key, value, err);
    if (rc) return rc;
    if ((size_t)snprintf(r.name, sizeof r.name, "%s@%s=%s", q->tmpl->name, q->spec->key, value) >= sizeof r.name)
        return ob_fail(err, OB_EINVAL, "search: the probe name of '%s' is too long", q->tmpl->name);
    const json_t *rec = NULL;
    if ((rc = ob_sweep_cell(q->s, q->model, &r, &rec, err))) return rc;
    double m = metric_of(rec, q->spec->metric);
    *pass = !isnan(m) && (q->lower_better ? m <= res->limit : m >= res->limit);
    ob_search_probe *p = &res->probes[res->n_probes++];
    snprintf(p->value, sizeof p->value, "%s", value);
    p->metric = m;
    p->pass = *pass;
    if (*pass) {
        res->found = 1;
        snprintf(res->best, sizeof res->best, "%s", value);
        res->best_metric = m;
    } else {
        snprintf(res->first_fail, sizeof res->first_fail, "%s", value);
    }
    return 0;
}

/* The limit in the metric's units: the bound, or the baseline's value
 * made bound% worse. */
static int set_limit(searcher *q, ob_err *err) {
    const ob_search_spec *sp = q->spec;
    q->res->baseline = NAN;
    q->res->limit = sp->bound;
    if (!sp->relative) return 0;
    const ob_recipe *base = ob_sweep_config_baseline(ob_sweep_session_config(q->s));
    if (!base) return ob_fail(err, OB_EINVAL, "search: a bound relative to the baseline needs a recipe of kind baseline");
    const json_t *rec = NULL;
    int rc = ob_sweep_cell(q->s, q->model, base, &rec, err);
    if (rc) return rc;
    double b = metric_of(rec, sp->metric);
    if (isnan(b)) return ob_fail(err, OB_EINVAL, "search: the baseline '%s' has no %s", base->name, sp->metric);
    q->res->baseline = b;
    q->res->limit = q->lower_better ? b * (1 + sp->bound / 100) : b * (1 - sp->bound / 100);
    return 0;
}

static void fmt(double v, char *buf, size_t size) { snprintf(buf, size, "%.4g", v); }

/* A range: the mildest end, the most aggressive, then halving. */
static int search_range(searcher *q, ob_err *err) {
    const ob_search_spec *sp = q->spec;
    double good = sp->lo, bad = sp->hi;
    char v[32];
    int pass, rc;
    fmt(good, v, sizeof v);
    if ((rc = probe(q, v, &pass, err)) || !pass) return rc;
    fmt(bad, v, sizeof v);
    if ((rc = probe(q, v, &pass, err)) || pass) return rc;
    while (fabs(bad - good) > sp->tol && q->res->n_probes < sp->max_probes) {
        double mid = 0.5 * (good + bad);
        char prev[32];
        fmt(mid, v, sizeof v);
        fmt(good, prev, sizeof prev);
        if (!strcmp(v, prev)) break; /* no finer value to print */
        if ((rc = probe(q, v, &pass, err))) return rc;
        if (pass) good = mid;
        else bad = mid;
    }
    return 0;
}

/* A list: the first value, the last, then halving the index bracket. */
static int search_list(searcher *q, ob_err *err) {
    const ob_search_spec *sp = q->spec;
    int good = 0, bad = sp->n_values - 1, pass, rc;
    if ((rc = probe(q, sp->values[good], &pass, err)) || !pass || bad == 0) return rc;
    if ((rc = probe(q, sp->values[bad], &pass, err)) || pass) return rc;
    while (bad - good > 1 && q->res->n_probes < sp->max_probes) {
        int mid = good + (bad - good) / 2;
        if ((rc = probe(q, sp->values[mid], &pass, err))) return rc;
        if (pass) good = mid;
        else bad = mid;
    }
    return 0;
}

int ob_search(ob_sweep *s, int model, const ob_recipe *tmpl, const ob_search_spec *spec, ob_search_result *res,
              ob_err *err) {
    memset(res, 0, sizeof *res);
    res->best_metric = NAN;
    if (!spec->key || !spec->metric) return ob_fail(err, OB_EINVAL, "search: give the key to vary and the metric");
    if (spec->values ? spec->n_values < 1 : !(spec->tol > 0) || spec->lo == spec->hi)
        return ob_fail(err, OB_EINVAL, "search: give a list of values, or a range of two different ends and tol > 0");
    if (spec->max_probes < 2 || spec->max_probes > OB_SEARCH_MAX_PROBES)
        return ob_fail(err, OB_EINVAL, "search: max_probes must be in [2, %d]", OB_SEARCH_MAX_PROBES);
    searcher q = {s, model, tmpl, spec, res, ob_metric_lower_is_better(spec->metric)};
    int rc = set_limit(&q, err);
    if (!rc) rc = spec->values ? search_list(&q, err) : search_range(&q, err);
    return rc;
}

json_t *ob_search_json(const ob_recipe *tmpl, const ob_search_spec *spec, const ob_search_result *res) {
    json_t *o = json_object(), *probes = json_array();
    if (!o || !probes) {
        json_decref(o);
        json_decref(probes);
        return NULL;
    }
    json_object_set_new(o, "recipe", json_string(tmpl->name));
    json_object_set_new(o, "key", json_string(spec->key));
    json_object_set_new(o, "metric", json_string(spec->metric));
    json_object_set_new(o, "bound", json_real(spec->bound));
    json_object_set_new(o, "relative", json_boolean(spec->relative));
    json_object_set_new(o, "limit", isfinite(res->limit) ? json_real(res->limit) : json_null());
    json_object_set_new(o, "baseline", isfinite(res->baseline) ? json_real(res->baseline) : json_null());
    json_object_set_new(o, "found", json_boolean(res->found));
    json_object_set_new(o, "best", res->found ? json_string(res->best) : json_null());
    json_object_set_new(o, "best_metric", isfinite(res->best_metric) ? json_real(res->best_metric) : json_null());
    json_object_set_new(o, "first_fail", res->first_fail[0] ? json_string(res->first_fail) : json_null());
    for (int i = 0; i < res->n_probes; i++) {
        const ob_search_probe *p = &res->probes[i];
        json_array_append_new(probes, json_pack("{s:s, s:o, s:b}", "value", p->value, "metric",
                                                isfinite(p->metric) ? json_real(p->metric) : json_null(), "pass",
                                                p->pass));
    }
    json_object_set_new(o, "probes", probes);
    return o;
}

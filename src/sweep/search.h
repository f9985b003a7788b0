/* search.h - the most aggressive setting of a recipe that keeps a metric
 * within a bound, found by bisection: the highest sparsity of a pruning
 * method and pattern that keeps story-cloze accuracy at least 0.5, the
 * fewest GPTQ bits that keep perplexity at most 5% above the baseline's.
 *
 * Every probe is an ordinary cell of the sweep session (sweep.h): the
 * template recipe with the searched key set to the probe's value, named
 * "TEMPLATE@KEY=VALUE", compressed (and cached), benchmarked, evaluated
 * and recorded in results.jsonl, results.csv and the MLflow store.  So a
 * search resumes like a sweep: with resume, probes already finished are
 * read back instead of run.
 *
 * The search assumes the metric only gets worse as the setting gets more
 * aggressive.  It probes the mildest value first (none qualifies if it
 * fails) and the most aggressive (the answer if it passes), then halves
 * the bracket between the last passing and the first failing value: for a
 * continuous key until it is at most tol wide, for a list of values until
 * they are neighbours; at most max_probes probes in all.  A probe whose
 * cell failed (or lacks the metric) counts as not passing. */
#ifndef OB_SWEEP_SEARCH_H
#define OB_SWEEP_SEARCH_H

#include "sweep/config.h"
#include "sweep/sweep.h"

enum { OB_SEARCH_MAX_PROBES = 64 };

typedef struct ob_search_spec {
    const char *key;            /* the recipe key searched ("sparsity", "bits") */
    /* Either a list of values, from the mildest to the most aggressive
     * ("8", "6", "4", "3", "2"; borrowed) ... */
    const char *const *values;
    int n_values;
    /* ... or, with values NULL, a range: lo the mildest end, hi the most
     * aggressive (lo > hi searches downwards), tol the bracket's final
     * width (default 0.02). */
    double lo, hi, tol;
    int max_probes;             /* default 12, at most OB_SEARCH_MAX_PROBES  */
    const char *metric;         /* a metric of the records: "acc", "ppl", ... */
    double bound;               /* the floor of a higher-is-better metric, the
                                   ceiling of a lower-is-better one         */
    int relative;               /* bound is a percentage of the baseline's
                                   value: at most bound% worse              */
} ob_search_spec;

/* max_probes 12, tol 0.02, everything else 0 / NULL. */
ob_search_spec ob_search_default_spec(void);

typedef struct ob_search_probe {
    char value[32];
    double metric;              /* NAN when the cell failed or lacks it      */
    int pass;
} ob_search_probe;

typedef struct ob_search_result {
    int found;                  /* some probe passed                          */
    char best[32];              /* the most aggressive value that passed      */
    double best_metric;
    char first_fail[32];        /* the mildest value that failed ("" if none) */
    double limit;               /* the bound in the metric's units            */
    double baseline;            /* the baseline's metric (relative), or NAN   */
    int n_probes;
    ob_search_probe probes[OB_SEARCH_MAX_PROBES]; /* in the order run         */
} ob_search_result;

/* Searches on model (an index into the configuration's models) from the
 * template recipe tmpl.  Fails on a bad spec, a value the recipe refuses
 * (ob_recipe_set's message), a relative bound without a baseline recipe,
 * or when the results cannot be written; failed cells are results. */
int ob_search(ob_sweep *s, int model, const ob_recipe *tmpl, const ob_search_spec *spec, ob_search_result *res,
              ob_err *err);

/* The result as a new JSON object (search.json's entries): recipe, key,
 * metric, bound, limit, baseline, found, best, best_metric, first_fail and
 * probes [{value, metric, pass}]. */
json_t *ob_search_json(const ob_recipe *tmpl, const ob_search_spec *spec, const ob_search_result *res);

#endif

/* pareto.c - non-dominated points and the constrained recommendation. */
#include "report/pareto.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/results.h"
#include "report/sbuf.h"

size_t ob_pareto_front(const double *x, const double *y, size_t n, unsigned char *on_front) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        int front = !isnan(x[i]) && !isnan(y[i]);
        for (size_t j = 0; j < n && front; j++) {
            if (j == i || isnan(x[j]) || isnan(y[j])) continue;
            if (x[j] >= x[i] && y[j] >= y[i] && (x[j] > x[i] || y[j] > y[i])) front = 0;
        }
        on_front[i] = (unsigned char)front;
        count += (size_t)front;
    }
    return count;
}

ob_constraints ob_constraints_none(void) { return (ob_constraints){NAN, NAN, NAN}; }

/* Which bounds candidate i meets; each flag is 1 also when the bound is off. */
typedef struct verdict {
    int acc, ppl, mem;
} verdict;

static verdict judge(const ob_candidate *c, double base_ppl, const ob_constraints *k) {
    verdict v = {1, 1, 1};
    if (!isnan(k->min_accuracy)) v.acc = !isnan(c->acc) && c->acc >= k->min_accuracy;
    if (!isnan(k->max_ppl_increase))
        v.ppl = !isnan(c->ppl) && !isnan(base_ppl) && base_ppl > 0 &&
                (c->ppl - base_ppl) / base_ppl * 100.0 <= k->max_ppl_increase + 1e-9;
    if (!isnan(k->max_memory)) v.mem = !isnan(c->memory) && c->memory <= k->max_memory;
    return v;
}

/* 1 when a ranks before b: faster, then smaller. */
static int better(const ob_candidate *a, const ob_candidate *b) {
    int sa = !isnan(a->decode_tps), sb = !isnan(b->decode_tps);
    if (sa != sb) return sa;
    if (sa && a->decode_tps != b->decode_tps) return a->decode_tps > b->decode_tps;
    int za = !isnan(a->size), zb = !isnan(b->size);
    if (za != zb) return za;
    return za && a->size < b->size;
}

/* "accuracy >= 0.5, perplexity at most 5% over 'f32' (12.3), peak memory <= 2.00 GiB" */
static void describe_bounds(ob_sbuf *b, const ob_constraints *k, const char *base_name, double base_ppl) {
    const char *sep = "";
    if (!isnan(k->min_accuracy)) {
        ob_sbuf_printf(b, "accuracy >= %g", k->min_accuracy);
        sep = ", ";
    }
    if (!isnan(k->max_ppl_increase)) {
        ob_sbuf_printf(b, "%sperplexity at most %g%% over the baseline", sep, k->max_ppl_increase);
        if (base_name) ob_sbuf_printf(b, " '%s'", base_name);
        if (!isnan(base_ppl)) ob_sbuf_printf(b, " (%.4g)", base_ppl);
        sep = ", ";
    }
    if (!isnan(k->max_memory)) {
        char mem[32];
        ob_format_bytes(k->max_memory, mem, sizeof mem);
        ob_sbuf_printf(b, "%speak memory <= %s", sep, mem);
    }
}

static void explain_choice(ob_sbuf *b, const ob_candidate *c, int n_ok, int n_feasible, int bounded,
                           const ob_constraints *k, const char *base_name, double base_ppl) {
    ob_sbuf_printf(b, "%s: ", c->name);
    if (!isnan(c->decode_tps))
        ob_sbuf_printf(b, "the fastest decode (%.4g tok/s)", c->decode_tps);
    else if (!isnan(c->size)) {
        char sz[32];
        ob_format_bytes(c->size, sz, sizeof sz);
        ob_sbuf_printf(b, "the smallest model (%s; no decode speed was measured)", sz);
    } else
        ob_sbuf_puts(b, "the only candidate with neither speed nor size measured");
    if (bounded) {
        ob_sbuf_printf(b, " of the %d recipe%s that meet ", n_feasible, n_feasible == 1 ? "" : "s");
        describe_bounds(b, k, base_name, base_ppl);
        ob_sbuf_puts(b, ".");
        if (!isnan(c->acc)) ob_sbuf_printf(b, " Accuracy %.4g.", c->acc);
        if (!isnan(c->ppl) && !isnan(base_ppl) && base_ppl > 0)
            ob_sbuf_printf(b, " Perplexity %.4g (%+.2f%% over the baseline).", c->ppl,
                           (c->ppl - base_ppl) / base_ppl * 100.0);
        if (!isnan(c->memory)) {
            char mem[32];
            ob_format_bytes(c->memory, mem, sizeof mem);
            ob_sbuf_printf(b, " Memory %s.", mem);
        }
    } else {
        ob_sbuf_printf(b, " of %d recipe%s; no bound was given (--min-accuracy, --max-ppl-increase, --max-memory).",
                       n_ok, n_ok == 1 ? "" : "s");
    }
}

static void explain_none(ob_sbuf *b, int n_ok, const int met[3], const ob_constraints *k, const char *base_name,
                         double base_ppl) {
    if (n_ok == 0 && isnan(k->min_accuracy) && isnan(k->max_ppl_increase) && isnan(k->max_memory)) {
        ob_sbuf_puts(b, "No recipe to recommend: no cell finished successfully.");
        return;
    }
    ob_sbuf_puts(b, "No recipe satisfies ");
    describe_bounds(b, k, base_name, base_ppl);
    if (n_ok == 0) {
        ob_sbuf_puts(b, ": no cell finished successfully.");
        return;
    }
    if (!isnan(k->max_ppl_increase) && (isnan(base_ppl) || base_ppl <= 0)) {
        ob_sbuf_printf(b, ": the baseline %s%s%s has no perplexity to compare with.", base_name ? "'" : "",
                       base_name ? base_name : "(none found)", base_name ? "'" : "");
        return;
    }
    ob_sbuf_printf(b, ". Of %d recipe%s, ", n_ok, n_ok == 1 ? "" : "s");
    static const char *what[3] = {"the accuracy bound", "the perplexity bound", "the memory bound"};
    double bound[3] = {k->min_accuracy, k->max_ppl_increase, k->max_memory};
    const char *sep = "";
    for (int j = 0; j < 3; j++) {
        if (isnan(bound[j])) continue;
        ob_sbuf_printf(b, "%s%d meet%s %s", sep, met[j], met[j] == 1 ? "s" : "", what[j]);
        sep = ", ";
    }
    ob_sbuf_puts(b, ", but none meets all of them.");
}

void ob_recommend(const ob_candidate *c, size_t n, int baseline, const ob_constraints *k,
                  ob_recommendation *out) {
    const char *base_name = baseline >= 0 && (size_t)baseline < n ? c[baseline].name : NULL;
    double base_ppl = base_name ? c[baseline].ppl : NAN;
    int bounded = !isnan(k->min_accuracy) || !isnan(k->max_ppl_increase) || !isnan(k->max_memory);
    int best = -1, n_ok = 0, n_feasible = 0, met[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!c[i].ok) continue;
        n_ok++;
        verdict v = judge(&c[i], base_ppl, k);
        met[0] += v.acc, met[1] += v.ppl, met[2] += v.mem;
        if (!(v.acc && v.ppl && v.mem)) continue;
        n_feasible++;
        if (best < 0 || better(&c[i], &c[best])) best = (int)i;
    }
    ob_sbuf b = {0};
    if (best >= 0)
        explain_choice(&b, &c[best], n_ok, n_feasible, bounded, k, base_name, base_ppl);
    else
        explain_none(&b, n_ok, met, k, base_name, base_ppl);
    out->index = best;
    out->n_feasible = n_feasible;
    snprintf(out->reason, sizeof out->reason, "%s", b.s && !b.oom ? b.s : "(out of memory)");
    ob_sbuf_free(&b);
}

/* pareto.h - the Pareto frontier of a set of points, and the recommended
 * recipe under the user's constraints.  Plain arrays, no JSON: the report
 * extracts the numbers from the cell records and calls these. */
#ifndef OB_REPORT_PARETO_H
#define OB_REPORT_PARETO_H
#include <stddef.h>

/* Marks on_front[i] = 1 for each point (x[i], y[i]) that no other point
 * dominates, 0 for the rest; both coordinates are "larger is better" (negate
 * one to minimise it).  A point is dominated when another is >= in both
 * coordinates and > in one, so equal points are all on the front.  Points
 * with a NaN coordinate are never on it.  Returns the number on the front. */
size_t ob_pareto_front(const double *x, const double *y, size_t n, unsigned char *on_front);

/* The numbers of one recipe for the recommendation; NaN when not measured. */
typedef struct ob_candidate {
    const char *name;   /* the recipe's name (borrowed)                    */
    int ok;             /* 0: the cell failed; never recommended           */
    double acc;         /* accuracy, higher is better                      */
    double ppl;         /* perplexity, lower is better                     */
    double decode_tps;  /* decode tokens/s                                 */
    double memory;      /* peak memory in bytes (model size if no RSS)     */
    double size;        /* model size in bytes                             */
} ob_candidate;

/* The user's bounds; NaN means "no bound". */
typedef struct ob_constraints {
    double min_accuracy;     /* acc >= this                                 */
    double max_ppl_increase; /* percent over the baseline's perplexity      */
    double max_memory;       /* bytes, compared with ob_candidate.memory    */
} ob_constraints;

/* A constraints struct with every bound off. */
ob_constraints ob_constraints_none(void);

typedef struct ob_recommendation {
    int index;         /* the chosen candidate, or -1 when none qualifies   */
    int n_feasible;    /* how many candidates met every bound               */
    char reason[1024]; /* one or two sentences, plain text (not escaped)    */
} ob_recommendation;

/* Picks, among the ok candidates that meet every bound, the one with the
 * highest decode_tps (the smallest size breaks ties, and ranks them when
 * no candidate has a speed).  A candidate lacking a number a bound needs
 * does not meet that bound.  baseline indexes the candidate the perplexity
 * increase is measured against (-1: none, which fails every candidate when
 * max_ppl_increase is set, and the reason says so).  The reason names the
 * recipe and why it won, or which bounds no recipe met. */
void ob_recommend(const ob_candidate *c, size_t n, int baseline, const ob_constraints *k,
                  ob_recommendation *out);

#endif

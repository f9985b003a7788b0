/* test_pareto.c - the Pareto front of hand-made points with a known
 * frontier (ties, duplicates, NaN), and the recommendation under each kind
 * of bound, their combinations, the tie-breaks and the no-solution cases. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "report/pareto.h"

static void check_front(void) {
    /* larger is better on both axes */
    double x[] = {1, 2, 3, 2, 1, 3, 3, NAN, 0.5};
    double y[] = {5, 4, 3, 2, 1, 3, 1, 9, 5};
    unsigned char want[] = {1, 1, 1, 0, 0, 1, 0, 0, 0};
    unsigned char got[9];
    size_t n = ob_pareto_front(x, y, 9, got);
    CHECK(n == 4, "front has %zu points, want 4", n);
    for (int i = 0; i < 9; i++) CHECK(got[i] == want[i], "point %d: on front %d, want %d", i, got[i], want[i]);

    /* one point, no points, all equal */
    double one = 7;
    CHECK(ob_pareto_front(&one, &one, 1, got) == 1 && got[0] == 1, "single point");
    CHECK(ob_pareto_front(x, y, 0, got) == 0, "empty set");
    double ex[] = {2, 2, 2}, ey[] = {1, 1, 1};
    CHECK(ob_pareto_front(ex, ey, 3, got) == 3, "equal points are all on the front");

    /* minimising one axis: negate it (accuracy up, size down) */
    double acc[] = {0.62, 0.62, 0.58, 0.61}, size[] = {60, 16, 9, 9.5}, negsize[4];
    for (int i = 0; i < 4; i++) negsize[i] = -size[i];
    unsigned char w2[] = {0, 1, 1, 1};
    ob_pareto_front(negsize, acc, 4, got);
    for (int i = 0; i < 4; i++) CHECK(got[i] == w2[i], "size front point %d: %d", i, got[i]);
}

enum { BASE, Q8, Q4, GPTQ, FAILED, N };
static const ob_candidate cands[N] = {
    {"baseline", 1, 0.62, 5.00, 40, 90e6, 60e6},
    {"q8_0", 1, 0.62, 5.01, 70, 45e6, 16e6},
    {"q4_0", 1, 0.58, 5.30, 95, 38e6, 9e6},
    {"gptq", 1, 0.61, 5.10, 90, 39e6, 9.5e6},
    {"broken", 0, 0.99, 1.0, 500, 1e6, 1e6},
};

static int pick(double min_acc, double max_ppl, double max_mem, int baseline, ob_recommendation *rec) {
    ob_constraints k = {min_acc, max_ppl, max_mem};
    ob_recommend(cands, N, baseline, &k, rec);
    return rec->index;
}

static void check_recommend(void) {
    ob_recommendation rec;
    CHECK(pick(NAN, NAN, NAN, BASE, &rec) == Q4, "no bounds: %d", rec.index);
    CHECK(strstr(rec.reason, "q4_0") && strstr(rec.reason, "no bound was given"), "reason: %s", rec.reason);
    CHECK(rec.n_feasible == 4, "feasible %d", rec.n_feasible);

    CHECK(pick(0.6, NAN, NAN, BASE, &rec) == GPTQ, "min acc 0.6: %d", rec.index);
    CHECK(strstr(rec.reason, "accuracy >= 0.6") && strstr(rec.reason, "3 recipes"), "reason: %s", rec.reason);
    CHECK(pick(0.62, NAN, NAN, BASE, &rec) == Q8, "min acc 0.62 (inclusive): %d", rec.index);

    CHECK(pick(NAN, 1, NAN, BASE, &rec) == Q8, "ppl +1%%: %d", rec.index);
    CHECK(strstr(rec.reason, "+0.20%") && strstr(rec.reason, "'baseline'"), "reason: %s", rec.reason);
    CHECK(pick(NAN, 3, NAN, BASE, &rec) == GPTQ, "ppl +3%%: %d", rec.index);
    CHECK(pick(NAN, 6, NAN, BASE, &rec) == Q4, "ppl +6%% (q4 is +6.0%%, inclusive): %d", rec.index);
    CHECK(pick(NAN, 0, NAN, BASE, &rec) == BASE, "ppl +0%%: only the baseline: %d", rec.index);
    /* relative to another baseline: q8's ppl 5.01 */
    CHECK(pick(NAN, 2, NAN, Q8, &rec) == GPTQ, "ppl +2%% over q8: %d", rec.index);

    CHECK(pick(NAN, NAN, 38.5e6, BASE, &rec) == Q4, "memory 38.5 MB: %d", rec.index);
    CHECK(strstr(rec.reason, "peak memory <="), "reason: %s", rec.reason);
    CHECK(pick(0.6, NAN, 39e6, BASE, &rec) == GPTQ, "acc 0.6 and memory 39 MB (inclusive): %d", rec.index);
    CHECK(pick(0.6, 1, 100e6, BASE, &rec) == Q8, "all three bounds: %d", rec.index);

    /* nothing qualifies */
    CHECK(pick(0.7, NAN, NAN, BASE, &rec) == -1, "acc 0.7: %d", rec.index);
    CHECK(strstr(rec.reason, "No recipe satisfies accuracy >= 0.7") && strstr(rec.reason, "0 meet the accuracy"),
          "reason: %s", rec.reason);
    CHECK(pick(0.62, NAN, 40e6, BASE, &rec) == -1, "acc 0.62 and 40 MB: %d", rec.index);
    CHECK(strstr(rec.reason, "2 meet the accuracy bound") && strstr(rec.reason, "2 meet the memory bound") &&
              strstr(rec.reason, "none meets all"),
          "reason: %s", rec.reason);
    CHECK(pick(NAN, 5, NAN, -1, &rec) == -1, "ppl bound without a baseline: %d", rec.index);
    CHECK(strstr(rec.reason, "baseline") && strstr(rec.reason, "no perplexity"), "reason: %s", rec.reason);
    ob_candidate failed_only = cands[FAILED];
    ob_constraints none = ob_constraints_none();
    ob_recommend(&failed_only, 1, -1, &none, &rec);
    CHECK(rec.index == -1 && strstr(rec.reason, "no cell finished"), "only failed cells: %s", rec.reason);

    /* a missing number fails the bound that needs it */
    ob_candidate no_acc[2] = {{"a", 1, NAN, 5, 100, 1, 1}, {"b", 1, 0.5, 5, 50, 1, 1}};
    ob_constraints k = {0.1, NAN, NAN};
    ob_recommend(no_acc, 2, 0, &k, &rec);
    CHECK(rec.index == 1, "candidate without accuracy picked under --min-accuracy: %d", rec.index);

    /* ties on speed go to the smaller; without speeds, the smallest wins */
    ob_candidate tie[3] = {{"big", 1, 1, 5, 80, 1, 300}, {"small", 1, 1, 5, 80, 1, 100}, {"slow", 1, 1, 5, 10, 1, 1}};
    ob_recommend(tie, 3, 0, &none, &rec);
    CHECK(rec.index == 1, "speed tie: %d", rec.index);
    ob_candidate nospeed[3] = {{"a", 1, 1, 5, NAN, 1, 300}, {"b", 1, 1, 5, NAN, 1, 100}, {"c", 1, 1, 5, NAN, 1, NAN}};
    ob_recommend(nospeed, 3, 0, &none, &rec);
    CHECK(rec.index == 1 && strstr(rec.reason, "smallest model"), "no speeds: %d %s", rec.index, rec.reason);
}

int main(void) {
    check_front();
    check_recommend();
    return CHECK_DONE("test_pareto");
}

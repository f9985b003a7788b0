/* sampler.c - picking the next token: greedy, temperature, top-k, top-p,
 * repetition penalty, with a seeded generator (xoshiro256** of our own). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optibench.h"

struct ob_sampler {
    ob_sampler_params p;
    int n_vocab;
    uint64_t s[4];       /* generator state */
    float *probs;        /* [n_vocab] */
    int32_t *idx;        /* [n_vocab] */
};

ob_sampler_params ob_sampler_default_params(void) {
    ob_sampler_params p = {.temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .repeat_penalty = 1.0f,
                           .repeat_last_n = 64, .seed = 42};
    return p;
}

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }

static double next_uniform(ob_sampler *s) { /* [0, 1) */
    uint64_t *q = s->s, r = rotl(q[1] * 5, 7) * 9, t = q[1] << 17;
    q[2] ^= q[0];
    q[3] ^= q[1];
    q[1] ^= q[2];
    q[0] ^= q[3];
    q[2] ^= t;
    q[3] = rotl(q[3], 45);
    return (double)(r >> 11) * (1.0 / 9007199254740992.0);
}

int ob_sampler_new(const ob_sampler_params *params, int n_vocab, ob_sampler **out, ob_err *err) {
    *out = NULL;
    if (n_vocab <= 0) return ob_fail(err, OB_EINVAL, "sampler: vocabulary size %d", n_vocab);
    if (params->temperature < 0 || params->top_p <= 0 || params->top_p > 1 || params->top_k < 0 ||
        params->repeat_penalty <= 0)
        return ob_fail(err, OB_EINVAL, "sampler: temperature >= 0, 0 < top_p <= 1, top_k >= 0, repeat_penalty > 0");
    ob_sampler *s = calloc(1, sizeof *s);
    if (!s) return ob_fail(err, OB_ENOMEM, "sampler: out of memory");
    s->p = *params;
    s->n_vocab = n_vocab;
    s->probs = malloc((size_t)n_vocab * sizeof(float));
    s->idx = malloc((size_t)n_vocab * sizeof(int32_t));
    if (!s->probs || !s->idx) {
        ob_sampler_free(s);
        return ob_fail(err, OB_ENOMEM, "sampler: out of memory");
    }
    uint64_t seed = params->seed;
    for (int i = 0; i < 4; i++) s->s[i] = splitmix(&seed);
    *out = s;
    return 0;
}

void ob_sampler_free(ob_sampler *s) {
    if (!s) return;
    free(s->probs);
    free(s->idx);
    free(s);
}

/* Min-heap sift-down on idx[0..n) keyed by probs[idx[i]]. */
static void sift_down(int32_t *idx, const float *probs, int r, int n) {
    for (;;) {
        int c = 2 * r + 1;
        if (c >= n) return;
        if (c + 1 < n && probs[idx[c + 1]] < probs[idx[c]]) c++;
        if (!(probs[idx[c]] < probs[idx[r]])) return;
        int32_t t = idx[c];
        idx[c] = idx[r];
        idx[r] = t;
        r = c;
    }
}

/* Sorts idx by descending probability: heap sort with a min-heap, so each
 * extracted minimum goes to the back. */
static void sort_desc(int32_t *idx, const float *probs, int n) {
    for (int r = n / 2 - 1; r >= 0; r--) sift_down(idx, probs, r, n);
    for (int end = n - 1; end > 0; end--) {
        int32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        sift_down(idx, probs, 0, end);
    }
}

int32_t ob_sample(ob_sampler *s, float *logits, const int32_t *history, int n_history) {
    int V = s->n_vocab;
    if (s->p.repeat_penalty != 1.0f && history) {
        int from = n_history - s->p.repeat_last_n;
        for (int i = from < 0 ? 0 : from; i < n_history; i++) {
            int32_t t = history[i];
            if (t < 0 || t >= V) continue;
            /* applied once per distinct token: skip if seen later in the window */
            int later = 0;
            for (int j = i + 1; j < n_history && !later; j++) later = history[j] == t;
            if (later) continue;
            logits[t] = logits[t] > 0 ? logits[t] / s->p.repeat_penalty : logits[t] * s->p.repeat_penalty;
        }
    }
    if (s->p.temperature == 0.0f) {
        int32_t best = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
    float mx = logits[0];
    for (int i = 1; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < V; i++) {
        s->probs[i] = expf((logits[i] - mx) / s->p.temperature);
        sum += s->probs[i];
    }
    for (int i = 0; i < V; i++) s->probs[i] = (float)(s->probs[i] / sum);
    int n = V;
    for (int i = 0; i < V; i++) s->idx[i] = i;
    if ((s->p.top_k > 0 && s->p.top_k < V) || s->p.top_p < 1.0f) {
        sort_desc(s->idx, s->probs, V);
        if (s->p.top_k > 0 && s->p.top_k < n) n = s->p.top_k;
        if (s->p.top_p < 1.0f) {
            double cum = 0;
            for (int i = 0; i < n; i++) {
                cum += s->probs[s->idx[i]];
                if (cum >= s->p.top_p) {
                    n = i + 1;
                    break;
                }
            }
        }
    }
    double total = 0;
    for (int i = 0; i < n; i++) total += s->probs[s->idx[i]];
    double r = next_uniform(s) * total, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += s->probs[s->idx[i]];
        if (r < acc) return s->idx[i];
    }
    return s->idx[n - 1];
}

/* test_util.h - small helpers several tests share: a seeded normal random
 * generator (xorshift64* + Box-Muller) and writing a buffer to DIR/NAME for
 * the NumPy references that read --dump folders. */
#ifndef OB_TESTS_TEST_UTIL_H
#define OB_TESTS_TEST_UTIL_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    uint64_t s; /* state; any nonzero seed */
} rng_t;

static inline uint64_t rng_next(rng_t *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

/* uniform in (0, 1) */
static inline double rng_uniform(rng_t *r) { return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0; }

/* standard normal */
static inline float rng_normal(rng_t *r) {
    return (float)(sqrt(-2.0 * log(rng_uniform(r))) * cos(6.283185307179586 * rng_uniform(r)));
}

/* n bytes of p to dir/name; 0 or -1 */
static inline int write_raw(const char *dir, const char *name, const void *p, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) || w != n ? -1 : 0;
}

/* Adds the squared differences of a[0..n) from the reference b to *num,
 * b's squares to *den (nmse = num / den, as ggml's test-backend-ops), and
 * keeps the largest |a - b| in *maxd (a NaN makes it NaN). */
static inline void err_acc(const float *a, const float *b, int64_t n, double *num, double *den, double *maxd) {
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        *num += d * d;
        *den += (double)b[i] * b[i];
        if (!(fabs(d) <= *maxd)) *maxd = fabs(d);
    }
}

/* Mean over n positions of KL(softmax(a) || softmax(b)), V logits each. */
static inline double mean_kld(const float *a, const float *b, int n, int V) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *la = a + (size_t)i * V, *lb = b + (size_t)i * V;
        double ma = la[0], mb = lb[0], sa = 0, sb = 0, kl = 0;
        for (int v = 1; v < V; v++) ma = fmax(ma, la[v]), mb = fmax(mb, lb[v]);
        for (int v = 0; v < V; v++) sa += exp(la[v] - ma), sb += exp(lb[v] - mb);
        double lza = ma + log(sa), lzb = mb + log(sb);
        for (int v = 0; v < V; v++) {
            double lpa = la[v] - lza, lpb = lb[v] - lzb;
            kl += exp(lpa) * (lpa - lpb);
        }
        total += kl;
    }
    return total / n;
}

#endif

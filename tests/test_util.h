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

#endif

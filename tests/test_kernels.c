/* test_kernels.c - the dense kernels at every SIMD level against the scalar
 * reference, the fp16/bf16 conversions, and ob_linear's thread split.
 *
 * Accuracy measure: normalized mean squared error
 *     nmse = sum (a - b)^2 / sum b^2      (b = scalar reference)
 * as ggml's test-backend-ops does, plus the largest absolute difference,
 * printed per case as llm.c's test does.
 *
 * Threshold, the same for F32, F16 and BF16: the SIMD kernels decode every
 * weight exactly (fp16/bf16 -> fp32 is exact), so they compute the very same
 * products as the reference and differ only in the order of the float32
 * additions (16 or 8 partial sums, FMA rounding once).  For a dot product of
 * length K with random signs both orders err by about sqrt(K) * 2^-24
 * relative to the terms, i.e. nmse ~ K * 2^-48 ~ 1e-12 at K = 2100; a case
 * with a single output (1 x 301) whose sum happens to cancel shows up to
 * ~1e-11.  NMSE_MAX = 1e-9 leaves a margin of 100 over that, while any
 * indexing bug (one wrong or missing term out of K <= 2100) gives
 * nmse >= ~1e-4. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/matrix.h"
#include "optibench.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TEST_X86 1
#endif

#define NMSE_MAX 1e-9
#define SENTINEL 12345.0f

/* ----------------------------------------------------------- helpers */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r) { /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

static float rng_unit(rng_t *r) { /* uniform in [-1, 1) */
    return (float)((double)(rng_next(r) >> 40) / (double)(1u << 23) - 1.0);
}

static float u32_as_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_as_u32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* A random rows x cols matrix in fmt (values in [-1, 1)); free() it. */
static void *make_weights(ob_format fmt, int64_t rows, int64_t cols, rng_t *rng) {
    size_t n = (size_t)(rows * cols);
    if (fmt == OB_FMT_F32) {
        float *w = malloc((n ? n : 1) * 4);
        for (size_t i = 0; i < n; i++) w[i] = rng_unit(rng);
        return w;
    }
    uint16_t *w = malloc((n ? n : 1) * 2);
    for (size_t i = 0; i < n; i++) {
        float v = rng_unit(rng);
        w[i] = fmt == OB_FMT_F16 ? ob_f32_to_f16(v) : ob_f32_to_bf16(v);
    }
    return w;
}

static float *make_vec(size_t n, rng_t *rng) {
    float *v = malloc((n ? n : 1) * 4);
    for (size_t i = 0; i < n; i++) v[i] = rng_unit(rng);
    return v;
}

typedef struct {
    double nmse, maxdiff;
} err_t;

/* a vs reference b over n values at stride 1 */
static void err_add(err_t *e, const float *a, const float *b, int64_t n, double *num,
                    double *den) {
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        *num += d * d;
        *den += (double)b[i] * b[i];
        if (!(fabs(d) <= e->maxdiff)) e->maxdiff = fabs(d); /* NaN sticks */
    }
}

static void err_finish(err_t *e, double num, double den) {
    e->nmse = den > 0 ? num / den : (num > 0 ? INFINITY : 0);
    if (isnan(num)) e->nmse = NAN;
}

static void err_max(err_t *acc, err_t e) {
    if (!(e.nmse <= acc->nmse)) acc->nmse = e.nmse;
    if (!(e.maxdiff <= acc->maxdiff)) acc->maxdiff = e.maxdiff;
}

/* --------------------------------------------------- half conversions */

static void test_half_known(void) {
    static const struct {
        float f;
        uint16_t h;
    } f16[] = {
        {1.0f, 0x3c00},      {-2.0f, 0xc000},     {0.5f, 0x3800},      {65504.0f, 0x7bff},
        {-65504.0f, 0xfbff}, {0.0f, 0x0000},      {-0.0f, 0x8000},     {0.333333343f, 0x3555},
        {65519.0f, 0x7bff},  /* below the midpoint to infinity */
        {65520.0f, 0x7c00},  /* the midpoint: ties to even = infinity */
        {1e6f, 0x7c00},      {-1e6f, 0xfc00},
        {6.103515625e-05f, 0x0400},      /* 2^-14, smallest normal */
        {6.097555160522461e-05f, 0x03ff}, /* largest subnormal 1023 * 2^-24 */
        {5.960464477539063e-08f, 0x0001}, /* 2^-24, smallest subnormal */
        {2.9802322387695312e-08f, 0x0000}, /* 2^-25: tie, rounds to even 0 */
        {2.9802326e-08f, 0x0001},          /* just above 2^-25 */
        {8.940696716308594e-08f, 0x0002},  /* 1.5 * 2^-24: tie, rounds to even 2 */
        {1.4901161193847656e-07f, 0x0002}, /* 2.5 * 2^-24: tie, rounds to even 2 */
        {1.00048828125f, 0x3c00},          /* 1 + 2^-11: tie, to even 0x3c00 */
        {1.00146484375f, 0x3c02},          /* 1 + 3 * 2^-11: tie, to even 0x3c02 */
        {1.0009765625f, 0x3c01},           /* 1 + 2^-10 exactly */
        {1e-10f, 0x0000},                  {-1e-10f, 0x8000},
    };
    for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; i++) {
        uint16_t h = ob_f32_to_f16(f16[i].f);
        CHECK(h == f16[i].h, "ob_f32_to_f16(%.10g) = 0x%04x, want 0x%04x", f16[i].f, h, f16[i].h);
    }
    CHECK(ob_f32_to_f16(INFINITY) == 0x7c00, "f16(inf)");
    CHECK(ob_f32_to_f16(-INFINITY) == 0xfc00, "f16(-inf)");
    uint16_t hn = ob_f32_to_f16(NAN);
    CHECK((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0, "f16(nan) = 0x%04x is not a nan", hn);
    /* a NaN whose payload sits only in the low bits must stay a NaN */
    hn = ob_f32_to_f16(u32_as_f32(0x7f800001u));
    CHECK((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0, "f16(snan 0x7f800001) = 0x%04x", hn);

    /* f16 -> f32 */
    CHECK(ob_f16_to_f32(0x3c00) == 1.0f, "f16 0x3c00");
    CHECK(ob_f16_to_f32(0x7bff) == 65504.0f, "f16 0x7bff");
    CHECK(ob_f16_to_f32(0x0001) == 5.960464477539063e-08f, "f16 0x0001");
    CHECK(ob_f16_to_f32(0x03ff) == 6.097555160522461e-05f, "f16 0x03ff");
    CHECK(ob_f16_to_f32(0x0400) == 6.103515625e-05f, "f16 0x0400");
    CHECK(f32_as_u32(ob_f16_to_f32(0x8000)) == 0x80000000u, "f16 -0");
    CHECK(ob_f16_to_f32(0x7c00) == INFINITY && ob_f16_to_f32(0xfc00) == -INFINITY, "f16 inf");
    CHECK(isnan(ob_f16_to_f32(0x7e00)) && isnan(ob_f16_to_f32(0x7c01)), "f16 nan");

    /* every finite f16 survives f16 -> f32 -> f16 */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        if (ob_f32_to_f16(ob_f16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK(bad == 0, "%d finite f16 values do not round-trip", bad);

    /* bf16 */
    static const struct {
        uint32_t f;
        uint16_t h;
    } bf[] = {
        {0x3f800000u, 0x3f80}, /* 1.0 */
        {0xc0000000u, 0xc000}, /* -2.0 */
        {0x3f808000u, 0x3f80}, /* tie, to even */
        {0x3f818000u, 0x3f82}, /* tie, to even (up) */
        {0x3f808001u, 0x3f81}, /* just above the tie */
        {0x3f807fffu, 0x3f80}, /* just below the tie */
        {0x7f7fffffu, 0x7f80}, /* FLT_MAX rounds to infinity */
        {0x7f800000u, 0x7f80}, /* inf */
        {0xff800000u, 0xff80}, /* -inf */
        {0x00000001u, 0x0000}, /* tiny subnormal rounds to zero */
        {0x00010000u, 0x0001}, /* bf16 subnormal, exact */
        {0x80000000u, 0x8000}, /* -0 */
    };
    for (size_t i = 0; i < sizeof bf / sizeof bf[0]; i++) {
        uint16_t h = ob_f32_to_bf16(u32_as_f32(bf[i].f));
        CHECK(h == bf[i].h, "ob_f32_to_bf16(0x%08x) = 0x%04x, want 0x%04x", bf[i].f, h, bf[i].h);
    }
    uint16_t bn = ob_f32_to_bf16(u32_as_f32(0x7f800001u)); /* low-payload NaN stays NaN */
    CHECK((bn & 0x7f80) == 0x7f80 && (bn & 0x7f) != 0, "bf16(snan) = 0x%04x", bn);
    bn = ob_f32_to_bf16(NAN);
    CHECK((bn & 0x7f80) == 0x7f80 && (bn & 0x7f) != 0, "bf16(nan) = 0x%04x", bn);
    bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if (f32_as_u32(ob_bf16_to_f32((uint16_t)h)) != h << 16) bad++;
        if ((h & 0x7f80) != 0x7f80 && ob_f32_to_bf16(ob_bf16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK(bad == 0, "%d bf16 values do not convert exactly", bad);
}

#ifdef TEST_X86
/* The CPU's own conversion (vcvtps2ph, round to nearest even) as oracle. */
__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f) {
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }

static void test_half_vs_hardware(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("f16c")) {
        printf("  (no F16C: hardware conversion comparison skipped)\n");
        return;
    }
    rng_t rng = {0x1234567};
    int bad = 0, n = 0;
    /* random bit patterns over the whole float range plus a dense sweep of
     * the f16 range (exponents 102..143) including every tie */
    for (int i = 0; i < 2000000; i++, n++) {
        uint32_t u = (uint32_t)rng_next(&rng);
        if (i & 1) u = (u & 0x807fffffu) | ((uint32_t)(102 + (u >> 23) % 42) << 23);
        if (i % 4 == 2) u &= 0xffffe000u | (1u << 12); /* exact ties */
        float f = u32_as_f32(u);
        uint16_t a = ob_f32_to_f16(f), b = hw_f32_to_f16(f);
        if (isnan(f)) {
            if ((a & 0x7c00) != 0x7c00 || !(a & 0x3ff) || (a & 0x8000) != (b & 0x8000)) bad++;
        } else if (a != b) {
            if (bad < 5) fprintf(stderr, "  f16(0x%08x): ob 0x%04x, cpu 0x%04x\n", u, a, b);
            bad++;
        }
    }
    CHECK(bad == 0, "ob_f32_to_f16 differs from vcvtps2ph on %d of %d values", bad, n);
    bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float a = ob_f16_to_f32((uint16_t)h), b = hw_f16_to_f32((uint16_t)h);
        if (isnan(b) ? !isnan(a) : f32_as_u32(a) != f32_as_u32(b)) bad++;
    }
    CHECK(bad == 0, "ob_f16_to_f32 differs from vcvtph2ps on %d of 65536 values", bad);
}
#endif

/* Every f16 / bf16 bit pattern through each level's kernels: dequant_row is
 * bitwise (NaNs: still NaN), matvec and matmul with x = 1 give each finite
 * weight back exactly. */
static void test_kernel_conversion(ob_format fmt, ob_simd lv) {
    const ob_format_ops *ops = ob_format_get_at(fmt, lv);
    uint16_t *all = malloc(0x10000 * 2), *fin = malloc(0x10000 * 2);
    int64_t n_fin = 0;
    uint16_t expmask = fmt == OB_FMT_F16 ? 0x7c00 : 0x7f80;
    for (uint32_t h = 0; h < 0x10000; h++) {
        all[h] = (uint16_t)h;
        if ((h & expmask) != expmask) fin[n_fin++] = (uint16_t)h;
    }
    float (*cvt)(uint16_t) = fmt == OB_FMT_F16 ? ob_f16_to_f32 : ob_bf16_to_f32;

    ob_matrix row;
    ob_matrix_init(&row, fmt, 1, 0x10000, all);
    row.ops = ops;
    float *out = malloc(0x10000 * 4);
    ops->dequant_row(&row, 0, out);
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float want = cvt((uint16_t)h);
        if (isnan(want) ? !isnan(out[h]) : f32_as_u32(out[h]) != f32_as_u32(want)) bad++;
    }
    CHECK(bad == 0, "%s %s dequant_row: %d of 65536 wrong", ops->name, ob_simd_name(lv), bad);

    ob_matrix col;
    ob_matrix_init(&col, fmt, n_fin, 1, fin);
    col.ops = ops;
    enum { NT = 13 };
    float one[NT], *Y = malloc((size_t)n_fin * NT * 4);
    for (int t = 0; t < NT; t++) one[t] = 1.0f;
    ops->matvec(&col, one, Y, 0, n_fin);
    bad = 0;
    for (int64_t r = 0; r < n_fin; r++)
        if (Y[r] != cvt(fin[r])) bad++;
    CHECK(bad == 0, "%s %s matvec x=1: %d of %lld weights wrong", ops->name, ob_simd_name(lv), bad,
          (long long)n_fin);
    ops->matmul(&col, one, NT, Y, n_fin, 0, n_fin);
    bad = 0;
    for (int t = 0; t < NT; t++)
        for (int64_t r = 0; r < n_fin; r++)
            if (Y[t * n_fin + r] != cvt(fin[r])) bad++;
    CHECK(bad == 0, "%s %s matmul x=1: %d wrong", ops->name, ob_simd_name(lv), bad);
    free(all);
    free(fin);
    free(out);
    free(Y);
}

/* ------------------------------------------------ kernels vs reference */

static const int64_t NS[] = {2, 3, 4, 5, 13, 33, 40};
enum { N_NS = sizeof NS / sizeof NS[0] };

/* One shape at one level: matvec and matmul (every n in NS), on the full
 * row range and on an inner range [r0, r1) whose outside must stay
 * untouched; matmul writes with ldy = rows + 3. */
static void test_shape(ob_format fmt, ob_simd lv, int64_t rows, int64_t cols, rng_t *rng,
                       err_t *worst_mv, err_t *worst_mm) {
    const ob_format_ops *ops = ob_format_get_at(fmt, lv);
    const int64_t nmax = 40, ldy = rows + 3;
    void *w = make_weights(fmt, rows, cols, rng);
    float *X = make_vec((size_t)(nmax * cols), rng);
    float *Yr = malloc((size_t)(nmax * ldy) * 4), *Yk = malloc((size_t)(nmax * ldy) * 4);
    ob_matrix W;
    ob_matrix_init(&W, fmt, rows, cols, w);
    W.ops = ops;
    const char *lvn = ob_simd_name(lv);
    int64_t r0s[2] = {0, rows / 3}, r1s[2] = {rows, rows - rows / 4};

    /* dequant_row: bitwise equal to the reference (first and last row) */
    {
        const ob_format_ops *ref = ob_format_get_at(fmt, OB_SIMD_SCALAR);
        float *d0 = malloc((size_t)(cols + 1) * 4), *d1 = malloc((size_t)(cols + 1) * 4);
        for (int64_t r = 0; r < rows; r += rows > 1 ? rows - 1 : 1) {
            d0[cols] = d1[cols] = SENTINEL;
            ref->dequant_row(&W, r, d0);
            ops->dequant_row(&W, r, d1);
            CHECK(memcmp(d0, d1, (size_t)(cols + 1) * 4) == 0, "%s %s dequant_row %lldx%lld row %lld",
                  ops->name, lvn, (long long)rows, (long long)cols, (long long)r);
        }
        free(d0);
        free(d1);
    }

    /* matvec */
    err_t mv = {0, 0};
    for (int sub = 0; sub < 2; sub++) {
        int64_t r0 = r0s[sub], r1 = r1s[sub];
        if (sub && r1 - r0 == rows) break;
        for (int64_t i = 0; i < ldy; i++) Yr[i] = Yk[i] = SENTINEL;
        ops->matvec_ref(&W, X, Yr, r0, r1);
        ops->matvec(&W, X, Yk, r0, r1);
        double num = 0, den = 0;
        err_t e = {0, 0};
        err_add(&e, Yk + r0, Yr + r0, r1 - r0, &num, &den);
        err_finish(&e, num, den);
        err_max(&mv, e);
        int outside = 0;
        for (int64_t i = 0; i < ldy; i++)
            if ((i < r0 || i >= r1) && Yk[i] != SENTINEL) outside++;
        CHECK(outside == 0, "%s %s matvec %lldx%lld [%lld,%lld): wrote %d values outside",
              ops->name, lvn, (long long)rows, (long long)cols, (long long)r0, (long long)r1,
              outside);
    }
    CHECK(mv.nmse <= NMSE_MAX, "%s %s matvec %lldx%lld: nmse %.3g > %g", ops->name, lvn,
          (long long)rows, (long long)cols, mv.nmse, NMSE_MAX);

    /* matmul */
    err_t mm = {0, 0};
    for (int ni = 0; ni < N_NS; ni++) {
        int64_t n = NS[ni];
        for (int sub = 0; sub < 2; sub++) {
            int64_t r0 = r0s[sub], r1 = r1s[sub];
            if (sub && r1 - r0 == rows) break;
            for (int64_t i = 0; i < n * ldy; i++) Yr[i] = Yk[i] = SENTINEL;
            ops->matmul_ref(&W, X, n, Yr, ldy, r0, r1);
            ops->matmul(&W, X, n, Yk, ldy, r0, r1);
            double num = 0, den = 0;
            err_t e = {0, 0};
            for (int64_t t = 0; t < n; t++)
                err_add(&e, Yk + t * ldy + r0, Yr + t * ldy + r0, r1 - r0, &num, &den);
            err_finish(&e, num, den);
            err_max(&mm, e);
            CHECK(e.nmse <= NMSE_MAX, "%s %s matmul %lldx%lld n=%lld [%lld,%lld): nmse %.3g",
                  ops->name, lvn, (long long)rows, (long long)cols, (long long)n, (long long)r0,
                  (long long)r1, e.nmse);
            int outside = 0;
            for (int64_t t = 0; t < n; t++)
                for (int64_t i = 0; i < ldy; i++)
                    if ((i < r0 || i >= r1) && Yk[t * ldy + i] != SENTINEL) outside++;
            CHECK(outside == 0, "%s %s matmul %lldx%lld n=%lld: wrote %d values outside",
                  ops->name, lvn, (long long)rows, (long long)cols, (long long)n, outside);
        }
    }
    if (lv != OB_SIMD_SCALAR)
        printf("  %-4s %-6s %4lld x %-4lld  matvec nmse %8.2e max|d| %8.2e   "
               "matmul(n=2..40) nmse %8.2e max|d| %8.2e\n",
               ops->name, lvn, (long long)rows, (long long)cols, mv.nmse, mv.maxdiff, mm.nmse,
               mm.maxdiff);
    err_max(worst_mv, mv);
    err_max(worst_mm, mm);
    free(w);
    free(X);
    free(Yr);
    free(Yk);
}

static void test_kernels_vs_ref(void) {
    static const int64_t rows_list[] = {1, 5, 17, 288};
    static const int64_t cols_list[] = {1, 7, 33, 288, 301};
    /* extra shapes: several K chunks (AVX-512 chunk 384, AVX2 512), row
     * blocks with ragged ends, K with every tail length */
    static const int64_t extra[][2] = {{70, 1000}, {33, 2100}, {100, 16}, {48, 15}, {31, 47}};
    rng_t rng = {42};
    for (int f = 0; f < OB_FMT_DENSE_COUNT; f++) {
        for (int l = OB_SIMD_SCALAR; l <= (int)ob_cpu_simd_max(); l++) {
            const ob_format_ops *ops = ob_format_get_at((ob_format)f, (ob_simd)l);
            if (l == OB_SIMD_SCALAR)
                CHECK(ops->matvec == ops->matvec_ref && ops->matmul == ops->matmul_ref,
                      "%s: scalar level is not the reference", ops->name);
            err_t mv = {0, 0}, mm = {0, 0};
            int cases = 0;
            for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
                for (size_t ci = 0; ci < sizeof cols_list / sizeof cols_list[0]; ci++, cases++)
                    test_shape((ob_format)f, (ob_simd)l, rows_list[ri], cols_list[ci], &rng, &mv,
                               &mm);
            for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++, cases++)
                test_shape((ob_format)f, (ob_simd)l, extra[i][0], extra[i][1], &rng, &mv, &mm);
            printf("%-4s %-6s: %d shapes, worst matvec nmse %.2e max|d| %.2e, "
                   "matmul nmse %.2e max|d| %.2e (threshold %.0e)\n",
                   ops->name, ob_simd_name((ob_simd)l), cases, mv.nmse, mv.maxdiff, mm.nmse,
                   mm.maxdiff, NMSE_MAX);
            if (f != OB_FMT_F32) test_kernel_conversion((ob_format)f, (ob_simd)l);
        }
    }
}

/* ------------------------------------------------------------ ob_linear */

/* ob_linear with pools of 1 and 2 threads: both close to the reference and
 * bitwise equal to each other (the split never changes a row's sums). */
static void test_linear(void) {
    static const int64_t cases[][3] = {
        /* rows, cols, n */
        {288, 288, 1}, {768, 288, 1}, {17, 33, 1},   {63, 64, 1},   {100, 301, 1},
        {288, 288, 7}, {288, 768, 128}, {40, 301, 20}, {40, 301, 5}, {100, 64, 3},
        {48, 33, 16},  {20, 7, 40},    {1, 5, 9},      {40, 33, 64}, {48, 288, 100},
    };
    ob_err err;
    ob_pool *p1 = NULL, *p2 = NULL;
    CHECK_OK(ob_pool_new(1, &p1, &err), &err);
    CHECK_OK(ob_pool_new(2, &p2, &err), &err);
    if (!p1 || !p2) return;
    rng_t rng = {7};
    for (int f = 0; f < OB_FMT_DENSE_COUNT; f++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            int64_t rows = cases[i][0], cols = cases[i][1], n = cases[i][2];
            void *w = make_weights((ob_format)f, rows, cols, &rng);
            float *X = make_vec((size_t)(n * cols), &rng);
            float *Yr = malloc((size_t)(n * rows) * 4), *Y1 = malloc((size_t)(n * rows) * 4),
                  *Y2 = malloc((size_t)(n * rows) * 4);
            ob_matrix W;
            ob_matrix_init(&W, (ob_format)f, rows, cols, w);
            W.ops->matmul_ref(&W, X, n, Yr, rows, 0, rows);
            ob_linear(p1, &W, X, n, Y1, NULL);
            ob_linear(p2, &W, X, n, Y2, NULL);
            double num = 0, den = 0;
            err_t e = {0, 0};
            err_add(&e, Y1, Yr, n * rows, &num, &den);
            err_finish(&e, num, den);
            CHECK(e.nmse <= NMSE_MAX, "ob_linear %s %lldx%lld n=%lld: nmse %.3g", W.ops->name,
                  (long long)rows, (long long)cols, (long long)n, e.nmse);
            CHECK(memcmp(Y1, Y2, (size_t)(n * rows) * 4) == 0,
                  "ob_linear %s %lldx%lld n=%lld: 1 and 2 threads differ", W.ops->name,
                  (long long)rows, (long long)cols, (long long)n);
            free(w);
            free(X);
            free(Yr);
            free(Y1);
            free(Y2);
        }
    }
    ob_pool_free(p1);
    ob_pool_free(p2);
}

int main(void) {
    char cpu[512];
    ob_cpu_describe(cpu, sizeof cpu);
    printf("cpu: %s\n", cpu);
    test_half_known();
#ifdef TEST_X86
    test_half_vs_hardware();
#endif
    test_kernels_vs_ref();
    test_linear();
    return CHECK_DONE("test_kernels");
}

/* test_quant.c - the quantized weight formats.
 *
 *  1. hand-worked blocks: Q8_0, Q4_0, Q4_1 bytes equal llama.cpp's layout
 *     and RTN rules (values worked out by hand below);
 *  2. quantize -> dequantize of random N(0, 1) rows: normalized MSE
 *     nmse = sum (w - deq)^2 / sum w^2 under a per-format bound (the
 *     measured values are printed; each bound is ~1.3x the value RTN
 *     gives on normal data, so a broken rounding rule fails);
 *  3. every SIMD level's matvec and matmul against the scalar reference on
 *     the same quantized activations, by nmse (as ggml's test-backend-ops)
 *     with the largest difference printed.  The integer sums are exact, so
 *     only the order of float additions differs: bound 1e-9 as for the
 *     dense kernels (test_kernels.c explains the size);
 *  4. ob_linear / ob_linear_multi: 1 and 2 threads bitwise equal, multi
 *     equal to separate calls, a workspace smaller than n tokens (chunks)
 *     equal to a full one, one too small for a token gives NaN;
 *  5. end to end on stories15M (skipped with a message when absent): each
 *     format's logits over a short text against float32 by the mean KL
 *     divergence KL(p_f32 || p_fmt) per position, under a per-format bound. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_util.h"
#include "kernels/quant.h"
#include "optibench.h"

#define SIMD_NMSE_MAX 1e-9
#define SENTINEL 12345.0f

static float *normal_vec(size_t n, rng_t *rng) {
    float *v = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = rng_normal(rng);
    return v;
}

/* rows x cols of N(0,1) quantized to fmt; *ref receives the floats */
static void *make_quant(ob_format fmt, int64_t rows, int64_t cols, rng_t *rng, ob_matrix *W) {
    const ob_format_ops *ops = ob_format_get_at(fmt, OB_SIMD_SCALAR);
    size_t rb = ops->row_bytes(cols);
    uint8_t *data = malloc(rb * (size_t)rows + 1);
    float *x = normal_vec((size_t)cols, rng);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++) x[c] = rng_normal(rng);
        ops->quantize_row(x, cols, data + (size_t)r * rb);
    }
    free(x);
    ob_matrix_init(W, fmt, rows, cols, data);
    return data;
}

/* --------------------------------------------------- 1. hand-worked */

static void test_hand_blocks(void) {
    const ob_format_ops *q8 = ob_format_get(OB_FMT_Q8_0), *q40 = ob_format_get(OB_FMT_Q4_0),
                        *q41 = ob_format_get(OB_FMT_Q4_1);
    float x[32];
    uint8_t got[40], want[40];

    /* Q8_0: absmax 127 -> d = 1 (fp16 0x3c00); q = roundf(x): 2.5 -> 3, -2.5 -> -3 */
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    x[0] = -127.0f, x[1] = 2.5f, x[2] = -2.5f;
    q8->quantize_row(x, 32, got);
    want[0] = 0x00, want[1] = 0x3c;
    for (int j = 0; j < 32; j++) want[2 + j] = (uint8_t)(int8_t)(j - 16);
    want[2] = 0x81, want[3] = 3, want[4] = (uint8_t)-3;
    CHECK(!memcmp(got, want, 34), "Q8_0 hand block bytes differ");

    /* Q4_0: the largest magnitude is -8 -> d = -8 / -8 = 1; q = min(15, trunc(x + 8.5)):
     * x[j] = j - 8 (j < 16) -> q = j; high half: 7.4 -> 15, 7.6 -> 16 -> 15, -7.6 -> 0,
     * 0.5 -> 9, -0.5 -> 8, 0 -> 8 */
    for (int j = 0; j < 16; j++) x[j] = (float)(j - 8);
    for (int j = 16; j < 32; j++) x[j] = 0;
    x[16] = 7.4f, x[17] = 7.6f, x[18] = -7.6f, x[19] = 0.5f, x[20] = -0.5f;
    q40->quantize_row(x, 32, got);
    const uint8_t hi40[16] = {15, 15, 0, 9, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    want[0] = 0x00, want[1] = 0x3c;
    for (int j = 0; j < 16; j++) want[2 + j] = (uint8_t)(j | hi40[j] << 4);
    CHECK(!memcmp(got, want, 18), "Q4_0 hand block bytes differ");
    float back[32];
    ob_matrix W;
    ob_matrix_init(&W, OB_FMT_Q4_0, 1, 32, got);
    W.ops->dequant_row(&W, 0, back);
    CHECK(back[0] == -8.0f && back[15] == 7.0f && back[16] == 7.0f && back[18] == -8.0f && back[19] == 1.0f,
          "Q4_0 dequantized %g %g %g %g %g", back[0], back[15], back[16], back[18], back[19]);

    /* Q4_1: min -1, max 14 -> d = 1, m = -1 (0xbc00); q = min(15, trunc(x + 1 + 0.5)):
     * x[j] = j - 1 (j < 16) -> j; high: 14 -> 15, 0.4 -> 1, 0.6 -> 2, -1 -> 0, 5 -> 6 */
    for (int j = 0; j < 16; j++) x[j] = (float)(j - 1);
    for (int j = 16; j < 32; j++) x[j] = 5;
    x[16] = 14, x[17] = 0.4f, x[18] = 0.6f, x[19] = -1;
    q41->quantize_row(x, 32, got);
    const uint8_t hi41[16] = {15, 1, 2, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6};
    want[0] = 0x00, want[1] = 0x3c, want[2] = 0x00, want[3] = 0xbc;
    for (int j = 0; j < 16; j++) want[4 + j] = (uint8_t)(j | hi41[j] << 4);
    CHECK(!memcmp(got, want, 20), "Q4_1 hand block bytes differ");

    /* MXFP4: absmax 6 -> e = floor(log2 6) - 2 + 127 = 127, scale 1; 6 -> code 7,
     * -0.25 is a tie between 0 and -0.5: the first (code 0) wins */
    for (int j = 0; j < 32; j++) x[j] = 0;
    x[0] = 6, x[1] = -0.25f, x[2] = -1.5f, x[16] = 2.9f;
    ob_format_get(OB_FMT_MXFP4)->quantize_row(x, 32, got);
    CHECK(got[0] == 127 && got[1] == (7 | 5 << 4) && got[2] == 0 && got[3] == 8 + 3,
          "MXFP4 hand block: e %d qs %02x %02x %02x", got[0], got[1], got[2], got[3]);
}

/* NF4's integer levels: round(level * 16256), split as 128 * hi + lo with
 * hi and lo in the byte ranges the SIMD tables use; and the integer dot of
 * a row (int8 activations) against the float-level dot of its dequantized
 * weights and the float activations. */
static void *make_acts(const ob_format_ops *ops, const float *X, int64_t n, int64_t cols);

static void test_nf4_levels(void) {
    int bad = 0;
    double worst = 0;
    for (int k = 0; k < 16; k++) {
        long want = lrintf(ob_nf4_levels[k] * (float)OB_NF4_LEVEL_ONE);
        bad += ob_nf4_levels_q[k] != want || ob_nf4_levels_q[k] != 128 * ob_nf4_hi[k] + ob_nf4_lo[k] ||
               ob_nf4_hi[k] < -127 || ob_nf4_lo[k] < -64 || ob_nf4_lo[k] > 63;
        worst = fmax(worst, fabs((double)ob_nf4_levels_q[k] / OB_NF4_LEVEL_ONE - ob_nf4_levels[k]));
    }
    printf("NF4 integer levels: max |levels_q / 16256 - level| = %.2e\n", worst);
    CHECK(bad == 0, "NF4 integer level tables: %d entries wrong", bad);
    CHECK(worst < 3.1e-5, "NF4 integer levels off by %.3g", worst);

    rng_t rng = {4242};
    const int64_t rows = 16, cols = 1024;
    ob_matrix W;
    void *data = make_quant(OB_FMT_NF4, rows, cols, &rng, &W);
    float *x = normal_vec((size_t)cols, &rng), *w = malloc((size_t)cols * 4), y[16];
    void *a = make_acts(W.ops, x, 1, cols);
    W.ops->matvec_ref(&W, a, y, 0, rows);
    double num = 0, den = 0;
    for (int64_t r = 0; r < rows; r++) {
        W.ops->dequant_row(&W, r, w);
        double f = 0;
        for (int64_t c = 0; c < cols; c++) f += (double)w[c] * x[c];
        num += (y[r] - f) * (y[r] - f);
        den += f * f;
    }
    printf("NF4 integer dot (int8 activations) vs float dot: nmse %.2e\n", num / den);
    CHECK(num / den < 1e-3, "NF4 integer dot nmse %.3g vs the float dot", num / den);
    free(a);
    free(x);
    free(w);
    free(data);
}

/* ------------------------------------------------------ 2. round trip */

typedef struct {
    ob_format fmt;
    double nmse_max;
} fmt_bound;

/* measured on this test's data (printed): bounds ~1.3x those */
static const fmt_bound roundtrip_bounds[] = {
    {OB_FMT_Q8_0, 5.0e-5},   {OB_FMT_Q4_0, 1.1e-2},   {OB_FMT_Q4_1, 1.0e-2},  {OB_FMT_I4_G32, 1.0e-2},
    {OB_FMT_I4_G64, 1.3e-2}, {OB_FMT_I4_G128, 1.6e-2}, {OB_FMT_I4_ROW, 3.0e-2}, {OB_FMT_I8_G32, 5.0e-5},
    {OB_FMT_I8_G64, 6.0e-5}, {OB_FMT_I8_G128, 7.0e-5}, {OB_FMT_I8_ROW, 1.2e-4}, {OB_FMT_NF4, 1.2e-2},
    {OB_FMT_NF4_DQ, 1.3e-2}, {OB_FMT_MXFP4, 4.0e-2},  {OB_FMT_W8A8, 1.2e-4},
};
enum { N_QFMT = sizeof roundtrip_bounds / sizeof roundtrip_bounds[0] };

static void test_roundtrip(void) {
    rng_t rng = {12345};
    const int64_t rows = 64, cols = 1024;
    printf("quantize -> dequantize, %lld x %lld N(0,1): nmse (bound)\n", (long long)rows, (long long)cols);
    for (int i = 0; i < N_QFMT; i++) {
        ob_format f = roundtrip_bounds[i].fmt;
        const ob_format_ops *ops = ob_format_get_at(f, OB_SIMD_SCALAR);
        size_t rb = ops->row_bytes(cols);
        uint8_t *row = malloc(rb);
        float *x = malloc((size_t)cols * 4), *back = malloc((size_t)cols * 4);
        double num = 0, den = 0;
        ob_matrix W;
        ob_matrix_init(&W, f, 1, cols, row);
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t c = 0; c < cols; c++) x[c] = rng_normal(&rng);
            ops->quantize_row(x, cols, row);
            ops->dequant_row(&W, 0, back);
            for (int64_t c = 0; c < cols; c++) {
                num += ((double)x[c] - back[c]) * ((double)x[c] - back[c]);
                den += (double)x[c] * x[c];
            }
        }
        double nmse = num / den;
        printf("  %-8s %6.3f bits/w  nmse %.3e  (< %.1e)\n", ops->name, (double)rb * 8 / cols, nmse,
               roundtrip_bounds[i].nmse_max);
        CHECK(nmse < roundtrip_bounds[i].nmse_max, "%s round trip nmse %.3g", ops->name, nmse);
        free(row);
        free(x);
        free(back);
    }
}

/* ---------------------------------------------- 3. SIMD vs reference */

typedef struct {
    double nmse, maxdiff;
} err_t;


/* activations of n tokens in the form fmt's kernels take; free() it */
static void *make_acts(const ob_format_ops *ops, const float *X, int64_t n, int64_t cols) {
    if (!ops->act_bytes) return (void *)X;
    size_t stride = ops->act_bytes(cols);
    char *a = malloc(stride * (size_t)n + 1);
    for (int64_t t = 0; t < n; t++) ops->quantize_act(X + t * cols, cols, a + (size_t)t * stride);
    return a;
}

static err_t simd_case(ob_format f, ob_simd lv, int64_t rows, int64_t cols, rng_t *rng) {
    const ob_format_ops *ops = ob_format_get_at(f, lv);
    static const int64_t ns[] = {1, 2, 3, 4, 5, 13, 33, 40};
    const int64_t nmax = 40, ldy = rows + 3;
    ob_matrix W;
    void *data = make_quant(f, rows, cols, rng, &W);
    W.ops = ops;
    float *X = normal_vec((size_t)(nmax * cols), rng);
    void *A = make_acts(ops, X, nmax, cols);
    float *Yr = malloc((size_t)(nmax * ldy) * 4), *Yk = malloc((size_t)(nmax * ldy) * 4);
    double num = 0, den = 0, maxd = 0;
    int outside = 0;
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int64_t n = ns[k], r0 = rows > 2 ? rows / 3 : 0, r1 = rows > 2 ? rows - 1 : rows;
        for (int sub = 0; sub < 2; sub++) {
            int64_t a = sub ? r0 : 0, b = sub ? r1 : rows;
            for (int64_t i = 0; i < n * ldy; i++) Yr[i] = Yk[i] = SENTINEL;
            if (n == 1) {
                ops->matvec_ref(&W, A, Yr, a, b);
                ops->matvec(&W, A, Yk, a, b);
            } else {
                ops->matmul_ref(&W, A, n, Yr, ldy, a, b);
                ops->matmul(&W, A, n, Yk, ldy, a, b);
            }
            for (int64_t t = 0; t < n; t++) {
                err_acc(Yk + t * ldy + a, Yr + t * ldy + a, b - a, &num, &den, &maxd);
                for (int64_t i = 0; i < ldy; i++)
                    if ((i < a || i >= b) && Yk[t * ldy + i] != SENTINEL) outside++;
            }
        }
    }
    CHECK(outside == 0, "%s %s %lldx%lld: %d values written outside the rows", ops->name, ob_simd_name(lv),
          (long long)rows, (long long)cols, outside);
    if (A != X) free(A);
    free(X);
    free(Yr);
    free(Yk);
    free(data);
    err_t e = {den > 0 ? num / den : num, maxd};
    return e;
}

static void test_simd_vs_ref(void) {
    /* 16480 columns: 258 NF4 blocks, so NF4_DQ's second 256-block group and
     * a chunk of 16 scales cut short by the row's end (and a 32-wide last block) */
    static const int64_t shapes[][2] = {{1, 32},   {5, 64},    {17, 96}, {33, 288}, {64, 320},
                                        {7, 2048}, {100, 128}, {3, 16480}};
    rng_t rng = {777};
    for (int l = OB_SIMD_AVX2; l <= (int)ob_cpu_simd_max(); l++) {
        for (int i = 0; i < N_QFMT; i++) {
            ob_format f = roundtrip_bounds[i].fmt;
            const ob_format_ops *ops = ob_format_get_at(f, (ob_simd)l);
            err_t worst = {0, 0};
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                err_t e = simd_case(f, (ob_simd)l, shapes[s][0], shapes[s][1], &rng);
                CHECK(e.nmse <= SIMD_NMSE_MAX, "%s %s %lldx%lld: nmse %.3g vs reference", ops->name,
                      ob_simd_name((ob_simd)l), (long long)shapes[s][0], (long long)shapes[s][1], e.nmse);
                if (!(e.nmse <= worst.nmse)) worst.nmse = e.nmse;
                if (!(e.maxdiff <= worst.maxdiff)) worst.maxdiff = e.maxdiff;
            }
            printf("  %-8s %-6s%s matvec+matmul(n=1..40) vs ref: worst nmse %.2e max|d| %.2e\n", ops->name,
                   ob_simd_name((ob_simd)l), ops->matvec == ops->matvec_ref ? " (=ref)" : "", worst.nmse,
                   worst.maxdiff);
        }
    }
}

/* --------------------------------------------------------- 4. linear */

/* The activation quantizers of every level write the reference's bytes
 * (the formats' ops carry them; linear.c calls the matrix's own). */
static void test_act_quantizers(void) {
    static const int64_t cols[] = {32, 64, 96, 288, 2048, 5632};
    rng_t rng = {4242};
    float x[5632];
    static unsigned char want[5632 * 2], got[5632 * 2];
    for (int l = OB_SIMD_AVX2; l <= (int)ob_cpu_simd_max(); l++) {
        const ob_format kinds[] = {OB_FMT_Q4_0, OB_FMT_W8A8};
        for (int k = 0; k < 2; k++) {
            const ob_format_ops *ref = ob_format_get_at(kinds[k], OB_SIMD_SCALAR), *ops = ob_format_get_at(kinds[k], (ob_simd)l);
            int same = 1;
            for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
                for (int64_t i = 0; i < cols[c]; i++) x[i] = rng_normal(&rng) * (i % 7 == 0 ? 10.0f : 1.0f);
                if (c == 0)
                    for (int i = 0; i < 32; i++) x[i] = 0.0f; /* an all-zero block: d = 0 */
                const size_t nb = ref->act_bytes(cols[c]);
                memset(want, 0xa5, nb), memset(got, 0x5a, nb);
                ref->quantize_act(x, cols[c], want);
                ops->quantize_act(x, cols[c], got);
                same &= memcmp(want, got, nb) == 0;
            }
            printf("  %-6s activations %-6s: %s the reference's bytes\n", kinds[k] == OB_FMT_W8A8 ? "W8A8" : "q8a",
                   ob_simd_name((ob_simd)l), same ? "same as" : "DIFFER from");
            CHECK(same, "%s activation quantizer at %s differs from the reference", kinds[k] == OB_FMT_W8A8 ? "W8A8" : "q8a",
                  ob_simd_name((ob_simd)l));
        }
    }
}

static void test_linear_split(void) {
    ob_err err = {0};
    ob_pool *p1 = NULL, *p2 = NULL;
    CHECK_OK(ob_pool_new(1, &p1, &err), &err);
    CHECK_OK(ob_pool_new(2, &p2, &err), &err);
    if (!p1 || !p2) return;
    static const int64_t cases[][3] = {{288, 288, 1}, {768, 288, 7}, {40, 320, 100}, {130, 96, 33}, {17, 64, 3}};
    rng_t rng = {99};
    int bad_threads = 0, bad_multi = 0, bad_chunk = 0, bad_ref = 0, runs = 0;
    for (int i = 0; i < N_QFMT; i++) {
        ob_format f = roundtrip_bounds[i].fmt;
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++, runs++) {
            int64_t rows = cases[k][0], cols = cases[k][1], n = cases[k][2];
            ob_matrix W, W2;
            void *d1 = make_quant(f, rows, cols, &rng, &W), *d2 = make_quant(f, rows / 2 + 1, cols, &rng, &W2);
            float *X = normal_vec((size_t)(n * cols), &rng);
            size_t full = ob_linear_ws_bytes(cols, n), small = ob_linear_ws_bytes(cols, 3);
            ob_workspace ws = {malloc(full), full}, ws3 = {malloc(small), small};
            size_t ny = (size_t)(n * rows), ny2 = (size_t)(n * W2.rows);
            float *Y1 = malloc(ny * 4), *Y2 = malloc(ny * 4), *Y3 = malloc(ny * 4), *Yr = malloc(ny * 4);
            float *Z1 = malloc(ny2 * 4), *Za = malloc(ny * 4), *Zb = malloc(ny2 * 4);
            ob_linear(p1, &W, X, n, Y1, &ws);
            ob_linear(p2, &W, X, n, Y2, &ws);
            ob_linear(p2, &W, X, n, Y3, &ws3);
            bad_threads += memcmp(Y1, Y2, ny * 4) != 0;
            bad_chunk += memcmp(Y1, Y3, ny * 4) != 0;
            void *A = make_acts(W.ops, X, n, cols);
            W.ops->matmul_ref(&W, A, n, Yr, rows, 0, rows);
            if (A != X) free(A);
            double num = 0, den = 0, maxd = 0;
            err_acc(Y1, Yr, (int64_t)ny, &num, &den, &maxd);
            bad_ref += !(num <= SIMD_NMSE_MAX * den);
            ob_linear(p2, &W2, X, n, Z1, &ws);
            const ob_matrix *Ws[2] = {&W, &W2};
            float *Ys[2] = {Za, Zb};
            ob_linear_multi(p2, Ws, 2, X, n, Ys, &ws);
            bad_multi += memcmp(Za, Y1, ny * 4) != 0 || memcmp(Zb, Z1, ny2 * 4) != 0;
            free(d1), free(d2), free(X), free(ws.data), free(ws3.data);
            free(Y1), free(Y2), free(Y3), free(Yr), free(Z1), free(Za), free(Zb);
        }
    }
    CHECK(bad_threads == 0, "ob_linear: 1 and 2 threads differ in %d of %d cases", bad_threads, runs);
    CHECK(bad_chunk == 0, "ob_linear: a 3-token workspace differs from a full one in %d cases", bad_chunk);
    CHECK(bad_ref == 0, "ob_linear: %d cases off the reference", bad_ref);
    CHECK(bad_multi == 0, "ob_linear_multi: %d cases differ from separate calls", bad_multi);
    printf("ob_linear: %d cases, thread split / workspace chunks / multi bitwise equal\n", runs);

    /* a workspace too small for one token: NaN, not a wrong number */
    ob_matrix W;
    void *d = make_quant(OB_FMT_Q4_0, 8, 64, &rng, &W);
    float x[64], y[8];
    for (int c = 0; c < 64; c++) x[c] = 1;
    ob_workspace tiny = {y, 8};
    ob_linear(p1, &W, x, 1, y, &tiny);
    CHECK(isnan(y[0]) && isnan(y[7]), "a too small workspace must give NaN");
    free(d);
    ob_pool_free(p1);
    ob_pool_free(p2);
}

/* ------------------------------------------------- 5. end to end KLD */

/* mean over positions of KL(softmax(a) || softmax(b)), rows of V */

typedef struct {
    const char *fmt;
    double kld_max;
} kld_bound;

/* measured (printed) on this text: bounds ~2x those, rounded up */
static const kld_bound kld_bounds[] = {
    {"f16", 1e-5},     {"bf16", 5e-5},   {"q8_0", 6e-4},    {"w8a8", 3e-3},   {"i8_g32", 1e-3},
    {"i8_g64", 1e-3},  {"i8_g128", 1e-3}, {"i8_row", 1e-3}, {"q4_0", 0.1},    {"q4_1", 0.06},
    {"i4_g32", 0.07},  {"i4_g64", 0.1},  {"i4_g128", 0.18}, {"i4_row", 0.25}, {"nf4", 0.08},
    {"nf4_dq", 0.08},  {"mxfp4", 0.11},
};

static int logits_of(const char *path, const char *fmt, ob_pool *pool, const int32_t *toks, int n, float *out,
                     ob_quant_report *rep) {
    ob_err err = {0};
    ob_model *m = NULL;
    ob_ctx *ctx = NULL;
    int rc = ob_model_load(path, NULL, &m, &err);
    if (!rc && fmt) {
        ob_quant_params qp = ob_quant_default_params();
        qp.format = fmt;
        rc = ob_model_quantize(m, &qp, pool, rep, &err);
    }
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = n;
    if (!rc) rc = ob_ctx_new(m, pool, &cp, &ctx, &err);
    if (!rc) rc = ob_forward(ctx, 0, toks, n, 0, 1, out, &err);
    CHECK(rc == 0, "%s: %s", fmt ? fmt : "f32", err.msg);
    ob_ctx_free(ctx);
    ob_model_free(m);
    return rc;
}

static void test_end_to_end(void) {
    char path[1024];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(path, sizeof path, "%s/optibench/stories15M/model.bin", xdg);
    else snprintf(path, sizeof path, "%s/.cache/optibench/stories15M/model.bin", home ? home : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("stories15M not found at %s: end-to-end KLD skipped (optibench pull stories15M)\n", path);
        return;
    }
    fclose(f);
    ob_err err = {0};
    ob_pool *pool = NULL;
    ob_model *m = NULL;
    CHECK_OK(ob_pool_new(2, &pool, &err), &err);
    CHECK_OK(ob_model_load(path, NULL, &m, &err), &err);
    if (!pool || !m) return;
    const char *text = "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
                       "park with her friends. One day, she saw a big red ball under a tree.";
    int32_t toks[128];
    int n = 0;
    CHECK_OK(ob_tokenize(ob_model_tokenizer(m), text, strlen(text), 1, 0, toks, 128, &n, &err), &err);
    int V = ob_model_config(m)->n_vocab;
    ob_model_free(m);
    float *ref = malloc((size_t)n * V * 4), *got = malloc((size_t)n * V * 4);
    if (logits_of(path, NULL, pool, toks, n, ref, NULL) == 0) {
        printf("stories15M, %d tokens: mean KL(f32 || format) per position\n", n);
        for (size_t i = 0; i < sizeof kld_bounds / sizeof kld_bounds[0]; i++) {
            ob_quant_report rep = {0};
            if (logits_of(path, kld_bounds[i].fmt, pool, toks, n, got, &rep)) continue;
            double kld = mean_kld(ref, got, n, V), sq = 0;
            for (int t = 0; t < rep.n_tensors; t++) sq += rep.tensors[t].sqnr_db / rep.n_tensors;
            printf("  %-8s kld %.2e (< %.1e)  %2d tensors, mean SQNR %5.1f dB, %5.2f -> %5.2f MB\n",
                   kld_bounds[i].fmt, kld, kld_bounds[i].kld_max, rep.n_tensors, sq, rep.bytes_before / 1e6,
                   rep.bytes_after / 1e6);
            CHECK(kld < kld_bounds[i].kld_max, "%s: kld %.3g", kld_bounds[i].fmt, kld);
            CHECK(rep.n_tensors == 42 && rep.bytes_after < rep.bytes_before, "%s: report %d tensors",
                  kld_bounds[i].fmt, rep.n_tensors);
            ob_quant_report_free(&rep);
        }
    }
    free(ref);
    free(got);
    ob_pool_free(pool);
}

/* overrides and the embedding / head policy, on stories15M's shapes */
static void test_policy(void) {
    /* needs a model; reuse stories15M when present */
    char path[1024];
    const char *home = getenv("HOME"), *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) snprintf(path, sizeof path, "%s/optibench/stories15M/model.bin", xdg);
    else snprintf(path, sizeof path, "%s/.cache/optibench/stories15M/model.bin", home ? home : ".");
    ob_err err = {0};
    ob_model *m = NULL;
    if (ob_model_load(path, NULL, &m, &err)) {
        printf("stories15M not found: quantization policy test skipped\n");
        return;
    }
    const char *ov[] = {"blk.0.*=keep", "blk.*.ffn_down=q8_0", "output=q4_0"};
    ob_quant_params qp = ob_quant_default_params();
    qp.format = "q4_1";
    qp.overrides = ov;
    qp.n_overrides = 3;
    ob_quant_report rep;
    CHECK_OK(ob_model_quantize(m, &qp, NULL, &rep, &err), &err);
    int n_q8 = 0, n_q41 = 0, n_out = 0;
    for (int i = 0; i < rep.n_tensors; i++) {
        n_q8 += !strcmp(rep.tensors[i].format, "Q8_0");
        n_q41 += !strcmp(rep.tensors[i].format, "Q4_1");
        n_out += !strcmp(rep.tensors[i].name, "output");
        CHECK(strncmp(rep.tensors[i].name, "blk.0.", 6) != 0, "blk.0 must be kept: %s", rep.tensors[i].name);
    }
    CHECK(n_q8 == 5 && n_q41 == 30 && n_out == 1 && rep.n_tensors == 36,
          "policy: %d tensors, %d q8_0, %d q4_1, output %d", rep.n_tensors, n_q8, n_q41, n_out);
    CHECK(ob_model_config(m)->tied_embeddings == 0, "a head converted alone must be untied");
    ob_quant_report_free(&rep);
    const char *bad[] = {"blk.*=q3_zz"};
    qp.overrides = bad;
    qp.n_overrides = 1;
    CHECK(ob_model_quantize(m, &qp, NULL, NULL, &err) == OB_EINVAL, "unknown format must fail");
    ob_model_free(m);
}

int main(void) {
    char cpu[512];
    ob_cpu_describe(cpu, sizeof cpu);
    printf("cpu: %s (vnni %d)\n", cpu, ob_cpu_has_vnni());
    test_hand_blocks();
    test_roundtrip();
    test_nf4_levels();
    test_simd_vs_ref();
    test_act_quantizers();
    test_linear_split();
    test_policy();
    test_end_to_end();
    return CHECK_DONE("test_quant");
}

/* test_gptq.c - the GPTQ and AWQ cores (src/compress/) on synthetic layers.
 *
 *  - the integer grid on a hand-worked group (asymmetric and symmetric);
 *  - with a diagonal Hessian GPTQ has nothing to compensate and equals
 *    round-to-nearest exactly;
 *  - on correlated inputs with outlier channels GPTQ's layer-output error
 *    is strictly below RTN's for 3, 4 and 8 bits, groups of 32 and 128 and
 *    per channel, symmetric or not, with and without act-order (printed);
 *    the error computed from H equals the one measured on the inputs;
 *  - act-order groups hold exactly group_size columns each, and g_idx
 *    follows the permutation; dead input columns are zeroed;
 *  - a Hessian that is not positive definite raises the damp (reported);
 *  - AWQ's scale search finds a ratio above 0 whose output error is
 *    strictly below RTN's on inputs with outlier channels;
 *  - bad parameters are refused;
 *  - the GPTQ checkpoint packing (qweight, qzeros with the v1 zero - 1
 *    offset, fp16 scales, g_idx) on hand-worked 4-bit and 3-bit words, and
 *    unpacking a packed GPTQ result gives its weights back;
 *  - calibration windows start where CPython's random.seed(s);
 *    random.randint(0, n - seqlen - 1) puts them (values from CPython).
 * With --dump DIR it also writes a layer, its inputs and GPTQ's result for
 * tests/ref/gptq_np.py (tests/test_gptq_ref.sh). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_util.h"
#include "compress/awq.h"
#include "compress/calib.h"
#include "compress/gptq.h"
#include "formats/gptq_pack.h"
#include "kernels/matrix.h"

static uint64_t rng = 88172645463325252ull;
static double unif(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static float gauss(void) { return (float)(sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif())); }

/* inputs with a low-rank correlated part, noise, and a few loud channels */
static void make_inputs(float *X, int64_t n, int64_t C) {
    enum { RANK = 6 };
    float basis[RANK][512];
    for (int k = 0; k < RANK; k++)
        for (int64_t c = 0; c < C; c++) basis[k][c] = gauss();
    for (int64_t t = 0; t < n; t++)
        for (int64_t c = 0; c < C; c++) {
            float v = 0.3f * gauss();
            for (int k = 0; k < RANK; k++) v += basis[k][c] * (float)(t % (k + 3)) * 0.2f;
            if (c % 37 == 5) v *= 12.0f; /* outlier channels */
            X[t * C + c] = v;
        }
}

static double measured_error(const float *W, const float *Wq, const float *X, int64_t rows, int64_t C, int64_t n) {
    double e = 0;
    for (int64_t t = 0; t < n; t++)
        for (int64_t r = 0; r < rows; r++) {
            double d = 0;
            for (int64_t c = 0; c < C; c++) d += ((double)W[r * C + c] - Wq[r * C + c]) * X[t * C + c];
            e += d * d;
        }
    return e / (double)n;
}

static void check_grid(void) {
    const float w[4] = {-1.0f, 0.5f, 2.0f, 0.0f};
    ob_qspec a = {4, 0, 0}, s = {4, 0, 1};
    float sc, ze;
    ob_qgrid_fit(w, 4, &a, &sc, &ze);
    CHECK(fabsf(sc - 0.2f) < 1e-7f && ze == 5.0f, "asym grid: scale %g zero %g, expected 0.2 and 5", sc, ze);
    int q[4];
    for (int i = 0; i < 4; i++) q[i] = ob_qgrid_int(w[i], sc, ze, 15);
    CHECK(q[0] == 0 && q[1] == 7 && q[2] == 15 && q[3] == 5, "asym ints %d %d %d %d, expected 0 7 15 5 (2.5 -> 2)",
          q[0], q[1], q[2], q[3]);
    ob_qgrid_fit(w, 4, &s, &sc, &ze);
    CHECK(fabsf(sc - 4.0f / 15) < 1e-7f && ze == 8.0f, "sym grid: scale %g zero %g, expected 4/15 and 8", sc, ze);
    const float z[3] = {0, 0, 0};
    ob_qgrid_fit(z, 3, &a, &sc, &ze);
    CHECK(fabsf(sc - 2.0f / 15) < 1e-7f, "all-zero group: scale %g, expected 2/15", sc);
}

static void check_diagonal(void) {
    enum { R = 16, C = 64 };
    float W[R * C], X[C * C], rtn[R * C];
    for (int i = 0; i < R * C; i++) W[i] = gauss();
    memset(X, 0, sizeof X);
    for (int c = 0; c < C; c++) X[c * C + c] = 1.0f + (float)(c % 5);
    ob_hessian H;
    ob_err err = {0};
    CHECK_OK(ob_hessian_init(&H, C, &err), &err);
    CHECK_OK(ob_hessian_add(&H, X, C, &err), &err);
    ob_gptq_params p = ob_gptq_default_params();
    p.q.group_size = 32;
    ob_gptq_result r;
    CHECK_OK(ob_gptq_quantize(W, R, C, &H, &p, &r, &err), &err);
    ob_qgrid_rtn(W, R, C, &p.q, rtn, NULL, NULL, NULL);
    CHECK(r.wq && !memcmp(r.wq, rtn, sizeof rtn), "diagonal Hessian: GPTQ differs from RTN");
    ob_gptq_result_free(&r);
    ob_hessian_free(&H);
}

static void check_vs_rtn(void) {
    enum { R = 48, C = 256, N = 384 };
    float *W = malloc(sizeof(float) * R * C), *X = malloc(sizeof(float) * N * C), *rtn = malloc(sizeof(float) * R * C);
    for (int i = 0; i < R * C; i++) W[i] = 0.05f * gauss();
    make_inputs(X, N, C);
    ob_err err = {0};
    ob_hessian H;
    CHECK_OK(ob_hessian_init(&H, C, &err), &err);
    CHECK_OK(ob_hessian_add(&H, X, 100, &err), &err); /* in two pieces */
    CHECK_OK(ob_hessian_add(&H, X + 100 * C, N - 100, &err), &err);
    const struct {
        int bits, group, sym, act;
    } cases[] = {{4, 128, 0, 0}, {4, 32, 0, 0}, {4, 0, 0, 0}, {4, 128, 1, 0}, {4, 32, 0, 1},
                 {4, 128, 1, 1}, {3, 128, 0, 0}, {3, 32, 0, 1}, {8, 128, 0, 0}, {2, 64, 0, 0},
                 {4, 96, 0, 0}, {4, 96, 0, 1}}; /* 96: a short last group of 64 */
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ob_gptq_params p = ob_gptq_default_params();
        p.q = (ob_qspec){cases[k].bits, cases[k].group, cases[k].sym};
        p.act_order = cases[k].act;
        ob_gptq_result r;
        CHECK_OK(ob_gptq_quantize(W, R, C, &H, &p, &r, &err), &err);
        if (!r.wq) continue;
        ob_qgrid_rtn(W, R, C, &p.q, rtn, NULL, NULL, NULL);
        double eg = ob_gptq_output_error(W, r.wq, R, C, &H), er = ob_gptq_output_error(W, rtn, R, C, &H);
        double mg = measured_error(W, r.wq, X, R, C, N);
        printf("gptq %d-bit group %3d %s%s: output error %.4g vs RTN %.4g (%.1f%%), measured %.4g, damp %.2g\n",
               cases[k].bits, cases[k].group, cases[k].sym ? "sym " : "asym", cases[k].act ? " act-order" : "", eg,
               er, 100 * eg / er, mg, r.damp_used);
        CHECK(eg < er, "%d-bit group %d: GPTQ error %g not below RTN %g", cases[k].bits, cases[k].group, eg, er);
        CHECK(fabs(eg - mg) <= 1e-3 * mg, "error from H %g != measured %g", eg, mg);
        /* every weight is on its group's grid, and g_idx follows perm */
        int64_t G = cases[k].group ? cases[k].group : C, bad = 0;
        int count[256] = {0};
        for (int64_t j = 0; j < C; j++) {
            bad += r.g_idx[r.perm[j]] != j / G;
            count[r.g_idx[j]]++;
        }
        for (int64_t g = 0; g < r.n_groups; g++) bad += count[g] != (g < r.n_groups - 1 || C % G == 0 ? G : C % G);
        for (int64_t i = 0; i < R * C; i++) {
            int64_t g = r.g_idx[i % C];
            float s = r.scales[(i / C) * r.n_groups + g], z = r.zeros[(i / C) * r.n_groups + g];
            bad += r.wq[i] != ob_qgrid_deq(r.qint[i], s, z) || r.qint[i] > (1 << cases[k].bits) - 1;
        }
        CHECK(bad == 0, "%d weights or groups inconsistent with g_idx / scales", (int)bad);
        ob_gptq_result_free(&r);
    }
    ob_hessian_free(&H);
    free(W);
    free(X);
    free(rtn);
}

static void check_dead_and_damp(void) {
    enum { R = 4, C = 8, N = 32 };
    float W[R * C], X[N * C];
    for (int i = 0; i < R * C; i++) W[i] = gauss();
    for (int i = 0; i < N * C; i++) X[i] = i % C == 3 ? 0.0f : gauss();
    ob_err err = {0};
    ob_hessian H;
    CHECK_OK(ob_hessian_init(&H, C, &err), &err);
    CHECK_OK(ob_hessian_add(&H, X, N, &err), &err);
    ob_gptq_params p = ob_gptq_default_params();
    p.q.group_size = 0;
    ob_gptq_result r;
    CHECK_OK(ob_gptq_quantize(W, R, C, &H, &p, &r, &err), &err);
    int zero = 1;
    for (int i = 0; r.wq && i < R; i++) zero &= r.wq[i * C + 3] == 0.0f;
    CHECK(r.n_dead == 1 && zero, "dead column: %d dead, zeroed %d", r.n_dead, zero);
    ob_gptq_result_free(&r);
    ob_hessian_free(&H);
    /* an indefinite H (eigenvalue -0.05): damp 0.01 fails, 0.1 works */
    ob_hessian I;
    CHECK_OK(ob_hessian_init(&I, 2, &err), &err);
    I.n = 2;
    I.h[0] = I.h[3] = 1.0;
    I.h[1] = 1.05;
    float w2[4] = {0.3f, -0.2f, 0.1f, 0.4f};
    CHECK_OK(ob_gptq_quantize(w2, 2, 2, &I, &p, &r, &err), &err);
    CHECK(r.damp_raised == 1 && fabs(r.damp_used - 0.1) < 1e-12, "damp raised %d times to %g, expected once to 0.1",
          r.damp_raised, r.damp_used);
    ob_gptq_result_free(&r);
    /* a second call on the same inputs reuses the factor and its damp */
    CHECK_OK(ob_gptq_quantize(w2, 2, 2, &I, &p, &r, &err), &err);
    CHECK(I.inv && r.damp_raised == 1 && fabs(r.damp_used - 0.1) < 1e-12, "reused factor: damp %g raised %d",
          r.damp_used, r.damp_raised);
    ob_gptq_result_free(&r);
    ob_hessian_free(&I); /* a new H (its own, uncached factor) */
    CHECK_OK(ob_hessian_init(&I, 2, &err), &err);
    I.n = 2;
    I.h[0] = I.h[3] = 1.0;
    I.h[1] = 3.0; /* eigenvalue -2: nothing up to 1.0 helps */
    CHECK(ob_gptq_quantize(w2, 2, 2, &I, &p, &r, &err) != 0 && strstr(err.msg, "positive definite"),
          "a hopeless Hessian: '%s'", err.msg);
    p.q = (ob_qspec){9, 0, 0};
    CHECK(ob_gptq_quantize(w2, 2, 2, &I, &p, &r, &err) != 0, "9 bits accepted");
    ob_hessian_free(&I);
}

static void check_awq(void) {
    enum { R1 = 32, R2 = 24, C = 256, N = 256 };
    float *W1 = malloc(sizeof(float) * R1 * C), *W2 = malloc(sizeof(float) * R2 * C), *X = malloc(sizeof(float) * N * C);
    for (int i = 0; i < R1 * C; i++) W1[i] = 0.05f * gauss();
    for (int i = 0; i < R2 * C; i++) W2[i] = 0.05f * gauss();
    make_inputs(X, N, C);
    const float *Ws[2] = {W1, W2};
    const int64_t rows[2] = {R1, R2};
    ob_awq_params p = ob_awq_default_params();
    float s[C];
    ob_awq_stats st;
    ob_err err = {0};
    CHECK_OK(ob_awq_search(X, N, C, Ws, rows, 2, &p, s, &st, &err), &err);
    printf("awq 4-bit group 128: ratio %.2f, output MSE %.4g vs RTN %.4g (%.1f%%)\n", st.ratio, st.loss, st.loss_rtn,
           100 * st.loss / st.loss_rtn);
    CHECK(st.ratio > 0 && st.loss < st.loss_rtn, "AWQ ratio %g loss %g not below RTN %g", st.ratio, st.loss,
          st.loss_rtn);
    /* the reported loss, recomputed from the scales */
    float *Wq = malloc(sizeof(float) * R1 * C);
    double e = 0;
    for (int k = 0; k < 2; k++) {
        for (int64_t i = 0; i < rows[k] * C; i++) Wq[i] = Ws[k][i] * s[i % C];
        ob_qgrid_rtn(Wq, rows[k], C, &p.q, Wq, NULL, NULL, NULL);
        for (int64_t i = 0; i < rows[k] * C; i++) Wq[i] /= s[i % C];
        e += measured_error(Ws[k], Wq, X, rows[k], C, N);
    }
    e /= (double)(R1 + R2);
    CHECK(fabs(e - st.loss) <= 1e-3 * st.loss, "AWQ loss %g, recomputed %g", st.loss, e);
    p.q.group_size = 100; /* a short last group works too */
    CHECK_OK(ob_awq_search(X, N, C, Ws, rows, 2, &p, s, &st, &err), &err);
    free(Wq);
    free(W1);
    free(W2);
    free(X);
}

static void check_pack(void) {
    /* 4 bits, 8 x 8, one group: q[o][i] = (i + o) % 16, zero point o + 1 */
    enum { O = 8, I = 8 };
    uint8_t q[O * I];
    float sc[O], ze[O];
    int32_t g[I] = {0};
    for (int o = 0; o < O; o++) {
        for (int i = 0; i < I; i++) q[o * I + i] = (uint8_t)((i + o) % 16);
        sc[o] = 0.5f;
        ze[o] = (float)(o + 1);
    }
    ob_gptq_packed p;
    ob_err err = {0};
    CHECK_OK(ob_gptq_pack(q, sc, ze, g, O, I, 1, 4, 0, &p, &err), &err);
    if (p.qweight) {
        /* column 0 holds 0..7 low nibble first; column 1 holds 1..8 */
        CHECK((uint32_t)p.qweight[0] == 0x76543210u && (uint32_t)p.qweight[1] == 0x87654321u,
              "qweight words %08x %08x, expected 76543210 87654321", (uint32_t)p.qweight[0], (uint32_t)p.qweight[1]);
        /* stored zero points are zero - 1 = 0..7 */
        CHECK((uint32_t)p.qzeros[0] == 0x76543210u, "qzeros word %08x, expected 76543210", (uint32_t)p.qzeros[0]);
        CHECK(p.scales[0] == 0x3800, "scale 0.5 as fp16 %04x, expected 3800", p.scales[0]);
        float w[O * I];
        CHECK_OK(ob_gptq_unpack(&p, w, &err), &err);
        CHECK(w[1 * I + 3] == 0.5f * (4 - 2) && w[7 * I + 0] == 0.5f * (7 - 8), "unpacked %g %g", w[1 * I + 3],
              w[7 * I]);
    }
    ob_gptq_packed_free(&p);
    /* 3 bits, 32 inputs: value 10 straddles words 0/1, value 21 words 1/2 */
    uint8_t q3[32];
    float s1 = 1.0f, z1 = 4.0f;
    int32_t g3[32] = {0};
    for (int i = 0; i < 32; i++) q3[i] = (uint8_t)(i % 8);
    q3[10] = 5; /* 0b101: bits 30,31 of word 0 = 01, bit 0 of word 1 = 1 */
    q3[21] = 6; /* 0b110: bit 31 of word 1 = 0, bits 0,1 of word 2 = 11 */
    CHECK(ob_gptq_pack(q3, &s1, &z1, g3, 1, 32, 1, 3, 0, &p, &err) != 0, "3 bits x 1 output accepted (not whole words)");
    uint8_t q3x[32 * 32];
    float s32[32], z32[32];
    for (int o = 0; o < 32; o++) {
        memcpy(q3x + o * 32, q3, 32);
        s32[o] = 1.0f;
        z32[o] = 4.0f;
    }
    CHECK_OK(ob_gptq_pack(q3x, s32, z32, g3, 32, 32, 1, 3, 0, &p, &err), &err);
    if (p.qweight) {
        uint32_t w0 = (uint32_t)p.qweight[0], w1 = (uint32_t)p.qweight[32], w2 = (uint32_t)p.qweight[64];
        CHECK((w0 >> 30) == 1 && (w1 & 1) == 1 && (w1 >> 31) == 0 && (w2 & 3) == 3 && ((w1 >> 1) & 7) == 11 % 8 &&
                  ((w2 >> 2) & 7) == 22 % 8,
              "3-bit words %08x %08x %08x", w0, w1, w2);
    }
    ob_gptq_packed_free(&p);
    float zero0 = 0.0f;
    CHECK(ob_gptq_pack(q, sc, &zero0, g, 1, I, 1, 4, 0, &p, &err) != 0, "v1 accepted a zero point of 0");

    /* a GPTQ result packs and unpacks to its own weights (scales in fp16) */
    enum { R = 32, C = 128, N = 96 };
    float *W = malloc(sizeof(float) * R * C), *X = malloc(sizeof(float) * N * C), *back = malloc(sizeof(float) * R * C);
    for (int i = 0; i < R * C; i++) W[i] = 0.05f * gauss();
    make_inputs(X, N, C);
    ob_hessian H;
    CHECK_OK(ob_hessian_init(&H, C, &err), &err);
    CHECK_OK(ob_hessian_add(&H, X, N, &err), &err);
    ob_gptq_params gp = ob_gptq_default_params();
    gp.q.group_size = 32;
    gp.act_order = 1;
    ob_gptq_result r;
    CHECK_OK(ob_gptq_quantize(W, R, C, &H, &gp, &r, &err), &err);
    if (r.wq) {
        CHECK_OK(ob_gptq_pack(r.qint, r.scales, r.zeros, r.g_idx, R, C, r.n_groups, 4, 1, &p, &err), &err);
        if (p.qweight) CHECK_OK(ob_gptq_unpack(&p, back, &err), &err);
        double dmax = 0;
        for (int64_t i = 0; p.qweight && i < R * C; i++) {
            int64_t g0 = r.g_idx[i % C];
            float s = ob_f16_to_f32(ob_f32_to_f16(r.scales[(i / C) * r.n_groups + g0]));
            double d = fabs(back[i] - s * ((float)r.qint[i] - r.zeros[(i / C) * r.n_groups + g0]));
            if (d > dmax) dmax = d;
        }
        printf("gptq pack (v2, act-order, group 32): max |unpacked - fp16-scale weights| = %g\n", dmax);
        CHECK(dmax == 0, "unpacked weights differ by %g", dmax);
        ob_gptq_packed_free(&p);
    }
    ob_gptq_result_free(&r);
    ob_hessian_free(&H);
    free(W);
    free(X);
    free(back);
}

static void check_calib_windows(void) {
    /* CPython 3: random.seed(0); [random.randint(0, 100000 - 512 - 1) for _ in range(4)]
     * -> [50494, 99346, 55125, 5306]; seed 1234, 300 tokens, seqlen 16, 5 draws
     * -> [225, 59, 3, 46, 17] */
    static int32_t tok[100000];
    for (int i = 0; i < 100000; i++) tok[i] = i;
    int32_t out[5 * 512];
    ob_err err = {0};
    CHECK_OK(ob_calib_windows(tok, 100000, 4, 512, 0, out, &err), &err);
    CHECK(out[0] == 50494 && out[512] == 99346 && out[1024] == 55125 && out[1536] == 5306 && out[513] == 99347,
          "seed 0 starts %d %d %d %d", out[0], out[512], out[1024], out[1536]);
    CHECK_OK(ob_calib_windows(tok, 300, 5, 16, 1234, out, &err), &err);
    CHECK(out[0] == 225 && out[16] == 59 && out[32] == 3 && out[48] == 46 && out[64] == 17,
          "seed 1234 starts %d %d %d %d %d", out[0], out[16], out[32], out[48], out[64]);
    CHECK(ob_calib_windows(tok, 16, 1, 16, 0, out, &err) != 0, "16 tokens gave a window of 16");
}

/* --dump DIR: cases for the NumPy reference */
static int dump(const char *dir) {
    enum { R = 32, C = 256, N = 256 };
    float *W = malloc(sizeof(float) * R * C), *X = malloc(sizeof(float) * N * C);
    for (int i = 0; i < R * C; i++) W[i] = 0.05f * gauss();
    make_inputs(X, N, C);
    ob_err err = {0};
    ob_hessian H;
    if (ob_hessian_init(&H, C, &err) || ob_hessian_add(&H, X, N, &err)) return 1;
    int rc = write_raw(dir, "W.bin", W, sizeof(float) * R * C) | write_raw(dir, "X.bin", X, sizeof(float) * N * C);
    const struct {
        int bits, group, sym, act;
    } cases[] = {{4, 128, 0, 0}, {4, 32, 0, 1}, {3, 0, 1, 0}, {8, 64, 0, 1}};
    char spec[256];
    int at = snprintf(spec, sizeof spec, "%d %d %d\n", R, C, N);
    for (int k = 0; k < 4; k++) {
        ob_gptq_params p = ob_gptq_default_params();
        p.q = (ob_qspec){cases[k].bits, cases[k].group, cases[k].sym};
        p.act_order = cases[k].act;
        ob_gptq_result r;
        if (ob_gptq_quantize(W, R, C, &H, &p, &r, &err)) return 1;
        char name[64];
        snprintf(name, sizeof name, "q%d.bin", k);
        rc |= write_raw(dir, name, r.qint, (size_t)R * C);
        snprintf(name, sizeof name, "wq%d.bin", k);
        rc |= write_raw(dir, name, r.wq, sizeof(float) * R * C);
        at += snprintf(spec + at, sizeof spec - (size_t)at, "%d %d %d %d\n", cases[k].bits, cases[k].group,
                       cases[k].sym, cases[k].act);
        ob_gptq_result_free(&r);
    }
    rc |= write_raw(dir, "cases.txt", spec, strlen(spec));
    ob_hessian_free(&H);
    free(W);
    free(X);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--dump")) return dump(argv[2]);
    check_grid();
    check_diagonal();
    check_vs_rtn();
    check_dead_and_damp();
    check_awq();
    check_pack();
    check_calib_windows();
    return CHECK_DONE("test_gptq");
}

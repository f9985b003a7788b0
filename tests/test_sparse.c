/* test_sparse.c - the sparse formats (kernels/sparse.h).
 *
 *  1. every format x keep mask (0, 25, 50, 75, 100 % random, 2:4, 4:8,
 *     32- and 64-column blocks; S24 only 2:4) x shape (rows not a multiple
 *     of 4 or 16; cols 32, 64, 4096):
 *     - dequant_row equals the dense format's dequant_row of the zeroed
 *       row, pruned positions exactly 0;
 *     - the scalar reference (matmul, n = 1, 3, 17, 64) equals the dense
 *       format's scalar reference on the zeroed matrix: I8 / I4 against
 *       Q8_0 / Q4_0 bitwise (same codes and scales), floats too (the same
 *       products summed in the same order);
 *     - every SIMD level's matmul and matvec against the scalar reference
 *       by normalized MSE (bound 1e-9 as test_quant: only the order of float
 *       additions differs), max abs diff printed; rows outside [r0, r1)
 *       untouched;
 *  2. sizes: the bytes the layout gives at 50 %, the chooser's picks;
 *  3. I8 / I4 with given scales reproduce weights on the grid exactly;
 *     S24 refuses a mask that is not 2:4; the 2:4 metadata table;
 *  4. ob_sparse_index on bad data (truncated, extra bytes, a mask whose
 *     popcount does not match, bad 2:4 metadata, bad block indices);
 *  5. ob_linear on 1 and 2 threads equals the kernel on all rows;
 *  6. a model with sparse linears (all 15 formats): saved to the container
 *     and loaded back gives bitwise the same logits; a corrupted mask in
 *     the file is a one-line error naming the file and tensor. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "test_util.h"
#include "formats/hf_write.h"
#include "kernels/quant.h"
#include "kernels/sparse.h"
#include "model/model.h"
#include "optibench.h"
#include "tiny_model.h"

#define SIMD_NMSE_MAX 1e-9
#define SENTINEL 12345.0f

/* ------------------------------------------------------------ masks */

enum { M_RANDOM, M_NM, M_BLOCK };
typedef struct {
    const char *name;
    int kind;
    double p;  /* M_RANDOM, M_BLOCK: probability of keeping */
    int n, m;  /* M_NM: n of every m; M_BLOCK: m columns wide */
} mask_kind;

static const mask_kind MASKS[] = {
    {"0%", M_RANDOM, 0.0, 0, 0},      {"25%", M_RANDOM, 0.25, 0, 0},    {"50%", M_RANDOM, 0.5, 0, 0},
    {"75%", M_RANDOM, 0.75, 0, 0},    {"100%", M_RANDOM, 1.0, 0, 0},    {"2:4", M_NM, 0, 2, 4},
    {"4:8", M_NM, 0, 4, 8},           {"blocks32", M_BLOCK, 0.5, 0, 32}, {"blocks64", M_BLOCK, 0.5, 0, 64},
};
enum { N_MASKS = sizeof MASKS / sizeof MASKS[0], MASK_24 = 5 };

static void make_keep(const mask_kind *k, int64_t rows, int64_t cols, rng_t *rng, uint8_t *keep) {
    if (k->kind == M_RANDOM) {
        for (int64_t i = 0; i < rows * cols; i++) keep[i] = rng_uniform(rng) < k->p;
    } else if (k->kind == M_NM) {
        for (int64_t i = 0; i < rows * cols; i += k->m) {
            for (int j = 0; j < k->m; j++) keep[i + j] = j < k->n;
            for (int j = k->m - 1; j > 0; j--) { /* shuffle the group */
                int s = (int)(rng_next(rng) % (uint64_t)(j + 1));
                uint8_t t = keep[i + j];
                keep[i + j] = keep[i + s];
                keep[i + s] = t;
            }
        }
    } else {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c += k->m) {
                uint8_t v = rng_uniform(rng) < k->p;
                for (int64_t j = c; j < c + k->m && j < cols; j++) keep[r * cols + j] = v;
            }
    }
}

/* ------------------------------------------------------ a packed matrix */

typedef struct {
    ob_matrix S, D;        /* sparse, and dense of the zeroed weights */
    void *data, *aux, *dense;
    size_t bytes;
} pair_t;

/* packs W with keep in f, and the zeroed W in f's dense format */
static int make_pair(ob_format f, const float *W, const uint8_t *keep, int64_t rows, int64_t cols, pair_t *p) {
    size_t ab;
    ob_err err = {0};
    p->bytes = ob_sparse_size(f, keep, rows, cols, &ab);
    p->data = malloc(p->bytes + 1);
    p->aux = ab ? malloc(ab) : NULL;
    int rc = ob_sparse_pack(f, W, keep, rows, cols, NULL, p->data, p->aux, &err);
    CHECK(rc == 0, "%s pack: %s", ob_format_name(f), err.msg);
    ob_matrix_init_sparse(&p->S, f, rows, cols, p->data, p->aux);
    const ob_format vf = ob_sparse_value_format(f);
    const ob_format_ops *dops = ob_format_get_at(vf, OB_SIMD_SCALAR);
    const size_t rb = dops->row_bytes(cols);
    p->dense = malloc(rb * (size_t)rows + 1);
    float *z = malloc((size_t)cols * sizeof *z);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++) z[c] = keep[r * cols + c] ? W[r * cols + c] : 0.0f;
        dops->quantize_row(z, cols, (char *)p->dense + (size_t)r * rb);
    }
    free(z);
    ob_matrix_init(&p->D, vf, rows, cols, p->dense);
    return rc;
}

static void free_pair(pair_t *p) {
    free(p->data);
    free(p->aux);
    free(p->dense);
}

/* ------------------------------------------------------ 1. kernels */

typedef struct {
    double nmse;
    float maxdiff;
} worst_t;

static double nmse_of(const float *got, const float *want, int64_t n, float *maxdiff) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        e += d * d;
        s += (double)want[i] * want[i];
        if (fabs(d) > *maxdiff || isnan(d)) *maxdiff = isnan(d) ? INFINITY : (float)fabs(d);
    }
    return s > 0 ? e / s : (e == 0 ? 0 : INFINITY);
}

static int64_t n_exact_ref, n_exact_deq;
static worst_t worst[3][OB_SPV_COUNT]; /* [level][value type] */

static void check_kernels(ob_format f, const mask_kind *mk, int64_t rows, int64_t cols, const int *ns, rng_t *rng) {
    const char *fname = ob_format_name(f);
    float *W = malloc((size_t)(rows * cols) * sizeof *W);
    uint8_t *keep = malloc((size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) W[i] = rng_normal(rng);
    make_keep(mk, rows, cols, rng, keep);
    pair_t p;
    if (make_pair(f, W, keep, rows, cols, &p)) goto out;

    /* the table rebuilt from the data alone */
    if (p.aux) {
        int64_t *aux2 = malloc((size_t)(rows + 1) * 8);
        ob_err err = {0};
        CHECK(ob_sparse_index(f, p.data, p.bytes, rows, cols, aux2, &err) == 0, "%s %s: index: %s", fname, mk->name,
              err.msg);
        CHECK(!memcmp(aux2, p.aux, (size_t)(rows + 1) * 8), "%s %s: rebuilt offsets differ", fname, mk->name);
        free(aux2);
    }
    CHECK(ob_matrix_bytes(&p.S) == p.bytes, "%s: ob_matrix_bytes %zu, packed %zu", fname, ob_matrix_bytes(&p.S), p.bytes);

    /* dequant_row: the dense one of the zeroed row */
    const ob_format_ops *sref = ob_format_get_at(f, OB_SIMD_SCALAR), *dref = ob_format_get_at(p.D.format, OB_SIMD_SCALAR);
    float *a = malloc((size_t)cols * 4), *b = malloc((size_t)cols * 4);
    int deq_ok = 1, zero_ok = 1;
    for (int64_t r = 0; r < rows; r++) {
        sref->dequant_row(&p.S, r, a);
        dref->dequant_row(&p.D, r, b);
        for (int64_t c = 0; c < cols; c++) {
            deq_ok &= a[c] == b[c];
            if (!keep[r * cols + c]) zero_ok &= a[c] == 0.0f;
        }
    }
    CHECK(deq_ok, "%s %s %lldx%lld: dequant_row differs from %s of the zeroed row", fname, mk->name, (long long)rows,
          (long long)cols, ob_format_name(p.D.format));
    CHECK(zero_ok, "%s %s: a pruned weight dequantizes to non-zero", fname, mk->name);
    n_exact_deq += deq_ok;
    free(a), free(b);

    const int vt = ob_sparse_vt(f), is_int = vt >= OB_SPV_I8;
    const size_t stride = is_int ? ob_q8a_act_bytes(cols) : (size_t)cols * 4;
    for (const int *pn = ns; *pn; pn++) {
        const int64_t n = *pn;
        float *X = malloc((size_t)(n * cols) * 4);
        for (int64_t i = 0; i < n * cols; i++) X[i] = rng_normal(rng);
        char *act = malloc(stride * (size_t)n);
        for (int64_t t = 0; t < n; t++) {
            if (is_int) ob_q8a_quantize_act(X + t * cols, cols, act + (size_t)t * stride);
            else memcpy(act + (size_t)t * stride, X + t * cols, stride);
        }
        float *Yr = malloc((size_t)(n * rows) * 4), *Yd = malloc((size_t)(n * rows) * 4),
              *Ys = malloc((size_t)(n * rows) * 4);
        sref->matmul_ref(&p.S, act, n, Yr, rows, 0, rows);
        dref->matmul_ref(&p.D, act, n, Yd, rows, 0, rows);
        int same = 1;
        for (int64_t i = 0; i < n * rows; i++) same &= Yr[i] == Yd[i];
        CHECK(same, "%s %s %lldx%lld n=%lld: scalar reference differs from %s's on the zeroed matrix", fname, mk->name,
              (long long)rows, (long long)cols, (long long)n, ob_format_name(p.D.format));
        n_exact_ref += same;
        for (int lv = OB_SIMD_AVX2; lv <= OB_SIMD_AVX512; lv++) {
            const ob_format_ops *ops = ob_format_get_at(f, (ob_simd)lv);
            if (ops == ob_format_get_at(f, (ob_simd)(lv - 1)) || ops->matmul == sref->matmul) continue;
            /* matmul on rows [1, rows - 1): the rows outside keep the sentinel */
            for (int64_t i = 0; i < n * rows; i++) Ys[i] = SENTINEL;
            const int64_t r0 = rows > 2 ? 1 : 0, r1 = rows > 2 ? rows - 1 : rows;
            ops->matmul(&p.S, act, n, Ys, rows, r0, r1);
            int untouched = 1;
            for (int64_t t = 0; t < n; t++) {
                if (r0) untouched &= Ys[t * rows] == SENTINEL && Ys[t * rows + rows - 1] == SENTINEL;
                if (r0) Ys[t * rows] = Yr[t * rows], Ys[t * rows + rows - 1] = Yr[t * rows + rows - 1];
            }
            CHECK(untouched, "%s level %d: matmul wrote rows outside [r0, r1)", fname, lv);
            float md = 0;
            double e = nmse_of(Ys, Yr, n * rows, &md);
            /* matvec, token by token */
            for (int64_t t = 0; t < n; t++) ops->matvec(&p.S, act + (size_t)t * stride, Ys + t * rows, 0, rows);
            double e2 = nmse_of(Ys, Yr, n * rows, &md);
            if (e2 > e) e = e2;
            CHECK(e <= SIMD_NMSE_MAX, "%s %s %lldx%lld n=%lld level %s: nmse %.3g (max diff %.3g) vs the reference",
                  fname, mk->name, (long long)rows, (long long)cols, (long long)n, ob_simd_name((ob_simd)lv), e, md);
            worst_t *w = &worst[lv][vt];
            if (e > w->nmse) w->nmse = e;
            if (md > w->maxdiff) w->maxdiff = md;
        }
        free(X), free(act), free(Yr), free(Yd), free(Ys);
    }
out:
    free_pair(&p);
    free(W), free(keep);
}

static void test_kernels(void) {
    rng_t rng = {0x5eed5eedULL};
    static const int ns_small[] = {1, 3, 17, 64, 0}, ns_big[] = {1, 3, 17, 0};
    const struct {
        int64_t rows, cols;
        const int *ns;
    } shapes[] = {{5, 32, ns_small}, {37, 64, ns_small}, {21, 4096, ns_big}};
    int cases = 0;
    for (int f = OB_FMT_SP_F32; f < OB_FMT_COUNT; f++)
        for (int m = 0; m < N_MASKS; m++) {
            if (ob_sparse_storage((ob_format)f) == OB_SPARSE_24 && m != MASK_24) continue;
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++, cases++)
                check_kernels((ob_format)f, &MASKS[m], shapes[s].rows, shapes[s].cols, shapes[s].ns, &rng);
        }
    static const char *vtn[OB_SPV_COUNT] = {"F32", "F16", "BF16", "I8", "I4"};
    printf("kernels: %d format x mask x shape cases; dequant_row equal to the dense format's in %lld, scalar reference "
           "equal to the dense reference in %lld of %lld products\n",
           cases, (long long)n_exact_deq, (long long)n_exact_ref, (long long)n_exact_ref);
    for (int lv = OB_SIMD_AVX2; lv <= OB_SIMD_AVX512; lv++)
        for (int vt = 0; vt < OB_SPV_COUNT; vt++)
            if (ob_format_get_at(OB_FMT_SP_F32, (ob_simd)lv) != ob_format_get_at(OB_FMT_SP_F32, (ob_simd)(lv - 1)))
                printf("  %-6s %-4s vs reference: worst nmse %.3g, max abs diff %.3g\n", ob_simd_name((ob_simd)lv),
                       vtn[vt], worst[lv][vt].nmse, worst[lv][vt].maxdiff);
}

/* ------------------------------------------------------ 2. sizes */

static void test_sizes(void) {
    rng_t rng = {77};
    const int64_t rows = 6, cols = 128, nb = cols / 32;
    uint8_t *keep = malloc((size_t)(rows * cols));
    make_keep(&MASKS[MASK_24], rows, cols, &rng, keep); /* 16 of every 32 */
    /* bytes per 32 columns at 50 %: mask / meta + 16 values (+ fp16 d) */
    static const size_t half[OB_SPV_COUNT] = {4 + 16 * 4, 4 + 16 * 2, 4 + 16 * 2, 4 + 2 + 16, 4 + 2 + 8};
    static const ob_format dense[OB_SPV_COUNT] = {OB_FMT_F32, OB_FMT_F16, OB_FMT_BF16, OB_FMT_Q8_0, OB_FMT_Q4_0};
    for (int vt = 0; vt < OB_SPV_COUNT; vt++)
        for (int st = OB_SPARSE_BITMASK; st <= OB_SPARSE_24; st++) {
            ob_format f = ob_sparse_format(dense[vt], st);
            size_t ab = 99, got = ob_sparse_size(f, keep, rows, cols, &ab);
            CHECK(got == (size_t)(rows * nb) * half[vt], "%s at 50%%: %zu bytes, layout says %zu", ob_format_name(f), got,
                  (size_t)(rows * nb) * half[vt]);
            CHECK(ab == (st == OB_SPARSE_24 ? 0 : (size_t)(rows + 1) * 8), "%s: aux %zu bytes", ob_format_name(f), ab);
            CHECK(ob_sparse_value_format(f) == dense[vt], "%s: value format", ob_format_name(f));
        }
    /* SB with half the chunks: 2 per row + per kept chunk 2 + a dense body */
    make_keep(&MASKS[7], rows, cols, &rng, keep);
    int64_t kept = 0;
    for (int64_t i = 0; i < rows * cols; i += 32) kept += keep[i];
    static const size_t body[OB_SPV_COUNT] = {128, 64, 64, 34, 18};
    for (int vt = 0; vt < OB_SPV_COUNT; vt++) {
        ob_format f = ob_sparse_format(dense[vt], OB_SPARSE_BLOCK);
        size_t want = (size_t)rows * 2 + (size_t)kept * (2 + body[vt]);
        CHECK(ob_sparse_size(f, keep, rows, cols, NULL) == want, "%s: %zu bytes, layout says %zu", ob_format_name(f),
              ob_sparse_size(f, keep, rows, cols, NULL), want);
    }
    printf("sizes: SP/S24 at 50%% = 68, 36, 36, 22, 14 bytes per 32 weights (F32, F16, BF16, I8, I4); SB as laid out\n");

    /* the chooser */
    const struct {
        int mask;
        double p;
        int vt, want_storage; /* -1: dense */
    } picks[] = {
        {4, 1.0, OB_SPV_F32, -1},  {4, 1.0, OB_SPV_I8, -1},         {4, 1.0, OB_SPV_I4, -1},
        {2, 0.5, OB_SPV_F32, OB_SPARSE_BITMASK}, {2, 0.5, OB_SPV_I4, OB_SPARSE_BITMASK},
        {MASK_24, 0, OB_SPV_F32, OB_SPARSE_24}, {MASK_24, 0, OB_SPV_I8, OB_SPARSE_BITMASK},
        {MASK_24, 0, OB_SPV_I4, OB_SPARSE_BITMASK}, /* equal bytes: the faster kernel (sparse.h) */
        {7, 0.5, OB_SPV_F16, OB_SPARSE_BLOCK}, {7, 0.5, OB_SPV_I8, OB_SPARSE_BLOCK},
        {-1, 0.9, OB_SPV_I4, -1},  {-1, 0.9, OB_SPV_F32, OB_SPARSE_BITMASK},
    };
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        mask_kind mk = picks[i].mask >= 0 ? MASKS[picks[i].mask] : (mask_kind){"90%", M_RANDOM, picks[i].p, 0, 0};
        make_keep(&mk, rows, cols, &rng, keep);
        ob_format want = picks[i].want_storage < 0 ? dense[picks[i].vt]
                                                   : ob_sparse_format(dense[picks[i].vt], picks[i].want_storage);
        ob_format got = ob_sparse_choose(dense[picks[i].vt], keep, rows, cols, -1);
        CHECK(got == want, "chooser, %s mask, values %s: %s, expected %s", mk.name, ob_format_name(dense[picks[i].vt]),
              ob_format_name(got), ob_format_name(want));
    }
    /* is_24 = 0 never picks S24 */
    make_keep(&MASKS[MASK_24], rows, cols, &rng, keep);
    CHECK(ob_sparse_choose(OB_FMT_F32, keep, rows, cols, 0) == OB_FMT_SP_F32, "chooser with is_24 = 0");
    free(keep);
}

/* ------------------------------------------- 3. scales, refusals, tables */

static void test_scales_and_rules(void) {
    rng_t rng = {99};
    const int64_t rows = 9, cols = 96, nb = cols / 32;
    float *W = malloc((size_t)(rows * cols) * 4), *row = malloc((size_t)cols * 4);
    uint8_t *keep = malloc((size_t)(rows * cols));
    uint16_t *sc = malloc((size_t)(rows * nb) * 2);
    for (int i8 = 0; i8 < 2; i8++)
        for (int st = OB_SPARSE_BITMASK; st < OB_SPARSE_STORAGES; st++) {
            ob_format f = ob_sparse_format(i8 ? OB_FMT_Q8_0 : OB_FMT_Q4_0, st);
            make_keep(st == OB_SPARSE_24 ? &MASKS[MASK_24] : st == OB_SPARSE_BLOCK ? &MASKS[7] : &MASKS[2], rows, cols,
                      &rng, keep);
            for (int64_t i = 0; i < rows * nb; i++) sc[i] = ob_f32_to_f16((float)(0.001 + 0.1 * rng_uniform(&rng)));
            for (int64_t i = 0; i < rows * cols; i++) {
                float d = ob_f16_to_f32(sc[(i / cols) * nb + (i % cols) / 32]);
                int q = (int)(rng_next(&rng) % (i8 ? 255 : 16)) - (i8 ? 127 : 8);
                W[i] = d * (float)q;
            }
            size_t ab, bytes = ob_sparse_size(f, keep, rows, cols, &ab);
            void *data = malloc(bytes + 1), *aux = ab ? malloc(ab) : NULL;
            ob_err err = {0};
            CHECK_OK(ob_sparse_pack(f, W, keep, rows, cols, sc, data, aux, &err), &err);
            ob_matrix m;
            ob_matrix_init_sparse(&m, f, rows, cols, data, aux);
            int exact = 1;
            for (int64_t r = 0; r < rows; r++) {
                m.ops->dequant_row(&m, r, row);
                for (int64_t c = 0; c < cols; c++) exact &= row[c] == (keep[r * cols + c] ? W[r * cols + c] : 0.0f);
            }
            CHECK(exact, "%s with given scales: weights on the grid not reproduced", ob_format_name(f));
            free(data), free(aux);
        }

    /* S24 refuses a mask that is not 2:4 */
    make_keep(&MASKS[2], rows, cols, &rng, keep);
    void *data = malloc(ob_sparse_size(OB_FMT_S24_F32, keep, rows, cols, NULL));
    ob_err err = {0};
    int rc = ob_sparse_pack(OB_FMT_S24_F32, W, keep, rows, cols, NULL, data, NULL, &err);
    CHECK(rc == OB_EINVAL && strstr(err.msg, "2 of every 4"), "S24 with a random mask: rc %d '%s'", rc, err.msg);
    rc = ob_sparse_pack(OB_FMT_SP_F32, W, keep, rows, 48, NULL, data, NULL, &err);
    CHECK(rc == OB_EINVAL, "48 columns accepted");
    free(data);

    /* the per-byte 2:4 table against the plain decoding, random valid metadata */
    static const uint8_t valid[6] = {0x4, 0x8, 0xc, 0x9, 0xd, 0xe}; /* (i0 | i1 << 2), i0 < i1 */
    int table_ok = 1;
    for (int i = 0; i < 20000; i++) {
        uint32_t meta = 0;
        for (int g = 0; g < 8; g++) meta |= (uint32_t)valid[rng_next(&rng) % 6] << (4 * g);
        uint32_t m = ob_s24_meta_mask(meta);
        table_ok &= m == ob_s24_meta_mask_ref(meta);
        for (int g = 0; g < 8; g++) table_ok &= __builtin_popcount((m >> (4 * g)) & 15) == 2;
    }
    CHECK(table_ok, "ob_s24_meta_mask disagrees with ob_s24_meta_mask_ref");
    /* the AVX2 expansion table: ranks of set bits, 0x80 elsewhere */
    int lut_ok = 1;
    for (int m = 0; m < 256; m++)
        for (int j = 0; j < 8; j++)
            lut_ok &= ob_sp_expand_lut[m][j] == ((m >> j & 1) ? __builtin_popcount(m & ((1 << j) - 1)) : 0x80);
    CHECK(lut_ok, "ob_sp_expand_lut is wrong");
    free(W), free(row), free(keep), free(sc);
}

/* --------------------------------------------------- 4. bad data */

/* Where the last chunk's mask of an SP matrix is.  (A mask changed early
 * in the data is not always found: the misread lengths that follow can add
 * up again.  The last one's cannot.) */
static size_t last_mask_at(const ob_matrix *m) {
    ob_sp_cursor c;
    ob_sp_open(m, OB_SPARSE_BITMASK, m->rows - 1, &c);
    const uint8_t *last = c.p;
    while (c.left > 0) {
        int64_t col;
        last = c.p;
        const uint32_t mask = ob_sp_next(OB_SPARSE_BITMASK, &c, &col);
        ob_sp_skip(ob_sparse_vt(m->format), mask, &c);
    }
    return (size_t)(last - (const uint8_t *)m->data);
}

static void expect_bad(ob_format f, const void *data, size_t bytes, int64_t rows, int64_t cols, const char *what) {
    int64_t *aux = malloc((size_t)(rows + 1) * 8);
    ob_err err = {0};
    int rc = ob_sparse_index(f, data, bytes, rows, cols, aux, &err);
    CHECK(rc == OB_EFORMAT && err.msg[0] && !strchr(err.msg, '\n'), "%s %s: rc %d, '%s'", ob_format_name(f), what, rc,
          err.msg);
    free(aux);
}

static void test_bad_data(void) {
    rng_t rng = {5};
    const int64_t rows = 7, cols = 64;
    float *W = malloc((size_t)(rows * cols) * 4);
    uint8_t *keep = malloc((size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) W[i] = rng_normal(&rng);
    for (int st = OB_SPARSE_BITMASK; st < OB_SPARSE_STORAGES; st++) {
        ob_format f = ob_sparse_format(OB_FMT_Q8_0, st);
        make_keep(st == OB_SPARSE_24 ? &MASKS[MASK_24] : st == OB_SPARSE_BLOCK ? &MASKS[7] : &MASKS[2], rows, cols, &rng,
                  keep);
        keep[0] = st == OB_SPARSE_BLOCK ? 1 : keep[0]; /* SB: row 0 keeps chunk 0 */
        if (st == OB_SPARSE_BLOCK)
            for (int j = 0; j < 32; j++) keep[j] = 1;
        size_t ab, bytes = ob_sparse_size(f, keep, rows, cols, &ab);
        uint8_t *data = malloc(bytes + 8), *copy = malloc(bytes + 8);
        void *aux = ab ? malloc(ab) : NULL;
        ob_err err = {0};
        CHECK_OK(ob_sparse_pack(f, W, keep, rows, cols, NULL, data, aux, &err), &err);
        data[bytes] = 0;
        expect_bad(f, data, bytes - 1, rows, cols, "truncated by a byte");
        expect_bad(f, data, bytes + 1, rows, cols, "one byte too many");
        expect_bad(f, data, bytes / 2, rows, cols, "cut in half");
        memcpy(copy, data, bytes);
        if (st == OB_SPARSE_BITMASK) {
            ob_matrix sm;
            ob_matrix_init_sparse(&sm, f, rows, cols, data, aux);
            const size_t at = last_mask_at(&sm);
            uint32_t m = ob_ld32(copy + at);
            m ^= 1u << __builtin_ctz(~m); /* keep one more: popcount no longer matches the bytes */
            memcpy(copy + at, &m, 4);
            expect_bad(f, copy, bytes, rows, cols, "last mask with one bit more");
            memcpy(copy, data, bytes);
            m = ob_ld32(copy + at);
            m &= m - 1; /* one fewer */
            memcpy(copy + at, &m, 4);
            expect_bad(f, copy, bytes, rows, cols, "last mask with one bit fewer");
        } else if (st == OB_SPARSE_24) {
            copy[0] = (uint8_t)((copy[0] & 0xf0) | 0x5); /* i0 = i1 = 1 */
            expect_bad(f, copy, bytes, rows, cols, "2:4 metadata with i0 == i1");
        } else {
            uint16_t n = (uint16_t)(cols / 32 + 1);
            memcpy(copy, &n, 2);
            expect_bad(f, copy, bytes, rows, cols, "more kept chunks than the row has");
            memcpy(copy, data, bytes);
            uint16_t n0 = ob_ld16(copy);
            if (n0 >= 2) {
                memcpy(copy + 4, copy + 2, 2); /* idx[1] = idx[0] */
                expect_bad(f, copy, bytes, rows, cols, "repeated chunk index");
            }
        }
        free(data), free(copy), free(aux);
    }
    free(W), free(keep);
}

/* ------------------------------------------------------ 5. threads */

static void test_threads(void) {
    rng_t rng = {11};
    const int64_t rows = 200, cols = 256, n = 5;
    float *W = malloc((size_t)(rows * cols) * 4), *X = malloc((size_t)(n * cols) * 4);
    uint8_t *keep = malloc((size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) W[i] = rng_normal(&rng);
    for (int64_t i = 0; i < n * cols; i++) X[i] = rng_normal(&rng);
    make_keep(&MASKS[2], rows, cols, &rng, keep);
    ob_pool *pools[2];
    ob_err err = {0};
    CHECK_OK(ob_pool_new(1, &pools[0], &err), &err);
    CHECK_OK(ob_pool_new(2, &pools[1], &err), &err);
    ob_workspace ws = {malloc(ob_linear_ws_bytes(cols, n)), ob_linear_ws_bytes(cols, n)};
    const ob_format fs[3] = {OB_FMT_SP_F32, OB_FMT_SP_I8, OB_FMT_SB_I4};
    for (int k = 0; k < 3; k++) {
        pair_t p;
        if (ob_sparse_storage(fs[k]) == OB_SPARSE_BLOCK) make_keep(&MASKS[7], rows, cols, &rng, keep);
        make_pair(fs[k], W, keep, rows, cols, &p);
        float *Y[2], *Yk = malloc((size_t)(n * rows) * 4);
        for (int t = 0; t < 2; t++) {
            Y[t] = malloc((size_t)(n * rows) * 4);
            ob_linear(pools[t], &p.S, X, n, Y[t], &ws);
        }
        /* the kernel on all rows at once, on the same activations */
        const size_t stride = p.S.ops->act_bytes ? p.S.ops->act_bytes(cols) : (size_t)cols * 4;
        char *act = malloc(stride * (size_t)n);
        for (int64_t t = 0; t < n; t++) {
            if (p.S.ops->quantize_act) p.S.ops->quantize_act(X + t * cols, cols, act + (size_t)t * stride);
            else memcpy(act + (size_t)t * stride, X + t * cols, stride);
        }
        p.S.ops->matmul(&p.S, act, n, Yk, rows, 0, rows);
        CHECK(!memcmp(Y[0], Yk, (size_t)(n * rows) * 4) && !memcmp(Y[1], Yk, (size_t)(n * rows) * 4),
              "%s: ob_linear on 1 / 2 threads differs from the kernel", ob_format_name(fs[k]));
        float y1[200];
        ob_linear(pools[1], &p.S, X, 1, y1, &ws);
        CHECK(!memcmp(y1, Yk, (size_t)rows * 4), "%s: matvec differs from the first column of matmul",
              ob_format_name(fs[k]));
        free(Y[0]), free(Y[1]), free(Yk), free(act);
        free_pair(&p);
    }
    free(ws.data), free(W), free(X), free(keep);
    ob_pool_free(pools[0]);
    ob_pool_free(pools[1]);
}

/* ------------------------------------------------------ 6. container */

static char tmpdir[256];

static int logits_of(ob_model *m, ob_pool *pool, float *out, ob_err *err) {
    int32_t toks[6] = {1, 4, 8, 15, 16, 23};
    ob_ctx *c;
    ob_ctx_params cp = ob_ctx_default_params();
    cp.n_ctx = 6;
    int rc = ob_ctx_new(m, pool, &cp, &c, err);
    if (!rc) rc = ob_forward(c, 0, toks, 6, 0, 1, out, err);
    ob_ctx_free(c);
    return rc;
}

/* every linear of m to a sparse format (cycling through all 15) */
static void sparsify(ob_model *m, rng_t *rng) {
    int k = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        ob_layer *L = &m->layers[l];
        ob_matrix *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++, k++) {
            ob_matrix *w = ms[i];
            const ob_format f = (ob_format)(OB_FMT_SP_F32 + k % (OB_FMT_COUNT - OB_FMT_SP_F32));
            const int st = ob_sparse_storage(f);
            float *W = malloc((size_t)(w->rows * w->cols) * 4);
            uint8_t *keep = malloc((size_t)(w->rows * w->cols));
            for (int64_t r = 0; r < w->rows; r++) w->ops->dequant_row(w, r, W + r * w->cols);
            make_keep(st == OB_SPARSE_24 ? &MASKS[MASK_24] : st == OB_SPARSE_BLOCK ? &MASKS[7] : &MASKS[2], w->rows,
                      w->cols, rng, keep);
            size_t ab, bytes = ob_sparse_size(f, keep, w->rows, w->cols, &ab);
            void *data = ob_model_alloc(m, bytes), *aux = ab ? ob_model_alloc(m, ab) : NULL;
            ob_err err = {0};
            CHECK_OK(ob_sparse_pack(f, W, keep, w->rows, w->cols, NULL, data, aux, &err), &err);
            ob_matrix_init_sparse(w, f, w->rows, w->cols, data, aux);
            free(W), free(keep);
        }
    }
}

static int copy_file(const char *from, const char *to) {
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    if (!f || !g) {
        if (f) fclose(f);
        if (g) fclose(g);
        return -1;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, g);
    fclose(f);
    fclose(g);
    return 0;
}

static void test_container(void) {
    char bin[512], dir[512], bad[512], path[600], path2[600];
    snprintf(bin, sizeof bin, "%s/tiny.bin", tmpdir);
    snprintf(dir, sizeof dir, "%s/sparse-hf", tmpdir);
    snprintf(bad, sizeof bad, "%s/sparse-bad", tmpdir);
    write_tiny_llama2c(bin, 64, 96, 3, 4, 2, 48, 16, 1, 1234);
    ob_err err = {0};
    ob_pool *pool;
    ob_model *a, *b;
    CHECK_OK(ob_pool_new(2, &pool, &err), &err);
    CHECK_OK(ob_model_load(bin, NULL, &a, &err), &err);
    if (err.code) return;
    rng_t rng = {2024};
    sparsify(a, &rng);
    const int V = a->cfg.n_vocab;
    float *la = malloc(6 * (size_t)V * 4), *lb = malloc(6 * (size_t)V * 4);
    CHECK_OK(logits_of(a, pool, la, &err), &err);
    CHECK_OK(ob_model_save_hf_container(a, dir, OB_DT_F32, &err), &err);
    CHECK_OK(ob_model_load(dir, NULL, &b, &err), &err);
    if (!err.code) {
        int formats = 1;
        for (int l = 0; l < a->cfg.n_layers; l++) {
            formats &= b->layers[l].wq.format == a->layers[l].wq.format &&
                       b->layers[l].w_down.format == a->layers[l].w_down.format &&
                       ob_matrix_bytes(&b->layers[l].w_up) == ob_matrix_bytes(&a->layers[l].w_up);
        }
        CHECK(formats, "container: formats or bytes changed on the round trip");
        CHECK_OK(logits_of(b, pool, lb, &err), &err);
        float d = 0;
        for (size_t i = 0; i < 6 * (size_t)V; i++) d = fmaxf(d, fabsf(la[i] - lb[i]));
        int finite = 1;
        for (size_t i = 0; i < 6 * (size_t)V; i++) finite &= isfinite(la[i]);
        printf("container: a model with all 15 sparse formats saved and loaded: max abs logit diff %g\n", d);
        CHECK(finite && !memcmp(la, lb, 6 * (size_t)V * 4), "container round trip: logits differ by %g", d);
        ob_model_free(b);
    }

    /* a corrupted mask: layer 0's q_proj is SP_F32; one more bit in its last mask */
    const ob_matrix *q = &a->layers[0].wq;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *file = malloc((size_t)size);
    CHECK(fread(file, 1, (size_t)size, f) == (size_t)size, "read back");
    fclose(f);
    uint8_t *at = memmem(file, (size_t)size, q->data, 64);
    CHECK(at != NULL && q->format == OB_FMT_SP_F32, "q_proj's data not found in the file");
    if (at) {
        at += last_mask_at(q);
        uint32_t m = ob_ld32(at);
        m |= 1u << __builtin_ctz(~m);
        memcpy(at, &m, 4);
        CHECK(mkdir(bad, 0755) == 0, "mkdir %s", bad);
        snprintf(path2, sizeof path2, "%s/model.safetensors", bad);
        FILE *g = fopen(path2, "wb");
        fwrite(file, 1, (size_t)size, g);
        fclose(g);
        char c1[600], c2[600];
        snprintf(c1, sizeof c1, "%s/config.json", dir);
        snprintf(c2, sizeof c2, "%s/config.json", bad);
        CHECK(copy_file(c1, c2) == 0, "copy config.json");
        ob_model *c = NULL;
        int rc = ob_model_load(bad, NULL, &c, &err);
        printf("container: corrupted mask -> %s\n", err.msg);
        CHECK(rc == OB_EFORMAT && strstr(err.msg, "model.layers.0.self_attn.q_proj.weight") &&
                  strstr(err.msg, "model.safetensors") && !strchr(err.msg, '\n'),
              "corrupted mask: rc %d '%s'", rc, err.msg);
        ob_model_free(c);
    }
    free(file), free(la), free(lb);
    ob_model_free(a);
    ob_pool_free(pool);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ob_test_sparse_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_sizes();
    test_scales_and_rules();
    test_bad_data();
    test_kernels();
    test_threads();
    test_container();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_DONE("test_sparse");
}

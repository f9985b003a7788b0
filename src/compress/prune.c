/* prune.c - masks: parsing patterns, selecting what to keep (prune.h). */
#include "compress/prune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ob_prune_params ob_prune_default_params(void) {
    ob_prune_params p = {.method = OB_PRUNE_MAGNITUDE, .pattern = {OB_PAT_UNSTRUCTURED, 0, 0, 1, 1},
                         .sparsity = 0.5, .damp = 0.01, .block = 128, .quant_group = 128, .measure = 1,
                         .batch_tokens = 2048};
    return p;
}

int ob_pattern_parse(const char *s, ob_pattern *p, ob_err *err) {
    memset(p, 0, sizeof *p);
    p->bh = p->bw = 1;
    int a = 0, b = 0, used = 0;
    if (!strcmp(s, "unstructured")) {
        p->kind = OB_PAT_UNSTRUCTURED;
        return 0;
    }
    if (sscanf(s, "%d:%d%n", &a, &b, &used) == 2 && s[used] == 0) {
        if (a < 1 || b < 1 || a > b || b > 128)
            return ob_fail(err, OB_EINVAL, "pattern %s: N:M needs 0 < N <= M <= 128 (N kept of every M)", s);
        if (128 % b) return ob_fail(err, OB_EINVAL, "pattern %s: M must divide 128", s);
        *p = (ob_pattern){OB_PAT_NM, a, b, 1, 1};
        return 0;
    }
    if (!strncmp(s, "block:", 6)) {
        const char *t = s + 6;
        if (sscanf(t, "%dx%d%n", &a, &b, &used) == 2 && t[used] == 0) {
        } else if (sscanf(t, "%d%n", &b, &used) == 1 && t[used] == 0) {
            a = 1;
        } else {
            return ob_fail(err, OB_EINVAL, "pattern %s: block is block:BHxBW or block:B (1 x B)", s);
        }
        if (a < 1 || b < 1 || a > 4096 || b > 4096)
            return ob_fail(err, OB_EINVAL, "pattern %s: block sizes must be 1 to 4096", s);
        *p = (ob_pattern){OB_PAT_BLOCK, 0, 0, a, b};
        return 0;
    }
    return ob_fail(err, OB_EINVAL, "unknown pattern '%s' (unstructured, N:M, block:BHxBW)", s);
}

void ob_pattern_name(const ob_pattern *p, char *buf, int size) {
    if (p->kind == OB_PAT_NM) snprintf(buf, (size_t)size, "%d:%d", p->n, p->m);
    else if (p->kind == OB_PAT_BLOCK) snprintf(buf, (size_t)size, "block:%dx%d", p->bh, p->bw);
    else snprintf(buf, (size_t)size, "unstructured");
}

void ob_prune_report_free(ob_prune_report *r) {
    if (!r) return;
    for (int i = 0; i < r->n_tensors; i++) {
        free(r->tensors[i].keep);
        free(r->tensors[i].scales);
    }
    free(r->tensors);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ selection */

/* Non-negative floats order as their bit patterns do: three passes of an
 * 11-bit histogram pin the k-th smallest pattern down, digit by digit. */
static uint32_t key_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u & 0x7fffffffu; /* -0.0 and 0.0 alike */
}

float ob_kth_smallest(const float *const *arrays, const int64_t *lens, int n_arrays, int64_t k, int64_t *n_below) {
    static const int shift[3] = {21, 10, 0};
    static const uint32_t width[3] = {2048, 2048, 1024};
    uint32_t prefix = 0, pmask = 0;
    int64_t below = 0;
    for (int pass = 0; pass < 3; pass++) {
        int64_t hist[2048] = {0};
        for (int a = 0; a < n_arrays; a++)
            for (int64_t i = 0; i < lens[a]; i++) {
                uint32_t u = key_of(arrays[a][i]);
                if ((u & pmask) == prefix) hist[(u >> shift[pass]) & (width[pass] - 1)]++;
            }
        uint32_t d = 0;
        while (d + 1 < width[pass] && below + hist[d] <= k) below += hist[d++];
        prefix |= d << shift[pass];
        pmask |= (width[pass] - 1) << shift[pass];
    }
    if (n_below) *n_below = below;
    float f;
    memcpy(&f, &prefix, 4);
    return f;
}

/* Removes the `drop` lowest of v[0..n) (stride 1) from keep (ties by
 * position): keep[i] = 0 for them. */
static void drop_lowest(const float *v, int64_t n, int64_t drop, uint8_t *keep) {
    if (drop <= 0) return;
    if (drop >= n) {
        memset(keep, 0, (size_t)n);
        return;
    }
    int64_t below;
    const float t = ob_kth_smallest(&v, &n, 1, drop - 1, &below);
    const uint32_t kt = key_of(t);
    int64_t ties = drop - below; /* of the values equal to t, the first ones go */
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = key_of(v[i]);
        if (u < kt || (u == kt && ties-- > 0)) keep[i] = 0;
    }
}

int ob_prune_select(const float *score, int64_t rows, int64_t cols, const ob_pattern *pat, double s, int per_row,
                    uint8_t *keep, ob_err *err) {
    memset(keep, 1, (size_t)(rows * cols));
    if (pat->kind == OB_PAT_NM) {
        const int n = pat->n, m = pat->m;
        if (cols % m) return ob_fail(err, OB_EINVAL, "%d:%d pruning of %lld columns (not a multiple of %d)", n, m,
                                     (long long)cols, m);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t g = 0; g < cols; g += m) {
                const float *v = score + r * cols + g;
                uint8_t *k = keep + r * cols + g;
                for (int drop = 0; drop < m - n; drop++) { /* the lowest still kept, first by position */
                    int lo = -1;
                    for (int j = 0; j < m; j++)
                        if (k[j] && (lo < 0 || key_of(v[j]) < key_of(v[lo]))) lo = j;
                    k[lo] = 0;
                }
            }
        return 0;
    }
    if (pat->kind == OB_PAT_UNSTRUCTURED) {
        if (per_row)
            for (int64_t r = 0; r < rows; r++)
                drop_lowest(score + r * cols, cols, (int64_t)floor(s * (double)cols), keep + r * cols);
        else
            drop_lowest(score, rows * cols, (int64_t)floor(s * (double)(rows * cols)), keep);
        return 0;
    }
    const int64_t bh = pat->bh, bw = pat->bw;
    if (rows % bh || cols % bw)
        return ob_fail(err, OB_EINVAL, "block %lldx%lld pruning of a %lld x %lld matrix (blocks must divide it)",
                       (long long)bh, (long long)bw, (long long)rows, (long long)cols);
    const int64_t nbr = rows / bh, nbc = cols / bw;
    float *bs = malloc((size_t)(nbr * nbc) * sizeof *bs);
    uint8_t *bk = malloc((size_t)(nbr * nbc));
    if (!bs || !bk) {
        free(bs), free(bk);
        return ob_fail(err, OB_ENOMEM, "pruning: out of memory");
    }
    for (int64_t i = 0; i < nbr; i++)
        for (int64_t j = 0; j < nbc; j++) {
            double a = 0;
            for (int64_t r = i * bh; r < (i + 1) * bh; r++)
                for (int64_t c = j * bw; c < (j + 1) * bw; c++) a += (double)score[r * cols + c] * score[r * cols + c];
            bs[i * nbc + j] = (float)sqrt(a);
        }
    memset(bk, 1, (size_t)(nbr * nbc));
    if (per_row)
        for (int64_t i = 0; i < nbr; i++)
            drop_lowest(bs + i * nbc, nbc, (int64_t)floor(s * (double)nbc), bk + i * nbc);
    else
        drop_lowest(bs, nbr * nbc, (int64_t)floor(s * (double)(nbr * nbc)), bk);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) keep[r * cols + c] = bk[(r / bh) * nbc + c / bw];
    free(bs);
    free(bk);
    return 0;
}

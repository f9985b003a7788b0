/* linear_maps.c - ob_linear for matrices with index maps (linear_maps.h).
 *
 * Workspace per token: the gathered inputs (cols floats, when in_keep is
 * set) then the stored matrix's quantized activations (when its format
 * takes them), so ob_linear_ws_bytes(in_dim, 1) always covers one token. */
#include "kernels/linear_maps.h"

#include <math.h>
#include <string.h>

/* Spreads rows [n x rows] at the front of Y to [n x full], row r of token t
 * going to column keep[r], zeros elsewhere.  Backwards, so every write
 * lands at or after the value it reads and ahead of nothing unread. */
static void spread_rows(float *Y, int64_t n, int64_t rows, const int32_t *keep, int64_t full) {
    for (int64_t t = n - 1; t >= 0; t--) {
        float *dst = Y + t * full;
        const float *src = Y + t * rows;
        int64_t next = full; /* the first column already written in this row */
        for (int64_t r = rows - 1; r >= 0; r--) {
            float v = src[r];
            for (int64_t c = keep[r] + 1; c < next; c++) dst[c] = 0.0f;
            dst[keep[r]] = v;
            next = keep[r];
        }
        for (int64_t c = 0; c < next; c++) dst[c] = 0.0f;
    }
}

void ob_linear_mapped(ob_pool *pool, const ob_matrix *W, const float *X, int64_t n, float *Y,
                      const ob_workspace *ws) {
    const int64_t in = ob_matrix_in_dim(W), out = ob_matrix_out_dim(W);
    if (n <= 0) return;
    ob_matrix S = *W; /* the stored matrix, as an ordinary one */
    S.in_keep = S.out_keep = NULL;
    const size_t gather = W->in_keep ? (size_t)W->cols * sizeof(float) : 0;
    const size_t per = ((gather + 63) & ~(size_t)63) + (W->ops->act_bytes ? ob_linear_act_ws_bytes(W->cols, 1) : 0);
    int64_t chunk = per == 0 ? n : (int64_t)((ws ? ws->size : 0) / per);
    if (chunk > n) chunk = n;
    if (chunk <= 0 || (gather && !ws)) {
        for (int64_t i = 0; i < n * out; i++) Y[i] = NAN;
        return;
    }
    for (int64_t t0 = 0; t0 < n; t0 += chunk) {
        int64_t nt = n - t0 < chunk ? n - t0 : chunk;
        const float *Xc = X + t0 * in;
        ob_workspace rest = ws ? *ws : (ob_workspace){NULL, 0};
        if (gather) {
            float *g = ws->data;
            for (int64_t t = 0; t < nt; t++)
                for (int64_t c = 0; c < W->cols; c++) g[t * W->cols + c] = Xc[t * in + W->in_keep[c]];
            size_t used = ((size_t)nt * W->cols * sizeof(float) + 63) & ~(size_t)63;
            rest.data = (char *)ws->data + used;
            rest.size = ws->size - used;
            Xc = g;
        }
        float *Yc = Y + t0 * out;
        ob_linear(pool, &S, Xc, nt, Yc, &rest);
        if (W->out_keep) spread_rows(Yc, nt, W->rows, W->out_keep, out);
    }
}

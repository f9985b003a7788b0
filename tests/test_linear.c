/* test_linear.c - ob_linear_multi (several matrices, one dispatch) gives
 * bitwise the same results as separate ob_linear calls, for every format,
 * pool size and row count around the 16-row split. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/matrix.h"

int main(void) {
    ob_err err = {0};
    int rows[3][3] = {{288, 96, 96}, {17, 5, 300}, {64, 64, 64}};
    int cols = 77;
    for (int threads = 1; threads <= 3; threads++) {
        ob_pool *pool;
        CHECK_OK(ob_pool_new(threads, &pool, &err), &err);
        for (int f = 0; f < OB_FMT_DENSE_COUNT; f++) {
            for (int s = 0; s < 3; s++) {
                ob_matrix W[3];
                void *data[3];
                float *ya[3], *yb[3], x[77];
                for (int c = 0; c < cols; c++) x[c] = (float)((c * 37) % 11) / 7.0f - 0.6f;
                for (int k = 0; k < 3; k++) {
                    size_t es = f == OB_FMT_F32 ? 4 : 2;
                    data[k] = malloc((size_t)rows[s][k] * cols * es);
                    for (size_t e = 0; e < (size_t)rows[s][k] * cols; e++) {
                        float v = (float)((e * 2654435761u) % 1000) / 1000.0f - 0.5f;
                        if (f == OB_FMT_F32) ((float *)data[k])[e] = v;
                        else if (f == OB_FMT_F16) ((uint16_t *)data[k])[e] = ob_f32_to_f16(v);
                        else ((uint16_t *)data[k])[e] = ob_f32_to_bf16(v);
                    }
                    ob_matrix_init(&W[k], (ob_format)f, rows[s][k], cols, data[k]);
                    ya[k] = calloc((size_t)rows[s][k], 4);
                    yb[k] = calloc((size_t)rows[s][k], 4);
                    ob_linear(pool, &W[k], x, 1, ya[k], NULL);
                }
                const ob_matrix *Ws[3] = {&W[0], &W[1], &W[2]};
                ob_linear_multi(pool, Ws, 3, x, 1, yb, NULL);
                int same = 1;
                for (int k = 0; k < 3; k++) {
                    same &= !memcmp(ya[k], yb[k], (size_t)rows[s][k] * 4);
                    free(ya[k]);
                    free(yb[k]);
                    free(data[k]);
                }
                CHECK(same, "multi != separate: format %s, shapes %d, %d threads", ob_format_name((ob_format)f), s,
                      threads);
            }
        }
        ob_pool_free(pool);
    }
    return CHECK_DONE("test_linear");
}

/* quantizer.c - GPTQ's min/max integer grid (quantizer.h). */
#include "compress/quantizer.h"

#include <math.h>

void ob_qgrid_fit(const float *w, int64_t n, const ob_qspec *q, float *scale, float *zero) {
    const int maxq = (1 << q->bits) - 1;
    float xmin = 0.0f, xmax = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (w[i] < xmin) xmin = w[i];
        if (w[i] > xmax) xmax = w[i];
    }
    if (q->sym) {
        if (-xmin > xmax) xmax = -xmin;
        if (xmin < 0) xmin = -xmax;
    }
    if (xmin == 0.0f && xmax == 0.0f) {
        xmin = -1.0f;
        xmax = 1.0f;
    }
    *scale = (xmax - xmin) / (float)maxq;
    *zero = q->sym ? (float)(maxq + 1) / 2.0f : nearbyintf(-xmin / *scale);
}

int ob_qgrid_int(float w, float scale, float zero, int maxq) {
    float v = nearbyintf(w / scale) + zero;
    if (!(v >= 0.0f)) v = 0.0f; /* NaN goes to 0 as well */
    if (v > (float)maxq) v = (float)maxq;
    return (int)v;
}

void ob_qgrid_rtn(const float *w, int64_t rows, int64_t cols, const ob_qspec *q, float *out, uint8_t *qint,
                  float *scales, float *zeros) {
    const int64_t g = q->group_size > 0 ? q->group_size : cols, ng = (cols + g - 1) / g;
    const int maxq = (1 << q->bits) - 1;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < ng; k++) {
            int64_t c0 = k * g, c1 = c0 + g < cols ? c0 + g : cols;
            const float *src = w + r * cols;
            float s, z;
            ob_qgrid_fit(src + c0, c1 - c0, q, &s, &z);
            if (scales) scales[r * ng + k] = s;
            if (zeros) zeros[r * ng + k] = z;
            for (int64_t c = c0; c < c1; c++) {
                int qi = ob_qgrid_int(src[c], s, z, maxq);
                if (qint) qint[r * cols + c] = (uint8_t)qi;
                out[r * cols + c] = ob_qgrid_deq(qi, s, z);
            }
        }
}

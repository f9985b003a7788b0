/* quantizer.h - the integer grid that GPTQ and AWQ round weights onto.
 *
 * A group of weights w (one row's slice of group_size input columns, or
 * the whole row) is mapped to integers q in [0, maxq], maxq = 2^bits - 1:
 *
 *     q = clamp(round(w / scale) + zero, 0, maxq)      w' = scale * (q - zero)
 *
 * with scale and zero chosen from the group's range as GPTQ's reference
 * Quantizer.find_params does (IST-DASLab/gptq, quant.py), also used by
 * AutoGPTQ/GPTQModel:
 *
 *     xmin = min(min(w), 0)   xmax = max(max(w), 0)
 *     symmetric:  xmax = max(|xmin|, xmax); xmin = -xmax if xmin < 0
 *     if xmin == xmax == 0:  xmin = -1, xmax = +1
 *     scale = (xmax - xmin) / maxq
 *     zero  = symmetric ? (maxq + 1) / 2 : round(-xmin / scale)
 *
 * round() is round-half-to-even (torch.round).  Everything is float32, as
 * the reference runs.
 */
#ifndef OB_COMPRESS_QUANTIZER_H
#define OB_COMPRESS_QUANTIZER_H

#include <stdint.h>

typedef struct ob_qspec {
    int bits;        /* 2..8                                         */
    int group_size;  /* input columns per group; 0 = the whole row   */
    int sym;         /* symmetric grid (zero fixed at (maxq+1)/2)    */
} ob_qspec;

/* scale and zero of one group w[0..n) (n >= 1). */
void ob_qgrid_fit(const float *w, int64_t n, const ob_qspec *q, float *scale, float *zero);

/* The integer of w on a grid, and its reconstruction. */
int ob_qgrid_int(float w, float scale, float zero, int maxq);
static inline float ob_qgrid_deq(int q, float scale, float zero) { return scale * ((float)q - zero); }

/* Round-to-nearest of a rows x cols matrix (row-major) group by group:
 * out = reconstructed weights (may alias w).  q, scales, zeros may be NULL;
 * if given they receive the integers [rows x cols] and per-group
 * [rows x n_groups] parameters, n_groups = cols / group_size (or 1). */
void ob_qgrid_rtn(const float *w, int64_t rows, int64_t cols, const ob_qspec *q, float *out, uint8_t *qint,
                  float *scales, float *zeros);

#endif

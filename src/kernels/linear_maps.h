/* linear_maps.h - ob_linear for matrices with structured-pruning index maps
 * (matrix.h describes in_keep / out_keep). */
#ifndef OB_KERNELS_LINEAR_MAPS_H
#define OB_KERNELS_LINEAR_MAPS_H
#include "kernels/matrix.h"

/* Y[n x out_dim] = X[n x in_dim] . W^T for a W with maps: per chunk of
 * tokens that fits ws, X's kept columns are gathered into ws, the stored
 * matrix runs as an ordinary one (the rest of ws holds its quantized
 * activations) into the front of the chunk's rows of Y, and those are
 * spread in place to their outputs, zeros elsewhere.  Too small a ws for
 * one token fills Y with NaN, as ob_linear does. */
void ob_linear_mapped(ob_pool *pool, const ob_matrix *W, const float *X, int64_t n, float *Y,
                      const ob_workspace *ws);

/* The workspace a matrix WITHOUT maps needs for n tokens of cols inputs:
 * its quantized activations only (linear.c). */
size_t ob_linear_act_ws_bytes(int64_t cols, int64_t n);

#endif

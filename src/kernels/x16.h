/* x16.h - the "x16" in-memory layout of the integer-dot quantized formats:
 * the same bytes per row as the format's own layout (kernels/quant.h),
 * reordered so that one 512-bit vpdpbusd serves sixteen 32-blocks at once,
 * one int32 lane per block.
 *
 * Why: in the row layout a 64-weight pair of blocks costs its own code
 * shuffle, scale conversion and float multiply-add, and on two cores the
 * 4-bit formats were bound by that arithmetic, not by memory (a 1.1B model
 * decoded Q4_0 at 80% of the read bandwidth in the minutes when this VM's
 * bandwidth is high, NF4 at 60%).  With a lane per block, 16 blocks (512
 * weights) take eight vpdpbusd, four code loads and one float step.
 *
 * Formats: Q8_0, Q4_0, Q4_1, MXFP4, NF4, NF4_DQ and the group int4 / int8
 * ones (ob_x16_supported).  W8A8 already reads whole rows in int32.
 *
 * Row of nb = cols / 32 blocks, in groups of 16 blocks (the last group has
 * n = nb - 16 * (ngroups - 1) lanes, 1..16):
 *
 *   | header region | codes of group 0 | codes of group 1 | ... |
 *
 *   header region: Q8_0, Q4_0: d[nb] (fp16);  Q4_1: d[nb] then m[nb]
 *   (fp16); MXFP4: e[nb] (E8M0 bytes); the group formats, NF4 and NF4_DQ:
 *   their row layout's headers, unchanged (they are already apart from
 *   the codes).
 *
 *   codes of a group with n lanes, lane j = block 16g + j, q_j[0..31] its
 *   codes in weight order:
 *     4-bit: 4 chunks of 4n bytes, chunk c, byte 4j + i (i = 0..3):
 *              | bits 7..4: q_j[8c + 4 + i] | bits 3..0: q_j[8c + i] |
 *            (low nibbles are step 2c, high nibbles step 2c + 1)
 *     8-bit: 8 chunks of 4n bytes, chunk s, byte 4j + i: q_j[4s + i]
 *            (the stored byte, as in the row layout)
 *   so step s (weights 4s .. 4s+3 of every block) is one 64-byte vector
 *   whose int32 lane j holds block j's four codes.
 *
 * Activations (ob_x16_act_bytes per token): per group of 16 blocks, 704
 * bytes, lanes past the row's last block zero:
 *
 *   | qs[8][64]: step s, byte 4j + i = x_j[4s + i] | d[16] | ds[16] | sum[16] |
 *     int8                                          float    float    int32
 *
 * the ob_blk_q8a blocks (same quantizer, same bytes) spread the same way,
 * sum = the block's sum of codes.
 *
 * A matrix is put in this layout by ob_matrix_to_x16 (ob_model_pack_x16 for
 * a whole model, done only for inference: writers refuse x16 matrices).
 * Its ops (ob_format_get_x16) have scalar references that unpack each row
 * and run the row layout's reference, and AVX-512 VNNI kernels
 * (kernels/x86/quant_x16_avx512.c); other levels run the references. */
#ifndef OB_KERNELS_X16_H
#define OB_KERNELS_X16_H
#include "kernels/quant.h"

enum { OB_X16_LANES = 16, OB_X16_ACT_GROUP = 704 };

/* 1 when fmt has an x16 layout. */
int ob_x16_supported(ob_format fmt);
/* 1 when putting fmt in x16 pays at the SIMD level in force: it does and
 * this CPU has the AVX-512 VNNI kernels. */
int ob_x16_pays(ob_format fmt);

/* Bytes of the header region of a row of cols weights (above). */
size_t ob_x16_hdr_bytes(ob_format fmt, int64_t cols);

/* One row of cols weights between the row layout and x16 (src and dst
 * distinct, row_bytes of fmt each). */
void ob_x16_pack_row(ob_format fmt, int64_t cols, const void *src, void *dst);
void ob_x16_unpack_row(ob_format fmt, int64_t cols, const void *src, void *dst);

/* Token activations in the x16 form (above). */
size_t ob_x16_act_bytes(int64_t cols);
void ob_x16_quantize_act(const float *x, int64_t cols, void *out);
/* Back to cols / 32 ob_blk_q8a blocks. */
void ob_x16_act_unpack(const void *act, int64_t cols, ob_blk_q8a *out);

/* The ops of fmt in the x16 layout at a SIMD level (clamped to the CPU's),
 * or NULL when fmt has no x16 layout. */
const ob_format_ops *ob_format_get_x16(ob_format fmt, ob_simd level);

/* Rewrites m (a matrix of an x16 format in the row layout) into dst, which
 * holds ob_matrix_bytes(m) bytes and may be m->data itself (then each row
 * is reordered in place through a row of scratch per task); rows are split
 * across the pool's threads (pool may be NULL).  Sets m->x16, m->data and
 * m->ops.  Returns 0, or -1 when the format has no x16 layout, m is already
 * in it, or the scratch cannot be allocated; m is unchanged then. */
int ob_matrix_to_x16(ob_matrix *m, void *dst, ob_pool *pool);

#ifdef OB_HAVE_X86
/* ob_x16_quantize_act's bytes, with the AVX-512 block quantizer. */
void ob_x16_quantize_act_avx512(const float *x, int64_t cols, void *out);
void ob_x16_matvec_avx512(const ob_matrix *W, const void *x, float *y, int64_t r0, int64_t r1);
void ob_x16_matmul_avx512(const ob_matrix *W, const void *X, int64_t n, float *Y, int64_t ldy, int64_t r0,
                          int64_t r1);
#endif

#endif

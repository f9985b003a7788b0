/* gptq_pack.h - the GPTQ checkpoint layout that transformers, AutoGPTQ,
 * GPTQModel and vLLM load (quant_method "gptq", checkpoint_format "gptq",
 * the v1 format).
 *
 * A linear layer W [out x in] quantized with `bits` bits in n_groups groups
 * is stored as four tensors:
 *
 *   qweight  int32 [in * bits / 32, out]   the integers, packed down the
 *                                          input dimension
 *   qzeros   int32 [n_groups, out * bits / 32]  zero points minus one,
 *                                          packed along the output dimension
 *   scales   fp16  [n_groups, out]
 *   g_idx    int32 [in]                    the group of each input column
 *
 * and w[o, i] = scales[g, o] * (q[o, i] - (z[g, o] + 1)), g = g_idx[i], where
 * z is what qzeros holds: the v1 format stores zero - 1 (AutoGPTQ's pack
 * does `zeros -= 1` and its kernels add the 1 back), so it cannot hold a
 * zero point of 0 (a group with no negative weight).  GPTQModel's v2
 * format (checkpoint_format "gptq_v2") stores the zero point itself:
 * w = scales * (q - z).
 *
 * Packing is a little-endian bit stream of 32-bit words: value k of a
 * stream occupies bits [k*bits, (k+1)*bits) counted from bit 0 of word 0,
 * so for 4 bits word w holds values 8w..8w+7 with value 8w+j at bits
 * 4j..4j+3, and for 3 bits value 10 straddles words 0 and 1:
 *
 *   word 0: | v10 lo2 | v9 | ... | v1 | v0 |     bits 31..30, 29..27, ..., 2..0
 *   word 1: | v21 lo1 | v20 | ... | v11 | v10 hi1 |
 *   word 2: | v31 | ... | v22 | v21 hi2 |
 *
 * qweight's streams run down each output column o (values q[o, 0..in));
 * qzeros' streams run along each group row g (values z[g, 0..out)).
 */
#ifndef OB_FORMATS_GPTQ_PACK_H
#define OB_FORMATS_GPTQ_PACK_H

#include <stdint.h>

#include "optibench.h"

typedef struct ob_gptq_packed {
    int64_t out, in, n_groups;
    int bits;
    int v2;            /* zero points stored as they are (gptq_v2)    */
    int32_t *qweight;  /* [in * bits / 32][out]      */
    int32_t *qzeros;   /* [n_groups][out * bits / 32] */
    uint16_t *scales;  /* [n_groups][out], fp16       */
    int32_t *g_idx;    /* [in]                        */
} ob_gptq_packed;

/* Packs integers q [out x in] (values < 2^bits), per-row group scales and
 * zero points [out x n_groups] (integers; 1..2^bits in v1, 0..2^bits - 1
 * in v2) and g_idx [in].  in * bits and out * bits must
 * be multiples of 32.  The arrays in *p are malloc'd; free with
 * ob_gptq_packed_free. */
int ob_gptq_pack(const uint8_t *q, const float *scales, const float *zeros, const int32_t *g_idx, int64_t out,
                 int64_t in, int64_t n_groups, int bits, int v2, ob_gptq_packed *p, ob_err *err);
void ob_gptq_packed_free(ob_gptq_packed *p);

/* The integers q [out x in] and zero points [out x n_groups] p holds (the
 * v1 offset added back), for loading a checkpoint into the runtime
 * formats.  Fails on a g_idx outside [0, n_groups). */
int ob_gptq_ints(const ob_gptq_packed *p, uint8_t *q, int32_t *zeros, ob_err *err);

/* The weights p describes, w[o * in + i] as above (float32). */
int ob_gptq_unpack(const ob_gptq_packed *p, float *w, ob_err *err);

#endif

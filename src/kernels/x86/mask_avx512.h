/* mask_avx512.h - the lane mask of a tail, shared by the AVX-512 kernel
 * files (include after <immintrin.h>; needs AVX512F). */
#ifndef OB_KERNELS_X86_MASK_AVX512_H
#define OB_KERNELS_X86_MASK_AVX512_H
#include <immintrin.h>
#include <stdint.h>

/* The first min(left, 16) of 16 lanes; none when left <= 0.  A loop over n
 * values in steps of 16 uses ob_lanes16(n - i) for every step: full steps
 * get all lanes, the tail its own. */
static inline __attribute__((always_inline)) __mmask16 ob_lanes16(int64_t left) {
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
}

#endif

/* prefetch_x86.h - software prefetch of the KV cache for attention.
 *
 * In decode the weights stream through the caches between one token's
 * attention and the next, so every cached key and value comes from memory
 * again, one head (a contiguous run of n * hd floats, context.h) at a time.
 * The hardware prefetcher ramps up too slowly on runs that short: on the
 * 2-core EPYC stories15M's attention took 77-88 us per token, 50-60 us with
 * the rows OB_KV_AHEAD positions ahead asked for in advance. */
#ifndef OB_KERNELS_X86_PREFETCH_X86_H
#define OB_KERNELS_X86_PREFETCH_X86_H
#include <immintrin.h>
#include <stddef.h>

enum { OB_KV_AHEAD = 32 }; /* positions ahead: 6 KB for head_dim 48 */

/* Asks for `rows` rows of `width` floats, stride floats apart, into L1:
 * one prefetch per 64 bytes.  Prefetches never fault. */
static inline void ob_prefetch_rows(const float *p, size_t stride, int rows, int width) {
    for (int i = 0; i < rows; i++)
        for (int d = 0; d < width; d += 16) _mm_prefetch((const char *)(p + (size_t)i * stride + d), _MM_HINT_T0);
}

#endif

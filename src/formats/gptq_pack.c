/* gptq_pack.c - GPTQ v1 checkpoint packing (gptq_pack.h). */
#include "formats/gptq_pack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matrix.h"

/* value k of a bit stream starting at word 0, stride between words */
static void put_bits(uint32_t *words, int64_t stride, int64_t k, int bits, uint32_t v) {
    int64_t bit = k * bits, w = bit / 32;
    int sh = (int)(bit % 32);
    words[w * stride] |= v << sh;
    if (sh + bits > 32) words[(w + 1) * stride] |= v >> (32 - sh);
}

static uint32_t get_bits(const uint32_t *words, int64_t stride, int64_t k, int bits) {
    int64_t bit = k * bits, w = bit / 32;
    int sh = (int)(bit % 32);
    uint64_t v = words[w * stride] >> sh;
    if (sh + bits > 32) v |= (uint64_t)words[(w + 1) * stride] << (32 - sh);
    return (uint32_t)(v & ((1u << bits) - 1));
}

void ob_gptq_packed_free(ob_gptq_packed *p) {
    free(p->qweight);
    free(p->qzeros);
    free(p->scales);
    free(p->g_idx);
    memset(p, 0, sizeof *p);
}

int ob_gptq_pack(const uint8_t *q, const float *scales, const float *zeros, const int32_t *g_idx, int64_t out,
                 int64_t in, int64_t ng, int bits, int v2, ob_gptq_packed *p, ob_err *err) {
    memset(p, 0, sizeof *p);
    if (bits < 2 || bits > 8) return ob_fail(err, OB_EINVAL, "gptq pack: %d bits (2 to 8)", bits);
    if ((in * bits) % 32 || (out * bits) % 32)
        return ob_fail(err, OB_EINVAL, "gptq pack: %lld x %lld at %d bits does not fill whole 32-bit words",
                       (long long)out, (long long)in, bits);
    const uint32_t maxq = (1u << bits) - 1;
    const int64_t wr = in * bits / 32, wz = out * bits / 32;
    p->out = out, p->in = in, p->n_groups = ng, p->bits = bits, p->v2 = v2 != 0;
    const float zlo = v2 ? 0.0f : 1.0f;
    p->qweight = calloc((size_t)(wr * out), sizeof *p->qweight);
    p->qzeros = calloc((size_t)(ng * wz), sizeof *p->qzeros);
    p->scales = malloc((size_t)(ng * out) * sizeof *p->scales);
    p->g_idx = malloc((size_t)in * sizeof *p->g_idx);
    if (!p->qweight || !p->qzeros || !p->scales || !p->g_idx) {
        ob_gptq_packed_free(p);
        return ob_fail(err, OB_ENOMEM, "gptq pack: out of memory");
    }
    for (int64_t i = 0; i < in; i++) {
        if (g_idx[i] < 0 || g_idx[i] >= ng) {
            ob_gptq_packed_free(p);
            return ob_fail(err, OB_EINVAL, "gptq pack: g_idx[%lld] = %d outside [0, %lld)", (long long)i, g_idx[i],
                           (long long)ng);
        }
        p->g_idx[i] = g_idx[i];
    }
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++) {
            uint32_t v = q[o * in + i];
            if (v > maxq) {
                ob_gptq_packed_free(p);
                return ob_fail(err, OB_EINVAL, "gptq pack: q[%lld, %lld] = %u exceeds %u", (long long)o, (long long)i,
                               v, maxq);
            }
            put_bits((uint32_t *)p->qweight + o, out, i, bits, v);
        }
    for (int64_t g = 0; g < ng; g++)
        for (int64_t o = 0; o < out; o++) {
            float z = zeros[o * ng + g], s = scales[o * ng + g];
            if (z != nearbyintf(z) || z < zlo || z > (float)maxq + zlo || !isfinite(s)) {
                ob_gptq_packed_free(p);
                return ob_fail(err, OB_EINVAL, "gptq pack: row %lld group %lld: zero %g or scale %g cannot be stored",
                               (long long)o, (long long)g, z, s);
            }
            put_bits((uint32_t *)p->qzeros + g * wz, 1, o, bits, (uint32_t)(z - zlo));
            p->scales[g * out + o] = ob_f32_to_f16(s);
        }
    return 0;
}

int ob_gptq_ints(const ob_gptq_packed *p, uint8_t *q, int32_t *zeros, ob_err *err) {
    const int64_t wz = p->out * p->bits / 32;
    for (int64_t i = 0; i < p->in; i++) {
        if (p->g_idx[i] < 0 || p->g_idx[i] >= p->n_groups)
            return ob_fail(err, OB_EFORMAT, "gptq: g_idx[%lld] = %d outside [0, %lld)", (long long)i, p->g_idx[i],
                           (long long)p->n_groups);
        for (int64_t o = 0; o < p->out; o++)
            q[o * p->in + i] = (uint8_t)get_bits((const uint32_t *)p->qweight + o, p->out, i, p->bits);
    }
    for (int64_t g = 0; g < p->n_groups; g++)
        for (int64_t o = 0; o < p->out; o++)
            zeros[o * p->n_groups + g] =
                (int32_t)get_bits((const uint32_t *)p->qzeros + g * wz, 1, o, p->bits) + (p->v2 ? 0 : 1);
    return 0;
}

int ob_gptq_unpack(const ob_gptq_packed *p, float *w, ob_err *err) {
    const int64_t wz = p->out * p->bits / 32;
    for (int64_t i = 0; i < p->in; i++) {
        int64_t g = p->g_idx[i];
        if (g < 0 || g >= p->n_groups)
            return ob_fail(err, OB_EFORMAT, "gptq: g_idx[%lld] = %lld outside [0, %lld)", (long long)i, (long long)g,
                           (long long)p->n_groups);
        for (int64_t o = 0; o < p->out; o++) {
            uint32_t q = get_bits((const uint32_t *)p->qweight + o, p->out, i, p->bits);
            uint32_t z = get_bits((const uint32_t *)p->qzeros + g * wz, 1, o, p->bits) + (p->v2 ? 0 : 1);
            w[o * p->in + i] = ob_f16_to_f32(p->scales[g * p->out + o]) * ((float)q - (float)z);
        }
    }
    return 0;
}

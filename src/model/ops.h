/* ops.h - the element-wise pieces of the forward pass (scalar, float32). */
#ifndef OB_MODEL_OPS_H
#define OB_MODEL_OPS_H
#include <stdint.h>

/* out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i], i < n */
void ob_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
/* out[i] = (x[i] - mean) / sqrt(var + eps) * w[i] + b[i] */
void ob_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps);
/* Rotates pairs (j, j + hd/2) of each of n_heads heads in x by pos*inv_freq[j]
 * (Hugging Face "rotate_half" convention); cs holds cos,sin pairs [hd/2][2]. */
void ob_rope(float *x, int n_heads, int hd, const float *cs);
/* Fills cs[hd/2][2] with cos/sin of pos * inv_freq[j]. */
void ob_rope_table(float *cs, int pos, const float *inv_freq, int half);
/* Llama RoPE frequencies theta^(-2j/hd), j < hd/2, with Llama-3 scaling when
 * factor > 0 (as transformers' _compute_llama3_parameters). */
void ob_rope_inv_freq(float *inv_freq, int hd, float theta, float factor, float low, float high, int orig_max);
/* softmax, SwiGLU and GELU (tanh) are vector kernels: kernels/vec.h */
void ob_gelu_erf(float *x, int n);
void ob_add_bias(float *x, const float *b, int n);

#endif

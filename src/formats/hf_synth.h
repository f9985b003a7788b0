/* hf_synth.h - synthetic Llama checkpoints with real models' shapes and
 * random weights, written as Hugging Face directories (for benchmarks on
 * shapes whose real weights are too large to fetch or store). */
#ifndef OB_FORMATS_HF_SYNTH_H
#define OB_FORMATS_HF_SYNTH_H
#include <stdint.h>

#include "formats/safetensors.h"
#include "optibench.h"

typedef struct ob_synth_shape {
    const char *name;
    int dim, ffn_dim, n_layers, n_heads, n_kv_heads, n_vocab, max_seq, tied;
    float norm_eps, rope_theta;
} ob_synth_shape;

/* The known shapes ("tinyllama-1.1b", "stories15m"), by name (case
 * ignored), or NULL. */
const ob_synth_shape *ob_synth_shape_find(const char *name);
/* "name, name, ..." of the known shapes, for usage messages. */
const char *ob_synth_shape_names(void);

/* Writes dir/config.json and dir/model.safetensors (creating dir): every
 * matrix ~ N(0, std^2) (std 0.02 as Hugging Face initialises Llama), the
 * RMSNorm weights 1, in dtype dt (OB_DT_F32, OB_DT_F16 or OB_DT_BF16).  The
 * values come from a seeded xorshift generator (the sum of four uniforms,
 * rescaled: the normal's mean and variance, tails cut at 3.46 std), so the
 * same seed writes the same bytes.  The whole model is held in memory until
 * it is written (4.4 GB for 1.1B parameters in F32).  No tokenizer. */
int ob_synth_write_hf(const ob_synth_shape *shape, ob_dtype dt, uint64_t seed, float std, const char *dir,
                      ob_err *err);

#endif

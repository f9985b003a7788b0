/* fuzz_safetensors_model - the input is model.safetensors beside a fixed
 * config.json of a tiny llama (dim 8, 2 layers, 2/1 heads, ffn 16, vocab
 * 32); ob_model_load, and one forward pass of two tokens when it loads. */
#include "fuzz_common.h"

static char model_dir[512];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (seeds) {
        static const struct { const char *name; ob_dtype dt; } v[] = {
            {"llama_f32.safetensors", OB_DT_F32},
            {"llama_f16.safetensors", OB_DT_F16},
            {"llama_bf16.safetensors", OB_DT_BF16},
        };
        char p[512];
        snprintf(p, sizeof p, "%s/model.safetensors", fz_tmpdir());
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
            fz_write_tiny_model(p, 1, v[i].dt);
            size_t n;
            unsigned char *d = fz_read(p, &n);
            if (!d) abort();
            fz_put_seed(seeds, v[i].name, d, n);
            free(d);
        }
        exit(0);
    }
    snprintf(model_dir, sizeof model_dir, "%s", fz_tmpdir());
    fz_tmpfile("config.json", fz_llama_config, strlen(fz_llama_config));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_tmpfile("model.safetensors", data, size);
    fz_load_and_run(model_dir, "safetensors_model");
    return 0;
}

/* fuzz_llama2c - the input is a llama2.c checkpoint (model.bin), loaded with
 * ob_model_load (mmap); a model that loads runs one forward pass of two
 * tokens.  The loader must reject any header whose sizes the file cannot
 * hold, so work stays bounded by the input size (-max_len). */
#include "fuzz_common.h"

/* A valid tiny checkpoint: dim 8, hidden 16, 2 layers, 2 heads, kv_heads
 * (1 or 2), vocab 32, seq 4, in export version 0 or 1. */
static void seed_checkpoint(const char *dir, const char *name, int version, int n_kv, int shared) {
    const int dim = 8, hidden = 16, L = 2, heads = 2, V = 32, seq = 4, hd = dim / heads, kv = n_kv * hd;
    size_t floats = (size_t)V * dim + (size_t)L * dim * 2 + dim +
                    (size_t)L * (dim * dim * 2 + kv * dim * 2 + hidden * dim * 3);
    if (version == 0) floats += (size_t)seq * hd;
    if (!shared) floats += (size_t)V * dim;
    size_t off = version ? 256 : 28;
    unsigned char *buf = calloc(1, off + floats * 4);
    if (!buf) abort();
    int32_t h[7] = {dim, hidden, L, heads, n_kv, shared ? V : -V, seq};
    if (version) {
        uint32_t magic = 0x616b3432u;
        int32_t ver = 1;
        memcpy(buf, &magic, 4);
        memcpy(buf + 4, &ver, 4);
        memcpy(buf + 8, h, sizeof h);
        buf[36] = (unsigned char)shared;
    } else {
        memcpy(buf, h, sizeof h);
    }
    uint32_t s = 7;
    for (size_t i = 0; i < floats; i++) {
        s = s * 1664525u + 1013904223u;
        float v = ((float)(s >> 9) / (float)(1u << 23) - 0.5f) * 0.2f + 0.1f;
        memcpy(buf + off + 4 * i, &v, 4);
    }
    fz_put_seed(dir, name, buf, off + floats * 4);
    free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (seeds) {
        seed_checkpoint(seeds, "v0_shared.bin", 0, 2, 1);
        seed_checkpoint(seeds, "v0_gqa_unshared.bin", 0, 1, 0);
        seed_checkpoint(seeds, "v1_shared.bin", 1, 2, 1);
        seed_checkpoint(seeds, "v1_gqa_unshared.bin", 1, 1, 0);
        exit(0);
    }
    fz_tmpdir();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_load_and_run(fz_tmpfile("model.bin", data, size), "llama2c");
    return 0;
}

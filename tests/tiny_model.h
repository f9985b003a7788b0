/* tiny_model.h - random llama2.c checkpoints for the tests (no tokenizer;
 * pass one with ob_load_params.tokenizer_path when text is needed). */
#ifndef OB_TESTS_TINY_MODEL_H
#define OB_TESTS_TINY_MODEL_H
#include <stdint.h>
#include <stdio.h>

/* Writes a random legacy llama2.c checkpoint; returns its byte size. */
static inline size_t write_tiny_llama2c(const char *path, int dim, int hidden, int layers, int heads, int kv, int vocab,
                                 int seq, int shared, uint64_t seed) {
    FILE *f = fopen(path, "wb");
    int32_t h[7] = {dim, hidden, layers, heads, kv, shared ? vocab : -vocab, seq};
    fwrite(h, 4, 7, f);
    int hd = dim / heads;
    size_t n = (size_t)vocab * dim + (size_t)layers * dim * 2 + dim +
               (size_t)layers * ((size_t)dim * dim * 2 + (size_t)kv * hd * dim * 2 + (size_t)hidden * dim * 3) +
               (size_t)seq * hd + (shared ? 0 : (size_t)vocab * dim);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        float u = (float)((seed >> 40) & 0xffffff) / 16777216.0f - 0.5f;
        fwrite(&u, 4, 1, f);
    }
    fclose(f);
    return 28 + n * 4;
}

#endif

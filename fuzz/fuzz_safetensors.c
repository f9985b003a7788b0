/* fuzz_safetensors - ob_st_parse on the raw input; on success every tensor's
 * byte range is read in full (ASan checks it lies inside the input) and
 * its fields are checked against each other. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (seeds) {
        /* a real file of every dtype the loaders use, plus a hand-made one */
        char p[512];
        snprintf(p, sizeof p, "%s/model.safetensors", fz_tmpdir());
        fz_write_tiny_model(p, 1, OB_DT_F32);
        size_t n;
        unsigned char *d = fz_read(p, &n);
        if (!d) abort();
        fz_put_seed(seeds, "llama_f32.safetensors", d, n);
        free(d);
        fz_write_tiny_model(p, 2, OB_DT_BF16);
        d = fz_read(p, &n);
        if (!d) abort();
        fz_put_seed(seeds, "gpt2_bf16.safetensors", d, n);
        free(d);
        static const char hdr[] =
            "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]},"
            "\"c\":{\"dtype\":\"BOOL\",\"shape\":[0,3],\"data_offsets\":[16,16]}}";
        unsigned char buf[512];
        uint64_t hl = sizeof hdr - 1;
        for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hl >> (8 * i));
        memcpy(buf + 8, hdr, hl);
        for (int i = 0; i < 16; i++) buf[8 + hl + i] = (unsigned char)(i * 17);
        fz_put_seed(seeds, "mixed.safetensors", buf, 8 + hl + 16);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ob_safetensors st;
    memset(&st, 0, sizeof st);
    ob_err err = {0};
    if (ob_st_parse("fuzz.safetensors", data, size, &st, &err)) {
        if (st.tensors || st.n_tensors || st.metadata_json) abort(); /* a failed parse must clean up */
        fz_note("safetensors", &err);
        return 0;
    }
    fz_note("safetensors", NULL);
    unsigned sum = 0;
    for (int i = 0; i < st.n_tensors; i++) {
        const ob_tensor *t = &st.tensors[i];
        if (!t->name || t->n_dims < 0 || t->n_dims > OB_MAX_DIMS || (unsigned)t->dtype >= OB_DT_COUNT) abort();
        int64_t numel = 1;
        for (int d = 0; d < t->n_dims; d++) {
            if (t->shape[d] < 0) abort();
            numel *= t->shape[d];
        }
        if (numel != t->numel || (size_t)numel * ob_dtype_size(t->dtype) != t->nbytes) abort();
        const unsigned char *p = t->data;
        if (t->nbytes && (p < data || p + t->nbytes > data + size)) abort();
        for (size_t k = 0; k < t->nbytes; k++) sum += p[k];
        if (ob_st_find(&st, t->name) == NULL) abort();
    }
    volatile unsigned sink = sum;
    (void)sink;
    ob_st_clear(&st);
    return 0;
}

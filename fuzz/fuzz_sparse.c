/* fuzz_sparse - the input is the data of a sparse matrix as a file holds it
 * (kernels/sparse.h): byte 0 picks the format (one of the 15 sparse ones),
 * byte 1 the rows (1..8), byte 2 the columns (32, 64 or 96); the rest is
 * the data.  ob_sparse_index must accept it or refuse it cleanly; accepted
 * data is run through dequant_row and matvec / matmul at every SIMD level
 * (ASan checks every read stays inside the data). */
#include "fuzz_common.h"
#include "kernels/quant.h"
#include "kernels/sparse.h"

enum { N_SPARSE = OB_FMT_COUNT - OB_FMT_SP_F32, HDR = 3 };

static void run(const uint8_t *data, size_t size) {
    if (size < HDR) return;
    const ob_format f = (ob_format)(OB_FMT_SP_F32 + data[0] % N_SPARSE);
    const int64_t rows = 1 + data[1] % 8, cols = 32 * (1 + data[2] % 3);
    const size_t bytes = size - HDR;
    uint8_t *copy = malloc(bytes ? bytes : 1); /* exactly the data: reads past it are caught */
    int64_t *aux = malloc(sizeof(int64_t) * (size_t)(rows + 1));
    if (!copy || !aux) abort();
    memcpy(copy, data + HDR, bytes);
    ob_err err = {0};
    if (ob_sparse_index(f, copy, bytes, rows, cols, aux, &err) == 0) {
        ob_matrix m;
        ob_matrix_init_sparse(&m, f, rows, cols, copy, aux);
        float x[96 * 2], y[8 * 2], row[96];
        for (int i = 0; i < 96 * 2; i++) x[i] = (float)(i % 7) - 3.0f;
        uint8_t act[2 * 3 * sizeof(ob_blk_q8a)];
        for (int64_t r = 0; r < rows; r++) m.ops->dequant_row(&m, r, row);
        for (int lvl = OB_SIMD_SCALAR; lvl <= OB_SIMD_AVX512; lvl++) {
            const ob_format_ops *ops = ob_format_get_at(f, (ob_simd)lvl);
            const void *X = x;
            if (ops->act_bytes) {
                for (int t = 0; t < 2; t++) ops->quantize_act(x + t * cols, cols, act + (size_t)t * ops->act_bytes(cols));
                X = act;
            }
            ops->matvec(&m, X, y, 0, rows);
            ops->matmul(&m, X, 2, y, rows, 0, rows);
        }
    } else if (!err.msg[0]) {
        abort(); /* a refusal always says why */
    }
    free(copy);
    free(aux);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (!seeds) return 0;
    /* valid data of every format: a 4 x 64 matrix, 2:4 mask */
    float W[4 * 64];
    uint8_t keep[4 * 64];
    for (int i = 0; i < 4 * 64; i++) {
        W[i] = (float)((i * 37) % 11) - 5.0f;
        keep[i] = (i % 4) == 1 || (i % 4) == 2;
    }
    for (int k = 0; k < N_SPARSE; k++) {
        const ob_format f = (ob_format)(OB_FMT_SP_F32 + k);
        size_t aux_b, n = ob_sparse_size(f, keep, 4, 64, &aux_b);
        uint8_t *buf = calloc(HDR + n, 1);
        int64_t *aux = malloc(aux_b ? aux_b : 8);
        ob_err err = {0};
        if (!buf || !aux || ob_sparse_pack(f, W, keep, 4, 64, NULL, buf + HDR, aux, &err)) abort();
        buf[0] = (uint8_t)k, buf[1] = 3, buf[2] = 1; /* 4 rows, 64 columns */
        char name[32];
        snprintf(name, sizeof name, "sparse_%d", k);
        fz_put_seed(seeds, name, buf, HDR + n);
        free(buf);
        free(aux);
    }
    exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    run(data, size);
    return 0;
}

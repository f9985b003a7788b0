/* mask_file.c - pruning masks on disk (mask_file.h). */
#include "formats/mask_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors.h"

int ob_hf_llama_name(const char *g, char *buf, int size) {
    static const char *const map[][2] = {
        {"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"}, {"attn_v", "self_attn.v_proj"},
        {"attn_output", "self_attn.o_proj"}, {"ffn_gate", "mlp.gate_proj"}, {"ffn_up", "mlp.up_proj"},
        {"ffn_down", "mlp.down_proj"}};
    int l, used = 0;
    char part[32];
    if (sscanf(g, "blk.%d.%31[a-z_].weight%n", &l, part, &used) != 2 || g[used]) return -1;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(part, map[i][0])) return snprintf(buf, (size_t)size, "model.layers.%d.%s.weight", l, map[i][1]) < size ? 0 : -1;
    return -1;
}

int ob_mask_save(const char *path, const ob_mask_entry *e, int n, ob_err *err) {
    ob_st_writer *w = NULL;
    uint8_t **bits = calloc((size_t)(n > 0 ? n : 1), sizeof *bits);
    int rc = bits ? ob_st_writer_new(&w, err) : ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
    if (!rc) rc = ob_st_writer_meta(w, "optibench.mask", "1", err);
    if (!rc) rc = ob_st_writer_meta(w, "bit_order", "lsb_first", err);
    for (int i = 0; i < n && !rc; i++) {
        const int64_t R = e[i].rows, C = e[i].cols, rb = (C + 7) / 8;
        if (!(bits[i] = calloc((size_t)(R * rb), 1))) {
            rc = ob_fail(err, OB_ENOMEM, "%s: out of memory", path);
            break;
        }
        int64_t pruned = 0;
        for (int64_t r = 0; r < R; r++)
            for (int64_t c = 0; c < C; c++) {
                const int k = e[i].keep[r * C + c] != 0;
                bits[i][r * rb + c / 8] |= (uint8_t)(k << (c % 8));
                pruned += !k;
            }
        char key[300], val[32];
        snprintf(key, sizeof key, "sparsity.%s", e[i].name);
        snprintf(val, sizeof val, "%.6f", R > 0 && C > 0 ? (double)pruned / (double)(R * C) : 0.0);
        int64_t shape[2] = {R, rb};
        if (!(rc = ob_st_writer_meta(w, key, val, err))) rc = ob_st_writer_add(w, e[i].name, OB_DT_U8, 2, shape, bits[i], err);
    }
    if (!rc) rc = ob_st_writer_write(w, path, err);
    ob_st_writer_free(w);
    for (int i = 0; bits && i < n; i++) free(bits[i]);
    free(bits);
    return rc;
}

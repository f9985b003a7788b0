/* model.h - the in-memory model: config, per-layer weights and their storage.
 *
 * All linear weights are ob_matrix (any format; the forward pass does not
 * ask which).  Norm weights and biases are always float32 vectors.  Shapes
 * are per layer because structured pruning can change them.
 *
 * Storage: tensors used as they are on disk point into the file mappings;
 * anything converted (transposed, permuted, widened to f32) lives in buffers
 * the model owns.  ob_model_free releases both. */
#ifndef OB_MODEL_MODEL_H
#define OB_MODEL_MODEL_H
#include "core/mapfile.h"
#include "kernels/matrix.h"
#include "optibench.h"

typedef struct ob_layer {
    int n_heads, n_kv_heads, ffn_dim;  /* this layer's widths               */
    const float *attn_norm, *attn_norm_b; /* (dim), (dim) or NULL          */
    ob_matrix wq;                      /* (n_heads*head_dim, dim)           */
    ob_matrix wk, wv;                  /* (n_kv_heads*head_dim, dim)        */
    ob_matrix wo;                      /* (dim, n_heads*head_dim)           */
    const float *bq, *bk, *bv, *bo;    /* biases of the above, or NULL      */
    const float *ffn_norm, *ffn_norm_b;/* (dim), (dim) or NULL             */
    ob_matrix w_gate;                  /* (ffn_dim, dim); SwiGLU only       */
    ob_matrix w_up;                    /* (ffn_dim, dim)                    */
    ob_matrix w_down;                  /* (dim, ffn_dim)                    */
    const float *b_up, *b_down;        /* (ffn_dim), (dim) or NULL          */
} ob_layer;

typedef struct ob_buf {
    struct ob_buf *next;
    size_t size;
    /* data follows, 64-byte aligned */
} ob_buf;

struct ob_model {
    ob_config cfg;
    ob_matrix tok_embd;                /* (n_vocab, dim); rows are looked up */
    const float *pos_embd;             /* (max_seq + pos_offset, dim) or NULL */
    ob_layer *layers;                  /* [n_layers]                        */
    const float *out_norm, *out_norm_b;/* (dim), (dim) or NULL             */
    ob_matrix lm_head;                 /* (n_vocab, dim); may share tok_embd */
    ob_tokenizer *tok;                 /* owned, or NULL                    */
    char source[1024];                 /* the path it was loaded from       */
    const char *format_name;           /* "llama2.c", "safetensors", ...    */
    /* storage */
    ob_mapfile *maps;                  /* [n_maps] file mappings            */
    void **st_files;                   /* [n_st] open safetensors (ob_safetensors *) */
    int n_maps, n_st;
    ob_buf *bufs;                      /* owned buffers                     */
    int64_t owned_bytes;
};

/* OB_EINVAL naming the first tensor (llama.cpp's names) that holds a NaN
 * or an Inf, so that none ever reaches an output file. */
int ob_model_check_finite(const ob_model *m, ob_err *err);

/* Allocates size bytes (64-byte aligned, zeroed) owned by the model. */
void *ob_model_alloc(ob_model *m, size_t size);
/* 1 when [p, p + size) lies inside one buffer from ob_model_alloc. */
int ob_model_owns(const ob_model *m, const void *p, size_t size);
/* Allocates an empty model (all fields zero); free with ob_model_free. */
ob_model *ob_model_new(void);
/* Checks shapes of every layer against cfg; errors name `what`. */
int ob_model_validate(const ob_model *m, const char *what, ob_err *err);
/* Fills per-layer widths from cfg (the loaders call this first). */
void ob_model_default_layer_shapes(ob_model *m);

/* Q/K rows between Meta's interleaved RoPE order (llama2.c, GGUF) and the
 * Hugging Face order the forward pass uses (rope_order.c): n_heads heads
 * of hd rows of row_bytes each, copied from src to dst (distinct). */
void ob_rope_rows_meta_to_hf(void *dst, const void *src, int n_heads, int hd, size_t row_bytes);
void ob_rope_rows_hf_to_meta(void *dst, const void *src, int n_heads, int hd, size_t row_bytes);

/* Loaders (formats/). */
int ob_load_llama2c(ob_model *m, const char *path, const ob_load_params *p, ob_err *err);
int ob_load_hf_dir(ob_model *m, const char *dir, const ob_load_params *p, ob_err *err);
int ob_load_gguf(ob_model *m, const char *path, const ob_load_params *p, ob_err *err);

#endif

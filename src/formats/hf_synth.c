/* hf_synth.c - synthetic Llama checkpoints (formats/hf_synth.h). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/mapfile.h"
#include "formats/hf_synth.h"
#include "kernels/matrix.h"

static const ob_synth_shape shapes[] = {
    /* TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json */
    {"tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 0, 1e-5f, 10000.0f},
    /* Karpathy's stories15M (llama2.c) */
    {"stories15m", 288, 768, 6, 6, 6, 32000, 256, 1, 1e-5f, 10000.0f},
};

const ob_synth_shape *ob_synth_shape_find(const char *name) {
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (!strcasecmp(name, shapes[i].name)) return &shapes[i];
    return NULL;
}

const char *ob_synth_shape_names(void) { return "tinyllama-1.1b, stories15m"; }

typedef struct {
    ob_st_writer *w;
    void **bufs;
    int n_bufs, cap;
    uint64_t rng;
    ob_dtype dt;
} synth;

static uint64_t next_u64(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ~N(0, 1): the sum of four 16-bit uniforms, centred and scaled to variance 1 */
static float normal_approx(uint64_t *s) {
    uint64_t v = next_u64(s);
    uint32_t sum = (uint32_t)(v & 0xffff) + (uint32_t)(v >> 16 & 0xffff) + (uint32_t)(v >> 32 & 0xffff) +
                   (uint32_t)(v >> 48);
    /* each uniform (u + 0.5) / 65536 has variance 1/12; four: 1/3 */
    return ((float)sum + 2.0f - 131072.0f) * (1.7320508f / 65536.0f);
}

/* a buffer of n values of the output dtype, filled with std * N(0,1)
 * (std > 0) or ones (std == 0); kept until the writer is done */
static void *make_values(synth *s, int64_t n, float std) {
    size_t es = s->dt == OB_DT_F32 ? 4 : 2;
    if (s->n_bufs == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        void **b = realloc(s->bufs, (size_t)cap * sizeof *b);
        if (!b) return NULL;
        s->bufs = b;
        s->cap = cap;
    }
    void *p = malloc((size_t)n * es);
    if (!p) return NULL;
    s->bufs[s->n_bufs++] = p;
    for (int64_t i = 0; i < n; i++) {
        float v = std > 0 ? std * normal_approx(&s->rng) : 1.0f;
        if (s->dt == OB_DT_F32) ((float *)p)[i] = v;
        else ((uint16_t *)p)[i] = s->dt == OB_DT_F16 ? ob_f32_to_f16(v) : ob_f32_to_bf16(v);
    }
    return p;
}

static int add(synth *s, const char *name, int64_t rows, int64_t cols, float std, ob_err *err) {
    int64_t shape[2] = {rows, cols};
    int n_dims = rows > 0 ? 2 : 1;
    const void *data = make_values(s, (rows > 0 ? rows : 1) * cols, std);
    if (!data) return ob_fail(err, OB_ENOMEM, "%s: out of memory", name);
    return ob_st_writer_add(s->w, name, s->dt, n_dims, n_dims == 2 ? shape : shape + 1, data, err);
}

static int config_json(const ob_synth_shape *c, ob_dtype dt, const char *dir, ob_err *err) {
    json_t *j = json_object();
    json_t *arch = json_array();
    if (!j || !arch) {
        json_decref(j);
        json_decref(arch);
        return ob_fail(err, OB_ENOMEM, "config.json: out of memory");
    }
    json_array_append_new(arch, json_string("LlamaForCausalLM"));
    json_object_set_new(j, "architectures", arch);
    json_object_set_new(j, "model_type", json_string("llama"));
    const struct {
        const char *key;
        int v;
    } ints[] = {{"hidden_size", c->dim},          {"intermediate_size", c->ffn_dim},
                {"num_hidden_layers", c->n_layers}, {"num_attention_heads", c->n_heads},
                {"num_key_value_heads", c->n_kv_heads}, {"vocab_size", c->n_vocab},
                {"max_position_embeddings", c->max_seq}, {"bos_token_id", 1},
                {"eos_token_id", 2}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        json_object_set_new(j, ints[i].key, json_integer(ints[i].v));
    json_object_set_new(j, "rms_norm_eps", json_real(c->norm_eps));
    json_object_set_new(j, "rope_theta", json_real(c->rope_theta));
    json_object_set_new(j, "tie_word_embeddings", json_boolean(c->tied));
    json_object_set_new(j, "hidden_act", json_string("silu"));
    json_object_set_new(j, "torch_dtype",
                        json_string(dt == OB_DT_F32 ? "float32" : dt == OB_DT_F16 ? "float16" : "bfloat16"));
    char note[128];
    snprintf(note, sizeof note, "optibench synth --shape %s (random weights)", c->name);
    json_object_set_new(j, "_generated_by", json_string(note));
    char path[2048];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return rc ? ob_fail(err, OB_EIO, "%s: cannot write", path) : 0;
}

int ob_synth_write_hf(const ob_synth_shape *c, ob_dtype dt, uint64_t seed, float std, const char *dir,
                      ob_err *err) {
    if (dt != OB_DT_F32 && dt != OB_DT_F16 && dt != OB_DT_BF16)
        return ob_fail(err, OB_EINVAL, "%s: dtype must be F32, F16 or BF16", dir);
    if (c->n_heads <= 0 || c->dim % c->n_heads || c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads)
        return ob_fail(err, OB_EINVAL, "%s: heads do not divide the width", c->name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return ob_fail(err, OB_EIO, "%s: cannot create: %s", dir, strerror(errno));
    if (!ob_is_dir(dir)) return ob_fail(err, OB_EIO, "%s: exists and is not a directory", dir);
    synth s = {0};
    s.rng = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (!s.rng) s.rng = 1;
    s.dt = dt;
    const int64_t d = c->dim, kv = (int64_t)c->dim / c->n_heads * c->n_kv_heads, f = c->ffn_dim;
    int rc = ob_st_writer_new(&s.w, err);
    char n[256];
    if (!rc) rc = add(&s, "model.embed_tokens.weight", c->n_vocab, d, std, err);
    for (int l = 0; !rc && l < c->n_layers; l++) {
        static const struct {
            const char *suffix;
            int rows, cols; /* 0 dim, 1 kv width, 2 ffn width, -1 vector */
        } t[] = {{"input_layernorm.weight", -1, 0},        {"self_attn.q_proj.weight", 0, 0},
                 {"self_attn.k_proj.weight", 1, 0},        {"self_attn.v_proj.weight", 1, 0},
                 {"self_attn.o_proj.weight", 0, 0},        {"post_attention_layernorm.weight", -1, 0},
                 {"mlp.gate_proj.weight", 2, 0},           {"mlp.up_proj.weight", 2, 0},
                 {"mlp.down_proj.weight", 0, 2}};
        const int64_t width[3] = {d, kv, f};
        for (size_t i = 0; !rc && i < sizeof t / sizeof t[0]; i++) {
            snprintf(n, sizeof n, "model.layers.%d.%s", l, t[i].suffix);
            if (t[i].rows < 0) rc = add(&s, n, 0, d, 0, err);
            else rc = add(&s, n, width[t[i].rows], width[t[i].cols], std, err);
        }
    }
    if (!rc) rc = add(&s, "model.norm.weight", 0, d, 0, err);
    if (!rc && !c->tied) rc = add(&s, "lm_head.weight", c->n_vocab, d, std, err);
    if (!rc) rc = ob_st_writer_meta(s.w, "format", "pt", err);
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!rc) rc = ob_st_writer_write(s.w, path, err);
    if (!rc) rc = config_json(c, dt, dir, err);
    ob_st_writer_free(s.w);
    for (int i = 0; i < s.n_bufs; i++) free(s.bufs[i]);
    free(s.bufs);
    return rc;
}

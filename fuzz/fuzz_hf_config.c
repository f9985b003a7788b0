/* fuzz_hf_config - the input is config.json in a Hugging Face model folder
 * whose model.safetensors is fixed: tiny llama (+ qwen2 biases, untied
 * head), gpt2 and biogpt weights side by side (fuzz_common.h).  This covers
 * config parsing, tensor lookup and shape checks of every family; a model
 * that loads runs one forward pass of two tokens. */
#include "fuzz_common.h"

static char model_dir[512];

static const char *const seed_configs[][2] = {
    {"llama.json", fz_llama_config},
    {"llama_tied_rope3.json",
     "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
     " \"num_key_value_heads\": 1, \"intermediate_size\": 16, \"vocab_size\": 32, \"max_position_embeddings\": 16,"
     " \"head_dim\": 4, \"tie_word_embeddings\": true, \"eos_token_id\": [2, 3],"
     " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,"
     " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8}}"},
    {"qwen2.json",
     "{\"model_type\": \"qwen2\", \"hidden_size\": 8, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
     " \"num_key_value_heads\": 1, \"intermediate_size\": 16, \"vocab_size\": 32, \"max_position_embeddings\": 16,"
     " \"rms_norm_eps\": 1e-6, \"rope_theta\": 1000000.0}"},
    {"mistral_layer1.json",
     "{\"model_type\": \"mistral\", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
     " \"num_key_value_heads\": 1, \"intermediate_size\": 16, \"vocab_size\": 32}"},
    {"gpt2.json",
     "{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_layer\": 2, \"n_head\": 2, \"n_inner\": 16,"
     " \"n_positions\": 16, \"vocab_size\": 32, \"activation_function\": \"gelu_new\","
     " \"layer_norm_epsilon\": 1e-5, \"bos_token_id\": 0, \"eos_token_id\": 0}"},
    {"gpt2_null_inner.json",
     "{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_layer\": 2, \"n_head\": 2, \"n_inner\": null,"
     " \"n_positions\": 16, \"vocab_size\": 32, \"activation_function\": \"gelu\"}"},
    {"biogpt.json",
     "{\"model_type\": \"biogpt\", \"hidden_size\": 8, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
     " \"intermediate_size\": 16, \"vocab_size\": 32, \"max_position_embeddings\": 16,"
     " \"scale_embedding\": true, \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12}"},
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *seeds = fz_seeds_dir();
    if (seeds) {
        for (size_t i = 0; i < sizeof seed_configs / sizeof seed_configs[0]; i++)
            fz_put_seed_str(seeds, seed_configs[i][0], seed_configs[i][1]);
        exit(0);
    }
    snprintf(model_dir, sizeof model_dir, "%s", fz_tmpdir());
    char p[600];
    snprintf(p, sizeof p, "%s/model.safetensors", model_dir);
    fz_write_tiny_model(p, 7, OB_DT_F32);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_tmpfile("config.json", data, size);
    fz_load_and_run(model_dir, "hf_config");
    return 0;
}

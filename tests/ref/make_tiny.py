#!/usr/bin/python3
"""make_tiny.py - tiny random Hugging Face model directories for tests.

  make_tiny.py --list                 names of the shapes, one a line
  make_tiny.py NAME OUTDIR            write OUTDIR/config.json + model.safetensors
  make_tiny.py --tokens NAME          a seeded token sequence for NAME (a,b,c)
  make_tiny.py --list-tokens          "NAME a,b,c" for every shape, one a line

Each directory looks like a Hugging Face checkpoint (LlamaForCausalLM and its
Mistral / Qwen2 relatives, GPT2LMHeadModel or BioGptForCausalLM tensor names
and config.json keys).  A shape with shards=2 is written as
model-0000K-of-00002.safetensors plus model.safetensors.index.json instead of
model.safetensors.  Weights are random but seeded, so the same NAME always
gives the same bytes.
"""
import json
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np as st  # noqa: E402

TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}

# Every shape: kind, dtype, and the config fields that differ from defaults.
SHAPES = {
    # plain multi-head attention, separate lm_head
    "llama_mha": dict(kind="llama", dtype="F32", dim=64, ffn=172, layers=2, heads=4,
                      kv=4, vocab=128, tied=False, seq=12),
    # grouped-query attention (8 query heads share 2 kv heads), tied head
    "llama_gqa": dict(kind="llama", dtype="F32", dim=64, ffn=128, layers=3, heads=8,
                      kv=2, vocab=200, tied=True, seq=17),
    # odd sizes: dim 40, ffn 67, 5 heads of 8, vocab 97
    "llama_odd": dict(kind="llama", dtype="F32", dim=40, ffn=67, layers=2, heads=5,
                      kv=5, vocab=97, tied=False, eps=1e-6, seq=9),
    # multi-query attention (one kv head), odd heads count
    "llama_mqa": dict(kind="llama", dtype="F32", dim=36, ffn=90, layers=2, heads=3,
                      kv=1, vocab=71, tied=True, seq=8),
    # Llama 3 rope scaling with rope_theta 500000; small original context so
    # all three frequency bands (unchanged, smoothed, divided) occur at hd 16
    "llama3_rope": dict(kind="llama", dtype="F32", dim=64, ffn=160, layers=2, heads=4,
                        kv=2, vocab=256, tied=True, theta=500000.0,
                        rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                      "original_max_position_embeddings": 64},
                        max_pos=256, eps=1e-5, seq=20),
    # explicit head_dim 16 != hidden 48 / 4 heads = 12
    "llama_headdim": dict(kind="llama", dtype="F32", dim=48, ffn=96, layers=2, heads=4,
                          kv=2, head_dim=16, vocab=150, tied=False, seq=11),
    # stored in float16
    "llama_f16": dict(kind="llama", dtype="F16", dim=32, ffn=80, layers=2, heads=4,
                      kv=2, vocab=64, tied=False, seq=10),
    # stored in bfloat16
    "llama_bf16": dict(kind="llama", dtype="BF16", dim=48, ffn=128, layers=2, heads=6,
                       kv=3, vocab=300, tied=True, seq=14),
    # GPT-2, n_inner null (4*dim), "transformer." prefix
    "gpt2_base": dict(kind="gpt2", dtype="F32", dim=64, layers=2, heads=4, n_inner=None,
                      vocab=128, n_pos=64, prefix=True, seq=15),
    # GPT-2, odd explicit n_inner, names without the prefix (as in the real
    # gpt2 checkpoint), plus the causal-mask buffers h.{i}.attn.bias old
    # exports carry, which a loader must ignore
    "gpt2_noprefix": dict(kind="gpt2", dtype="F32", dim=48, layers=3, heads=3, n_inner=75,
                          vocab=257, n_pos=32, prefix=False, mask_buffers=True, seq=19),
    # GPT-2 stored in float16
    "gpt2_f16": dict(kind="gpt2", dtype="F16", dim=32, layers=2, heads=2, n_inner=None,
                     vocab=80, n_pos=24, prefix=True, seq=7),
    # GPT-2 with activation_function "gelu" (exact erf GELU, not gelu_new);
    # wider c_fc / c_proj / wte make the FFN dominate and the logits larger,
    # so the two GELUs differ in the logits by over 10x the 1e-4 tolerance
    "gpt2_gelu": dict(kind="gpt2", dtype="F32", dim=40, layers=2, heads=5, n_inner=None,
                      vocab=90, n_pos=24, prefix=True, act="gelu", fc_std=0.2, down_std=0.2,
                      emb_std=0.4, seq=16),
    # Qwen2: llama names plus q/k/v biases (no o_proj bias), GQA, tied head,
    # rope_theta 1e6
    "qwen2": dict(kind="llama", model_type="qwen2", dtype="F32", dim=64, ffn=96, layers=2,
                  heads=4, kv=2, vocab=150, tied=True, theta=1000000.0, eps=1e-6,
                  qkv_bias=True, seq=14),
    # Mistral: llama names, GQA, separate lm_head; sliding_window is far
    # beyond the sequence, so it never masks anything
    "mistral": dict(kind="llama", model_type="mistral", dtype="F32", dim=64, ffn=144, layers=2,
                    heads=8, kv=2, vocab=110, tied=False, sliding_window=4096, seq=12),
    # Mistral with a window of 4 over 12 tokens: later queries must not see
    # the first keys
    "mistral_window": dict(kind="llama", model_type="mistral", dtype="F32", dim=64, ffn=144, layers=2,
                           heads=8, kv=2, vocab=110, tied=False, sliding_window=4, seq=12),
    # Llama split across two safetensors files with an index; the cut falls
    # inside a layer, so one layer's tensors come from both files
    "llama_sharded": dict(kind="llama", dtype="F32", dim=48, ffn=112, layers=3, heads=4,
                          kv=2, vocab=100, tied=False, shards=2, seq=10),
    # BioGPT, scale_embedding true (token embeddings times sqrt(48)); the
    # larger fc1 / fc2 / embedding (= head) make exact vs tanh GELU visible
    "biogpt_scaled": dict(kind="biogpt", dtype="F32", dim=48, ffn=100, layers=2, heads=4,
                          vocab=120, max_pos=32, scale=True, fc_std=0.2, down_std=0.2,
                          emb_std=0.3, seq=13),
    # BioGPT, scale_embedding false, 3 layers of 2 heads; the sequence fills
    # all max_position_embeddings positions, so the last one reads the last
    # row (max_pos + 1) of the offset table
    "biogpt_noscale": dict(kind="biogpt", dtype="F32", dim=32, ffn=64, layers=3, heads=2,
                           vocab=90, max_pos=20, scale=False, fc_std=0.2, down_std=0.2,
                           emb_std=0.3, seq=20),
}


def _seed(name, salt=""):
    return zlib.crc32((name + "/" + salt).encode("utf-8"))


def _normal(rng, shape, std):
    return rng.standard_normal(shape) * std


def _norm_weight(rng, n):
    return 1.0 + 0.1 * rng.standard_normal(n)


def _llama(name, s, rng):
    dim, ffn, L = s["dim"], s["ffn"], s["layers"]
    nh, nkv, vocab = s["heads"], s["kv"], s["vocab"]
    hd = s.get("head_dim", dim // nh)
    std = 0.08
    t = {}
    t["model.embed_tokens.weight"] = _normal(rng, (vocab, dim), 0.1)
    for i in range(L):
        p = "model.layers.%d." % i
        t[p + "input_layernorm.weight"] = _norm_weight(rng, dim)
        t[p + "self_attn.q_proj.weight"] = _normal(rng, (nh * hd, dim), std)
        t[p + "self_attn.k_proj.weight"] = _normal(rng, (nkv * hd, dim), std)
        t[p + "self_attn.v_proj.weight"] = _normal(rng, (nkv * hd, dim), std)
        if s.get("qkv_bias"):
            t[p + "self_attn.q_proj.bias"] = _normal(rng, nh * hd, 0.2)
            t[p + "self_attn.k_proj.bias"] = _normal(rng, nkv * hd, 0.2)
            t[p + "self_attn.v_proj.bias"] = _normal(rng, nkv * hd, 0.2)
        t[p + "self_attn.o_proj.weight"] = _normal(rng, (dim, nh * hd), std)
        t[p + "post_attention_layernorm.weight"] = _norm_weight(rng, dim)
        t[p + "mlp.gate_proj.weight"] = _normal(rng, (ffn, dim), std)
        t[p + "mlp.up_proj.weight"] = _normal(rng, (ffn, dim), std)
        t[p + "mlp.down_proj.weight"] = _normal(rng, (dim, ffn), std)
    t["model.norm.weight"] = _norm_weight(rng, dim)
    if not s["tied"]:
        t["lm_head.weight"] = _normal(rng, (vocab, dim), 0.1)
    mt = s.get("model_type", "llama")
    cfg = {
        "architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                           "qwen2": "Qwen2ForCausalLM"}[mt]],
        "model_type": mt,
        "hidden_size": dim,
        "intermediate_size": ffn,
        "num_hidden_layers": L,
        "num_attention_heads": nh,
        "num_key_value_heads": nkv,
        "vocab_size": vocab,
        "max_position_embeddings": s.get("max_pos", 128),
        "rms_norm_eps": s.get("eps", 1e-5),
        "rope_theta": s.get("theta", 10000.0),
        "tie_word_embeddings": bool(s["tied"]),
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "torch_dtype": TORCH_DTYPE[s["dtype"]],
    }
    if "head_dim" in s:
        cfg["head_dim"] = s["head_dim"]
    if "rope_scaling" in s:
        cfg["rope_scaling"] = dict(s["rope_scaling"])
    if mt == "mistral":
        cfg["sliding_window"] = s.get("sliding_window")
    if mt == "qwen2":
        cfg["use_sliding_window"] = False
        cfg["sliding_window"] = 4096
        cfg["max_window_layers"] = L
        cfg["bos_token_id"] = cfg["eos_token_id"] = vocab - 1
    return cfg, t


def _gpt2(name, s, rng):
    dim, L, nh, vocab, npos = s["dim"], s["layers"], s["heads"], s["vocab"], s["n_pos"]
    inner = s["n_inner"] if s["n_inner"] is not None else 4 * dim
    pre = "transformer." if s["prefix"] else ""
    std = 0.08
    t = {}
    t[pre + "wte.weight"] = _normal(rng, (vocab, dim), s.get("emb_std", 0.1))
    t[pre + "wpe.weight"] = _normal(rng, (npos, dim), 0.05)
    for i in range(L):
        p = pre + "h.%d." % i
        t[p + "ln_1.weight"] = _norm_weight(rng, dim)
        t[p + "ln_1.bias"] = _normal(rng, dim, 0.05)
        if s.get("mask_buffers"):
            t[p + "attn.bias"] = np.tril(np.ones((npos, npos))).reshape(1, 1, npos, npos)
        t[p + "attn.c_attn.weight"] = _normal(rng, (dim, 3 * dim), std)
        t[p + "attn.c_attn.bias"] = _normal(rng, 3 * dim, 0.05)
        t[p + "attn.c_proj.weight"] = _normal(rng, (dim, dim), std)
        t[p + "attn.c_proj.bias"] = _normal(rng, dim, 0.05)
        t[p + "ln_2.weight"] = _norm_weight(rng, dim)
        t[p + "ln_2.bias"] = _normal(rng, dim, 0.05)
        t[p + "mlp.c_fc.weight"] = _normal(rng, (dim, inner), s.get("fc_std", std))
        t[p + "mlp.c_fc.bias"] = _normal(rng, inner, 0.05)
        t[p + "mlp.c_proj.weight"] = _normal(rng, (inner, dim), s.get("down_std", std))
        t[p + "mlp.c_proj.bias"] = _normal(rng, dim, 0.05)
    t[pre + "ln_f.weight"] = _norm_weight(rng, dim)
    t[pre + "ln_f.bias"] = _normal(rng, dim, 0.05)
    cfg = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "n_embd": dim,
        "n_layer": L,
        "n_head": nh,
        "n_positions": npos,
        "n_ctx": npos,
        "n_inner": s["n_inner"],
        "vocab_size": vocab,
        "layer_norm_epsilon": 1e-5,
        "activation_function": s.get("act", "gelu_new"),
        "bos_token_id": vocab - 1,
        "eos_token_id": vocab - 1,
        "tie_word_embeddings": True,
        "torch_dtype": TORCH_DTYPE[s["dtype"]],
    }
    return cfg, t


def _biogpt(name, s, rng):
    dim, ffn, L = s["dim"], s["ffn"], s["layers"]
    nh, vocab, npos = s["heads"], s["vocab"], s["max_pos"]
    std = 0.08
    t = {}
    t["biogpt.embed_tokens.weight"] = _normal(rng, (vocab, dim), s.get("emb_std", 0.1))
    # fairseq learned positions: rows 0 and 1 are never read (position p
    # uses row p + 2); they are random here like the rest
    t["biogpt.embed_positions.weight"] = _normal(rng, (npos + 2, dim), 0.1)
    for i in range(L):
        p = "biogpt.layers.%d." % i
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            t[p + "self_attn.%s.weight" % proj] = _normal(rng, (dim, dim), std)
            t[p + "self_attn.%s.bias" % proj] = _normal(rng, dim, 0.05)
        t[p + "self_attn_layer_norm.weight"] = _norm_weight(rng, dim)
        t[p + "self_attn_layer_norm.bias"] = _normal(rng, dim, 0.05)
        t[p + "fc1.weight"] = _normal(rng, (ffn, dim), s.get("fc_std", std))
        t[p + "fc1.bias"] = _normal(rng, ffn, 0.05)
        t[p + "fc2.weight"] = _normal(rng, (dim, ffn), s.get("down_std", std))
        t[p + "fc2.bias"] = _normal(rng, dim, 0.05)
        t[p + "final_layer_norm.weight"] = _norm_weight(rng, dim)
        t[p + "final_layer_norm.bias"] = _normal(rng, dim, 0.05)
    t["biogpt.layer_norm.weight"] = _norm_weight(rng, dim)
    t["biogpt.layer_norm.bias"] = _normal(rng, dim, 0.05)
    # tied to embed_tokens in real checkpoints, which store it anyway
    t["output_projection.weight"] = t["biogpt.embed_tokens.weight"].copy()
    cfg = {
        "architectures": ["BioGptForCausalLM"],
        "model_type": "biogpt",
        "hidden_size": dim,
        "num_hidden_layers": L,
        "num_attention_heads": nh,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": npos,
        "layer_norm_eps": 1e-12,
        "hidden_act": "gelu",
        "scale_embedding": bool(s["scale"]),
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "torch_dtype": TORCH_DTYPE[s["dtype"]],
    }
    return cfg, t


def shard_names(n):
    return ["model-%05d-of-%05d.safetensors" % (k + 1, n) for k in range(n)]


def _save_sharded(outdir, stored, n):
    """Split the tensors, in order, into n files of about equal size and
    write model.safetensors.index.json naming each tensor's file."""
    sizes = {k: np.asarray(v).size * {"F32": 4, "F16": 2, "BF16": 2}[dt]
             for k, (v, dt) in stored.items()}
    total = sum(sizes.values())
    files = shard_names(n)
    parts = [dict() for _ in range(n)]
    acc = 0
    for k, v in stored.items():
        idx = min(n - 1, acc * n // total)
        parts[idx][k] = v
        acc += sizes[k]
    weight_map = {}
    for f, part in zip(files, parts):
        if not part:
            raise ValueError("shard %s would be empty" % f)
        st.save(os.path.join(outdir, f), part, metadata={"format": "pt"})
        for k in part:
            weight_map[k] = f
    with open(os.path.join(outdir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total},
                   "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
        f.write("\n")


def make(name, outdir, overrides=None):
    """Write the model NAME into outdir (created).  overrides changes shape
    fields (used by the self-tests); returns the config dict."""
    if name not in SHAPES:
        raise KeyError("unknown shape %r" % name)
    s = dict(SHAPES[name])
    if overrides:
        s.update(overrides)
    rng = np.random.default_rng(_seed(name))
    cfg, t = {"llama": _llama, "gpt2": _gpt2, "biogpt": _biogpt}[s["kind"]](name, s, rng)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    dtype = s["dtype"]
    stored = {k: (v, "F32" if k.endswith(".attn.bias") else dtype) for k, v in t.items()}
    if s.get("shards", 1) > 1:
        _save_sharded(outdir, stored, s["shards"])
    else:
        st.save(os.path.join(outdir, "model.safetensors"), stored, metadata={"format": "pt"})
    return cfg


def tokens(name):
    """A seeded token sequence for shape NAME (length SHAPES[name]['seq'])."""
    s = SHAPES[name]
    rng = np.random.default_rng(_seed(name, "tokens"))
    return [int(v) for v in rng.integers(0, s["vocab"], size=s["seq"])]


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(SHAPES))
        return 0
    if len(argv) == 2 and argv[1] == "--list-tokens":
        for name in SHAPES:
            print("%s %s" % (name, ",".join(str(v) for v in tokens(name))))
        return 0
    if len(argv) == 3 and argv[1] == "--tokens":
        print(",".join(str(v) for v in tokens(argv[2])))
        return 0
    if len(argv) == 3:
        make(argv[1], argv[2])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

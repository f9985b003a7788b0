#!/usr/bin/python3
"""make_tiny.py - tiny random Hugging Face model directories for tests.

  make_tiny.py --list                 names of the shapes, one a line
  make_tiny.py NAME OUTDIR            write OUTDIR/config.json + model.safetensors
  make_tiny.py --tokens NAME          a seeded token sequence for NAME (a,b,c)

Each directory looks like a Hugging Face checkpoint (LlamaForCausalLM or
GPT2LMHeadModel tensor names and config.json keys).  Weights are random but
seeded, so the same NAME always gives the same bytes.
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
        t[p + "self_attn.o_proj.weight"] = _normal(rng, (dim, nh * hd), std)
        t[p + "post_attention_layernorm.weight"] = _norm_weight(rng, dim)
        t[p + "mlp.gate_proj.weight"] = _normal(rng, (ffn, dim), std)
        t[p + "mlp.up_proj.weight"] = _normal(rng, (ffn, dim), std)
        t[p + "mlp.down_proj.weight"] = _normal(rng, (dim, ffn), std)
    t["model.norm.weight"] = _norm_weight(rng, dim)
    if not s["tied"]:
        t["lm_head.weight"] = _normal(rng, (vocab, dim), 0.1)
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
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
    return cfg, t


def _gpt2(name, s, rng):
    dim, L, nh, vocab, npos = s["dim"], s["layers"], s["heads"], s["vocab"], s["n_pos"]
    inner = s["n_inner"] if s["n_inner"] is not None else 4 * dim
    pre = "transformer." if s["prefix"] else ""
    std = 0.08
    t = {}
    t[pre + "wte.weight"] = _normal(rng, (vocab, dim), 0.1)
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
        t[p + "mlp.c_fc.weight"] = _normal(rng, (dim, inner), std)
        t[p + "mlp.c_fc.bias"] = _normal(rng, inner, 0.05)
        t[p + "mlp.c_proj.weight"] = _normal(rng, (inner, dim), std)
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
        "activation_function": "gelu_new",
        "bos_token_id": vocab - 1,
        "eos_token_id": vocab - 1,
        "tie_word_embeddings": True,
        "torch_dtype": TORCH_DTYPE[s["dtype"]],
    }
    return cfg, t


def make(name, outdir, overrides=None):
    """Write the model NAME into outdir (created).  overrides changes shape
    fields (used by the self-tests); returns the config dict."""
    if name not in SHAPES:
        raise KeyError("unknown shape %r" % name)
    s = dict(SHAPES[name])
    if overrides:
        s.update(overrides)
    rng = np.random.default_rng(_seed(name))
    cfg, t = (_llama if s["kind"] == "llama" else _gpt2)(name, s, rng)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    dtype = s["dtype"]
    st.save(os.path.join(outdir, "model.safetensors"),
            {k: (v, "F32" if k.endswith(".attn.bias") else dtype) for k, v in t.items()},
            metadata={"format": "pt"})
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

#!/usr/bin/python3
"""forward_np.py - an independent NumPy (float64) forward pass for Llama
(also Mistral and Qwen2), GPT-2 and BioGPT checkpoints in Hugging Face layout.

  forward_np.py MODEL_DIR 3,17,5,...  [-o OUT.bin]
      prints the logits' shape and last row summary; with -o writes float32
      little-endian logits, n_tokens rows x vocab columns.

As a module: m = load(model_dir); logits = forward(m, tokens) gives a
float64 [n_tokens, vocab] array of the logits at every position.

Weights are read from model.safetensors, or from the shards that
model.safetensors.index.json names, with safetensors_np, so a model stored in
F16 or BF16 is evaluated with exactly its rounded weights.
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np as st  # noqa: E402


LLAMA_TYPES = ("llama", "mistral", "qwen2")


class Model:
    def __init__(self, kind, cfg, w):
        self.kind = kind  # "llama" (llama, mistral, qwen2), "gpt2" or "biogpt"
        self.cfg = cfg
        self.w = w  # name (prefix-less for gpt2) -> float64 array


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    return from_weights(cfg, load_weights(model_dir))


def load_weights(model_dir):
    """name -> float64 array from model.safetensors, or else from the shards
    of model.safetensors.index.json; every shard must hold exactly the
    tensors the weight_map assigns to it."""
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return st.load(single)[0]
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        index = json.load(f)
    wmap = index["weight_map"]
    w = {}
    for fname in sorted(set(wmap.values())):
        if os.path.basename(fname) != fname:
            raise ValueError("shard name %r is not a plain file name" % fname)
        part = st.load(os.path.join(model_dir, fname))[0]
        want = {k for k, v in wmap.items() if v == fname}
        if set(part) != want:
            raise ValueError("%s holds %s, weight_map says %s"
                             % (fname, sorted(set(part) - want), sorted(want - set(part))))
        w.update(part)
    return w


def from_weights(cfg, w):
    mt = cfg.get("model_type")
    if mt == "gpt2":
        w = {(k[len("transformer."):] if k.startswith("transformer.") else k): v
             for k, v in w.items()}
        return Model("gpt2", cfg, w)
    if mt in LLAMA_TYPES:
        return Model("llama", cfg, dict(w))
    if mt == "biogpt":
        return Model("biogpt", cfg, dict(w))
    raise ValueError("forward_np: unsupported model_type %r" % mt)


# ---------------------------------------------------------------- llama ----

def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def llama_inv_freq(cfg, hd):
    theta = float(cfg.get("rope_theta", 10000.0))
    j = np.arange(0, hd, 2, dtype=np.float64)  # 2j for j = 0 .. hd/2-1
    inv_freq = theta ** (-j / hd)
    rs = cfg.get("rope_scaling")
    if rs:
        rtype = rs.get("rope_type", rs.get("type"))
        if rtype == "llama3":
            factor = float(rs["factor"])
            low = float(rs["low_freq_factor"])
            high = float(rs["high_freq_factor"])
            orig = float(rs["original_max_position_embeddings"])
            out = np.empty_like(inv_freq)
            for i, f in enumerate(inv_freq):
                wavelen = 2.0 * math.pi / f
                if wavelen > orig / low:
                    out[i] = f / factor
                elif wavelen < orig / high:
                    out[i] = f
                else:
                    smooth = (orig / wavelen - low) / (high - low)
                    out[i] = (1.0 - smooth) * f / factor + smooth * f
            inv_freq = out
        elif rtype in (None, "default"):
            pass
        else:
            raise ValueError("forward_np: rope_scaling type %r not implemented" % rtype)
    return inv_freq


def rope_rotate_half(x, pos, inv_freq):
    """x: [T, n_heads, hd]; Hugging Face convention: element j pairs with
    j + hd/2 inside each head, angle pos * inv_freq[j]."""
    half = x.shape[-1] // 2
    ang = np.asarray(pos, dtype=np.float64)[:, None] * inv_freq[None, :]  # [T, half]
    c = np.cos(ang)[:, None, :]
    s = np.sin(ang)[:, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def causal_attention(q, k, v, scale, window=None):
    """q: [T, nh, hd]; k, v: [T, nh, hd] (already expanded to nh heads).
    window: query t sees keys t-window+1 .. t (Mistral's sliding window).
    Returns [T, nh, hd]."""
    T = q.shape[0]
    scores = np.einsum("thd,shd->hts", q, k) * scale  # [nh, T, T]
    mask = np.triu(np.ones((T, T), dtype=bool), k=1)
    if window:
        mask |= np.tril(np.ones((T, T), dtype=bool), k=-window)
    scores = np.where(mask[None], -np.inf, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("hts,shd->thd", p, v)


def silu(x):
    return x / (1.0 + np.exp(-x))


def llama_forward(m, tokens):
    cfg, w = m.cfg, m.w
    dim = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hd = cfg.get("head_dim") or dim // nh
    L = cfg["num_hidden_layers"]
    eps = float(cfg.get("rms_norm_eps", 1e-6))
    if nh % nkv:
        raise ValueError("n_heads %d not a multiple of n_kv_heads %d" % (nh, nkv))
    mt = cfg.get("model_type", "llama")
    # Qwen2 always has q/k/v biases (no o_proj bias); Llama and Mistral none
    qkv_bias = mt == "qwen2"
    # Mistral (and Qwen2 with use_sliding_window) attend to the last
    # sliding_window positions only
    win = cfg.get("sliding_window") if mt == "mistral" or cfg.get("use_sliding_window") else None
    group = nh // nkv
    inv_freq = llama_inv_freq(cfg, hd)
    toks = np.asarray(tokens, dtype=np.int64)
    T = len(toks)
    pos = np.arange(T)
    x = w["model.embed_tokens.weight"][toks]  # [T, dim]
    kv_of_head = np.arange(nh) // group  # query head h reads kv head h // group
    for i in range(L):
        p = "model.layers.%d." % i
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(T, nh, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(T, nkv, hd)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(T, nkv, hd)
        if qkv_bias:
            q = q + w[p + "self_attn.q_proj.bias"].reshape(nh, hd)
            k = k + w[p + "self_attn.k_proj.bias"].reshape(nkv, hd)
            v = v + w[p + "self_attn.v_proj.bias"].reshape(nkv, hd)
        q = rope_rotate_half(q, pos, inv_freq)
        k = rope_rotate_half(k, pos, inv_freq)
        a = causal_attention(q, k[:, kv_of_head], v[:, kv_of_head], 1.0 / math.sqrt(hd), win)
        x = x + a.reshape(T, nh * hd) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    # LlamaConfig defaults tie_word_embeddings to false; a tied checkpoint
    # stores no lm_head.weight and reads the embedding matrix instead.
    if cfg.get("tie_word_embeddings", False) or "lm_head.weight" not in w:
        head = w["model.embed_tokens.weight"]
    else:
        head = w["lm_head.weight"]
    return x @ head.T


# ----------------------------------------------------------------- gpt2 ----

def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu_erf(x):
    """Exact GELU, x * Phi(x) (transformers' "gelu")."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


ACTS = {"gelu_new": gelu_new, "gelu_pytorch_tanh": gelu_new, "gelu": gelu_erf}


def gpt2_forward(m, tokens):
    cfg, w = m.cfg, m.w
    dim = cfg["n_embd"]
    nh = cfg["n_head"]
    hd = dim // nh
    L = cfg["n_layer"]
    eps = float(cfg.get("layer_norm_epsilon", 1e-5))
    act = cfg.get("activation_function", "gelu_new")
    if act not in ACTS:
        raise ValueError("forward_np: activation %r not implemented" % act)
    act = ACTS[act]
    toks = np.asarray(tokens, dtype=np.int64)
    T = len(toks)
    if T > cfg["n_positions"]:
        raise ValueError("sequence of %d longer than n_positions %d" % (T, cfg["n_positions"]))
    x = w["wte.weight"][toks] + w["wpe.weight"][np.arange(T)]
    for i in range(L):
        p = "h.%d." % i
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D [in, out]
        q = qkv[:, 0:dim].reshape(T, nh, hd)
        k = qkv[:, dim:2 * dim].reshape(T, nh, hd)
        v = qkv[:, 2 * dim:3 * dim].reshape(T, nh, hd)
        a = causal_attention(q, k, v, 1.0 / math.sqrt(hd)).reshape(T, dim)
        x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        f = act(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + f @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].T


# --------------------------------------------------------------- biogpt ----

BIOGPT_POS_OFFSET = 2  # fairseq: position p reads row p + 2 of embed_positions


def biogpt_forward(m, tokens):
    """BioGptForCausalLM: pre-LayerNorm decoder, nn.Linear (out, in)
    projections with biases, token embeddings times sqrt(hidden_size) when
    scale_embedding, learned positions offset by 2, exact GELU, final
    biogpt.layer_norm, output_projection head (no bias)."""
    cfg, w = m.cfg, m.w
    dim = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    hd = dim // nh
    L = cfg["num_hidden_layers"]
    eps = float(cfg.get("layer_norm_eps", 1e-12))
    act = cfg.get("hidden_act", "gelu")
    if act not in ACTS:
        raise ValueError("forward_np: activation %r not implemented" % act)
    act = ACTS[act]
    scale = math.sqrt(dim) if cfg.get("scale_embedding", True) else 1.0
    toks = np.asarray(tokens, dtype=np.int64)
    T = len(toks)
    if T > cfg["max_position_embeddings"]:
        raise ValueError("sequence of %d longer than max_position_embeddings %d"
                         % (T, cfg["max_position_embeddings"]))
    x = scale * w["biogpt.embed_tokens.weight"][toks] \
        + w["biogpt.embed_positions.weight"][np.arange(T) + BIOGPT_POS_OFFSET]

    def lin(h, name):
        return h @ w[name + ".weight"].T + w[name + ".bias"]

    for i in range(L):
        p = "biogpt.layers.%d." % i
        h = layer_norm(x, w[p + "self_attn_layer_norm.weight"], w[p + "self_attn_layer_norm.bias"], eps)
        # BioGptAttention scales q by head_dim^-0.5 after the projection
        # (bias included); the same as scaling the scores
        q = (lin(h, p + "self_attn.q_proj") * hd ** -0.5).reshape(T, nh, hd)
        k = lin(h, p + "self_attn.k_proj").reshape(T, nh, hd)
        v = lin(h, p + "self_attn.v_proj").reshape(T, nh, hd)
        a = causal_attention(q, k, v, 1.0).reshape(T, dim)
        x = x + lin(a, p + "self_attn.out_proj")
        h = layer_norm(x, w[p + "final_layer_norm.weight"], w[p + "final_layer_norm.bias"], eps)
        x = x + lin(act(lin(h, p + "fc1")), p + "fc2")
    x = layer_norm(x, w["biogpt.layer_norm.weight"], w["biogpt.layer_norm.bias"], eps)
    return x @ w["output_projection.weight"].T


def forward(m, tokens):
    """Logits (float64, [len(tokens), vocab]) at every position."""
    if len(tokens) == 0:
        raise ValueError("empty token list")
    if m.kind == "llama":
        return llama_forward(m, tokens)
    if m.kind == "biogpt":
        return biogpt_forward(m, tokens)
    return gpt2_forward(m, tokens)


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "-o"):
        sys.stderr.write(__doc__)
        return 2
    m = load(argv[1])
    toks = [int(t) for t in argv[2].split(",") if t]
    logits = forward(m, toks)
    if len(argv) == 5:
        logits.astype("<f4").tofile(argv[4])
    print("logits %d x %d; last row argmax %d max %.6f"
          % (logits.shape[0], logits.shape[1], int(logits[-1].argmax()), logits[-1].max()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

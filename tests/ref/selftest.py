#!/usr/bin/python3
"""selftest.py - internal-consistency checks of the NumPy reference itself
(no engine needed).  Prints one line per check and a closing
"selftest: N passed, N failed"; exits non-zero on failure."""
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forward_np as fw  # noqa: E402
import make_tiny  # noqa: E402
import safetensors_np as st  # noqa: E402

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % what)
    else:
        failed += 1
        print("FAIL %s" % what)


def maxdiff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# ------------------------------------------------------- safetensors ----

def bf16_slow(f):
    """Round one float32 to bfloat16 by comparing the two neighbours exactly."""
    (u,) = struct.unpack("<I", struct.pack("<f", f))
    if math.isnan(f):
        return None
    lo = u >> 16
    hi = lo + 1
    flo = struct.unpack("<f", struct.pack("<I", lo << 16))[0]
    fhi_bits = (hi << 16) & 0xFFFFFFFF
    fhi = struct.unpack("<f", struct.pack("<I", fhi_bits))[0]
    dlo, dhi = abs(f - flo), abs(fhi - f)  # exact in double
    if math.isinf(fhi) and not math.isinf(f):
        # rounding past the largest finite: IEEE overflows to inf exactly
        # when the value is at least half an ulp above the largest bf16
        dhi = abs((flo + (flo - struct.unpack("<f", struct.pack("<I", (lo - 1) << 16))[0])) - f)
    if dlo < dhi or (dlo == dhi and lo % 2 == 0):
        return lo
    return hi & 0xFFFF


def test_safetensors(tmp):
    rng = np.random.default_rng(1)
    # BF16 rounding: hand cases (ties to even) and random values
    cases = [(1.0, 0x3F80), (1.0 + 2 ** -8, 0x3F80), (1.0 + 3 * 2 ** -8, 0x3F82),
             (1.0 + 2 ** -8 + 2 ** -20, 0x3F81), (-1.0 - 2 ** -8, 0xBF80),
             (0.0, 0x0000), (-0.0, 0x8000), (float("inf"), 0x7F80)]
    got = st.f32_to_bf16_bits(np.array([c[0] for c in cases], dtype=np.float32))
    check(len(got) == len(cases) and all(int(g) == c[1] for g, c in zip(got, cases)),
          "bf16 hand cases (ties to even) %s" % [hex(int(g)) for g in got])
    vals = np.concatenate([rng.standard_normal(3000).astype(np.float32),
                           (rng.standard_normal(1000) * 1e30).astype(np.float32),
                           (rng.standard_normal(1000) * 1e-39).astype(np.float32),
                           np.array([3.3895314e38, 3.4028235e38, -3.4e38], dtype=np.float32)])
    # exact ties too: low 16 bits == 0x8000
    ties = (rng.integers(0, 2 ** 31, 500, dtype=np.uint32) & np.uint32(0xFFFF0000)) | np.uint32(0x8000)
    vals = np.concatenate([vals, ties.view(np.float32)])
    vals = vals[np.isfinite(vals)]
    fast = st.f32_to_bf16_bits(vals)
    slow = np.array([bf16_slow(float(v)) for v in vals], dtype=np.uint16)
    check(np.array_equal(fast, slow), "bf16 RNE matches exact nearest on %d values" % len(vals))
    nanb = st.f32_to_bf16_bits(np.array([np.nan], dtype=np.float32))
    check(np.isnan(st.bf16_bits_to_f32(nanb))[0], "bf16 keeps NaN a NaN")

    a = rng.standard_normal((3, 5))
    b = rng.standard_normal(7)
    c = rng.standard_normal((2, 3, 4))
    path = os.path.join(tmp, "t.safetensors")
    st.save(path, {"a": (a, "F32"), "b": (b, "F16"), "c": (c, "BF16"),
                   "i": (np.arange(6).reshape(2, 3), "I32")}, metadata={"format": "pt"})
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    check(n % 8 == 0 and raw[8 + n - 1:8 + n] in (b" ", b"}"), "header length %d multiple of 8" % n)
    t, meta, dts = st.load(path)
    check(meta == {"format": "pt"}, "metadata round trip")
    check(dts == {"a": "F32", "b": "F16", "c": "BF16", "i": "I32"}, "dtypes round trip")
    check(np.array_equal(t["a"], a.astype(np.float32)), "F32 round trip exact")
    check(np.array_equal(t["b"], b.astype(np.float16).astype(np.float64)), "F16 round trip = fp16 cast")
    check(np.array_equal(t["c"], st.round_to_dtype(c, "BF16")) and t["c"].shape == (2, 3, 4),
          "BF16 round trip")
    check(np.array_equal(t["i"], np.arange(6).reshape(2, 3)), "I32 round trip")
    # a corrupt header must be refused
    bad = bytearray(raw)
    bad[8:8 + n] = bytes(bad[8:8 + n]).replace(b'"data_offsets":[0,60]', b'"data_offsets":[0,64]')
    open(path, "wb").write(bytes(bad))
    try:
        st.load(path)
        check(False, "reader rejects wrong data_offsets")
    except ValueError:
        check(True, "reader rejects wrong data_offsets")


# ------------------------------------------------ slow second forward ----

def meta_layout(wq, nh, hd):
    """Undo transformers' convert_llama_weights permute: HF rows (per head:
    first halves then second halves) -> Meta interleaved rows (pairs 2j,2j+1)."""
    dim_in = wq.shape[1]
    return wq.reshape(nh, 2, hd // 2, dim_in).transpose(0, 2, 1, 3).reshape(nh * hd, dim_in)


def inv_freq_masks(cfg, hd):
    """transformers-style vectorised llama3 inv_freq (independent of forward_np)."""
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    lw, hw = old / lo, old / hi
    wl = 2 * math.pi / inv
    il = np.where(wl > lw, inv / factor, inv)
    sm = (old / wl - lo) / (hi - lo)
    smoothed = (1 - sm) * il / factor + sm * il
    medium = ~(wl < hw) * ~(wl > lw)
    return np.where(medium, smoothed, il)


def llama_slow(m, tokens):
    """Token-by-token decode with a KV cache, Meta interleaved RoPE as
    complex rotation, explicit per-head loops."""
    cfg, w = m.cfg, m.w
    dim, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or dim // nh
    eps = cfg["rms_norm_eps"]
    inv = inv_freq_masks(cfg, hd)
    L = cfg["num_hidden_layers"]
    lay = []
    for i in range(L):
        p = "model.layers.%d." % i
        lay.append(dict(
            wq=meta_layout(w[p + "self_attn.q_proj.weight"], nh, hd),
            wk=meta_layout(w[p + "self_attn.k_proj.weight"], nkv, hd),
            wv=w[p + "self_attn.v_proj.weight"], wo=w[p + "self_attn.o_proj.weight"],
            n1=w[p + "input_layernorm.weight"], n2=w[p + "post_attention_layernorm.weight"],
            g=w[p + "mlp.gate_proj.weight"], u=w[p + "mlp.up_proj.weight"],
            d=w[p + "mlp.down_proj.weight"],
            # Qwen2's q/k/v biases, permuted like their matrices' rows
            bq=meta_layout(w[p + "self_attn.q_proj.bias"][:, None], nh, hd)[:, 0]
            if cfg.get("model_type") == "qwen2" else np.zeros(nh * hd),
            bk=meta_layout(w[p + "self_attn.k_proj.bias"][:, None], nkv, hd)[:, 0]
            if cfg.get("model_type") == "qwen2" else np.zeros(nkv * hd),
            bv=w[p + "self_attn.v_proj.bias"]
            if cfg.get("model_type") == "qwen2" else np.zeros(nkv * hd)))
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    if cfg.get("tie_word_embeddings"):
        head = w["model.embed_tokens.weight"]
    kc = [[] for _ in range(L)]
    vc = [[] for _ in range(L)]
    out = []

    def rms(x, g):
        return x * g / math.sqrt(float(np.dot(x, x)) / len(x) + eps)

    def rot(vec, pos):
        z = vec[0::2] + 1j * vec[1::2]
        z = z * np.exp(1j * pos * inv)
        r = np.empty_like(vec)
        r[0::2], r[1::2] = z.real, z.imag
        return r

    mt = cfg.get("model_type", "llama")
    win = cfg.get("sliding_window") if mt == "mistral" or cfg.get("use_sliding_window") else None
    for pos, tok in enumerate(tokens):
        x = w["model.embed_tokens.weight"][tok].copy()
        for i, ly in enumerate(lay):
            h = rms(x, ly["n1"])
            q, k, v = ly["wq"] @ h + ly["bq"], ly["wk"] @ h + ly["bk"], ly["wv"] @ h + ly["bv"]
            k = np.concatenate([rot(k[j * hd:(j + 1) * hd], pos) for j in range(nkv)])
            kc[i].append(k)
            vc[i].append(v)
            att = np.zeros(nh * hd)
            for hh in range(nh):
                kvh = hh * nkv // nh
                qh = rot(q[hh * hd:(hh + 1) * hd], pos)
                t0 = max(0, pos - win + 1) if win else 0  # sliding window: keys t0..pos
                sc = np.array([np.dot(qh, kk[kvh * hd:(kvh + 1) * hd]) for kk in kc[i][t0:]]) / math.sqrt(hd)
                pr = np.exp(sc - sc.max())
                pr /= pr.sum()
                for t, vv in enumerate(vc[i][t0:]):
                    att[hh * hd:(hh + 1) * hd] += pr[t] * vv[kvh * hd:(kvh + 1) * hd]
            x = x + ly["wo"] @ att
            h = rms(x, ly["n2"])
            gg = ly["g"] @ h
            x = x + ly["d"] @ ((gg / (1 + np.exp(-gg))) * (ly["u"] @ h))
        out.append(head @ rms(x, w["model.norm.weight"]))
    return np.array(out)


def gelu_phi(x):
    """Exact GELU as x * Phi(x), Phi through erfc (forward_np uses erf)."""
    return np.array([v * 0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])


def gpt2_slow(m, tokens):
    """Token-by-token GPT-2 with a KV cache and per-head loops."""
    cfg, w = m.cfg, m.w
    dim, nh, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    hd = dim // nh
    eps = cfg["layer_norm_epsilon"]

    def ln(x, g, b):
        mu = x.sum() / len(x)
        d = x - mu
        return d / math.sqrt(float(np.dot(d, d)) / len(x) + eps) * g + b

    if cfg["activation_function"] == "gelu":
        gelu = gelu_phi
    else:
        def gelu(x):
            return 0.5 * x * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))

    kc = [[] for _ in range(L)]
    vc = [[] for _ in range(L)]
    out = []
    for pos, tok in enumerate(tokens):
        x = w["wte.weight"][tok] + w["wpe.weight"][pos]
        for i in range(L):
            p = "h.%d." % i
            h = ln(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
            W, B = w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"]
            q = h @ W[:, :dim] + B[:dim]
            kc[i].append(h @ W[:, dim:2 * dim] + B[dim:2 * dim])
            vc[i].append(h @ W[:, 2 * dim:] + B[2 * dim:])
            att = np.zeros(dim)
            for hh in range(nh):
                s = slice(hh * hd, (hh + 1) * hd)
                sc = np.array([np.dot(q[s], kk[s]) for kk in kc[i]]) / math.sqrt(hd)
                pr = np.exp(sc - sc.max())
                pr /= pr.sum()
                for t, vv in enumerate(vc[i]):
                    att[s] += pr[t] * vv[s]
            x = x + att @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            h = ln(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
            x = x + gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] \
                + w[p + "mlp.c_proj.bias"]
        out.append(w["wte.weight"] @ ln(x, w["ln_f.weight"], w["ln_f.bias"]))
    return np.array(out)


def biogpt_slow(m, tokens):
    """Token-by-token BioGPT with a KV cache and per-head loops; scales the
    scores (not q) by 1/sqrt(head_dim)."""
    cfg, w = m.cfg, m.w
    dim, nh, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    hd = dim // nh
    eps = cfg["layer_norm_eps"]
    scale = math.sqrt(dim) if cfg["scale_embedding"] else 1.0
    assert cfg["hidden_act"] == "gelu"

    def ln(x, n):
        mu = x.sum() / len(x)
        d = x - mu
        return d / math.sqrt(float(np.dot(d, d)) / len(x) + eps) * w[n + ".weight"] + w[n + ".bias"]

    def lin(x, n):
        return w[n + ".weight"] @ x + w[n + ".bias"]

    kc = [[] for _ in range(L)]
    vc = [[] for _ in range(L)]
    out = []
    for pos, tok in enumerate(tokens):
        x = w["biogpt.embed_tokens.weight"][tok] * scale + w["biogpt.embed_positions.weight"][pos + 2]
        for i in range(L):
            p = "biogpt.layers.%d." % i
            h = ln(x, p + "self_attn_layer_norm")
            q = lin(h, p + "self_attn.q_proj")
            kc[i].append(lin(h, p + "self_attn.k_proj"))
            vc[i].append(lin(h, p + "self_attn.v_proj"))
            att = np.zeros(dim)
            for hh in range(nh):
                s = slice(hh * hd, (hh + 1) * hd)
                sc = np.array([np.dot(q[s], kk[s]) for kk in kc[i]]) / math.sqrt(hd)
                pr = np.exp(sc - sc.max())
                pr /= pr.sum()
                for t, vv in enumerate(vc[i]):
                    att[s] += pr[t] * vv[s]
            x = x + lin(att, p + "self_attn.out_proj")
            h = ln(x, p + "final_layer_norm")
            x = x + lin(gelu_phi(lin(h, p + "fc1")), p + "fc2")
        out.append(w["output_projection.weight"] @ ln(x, "biogpt.layer_norm"))
    return np.array(out)


SLOW = {"llama": llama_slow, "gpt2": gpt2_slow, "biogpt": biogpt_slow}


# -------------------------------------------------------------- models ----

def test_models(tmp):
    models = {}
    for name in make_tiny.SHAPES:
        d = os.path.join(tmp, name)
        make_tiny.make(name, d)
        m = fw.load(d)
        models[name] = m
        toks = make_tiny.tokens(name)
        lg = fw.forward(m, toks)
        vocab = make_tiny.SHAPES[name]["vocab"]
        check(lg.shape == (len(toks), vocab) and np.all(np.isfinite(lg)),
              "%s: shape %s finite" % (name, lg.shape))
        sd = lg.std(axis=1)
        check(sd.min() > 0.1 and sd.max() < 10, "%s: logits not degenerate (row std %.3f..%.3f)"
              % (name, sd.min(), sd.max()))
        slow = SLOW[m.kind](m, toks)
        check(maxdiff(lg, slow) < 1e-10, "%s: vectorised == token-by-token second implementation "
              "(interleaved complex RoPE / per-head loops): %.2e" % (name, maxdiff(lg, slow)))
        # causality: changing later tokens leaves earlier rows unchanged
        k = len(toks) // 2
        toks2 = toks[:k] + [(t + 1) % vocab for t in toks[k:]]
        lg2 = fw.forward(m, toks2)
        check(maxdiff(lg[:k], lg2[:k]) == 0.0 and maxdiff(lg[k:], lg2[k:]) > 1e-3,
              "%s: causal (prefix rows identical, later rows change)" % name)
        # prefix runs give the matching row
        md = max(maxdiff(fw.forward(m, toks[:j])[-1], lg[j - 1]) for j in range(1, len(toks) + 1))
        check(md < 1e-12, "%s: prefix j last row == row j-1 of full: %.2e" % (name, md))
    return models


def test_variants(tmp, models):
    # GQA == MHA with k/v heads replicated
    m = models["llama_gqa"]
    cfg = dict(m.cfg)
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg["hidden_size"] // nh
    w = dict(m.w)
    for i in range(cfg["num_hidden_layers"]):
        for t in ("k_proj", "v_proj"):
            key = "model.layers.%d.self_attn.%s.weight" % (i, t)
            wk = w[key].reshape(nkv, hd, -1)
            w[key] = wk[np.arange(nh) // (nh // nkv)].reshape(nh * hd, -1)
    cfg["num_key_value_heads"] = nh
    toks = make_tiny.tokens("llama_gqa")
    d = maxdiff(fw.forward(m, toks), fw.forward(fw.from_weights(cfg, w), toks))
    check(d < 1e-12, "GQA(8q/2kv) == MHA with replicated k/v: %.2e" % d)
    # MQA likewise
    m = models["llama_mqa"]
    cfg = dict(m.cfg)
    cfg.pop("num_key_value_heads")  # absent -> MHA
    nh = cfg["num_attention_heads"]
    w = dict(m.w)
    for i in range(cfg["num_hidden_layers"]):
        for t in ("k_proj", "v_proj"):
            key = "model.layers.%d.self_attn.%s.weight" % (i, t)
            w[key] = np.tile(w[key], (nh, 1))
    toks = make_tiny.tokens("llama_mqa")
    d = maxdiff(fw.forward(m, toks), fw.forward(fw.from_weights(cfg, w), toks))
    check(d < 1e-12, "MQA(1kv) == MHA with replicated k/v: %.2e" % d)

    # tied == untied with lm_head = embed
    m = models["llama_gqa"]
    cfg = dict(m.cfg, tie_word_embeddings=False)
    w = dict(m.w)
    w["lm_head.weight"] = w["model.embed_tokens.weight"].copy()
    toks = make_tiny.tokens("llama_gqa")
    d = maxdiff(fw.forward(m, toks), fw.forward(fw.from_weights(cfg, w), toks))
    check(d == 0.0, "tied == untied with lm_head = embed: %.2e" % d)
    # untied head really used
    m = models["llama_mha"]
    w = dict(m.w)
    w["lm_head.weight"] = w["lm_head.weight"] * 2
    toks = make_tiny.tokens("llama_mha")
    d = maxdiff(2 * fw.forward(m, toks), fw.forward(fw.from_weights(m.cfg, w), toks))
    check(d < 1e-12, "untied lm_head used (scaling it scales logits): %.2e" % d)

    # reduced precision: the file holds rounded weights and the reference uses them
    for name, dt in (("llama_f16", "F16"), ("llama_bf16", "BF16"), ("gpt2_f16", "F16")):
        d32 = os.path.join(tmp, name + "_as_f32")
        make_tiny.make(name, d32, overrides={"dtype": "F32"})
        m32 = fw.load(d32)
        m16 = models[name]
        _, _, dts = st.load(os.path.join(tmp, name, "model.safetensors"))
        ok = all(v == dt for v in dts.values())
        same = all(np.array_equal(m16.w[k], st.round_to_dtype(m32.w[k], dt)) for k in m16.w)
        changed = any(not np.array_equal(m16.w[k], m32.w[k]) for k in m16.w)
        check(ok and same and changed, "%s: stored %s, reference weights == %s(f32 weights)"
              % (name, dt, dt))
        toks = make_tiny.tokens(name)
        d = maxdiff(fw.forward(m16, toks), fw.forward(m32, toks))
        check(d > 1e-4, "%s: rounding visible in logits (|f32 - %s| = %.2e > tolerance 1e-4)"
              % (name, dt, d))

    # llama3 rope scaling: bands and sensitivity
    m = models["llama3_rope"]
    hd = m.cfg["hidden_size"] // m.cfg["num_attention_heads"]
    inv = fw.llama_inv_freq(m.cfg, hd)
    base = fw.llama_inv_freq(dict(m.cfg, rope_scaling=None), hd)
    wl = 2 * math.pi / base
    rs = m.cfg["rope_scaling"]
    orig = rs["original_max_position_embeddings"]
    lowb = wl > orig / rs["low_freq_factor"]
    highb = wl < orig / rs["high_freq_factor"]
    mid = ~lowb & ~highb
    check(lowb.any() and highb.any() and mid.any(),
          "llama3_rope: all bands present (%d unchanged, %d smoothed, %d divided)"
          % (highb.sum(), mid.sum(), lowb.sum()))
    check(np.allclose(inv[highb], base[highb], rtol=0, atol=0)
          and np.allclose(inv[lowb], base[lowb] / rs["factor"], rtol=1e-15)
          and np.all(inv[mid] < base[mid]) and np.all(inv[mid] > base[mid] / rs["factor"]),
          "llama3_rope: inv_freq per band")
    check(maxdiff(inv, inv_freq_masks(m.cfg, hd)) < 1e-15, "llama3_rope: loop == masked formula")
    toks = make_tiny.tokens("llama3_rope")
    d = maxdiff(fw.forward(m, toks), fw.forward(fw.from_weights(dict(m.cfg, rope_scaling=None), m.w), toks))
    check(d > 1e-3, "llama3_rope: scaling changes logits by %.2e" % d)
    d = maxdiff(fw.forward(m, toks), fw.forward(fw.from_weights(dict(m.cfg, rope_theta=10000.0), m.w), toks))
    check(d > 1e-3, "llama3_rope: theta 500000 vs 10000 changes logits by %.2e" % d)

    # head_dim explicit: dropping it would break the shapes
    m = models["llama_headdim"]
    check(m.cfg["head_dim"] * m.cfg["num_attention_heads"] != m.cfg["hidden_size"],
          "llama_headdim: head_dim*heads != hidden")

    # rotate_half RoPE == HF formula q*cos + rotate_half(q)*sin literally
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3, 16))
    invf = 10000.0 ** (-np.arange(0, 16, 2) / 16)
    emb = np.concatenate([np.arange(6)[:, None] * invf] * 2, axis=-1)[:, None, :]
    rh = np.concatenate([-x[..., 8:], x[..., :8]], axis=-1)
    d = maxdiff(fw.rope_rotate_half(x, np.arange(6), invf), x * np.cos(emb) + rh * np.sin(emb))
    check(d < 1e-14, "rope_rotate_half == HF q*cos + rotate_half(q)*sin: %.2e" % d)

    # GPT-2: prefixed and prefix-less names give the same model
    d1 = os.path.join(tmp, "gpt2_base_noprefix")
    make_tiny.make("gpt2_base", d1, overrides={"prefix": False})
    toks = make_tiny.tokens("gpt2_base")
    d = maxdiff(fw.forward(models["gpt2_base"], toks), fw.forward(fw.load(d1), toks))
    check(d == 0.0, "gpt2: 'transformer.' prefix optional: %.2e" % d)
    # gelu_new close to exact erf GELU (sanity of the formula)
    xs = np.linspace(-5, 5, 101)
    erf = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in xs])
    check(maxdiff(fw.gelu_new(xs), erf) < 1e-3, "gelu_new ~ erf GELU within 1e-3")
    # n_inner null really means 4*dim
    w = models["gpt2_base"].w
    check(w["h.0.mlp.c_fc.weight"].shape[1] == 4 * models["gpt2_base"].cfg["n_embd"],
          "gpt2_base: n_inner null -> 4*n_embd")


def biogpt_one_token(m, tok):
    """Logits of a single token written out by hand: with one position the
    attention weights are [1], so attention returns v itself."""
    cfg, w = m.cfg, m.w
    eps = cfg["layer_norm_eps"]

    def ln(x, n):
        return fw.layer_norm(x, w[n + ".weight"], w[n + ".bias"], eps)

    def lin(x, n):
        return w[n + ".weight"] @ x + w[n + ".bias"]

    s = math.sqrt(cfg["hidden_size"]) if cfg["scale_embedding"] else 1.0
    x = s * w["biogpt.embed_tokens.weight"][tok] + w["biogpt.embed_positions.weight"][2]
    for i in range(cfg["num_hidden_layers"]):
        p = "biogpt.layers.%d." % i
        x = x + lin(lin(ln(x, p + "self_attn_layer_norm"), p + "self_attn.v_proj"), p + "self_attn.out_proj")
        x = x + lin(gelu_phi(lin(ln(x, p + "final_layer_norm"), p + "fc1")), p + "fc2")
    return w["output_projection.weight"] @ ln(x, "biogpt.layer_norm")


def biogpt_as_gpt2(m):
    """The same network written as a GPT-2 checkpoint (scale_embedding off,
    head tied to the embedding): positions table without its first two rows,
    Conv1D (in, out) weights, fused c_attn, activation "gelu"."""
    cfg, w = m.cfg, m.w
    assert not cfg["scale_embedding"]
    assert np.array_equal(w["output_projection.weight"], w["biogpt.embed_tokens.weight"])
    g = {"wte.weight": w["biogpt.embed_tokens.weight"],
         "wpe.weight": w["biogpt.embed_positions.weight"][2:],
         "ln_f.weight": w["biogpt.layer_norm.weight"], "ln_f.bias": w["biogpt.layer_norm.bias"]}
    for i in range(cfg["num_hidden_layers"]):
        b, p = "biogpt.layers.%d." % i, "h.%d." % i
        a = b + "self_attn."
        g[p + "ln_1.weight"] = w[b + "self_attn_layer_norm.weight"]
        g[p + "ln_1.bias"] = w[b + "self_attn_layer_norm.bias"]
        g[p + "attn.c_attn.weight"] = np.concatenate(
            [w[a + t + ".weight"].T for t in ("q_proj", "k_proj", "v_proj")], axis=1)
        g[p + "attn.c_attn.bias"] = np.concatenate([w[a + t + ".bias"] for t in ("q_proj", "k_proj", "v_proj")])
        g[p + "attn.c_proj.weight"] = w[a + "out_proj.weight"].T
        g[p + "attn.c_proj.bias"] = w[a + "out_proj.bias"]
        g[p + "ln_2.weight"] = w[b + "final_layer_norm.weight"]
        g[p + "ln_2.bias"] = w[b + "final_layer_norm.bias"]
        g[p + "mlp.c_fc.weight"] = w[b + "fc1.weight"].T
        g[p + "mlp.c_fc.bias"] = w[b + "fc1.bias"]
        g[p + "mlp.c_proj.weight"] = w[b + "fc2.weight"].T
        g[p + "mlp.c_proj.bias"] = w[b + "fc2.bias"]
    gcfg = {"model_type": "gpt2", "n_embd": cfg["hidden_size"], "n_layer": cfg["num_hidden_layers"],
            "n_head": cfg["num_attention_heads"], "n_positions": cfg["max_position_embeddings"],
            "n_inner": cfg["intermediate_size"], "vocab_size": cfg["vocab_size"],
            "layer_norm_epsilon": cfg["layer_norm_eps"], "activation_function": "gelu"}
    return fw.from_weights(gcfg, g)


def test_new_shapes(tmp, models):
    # -- sharded llama: index consistent, same model as one file
    d = os.path.join(tmp, "llama_sharded")
    idx = json.load(open(os.path.join(d, "model.safetensors.index.json")))
    wm = idx["weight_map"]
    files = sorted(set(wm.values()))
    check(files == make_tiny.shard_names(2) and not os.path.exists(os.path.join(d, "model.safetensors")),
          "llama_sharded: two shards %s, no model.safetensors" % files)
    nbytes = 0
    held = {}
    for f in files:
        t, meta, dts = st.load(os.path.join(d, f))
        held[f] = set(t)
        nbytes += sum(v.size * {"F32": 4, "F16": 2, "BF16": 2}[dts[k]] for k, v in t.items())
    check(all(held[f] == {k for k, v in wm.items() if v == f} for f in files)
          and idx["metadata"]["total_size"] == nbytes,
          "llama_sharded: each shard holds exactly its weight_map entries; total_size %d == %d"
          % (idx["metadata"]["total_size"], nbytes))
    split = [l for l in range(3) if len({wm[k] for k in wm if k.startswith("model.layers.%d." % l)}) == 2]
    check(bool(split) and wm["model.embed_tokens.weight"] != wm["lm_head.weight"],
          "llama_sharded: layer %s split across both files, embed and lm_head in different files" % split)
    d1 = os.path.join(tmp, "llama_sharded_single")
    make_tiny.make("llama_sharded", d1, overrides={"shards": 1})
    m1 = fw.load(d1)
    ms = models["llama_sharded"]
    same = set(m1.w) == set(ms.w) and all(np.array_equal(m1.w[k], ms.w[k]) for k in m1.w)
    toks = make_tiny.tokens("llama_sharded")
    check(same and maxdiff(fw.forward(m1, toks), fw.forward(ms, toks)) == 0.0,
          "llama_sharded: same weights and logits as the single-file model")
    # a weight_map that lies about a tensor's file is refused
    bad = os.path.join(tmp, "llama_sharded_bad")
    make_tiny.make("llama_sharded", bad)
    ipath = os.path.join(bad, "model.safetensors.index.json")
    j = json.load(open(ipath))
    j["weight_map"]["lm_head.weight"] = files[0]
    json.dump(j, open(ipath, "w"))
    try:
        fw.load(bad)
        check(False, "llama_sharded: wrong weight_map refused")
    except ValueError:
        check(True, "llama_sharded: wrong weight_map refused")

    # -- qwen2: biases are the only difference from llama, and they matter
    m = models["qwen2"]
    toks = make_tiny.tokens("qwen2")
    lg = fw.forward(m, toks)
    w0 = dict(m.w)
    for k in w0:
        if k.endswith("_proj.bias"):
            w0[k] = np.zeros_like(w0[k])
    nb = sum(k.endswith("_proj.bias") for k in m.w)
    d = maxdiff(fw.forward(fw.from_weights(m.cfg, w0), toks),
                fw.forward(fw.from_weights(dict(m.cfg, model_type="llama"), m.w), toks))
    check(nb == 3 * m.cfg["num_hidden_layers"] and d == 0.0,
          "qwen2: %d q/k/v biases; zero biases == llama on the same weights: %.2e" % (nb, d))
    for t in ("q", "k", "v"):
        wt = dict(m.w)
        wt["model.layers.0.self_attn.%s_proj.bias" % t] = np.zeros_like(wt["model.layers.0.self_attn.%s_proj.bias" % t])
        d = maxdiff(lg, fw.forward(fw.from_weights(m.cfg, wt), toks))
        check(d > 1e-3, "qwen2: %s_proj bias changes logits by %.2e" % (t, d))
    d = maxdiff(lg, fw.forward(fw.from_weights(dict(m.cfg, rope_theta=10000.0), m.w), toks))
    check(m.cfg["tie_word_embeddings"] and "lm_head.weight" not in m.w and d > 1e-3,
          "qwen2: tied head; rope_theta 1e6 vs 1e4 changes logits by %.2e" % d)

    # -- mistral: untied, GQA, window beyond the sequence; longer is refused
    m = models["mistral"]
    toks = make_tiny.tokens("mistral")
    check("lm_head.weight" in m.w and m.cfg["num_key_value_heads"] < m.cfg["num_attention_heads"]
          and m.cfg["sliding_window"] >= len(toks), "mistral: untied, GQA, sliding_window >= sequence")
    # a window shorter than the sequence changes the later positions only
    full = fw.forward(m, toks)
    short = fw.forward(fw.from_weights(dict(m.cfg, sliding_window=4), m.w), toks)
    check(maxdiff(full[:4], short[:4]) < 1e-12 and maxdiff(full[4:], short[4:]) > 1e-3,
          "mistral: sliding_window 4 leaves positions 0-3 alone and changes the rest")

    # -- exact GELU
    xs = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0])
    # x * Phi(x) with Phi from tables: Phi(1) = 0.8413447460685429,
    # Phi(0.5) = 0.6914624612740131, Phi(2) = 0.9772498680518208,
    # Phi(3) = 0.9986501019683699
    known = np.array([-0.004049694094890284, -0.15865525393145707, -0.15426876936299344, 0.0,
                      0.34573123063700656, 0.8413447460685429, 1.9544997361036416, 2.9959503059051097])
    check(maxdiff(fw.gelu_erf(xs), known) < 1e-9 and maxdiff(fw.gelu_erf(xs), gelu_phi(xs)) < 1e-15,
          "gelu_erf: known values, == x*Phi(x) via erfc")
    m = models["gpt2_gelu"]
    toks = make_tiny.tokens("gpt2_gelu")
    d = maxdiff(fw.forward(m, toks),
                fw.forward(fw.from_weights(dict(m.cfg, activation_function="gelu_new"), m.w), toks))
    check(d > 1e-3, "gpt2_gelu: \"gelu\" vs gelu_new changes logits by %.2e (> 10x tolerance)" % d)

    # -- biogpt
    for name in ("biogpt_scaled", "biogpt_noscale"):
        m = models[name]
        toks = make_tiny.tokens(name)
        lg = fw.forward(m, toks)
        d = max(maxdiff(fw.forward(m, [t])[0], biogpt_one_token(m, t)) for t in toks[:4])
        check(d < 1e-12, "%s: one token == hand-written computation (row 2 of positions): %.2e" % (name, d))
        # rows 0 and 1 of the position table are never read; row 2 is
        w = dict(m.w)
        pe = w["biogpt.embed_positions.weight"].copy()
        pe[:2] = 0.0
        w["biogpt.embed_positions.weight"] = pe
        d0 = maxdiff(lg, fw.forward(fw.from_weights(m.cfg, w), toks))
        pe = pe.copy()
        pe[2] = 0.0
        w["biogpt.embed_positions.weight"] = pe
        d2 = maxdiff(lg[:1], fw.forward(fw.from_weights(m.cfg, w), toks)[:1])
        check(d0 == 0.0 and d2 > 1e-3, "%s: position rows 0,1 unused (%.1e), row 2 used (%.2e)"
              % (name, d0, d2))
        # the whole logits move when the offset is wrong (0 instead of 2)
        # (position p reading row p = the reference reading row p + 2 of a
        # table shifted down by two)
        w = dict(m.w)
        pe = m.w["biogpt.embed_positions.weight"]
        w["biogpt.embed_positions.weight"] = np.concatenate([pe[:2], pe[:-2]])
        d = maxdiff(lg, fw.forward(fw.from_weights(m.cfg, w), toks))
        check(d > 1e-3, "%s: offset 0 instead of 2 changes logits by %.2e" % (name, d))
        # scale_embedding flipped, exact vs tanh GELU: both visible
        c2 = dict(m.cfg, scale_embedding=not m.cfg["scale_embedding"])
        d = maxdiff(lg, fw.forward(fw.from_weights(c2, m.w), toks))
        check(d > 1e-3, "%s: scale_embedding flipped changes logits by %.2e" % (name, d))
        d = maxdiff(lg, fw.forward(fw.from_weights(dict(m.cfg, hidden_act="gelu_new"), m.w), toks))
        check(d > 1e-3, "%s: gelu_new instead of exact gelu changes logits by %.2e (> 10x tolerance)"
              % (name, d))
    # scale on == scale off with sqrt(dim)-times token embeddings (head kept)
    m = models["biogpt_scaled"]
    toks = make_tiny.tokens("biogpt_scaled")
    w = dict(m.w)
    w["biogpt.embed_tokens.weight"] = w["biogpt.embed_tokens.weight"] * math.sqrt(m.cfg["hidden_size"])
    d = maxdiff(fw.forward(m, toks), fw.forward(fw.from_weights(dict(m.cfg, scale_embedding=False), w), toks))
    check(d < 1e-12, "biogpt_scaled: scale on == scale off with embed*sqrt(%d): %.2e" % (m.cfg["hidden_size"], d))
    check(np.array_equal(m.w["output_projection.weight"], m.w["biogpt.embed_tokens.weight"]),
          "biogpt: output_projection stored equal to embed_tokens (tied)")
    # scale off: the same network as a GPT-2 with exact GELU
    m = models["biogpt_noscale"]
    toks = make_tiny.tokens("biogpt_noscale")
    check(len(toks) == m.cfg["max_position_embeddings"], "biogpt_noscale: sequence reaches the last position")
    d = maxdiff(fw.forward(m, toks), fw.forward(biogpt_as_gpt2(m), toks))
    check(d < 1e-12, "biogpt_noscale == GPT-2 (gelu) with converted weights: %.2e" % d)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_safetensors(tmp)
        models = test_models(tmp)
        test_variants(tmp, models)
        test_new_shapes(tmp, models)
    print("selftest: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

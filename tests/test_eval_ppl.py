#!/usr/bin/python3
"""test_eval_ppl.py - NumPy references for tests/test_eval_ppl.sh.

  test_eval_ppl.py tokens N VOCAB SEED OUT.bin
      N seeded random token ids in [0, VOCAB) as little-endian int32
  test_eval_ppl.py perturb MODEL_DIR OUT_DIR
      a copy of a tiny model whose weights are scaled by 1.1 and carry 5%
      seeded multiplicative noise (same config, F32)
  test_eval_ppl.py ppl MODEL_DIR TOKENS.bin CTX gptq|llamacpp ADD_BOS BOS_ID
      prints "ppl nll_mean n_scored n_windows": windows of CTX tokens, the
      logits of forward_np.py (float64), log-softmax in float64;
      gptq scores positions 0..CTX-2 against the next token, llamacpp
      positions CTX/2..CTX-2 with the first token replaced by BOS_ID when
      ADD_BOS is 1
  test_eval_ppl.py kld MODEL_DIR BASE_DIR TOKENS.bin CTX gptq|llamacpp
      prints "kld_mean same_top dp_rms n_scored" for KL(P_base || P_model)

Written independently of src/eval/ from the definitions in the GPTQ and
llama.cpp sources cited there.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "ref"))
import forward_np  # noqa: E402
import safetensors_np as st  # noqa: E402


def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def windows(toks, ctx, style, add_bos, bos):
    n = len(toks) // ctx
    first = ctx // 2 if style == "llamacpp" else 0
    for w in range(n):
        win = list(toks[w * ctx:(w + 1) * ctx])
        labels = np.array(win[1:], dtype=np.int64)
        if style == "llamacpp" and add_bos:
            win[0] = bos
        yield win, labels, first


def cmd_ppl(model_dir, tok_path, ctx, style, add_bos, bos):
    m = forward_np.load(model_dir)
    toks = np.fromfile(tok_path, dtype="<i4")
    nll = []
    nw = 0
    for win, labels, first in windows(toks, ctx, style, add_bos, bos):
        lp = log_softmax(forward_np.forward(m, win))  # [ctx, V]
        rows = np.arange(first, ctx - 1)
        nll.extend(-lp[rows, labels[rows]])
        nw += 1
    nll = np.array(nll)
    print("%.17g %.17g %d %d" % (np.exp(nll.mean()), nll.mean(), len(nll), nw))


def cmd_kld(model_dir, base_dir, tok_path, ctx, style):
    m, b = forward_np.load(model_dir), forward_np.load(base_dir)
    toks = np.fromfile(tok_path, dtype="<i4")
    kl, same, dp = [], [], []
    for win, labels, first in windows(toks, ctx, style, 0, 0):
        la = log_softmax(forward_np.forward(m, win))[first:ctx - 1]
        lb = log_softmax(forward_np.forward(b, win))[first:ctx - 1]
        y = labels[first:]
        pb = np.exp(lb)
        kl.extend((pb * (lb - la)).sum(axis=1))
        same.extend(la.argmax(axis=1) == lb.argmax(axis=1))
        idx = np.arange(len(y))
        dp.extend(np.exp(la[idx, y]) - np.exp(lb[idx, y]))
    kl, dp = np.array(kl), np.array(dp)
    print("%.17g %.17g %.17g %d" % (kl.mean(), np.mean(same), np.sqrt((dp * dp).mean()), len(kl)))


def cmd_perturb(src, dst):
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(src, "config.json")) as f:
        cfg = f.read()
    with open(os.path.join(dst, "config.json"), "w") as f:
        f.write(cfg)
    t, _, _ = st.load(os.path.join(src, "model.safetensors"))
    rng = np.random.default_rng(1234)
    out = {}
    for k in sorted(t):
        v = t[k]
        out[k] = (v * 1.1 * (1 + 0.05 * rng.standard_normal(v.shape)), "F32")
    st.save(os.path.join(dst, "model.safetensors"), out, metadata={"format": "pt"})


def main(a):
    if len(a) == 6 and a[1] == "tokens":
        n, vocab, seed = int(a[2]), int(a[3]), int(a[4])
        rng = np.random.default_rng(seed)
        rng.integers(0, vocab, size=n).astype("<i4").tofile(a[5])
        return 0
    if len(a) == 4 and a[1] == "perturb":
        cmd_perturb(a[2], a[3])
        return 0
    if len(a) == 8 and a[1] == "ppl":
        cmd_ppl(a[2], a[3], int(a[4]), a[5], int(a[6]), int(a[7]))
        return 0
    if len(a) == 7 and a[1] == "kld":
        cmd_kld(a[2], a[3], a[4], int(a[5]), a[6])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

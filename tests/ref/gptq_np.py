"""gptq_np.py DIR - an independent NumPy GPTQ, checked against optibench's.

Reads DIR/W.bin [R x C], DIR/X.bin [N x C] (float32), DIR/cases.txt (first
line "R C N", then one "bits group sym act_order" per case) and each case's
optibench result DIR/q<k>.bin (uint8 integers) and DIR/wq<k>.bin (float32
reconstruction).  Recomputes GPTQ as the authors' gptq.py fasterquant does
(float64 Cholesky of the damped Hessian, float32 weights, blocks of 128,
group grids from the block-start weights) and compares:
  - the share of integers that differ (float rounding can flip a value that
    sits on a rounding boundary, which then changes later columns slightly);
  - the layer-output error of the two reconstructions, within 0.1% relative
    (at most 0.5% of the integers may differ).
Prints one line per case and exits non-zero on a mismatch.
"""
import sys

import numpy as np


def grid(w, bits, sym):
    maxq = 2 ** bits - 1
    xmin = np.minimum(w.min(axis=1), 0).astype(np.float32)
    xmax = np.maximum(w.max(axis=1), 0).astype(np.float32)
    if sym:
        xmax = np.maximum(-xmin, xmax)
        xmin = np.where(xmin < 0, -xmax, xmin)
    both0 = (xmin == 0) & (xmax == 0)
    xmin = np.where(both0, np.float32(-1), xmin)
    xmax = np.where(both0, np.float32(1), xmax)
    scale = ((xmax - xmin) / np.float32(maxq)).astype(np.float32)
    zero = np.full_like(scale, (maxq + 1) / 2) if sym else np.round(-xmin / scale).astype(np.float32)
    return scale, zero


def quant(w, scale, zero, bits):
    q = np.clip(np.round(w / scale) + zero, 0, 2 ** bits - 1)
    return q, (scale * (q - zero)).astype(np.float32)


def gptq(W, X, bits, group, sym, act, block=128, damp=0.01):
    R, C = W.shape
    H = 2.0 / X.shape[0] * (X.astype(np.float64).T @ X.astype(np.float64))
    W = W.copy()
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    perm = np.arange(C)
    if act:
        perm = np.argsort(-np.diag(H), kind="stable")
        W = W[:, perm]
        H = H[perm][:, perm]
    H = H + damp * np.mean(np.diag(H)) * np.eye(C)
    L = np.linalg.cholesky(H)
    Hinv = np.linalg.inv(L).T @ np.linalg.inv(L)
    U = np.linalg.cholesky(Hinv).T.astype(np.float32)  # Hinv = U^T U
    Q = np.zeros((R, C))
    Wq = np.zeros((R, C), dtype=np.float32)
    G = group if group > 0 else C
    if group <= 0:
        scale, zero = grid(W, bits, sym)
    for i1 in range(0, C, block):
        i2 = min(i1 + block, C)
        W1 = W[:, i1:i2].copy()
        E1 = np.zeros_like(W1)
        for i in range(i2 - i1):
            col = i1 + i
            if group > 0 and col % G == 0:
                scale, zero = grid(W[:, col:col + G], bits, sym)
            q, wq = quant(W1[:, i], scale, zero, bits)
            Q[:, col], Wq[:, col] = q, wq
            e = ((W1[:, i] - wq) / U[col, col]).astype(np.float32)
            W1[:, i + 1:] -= np.outer(e, U[col, i1 + i + 1:i2]).astype(np.float32)
            E1[:, i] = e
        W[:, i2:] -= (E1 @ U[i1:i2, i2:]).astype(np.float32)
    inv = np.argsort(perm)
    return Q[:, inv], Wq[:, inv]


def main():
    d = sys.argv[1]
    lines = open(d + "/cases.txt").read().split("\n")
    R, C, N = map(int, lines[0].split())
    W = np.fromfile(d + "/W.bin", dtype=np.float32).reshape(R, C)
    X = np.fromfile(d + "/X.bin", dtype=np.float32).reshape(N, C)
    H = X.astype(np.float64).T @ X.astype(np.float64) / N
    ok = True
    for k, line in enumerate(l for l in lines[1:] if l.strip()):
        bits, group, sym, act = map(int, line.split())
        q_ref, wq_ref = gptq(W, X, bits, group, sym, act)
        q = np.fromfile("%s/q%d.bin" % (d, k), dtype=np.uint8).reshape(R, C)
        wq = np.fromfile("%s/wq%d.bin" % (d, k), dtype=np.float32).reshape(R, C)
        differ = float(np.mean(q != q_ref))
        e = lambda A: float(np.einsum("ij,jk,ik->", W - A, H, W - A))
        e_ob, e_ref = e(wq), e(wq_ref)
        rel = abs(e_ob - e_ref) / e_ref
        good = differ <= 0.005 and rel <= 0.001
        ok &= good
        print("%s %d-bit group %3d sym %d act %d: %.3f%% integers differ, output error %.5g vs NumPy %.5g (%.3g rel)"
              % ("ok  " if good else "FAIL", bits, group, sym, act, 100 * differ, e_ob, e_ref, rel))
    sys.exit(0 if ok else 1)


main()

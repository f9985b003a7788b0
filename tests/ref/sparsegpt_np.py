"""sparsegpt_np.py DIR - an independent NumPy SparseGPT, checked against
optibench's (gptq.c's column loop with a pattern, compress/prune.h).

Reads DIR/W.bin [R x C], DIR/X.bin [N x C] (float32), DIR/cases.txt (first
line "R C N", then per case "kind n m sparsity bits group": kind 0
unstructured, 1 N:M keeping n of m; bits 0 = no quantization, else a
symmetric grid per group of `group` columns) and each case's optibench
result DIR/keep<k>.bin (uint8 mask) and DIR/w<k>.bin (float32 weights).
Recomputes SparseGPT as Frantar & Alistarh describe it (the authors'
sparsegpt.py fasterprune): U = upper Cholesky factor of the damped H^-1;
per block of 128 columns the scores W^2 / U_jj^2 of the block's current
weights, the lowest floor(s * block size) removed (N:M: per row and group
of m at its first column, the m - n lowest); each column pruned (and
quantized) in turn, its error spread over the rest of the block, then the
block's errors over the remaining columns.  Compares the share of mask
entries that differ and the layer-output errors (0.5% of the mask, 0.5%
relative error: float rounding can flip a score on a tie).
"""
import sys

import numpy as np


def grid(w, bits):
    """GPTQ's symmetric grid (quantizer.h), as the reference Quantizer does"""
    maxq = 2 ** bits - 1
    xmin = np.minimum(w.min(axis=1), 0).astype(np.float32)
    xmax = np.maximum(w.max(axis=1), 0).astype(np.float32)
    xmax = np.maximum(-xmin, xmax)
    xmin = np.where(xmin < 0, -xmax, xmin)
    both0 = (xmin == 0) & (xmax == 0)
    xmin = np.where(both0, np.float32(-1), xmin)
    xmax = np.where(both0, np.float32(1), xmax)
    scale = ((xmax - xmin) / np.float32(maxq)).astype(np.float32)
    return scale, np.full_like(scale, (maxq + 1) / 2)


def lowest(scores, count):
    """indices (into the flattened array) of the `count` lowest, ties by position"""
    return np.argsort(scores.ravel(), kind="stable")[:count]


def sparsegpt(W, X, kind, n, m, s, bits, group, block=128, damp=0.01):
    R, C = W.shape
    H = 2.0 / X.shape[0] * (X.astype(np.float64).T @ X.astype(np.float64))
    W = W.copy()
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H = H + damp * np.mean(np.diag(H)) * np.eye(C)
    L = np.linalg.cholesky(H)
    Hinv = np.linalg.inv(L).T @ np.linalg.inv(L)
    U = np.linalg.cholesky(Hinv).T.astype(np.float32)
    keep = np.ones((R, C), dtype=bool)
    out = np.zeros((R, C), dtype=np.float32)
    d = np.diag(U)
    for i1 in range(0, C, block):
        i2 = min(i1 + block, C)
        nb = i2 - i1
        W1 = W[:, i1:i2].copy()
        E1 = np.zeros_like(W1)
        if kind == 0:
            sc = (W1 ** 2 / d[i1:i2][None, :] ** 2).astype(np.float32)
            k1 = np.ones(R * nb, dtype=bool)
            k1[lowest(sc, int(np.floor(s * R * nb)))] = False
            keep[:, i1:i2] = k1.reshape(R, nb)
        for i in range(nb):
            col = i1 + i
            if kind == 1 and i % m == 0:
                sc = (W1[:, i:i + m] ** 2 / d[col:col + m][None, :] ** 2).astype(np.float32)
                for r in range(R):
                    kr = np.ones(m, dtype=bool)
                    kr[lowest(sc[r], m - n)] = False
                    keep[r, col:col + m] = kr
            if bits and col % group == 0:
                g = np.where(keep[:, col:col + group], W[:, col:col + group], 0) if kind == 0 else W[:, col:col + group]
                scale, zero = grid(g, bits)
            w = W1[:, i]
            if bits:
                q = np.clip(np.round(w / scale) + zero, 0, 2 ** bits - 1)
                wq = (scale * (q - zero)).astype(np.float32)
            else:
                wq = w.copy()
            wq = np.where(keep[:, col], wq, np.float32(0))
            out[:, col] = wq
            e = ((w - wq) / U[col, col]).astype(np.float32)
            W1[:, i + 1:] -= np.outer(e, U[col, col + 1:i2]).astype(np.float32)
            E1[:, i] = e
        W[:, i2:] -= (E1 @ U[i1:i2, i2:]).astype(np.float32)
    return keep, out


def main():
    d = sys.argv[1]
    lines = open(d + "/cases.txt").read().split("\n")
    R, C, N = map(int, lines[0].split())
    W = np.fromfile(d + "/W.bin", dtype=np.float32).reshape(R, C)
    X = np.fromfile(d + "/X.bin", dtype=np.float32).reshape(N, C)
    H = X.astype(np.float64).T @ X.astype(np.float64) / N
    ok = True
    for k, line in enumerate(l for l in lines[1:] if l.strip()):
        f = line.split()
        kind, n, m, bits, group = int(f[0]), int(f[1]), int(f[2]), int(f[4]), int(f[5])
        s = float(f[3])
        keep_ref, w_ref = sparsegpt(W, X, kind, n, m, s, bits, group)
        keep = np.fromfile("%s/keep%d.bin" % (d, k), dtype=np.uint8).reshape(R, C).astype(bool)
        w = np.fromfile("%s/w%d.bin" % (d, k), dtype=np.float32).reshape(R, C)
        differ = float(np.mean(keep != keep_ref))
        e = lambda A: float(np.einsum("ij,jk,ik->", W - A, H, W - A))
        e_ob, e_ref = e(w), e(w_ref)
        rel = abs(e_ob - e_ref) / e_ref
        zeros = bool(np.all(w[~keep] == 0))
        good = differ <= 0.005 and rel <= 0.005 and zeros
        ok &= good
        print("%s %s s %.2f bits %d group %d: %.3f%% of the mask differs, output error %.5g vs NumPy %.5g (%.3g rel)%s"
              % ("ok  " if good else "FAIL", "unstructured" if kind == 0 else "%d:%d" % (n, m), s, bits, group,
                 100 * differ, e_ob, e_ref, rel, "" if zeros else ", pruned weights not 0"))
    sys.exit(0 if ok else 1)


main()

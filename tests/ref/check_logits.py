#!/usr/bin/python3
"""check_logits.py - compare the engine's logits with the NumPy reference.

  check_logits.py --name NAME --model DIR --tokens 3,17,5 --all ALL.bin
                  [--prefix-dir D] [--tol 1e-4] [--tol-last 1e-5]

ALL.bin: the engine's `logits --all` output, float32 little-endian,
n_tokens rows x vocab columns.  With --prefix-dir, D/last_K.bin (K = 1 ..
n_tokens) is the engine's output without --all for the first K tokens
(1 x vocab each); each must equal row K-1 of ALL.bin within --tol-last and the
reference's row K-1 within --tol.  Each --variant LABEL:FILE is another
full --all output (e.g. with --batch 1 or --threads 3) that must equal ALL.bin
within --tol-last and the reference within --tol.

Prints "case NAME: max abs diff = X" (and a prefix line), then
"check_logits: P passed, F failed"; exits 1 when anything failed.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forward_np as fw  # noqa: E402


def read_logits(path, rows, vocab):
    """float32 LE matrix [rows, vocab] from path, or (None, why)."""
    if not os.path.exists(path):
        return None, "missing %s" % path
    n = os.path.getsize(path)
    want = rows * vocab * 4
    if n != want:
        return None, "%s has %d bytes, expected %d (%d x %d float32)" % (path, n, want, rows, vocab)
    return np.fromfile(path, dtype="<f4").reshape(rows, vocab).astype(np.float64), None


def maxabs(a, b):
    d = np.abs(a - b)
    if not np.all(np.isfinite(d)):
        return float("nan")
    return float(d.max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--all", required=True, dest="all_path")
    ap.add_argument("--prefix-dir")
    ap.add_argument("--variant", action="append", default=[],
                    help="LABEL:FILE, another --all run (other --batch, --threads)")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--tol-last", type=float, default=1e-5)
    a = ap.parse_args()

    toks = [int(t) for t in a.tokens.split(",") if t]
    ref = fw.forward(fw.load(a.model), toks)
    T, V = ref.shape
    passed = failed = 0

    got, why = read_logits(a.all_path, T, V)
    if got is None:
        print("case %s: FAIL (%s)" % (a.name, why))
        failed += 1
    else:
        d = maxabs(got, ref)
        rows = np.abs(got - ref).max(axis=1)
        ok = d <= a.tol  # false for NaN
        print("case %s: max abs diff = %.3g%s" % (a.name, d, "" if ok else "  FAIL (tol %g)" % a.tol))
        if not ok:
            print("  per-row max diff: %s" % " ".join("%.2g" % r for r in rows))
            print("  row 0 ref[:6] %s" % np.array2string(ref[0, :6], precision=5))
            print("  row 0 got[:6] %s" % np.array2string(got[0, :6], precision=5))
            same_argmax = int((got.argmax(1) == ref.argmax(1)).sum())
            print("  argmax agrees on %d of %d rows" % (same_argmax, T))
        passed += ok
        failed += not ok

    if a.prefix_dir:
        worst_all = worst_ref = 0.0
        bad = []
        for k in range(1, T + 1):
            p = os.path.join(a.prefix_dir, "last_%d.bin" % k)
            row, why = read_logits(p, 1, V)
            if row is None:
                bad.append(why)
                continue
            dr = maxabs(row[0], ref[k - 1])
            worst_ref = max(worst_ref, dr) if dr == dr else float("nan")
            if not dr <= a.tol:
                bad.append("prefix %d: vs reference %.3g" % (k, dr))
            if got is not None:
                da = maxabs(row[0], got[k - 1])
                worst_all = max(worst_all, da) if da == da else float("nan")
                if not da <= a.tol_last:
                    bad.append("prefix %d: vs --all row %d %.3g" % (k, k - 1, da))
        ok = not bad
        print("case %s/prefixes: max abs diff vs --all = %.3g, vs reference = %.3g (%d prefixes)%s"
              % (a.name, worst_all, worst_ref, T, "" if ok else "  FAIL"))
        for b in bad[:8]:
            print("  " + b)
        passed += ok
        failed += not ok

    for spec in a.variant:
        label, _, path = spec.partition(":")
        row, why = read_logits(path, T, V)
        if row is None:
            print("case %s/%s: FAIL (%s)" % (a.name, label, why))
            failed += 1
            continue
        da = maxabs(row, got) if got is not None else float("nan")
        dr = maxabs(row, ref)
        ok = da <= a.tol_last and dr <= a.tol
        print("case %s/%s: max abs diff vs --all = %.3g, vs reference = %.3g%s"
              % (a.name, label, da, dr, "" if ok else "  FAIL"))
        passed += ok
        failed += not ok

    print("check_logits: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

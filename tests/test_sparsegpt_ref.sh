#!/usr/bin/env bash
# test_sparsegpt_ref.sh BUILD_DIR - SparseGPT against an independent NumPy
# version (tests/ref/sparsegpt_np.py) on a synthetic layer: 50%
# unstructured, 2:4, 60% unstructured with a 4-bit grid (groups of 64) and
# 4:8 with an 8-bit grid (groups of 128), pruning and quantization joint.
# Closing line: "test_sparsegpt_ref: N passed, N failed".
set -u
BUILD_DIR=${1:-build}
PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/optibench-sparsegpt.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
if "$BUILD_DIR/tests/test_prune" --dump "$TMP" && out=$("$PY" "$HERE/ref/sparsegpt_np.py" "$TMP"); then
    echo "$out"
    passed=$(grep -c '^ok' <<<"$out")
else
    echo "${out:-dump or reference failed}"
    failed=1
fi
echo "test_sparsegpt_ref: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

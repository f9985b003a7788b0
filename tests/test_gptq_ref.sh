#!/usr/bin/env bash
# test_gptq_ref.sh BUILD_DIR - GPTQ against an independent NumPy version
# (tests/ref/gptq_np.py) on a synthetic layer: 4-bit groups of 128 and of
# 32 with act-order, 3-bit symmetric per channel, 8-bit groups of 64 with
# act-order.  Closing line: "test_gptq_ref: N passed, N failed".
set -u
BUILD_DIR=${1:-build}
PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/optibench-gptq.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
if "$BUILD_DIR/tests/test_gptq" --dump "$TMP" && out=$("$PY" "$HERE/ref/gptq_np.py" "$TMP"); then
    echo "$out"
    passed=$(grep -c '^ok' <<<"$out")
else
    echo "${out:-dump or reference failed}"
    failed=1
fi
echo "test_gptq_ref: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

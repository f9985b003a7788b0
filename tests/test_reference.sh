#!/usr/bin/env bash
# test_reference.sh BUILD_DIR - the engine's logits against an independent
# NumPy reference (tests/ref/forward_np.py) on tiny random checkpoints made by
# tests/ref/make_tiny.py: Llama (MHA/GQA/MQA, llama3 rope, head_dim, F16,
# BF16, sharded with an index), Mistral, Qwen2 (q/k/v biases), GPT-2
# (gelu_new and exact "gelu", F16) and BioGPT (embedding scale on and off).
#
# For every shape: `optibench logits --all` on a seeded token sequence must
# match the reference at every position within 1e-4, and `optibench logits`
# without --all on each prefix must equal the matching --all row within 1e-5
# (as must --all runs with --batch 1, --batch 3 and --threads 3 when the
# engine's `logits --help` lists those options).
# Also runs the reference's own self-test.  Needs Debian's NumPy
# (/usr/bin/python3; override with PYTHON=...).  Closing line:
# "test_reference: N passed, N failed"; exit status non-zero on failure.
set -u

BUILD_DIR=${1:-build}
BIN=$BUILD_DIR/optibench
PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=$HERE/ref
passed=0
failed=0

finish() {
    echo "test_reference: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "test_reference: $PY has no numpy"
    failed=$((failed + 1))
    finish
fi

if "$PY" "$REF/selftest.py" >/dev/null 2>&1; then
    echo "case selftest: reference self-consistency ok"
    passed=$((passed + 1))
else
    echo "case selftest: FAIL"
    "$PY" "$REF/selftest.py" | grep -v '^ok' | sed 's/^/  /'
    failed=$((failed + 1))
fi

if [ ! -x "$BIN" ]; then
    echo "test_reference: no engine at $BIN"
    failed=$((failed + 1))
    finish
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/optibench-ref.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

run_engine() { # out_file args...: runs optibench logits, shows stderr on failure
    local out=$1 err
    shift
    err=$(timeout 30 "$BIN" logits "$@" -o "$out" 2>&1 >/dev/null)
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "  optibench logits $* -> exit $rc"
        [ -n "$err" ] && printf '%s\n' "$err" | head -5 | sed 's/^/    /'
        return 1
    fi
    return 0
}

# Optional variants, run when the engine's help lists the option: chunked
# and token-by-token prefill, and several threads, each against --all.
help=$("$BIN" logits --help 2>&1)
variants=()
if grep -q -- '--batch' <<<"$help"; then variants+=("batch1:--batch 1" "batch3:--batch 3"); fi
if grep -qE -- '--threads|-t N' <<<"$help"; then variants+=("threads3:-t 3"); fi

# every shape's name and token sequence from one Python start
if ! cases=$("$PY" "$REF/make_tiny.py" --list-tokens) || [ -z "$cases" ]; then
    echo "case make_tiny: FAIL (--list-tokens)"
    failed=$((failed + 1))
    finish
fi
while read -r name toks; do
    dir=$TMP/$name
    if ! "$PY" "$REF/make_tiny.py" "$name" "$dir/model"; then
        echo "case $name: FAIL (make_tiny)"
        failed=$((failed + 2))
        continue
    fi
    mkdir -p "$dir/prefix"
    run_engine "$dir/all.bin" -m "$dir/model" --tokens "$toks" --all
    IFS=, read -r -a arr <<<"$toks"
    for ((k = 1; k <= ${#arr[@]}; k++)); do
        pre=$(IFS=,; echo "${arr[*]:0:k}")
        run_engine "$dir/prefix/last_$k.bin" -m "$dir/model" --tokens "$pre" || break
    done
    vargs=()
    for v in "${variants[@]}"; do
        label=${v%%:*}
        # shellcheck disable=SC2086 # the option and its value split on purpose
        run_engine "$dir/$label.bin" -m "$dir/model" --tokens "$toks" --all ${v#*:}
        vargs+=(--variant "$label:$dir/$label.bin")
    done
    out=$("$PY" "$REF/check_logits.py" --name "$name" --model "$dir/model" --tokens "$toks" \
        --all "$dir/all.bin" --prefix-dir "$dir/prefix" "${vargs[@]}" 2>&1)
    printf '%s\n' "$out" | grep -v '^check_logits:'
    line=$(printf '%s\n' "$out" | grep '^check_logits:' | tail -1)
    if [ -z "$line" ]; then
        failed=$((failed + 2))
        continue
    fi
    p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
done <<<"$cases"

finish

#!/usr/bin/env bash
# test_mpi.sh BUILD_DIR - `mpirun -np 2 optibench sweep` with the MPI build
# (make MPI=1, build-mpi/) on stories15M: four cheap recipes spread over two
# ranks (cell i on rank i % 2).  Checks: the job exits 0; rank 0's
# results.jsonl holds all four cells, rank 1 ran its two in its own folder
# (ranks/rank-1), the one MLflow store read back by the independent reader
# (tests/ref/read_mlruns.py) has the four runs, and report.html names every
# recipe.  The MPI build is the release one, so this runs once, with the
# release build (another BUILD_DIR prints that it is covered there).
# Closing line: "test_mpi: N passed, N failed".
set -u
BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-/usr/bin/python3}
passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
if [ "$(basename "$BUILD_DIR")" != build ]; then
    echo "test_mpi: runs with the release build's companion build-mpi/ (see the release run)"
    echo "test_mpi: 0 passed, 0 failed"
    exit 0
fi
OB="$ROOT/build-mpi/optibench"
if ! command -v mpirun >/dev/null || [ ! -x "$OB" ]; then
    bad "needs mpirun and build-mpi/optibench (bash scripts/setup.sh; make MPI=1)"
    echo "test_mpi: $passed passed, $failed failed"
    exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/optibench-mpi.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/small.yaml" <<YAML
experiment: mpi-test
output: $TMP/sw
models: [stories15M]
threads: 1
calibration: {nsamples: 4, seqlen: 32}
tasks:
  ppl: {limit: 2}
  kld: {limit: 2}
  storycloze: {limit: 8}
bench: {prompt_len: 16, gen_len: 8, reps: 1, warmup: 0}
recipes:
  - {name: fp32, kind: baseline}
  - {name: q8_0, kind: rtn, format: q8_0}
  - {name: f16, kind: rtn, format: f16}
  - {name: wanda, kind: prune, method: wanda, sparsity: 0.5}
YAML
if mpirun --allow-run-as-root --oversubscribe -np 2 "$OB" sweep "$TMP/small.yaml" --bw-mb 0 >"$TMP/out.txt" \
    2>"$TMP/err.txt"; then
    ok "mpirun -np 2 optibench sweep exits 0: $(grep -m1 'MPI job' "$TMP/err.txt")"
else
    bad "mpirun: $(grep -v '^-\|^$' "$TMP/err.txt" | tail -3)"
fi
recipes() { "$PY" -c 'import json,sys; print(" ".join(sorted(json.loads(l)["recipe"] for l in open(sys.argv[1]) if l.strip())))' "$1" 2>/dev/null; }
got=$(recipes "$TMP/sw/results.jsonl")
[ "$got" = "f16 fp32 q8_0 wanda" ] && ok "rank 0's results.jsonl holds every cell: $got" || bad "results: '$got'"
got1=$(recipes "$TMP/sw/ranks/rank-1/results.jsonl")
[ "$got1" = "q8_0 wanda" ] && ok "rank 1 ran cells 1 and 3 (q8_0, wanda) in ranks/rank-1: $got1" || bad "rank 1's results: '$got1'"
if r=$("$PY" "$ROOT/tests/ref/read_mlruns.py" "$TMP/sw/mlruns" 2>&1) &&
    "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); runs=j["mpi-test"]["runs"]; sys.exit(0 if len(runs)==4 else 1)' "$r"; then
    ok "the MLflow store has the 4 runs (independent reader)"
else
    bad "MLflow store: $(echo "$r" | tail -3)"
fi
miss=""
for n in fp32 q8_0 f16 wanda; do grep -q ">$n<" "$TMP/sw/report.html" 2>/dev/null || miss+=" $n"; done
[ -z "$miss" ] && ok "report.html names every recipe" || bad "report.html lacks:$miss"
echo "test_mpi: $passed passed, $failed failed"
[ $failed -eq 0 ]

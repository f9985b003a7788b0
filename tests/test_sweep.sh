#!/usr/bin/env bash
# test_sweep.sh BUILD_DIR - `optibench sweep` end to end on stories15M with
# tiny eval limits:
#  - a sweep of fp32, q8_0 and Wanda 50% plus two cells that must fail (a
#    block pattern that does not divide the matrices, and every recipe of a
#    model that does not exist): the failures are recorded with their
#    errors and the others finish; results.jsonl / results.csv rows (CSV
#    parsed by Python's csv module), the MLflow store read back by the
#    independent reader tests/ref/read_mlruns.py, report.html, summary.md,
#    the cache entries;
#  - --resume skips the finished cells (their records unchanged) and reruns
#    the failed ones; a sweep killed after its first cell resumes without
#    redoing it; a changed setting reruns a cell; a cached model is reused
#    and measures the same;
#  - --only, --set and the named overrides;
#  - bad input refused before any work with one line: an unwritable output
#    folder, malformed YAML (line:column), an unknown recipe kind, a
#    pattern matching no recipe.
# Under ASan (BUILD_DIR containing "asan") only a two-cell sweep and the
# bad-input checks run.
# Closing line: "test_sweep: N passed, N failed".
set -uo pipefail
build=${1:-build}
ob=$(cd "$build" && pwd)/optibench
root=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optibench-sweep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
export OB_ROOT=$root
cd "$root" || exit 1
asan=0
case $build in *asan*) asan=1 ;; esac

if ! "$ob" sweep --help >/dev/null 2>&1 || [ ! -f "$HOME/.cache/optibench/stories15M/model.bin" ]; then
    echo "stories15M is not pulled (optibench pull stories15M)"; echo "test_sweep: 0 passed, 1 failed"; exit 1
fi

# the rows of results.jsonl as "recipe status" lines, sorted
rows() { $py -c 'import json,sys
for l in open(sys.argv[1]):
    if l.strip(): r=json.loads(l); print(r["model"].split("/")[-1], r["recipe"], r["status"])' "$1" | sort; }

cat >"$tmp/small.yaml" <<EOF
experiment: sweep-test
output: $tmp/sw
models: [stories15M, $tmp/no-such-model.bin]
threads: 2
calibration: {nsamples: 4, seqlen: 32}
tasks:
  ppl: {limit: 2}
  kld: {limit: 2}
  storycloze: {limit: 8}
bench: {prompt_len: 16, gen_len: 8, reps: 1, warmup: 0}
report: {max_ppl_increase: 50}
recipes:
  - {name: fp32, kind: baseline}
  - {name: q8_0, kind: rtn, format: q8_0}
  - {name: wanda, kind: prune, method: wanda, sparsity: 0.5}
  - {name: blocky, kind: prune, method: magnitude, pattern: "block:7x7", sparsity: 0.5}
EOF

if [ $asan = 1 ]; then
    cat >"$tmp/asan.yaml" <<EOF
output: $tmp/asan
models: [stories15M]
tasks: {ppl: {limit: 1}, kld: {limit: 1}, storycloze: {limit: 2}}
bench: {prompt_len: 8, gen_len: 2, reps: 1, warmup: 0}
recipes: [{name: fp32, kind: baseline}, {name: q8_0, kind: rtn}]
EOF
    if "$ob" sweep "$tmp/asan.yaml" --bw-mb 0 >"$tmp/out.txt" 2>"$tmp/err.txt"; then ok; else bad "asan sweep: $(tail -3 "$tmp/err.txt")"; fi
    [ "$(rows "$tmp/asan/results.jsonl" | tr '\n' ';')" = "stories15M fp32 ok;stories15M q8_0 ok;" ] && ok ||
        bad "asan rows: $(rows "$tmp/asan/results.jsonl")"
    grep -q "ERROR: AddressSanitizer\|runtime error" "$tmp/err.txt" && bad "sanitizer report" || ok
else
    # --- the first run
    t0=$SECONDS
    if "$ob" sweep "$tmp/small.yaml" --bw-mb 0 >"$tmp/out1.txt" 2>"$tmp/err1.txt"; then ok; else bad "sweep: $(tail -3 "$tmp/err1.txt")"; fi
    echo "first run: $((SECONDS - t0)) s"
    want="no-such-model.bin blocky failed;no-such-model.bin fp32 failed;no-such-model.bin q8_0 failed;no-such-model.bin wanda failed;stories15M blocky failed;stories15M fp32 ok;stories15M q8_0 ok;stories15M wanda ok;"
    got=$(rows "$tmp/sw/results.jsonl" | tr '\n' ';')
    [ "$got" = "$want" ] && ok || bad "rows: $got"
    $py - "$tmp/sw/results.jsonl" "$tmp/sw/results.csv" <<'PY' && ok || bad "records and CSV"
import csv, json, sys
cells = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {(c["model"].split("/")[-1], c["recipe"]): c for c in cells}
base, q8, wanda = by[("stories15M", "fp32")], by[("stories15M", "q8_0")], by[("stories15M", "wanda")]
for c in (base, q8, wanda):
    m = c["metrics"]
    for k in ("ppl", "kld", "acc", "decode_tps", "prefill_tps", "ttft_ms", "model_size_bytes", "peak_rss_bytes"):
        assert k in m and m[k] == m[k], (c["recipe"], k, m)
    assert len(c["cell_id"]) == 64 and len(c["run_id"]) == 32, c
assert base["metrics"]["kld"] == 0 and q8["metrics"]["kld"] > 0 and wanda["metrics"]["kld"] > q8["metrics"]["kld"]
assert abs(wanda["metrics"]["sparsity"] - 0.5) < 0.01, wanda["metrics"]
assert q8["metrics"]["model_size_bytes"] < base["metrics"]["model_size_bytes"]
assert q8["params"] == {"kind": "rtn", "format": "q8_0", "embeddings": False, "output": False}, q8["params"]
assert q8["cached"] is False and len(q8["cache"]) == 64
blocky = by[("stories15M", "blocky")]
assert "block" in blocky["error"] and "7" in blocky["error"], blocky["error"]
missing = by[("no-such-model.bin", "q8_0")]
assert "no-such-model.bin" in missing["error"], missing["error"]
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == len(cells) == 8
hdr = list(rows[0].keys())
assert hdr[:4] == ["model", "recipe", "status", "ppl"] and hdr[-1] == "error", hdr
r = [x for x in rows if x["recipe"] == "q8_0" and x["model"] == "stories15M"][0]
assert float(r["ppl"]) == q8["metrics"]["ppl"] and r["params.format"] == "q8_0"
print("ok  records: metrics, ids, sparsity, sizes, errors named; CSV of 8 rows")
PY
    $py "$root/tests/ref/read_mlruns.py" "$tmp/sw/mlruns" >"$tmp/ml.json" 2>"$tmp/ml.err" && ok || bad "read_mlruns: $(cat "$tmp/ml.err" "$tmp/ml.json" | head -5)"
    $py - "$tmp/ml.json" <<'PY' && ok || bad "MLflow runs"
import json, sys
s = json.load(open(sys.argv[1]))
runs = s["sweep-test"]["runs"]
# two models: runs are named "model / recipe"
names = {n.split("/")[-2].strip() + "/" + n.split("/")[-1].strip() for n in runs}
assert names == {m + "/" + r for m in ("stories15M", "no-such-model.bin") for r in ("fp32", "q8_0", "wanda", "blocky")}, names
blocky = runs["stories15M / blocky"]
assert blocky["status"] == "FAILED" and "block" in blocky["tags"]["error"], blocky
assert all(r["status"] == "FAILED" for n, r in runs.items() if "no-such-model" in n)
w = [r for r in runs.values() if r["status"] == "FINISHED"]
assert all("ppl" in r["metrics"] and r["params"]["kind"] for r in w), w
print("ok  MLflow store: experiment sweep-test, finished and failed runs with params, metrics, errors")
PY
    n_runs=$(find "$tmp/sw/mlruns" -mindepth 2 -maxdepth 2 -type d -name '????????????????????????????????' | wc -l)
    [ "$n_runs" = 8 ] && ok || bad "$n_runs MLflow run folders, not 8"
    grep -q 'id="recommendation"' "$tmp/sw/report.html" && grep -q 'wanda' "$tmp/sw/report.html" && ok || bad "report.html"
    grep -q "^| stories15M | fp32 | ok |" "$tmp/out1.txt" && grep -q "Recommendation" "$tmp/sw/summary.md" && ok || bad "summary table: $(head -5 "$tmp/out1.txt")"
    [ "$(ls "$tmp/sw/cache" | wc -l)" = 2 ] && ls "$tmp"/sw/cache/*/recipe.json >/dev/null && ok || bad "cache: $(ls "$tmp/sw/cache")"
    grep -q "model $tmp/no-such-model.bin: .*(its cells fail)" "$tmp/err1.txt" && ok || bad "no note for the missing model"

    # --- --resume: finished cells skipped with their records, failed ones rerun
    cp "$tmp/sw/results.jsonl" "$tmp/results1.jsonl"
    "$ob" sweep "$tmp/small.yaml" --resume --bw-mb 0 >"$tmp/out2.txt" 2>"$tmp/err2.txt" && ok || bad "resume: $(tail -3 "$tmp/err2.txt")"
    [ "$(grep -c 'skipped (--resume)' "$tmp/err2.txt")" = 3 ] && ok || bad "resume skipped $(grep -c 'skipped (--resume)' "$tmp/err2.txt") cells"
    grep -q "sweep: 8 cells (5 run, 3 skipped, 5 failed)" "$tmp/out2.txt" && ok || bad "resume summary: $(tail -1 "$tmp/out2.txt")"
    $py - "$tmp/results1.jsonl" "$tmp/sw/results.jsonl" <<'PY' && ok || bad "finished records changed on resume"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
b = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
ok_a = {c["cell_id"]: c for c in a if c["status"] == "ok"}
ok_b = {c["cell_id"]: c for c in b if c["status"] == "ok"}
assert ok_a == ok_b and len(ok_a) == 3, (len(ok_a), len(ok_b))
failed_b = {c["cell_id"]: c["run_id"] for c in b if c["status"] == "failed"}
failed_a = {c["cell_id"]: c["run_id"] for c in a if c["status"] == "failed"}
assert failed_a.keys() == failed_b.keys() and all(failed_a[k] != failed_b[k] for k in failed_a), "failed cells rerun"
print("ok  resume: 3 finished records identical, 5 failed cells rerun")
PY

    # --- a cached model is reused and measures the same; without --resume the results start anew
    "$ob" sweep "$tmp/small.yaml" --only 'q8*' --bw-mb 0 >"$tmp/out3.txt" 2>"$tmp/err3.txt" && ok || bad "--only: $(tail -3 "$tmp/err3.txt")"
    [ "$(rows "$tmp/sw/results.jsonl" | tr '\n' ';')" = "no-such-model.bin q8_0 failed;stories15M q8_0 ok;" ] && ok ||
        bad "--only rows: $(rows "$tmp/sw/results.jsonl")"
    grep -q "q8_0: ok (cached model)" "$tmp/err3.txt" && ok || bad "cached model not reused: $(grep q8_0 "$tmp/err3.txt")"
    $py - "$tmp/results1.jsonl" "$tmp/sw/results.jsonl" <<'PY' && ok || bad "cached model measures differently"
import json, sys
get = lambda f: [json.loads(l) for l in open(f) if l.strip() and '"q8_0"' in l and '"stories15M"' in l][0]
a, b = get(sys.argv[1]), get(sys.argv[2])
assert b["cached"] is True and a["cell_id"] == b["cell_id"]
for k in ("ppl", "kld", "acc", "model_size_bytes"):
    assert abs(a["metrics"][k] - b["metrics"][k]) <= 1e-9 * abs(a["metrics"][k]), (k, a["metrics"][k], b["metrics"][k])
print("ok  cached q8_0: same cell id, same ppl, kld, accuracy and size")
PY

    # --- a changed setting makes a new cell id, so --resume reruns it
    "$ob" sweep "$tmp/small.yaml" --resume --only fp32 --set tasks.storycloze.limit=4 --reps 1 --bw-mb 0 \
        >"$tmp/out4.txt" 2>"$tmp/err4.txt" && ok || bad "--set: $(tail -3 "$tmp/err4.txt")"
    grep -q "skipped" "$tmp/err4.txt" && bad "a changed setting was skipped" || ok
    $py - "$tmp/sw/results.jsonl" <<'PY' && ok || bad "the rerun replaced the old record"
import json, sys
c = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
f = [x for x in c if x["recipe"] == "fp32" and x["model"] == "stories15M"]
assert len(f) == 1 and f[0]["status"] == "ok", f
print("ok  --set storycloze.limit: fp32 rerun, one record")
PY

    # --- a sweep killed after its first cell resumes without redoing it
    rm -rf "$tmp/sw"
    "$ob" sweep "$tmp/small.yaml" --bw-mb 0 >"$tmp/out5.txt" 2>"$tmp/err5.txt" &
    pid=$!
    for _ in $(seq 1 600); do
        [ -f "$tmp/sw/results.jsonl" ] && [ "$(wc -l <"$tmp/sw/results.jsonl")" -ge 1 ] && break
        sleep 0.1
    done
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)
    kill "$pid" 2>/dev/null
    for k in $kids; do kill "$k" 2>/dev/null; done
    wait "$pid" 2>/dev/null
    for k in $kids; do while kill -0 "$k" 2>/dev/null; do sleep 0.1; done; done
    n1=$(wc -l <"$tmp/sw/results.jsonl")
    [ "$n1" -ge 1 ] && [ "$n1" -lt 8 ] && ok || bad "killed sweep left $n1 rows"
    $py -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$tmp/sw/results.jsonl" && ok || bad "half-written results.jsonl"
    "$ob" sweep "$tmp/small.yaml" --resume --bw-mb 0 >"$tmp/out6.txt" 2>"$tmp/err6.txt" && ok || bad "resume after kill: $(tail -3 "$tmp/err6.txt")"
    grep -q "\[1/8\] fp32: finished in an earlier run, skipped" "$tmp/err6.txt" && ok || bad "fp32 redone after the kill"
    [ "$(rows "$tmp/sw/results.jsonl" | tr '\n' ';')" = "$want" ] && ok || bad "rows after resume: $(rows "$tmp/sw/results.jsonl")"
    ls "$tmp/sw/cache" | grep -q '^\.' && bad "a temporary cache folder was left: $(ls -a "$tmp/sw/cache")" || ok

    # --- optibench search: bisection over Wanda's sparsity, each probe a recorded cell
    "$ob" search "$tmp/small.yaml" --recipe wanda --key sparsity --range 0.2:0.8 --tol 0.2 --metric acc --min 0.5 \
        --only 'nothing' --set 'models=[x]' >/dev/null 2>&1 && bad "search took sweep-only options" || ok
    sed 's/models: \[stories15M, .*\]/models: [stories15M]/' "$tmp/small.yaml" >"$tmp/one.yaml"
    "$ob" search "$tmp/one.yaml" --recipe wanda --key sparsity --range 0.2:0.8 --tol 0.2 --metric acc --min 0.5 \
        --output "$tmp/search" --bw-mb 0 >"$tmp/s1.txt" 2>"$tmp/serr1.txt" && ok || bad "search: $(tail -3 "$tmp/serr1.txt")"
    $py - "$tmp/search/search.json" "$tmp/search/results.jsonl" <<'PY' && ok || bad "search.json"
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s) == 1, s
r = s[0]
assert r["recipe"] == "wanda" and r["key"] == "sparsity" and r["metric"] == "acc" and r["limit"] == 0.5, r
p = r["probes"]
assert [x["value"] for x in p[:2]] == ["0.2", "0.8"] and 3 <= len(p) <= 5, p
ok = [float(x["value"]) for x in p if x["pass"]]
no = [float(x["value"]) for x in p if not x["pass"]]
assert all(x["pass"] == (x["metric"] >= 0.5) for x in p), p
if r["found"]:
    assert float(r["best"]) == max(ok) and (not no or max(ok) < min(no)), (ok, no)
    assert not no or min(no) - max(ok) <= 0.2 + 1e-9 or len(p) == 12
cells = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
names = sorted(c["recipe"] for c in cells)
assert names == sorted("wanda@sparsity=" + x["value"] for x in p), names
print("ok  search: %d probes %s, answer %s" % (len(p), [x["value"] for x in p], r["best"]))
PY
    grep -q '^| stories15M | wanda | sparsity |' "$tmp/s1.txt" && ok || bad "search table: $(cat "$tmp/s1.txt")"
    "$ob" search "$tmp/one.yaml" --recipe wanda --key sparsity --range 0.2:0.8 --tol 0.2 --metric acc --min 0.5 \
        --output "$tmp/search" --bw-mb 0 --resume >"$tmp/s2.txt" 2>"$tmp/serr2.txt" && ok || bad "search --resume"
    grep -q "search: \([0-9]*\) probes (0 run, \1 skipped" "$tmp/s2.txt" && ok || bad "search --resume reran probes: $(tail -1 "$tmp/s2.txt")"
    cmp -s <($py -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["best"])' "$tmp/search/search.json") \
        <(grep -o '\*\*[^*]*\*\*' "$tmp/s1.txt" | tr -d '*') && ok || bad "resumed search gave another answer"
fi

# --- bad input: one line, before any work
touch "$tmp/afile"
expect_error "unwritable output" "afile" "$ob" sweep "$tmp/small.yaml" --output "$tmp/afile/out"
grep -q '^\[' "$tmp/err" && bad "work started before the output check" || ok
printf 'models: [stories15M]\nrecipes:\n  - {name: a, kind: baseline\n' >"$tmp/broken.yaml"
expect_error "malformed YAML" "broken.yaml:4:1: did not find expected" "$ob" sweep "$tmp/broken.yaml"
printf 'models: [stories15M]\ntasks: [ppl]\nrecipes:\n  - {name: a, kind: sparsify}\n' >"$tmp/kind.yaml"
expect_error "unknown recipe kind" "kind.yaml:4:21: unknown recipe kind 'sparsify'" "$ob" sweep "$tmp/kind.yaml"
printf 'models: [stories15M]\ntasks: [ppl]\nrecipe:\n  - {kind: baseline}\n' >"$tmp/key.yaml"
expect_error "unknown key" "key.yaml:3:1: unknown key 'recipe'" "$ob" sweep "$tmp/key.yaml"
expect_error "--only matches nothing" "--only zz\\* matches no recipe" "$ob" sweep "$tmp/small.yaml" --only 'zz*'
expect_error "bad --set" "--set bench.reps: bench.reps must be an integer" "$ob" sweep "$tmp/small.yaml" --set bench.reps=many
expect_error "missing config" "nope.yaml" "$ob" sweep "$tmp/nope.yaml"
expect_error "two configs" "one configuration file" "$ob" sweep a.yaml b.yaml
expect_error "search: key of another kind" "recipe 'q8_0': sparsity: not a key for a rtn recipe" \
    "$ob" search "$tmp/small.yaml" --recipe q8_0 --key sparsity --range 0.1:0.9 --metric acc --min 0.5
expect_error "search: bound the wrong way" "ppl is lower-is-better: bound it with --max" \
    "$ob" search "$tmp/small.yaml" --recipe wanda --key sparsity --range 0.1:0.9 --metric ppl --min 5
expect_error "search: value out of range" "sparsity must be a number in" \
    "$ob" search "$tmp/small.yaml" --recipe wanda --key sparsity --range 0.1:1.5 --metric acc --min 0.5

echo "test_sweep: $pass passed, $fail failed"
[ $fail -eq 0 ]

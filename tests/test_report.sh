#!/usr/bin/env bash
# test_report.sh BUILD_DIR - tracking and the report end to end:
#  - the MLflow store written by test_mlstore --keep, read back by an
#    independent Python reader of MLflow's documented FileStore layout
#    (tests/ref/read_mlruns.py), which must also reject broken stores;
#  - results.csv from `optibench report --csv` parsed back by Python's csv
#    module against the JSONL records (commas, quotes, newlines);
#  - the HTML report rendered by headless Chromium (Debian's chromium) and
#    its DOM checked by tests/ref/check_report.py: charts, frontier, table,
#    machine, recommendation under each kind of bound, sorting, no network;
#  - bad input: one stderr line naming the file (and line), non-zero exit.
set -uo pipefail
build=${1:-build}
ob="$build/optibench"
root=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"

# --- the MLflow store, read back independently
if "$build/tests/test_mlstore" --keep "$tmp/mlruns" >"$tmp/ml.log" 2>&1; then ok; else bad "test_mlstore --keep"; cat "$tmp/ml.log"; fi
if $py "$root/tests/ref/read_mlruns.py" "$tmp/mlruns" >"$tmp/summary.json" 2>"$tmp/reader.err"; then
    ok
    $py - "$tmp/summary.json" <<'PY' && ok || bad "store contents"
import json, sys
s = json.load(open(sys.argv[1]))
assert set(s) == {"Default", "optibench sweep", "it's: a \"quoted\" name"}, set(s)
assert s["optibench sweep"]["id"] == "1" and s["it's: a \"quoted\" name"]["id"] == "2"
runs = s["optibench sweep"]["runs"]
assert set(runs) == {"q4_0", "oom recipe"}, set(runs)
q4 = runs["q4_0"]
assert q4["status"] == "FINISHED", q4["status"]
assert q4["params"] == {"method": "rtn", "bits": "4", "alpha": "0.5", "sym": "True", "group size": "128"}, q4["params"]
assert q4["history"]["decode_tps"] == [[40.0, 0], [41.0, 1], [42.0, 2]], q4["history"]
assert q4["metrics"] == {"decode_tps": 42.0, "ppl": 5.4321, "acc/race": 0.61}, q4["metrics"]
assert q4["tags"]["mlflow.runName"] == "q4_0" and q4["tags"]["optibench.machine"] == "test box"
assert q4["tags"]["mlflow.source.type"] == "LOCAL"
assert q4["artifacts"] == ["artifact-src.txt", "sub/dir/copy.txt"], q4["artifacts"]
assert runs["oom recipe"]["status"] == "FAILED"
assert runs["oom recipe"]["tags"]["error"] == "out of memory: line 1\nline 2"
r2 = s["it's: a \"quoted\" name"]["runs"]
assert r2["gptq-4b"]["status"] == "FINISHED" and r2["broken"]["status"] == "FAILED"
assert r2["gptq-4b"]["params"]["model"] == "stories15M" and r2["gptq-4b"]["metrics"]["model_size_bytes"] == 12345678
assert r2["broken"]["tags"]["error"] == "kernel crashed"
killed = [r for n, r in r2.items() if n == r["run_id"]]
assert len(killed) == 1 and killed[0]["status"] == "KILLED", r2.keys()
print("ok  store contents: 3 experiments, 5 runs, params/metrics/tags/artifacts as logged")
PY
else
    bad "read_mlruns.py rejected the store"; cat "$tmp/summary.json" "$tmp/reader.err"
fi
# the reader must notice broken stores (else it proves nothing)
run1=$(ls -d "$tmp"/mlruns/1/*/ | head -n1)
cp -r "$tmp/mlruns" "$tmp/broken1" && r=$(ls -d "$tmp"/broken1/1/*/ | head -n1) &&
    sed -i 's/^status: .*/status: FINISHED/' "$r/meta.yaml"
$py "$root/tests/ref/read_mlruns.py" "$tmp/broken1" >"$tmp/out" 2>&1 && bad "reader accepted a string status" || { grep -q "status" "$tmp/out" && ok || bad "reader: $(cat "$tmp/out")"; }
cp -r "$tmp/mlruns" "$tmp/broken2" && r=$(ls -d "$tmp"/broken2/1/*/ | head -n1) && rm "$r/tags/mlflow.runName"
$py "$root/tests/ref/read_mlruns.py" "$tmp/broken2" >"$tmp/out" 2>&1 && bad "reader accepted a run without mlflow.runName" || ok
cp -r "$tmp/mlruns" "$tmp/broken3" && r=$(ls -d "$tmp"/broken3/1/*/ | head -n1) && echo "12 x 0" >>"$r/metrics/ppl"
$py "$root/tests/ref/read_mlruns.py" "$tmp/broken3" >"$tmp/out" 2>&1 && bad "reader accepted a bad metric line" || ok
[ -n "$run1" ] || bad "no run folder"

# --- results: JSONL in, CSV out, parsed back by Python
cat >"$tmp/results.jsonl" <<'JSONL'
{"model":"stories15M","recipe":"baseline","params":{"method":"none","bits":32},"metrics":{"ppl":5.0,"kld":0,"acc":0.62,"decode_tps":40.0,"prefill_tps":400,"ttft_ms":20.5,"model_size_bytes":60000000,"peak_rss_bytes":90000000},"status":"ok"}
{"model":"stories15M","recipe":"q8_0","params":{"method":"rtn","bits":8},"metrics":{"ppl":5.01,"kld":0.001,"acc":0.62,"decode_tps":70.0,"prefill_tps":500,"ttft_ms":15,"model_size_bytes":16000000,"peak_rss_bytes":45000000},"status":"ok"}

{"model":"stories15M","recipe":"q4_0","params":{"method":"rtn","bits":4},"metrics":{"ppl":5.30,"kld":0.03,"acc":0.58,"decode_tps":95.0,"prefill_tps":450,"ttft_ms":14,"model_size_bytes":9000000,"peak_rss_bytes":38000000},"status":"ok"}
{"model":"stories15M","recipe":"gptq, \"4b\"","params":{"method":"gptq","bits":4,"group":128},"metrics":{"ppl":5.10,"kld":0.01,"acc":0.61,"decode_tps":90.0,"prefill_tps":440,"ttft_ms":14.5,"model_size_bytes":9500000,"peak_rss_bytes":39000000},"status":"ok"}
{"model":"stories15M","recipe":"<b>awq</b> & 'x'","params":{"method":"awq","bits":4},"metrics":{},"status":"failed","error":"out of memory,\nwhile \"calibrating\"\r\n<script>alert(1)</script>"}
JSONL
cat >"$tmp/machine.json" <<'JSON'
{"cpu": "Test CPU <9000> & co", "features": "avx2 fma", "cores": 16, "memory_bytes": 68719476736, "bandwidth_gbs": 21.5}
JSON
if "$ob" report --results "$tmp/results.jsonl" --machine "$tmp/machine.json" --csv "$tmp/results.csv" \
        -o "$tmp/report.html" --max-ppl-increase 3 >"$tmp/out" 2>&1; then ok; else bad "report: $(cat "$tmp/out")"; fi
$py - "$tmp/results.jsonl" "$tmp/results.csv" <<'PY' && ok || bad "CSV round trip"
import csv, json, sys
cells = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
raw = open(sys.argv[2], newline="").read()
assert raw.endswith("\r\n") and "\r\n" in raw.split("\n")[0] + "\n", "not CRLF line ends"
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == len(cells), (len(rows), len(cells))
hdr = list(rows[0].keys())
assert hdr[:3] == ["model", "recipe", "status"] and hdr[-1] == "error", hdr
assert hdr[3:11] == ["ppl", "kld", "acc", "decode_tps", "prefill_tps", "ttft_ms", "model_size_bytes", "peak_rss_bytes"], hdr
for c, r in zip(cells, rows):
    assert r["recipe"] == c["recipe"] and r["status"] == c["status"] and r["error"] == c.get("error", ""), (r, c)
    for k, v in c["metrics"].items():
        assert float(r[k]) == float(v), (k, r[k], v)
    for k, v in c["params"].items():
        assert r["params." + k] == str(v), (k, r["params." + k], v)
    missing = [k for k in ("ppl", "acc") if k not in c["metrics"]]
    assert all(r[k] == "" for k in missing)
print("ok  CSV round trip: %d rows, %d columns, quotes/commas/CRLF/newlines intact" % (len(rows), len(hdr)))
PY

# --- the HTML report: static checks, then Chromium's DOM
check() { $py "$root/tests/ref/check_report.py" "$@" >"$tmp/check.out" 2>&1; }
if check "$tmp/report.html" "$tmp/results.jsonl" --recommend 'gptq, "4b"' --front 3 --machine-text "Test CPU <9000> & co"; then ok; else bad "static report: $(cat "$tmp/check.out")"; fi
grep -q "<script>alert" "$tmp/report.html" && bad "unescaped text in the report" || ok
grep -q "21.5 GB/s" "$tmp/report.html" && grep -q "64.0 GiB" "$tmp/report.html" && ok || bad "machine bandwidth/memory not shown"
chrome=$(command -v chromium || command -v chromium-browser || true)
dom() { # dom HTML URL_SUFFIX OUT
    timeout 90 "$chrome" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/chrome" \
        --dump-dom "file://$1$2" >"$3" 2>"$tmp/chrome.err"
}
if [ -z "$chrome" ]; then
    echo "SKIP: chromium is not installed (scripts/setup.sh installs it); rendered-DOM checks not run"
else
    if dom "$tmp/report.html" "" "$tmp/dom.html" && [ -s "$tmp/dom.html" ]; then ok; else bad "chromium failed: $(tail -3 "$tmp/chrome.err")"; fi
    if check "$tmp/dom.html" "$tmp/results.jsonl" --recommend 'gptq, "4b"' --front 3 --machine-text "Test CPU <9000> & co"; then
        ok; sed 's/^/    /' "$tmp/check.out"
    else bad "rendered report: $(cat "$tmp/check.out")"; fi
    # the sorting script ran: descending decode speed, then ascending, failed (empty) rows last
    dom "$tmp/report.html" "#sort=-decode_tps" "$tmp/dom2.html"
    check "$tmp/dom2.html" "$tmp/results.jsonl" --first-recipe q4_0 && ok || bad "sort by -decode_tps: $(cat "$tmp/check.out")"
    grep -q 'aria-sort="descending"' "$tmp/dom2.html" && ok || bad "no aria-sort after sorting"
    dom "$tmp/report.html" "#sort=ppl" "$tmp/dom3.html"
    check "$tmp/dom3.html" "$tmp/results.jsonl" --first-recipe baseline && ok || bad "sort by ppl: $(cat "$tmp/check.out")"
    tail_recipe=$(grep -o 'data-recipe="[^"]*"' "$tmp/dom3.html" | tail -n1)
    grep -q "awq" <<<"$tail_recipe" && ok || bad "the failed row (no ppl) is not last: $tail_recipe"
fi

# --- the recommendation under each kind of bound
rec() { # rec EXPECT ARGS...: EXPECT is a recipe, or "none"
    local want=$1; shift
    if ! "$ob" report --results "$tmp/results.jsonl" --machine "$tmp/machine.json" -o "$tmp/r.html" "$@" >"$tmp/out" 2>&1; then
        bad "report $*: $(cat "$tmp/out")"; return
    fi
    if [ "$want" = none ]; then check "$tmp/r.html" "$tmp/results.jsonl" --no-recommend
    else check "$tmp/r.html" "$tmp/results.jsonl" --recommend "$want"; fi && { ok; echo "ok  $* -> $want"; } ||
        bad "recommendation with $*: $(tail -1 "$tmp/check.out")"
}
rec q4_0
rec 'gptq, "4b"' --min-accuracy 0.6
rec q8_0 --min-accuracy 0.62
rec q8_0 --max-ppl-increase 1
rec q4_0 --max-memory 38.5M
rec 'gptq, "4b"' --max-memory 40MB --min-accuracy 0.6
rec q8_0 --max-ppl-increase 1 --baseline q8_0 --min-accuracy 0.5
rec none --min-accuracy 0.7
rec none --max-memory 1MiB
grep -q "No recipe satisfies peak memory &lt;= 1.00 MiB" "$tmp/r.html" && ok || bad "no-solution message"

# --- two models: a chart pair per model, labels carry the model
$py - "$tmp/results.jsonl" "$tmp/two.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
for l in open(sys.argv[1]):
    if not l.strip(): continue
    c = json.loads(l)
    for m, f in (("small", 1.0), ("large", 0.5)):
        d = dict(c, model=m, metrics={k: v * f for k, v in c["metrics"].items()})
        out.write(json.dumps(d) + "\n")
PY
"$ob" report --results "$tmp/two.jsonl" --bw-mb 0 -o "$tmp/two.html" >/dev/null 2>&1 &&
    check "$tmp/two.html" "$tmp/two.jsonl" && grep -q "small / q4_0" "$tmp/two.html" && ok || bad "two models: $(cat "$tmp/check.out")"
# no --machine: this machine is described (bandwidth measured)
"$ob" report --results "$tmp/results.jsonl" --bw-mb 32 -o "$tmp/host.html" >/dev/null 2>&1 &&
    grep -q 'data-key="bandwidth_gbs"' "$tmp/host.html" && grep -q 'data-key="cores"' "$tmp/host.html" && ok || bad "host machine section"

: >"$tmp/empty.jsonl"
"$ob" report --results "$tmp/empty.jsonl" --bw-mb 0 -o "$tmp/empty.html" >/dev/null 2>&1 &&
    grep -q "hold no runs" "$tmp/empty.html" && ok || bad "empty results"

# --- bad input
printf '{"recipe":"a","metrics":{}}\n{"recipe": "b", "metrics": {"ppl": 1,}}\n' >"$tmp/bad.jsonl"
expect_error "malformed results line" "bad.jsonl:2: column" "$ob" report --results "$tmp/bad.jsonl" -o "$tmp/x.html" --bw-mb 0
printf '{"recipe":"a"}\n[1]\n' >"$tmp/notobj.jsonl"
expect_error "results line not an object" "notobj.jsonl:2: not a JSON object" "$ob" report --results "$tmp/notobj.jsonl" -o "$tmp/x.html" --bw-mb 0
expect_error "missing results" "nope.jsonl" "$ob" report --results "$tmp/nope.jsonl" -o "$tmp/x.html" --bw-mb 0
expect_error "unwritable -o" "/proc.*not writable" "$ob" report --results "$tmp/results.jsonl" -o /proc/report.html --bw-mb 0
expect_error "-o under a file" "results.jsonl" "$ob" report --results "$tmp/results.jsonl" -o "$tmp/results.jsonl/r.html" --bw-mb 0
expect_error "unwritable --csv" "/proc" "$ob" report --results "$tmp/results.jsonl" -o "$tmp/x.html" --csv /proc/r.csv --bw-mb 0
expect_error "unknown baseline" "no recipe named 'f32'" "$ob" report --results "$tmp/results.jsonl" -o "$tmp/x.html" --baseline f32 --bw-mb 0
expect_error "bad --max-memory" "max-memory" "$ob" report --results "$tmp/results.jsonl" -o "$tmp/x.html" --max-memory 2XB
expect_error "bad --min-accuracy" "min-accuracy" "$ob" report --results "$tmp/results.jsonl" -o "$tmp/x.html" --min-accuracy high
echo '{"cpu": ' >"$tmp/badmachine.json"
expect_error "malformed machine.json" "badmachine.json: line" "$ob" report --results "$tmp/results.jsonl" -o "$tmp/x.html" --machine "$tmp/badmachine.json"
[ -e "$tmp/x.html" ] && bad "a failed report left x.html" || ok
ls -a "$tmp" | grep -q '\.tmp\.' && bad "temporary files left: $(ls -a "$tmp" | grep '\.tmp\.')" || ok

echo "test_report: $pass passed, $fail failed"
[ $fail -eq 0 ]

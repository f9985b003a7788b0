#!/usr/bin/env bash
# test_eval_tasks.sh BUILD_DIR - `optibench eval` on the question-answering
# tasks, end to end on stories15M.
#
#  - race, pubmedqa, squad2, gsm8k (5-shot) and mc run on small files in the
#    original schemas (tests/data/eval/); results.json holds lm-eval's keys
#    with values in range, n-samples and n-shot, and --log-samples writes one
#    line per item (squad2 generations stop at a newline; gsm8k prompts hold
#    5 exemplars);
#  - the embedded story-cloze set (data/storycloze.jsonl, 165 items): fp32
#    stories15M scores well above chance (acc > 0.25 + 4 standard errors);
#  - scores do not depend on --batch: batch 1 and 8 give the same acc and
#    acc_norm and per-choice log-likelihoods within 1e-5 relative (SIMD
#    kernels; the largest difference is printed), and bitwise the same
#    samples with the scalar kernels (OPTIBENCH_SIMD=scalar) and with
#    --deterministic (SIMD kernels, one token per product);
#  - few-shot prompts depend on --seed and only on it;
#  - bad input: a malformed JSONL line (file and line named), a missing
#    field, an empty data set, --limit 0, an unknown task, a task without
#    --data, one plain --data for two tasks, gsm8k few-shot without its
#    train file, --max-gen-toks beyond the window: non-zero exit and one
#    line; a context longer than the window is truncated with a count.
# Closing line: "test_eval_tasks: N passed, N failed".
set -u
BUILD_DIR=${1:-build}
BIN=$(cd "$BUILD_DIR" 2>/dev/null && pwd)/optibench
PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${OB_ROOT:-$(cd "$HERE/.." && pwd)}
D=$HERE/data/eval
passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() {
    echo "test_eval_tasks: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
M=${XDG_CACHE_HOME:-$HOME/.cache}/optibench/stories15M/model.bin
if [ ! -x "$BIN" ]; then bad "no binary at $BIN"; finish; fi
if [ ! -f "$M" ]; then bad "stories15M not in the cache ($M): run \`optibench pull stories15M\`"; finish; fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/optibench-tasks.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
export OB_ROOT=$ROOT

# check NAME PYTHON-EXPR: r is results.json of run NAME, s its samples list
check() {
    local name=$1 task=$2 expr=$3 what=$4
    if "$PY" - "$name" "$task" <<EOF; then ok "$task: $what"; else bad "$task: $what"; fi
import json, sys
name, task = sys.argv[1], sys.argv[2]
r = json.load(open(name + "/results.json"))
try:
    s = [json.loads(l) for l in open(name + "/samples_" + task + ".jsonl")]
except FileNotFoundError:
    s = []
res = r["results"].get(task, {})
sys.exit(0 if ($expr) else 1)
EOF
}

# ------------------------------------------------------- original schemas
if "$BIN" eval -m "$M" --task race,pubmedqa,squad2,gsm8k,mc --data race=$D/race/test/high \
    --data pubmedqa=$D/pubmedqa/ori_pqal.json --data squad2=$D/squad/dev-v2.0.json --data gsm8k=$D/gsm8k \
    --data mc=$D/mc.jsonl -o all --log-samples >all.out 2>all.err; then
    ok "five tasks in one run"
else
    bad "five tasks in one run: $(tail -n1 all.err)"
fi
for t in race pubmedqa mc; do
    check all $t 'all(0 <= res[k] <= 1 for k in ("acc,none", "acc_norm,none")) and "acc_stderr,none" in res
        and r["n-samples"][task]["effective"] == len(s) > 0 and r["n-shot"][task] == 0
        and all(len(x["loglik"]) == len(x["choices"]) and x["acc"] in (0, 1) for x in s)' \
        "acc/acc_norm with stderr, one sample line per item"
done
check all squad2 'all(k + ",none" in res for k in ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact",
        "NoAns_f1", "best_exact", "best_f1")) and len(s) == 3 and all("\n" not in x["generation"]
        and 0 <= x["no_answer_probability"] <= 1 for x in s) and 0 <= res["f1,none"] <= 100' \
    "official keys, generations stop at newline, no-answer probabilities"
check all gsm8k '"exact_match,strict-match" in res and "exact_match,flexible-extract" in res and len(s) == 2
        and all(x["prompt"].count("Question:") == 6 for x in s) and r["n-shot"][task] == 5
        and r["configs"][task]["max_gen_toks"] == 128' \
    "both filters, 5 exemplars per prompt, max_gen_toks fitted to the window"
if grep -q "gsm8k: 2 of 2 items were truncated from the left" all.err; then
    ok "gsm8k: left truncation is reported with a count"
else
    bad "gsm8k: no truncation count on stderr"
fi

# ------------------------------------------------------ story cloze default
if "$BIN" eval -m "$M" --task storycloze -o sc --log-samples --batch 8 >sc.out 2>sc.err; then
    read -r acc se n < <("$PY" -c 'import json; r=json.load(open("sc/results.json"))["results"]["storycloze"];
n=json.load(open("sc/results.json"))["n-samples"]["storycloze"]["effective"]
print(r["acc,none"], r["acc_stderr,none"], n)')
    if "$PY" -c "import sys; sys.exit(0 if $n >= 150 and $acc > 0.25 + 4 * $se else 1)"; then
        ok "storycloze: stories15M acc $acc +- $se on $n items (chance 0.25)"
    else
        bad "storycloze: acc $acc +- $se on $n items is not well above chance"
    fi
else
    bad "storycloze: $(tail -n1 sc.err)"
fi

# ------------------------------------------------------- batch invariance
"$BIN" eval -m "$M" --task storycloze -o sc1 --log-samples --batch 1 >/dev/null 2>sc1.err || bad "batch 1 run"
cmp_samples() { # A B TOL: same metrics, loglik within TOL relative; prints the max difference
    "$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
ra = json.load(open(a + "/results.json"))["results"]["storycloze"]
rb = json.load(open(b + "/results.json"))["results"]["storycloze"]
sa = [json.loads(l) for l in open(a + "/samples_storycloze.jsonl")]
sb = [json.loads(l) for l in open(b + "/samples_storycloze.jsonl")]
d = max(abs(x - y) / max(abs(y), 1e-30) for p, q in zip(sa, sb) for x, y in zip(p["loglik"], q["loglik"]))
same = all(p["loglik"] == q["loglik"] and p["is_greedy"] == q["is_greedy"] for p, q in zip(sa, sb))
metrics = all(ra[k] == rb[k] for k in ("acc,none", "acc_norm,none")) and len(sa) == len(sb)
print("max relative loglik difference %.3g, %s" % (d, "bitwise" if same else "not bitwise"))
sys.exit(0 if metrics and d <= tol and (tol > 0 or same) else 1)
EOF
}
if out=$(cmp_samples sc1 sc 1e-5); then ok "batch 1 == batch 8 (simd): same acc, acc_norm; $out"; else bad "batch 1 vs 8: $out"; fi
for b in 1 8; do
    OPTIBENCH_SIMD=scalar "$BIN" eval -m "$M" --task storycloze --limit 6 -o scal$b --log-samples --batch $b \
        >/dev/null 2>&1 || bad "scalar batch $b run"
done
if out=$(cmp_samples scal1 scal8 0); then ok "batch 1 == batch 8 (scalar kernels): $out"; else bad "scalar batch 1 vs 8: $out"; fi
for b in 1 8; do
    "$BIN" eval -m "$M" --task storycloze --limit 40 --deterministic -o det$b --log-samples --batch $b >/dev/null 2>&1 ||
        bad "--deterministic batch $b run"
done
if out=$(cmp_samples det1 det8 0); then ok "batch 1 == batch 8 (--deterministic, SIMD): $out"; else bad "--deterministic batch 1 vs 8: $out"; fi

# -------------------------------------------------------------- few-shot
fs() { "$BIN" eval -m "$M" --task storycloze --limit 3 --shots 2 --seed "$1" -o "fs$2" --log-samples >/dev/null 2>&1; }
fs 1234 a && fs 1234 b && fs 7 c
if "$PY" - <<'EOF'; then ok "few-shot prompts: same seed same prompts, other seed other prompts"; else bad "few-shot prompts and --seed"; fi
import json, sys
p = {k: [json.loads(l)["prompt"] for l in open("fs%s/samples_storycloze.jsonl" % k)] for k in "abc"}
sys.exit(0 if p["a"] == p["b"] and p["a"] != p["c"] and all(x.count("\n\n") == 2 for x in p["a"]) else 1)
EOF

# ------------------------------------------------------------- bad input
fails() { # what expected-substring command...
    local what=$1 want=$2
    shift 2
    local out rc
    out=$("$@" 2>&1 >/dev/null)
    rc=$?
    local lines
    lines=$(printf '%s\n' "$out" | grep -vc 'requests,' || true)
    if [ $rc -ne 0 ] && [ "$lines" -le 1 ] && grep -qF -- "$want" <<<"$out"; then
        ok "$what: $(printf '%s' "$out" | tail -n1)"
    else
        bad "$what: exit $rc, '$out' (wanted '$want')"
    fi
}
printf '{"context": "a", "choices": ["b", "c"], "gold": 0}\n{"context": "a", "choices": [\n' >broken.jsonl
fails "malformed JSONL line" "broken.jsonl:2" "$BIN" eval -m "$M" --task mc --data broken.jsonl
printf '{"context": "a", "gold": 0}\n' >nochoice.jsonl
fails "missing field" "missing field 'choices'" "$BIN" eval -m "$M" --task mc --data nochoice.jsonl
: >empty.jsonl
fails "empty data set" "empty.jsonl" "$BIN" eval -m "$M" --task mc --data empty.jsonl
fails "--limit 0" "--limit" "$BIN" eval -m "$M" --task storycloze --limit 0
fails "unknown task" "unknown task 'hellaswag'" "$BIN" eval -m "$M" --task hellaswag
fails "race without --data" "needs --data race=PATH" "$BIN" eval -m "$M" --task race
fails "one --data for two tasks" "--data TASK=PATH" "$BIN" eval -m "$M" --task race,pubmedqa --data x
mkdir -p g && cp "$D/gsm8k/test.jsonl" g/
fails "gsm8k 5-shot without train" "train.jsonl" "$BIN" eval -m "$M" --task gsm8k --data g/test.jsonl \
    --max-gen-toks 64
fails "--max-gen-toks beyond the window" "--max-gen-toks 300" "$BIN" eval -m "$M" --task gsm8k --data $D/gsm8k \
    --max-gen-toks 300
"$PY" -c 'import json; print(json.dumps({"context": "Once upon a time " * 200, "choices": ["yes", "no"], "gold": 0}))' >long.jsonl
if "$BIN" eval -m "$M" --task mc --data long.jsonl >/dev/null 2>long.err &&
    grep -q "mc: 1 of 1 items were truncated from the left to fit the window of 256 tokens" long.err; then
    ok "a context longer than the window is truncated from the left, with a count"
else
    bad "long context: $(tail -n2 long.err)"
fi
finish

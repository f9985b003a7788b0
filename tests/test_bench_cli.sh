#!/usr/bin/env bash
# test_bench_cli.sh BUILD_DIR - `optibench bench` end to end on stories15M:
# every output format, CSV / JSON / JSONL read back by Python's csv and json
# modules with llama-bench's field names present and typed, and bad input
# (one line on stderr, exit 2, before loading or measuring).  No speed is
# asserted.
set -uo pipefail
build=${1:-build}
ob="$build/optibench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
finish() { echo "test_bench_cli: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

M=${XDG_CACHE_HOME:-$HOME/.cache}/optibench/stories15M/model.bin
if [ ! -f "$M" ]; then bad "stories15M not in the cache ($M): run \`optibench pull stories15M\`"; finish; fi

args=(-m stories15M --prompt-len 16,32 --gen-len 8 --batch 1,2 --reps 2 --threads 2 --bw-mb 64)
for fmt in md csv json jsonl; do
    if "$ob" bench "${args[@]}" --output "$fmt" >"$tmp/out.$fmt" 2>"$tmp/err.$fmt"; then ok; else bad "bench --output $fmt: $(cat "$tmp/err.$fmt")"; fi
done

# Markdown: the summary, the bandwidth line bench/bench_models.sh reads, one row per test
md=$tmp/out.md
grep -q "^- decode reads [0-9.]* MB of weights per token" "$md" && ok || bad "md: no 'decode reads' line"
[ "$(grep -c '^|       2 |' "$md")" -eq 4 ] && ok || bad "md: expected 4 rows at 2 threads: $(cat "$md")"
grep -q "| TTFT ms | prefill tok/s | decode tok/s |" "$md" && ok || bad "md: header"
if [ ! -r /sys/class/powercap/intel-rapl:0/energy_uj ]; then
    grep -q "energy (RAPL): n/a" "$md" && ok || bad "md: energy should read n/a here"
fi
cat "$md"

/usr/bin/python3 - "$tmp" <<'PY' && ok || bad "records read back by Python"
import csv, json, sys
d = sys.argv[1]
want = [(16, 1), (16, 2), (32, 1), (32, 2)]
llama = {"build_commit": str, "cpu_info": str, "gpu_info": str, "backends": str, "model_filename": str,
         "model_type": str, "model_size": int, "model_n_params": int, "n_batch": int, "n_ubatch": int,
         "n_threads": int, "type_k": str, "type_v": str, "n_prompt": int, "n_gen": int, "n_depth": int,
         "test_time": str, "avg_ns": int, "stddev_ns": int, "avg_ts": float, "stddev_ts": float,
         "samples_ns": list, "samples_ts": list}
ours = {"test": str, "n_parallel": int, "reps": int, "ttft_ms_median": float, "token_ms_mean": float,
        "token_ms_median": float, "token_ms_p90": float, "token_ms_stddev": float, "prefill_ts_median": float,
        "decode_ts_median": float, "prompt_tokens": int, "gen_tokens": int, "sample_ms": float,
        "cpu_util_pct": float, "peak_rss_bytes": int, "peak_rss_scope": str, "model_disk_bytes": int}
maybe_null = ["energy_j", "avg_power_w", "temp_c", "gpu_count", "gpu_util_pct", "gpu_power_w", "gpu_temp_c",
              "tokenize_ms", "read_bw_gbs"]

def check(recs, where):
    assert len(recs) == 8, (where, len(recs))
    for i, (P, B) in enumerate(want):
        pp, tg = recs[2 * i], recs[2 * i + 1]
        for r in (pp, tg):
            for k, t in {**llama, **ours}.items():
                assert k in r, (where, k)
                assert isinstance(r[k], t) and not isinstance(r[k], bool), (where, k, r[k])
            for k in maybe_null:
                assert k in r and (r[k] is None or isinstance(r[k], (int, float))), (where, k, r.get(k))
            assert r["n_threads"] == 2 and r["n_parallel"] == B and r["reps"] == 2, (where, r)
            assert len(r["samples_ns"]) == 2 and len(r["samples_ts"]) == 2, where
            assert all(x > 0 for x in r["samples_ts"]) and r["avg_ts"] > 0 and r["stddev_ts"] >= 0, where
            assert r["prompt_tokens"] == 2 * B * P and r["gen_tokens"] == 2 * B * 8, (where, r)
            assert r["token_ms_p90"] >= r["token_ms_median"] > 0, where
            assert r["model_size"] > 50e6 and r["model_n_params"] > 15e6, where
        assert (pp["n_prompt"], pp["n_gen"], pp["n_depth"], pp["test"]) == (P, 0, 0, "pp%d" % P), (where, pp)
        assert (tg["n_prompt"], tg["n_gen"], tg["n_depth"], tg["test"]) == (0, 8, P, "tg8"), (where, tg)
        # llama-bench: avg_ts is the mean of samples_ts, tokens / seconds
        for r, n in ((pp, B * P), (tg, B * 8)):
            ts = [n * 1e9 / x for x in r["samples_ns"]]
            assert all(abs(a - b) <= 1e-3 * b for a, b in zip(ts, r["samples_ts"])), (where, ts, r["samples_ts"])
            assert abs(sum(r["samples_ts"]) / 2 - r["avg_ts"]) <= 1e-6 * r["avg_ts"], where

check(json.load(open(d + "/out.json")), "json")
check([json.loads(l) for l in open(d + "/out.jsonl") if l.strip()], "jsonl")

def typed(row):
    out = {}
    for k, v in row.items():
        t = {**llama, **ours}.get(k)
        if t is str:
            out[k] = v
        elif v == "":
            out[k] = None
        elif t is list:
            out[k] = json.loads(v)
        elif t is int or (t is None and v.lstrip("-").isdigit()):
            out[k] = int(v)
        else:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out

with open(d + "/out.csv", newline="") as f:
    rows = list(csv.DictReader(f))
check([typed(r) for r in rows], "csv")
print("csv, json, jsonl: 8 records each, llama-bench fields typed")
PY

# -o writes the file atomically and nothing on stdout; --quant notes go to stderr with JSON
out=$("$ob" bench -m stories15M --prompt-len 8 --gen-len 2 --reps 1 --threads 1 --bw-mb 0 --quant q8_0 --output json -o "$tmp/o.json" 2>"$tmp/err")
[ -z "$out" ] && /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert len(r)==2 and r[0]['read_bw_gbs'] is None" "$tmp/o.json" && ok || bad "-o FILE with --quant: '$out'"
grep -q "^quantized" "$tmp/err" && ok || bad "quant summary on stderr: $(cat "$tmp/err")"
# the converted model runs in the x16 layout where the AVX-512 VNNI kernels run (simd avx512 on a VNNI CPU, in
# a build with the x86 kernels: not NOSIMD=1's build-nosimd): 42 matrices, else none
vnni=0; grep -q avx512_vnni /proc/cpuinfo && [ -f "$build/obj/src/kernels/x86/quant_x16_avx512.o" ] && vnni=1
/usr/bin/python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
for x in r:
    want = 42 if x['simd'] == 'avx512' and sys.argv[2] == '1' else 0
    assert x['model_x16_matrices'] == want, (x['simd'], x['model_x16_matrices'])" "$tmp/o.json" "$vnni" && ok || bad "model_x16_matrices wrong"
"$ob" bench --help | grep -q -- "--batch LIST" && ok || bad "--help"

# bad input: exit 2, one line, and before loading (the model path does not exist)
expect2() {
    local name=$1 pat=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc -ne 2 ]; then bad "$name: exit $rc, want 2: $(cat "$tmp/err")"; return; fi
    if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qE -- "$pat" "$tmp/err"; then bad "$name: '$(cat "$tmp/err")' lacks /$pat/"; return; fi
    echo "ok  $name: $(cat "$tmp/err")"
    ok
}
expect2 "prompt beyond the context" "exceed the model's context of 256" "$ob" bench -m stories15M --prompt-len 16,300 --gen-len 8
expect2 "batch 0" "batch size 0" "$ob" bench -m /nonexistent/model --batch 1,0
expect2 "reps 0" "--reps" "$ob" bench -m /nonexistent/model --reps 0
expect2 "unknown output format" "unknown output format 'xml'" "$ob" bench -m /nonexistent/model --output xml
expect2 "bad prompt length" "--prompt-len" "$ob" bench -m /nonexistent/model --prompt-len 16,x
expect2 "prompt length 0" "prompt length 0" "$ob" bench -m /nonexistent/model --prompt-len 0
expect2 "threads 0" "--threads" "$ob" bench -m /nonexistent/model --threads 0
expect2 "unknown option" "unknown option" "$ob" bench --frobnicate
expect_error "missing model" "nonexistent" "$ob" bench -m /nonexistent/model --prompt-len 4 --gen-len 2
finish

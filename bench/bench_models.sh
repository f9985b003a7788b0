#!/usr/bin/env bash
# bench_models.sh - decode and prefill speed of every weight format on
# stories15M and on a synthetic model with TinyLlama-1.1B's shapes, against
# the read bandwidth `optibench bench` measures right before each run.
#
#   bash bench/bench_models.sh [BUILD_DIR]        (default build/)
#
# Environment: THREADS (2), PROMPT (64), FORMATS (the list below),
# MODELS ("stories15M tinyllama"), SYNTH_DIR (~/.cache/optibench-synth;
# the 1.1B model is made there with `optibench synth` when missing:
# 2.2 GB in F16, 4.4 GB in F32), REPS_SMALL (5), REPS_BIG (3), ROUNDS (1).
# With ROUNDS > 1 every format runs once per round, in turn, and a second
# table gives per format the median [min, max] over the rounds of decode
# tok/s, of the share of read bandwidth, and of decode speed over the first
# format's in the same round (bandwidth here drifts from minute to minute,
# so only ratios taken within a round compare formats fairly).
# Every linear layer and the lm_head are converted (--quant FMT
# --quant-output); the token embedding stays as loaded (one row of it is
# read per token).  The quantized 1.1B variants start from the F16 file
# (RTN of F16 values), F32 from the F32 file.  Prints a markdown table:
# median [min, max] over the repetitions after one warm-up.
set -euo pipefail
B=${1:-build}
OB="$B/optibench"
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-64}
FORMATS=${FORMATS:-"f32 f16 bf16 q8_0 q4_0 q4_1 i8_g128 i4_g128 nf4 mxfp4 w8a8"}
MODELS=${MODELS:-"stories15M tinyllama"}
SYNTH_DIR=${SYNTH_DIR:-$HOME/.cache/optibench-synth}
REPS_SMALL=${REPS_SMALL:-5}
REPS_BIG=${REPS_BIG:-3}
ROUNDS=${ROUNDS:-1}
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
[ -x "$OB" ] || { echo "bench_models: $OB not built (make -j2)" >&2; exit 1; }

synth() { # dtype -> directory (made when missing)
    local d="$SYNTH_DIR/tinyllama-1.1b-$1"
    if [ ! -f "$d/model.safetensors" ]; then
        mkdir -p "$SYNTH_DIR"
        "$OB" synth --shape tinyllama-1.1b --dtype "$1" -o "$d" >&2
    fi
    echo "$d"
}

echo "## optibench bench, $THREADS threads, prompt $PROMPT tokens"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "- cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| round | model | format | MB/token | prefill tok/s | decode tok/s | decode GB/s | read BW GB/s | % of read BW |"
echo "|--:|---|---|--:|--:|--:|--:|--:|--:|"
for round in $(seq 1 "$ROUNDS"); do
for model in $MODELS; do
    for fmt in $FORMATS; do
        if [ "$model" = stories15M ]; then
            path=stories15M reps=$REPS_SMALL gen=128
            q=()
            [ "$fmt" = f32 ] || q=(--quant "$fmt" --quant-output)
        else
            reps=$REPS_BIG gen=16
            if [ "$fmt" = f32 ]; then path=$(synth f32) q=()
            elif [ "$fmt" = f16 ]; then path=$(synth f16) q=()
            else path=$(synth f16) q=(--quant "$fmt" --quant-output)
            fi
        fi
        out=$("$OB" bench -m "$path" --threads "$THREADS" --prompt-len "$PROMPT" --gen-len "$gen" \
              --reps "$reps" "${q[@]}" 2>&1) || { echo "| $round | $model | $fmt | failed: $(echo "$out" | tail -1) |"; continue; }
        mb=$(echo "$out" | sed -n 's/^- decode reads \([0-9.]*\) MB.*/\1/p')
        # bench's Markdown row: | threads | n_prompt | n_gen | n_parallel | warm-up+reps | TTFT ms |
        # prefill tok/s | decode tok/s | 4 x token ms | tokenize ms | sample ms | CPU % | energy J |
        # power W | decode GB/s | read BW GB/s | % of read BW |
        echo "$out" | awk -v k="$round" -v m="$model" -v f="$fmt" -v mb="$mb" -F'|' '
            /^\| *[0-9]+ \|/ {
                for (i = 2; i <= 21; i++) gsub(/^ +| +$/, "", $i)
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s%% |\n", k, m, f, mb, $8, $9, $19, $20, $21
            }' | tee -a "$rows"
    done
done
done
if [ "$ROUNDS" -gt 1 ]; then
    first=${FORMATS%% *}
    echo
    echo "Over $ROUNDS rounds: median [min, max]; \"vs $first\" is decode tok/s over $first's in the same round."
    echo
    echo "| model | format | decode tok/s | % of read BW | vs $first |"
    echo "|---|---|--:|--:|--:|"
    # a row: | round | model | format | MB | prefill | decode "med [min, max]" | GB/s | BW | share% |
    awk -F'|' -v first="$first" '
        function med(list,   n, a, i, j, t) {
            n = split(list, a, " ")
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return sprintf("%.2f [%.2f, %.2f]", n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2, a[1], a[n])
        }
        {
            for (i = 2; i <= 10; i++) gsub(/^ +| +$/, "", $i)
            if ($7 == "") next
            split($7, d, " "); key = $3 SUBSEP $4
            if (!(key in seen)) { seen[key] = 1; order[++n] = key }
            tps[key] = tps[key] " " d[1]; sh = $10; sub(/%/, "", sh); share[key] = share[key] " " sh
            dec[$2 SUBSEP key] = d[1]
        }
        END {
            for (i = 1; i <= n; i++) {
                split(order[i], mf, SUBSEP); ratios = ""
                for (k in dec) {
                    split(k, p, SUBSEP)
                    if (p[2] SUBSEP p[3] != order[i]) continue
                    base = dec[p[1] SUBSEP p[2] SUBSEP first]
                    if (base > 0) ratios = ratios " " dec[k] / base
                }
                printf "| %s | %s | %s | %s | %s |\n", mf[1], mf[2], med(tps[order[i]]), med(share[order[i]]),
                       ratios == "" ? "n/a" : med(ratios)
            }
        }' "$rows"
fi
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# bench_prune.sh - does pruning pay?  Decode and prefill speed and peak
# memory of pruned models against the dense model at the same value type,
# on a synthetic model with TinyLlama-1.1B's shapes (22 layers, dim 2048,
# 32 heads / 4 kv heads, FFN 5632).
#
#   bash bench/bench_prune.sh [BUILD_DIR]        (default build/)
#
# Variants, in f32 and in int8 (dense int8 = Q8_0; pruned int8 = Q8_0 chunks
# in sparse storage; the lm_head is Q8_0 in every int8 variant; every
# variant is a saved model, so peak memory is what loading it costs):
#   dense            the model as made
#   unstructured-50  magnitude, 50% unstructured   (bitmask storage, SP_*)
#   2:4              magnitude, 2:4                (2:4 storage, S24_*)
#   structured-30    30% of every layer's linear weights removed, as whole
#                    units: 2 of the 8 query heads of each kv group, and FFN
#                    neurons for the rest (smaller matrices, --pattern
#                    ffn+heads; src/compress/structured.h counts them)
# The weights are random (optibench synth), so the speed is what is measured
# here, not the accuracy (docs/pruning.md has that, on stories15M).
# Environment: VARIANTS (all four, dense first), THREADS (2), PROMPT (64), GEN (32), REPS (3), SYNTH_DIR
# (~/.cache/optibench-synth), WORK (~/.cache/optibench-prune-bench: the
# pruned models, about 9 GB; kept between runs).
# Prints a Markdown table: median [min, max] over REPS after one warm-up;
# speed-up against dense at the same value type (each round runs every variant
# once, and the ratio is taken within the round); peak resident memory of a
# 32-token greedy generation (/usr/bin/time).
set -euo pipefail
B=${1:-build}
OB="$B/optibench"
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-64}
GEN=${GEN:-32}
REPS=${REPS:-3}
SYNTH_DIR=${SYNTH_DIR:-$HOME/.cache/optibench-synth}
WORK=${WORK:-$HOME/.cache/optibench-prune-bench}
[ -x "$OB" ] || { echo "bench_prune: $OB not built (make -j2)" >&2; exit 1; }
DENSE="$SYNTH_DIR/tinyllama-1.1b-f32"
if [ ! -f "$DENSE/model.safetensors" ]; then
    mkdir -p "$SYNTH_DIR"
    "$OB" synth --shape tinyllama-1.1b --dtype f32 -o "$DENSE" >&2
fi
mkdir -p "$WORK"

model_for() { # variant values -> model folder (made once, then reused)
    local v=$1 vals=$2 dir="$WORK/$1-$2" args
    case $v in
    dense) [ "$vals" = f32 ] && { echo "$DENSE"; return; } ;;
    unstructured-50) args=(--method magnitude --sparsity 0.5 --pattern unstructured --values "$vals") ;;
    2:4) args=(--method magnitude --pattern 2:4 --values "$vals") ;;
    structured-30) args=(--method magnitude --sparsity 0.3 --pattern ffn+heads --values "$vals") ;;
    esac
    if [ ! -f "$dir/config.json" ]; then
        if [ "$v" = dense ]; then # Q8_0 everywhere, lm_head included
            "$OB" quantize -m "$DENSE" --method rtn --format q8_0 --quant-output --container -o "$dir" >"$dir.log" 2>&1 ||
                { tail -n3 "$dir.log" >&2; return 1; }
        else
            "$OB" prune -m "$DENSE" "${args[@]}" -o "$dir.p" >"$dir.log" 2>&1 || { tail -n3 "$dir.log" >&2; return 1; }
            if [ "$vals" = int8 ]; then # the lm_head in Q8_0 too, as in dense int8
                "$OB" quantize -m "$dir.p" --method rtn --format q8_0 --tensor-type 'blk.*=keep' --quant-output \
                    --container -o "$dir" >>"$dir.log" 2>&1 || { tail -n3 "$dir.log" >&2; return 1; }
                cp "$dir.p/prune.json" "$dir/" && rm -rf "$dir.p"
            else
                mv "$dir.p" "$dir"
            fi
        fi
    fi
    echo "$dir"
}

echo "## Pruning on the TinyLlama-1.1B-shaped model, $THREADS threads, prompt $PROMPT, $GEN tokens decoded"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "- cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| values | variant | storage | weights MB/token | prefill tok/s | decode tok/s | decode vs dense (per-round ratio) | peak RSS MB |"
echo "|---|---|---|--:|--:|--:|--:|--:|"
VARIANTS=${VARIANTS:-dense unstructured-50 2:4 structured-30}
declare -A path
for vals in f32 int8; do
    for v in $VARIANTS; do
        path[$vals/$v]=$(model_for "$v" "$vals") || path[$vals/$v]=""
    done
done
# rounds: every variant once per round, dense first, so that the machine's
# drifting memory bandwidth hits all of them alike; ratios are per round
declare -A dec pre mbt
for ((round = 1; round <= REPS; round++)); do
    for vals in f32 int8; do
        for v in $VARIANTS; do
            p=${path[$vals/$v]}
            [ -n "$p" ] || continue
            out=$("$OB" bench -m "$p" --threads "$THREADS" --prompt-len "$PROMPT" --gen-len "$GEN" --reps 1 2>&1) || { echo "bench failed: $vals $v: $(echo "$out" | tail -1)" >&2; continue; }
            mbt[$vals/$v]=$(echo "$out" | sed -n 's/^-\{0,1\} *decode reads \([0-9.]*\) MB.*/\1/p')
            # columns: threads n_prompt n_gen n_parallel warm-up TTFT prefill decode ...
            row=$(echo "$out" | awk -F'|' '/^\| *[0-9]+ \|/ { print $8 "|" $9 }' | tail -1)
            pre[$vals/$v]+="$(echo "${row%%|*}" | awk '{print $1}') "
            dec[$vals/$v]+="$(echo "${row#*|}" | awk '{print $1}') "
        done
    done
done
# median [min, max] of a list of numbers
summ() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk -v d="${2:-1}" '{a[NR] = $1} END {f = "%." d "f"; if (NR) printf f " [" f ", " f "]", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR]}'; }
ratios() { paste -d' ' <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) | awk '{print $1 / $2}' | tr '\n' ' '; }
storage() { [ -f "$1/prune.json" ] && /usr/bin/python3 -c 'import json,sys; t=json.load(open(sys.argv[1])).get("tensors",[]); print(t[0].get("format","shrunk") if t else "-")' "$1/prune.json" 2>/dev/null || echo dense; }
for vals in f32 int8; do
    for v in $VARIANTS; do
        p=${path[$vals/$v]}
        [ -n "$p" ] || { echo "| $vals | $v | prune failed | | | | | |"; continue; }
        r=$(summ "$(ratios "${dec[$vals/$v]}" "${dec[$vals/dense]}")" 2)
        rss=$( { /usr/bin/time -v "$OB" generate -m "$p" -t "$THREADS" -p "Once upon a time" -n 32 \
                 --quiet-stats >/dev/null; } 2>&1 | awk '/Maximum resident/ {printf "%.0f", $6 / 1024}')
        st=$(storage "$p")
        [ "$v" = structured-30 ] && st="dense, smaller"
        [ "$v" = dense ] && st=$([ "$vals" = int8 ] && echo Q8_0 || echo F32)
        echo "| $vals | $v | $st | ${mbt[$vals/$v]} | $(summ "${pre[$vals/$v]}") | $(summ "${dec[$vals/$v]}") | ${r/ \[/x [} | $rss |"
    done
done
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

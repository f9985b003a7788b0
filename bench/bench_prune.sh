#!/usr/bin/env bash
# bench_prune.sh - does pruning pay?  Decode and prefill speed and peak
# memory of pruned models against the dense model at the same value type,
# on a synthetic model with TinyLlama-1.1B's shapes (22 layers, dim 2048,
# 32 heads / 4 kv heads, FFN 5632).
#
#   bash bench/bench_prune.sh [BUILD_DIR]        (default build/)
#
# Variants, in f32 and in int8 (dense int8 = Q8_0; pruned int8 = Q8_0 chunks
# in sparse storage; the lm_head is Q8_0 in every int8 variant):
#   dense            the model as made
#   unstructured-50  magnitude, 50% unstructured   (bitmask storage, SP_*)
#   2:4              magnitude, 2:4                (2:4 storage, S24_*)
#   structured-30    30% of FFN neurons and of the query heads of every
#                    kv group removed (smaller matrices, --pattern ffn+heads)
# The weights are random (optibench synth), so the speed is what is measured
# here, not the accuracy (docs/pruning.md has that, on stories15M).
# Environment: THREADS (2), PROMPT (64), GEN (32), REPS (3), SYNTH_DIR
# (~/.cache/optibench-synth), WORK (~/.cache/optibench-prune-bench: the
# pruned models, about 9 GB; kept between runs).
# Prints a Markdown table: median [min, max] over REPS after one warm-up;
# speed-up against dense at the same value type; peak resident memory of a
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

model_for() { # variant values -> model folder (pruned once, then reused)
    local v=$1 vals=$2 dir="$WORK/$1-$2" args
    case $v in
    dense) echo "$DENSE"; return ;;
    unstructured-50) args=(--method magnitude --sparsity 0.5 --pattern unstructured --values "$vals") ;;
    2:4) args=(--method magnitude --pattern 2:4 --values "$vals") ;;
    structured-30) args=(--method magnitude --sparsity 0.3 --pattern ffn+heads) ;;
    esac
    if [ ! -f "$dir/prune.json" ]; then
        "$OB" prune -m "$DENSE" "${args[@]}" -o "$dir" >"$dir.log" 2>&1 || { tail -n3 "$dir.log" >&2; return 1; }
    fi
    echo "$dir"
}
quant_for() { # variant values -> bench options
    [ "$2" = int8 ] || return 0
    case $1 in
    dense | structured-30) echo "--quant q8_0 --quant-output" ;;
    *) echo "--quant q8_0 --quant-output --tensor-type blk.*=keep" ;;
    esac
}

echo "## Pruning on the TinyLlama-1.1B-shaped model, $THREADS threads, prompt $PROMPT, $GEN tokens decoded"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "- cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| values | variant | weights MB/token | prefill tok/s | decode tok/s | decode vs dense | peak RSS MB |"
echo "|---|---|--:|--:|--:|--:|--:|"
for vals in f32 int8; do
    base=""
    for v in dense unstructured-50 2:4 structured-30; do
        path=$(model_for "$v" "$vals") || { echo "| $vals | $v | prune failed | | | | |"; continue; }
        read -r -a q <<<"$(quant_for "$v" "$vals")"
        out=$("$OB" bench -m "$path" --threads "$THREADS" --prompt-len "$PROMPT" --gen-len "$GEN" --reps "$REPS" \
              "${q[@]}" 2>&1) || { echo "| $vals | $v | bench failed: $(echo "$out" | tail -1) |"; continue; }
        mb=$(echo "$out" | sed -n 's/^decode reads \([0-9.]*\) MB.*/\1/p')
        row=$(echo "$out" | awk -F'|' '/^\| *[0-9]+ \|/ { for (i = 2; i <= 7; i++) gsub(/^ +| +$/, "", $i); print $4 "|" $5 }' | tail -1)
        pre=${row%%|*} dec=${row#*|}
        med=$(echo "$dec" | awk '{print $1}')
        [ -n "$base" ] || base=$med
        rss=$( { /usr/bin/time -v "$OB" generate -m "$path" "${q[@]}" -t "$THREADS" -p "Once upon a time" -n 32 \
                 --quiet-stats >/dev/null; } 2>&1 | awk '/Maximum resident/ {printf "%.0f", $6 / 1024}')
        echo "| $vals | $v | $mb | $pre | $dec | $(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2fx", a / b}') | $rss |"
    done
done
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

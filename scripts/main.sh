#!/usr/bin/env bash
# main.sh - README command one: from a fresh machine, install what is missing,
# build, fetch the embedded default model (stories15M) and run the main job:
# describe the model, generate a greedy story from a fixed prompt, then the
# default sweep (configs/default.yaml): stories15M compressed with every
# recipe family - precisions, round-to-nearest formats, GPTQ, AWQ, dynamic
# int8, magnitude / Wanda / SparseGPT pruning at 50% and 2:4, structured
# pruning, pruning with 8-bit values - each benchmarked and evaluated
# (perplexity and KL divergence against fp32, story-cloze accuracy), with
# the recommended recipe.  The sweep writes out/sweep/ (results.jsonl,
# results.csv, mlruns/, report.html, summary.md); everything printed is also
# saved to out/main.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
make -j2 >/dev/null
mkdir -p out
{
    ./build/optibench pull stories15M
    echo
    echo "## Model"
    ./build/optibench info -m stories15M
    echo
    echo "## A greedy story"
    ./build/optibench generate -m stories15M -p "Once upon a time, there was a little robot" -n 100
    echo
    echo "## Which compression recipe? (optibench sweep configs/default.yaml)"
    ./build/optibench sweep configs/default.yaml
} 2>&1 | tee out/main.md
echo
echo "saved to out/main.md; the report is out/sweep/report.html"

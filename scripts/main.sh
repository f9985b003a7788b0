#!/usr/bin/env bash
# main.sh - README command one: from a fresh machine, install what is missing,
# build, fetch the embedded default model (stories15M) and run the main job:
# describe the model, generate a greedy story from a fixed prompt, and
# measure prefill and decode speed.  Everything printed is also saved to
# out/main.md.
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
    ./build/optibench generate -m stories15M -p "Once upon a time, there was a little robot" -n 200
    echo
    echo "## Speed"
    ./build/optibench bench -m stories15M --prompt-len 128 --gen-len 128 --reps 5 --threads 1,2
} 2>&1 | tee out/main.md
echo
echo "saved to out/main.md"

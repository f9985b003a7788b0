#!/usr/bin/env bash
# test_llamacpp.sh BUILD_DIR - llama.cpp itself loads optibench's GGUF export
# of stories15M (f32, f16, q8_0, q4_0, q4_1) and its greedy continuation of
# a prompt equals `optibench generate`'s (both quantize the activations of
# the quantized formats their own way, so for those the test asks for the
# first 12 words to agree and reports the whole texts; at 4 bits greedy
# stories15M texts part after 15-20 words, at a near tie).  llama.cpp comes from npm's node-llama-cpp, whose
# @node-llama-cpp/linux-x64 package ships prebuilt shared libraries
# (libllama, libggml-cpu-* per x86 level) and a Node addon, no command-line
# tools; tests/llamacpp/gen.mjs drives it.  The package has ~100 JS
# dependencies, so it is installed with `npm install` (not npm-fetch.sh,
# which unpacks one tarball) into .cache/npm/node-llama-cpp, once.
# Skips (exit 0, "0 passed, 0 failed") when node/npm or the package cannot
# be had, or on another platform.
set -uo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
ob="$build/optibench"
spec=node-llama-cpp@3.22.1
dest=$root/.cache/npm/node-llama-cpp
skip() { echo "SKIP test_llamacpp: $*"; echo "test_llamacpp: 0 passed, 0 failed"; exit 0; }

case $build in *asan*) skip "llama.cpp's side does not change with the build; it runs on the release build only" ;; esac
[ "$(uname -sm)" = "Linux x86_64" ] || skip "prebuilt llama.cpp is used on Linux x86-64 only"
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are needed"
if [ "$(cat "$dest/.done" 2>/dev/null)" != "$spec" ]; then
    rm -rf "$dest" && mkdir -p "$dest"
    if ! (cd "$dest" && timeout 600 npm install --silent --no-audit --no-fund --ignore-scripts --omit=optional \
        "$spec" "@node-llama-cpp/linux-x64@${spec#*@}" >"$dest/install.log" 2>&1); then
        skip "cannot install $spec: $(tail -n1 "$dest/install.log")"
    fi
    echo "$spec" >"$dest/.done"
fi
cp "$root/tests/llamacpp/gen.mjs" "$dest/gen.mjs"

pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompt="Once upon a time"
for dt in f32 f16 q8_0 q4_0 q4_1; do
    if ! "$ob" convert stories15M --to gguf --dtype "$dt" -o "$tmp/s-$dt.gguf" >/dev/null; then
        fail=$((fail + 1)); echo "FAIL: convert --dtype $dt"; continue
    fi
    want=$("$ob" generate -m "$tmp/s-$dt.gguf" -p "$prompt" -n 40 --quiet-stats 2>&1)
    got=$(cd "$dest" && timeout 300 node gen.mjs "$tmp/s-$dt.gguf" "$prompt" 40 2>"$tmp/err")
    rc=$?
    [ $rc -eq 0 ] || { fail=$((fail + 1)); echo "FAIL: llama.cpp on the $dt export (exit $rc): $(tail -n3 "$tmp/err")"; continue; }
    if [ "$got" = "$want" ] && [ ${#got} -ge 100 ]; then
        pass=$((pass + 1)); echo "ok  $dt: llama.cpp and optibench agree on 40 greedy tokens: $got"
    elif [ "${dt#q}" != "$dt" ] && [ ${#got} -ge 100 ] && [ "$(cut -d" " -f1-12 <<<"$got")" = "$(cut -d" " -f1-12 <<<"$want")" ]; then
        pass=$((pass + 1)); echo "ok  $dt: llama.cpp loads it; the first 12 words agree, then llama.cpp: '$got' / optibench: '$want'"
    else
        fail=$((fail + 1)); echo "FAIL: $dt: llama.cpp: '$got'"; echo "      optibench: '$want'"
    fi
done
echo "test_llamacpp: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/usr/bin/env bash
# test_cli.sh BUILD_DIR - the command line end to end on stories15M and on
# bad input: every failure is one line on stderr naming the file and the
# problem, a non-zero exit, and never a crash (exit >= 128 or a sanitizer
# report).
set -uo pipefail
build=${1:-build}
ob="$build/optibench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"

# --- good paths on stories15M
out=$("$ob" generate -m stories15M -p "Once upon a time" -n 40 --quiet-stats 2>&1)
if grep -q "^Once upon a time, there was" <<<"$out"; then ok; else bad "greedy story: $out"; fi
out2=$("$ob" generate -m stories15M -p "Once upon a time" -n 40 --quiet-stats 2>&1)
[ "$out" = "$out2" ] && ok || bad "greedy generation differs between runs"
s1=$("$ob" generate -m stories15M -p "Once upon a time" -n 30 --temp 0.9 --top-p 0.9 --seed 5 --quiet-stats 2>&1)
s2=$("$ob" generate -m stories15M -p "Once upon a time" -n 30 --temp 0.9 --top-p 0.9 --seed 5 --quiet-stats 2>&1)
[ "$s1" = "$s2" ] && ok || bad "seeded sampling differs between runs"
"$ob" info -m stories15M | grep -q "dim=288 layers=6 heads=6" && ok || bad "info"
"$ob" convert -m stories15M -o "$tmp/hf" >/dev/null && ok || bad "convert"
out3=$("$ob" generate -m "$tmp/hf" -p "Once upon a time" -n 40 --quiet-stats 2>&1)
[ "$out" = "$out3" ] && ok || bad "converted model generates differently: $out3"
"$ob" convert -m stories15M -o "$tmp/hf16" --dtype f16 >/dev/null && "$ob" generate -m "$tmp/hf16" -n 5 --quiet-stats >/dev/null && ok || bad "f16 convert"
"$ob" convert stories15M --to gguf -o "$tmp/s.gguf" >/dev/null && ok || bad "convert --to gguf"
out4=$("$ob" generate -m "$tmp/s.gguf" -p "Once upon a time" -n 40 --quiet-stats 2>&1)
[ "$out" = "$out4" ] && ok || bad "GGUF export generates differently: $out4"
"$ob" convert -m "$tmp/s.gguf" -o "$tmp/s16.gguf" --dtype f16 >/dev/null && "$ob" info -m "$tmp/s16.gguf" | grep -q "from gguf.*weights=F16" && ok || bad "GGUF to f16 GGUF"
"$ob" convert -m "$tmp/s.gguf" -o "$tmp/hf-from-gguf" >/dev/null && out5=$("$ob" generate -m "$tmp/hf-from-gguf" -p "Once upon a time" -n 40 --quiet-stats 2>&1) && [ "$out" = "$out5" ] && ok || bad "GGUF to Hugging Face"
"$ob" bench -m stories15M --prompt-len 16 --gen-len 8 --reps 2 --threads 1,2 --bw-mb 64 | grep -q "^|       2 |" && ok || bad "bench"

# --- bad input
expect_error "missing model" "nope.bin" "$ob" info -m "$tmp/nope.bin"
head -c 1000 ~/.cache/optibench/stories15M/model.bin >"$tmp/trunc.bin" 2>/dev/null || \
    head -c 1000 "${XDG_CACHE_HOME:-$HOME/.cache}/optibench/stories15M/model.bin" >"$tmp/trunc.bin"
expect_error "truncated checkpoint" "trunc.bin: truncated" "$ob" info -m "$tmp/trunc.bin"
mkdir -p "$tmp/badjson" && echo '{"model_type": "llama",' >"$tmp/badjson/config.json"
expect_error "malformed config.json" "config.json: line" "$ob" info -m "$tmp/badjson"
mkdir -p "$tmp/arch" && echo '{"model_type": "mamba"}' >"$tmp/arch/config.json"
expect_error "unknown architecture" "unknown architecture.*mamba" "$ob" info -m "$tmp/arch"
cp -r "$tmp/hf" "$tmp/hfcut" && head -c 5000000 "$tmp/hf/model.safetensors" >"$tmp/hfcut/model.safetensors"
expect_error "truncated safetensors" "model.safetensors: tensor .* past the end" "$ob" info -m "$tmp/hfcut"
cp -r "$tmp/hf" "$tmp/hfhdr" && printf '\xff\xff\xff\xff\xff\x00\x00\x00' | dd of="$tmp/hfhdr/model.safetensors" conv=notrunc 2>/dev/null
expect_error "header length past the end" "header length .* past the end" "$ob" info -m "$tmp/hfhdr"
cp -r "$tmp/hf" "$tmp/hftok" && echo '{"model": ' >"$tmp/hftok/tokenizer.json"
expect_error "malformed tokenizer.json" "tokenizer.json" "$ob" info -m "$tmp/hftok"
head -c 5000000 "$tmp/s.gguf" >"$tmp/cut.gguf"
expect_error "truncated GGUF" "cut.gguf: tensor '.*': data .* past the end of the file" "$ob" info -m "$tmp/cut.gguf"
printf 'GGUF\x03\x00\x00\x00' >"$tmp/hdr.gguf"
expect_error "truncated GGUF header" "hdr.gguf: truncated GGUF header" "$ob" generate -m "$tmp/hdr.gguf" -n 1
cp "$tmp/s.gguf" "$tmp/arch.gguf" && printf 'llamb' | dd of="$tmp/arch.gguf" bs=1 seek="$(grep -abo 'llama' "$tmp/arch.gguf" | head -n1 | cut -d: -f1)" conv=notrunc 2>/dev/null
expect_error "GGUF architecture" "arch.gguf: key 'general.architecture': architecture 'llamb' is not supported" "$ob" info -m "$tmp/arch.gguf"
expect_error "convert to an unknown format" "--to must be" "$ob" convert stories15M --to onnx -o "$tmp/x"
long=$(printf 'word %.0s' $(seq 1 400))
expect_error "prompt longer than the context" "does not fit the context" "$ob" generate -m stories15M -p "$long" -n 5
expect_error "unknown option" "unknown option" "$ob" generate --frobnicate
expect_error "bad number" "must be" "$ob" generate -n many
expect_error "bad token id" "outside the vocabulary" "$ob" logits -m stories15M --tokens 1,99999 -o "$tmp/l.bin"
expect_error "unwritable output" "cannot" "$ob" logits -m stories15M --tokens 1,2 -o /nonexistent/dir/l.bin
"$ob" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "unknown command exit code"

echo "test_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]

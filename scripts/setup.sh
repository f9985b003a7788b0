#!/usr/bin/env bash
# setup.sh - installs the Debian packages optibench needs, if missing.
# Idempotent: prints nothing to install when everything is there.
set -euo pipefail
pkgs=(gcc make pkg-config clang libclang-rt-14-dev
      libjansson-dev libpcre2-dev libutf8proc-dev libopenblas-dev liblapacke-dev
      libyaml-dev libcurl4-openssl-dev libssl-dev python3-numpy
      libopenmpi-dev openmpi-bin)  # Open MPI: the optional MPI build (make MPI=1), tests/test_mpi.sh
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere than Debian; only the commands matter
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# headless Chromium renders the HTML report in tests/test_report.sh
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

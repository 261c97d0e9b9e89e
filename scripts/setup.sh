#!/usr/bin/env bash
# Installs what braid needs on Debian 12 (run as root; only missing packages are installed),
# then configures and builds braid in ./build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ meson ninja-build pkg-config cmake python3 libeigen3-dev libdnnl-dev doctest-dev
          nlohmann-json3-dev libcli11-dev libbenchmark-dev libpcre2-dev libicu-dev libsentencepiece-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -f build/build.ninja ]; then
  meson setup --reconfigure build >/dev/null
else
  meson setup build
fi
ninja -C build

# The notebooks' pinned Python environment (.venv; the `notebooks` test suite executes them in it).
bash scripts/setup_venv.sh

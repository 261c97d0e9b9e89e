#!/usr/bin/env bash
# Creates .venv in the repo root with the notebooks' pinned packages (notebooks/requirements.txt),
# for notebooks/*.ipynb and the `notebooks` test suite. On Debian 12 (run as root) installs
# python3-venv when `python3 -m venv` cannot create an environment. Safe to run again: does
# nothing while .venv/requirements.sha256 holds the sha256 of the current requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

req=notebooks/requirements.txt
stamp=.venv/requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup_venv: .venv is up to date with $req"
  exit 0
fi

# A venv without pip (created while ensurepip was missing) is made again.
if [ -d .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
fi
if [ ! -d .venv ]; then
  if ! python3 -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    echo "setup_venv: python3 -m venv failed; installing python3-venv"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
    python3 -m venv .venv
  fi
fi

echo "setup_venv: installing $req into .venv"
.venv/bin/python -m pip install --quiet -r "$req"
echo "$want" > "$stamp"
echo "setup_venv: .venv ready ($(.venv/bin/python --version))"

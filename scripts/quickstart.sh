#!/usr/bin/env bash
# The main job on the bundled default: set up and build, then write a seeded random checkpoint
# of the tiny hybrid config, print its layer plan and memory model, and generate with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
braid=./build/models/braid
$braid init --config models/configs/tiny-hybrid.json --out build/tiny-hybrid --seed 1
$braid describe --model build/tiny-hybrid --context 4096
$braid generate --model build/tiny-hybrid --prompt-ids 1,2,3,4,5 --max-new-tokens 64 --seed 1

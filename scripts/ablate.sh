#!/usr/bin/env bash
# scripts/ablate.sh SCALE BUILD_DIR OUT_DIR NAME... — runs ablations/<NAME>/grid.json at SCALE
# (cpu: --backend cpu; gpu: --backend cuda), one grid after another, into OUT_DIR/<NAME>/
# (results.jsonl, log.txt, runs/). A grid whose results are committed
# (ablations/<NAME>/results/<SCALE>.jsonl) continues from them: finished runs are skipped, so
# an interrupted sweep is resumed by running it again and committing OUT_DIR/<NAME>/results.jsonl
# as results/<SCALE>.jsonl.
# Environment: BRAID_COMMIT (the commit recorded in each row; default the build's),
# GRID_TIMEOUT (seconds per grid; a grid cut short keeps its finished rows).
set -uo pipefail
cd "$(dirname "$0")/.."
scale=$1 build=$2 out=$3
shift 3
case $scale in
  cpu) backend=cpu ;;
  gpu) backend=cuda ;;
  *) echo "ablate.sh: SCALE must be cpu or gpu, got '$scale'" >&2; exit 2 ;;
esac
for name in "$@"; do
  dir=$out/$name
  mkdir -p "$dir"
  committed=ablations/$name/results/$scale.jsonl
  if [ -f "$committed" ] && [ ! -f "$dir/results.jsonl" ]; then cp "$committed" "$dir/results.jsonl"; fi
  start=$(date +%s)
  ${GRID_TIMEOUT:+timeout "$GRID_TIMEOUT"} "$build/models/braid" ablate "ablations/$name/grid.json" --scale "$scale" \
    --backend "$backend" --out "$dir" ${BRAID_COMMIT:+--commit "$BRAID_COMMIT"} > "$dir/log.txt" 2>&1
  rc=$?
  echo "$name: rc $rc, $(( $(date +%s) - start )) s, $(wc -l < "$dir/results.jsonl" 2>/dev/null || echo 0) rows"
  tail -n 2 "$dir/log.txt"
done

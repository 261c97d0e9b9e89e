#!/usr/bin/env bash
# Runs the benchmark programs and writes bench/results/<backend>-<device-slug>.json
# (Google Benchmark JSON; bench/README.md describes the fields).
#
#   bash scripts/bench.sh [BACKEND ...] [-- GOOGLE_BENCHMARK_FLAGS ...]
#
# BACKEND is cpu (default), cpu-ref or cuda. The programs are taken from $BENCH_BIN (default
# build/bench; a folder made by bench/bundle.sh works too) and results go to $BENCH_RESULTS
# (default bench/results). CPU runs use $OMP_NUM_THREADS threads (default 2, bound close).
# Example, a quick subset: bash scripts/bench.sh cpu -- --benchmark_filter='mamba|conv'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BENCH_BIN:-$root/build/bench}
results=${BENCH_RESULTS:-$root/bench/results}
config=$root/models/configs/jamba-1b-bench.json
[ -f "$config" ] || config=$bin/jamba-1b-bench.json
backends=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do backends+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ ${#backends[@]} -gt 0 ] || backends=(cpu)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_PROC_BIND=${OMP_PROC_BIND:-close}

slug() { tr '[:upper:]' '[:lower:]' | sed -e 's/([^)]*)//g' -e 's/[^a-z0-9]\+/-/g' -e 's/^-//' -e 's/-$//'; }

mkdir -p "$results"
for be in "${backends[@]}"; do
  case $be in
    cpu|cpu-ref) prog=$bin/braid_bench_cpu
                 device=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1 | slug) ;;
    cuda*)       prog=$bin/braid_bench_cuda
                 command -v nvidia-smi >/dev/null || { echo "scripts/bench.sh: no nvidia-smi, so no GPU to run $be on" >&2; exit 1; }
                 device=$(nvidia-smi --query-gpu=name --format=csv,noheader -i 0 | slug) ;;
    *) echo "scripts/bench.sh: unknown backend $be (expected cpu, cpu-ref or cuda)" >&2; exit 1 ;;
  esac
  [ -x "$prog" ] || { echo "scripts/bench.sh: $prog not built (meson setup -Dbench=enabled, or bench/bundle.sh)" >&2; exit 1; }
  out=$results/$be-$device.json
  tmp=$out.partial
  rc=0
  "$prog" --backend="$be" --model_config="$config" --benchmark_out="$tmp" --benchmark_out_format=json "$@" || rc=$?
  [ $rc -eq 0 ] || { rm -f "$tmp"; echo "scripts/bench.sh: $prog exited $rc; nothing written" >&2; exit $rc; }
  mv "$tmp" "$out"
  echo "wrote $out"
done

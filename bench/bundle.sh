#!/usr/bin/env bash
# Copies the benchmark programs of a meson build, with the shared libraries they need that a
# GPU host may lack (Google Benchmark, oneDNN, libstdc++, ...), into one folder that runs on
# another Linux machine with the CUDA driver:
#
#   bench/bundle.sh BUILD_DIR OUT_DIR
#   LD_LIBRARY_PATH=OUT_DIR:/usr/local/cuda/lib64 OUT_DIR/braid_bench_cuda \
#       --model_config=OUT_DIR/jamba-1b-bench.json --benchmark_out=cuda.json
#
# glibc and the CUDA libraries are left to the host (cuBLAS and the driver must match it);
# everything else `ldd` resolves is copied. BENCH_BIN=OUT_DIR bash scripts/bench.sh cuda runs it too.
set -euo pipefail
build=${1:?build dir}
out=${2:?output dir}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
progs=()
for p in braid_bench_cpu braid_bench_cuda; do
  [ -x "$build/bench/$p" ] && progs+=("$build/bench/$p")
done
[ ${#progs[@]} -gt 0 ] || { echo "bench/bundle.sh: no benchmark program in $build/bench" >&2; exit 1; }
cp "${progs[@]}" "$root/models/configs/jamba-1b-bench.json" "$out/"
ldd "${progs[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
  case $(basename "$lib") in
    libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*|libcuda.so*|libcudart.so*|libcublas*.so*) ;;
    *) cp -L "$lib" "$out/" ;;
  esac
done
ls -l "$out"

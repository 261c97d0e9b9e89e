#!/usr/bin/env bash
# backends/cuda/dev/build_scan_tests.sh — builds the scan-contract test binary by hand, for a
# machine with nvcc but no GPU, before (or beside) the meson build of the CUDA backend.
#
#   backends/cuda/dev/build_scan_tests.sh BUILD_DIR OUT_DIR
#
# BUILD_DIR is a meson build configured with -Dcuda=disabled -Donednn=disabled
# -Dopenmp=disabled (it provides libbraid_core.a and libbraid_cpu.a, and no runtime
# dependency a GPU host may lack). The binaries OUT_DIR/test_cuda_scans and scan_bench link libstdc++ and
# cudart statically, cuBLAS dynamically; run it with LD_LIBRARY_PATH=/usr/local/cuda/lib64.
# Not part of the default build (house style P4: dev tooling lives in backends/cuda/dev).
set -euo pipefail
build=${1:?build dir}
out=${2:?output dir}
root=$(cd "$(dirname "$0")/../../.." && pwd)
nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
obj="$build/scan-tests-obj"
mkdir -p "$obj/cuda" "$out"

ninja -C "$build" core/libbraid_core.a backends/cpu/libbraid_cpu.a >/dev/null

# The whole CUDA backend (CudaBackend's vtable needs every contract), sm_90 + PTX.
cuda_flags=(-std=c++20 --expt-relaxed-constexpr -O3 -I"$root" -Xcompiler=-fPIC
            -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90)
pids=()
for f in "$root"/backends/cuda/*.cu; do
  "$nvcc" "${cuda_flags[@]}" -c "$f" -o "$obj/cuda/$(basename "$f" .cu).o" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done

cxx_flags=(-std=c++20 -O2 -I"$root" -I/usr/local/cuda/include)
g++ "${cxx_flags[@]}" -c "$root/tests/test_main.cpp" -o "$obj/test_main.o"
g++ "${cxx_flags[@]}" -c "$root/tests/cuda/test_cuda_scans.cpp" -o "$obj/test_cuda_scans.o"

g++ -o "$out/test_cuda_scans" "$obj/test_main.o" "$obj/test_cuda_scans.o" "$obj"/cuda/*.o \
  "$build/backends/cpu/libbraid_cpu.a" "$build/core/libbraid_core.a" \
  -L/usr/local/cuda/lib64 -lcudart_static -lcublas -ldl -lrt -lpthread -static-libstdc++ -static-libgcc
g++ "${cxx_flags[@]}" -c "$root/backends/cuda/dev/scan_bench.cpp" -o "$obj/scan_bench.o"
g++ -o "$out/scan_bench" "$obj/scan_bench.o" "$obj"/cuda/*.o \
  "$build/backends/cpu/libbraid_cpu.a" "$build/core/libbraid_core.a" \
  -L/usr/local/cuda/lib64 -lcudart_static -lcublas -ldl -lrt -lpthread -static-libstdc++ -static-libgcc
echo "built $out/test_cuda_scans $out/scan_bench"

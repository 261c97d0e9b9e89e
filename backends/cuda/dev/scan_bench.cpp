// backends/cuda/dev/scan_bench.cpp — first timings of the recurrent contracts on CUDA at the
// shapes of real models (house style P4; not built by default). Correctness is checked by
// tests/cuda/test_cuda_scans.cpp against the CPU reference; this harness only times.
//
// Each case: one warm-up call, then repeats until ≈0.3 s or 20 calls; prints the median time,
// the effective bandwidth of the unavoidable bytes (each input read once, each output and
// state written once; the formulas of docs kernels.md §9.2) and that as a share of 3.0 TB/s.
// Hot cache: one buffer set per case (cases here are larger than the 50 MB L2, except the
// small steps, whose numbers are launch-bound anyway).
//
//   scan_bench            all cases
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "core/rng.h"

using namespace braid;

namespace {

constexpr double kHbmBytesPerSec = 3.0e12;  // measured H100 copy rate (kernels.md §9.1)

// A device tensor filled with a tiled block of random values in [lo, hi) (dtype t).
Tensor filled(Backend& be, const Shape& s, DType t, float lo, float hi, Rng& rng) {
  Tensor x(be, s, t);
  const int64_t n = s.numel(), block = std::min<int64_t>(n, 1 << 20);
  std::vector<float> v(static_cast<size_t>(block));
  for (float& e : v) e = rng.uniform(lo, hi);
  std::vector<char> raw(static_cast<size_t>(block) * dtype_size(t));
  convert_floats(v.data(), DType::f32, raw.data(), t, v.size());
  for (int64_t off = 0; off < n; off += block) {
    const int64_t len = std::min(block, n - off);
    be.upload(static_cast<char*>(x.view().data) + off * dtype_size(t), raw.data(), static_cast<size_t>(len) * dtype_size(t));
  }
  return x;
}

// Median seconds of `call` (which must return ok).
double time_it(Backend& be, const std::function<Status()>& call) {
  throw_if_error(call());
  be.synchronize();
  std::vector<double> ts;
  double total = 0;
  while (ts.size() < 3 || (total < 0.3 && ts.size() < 20)) {
    const auto t0 = std::chrono::steady_clock::now();
    throw_if_error(call());
    be.synchronize();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ts.push_back(dt);
    total += dt;
  }
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

void report(const std::string& what, double sec, double bytes) {
  std::printf("%-58s %10.3f ms  %8.1f GB/s  %5.1f%% of HBM\n", what.c_str(), sec * 1e3, bytes / sec / 1e9,
              100.0 * bytes / sec / kHbmBytesPerSec);
}

void bench_conv(CudaBackend& be, Rng& rng, DType t, int64_t B, int64_t T, int64_t C, int64_t K) {
  const double s = static_cast<double>(dtype_size(t));
  Tensor x = filled(be, {B, T, C}, t, -2, 2, rng), w = filled(be, {C, K}, t, -0.5, 0.5, rng);
  Tensor bias = filled(be, {C}, t, -0.5, 0.5, rng), st = filled(be, {B, K - 1, C}, t, -1, 1, rng);
  Tensor y(be, {B, T, C}, t);
  Conv1dArgs a{x, w, bias, st, {}, y, true};
  const double sec = time_it(be, [&] { return run_conv1d(be, a); });
  report("conv1d " + std::string(dtype_name(t)) + " B" + std::to_string(B) + " T" + std::to_string(T) + " C" +
             std::to_string(C) + " K" + std::to_string(K),
         sec, 2.0 * B * T * C * s);
  Tensor x1 = filled(be, {B, 1, C}, t, -2, 2, rng), y1(be, {B, 1, C}, t);
  Conv1dArgs a1{x1, w, bias, st, {}, y1, true};
  const double sec1 = time_it(be, [&] { return run_conv1d_step(be, a1); });
  report("conv1d_step B" + std::to_string(B), sec1, 2.0 * B * C * s + 2.0 * B * (K - 1) * C * s);
}

void bench_mamba1(CudaBackend& be, Rng& rng, DType t, int64_t B, int64_t T, int64_t Di, int64_t N) {
  const double s = static_cast<double>(dtype_size(t));
  Tensor x = filled(be, {B, T, Di}, t, -2, 2, rng), dt = filled(be, {B, T, Di}, t, -3.5, 0.5, rng);
  Tensor dtb = filled(be, {Di}, t, -0.5, 0.5, rng), A = filled(be, {Di, N}, DType::f32, -16, -1, rng);
  Tensor Bm = filled(be, {B, T, N}, t, -2, 2, rng), Cm = filled(be, {B, T, N}, t, -2, 2, rng);
  Tensor D = filled(be, {Di}, t, 0.5, 1.5, rng), z = filled(be, {B, T, Di}, t, -2, 2, rng);
  Tensor st = filled(be, {B, Di, N}, DType::f32, -1, 1, rng), y(be, {B, T, Di}, t);
  Mamba1ScanArgs a;
  a.x = x;
  a.dt = dt;
  a.dt_bias = dtb;
  a.A = A;
  a.Bm = Bm;
  a.Cm = Cm;
  a.D = D;
  a.z = z;
  a.state = st;
  a.y = y;
  const double sec = time_it(be, [&] { return run_mamba1_scan(be, a); });
  const double bytes = 4.0 * B * T * Di * s + 2.0 * B * T * N * s + 2.0 * B * Di * N * 4;
  report("mamba1_scan " + std::string(dtype_name(t)) + " B" + std::to_string(B) + " T" + std::to_string(T) + " Di" +
             std::to_string(Di) + " N" + std::to_string(N),
         sec, bytes);
  std::printf("%-58s %10.1f G state updates/s (MUFU floor 4120)\n", "", B * T * Di * N / sec / 1e9);
}

void bench_mamba1_step(CudaBackend& be, Rng& rng, int64_t B, int64_t Di, int64_t N) {
  const DType t = DType::bf16;
  Tensor x = filled(be, {B, 1, Di}, t, -2, 2, rng), dt = filled(be, {B, 1, Di}, t, -3.5, 0.5, rng);
  Tensor A = filled(be, {Di, N}, DType::f32, -16, -1, rng);
  Tensor Bm = filled(be, {B, 1, N}, t, -2, 2, rng), Cm = filled(be, {B, 1, N}, t, -2, 2, rng);
  Tensor st = filled(be, {B, Di, N}, DType::f32, -1, 1, rng), y(be, {B, 1, Di}, t);
  Mamba1ScanArgs a;
  a.x = x;
  a.dt = dt;
  a.A = A;
  a.Bm = Bm;
  a.Cm = Cm;
  a.state = st;
  a.y = y;
  const double sec = time_it(be, [&] { return run_mamba1_step(be, a); });
  report("mamba1_step bf16 B" + std::to_string(B) + " Di" + std::to_string(Di) + " N" + std::to_string(N), sec,
         2.0 * B * Di * N * 4 + Di * N * 4.0);
}

void bench_mamba2(CudaBackend& be, Rng& rng, DType t, int64_t B, int64_t T, int64_t H, int64_t P, int64_t G, int64_t N,
                  int64_t Q) {
  const double s = static_cast<double>(dtype_size(t));
  Tensor x = filled(be, {B, T, H, P}, t, -2, 2, rng), dt = filled(be, {B, T, H}, t, -3.5, 0.5, rng);
  Tensor dtb = filled(be, {H}, t, -0.5, 0.5, rng), A = filled(be, {H}, DType::f32, -16, -1, rng);
  Tensor Bm = filled(be, {B, T, G, N}, t, -2, 2, rng), Cm = filled(be, {B, T, G, N}, t, -2, 2, rng);
  Tensor D = filled(be, {H}, t, 0.5, 1.5, rng), z = filled(be, {B, T, H, P}, t, -2, 2, rng);
  Tensor st = filled(be, {B, H, P, N}, DType::f32, -1, 1, rng), y(be, {B, T, H, P}, t);
  Mamba2SsdArgs a;
  a.x = x;
  a.dt = dt;
  a.dt_bias = dtb;
  a.A = A;
  a.Bm = Bm;
  a.Cm = Cm;
  a.D = D;
  a.z = z;
  a.state = st;
  a.y = y;
  a.chunk_size = Q;
  const double sec = time_it(be, [&] { return run_mamba2_ssd(be, a); });
  const double bytes = B * T * (3.0 * H * P * s + 2.0 * G * N * s + H * s) + 2.0 * B * H * P * N * 4;
  report("mamba2_ssd " + std::string(dtype_name(t)) + " B" + std::to_string(B) + " T" + std::to_string(T) + " H" +
             std::to_string(H) + " P" + std::to_string(P) + " N" + std::to_string(N) + " Q" + std::to_string(Q),
         sec, bytes);
  std::printf("%-58s %10.2e tok/s\n", "", B * T / sec);
}

void bench_mamba2_step(CudaBackend& be, Rng& rng, int64_t B, int64_t H, int64_t P, int64_t G, int64_t N) {
  const DType t = DType::bf16;
  Tensor x = filled(be, {B, 1, H, P}, t, -2, 2, rng), dt = filled(be, {B, 1, H}, t, -3.5, 0.5, rng);
  Tensor A = filled(be, {H}, DType::f32, -16, -1, rng);
  Tensor Bm = filled(be, {B, 1, G, N}, t, -2, 2, rng), Cm = filled(be, {B, 1, G, N}, t, -2, 2, rng);
  Tensor st = filled(be, {B, H, P, N}, DType::f32, -1, 1, rng), y(be, {B, 1, H, P}, t);
  Mamba2SsdArgs a;
  a.x = x;
  a.dt = dt;
  a.A = A;
  a.Bm = Bm;
  a.Cm = Cm;
  a.state = st;
  a.y = y;
  // Back-to-back calls per timed sample (as a decode loop issues them), so the host
  // synchronisation does not dominate the small batches.
  constexpr int kCalls = 50;
  const double sec = time_it(be, [&] {
                       for (int i = 0; i + 1 < kCalls; ++i) throw_if_error(run_mamba2_step(be, a));
                       return run_mamba2_step(be, a);
                     }) /
                     kCalls;
  report("mamba2_step bf16 B" + std::to_string(B) + " H" + std::to_string(H) + " P" + std::to_string(P) + " N" +
             std::to_string(N),
         sec, 2.0 * B * H * P * N * 4);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";  // "mamba2": the Mamba2 cases alone
  if (cuda_device_count() == 0) {
    std::printf("no CUDA device: %s\n", cuda_unavailable_reason().c_str());
    return 0;
  }
  CudaBackend be;
  Rng rng(7);
  std::printf("median of hot-cache calls; bandwidth counts the unavoidable bytes only\n");
  if (only == "mamba2") {
    bench_mamba2(be, rng, DType::bf16, 8, 4096, 80, 64, 1, 128, 256);   // Mamba2-2.7B (G2)
    bench_mamba2(be, rng, DType::bf16, 8, 4096, 128, 64, 1, 128, 256);  // Bamba-9B heads
    bench_mamba2(be, rng, DType::bf16, 1, 65536, 80, 64, 1, 128, 256);  // one long row
    bench_mamba2(be, rng, DType::bf16, 8, 4096, 80, 64, 8, 128, 256);   // G = 8
    for (int64_t B : {1, 8, 64, 256}) bench_mamba2_step(be, rng, B, 80, 64, 1, 128);  // G4
    return 0;
  }
  bench_conv(be, rng, DType::bf16, 8, 4096, 8192, 4);  // Jamba conv (kernels.md §5)
  bench_conv(be, rng, DType::f32, 8, 4096, 8192, 4);
  bench_mamba1(be, rng, DType::bf16, 8, 4096, 8192, 16);  // Jamba-v0.1 Mamba layer (G1)
  bench_mamba1(be, rng, DType::bf16, 1, 4096, 8192, 16);  // B = 1: the chunked path
  bench_mamba1_step(be, rng, 64, 8192, 16);               // G5
  bench_mamba2(be, rng, DType::bf16, 8, 4096, 80, 64, 1, 128, 256);  // Mamba2-2.7B (G2)
  bench_mamba2(be, rng, DType::bf16, 1, 4096, 80, 64, 1, 128, 256);
  bench_mamba2_step(be, rng, 64, 80, 64, 1, 128);  // G4: floor 112 µs
  return 0;
}

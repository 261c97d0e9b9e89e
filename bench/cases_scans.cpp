// Scan-kernel cases: the Mamba1 selective scan and the Mamba2 SSD (prefill), their single-token
// state updates (decode), and the causal conv1d. Shapes: kernels.md §12.1 (GPU) and §12.2 (CPU).
// Inputs as kernels.md §12.1: dt ~ N(−4, 1) before softplus, A = −exp(U(log 1, log 16)),
// B, C ~ N(0, 1/N); the state is f32 and every case carries one (prefill writes the final state).
#include <cmath>
#include <string>
#include <vector>

#include "bench/harness.h"

namespace braid::bench {
namespace {

void mamba1(const Target& t, int64_t B, int64_t L, int64_t D, int64_t N, bool step) {
  const std::string shape = step ? shape_name({{"B", B}, {"D", D}, {"N", N}}) : shape_name({{"B", B}, {"L", L}, {"D", D}, {"N", N}});
  add(t, step ? "mamba1_step" : "mamba1_scan", shape, [=](benchmark::State& st) {
    Backend& be = *t.be;
    const float bc_std = 1.0f / std::sqrt(static_cast<float>(N));
    Tensor x = random_tensor(be, {B, L, D}, t.io, normal(0, 1), 1);
    Tensor dt = random_tensor(be, {B, L, D}, t.io, normal(-4, 1), 2);
    Tensor z = random_tensor(be, {B, L, D}, t.io, normal(0, 1), 3);
    Tensor Bm = random_tensor(be, {B, L, N}, t.io, normal(0, bc_std), 4);
    Tensor Cm = random_tensor(be, {B, L, N}, t.io, normal(0, bc_std), 5);
    Tensor A = random_tensor(be, {D, N}, DType::f32, decay_rates(), 6);
    Tensor dt_bias = random_tensor(be, {D}, t.io, normal(0, 0.1f), 7);
    Tensor Dskip = random_tensor(be, {D}, t.io, normal(1, 0.1f), 8);
    Tensor state = random_tensor(be, {B, D, N}, DType::f32, normal(0, 0.1f), 9);
    Tensor y(be, {B, L, D}, t.io);
    Mamba1ScanArgs a{x, dt, dt_bias, A, Bm, Cm, Dskip, z, state, {}, y};
    if (step)
      measure(st, t, cost_mamba1_step(a), [&] { check(run_mamba1_step(be, a)); });
    else
      measure(st, t, cost_mamba1_scan(a), [&] { check(run_mamba1_scan(be, a)); });
  });
}

void mamba2(const Target& t, int64_t B, int64_t L, int64_t H, int64_t P, int64_t N, bool step) {
  const int64_t G = 1;
  const std::string shape = step ? shape_name({{"B", B}, {"H", H}, {"P", P}, {"N", N}})
                                 : shape_name({{"B", B}, {"L", L}, {"H", H}, {"P", P}, {"N", N}});
  add(t, step ? "mamba2_step" : "mamba2_ssd", shape, [=](benchmark::State& st) {
    Backend& be = *t.be;
    const float bc_std = 1.0f / std::sqrt(static_cast<float>(N));
    Tensor x = random_tensor(be, {B, L, H, P}, t.io, normal(0, 1), 11);
    Tensor dt = random_tensor(be, {B, L, H}, t.io, normal(-4, 1), 12);
    Tensor z = random_tensor(be, {B, L, H, P}, t.io, normal(0, 1), 13);
    Tensor Bm = random_tensor(be, {B, L, G, N}, t.io, normal(0, bc_std), 14);
    Tensor Cm = random_tensor(be, {B, L, G, N}, t.io, normal(0, bc_std), 15);
    Tensor A = random_tensor(be, {H}, DType::f32, decay_rates(), 16);
    Tensor dt_bias = random_tensor(be, {H}, t.io, normal(0, 0.1f), 17);
    Tensor Dskip = random_tensor(be, {H}, t.io, normal(1, 0.1f), 18);
    Tensor state = random_tensor(be, {B, H, P, N}, DType::f32, normal(0, 0.1f), 19);
    Tensor y(be, {B, L, H, P}, t.io);
    Mamba2SsdArgs a{x, dt, dt_bias, A, Bm, Cm, Dskip, z, state, {}, y};
    a.chunk_size = 256;
    if (step)
      measure(st, t, cost_mamba2_step(a), [&] { check(run_mamba2_step(be, a)); });
    else
      measure(st, t, cost_mamba2_ssd(a), [&] { check(run_mamba2_ssd(be, a)); });
  });
}

void conv(const Target& t, int64_t B, int64_t L, int64_t C, int64_t K, bool step) {
  const std::string shape = step ? shape_name({{"B", B}, {"D", C}, {"K", K}}) : shape_name({{"B", B}, {"L", L}, {"D", C}, {"K", K}});
  add(t, step ? "conv1d_step" : "conv1d", shape, [=](benchmark::State& st) {
    Backend& be = *t.be;
    Tensor x = random_tensor(be, {B, L, C}, t.io, normal(0, 1), 21);
    Tensor w = random_tensor(be, {C, K}, t.io, normal(0, 0.5f), 22);
    Tensor bias = random_tensor(be, {C}, t.io, normal(0, 0.1f), 23);
    Tensor state = random_tensor(be, {B, K - 1, C}, t.io, normal(0, 1), 24);
    Tensor y(be, {B, L, C}, t.io);
    Conv1dArgs a{x, w, bias, state, {}, y};
    if (step)
      measure(st, t, cost_conv1d_step(a), [&] { check(run_conv1d_step(be, a)); });
    else
      measure(st, t, cost_conv1d(a), [&] { check(run_conv1d(be, a)); });
  });
}

}  // namespace

void register_scan_cases(const Target& t, Shapes s) {
  if (s == Shapes::tiny) {
    mamba1(t, 2, 64, 256, 16, false);
    mamba1(t, 2, 1, 256, 16, true);
    mamba2(t, 2, 64, 4, 16, 32, false);
    mamba2(t, 2, 1, 4, 16, 32, true);
    conv(t, 2, 64, 256, 4, false);
    conv(t, 2, 1, 256, 4, true);
    return;
  }
  const bool gpu = s == Shapes::gpu;
  // Mamba1 (Jamba: Di 8192, N 16).
  if (gpu) {
    for (int64_t B : {8, 1})
      for (int64_t L : {512, 2048, 4096}) mamba1(t, B, L, 8192, 16, false);
  } else {
    mamba1(t, 1, 512, 8192, 16, false);
  }
  // Mamba2 (2.7B: H 80, P 64, N 128; Bamba: H 128; one long sequence past 64K tokens).
  if (gpu) {
    mamba2(t, 8, 4096, 80, 64, 128, false);
    mamba2(t, 8, 4096, 128, 64, 128, false);
    mamba2(t, 1, 65536, 80, 64, 128, false);
  } else {
    mamba2(t, 1, 512, 80, 64, 128, false);
  }
  // Decode state updates.
  const std::vector<int64_t> decode_batches = gpu ? std::vector<int64_t>{1, 8, 64, 256} : std::vector<int64_t>{1, 8};
  for (int64_t B : decode_batches) {
    mamba1(t, B, 1, 8192, 16, true);
    mamba2(t, B, 1, 80, 64, 128, true);
  }
  // Causal conv1d (Jamba Di 8192; Mamba2-2.7B xBC 5376).
  for (int64_t C : {8192, 5376}) conv(t, gpu ? 8 : 1, gpu ? 4096 : 512, C, 4, false);
  for (int64_t B : gpu ? std::vector<int64_t>{1, 64} : std::vector<int64_t>{1}) conv(t, B, 1, 8192, 4, true);
}

}  // namespace braid::bench

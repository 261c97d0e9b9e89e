// core/cost.h: the analytic cost model reproduces the worked numbers of kernels.md §2.3, §3,
// §4.3, §5 and §9 from the contracts' Args alone.
#include <doctest/doctest.h>

#include "core/backend.h"

using namespace braid;

namespace {

// Cost functions read shapes and dtypes only; the views point at a byte never dereferenced.
TensorView shaped(DType dt, Shape s) {
  static char never_read;
  return TensorView(&never_read, dt, s);
}

Mamba1ScanArgs jamba_mamba1(int64_t B, int64_t L) {
  const int64_t D = 8192, N = 16;
  Mamba1ScanArgs a;
  a.x = a.dt = a.z = a.y = shaped(DType::bf16, {B, L, D});
  a.Bm = a.Cm = shaped(DType::bf16, {B, L, N});
  a.A = shaped(DType::f32, {D, N});
  return a;
}

Mamba2SsdArgs mamba2_27b(int64_t B, int64_t L, DType io, bool z) {
  const int64_t H = 80, P = 64, N = 128;
  Mamba2SsdArgs a;
  a.x = a.y = shaped(io, {B, L, H, P});
  if (z) a.z = a.x;
  a.dt = shaped(io, {B, L, H});
  a.A = shaped(DType::f32, {H});
  a.Bm = a.Cm = shaped(io, {B, L, 1, N});
  return a;
}

}  // namespace

TEST_CASE("Mamba1 scan at the Jamba shape: 2.15 GB, 4.29e9 exps, exp-bound at 1.04 ms (kernels.md §2.3)") {
  const Cost c = cost_mamba1_scan(jamba_mamba1(8, 4096));
  // 4·B·D·L·2 + 2·B·N·L·2 + D·N·4
  CHECK(c.bytes == doctest::Approx(4.0 * 8 * 8192 * 4096 * 2 + 2.0 * 8 * 16 * 4096 * 2 + 8192 * 16 * 4).epsilon(1e-12));
  CHECK(c.bytes / 3.0e12 == doctest::Approx(0.717e-3).epsilon(2e-3));
  CHECK(c.exps == doctest::Approx(4.294967296e9));
  CHECK(c.flops == doctest::Approx(9 * 4.294967296e9));
  const Floor f = floor_of(c, h100_sxm());
  CHECK(std::string(f.bound) == "exp");
  CHECK(f.seconds == doctest::Approx(1.0425e-3).epsilon(1e-3));
}

TEST_CASE("Mamba2 SSD at the 2.7B shape: 1.05 GB fused with z and a final state, 0.350 ms (kernels.md §4.3)") {
  Mamba2SsdArgs a = mamba2_27b(8, 4096, DType::bf16, true);
  const Cost no_state = cost_mamba2_ssd(a);
  a.state = shaped(DType::f32, {8, 80, 64, 128});
  const Cost with_state = cost_mamba2_ssd(a);
  const double state = 8.0 * 80 * 64 * 128 * 4;
  // x, z, y: 335.5 MB each; B + C 16.8 MB; dt 5.2 MB; the final state 21.0 MB.
  CHECK(no_state.bytes + state == doctest::Approx(1.0496e9).epsilon(1e-3));
  CHECK((no_state.bytes + state) / 3.0e12 == doctest::Approx(0.350e-3).epsilon(2e-3));
  CHECK(with_state.bytes == doctest::Approx(no_state.bytes + 2 * state));  // in/out state
  // 2·B·L·(Q·N·G + ½·Q·H·P + 2·H·P·N) with Q = 256: CB 2.1e9 + intra 4.3e10 + state 8.6e10 = 1.31e11.
  CHECK(no_state.mma_flops == doctest::Approx(1.31e11).epsilon(5e-3));
  CHECK(std::string(floor_of(with_state, h100_sxm()).bound) == "memory");
}

TEST_CASE("decode state updates: the kernels.md §3 floor table") {
  Mamba2SsdArgs m2 = mamba2_27b(64, 1, DType::bf16, false);
  m2.state = shaped(DType::f32, {64, 80, 64, 128});
  const Cost c2 = cost_mamba2_step(m2);
  CHECK(2.0 * 64 * 80 * 64 * 128 * 4 == doctest::Approx(336e6).epsilon(2e-3));
  CHECK(floor_of(c2, h100_sxm()).seconds == doctest::Approx(112e-6).epsilon(0.01));
  CHECK(c2.mma_flops == 0);
  CHECK(cost_mamba2_ssd(m2).mma_flops > 0);  // the chunked form counts matrix work, the step does not

  Mamba1ScanArgs m1 = jamba_mamba1(256, 1);
  m1.state = shaped(DType::f32, {256, 8192, 16});
  CHECK(cost_mamba1_step(m1).bytes / 3.0e12 == doctest::Approx(89e-6).epsilon(0.03));
}

TEST_CASE("causal conv1d at the Jamba shape: 1.07 GB, 0.36 ms (kernels.md §5)") {
  Conv1dArgs a;
  a.x = a.y = shaped(DType::bf16, {8, 4096, 8192});
  a.w = shaped(DType::bf16, {8192, 4});
  const Floor f = floor_of(cost_conv1d(a), h100_sxm());
  CHECK(std::string(f.bound) == "memory");
  CHECK(f.seconds == doctest::Approx(0.358e-3).epsilon(2e-3));
}

TEST_CASE("linear and attention count matrix FLOPs; f32 doubles the bytes of bf16") {
  LinearArgs l;
  l.x = shaped(DType::bf16, {2048, 1024});
  l.w = shaped(DType::bf16, {4096, 1024});
  l.y = shaped(DType::bf16, {2048, 4096});
  const Cost c = cost_linear(l);
  CHECK(c.mma_flops == doctest::Approx(2.0 * 2048 * 4096 * 1024));
  CHECK(c.bytes == doctest::Approx(2.0 * (2048 * 1024 + 4096 * 1024 + 2048 * 4096)));
  l.x.dtype = l.w.dtype = l.y.dtype = DType::f32;
  CHECK(cost_linear(l).bytes == doctest::Approx(2 * c.bytes));

  AttentionArgs at;  // causal prefill, no cache: T(T+1)/2 scores per head
  at.q = at.o = shaped(DType::bf16, {1, 2048, 16, 64});
  at.k = at.v = shaped(DType::bf16, {1, 2048, 4, 64});
  const Cost ca = cost_attention(at);
  CHECK(ca.exps == doctest::Approx(16.0 * 2048 * 2049 / 2));
  CHECK(ca.mma_flops == doctest::Approx(4.0 * 64 * 16 * 2048 * 2049 / 2));
}

TEST_CASE("the floor names its binding term") {
  CHECK(std::string(floor_of(Cost{1e9, 0, 0, 0}, h100_sxm()).bound) == "memory");
  CHECK(std::string(floor_of(Cost{0, 0, 1e15, 0}, h100_sxm()).bound) == "mma");
  CHECK(std::string(floor_of(Cost{}, h100_sxm()).bound) == "none");
  CHECK(floor_of(Cost{41e9, 0, 0, 0}, zen5_2core()).seconds == doctest::Approx(1.0));
}

// tests/backends/test_fast_paths.cpp — the CPU backend's named fast paths (backends/cpu/fast/)
// against its reference loops, on shapes chosen to reach every tail of the vector kernels:
// N and Di not multiples of 8, P odd, T = 1 and odd T, lengths with zeros, an initial state,
// inputs that are channel slices of wider NaN-padded rows, G > 1, several chunk sizes, and
// decays strong enough to make the Mamba2 path fold its state scale. Both backends run the
// same call; every output (y, and the state when present) must agree to the f32 bar of
// tests/tolerance.h. On a CPU without AVX2 the fast paths decline and the check is trivial.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backends/cpu/fast/fast_paths.h"
#include "tests/backends/helpers.h"

namespace braid::test {
namespace {

CpuBackend fast_backend() {
  CpuOptions o;
  o.fast_paths = true;
  return CpuBackend(o);
}

// Lengths [B] as i32: row b gets lens[b].
struct Lengths {
  std::vector<int32_t> v;
  TensorView view;
  explicit Lengths(std::vector<int32_t> lens) : v(std::move(lens)) { view = i32_view(v, Shape({static_cast<int64_t>(v.size())})); }
};

// Runs `call` on the reference and on the fast backend with separate output/state buffers
// (y and state start as copies of the same values) and compares both.
template <class MakeArgs, class Call>
void compare_fast(const std::string& what, std::vector<float> y0, std::vector<float> state0, MakeArgs make, Call call) {
  std::vector<float> y_ref = y0, y_fast = y0, s_ref = state0, s_fast = state0;
  CpuBackend ref;
  CpuBackend fast = fast_backend();
  CHECK(ref.name() == "cpu-ref");
  CHECK(fast.name() == "cpu");
  require_ok(call(ref, make(y_ref, s_ref)));
  require_ok(call(fast, make(y_fast, s_fast)));
  check_close(y_fast, y_ref, kRelL2F32, what + " y");
  if (!state0.empty()) check_close(s_fast, s_ref, kRelL2F32, what + " state");
}

struct M1Case { int64_t B, T, Di, N; bool z, state, lengths, sliced; };

void mamba1_case(const M1Case& c, uint64_t seed, bool step) {
  Rng rng = seeded(seed);
  const int64_t B = c.B, T = step ? 1 : c.T, Di = c.Di, N = c.N;
  const std::vector<float> x = randn(rng, B * T * Di), dt = randn(rng, B * T * Di), Bv = randn(rng, B * T * N),
                           Cv = randn(rng, B * T * N), z = randn(rng, B * T * Di);
  std::vector<float> bias = uniform(rng, Di, -2.0f, 0.0f), A = uniform(rng, Di * N, -8.0f, -0.1f), D = randn(rng, Di);
  const int64_t pad = c.sliced ? 3 : 0;  // channel slices with NaN around them
  Embedded ex = embed_last(x, Shape({B, T, Di}), pad, 2 * pad), edt = embed_last(dt, Shape({B, T, Di}), pad, pad),
           eB = embed_last(Bv, Shape({B, T, N}), 2 * pad, pad), eC = embed_last(Cv, Shape({B, T, N}), pad, 0),
           ez = embed_last(z, Shape({B, T, Di}), pad, pad);
  std::vector<int32_t> lens(static_cast<size_t>(B), static_cast<int32_t>(T));
  for (int64_t b = 0; b < B; ++b) lens[b] = static_cast<int32_t>((b * 5) % (T + 1));  // includes 0 and T
  Lengths L(lens);
  const bool has_state = c.state || step;
  auto make = [&](std::vector<float>& y, std::vector<float>& s) {
    return Mamba1ScanArgs{ex.view, edt.view, f32_view(bias, Shape({Di})), f32_view(A, Shape({Di, N})), eB.view, eC.view,
                          f32_view(D, Shape({Di})), c.z ? ez.view : TensorView(), has_state ? f32_view(s, Shape({B, Di, N})) : TensorView(),
                          c.lengths && !step ? L.view : TensorView(), f32_view(y, Shape({B, T, Di}))};
  };
  const std::string what = "mamba1 B" + std::to_string(B) + " T" + std::to_string(T) + " Di" + std::to_string(Di) + " N" + std::to_string(N);
  compare_fast(what, std::vector<float>(B * T * Di, 0.0f), has_state ? randn(rng, B * Di * N) : std::vector<float>{}, make,
               [&](Backend& be, const Mamba1ScanArgs& a) { return step ? run_mamba1_step(be, a) : run_mamba1_scan(be, a); });
}

struct M2Case { int64_t B, T, H, P, G, N, Q; bool z, state, lengths, sliced; float amax; };

void mamba2_case(const M2Case& c, uint64_t seed, bool step) {
  Rng rng = seeded(seed);
  const int64_t B = c.B, T = step ? 1 : c.T, H = c.H, P = c.P, G = c.G, N = c.N;
  const std::vector<float> x = randn(rng, B * T * H * P), dt = randn(rng, B * T * H), Bv = randn(rng, B * T * G * N),
                           Cv = randn(rng, B * T * G * N), z = randn(rng, B * T * H * P);
  std::vector<float> bias = uniform(rng, H, -1.0f, 1.0f), A = uniform(rng, H, -c.amax, -0.05f), D = randn(rng, H);
  const int64_t pad = c.sliced ? 5 : 0;
  Embedded ex = embed_last(x, Shape({B, T, H * P}), pad, pad), eB = embed_last(Bv, Shape({B, T, G * N}), pad, 2 * pad),
           eC = embed_last(Cv, Shape({B, T, G * N}), 2 * pad, pad), ez = embed_last(z, Shape({B, T, H * P}), pad, 0),
           edt = embed_last(dt, Shape({B, T, H}), pad, pad);
  std::vector<int32_t> lens(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) lens[b] = static_cast<int32_t>((b * 7 + T) % (T + 1));
  Lengths L(lens);
  const bool has_state = c.state || step;
  auto split = [](const TensorView& v, int64_t last, int64_t inner) {  // [B, T, last·inner] → [B, T, last, inner]
    return v.split_last(last, inner);
  };
  auto make = [&](std::vector<float>& y, std::vector<float>& s) {
    Mamba2SsdArgs a{split(ex.view, H, P), edt.view, f32_view(bias, Shape({H})), f32_view(A, Shape({H})), split(eB.view, G, N),
                    split(eC.view, G, N), f32_view(D, Shape({H})), c.z ? split(ez.view, H, P) : TensorView(),
                    has_state ? f32_view(s, Shape({B, H, P, N})) : TensorView(), c.lengths && !step ? L.view : TensorView(),
                    f32_view(y, Shape({B, T, H, P}))};
    a.chunk_size = c.Q;
    a.dt_min = 0.001f;
    return a;
  };
  const std::string what = "mamba2 B" + std::to_string(B) + " T" + std::to_string(T) + " H" + std::to_string(H) + " P" +
                           std::to_string(P) + " G" + std::to_string(G) + " N" + std::to_string(N) + " Q" + std::to_string(c.Q);
  compare_fast(what, std::vector<float>(B * T * H * P, 0.0f), has_state ? randn(rng, B * H * P * N) : std::vector<float>{}, make,
               [&](Backend& be, const Mamba2SsdArgs& a) { return step ? run_mamba2_step(be, a) : run_mamba2_ssd(be, a); });
}

}  // namespace

TEST_CASE("fast paths: the CPU reports AVX2 support consistently") {
  MESSAGE("AVX2+FMA fast paths " << (fast::cpu_has_avx2() ? "active" : "inactive (reference runs)"));
  CHECK(fast::cpu_has_avx2() == fast::cpu_has_avx2());
}

TEST_CASE("fast paths: mamba1_scan and mamba1_step match the reference") {
  const M1Case cases[] = {
      {1, 1, 8, 16, true, false, false, false},     // T = 1, one full vector
      {2, 13, 21, 5, true, true, true, true},       // Di, N odd; lengths 0 and 5; slices
      {3, 40, 37, 16, false, true, true, false},    // no z; lengths 0, 5, 10
      {1, 64, 64, 24, true, false, false, true},    // N not a multiple of 16
      {4, 9, 3, 1, true, true, true, true},         // Di < 8, N = 1
  };
  uint64_t seed = 300;
  for (const M1Case& c : cases) {
    mamba1_case(c, ++seed, false);
    mamba1_case(c, ++seed, true);
  }
}

TEST_CASE("fast paths: mamba2_ssd and mamba2_step match the reference") {
  const M2Case cases[] = {
      {1, 1, 2, 8, 1, 16, 4, true, false, false, false, 1.0f},      // T = 1
      {2, 37, 4, 7, 2, 13, 8, true, true, true, true, 1.0f},        // P, N odd; G = 2; lengths; slices
      {3, 50, 6, 16, 3, 24, 16, false, true, true, false, 1.0f},    // G = 3, no z
      {1, 70, 2, 5, 1, 9, 64, true, true, false, true, 60.0f},      // strong decay: the scale folds
      {2, 33, 4, 64, 1, 128, 256, true, false, true, false, 2.0f},  // model-like P, N; one chunk
  };
  uint64_t seed = 400;
  for (const M2Case& c : cases) {
    mamba2_case(c, ++seed, false);
    mamba2_case(c, ++seed, true);
  }
}

TEST_CASE("fast paths: conv1d matches the reference") {
  struct Case { int64_t B, T, C, K; bool bias, silu, state, lengths, sliced; };
  const Case cases[] = {
      {1, 1, 8, 4, true, true, true, false, false},    // T = 1 from the state
      {2, 3, 13, 4, true, true, true, true, true},     // T < K − 1 + 1, C odd, lengths, slice
      {3, 20, 37, 3, false, false, false, true, false},
      {2, 17, 64, 1, true, true, false, true, true},   // K = 1: the window is the token alone
      {1, 31, 20, 5, true, true, false, false, true},
  };
  uint64_t seed = 500;
  for (const Case& c : cases) {
    Rng rng = seeded(++seed);
    const int64_t B = c.B, T = c.T, C = c.C, K = c.K;
    Embedded ex = embed_last(randn(rng, B * T * C), Shape({B, T, C}), c.sliced ? 3 : 0, c.sliced ? 1 : 0);
    std::vector<float> w = randn(rng, C * K), bias = randn(rng, C);
    std::vector<int32_t> lens(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) lens[b] = static_cast<int32_t>((b * 2 + T) % (T + 1));
    Lengths L(lens);
    auto make = [&](std::vector<float>& y, std::vector<float>& s) {
      return Conv1dArgs{ex.view, f32_view(w, Shape({C, K})), c.bias ? f32_view(bias, Shape({C})) : TensorView(),
                        c.state ? f32_view(s, Shape({B, K - 1, C})) : TensorView(), c.lengths ? L.view : TensorView(),
                        f32_view(y, Shape({B, T, C})), c.silu};
    };
    compare_fast("conv1d B" + std::to_string(B) + " T" + std::to_string(T) + " C" + std::to_string(C) + " K" + std::to_string(K),
                 std::vector<float>(B * T * C, 0.0f), c.state ? randn(rng, B * (K - 1) * C) : std::vector<float>{}, make,
                 [](Backend& be, const Conv1dArgs& a) { return run_conv1d(be, a); });
  }
}

}  // namespace braid::test

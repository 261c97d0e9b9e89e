// backends/cpu/conv1d.cpp — causal depthwise conv1d with optional SiLU, and its one-token step
// (core/contracts/conv1d.h; hf-models-spec §1.3, the Mamba/Mamba2 conv; HF's
// `nn.Conv1d(groups=C, padding=K−1)[..., :T]` plus `causal_conv1d_update` for decode).
//
//   y[b, t, c] = act( bias[c] + Σ_{j<K} w[c, j] · u[b, t − K + 1 + j, c] )      t < lengths[b]
//
// u at times ≥ 0 is x; at times −(K−1) … −1 it is `state` (the last K−1 inputs before this
// call, oldest first) or zero without a state. w[c, K−1] multiplies the current token.
// Outputs at padding positions (t ≥ lengths[b]) are zero, and the state afterwards holds the
// last K−1 entries of (old state ++ x[b, 0 … lengths[b]−1]), so padding never reaches it.
//
// `conv1d_step` is written as its own loop (dot with [state, x], then shift the window) rather
// than as a call to `conv1d`, so that the forward == T steps test compares two formulations.
#include <algorithm>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"
#include "backends/cpu/fast/fast_paths.h"

namespace braid {

Status CpuBackend::conv1d(const Conv1dArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32(
      "conv1d", {{&a.x, "x"}, {&a.w, "w"}, {&a.bias, "bias"}, {&a.state, "state"}, {&a.y, "y"}}));
  const int64_t B = a.x.dim(0), T = a.x.dim(1), C = a.x.dim(2), K = a.w.dim(1);
  std::vector<int64_t> n;  // valid tokens per row
  BRAID_RETURN_IF_ERROR(cpu::read_lengths(a.lengths, B, T, n));
  if (opts_.fast_paths && fast::conv1d(a, n)) return Status::ok();  // named fast path
  const bool has_state = a.state.defined();

#pragma omp parallel for if (B * T * C * K >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b) {
    // The input at time tau of this call, tau ∈ [−(K−1), n[b]): x, else the state, else zero.
    auto u = [&](int64_t tau, int64_t c) -> float {
      if (tau >= 0) return *cpu::at(a.x, {b, tau, c});
      return has_state ? *cpu::at(a.state, {b, K - 1 + tau, c}) : 0.0f;
    };
    for (int64_t t = 0; t < T; ++t) {
      float* yr = cpu::at(a.y, {b, t, 0});  // [C]
      if (t >= n[b]) {
        std::fill_n(yr, C, 0.0f);  // padding output
        continue;
      }
      for (int64_t c = 0; c < C; ++c) {
        float acc = cpu::vec_or(a.bias, c, 0.0f);
        for (int64_t j = 0; j < K; ++j) acc += *cpu::at(a.w, {c, j}) * u(t - K + 1 + j, c);
        yr[c] = a.silu ? cpu::silu(acc) : acc;
      }
    }
    // New state [K−1, C]: entry i is element n[b] + i of (old state [K−1] ++ valid x [n[b]]).
    // Ascending i reads only entries ≥ i of the old state, none of them overwritten yet.
    // Worked example, K = 4 (state s0 s1 s2):
    //   n = 0:  s0 s1 s2   (unchanged)        n = 2:  s2 x0 x1
    //   n = 1:  s1 s2 x0                      n = 5:  x2 x3 x4
    if (has_state) {
      for (int64_t i = 0; i < K - 1; ++i) {
        const int64_t src = n[b] + i;  // index into the concatenation
        for (int64_t c = 0; c < C; ++c)
          *cpu::at(a.state, {b, i, c}) = src < K - 1 ? *cpu::at(a.state, {b, src, c}) : *cpu::at(a.x, {b, src - (K - 1), c});
      }
    }
  }
  return Status::ok();
}

Status CpuBackend::conv1d_step(const Conv1dArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32(
      "conv1d_step", {{&a.x, "x"}, {&a.w, "w"}, {&a.bias, "bias"}, {&a.state, "state"}, {&a.y, "y"}}));
  const int64_t B = a.x.dim(0), C = a.x.dim(2), K = a.w.dim(1);

#pragma omp parallel for if (B * C * K >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const float xv = *cpu::at(a.x, {b, 0, c});  // the new token
      // Window [state[b, 0 … K−2, c], x]: dot with w[c, :].
      float acc = cpu::vec_or(a.bias, c, 0.0f);
      for (int64_t j = 0; j < K - 1; ++j) acc += *cpu::at(a.w, {c, j}) * *cpu::at(a.state, {b, j, c});
      acc += *cpu::at(a.w, {c, K - 1}) * xv;
      *cpu::at(a.y, {b, 0, c}) = a.silu ? cpu::silu(acc) : acc;
      // Shift the window left by one and append x.
      for (int64_t j = 0; j + 1 < K - 1; ++j) *cpu::at(a.state, {b, j, c}) = *cpu::at(a.state, {b, j + 1, c});
      if (K > 1) *cpu::at(a.state, {b, K - 2, c}) = xv;
    }
  return Status::ok();
}

}  // namespace braid

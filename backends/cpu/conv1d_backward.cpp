// backends/cpu/conv1d_backward.cpp — backward of the causal depthwise conv with SiLU
// (core/contracts/conv1d.h). Per row b and channel c, over the n = lengths[b] valid outputs:
//   s[t] = bias + Σ_j w[j]·u[t−K+1+j]   (recomputed),   d_s[t] = d_y[t]·silu'(s[t])  (d_y without SiLU)
//   d_u[τ] = Σ_j d_s[τ+K−1−j]·w[j]  for τ ∈ [−(K−1), n):  τ ≥ 0 → d_x,  τ < 0 → d_state[K−1+τ]
//   d_w[j] += Σ_t d_s[t]·u[t−K+1+j];  d_bias += Σ_t d_s[t]
// u is the input of the call (x, or the initial state at negative times, or zero). Each
// channel is one task: it owns d_w[c, :] and d_bias[c]. d_x at padding positions is zero.
#include <algorithm>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::conv1d_backward(const Conv1dBackwardArgs& a) {
  const Conv1dArgs& f = a.fwd;
  BRAID_RETURN_IF_ERROR(cpu::require_f32("conv1d_backward", {{&f.x, "x"}, {&f.w, "w"}, {&f.bias, "bias"}, {&f.state, "state"},
                                                             {&a.d_y, "d_y"}, {&a.d_x, "d_x"}}));
  const int64_t B = f.x.dim(0), T = f.x.dim(1), C = f.x.dim(2), K = f.w.dim(1);
  std::vector<int64_t> n;
  BRAID_RETURN_IF_ERROR(cpu::read_lengths(f.lengths, B, T, n));

#pragma omp parallel for if (B * T * C * K >= cpu::kOmpMinWork)
  for (int64_t c = 0; c < C; ++c) {
    std::vector<float> ds(static_cast<size_t>(T));
    float dbias = 0.0f;
    std::vector<float> dw(static_cast<size_t>(K), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      auto u = [&](int64_t tau) -> float {
        if (tau >= 0) return *cpu::at(f.x, {b, tau, c});
        return f.state.defined() ? *cpu::at(f.state, {b, K - 1 + tau, c}) : 0.0f;
      };
      for (int64_t t = 0; t < n[b]; ++t) {
        float s = cpu::vec_or(f.bias, c, 0.0f);
        for (int64_t j = 0; j < K; ++j) s += *cpu::at(f.w, {c, j}) * u(t - K + 1 + j);
        const float g = *cpu::at(a.d_y, {b, t, c});
        const float sig = 1.0f / (1.0f + std::exp(-s));
        ds[t] = f.silu ? g * sig * (1.0f + s * (1.0f - sig)) : g;
        dbias += ds[t];
        for (int64_t j = 0; j < K; ++j) dw[j] += ds[t] * u(t - K + 1 + j);
      }
      // d_u[τ] for τ ∈ [−(K−1), T): outputs t = τ + K − 1 − j that exist (0 ≤ t < n).
      for (int64_t tau = -(K - 1); tau < T; ++tau) {
        float acc = 0.0f;
        for (int64_t j = 0; j < K; ++j) {
          const int64_t t = tau + K - 1 - j;
          if (t >= 0 && t < n[b]) acc += ds[t] * *cpu::at(f.w, {c, j});
        }
        if (tau >= 0) *cpu::at(a.d_x, {b, tau, c}) = tau < n[b] ? acc : 0.0f;
        else if (a.d_state.defined()) *cpu::at(a.d_state, {b, K - 1 + tau, c}) = acc;
      }
    }
    if (a.d_bias.defined()) a.d_bias.ptr<float>()[c] += dbias;
    if (a.d_w.defined())
      for (int64_t j = 0; j < K; ++j) *cpu::at(a.d_w, {c, j}) += dw[j];
  }
  return Status::ok();
}

}  // namespace braid

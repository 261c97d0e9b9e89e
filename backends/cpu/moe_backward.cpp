// backends/cpu/moe_backward.cpp — backward of the router and of the expert FFN (core/contracts/moe.h).
//
// Router, per row: p = softmax(logits) recomputed; d_p scatters d_weights into the chosen
// experts (through the renormalisation w_i = p_i / Σ_chosen p when set) plus the optional
// d_probs; then d_logits = p ⊙ (d_p − Σ p·d_p).
// Experts, grouped by expert like the forward (tokens gathered into a dense block): with
// a = X_e·gateᵀ, b = X_e·upᵀ, u = silu(a)⊙b and G = the gathered d_out rows,
//   d_weights[m,i] = G[r]·(u·downᵀ)[r];  d_u = weights ⊙ (G·down);  d_a, d_b as in SwiGLU
//   d_down += (weights ⊙ G)ᵀ·u;  d_gate += d_aᵀ·X_e;  d_up += d_bᵀ·X_e;  d_x[m] += d_a·gate + d_b·up
// Experts run one after another (each owns its weight gradients; d_x rows are scattered serially).
#include <cmath>
#include <utility>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"
#include "backends/cpu/gemm.h"

namespace braid {

Status CpuBackend::moe_router_backward(const MoeRouterBackwardArgs& a) {
  const MoeRouterArgs& f = a.fwd;
  BRAID_RETURN_IF_ERROR(cpu::require_f32("moe_router_backward", {{&f.logits, "logits"}, {&a.d_logits, "d_logits"}}));
  const int64_t M = f.logits.dim(0), X = f.logits.dim(1), k = f.weights.dim(1);
  const int32_t* ids = f.ids.ptr<int32_t>();
  for (int64_t i = 0; i < M * k; ++i)
    if (ids[i] < 0 || ids[i] >= X)
      return invalid_argument("moe_router_backward: expert id ", ids[i], " at ", i, " is outside [0, X = ", X, ")");
  const float* dw = a.d_weights.ptr<float>();
#pragma omp parallel for if (M * X >= cpu::kOmpMinWork)
  for (int64_t m = 0; m < M; ++m) {
    const float* l = f.logits.ptr<float>() + m * f.logits.stride[0];
    std::vector<float> p(l, l + X), dp(static_cast<size_t>(X), 0.0f);
    cpu::softmax_inplace(p.data(), X);
    if (f.renormalize) {  // w_i = p_i / S, S = Σ_chosen p:  ∂/∂p_c = (d_w_c − Σ_i d_w_i·w_i) / S
      float S = 0.0f, dot = 0.0f;
      for (int64_t i = 0; i < k; ++i) S += p[ids[m * k + i]];
      for (int64_t i = 0; i < k; ++i) dot += dw[m * k + i] * p[ids[m * k + i]] / S;
      for (int64_t i = 0; i < k; ++i) dp[ids[m * k + i]] += (dw[m * k + i] - dot) / S;
    } else {
      for (int64_t i = 0; i < k; ++i) dp[ids[m * k + i]] += dw[m * k + i];
    }
    if (a.d_probs.defined())
      for (int64_t x = 0; x < X; ++x) dp[x] += a.d_probs.ptr<float>()[x * a.d_probs.stride[0]];
    float dot = 0.0f;
    for (int64_t x = 0; x < X; ++x) dot += p[x] * dp[x];
    float* d = a.d_logits.ptr<float>() + m * a.d_logits.stride[0];
    for (int64_t x = 0; x < X; ++x) d[x] = p[x] * (dp[x] - dot);
  }
  return Status::ok();
}

Status CpuBackend::moe_experts_backward(const MoeExpertsBackwardArgs& a) {
  const MoeExpertsArgs& f = a.fwd;
  BRAID_RETURN_IF_ERROR(cpu::require_f32("moe_experts_backward", {{&f.x, "x"}, {&f.w_gate, "w_gate"}, {&f.w_up, "w_up"},
                                                                  {&f.w_down, "w_down"}, {&a.d_out, "d_out"}, {&a.d_x, "d_x"}}));
  const int64_t M = f.x.dim(0), D = f.x.dim(1), X = f.w_gate.dim(0), F = f.w_gate.dim(1), k = f.ids.dim(1);
  const int32_t* ids = f.ids.ptr<int32_t>();
  const float* wts = f.weights.ptr<float>();
  for (int64_t i = 0; i < M * k; ++i)
    if (ids[i] < 0 || ids[i] >= X)
      return invalid_argument("moe_experts_backward: expert id ", ids[i], " at ", i, " is outside [0, X = ", X, ")");
  std::vector<std::vector<std::pair<int64_t, int64_t>>> routed(static_cast<size_t>(X));  // (token, slot)
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < k; ++i) routed[ids[m * k + i]].push_back({m, i});
  for (int64_t m = 0; m < M; ++m) std::fill_n(cpu::at(a.d_x, {m, 0}), D, 0.0f);
  const GemmImpl gi = options().gemm;

  for (int64_t e = 0; e < X; ++e) {
    const auto& rows = routed[e];
    const int64_t R = static_cast<int64_t>(rows.size());
    if (R == 0) continue;
    const float* Wg = f.w_gate.ptr<float>() + e * F * D;  // [F, D]
    const float* Wu = f.w_up.ptr<float>() + e * F * D;    // [F, D]
    const float* Wd = f.w_down.ptr<float>() + e * D * F;  // [D, F]
    std::vector<float> xe(static_cast<size_t>(R * D)), ge(static_cast<size_t>(R * D));  // gathered x, weighted d_out
    std::vector<float> ga(static_cast<size_t>(R * F)), ub(static_cast<size_t>(R * F)), du(static_cast<size_t>(R * F));
    for (int64_t r = 0; r < R; ++r) {
      const auto [m, i] = rows[r];
      std::copy_n(cpu::at(f.x, {m, 0}), D, xe.data() + r * D);
      std::copy_n(cpu::at(a.d_out, {m, 0}), D, ge.data() + r * D);
    }
    gemm_nt(gi, R, F, D, 1.0f, xe.data(), D, Wg, D, 0.0f, ga.data(), F);  // a
    gemm_nt(gi, R, F, D, 1.0f, xe.data(), D, Wu, D, 0.0f, ub.data(), F);  // b
    gemm(gi, false, false, R, F, D, 1.0f, ge.data(), D, Wd, F, 0.0f, du.data(), F);  // G·down (unweighted)
    for (int64_t r = 0; r < R; ++r) {
      const auto [m, i] = rows[r];
      const float w = wts[m * k + i];
      float dwt = 0.0f;  // d_weights = G·(down·u) = Σ_f u[f]·(G·down)[f]
      for (int64_t c = 0; c < F; ++c) {
        const int64_t q = r * F + c;
        const float av = ga[q], bv = ub[q], sig = 1.0f / (1.0f + std::exp(-av)), s = av * sig;
        const float u = s * bv, d_u = w * du[q];
        dwt += u * du[q];
        ga[q] = d_u * bv * sig * (1.0f + av * (1.0f - sig));  // d_a
        ub[q] = d_u * s;                                      // d_b
        du[q] = u;                                            // u, for d_down
      }
      a.d_weights.ptr<float>()[m * k + i] = dwt;
      for (int64_t d = 0; d < D; ++d) ge[r * D + d] *= w;  // weighted d_out rows, for d_down
    }
    gemm(gi, true, false, D, F, R, 1.0f, ge.data(), D, du.data(), F, 1.0f, a.d_w_down.ptr<float>() + e * D * F, F);
    gemm(gi, true, false, F, D, R, 1.0f, ga.data(), F, xe.data(), D, 1.0f, a.d_w_gate.ptr<float>() + e * F * D, D);
    gemm(gi, true, false, F, D, R, 1.0f, ub.data(), F, xe.data(), D, 1.0f, a.d_w_up.ptr<float>() + e * F * D, D);
    // d_x rows of this expert: d_a·gate + d_b·up, scattered back in token order
    std::vector<float> dxe(static_cast<size_t>(R * D));
    gemm(gi, false, false, R, D, F, 1.0f, ga.data(), F, Wg, D, 0.0f, dxe.data(), D);
    gemm(gi, false, false, R, D, F, 1.0f, ub.data(), F, Wu, D, 1.0f, dxe.data(), D);
    for (int64_t r = 0; r < R; ++r) {
      float* dst = cpu::at(a.d_x, {rows[r].first, 0});
      for (int64_t d = 0; d < D; ++d) dst[d] += dxe[r * D + d];
    }
  }
  return Status::ok();
}

}  // namespace braid

// backends/cpu/moe.cpp — mixture-of-experts router and expert FFN (core/contracts/moe.h;
// hf-models-spec §2.7, HF `JambaSparseMoeBlock` / Mixtral's router).
//
// moe_router (softmax_topk): per token m,
//   p = softmax(logits[m, :]) over all X experts, fp32, max-subtracted;
//   (weights, ids)[m] = the k largest p, descending; ties rank the lower expert index first.
//   With `renormalize` the k weights are divided by their sum (Mixtral); off for Jamba.
// Top-k is k passes of "first strict maximum among the experts not yet taken", which is the
// stable descending order by definition.
//
// moe_experts:
//   out[m] = Σ_{i<k} weights[m, i] · down_e( silu(gate_e · x[m]) ⊙ (up_e · x[m]) ),  e = ids[m, i]
// Tokens are grouped by expert (experts in increasing index, HF eager's order), each group's
// rows are gathered into a dense [Me, D] block and the three expert products run through
// gemm_nt; the weighted outputs are accumulated into `out` in fp32. A token routed twice to
// the same expert simply appears twice in that expert's group.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::moe_router(const MoeRouterArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("moe_router", {{&a.logits, "logits"}}));
  const int64_t M = a.logits.dim(0), X = a.logits.dim(1), k = a.weights.dim(1);
  float* weights = a.weights.ptr<float>();  // [M, k] contiguous (validate)
  int32_t* ids = a.ids.ptr<int32_t>();      // [M, k] contiguous (validate)

#pragma omp parallel for if (M * X >= cpu::kOmpMinWork)
  for (int64_t m = 0; m < M; ++m) {
    const float* l = a.logits.ptr<float>() + m * a.logits.stride[0];  // [X]
    // p = softmax(l), fp32
    std::vector<float> p(l, l + X);
    cpu::softmax_inplace(p.data(), X);

    // Top-k, descending, ties → lower index: pass i takes the first strict maximum left.
    std::vector<bool> taken(static_cast<size_t>(X), false);
    float picked = 0.0f;  // Σ of the k chosen weights
    for (int64_t i = 0; i < k; ++i) {
      int64_t best = -1;
      for (int64_t e = 0; e < X; ++e)
        if (!taken[e] && (best < 0 || p[e] > p[best])) best = e;
      taken[best] = true;
      weights[m * k + i] = p[best];
      ids[m * k + i] = static_cast<int32_t>(best);
      picked += p[best];
    }
    if (a.renormalize)
      for (int64_t i = 0; i < k; ++i) weights[m * k + i] /= picked;
  }
  return Status::ok();
}

Status CpuBackend::moe_experts(const MoeExpertsArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("moe_experts", {{&a.x, "x"},
                                                          {&a.w_gate, "w_gate"},
                                                          {&a.w_up, "w_up"},
                                                          {&a.w_down, "w_down"},
                                                          {&a.out, "out"}}));
  const int64_t M = a.x.dim(0), D = a.x.dim(1);
  const int64_t X = a.w_gate.dim(0), F = a.w_gate.dim(1), k = a.ids.dim(1);
  auto id_at = [&](int64_t m, int64_t i) { return static_cast<int64_t>(a.ids.ptr<int32_t>()[a.ids.offset({m, i})]); };
  auto weight_at = [&](int64_t m, int64_t i) { return a.weights.ptr<float>()[a.weights.offset({m, i})]; };

  // Expert ids are data: check them all before writing anything.
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < k; ++i)
      if (id_at(m, i) < 0 || id_at(m, i) >= X)
        return invalid_argument("moe_experts: expert id ", id_at(m, i), " at [", m, ", ", i, "] is outside [0, X = ", X, ")");

  // Group (token, slot) pairs by expert, tokens in increasing order within each group.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> routed(static_cast<size_t>(X));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < k; ++i) routed[id_at(m, i)].push_back({m, i});

  // Experts run one after another (they all accumulate into `out`); the parallelism, if any,
  // is inside the GEMM helper. Each token's sum is therefore taken in increasing expert index.
  float* out = a.out.ptr<float>();  // [M, D] contiguous, accumulated in fp32
  std::fill_n(out, M * D, 0.0f);
  for (int64_t e = 0; e < X; ++e) {
    const int64_t Me = static_cast<int64_t>(routed[e].size());  // tokens routed to expert e
    if (Me == 0) continue;
    const float* wg = a.w_gate.ptr<float>() + e * F * D;  // [F, D]
    const float* wu = a.w_up.ptr<float>() + e * F * D;    // [F, D]
    const float* wd = a.w_down.ptr<float>() + e * D * F;  // [D, F]

    std::vector<float> xe(static_cast<size_t>(Me * D));  // gathered rows [Me, D]
    for (int64_t r = 0; r < Me; ++r) {
      const float* xr = a.x.ptr<float>() + routed[e][r].first * a.x.stride[0];
      std::copy(xr, xr + D, xe.begin() + r * D);
    }
    std::vector<float> gate(static_cast<size_t>(Me * F)), up(static_cast<size_t>(Me * F));  // [Me, F]
    gemm_nt(options().gemm, Me, F, D, 1.0f, xe.data(), D, wg, D, 0.0f, gate.data(), F);
    gemm_nt(options().gemm, Me, F, D, 1.0f, xe.data(), D, wu, D, 0.0f, up.data(), F);
    for (int64_t q = 0; q < Me * F; ++q) gate[q] = cpu::silu(gate[q]) * up[q];  // hidden [Me, F]
    std::vector<float> ye(static_cast<size_t>(Me * D));                       // expert output [Me, D]
    gemm_nt(options().gemm, Me, D, F, 1.0f, gate.data(), F, wd, F, 0.0f, ye.data(), D);

    // out[m] += weights[m, i] · ye[r]  (scatter back; rows of one group are distinct slots)
    for (int64_t r = 0; r < Me; ++r) {
      const auto [m, i] = routed[e][r];
      const float w = weight_at(m, i);
      for (int64_t d = 0; d < D; ++d) out[m * D + d] += w * ye[r * D + d];
    }
  }
  return Status::ok();
}

}  // namespace braid

// backends/cpu/attention_backward.cpp — backward of cache-free causal GQA attention
// (core/contracts/attention.h). Per row b and query head i (kv head j = i / (Hq/Hkv)), with the
// n valid tokens of the row, the probabilities are recomputed as in the forward:
//   P = causal_softmax(scale · Q·Kᵀ)         [n, n]
//   dP = dO·Vᵀ;  dS = P ⊙ (dP − rowsum(P ⊙ dP))
//   dQ = scale · dS·K;  dK += scale · dSᵀ·Q;  dV += Pᵀ·dO   (summed over the heads of j)
// One task per (b, j) owns d_k and d_v of that kv head, so the GQA sums never race.
// Rows t ≥ n (padding) get zero gradients.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"
#include "backends/cpu/gemm.h"

namespace braid {

Status CpuBackend::attention_backward(const AttentionBackwardArgs& a) {
  const AttentionArgs& f = a.fwd;
  BRAID_RETURN_IF_ERROR(cpu::require_f32("attention_backward", {{&f.q, "q"}, {&f.k, "k"}, {&f.v, "v"}, {&a.d_o, "d_o"},
                                                                {&a.d_q, "d_q"}, {&a.d_k, "d_k"}, {&a.d_v, "d_v"}}));
  const int64_t B = f.q.dim(0), T = f.q.dim(1), Hq = f.q.dim(2), P = f.q.dim(3), Hkv = f.k.dim(2);
  const int64_t group = Hq / Hkv;
  const float scale = f.scale == 0.0f ? 1.0f / std::sqrt(static_cast<float>(P)) : f.scale;
  std::vector<int64_t> len;
  BRAID_RETURN_IF_ERROR(cpu::read_lengths(f.lengths, B, T, len));
  const GemmImpl gi = options().gemm;

#pragma omp parallel for collapse(2) if (B * Hq * T * T * P >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < Hkv; ++j) {
      const int64_t n = len[b];
      for (int64_t t = 0; t < T; ++t) {
        std::fill_n(cpu::at(a.d_k, {b, t, j, 0}), P, 0.0f);
        std::fill_n(cpu::at(a.d_v, {b, t, j, 0}), P, 0.0f);
        for (int64_t i = j * group; i < (j + 1) * group; ++i) std::fill_n(cpu::at(a.d_q, {b, t, i, 0}), P, 0.0f);
      }
      if (n == 0) continue;
      const float* K = cpu::at(f.k, {b, 0, j, 0});
      const float* V = cpu::at(f.v, {b, 0, j, 0});
      std::vector<float> p(static_cast<size_t>(n * n)), dp(static_cast<size_t>(n * n));
      for (int64_t i = j * group; i < (j + 1) * group; ++i) {
        const float* Q = cpu::at(f.q, {b, 0, i, 0});
        const float* dO = cpu::at(a.d_o, {b, 0, i, 0});
        // P = causal softmax(scale · Q·Kᵀ)   [n, n]
        gemm_nt(gi, n, n, P, scale, Q, f.q.stride[1], K, f.k.stride[1], 0.0f, p.data(), n);
        for (int64_t t = 0; t < n; ++t) {
          cpu::softmax_inplace(p.data() + t * n, t + 1);
          std::fill(p.data() + t * n + t + 1, p.data() + (t + 1) * n, 0.0f);
        }
        // dP = dO·Vᵀ, then dS in place of dP
        gemm_nt(gi, n, n, P, 1.0f, dO, a.d_o.stride[1], V, f.v.stride[1], 0.0f, dp.data(), n);
        for (int64_t t = 0; t < n; ++t) {
          float* pr = p.data() + t * n;
          float* dr = dp.data() + t * n;
          float dot = 0.0f;
          for (int64_t u = 0; u <= t; ++u) dot += pr[u] * dr[u];
          for (int64_t u = 0; u < n; ++u) dr[u] = pr[u] * (dr[u] - dot);
        }
        gemm(gi, false, false, n, P, n, scale, dp.data(), n, K, f.k.stride[1], 0.0f, cpu::at(a.d_q, {b, 0, i, 0}),
             a.d_q.stride[1]);
        gemm(gi, true, false, n, P, n, scale, dp.data(), n, Q, f.q.stride[1], 1.0f, cpu::at(a.d_k, {b, 0, j, 0}),
             a.d_k.stride[1]);
        gemm(gi, true, false, n, P, n, 1.0f, p.data(), n, dO, a.d_o.stride[1], 1.0f, cpu::at(a.d_v, {b, 0, j, 0}),
             a.d_v.stride[1]);
      }
    }
  return Status::ok();
}

}  // namespace braid

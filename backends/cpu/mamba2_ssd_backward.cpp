// backends/cpu/mamba2_ssd_backward.cpp — backward of the Mamba2 SSD by the adjoint recurrence,
// chunk by chunk with recomputation (core/contracts/mamba2_ssd.h).
//
// The function differentiated is the recurrence itself (any chunk size Q gives it), per row b,
// head h (group g), with Δ[t] = clamp(softplus(v), dt_min, dt_max), v = dt + dt_bias,
// e[t] = exp(Δ[t]·A[h]) and the state S[p, n]:
//   S[t] = e[t]·S[t−1] + Δ[t]·x[t,p]·B[t,n];  ŷ[t,p] = Σ_n S[t]·C[t] + D·x;  y = ŷ·silu(z)
// Adjoint, t from the last valid token down (Λ[p, n] = gradient of S[t]):
//   g = d_y·silu(z);  d_z = d_y·ŷ·silu'(z);  Λ += g ⊗ C[t]
//   d_x[t,p] = Δ·Σ_n Λ·B[t] + D·g;  d_B[t,n] += Δ·Σ_p Λ·x;  d_C[t,n] += Σ_p g·S[t]
//   d_Δ = Σ_{p,n} Λ·(A·e·S[t−1] + x·B[t]);  d_A += Σ Λ·Δ·e·S[t−1];  d_D += Σ_p g·x
//   d_dt = d_Δ·σ(v) where the clamp is inactive (0 where it clips), 1·d_Δ above the threshold 20
//   Λ ← e[t]·Λ   (after t = 0: d_state)
// States are checkpointed every Q tokens (the contract's chunk_size) and recomputed per chunk
// before its adjoint sweep: scratch O(P·N·(T/Q + Q)) per (b, h).
// Parallel over rows b: a row owns d_B[b], d_C[b] (which sum over the heads of a group);
// d_A, d_D and d_dt_bias are summed per row and added in row order afterwards.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {
namespace {

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

Status CpuBackend::mamba2_ssd_backward(const Mamba2SsdBackwardArgs& a) {
  const Mamba2SsdArgs& f = a.fwd;
  Mamba2SsdArgs check = f;
  check.y = a.d_y;
  BRAID_RETURN_IF_ERROR(cpu::require_f32_scan("mamba2_ssd_backward", check));
  BRAID_RETURN_IF_ERROR(cpu::require_f32("mamba2_ssd_backward", {{&a.d_x, "d_x"}, {&a.d_dt, "d_dt"}, {&a.d_Bm, "d_Bm"},
                                                                 {&a.d_Cm, "d_Cm"}, {&a.d_z, "d_z"}}));
  const int64_t B = f.x.dim(0), T = f.x.dim(1), H = f.x.dim(2), P = f.x.dim(3), G = f.Bm.dim(2), N = f.Bm.dim(3);
  const int64_t heads_per_group = H / G, Q = std::max<int64_t>(1, f.chunk_size), PN = P * N;
  std::vector<int64_t> len;
  BRAID_RETURN_IF_ERROR(cpu::read_lengths(f.lengths, B, T, len));
  std::vector<float> pA(static_cast<size_t>(B * H), 0.0f), pD(static_cast<size_t>(B * H), 0.0f),
      pbias(static_cast<size_t>(B * H), 0.0f);

#pragma omp parallel for if (B * T * H * PN >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = len[b], chunks = (n + Q - 1) / Q;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t g = 0; g < G; ++g) {
        std::fill_n(cpu::at(a.d_Bm, {b, t, g, 0}), N, 0.0f);
        std::fill_n(cpu::at(a.d_Cm, {b, t, g, 0}), N, 0.0f);
      }
    std::vector<float> ckpt(static_cast<size_t>(std::max<int64_t>(chunks, 1) * PN));
    std::vector<float> ss(static_cast<size_t>((Q + 1) * PN));  // S[t0−1 … t0+L−1]
    std::vector<float> lam(static_cast<size_t>(PN)), S(static_cast<size_t>(PN));
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / heads_per_group;
      const float Ah = f.A.ptr<float>()[h * f.A.stride[0]];
      const float Dh = cpu::vec_or(f.D, h, 0.0f), bias = cpu::vec_or(f.dt_bias, h, 0.0f);
      auto v_of = [&](int64_t t) { return *cpu::at(f.dt, {b, t, h}) + bias; };
      auto delta = [&](int64_t t) { return std::clamp(cpu::softplus(v_of(t)), f.dt_min, f.dt_max); };
      auto step = [&](int64_t t, const float* prev, float* next) {
        const float dl = delta(t), e = std::exp(dl * Ah);
        const float* Bt = cpu::at(f.Bm, {b, t, g, 0});
        const float* xt = cpu::at(f.x, {b, t, h, 0});
        for (int64_t p = 0; p < P; ++p)
          for (int64_t k = 0; k < N; ++k) next[p * N + k] = e * prev[p * N + k] + dl * xt[p] * Bt[k];
      };
      for (int64_t i = 0; i < PN; ++i) S[i] = f.state.defined() ? f.state.ptr<float>()[f.state.offset({b, h, 0, 0}) + i] : 0.0f;
      for (int64_t c = 0; c < chunks; ++c) {
        std::copy(S.begin(), S.end(), ckpt.begin() + c * PN);
        for (int64_t t = c * Q; t < std::min(n, (c + 1) * Q); ++t) step(t, S.data(), S.data());
      }
      for (int64_t t = n; t < T; ++t) {
        std::fill_n(cpu::at(a.d_x, {b, t, h, 0}), P, 0.0f);
        *cpu::at(a.d_dt, {b, t, h}) = 0.0f;
        if (f.z.defined()) std::fill_n(cpu::at(a.d_z, {b, t, h, 0}), P, 0.0f);
      }
      std::fill(lam.begin(), lam.end(), 0.0f);
      for (int64_t c = chunks - 1; c >= 0; --c) {
        const int64_t t0 = c * Q, L = std::min(n, t0 + Q) - t0;
        std::copy_n(ckpt.begin() + c * PN, PN, ss.begin());  // ss row i holds S[t0 + i − 1]
        for (int64_t i = 0; i < L; ++i) step(t0 + i, ss.data() + i * PN, ss.data() + (i + 1) * PN);
        for (int64_t i = L - 1; i >= 0; --i) {
          const int64_t t = t0 + i;
          const float* Sp = ss.data() + i * PN;        // S[t−1]
          const float* St = ss.data() + (i + 1) * PN;  // S[t]
          const float* Bt = cpu::at(f.Bm, {b, t, g, 0});
          const float* Ct = cpu::at(f.Cm, {b, t, g, 0});
          const float* xt = cpu::at(f.x, {b, t, h, 0});
          float* dB = cpu::at(a.d_Bm, {b, t, g, 0});
          float* dC = cpu::at(a.d_Cm, {b, t, g, 0});
          float* dx = cpu::at(a.d_x, {b, t, h, 0});
          const float dl = delta(t), e = std::exp(dl * Ah);
          float ddelta = 0.0f, dA = 0.0f;
          for (int64_t p = 0; p < P; ++p) {
            const float dy = *cpu::at(a.d_y, {b, t, h, p});
            float gp = dy;
            if (f.z.defined()) {
              float yhat = Dh * xt[p];
              for (int64_t k = 0; k < N; ++k) yhat += St[p * N + k] * Ct[k];
              const float zv = *cpu::at(f.z, {b, t, h, p}), sz = sigmoid(zv);
              gp = dy * zv * sz;
              *cpu::at(a.d_z, {b, t, h, p}) = dy * yhat * sz * (1.0f + zv * (1.0f - sz));
            }
            pD[b * H + h] += gp * xt[p];
            float dxp = Dh * gp;
            for (int64_t k = 0; k < N; ++k) {
              float& l = lam[p * N + k];
              l += gp * Ct[k];
              dC[k] += gp * St[p * N + k];
              dxp += l * dl * Bt[k];
              dB[k] += l * dl * xt[p];
              ddelta += l * (Ah * e * Sp[p * N + k] + xt[p] * Bt[k]);
              dA += l * dl * e * Sp[p * N + k];
              l *= e;
            }
            dx[p] = dxp;
          }
          pA[b * H + h] += dA;
          const float v = v_of(t), sp = cpu::softplus(v);
          const bool clamped = sp < f.dt_min || sp > f.dt_max;
          const float ddt = clamped ? 0.0f : (v > 20.0f ? ddelta : ddelta * sigmoid(v));
          pbias[b * H + h] += ddt;
          *cpu::at(a.d_dt, {b, t, h}) = ddt;
        }
      }
      if (a.d_state.defined())
        std::copy(lam.begin(), lam.end(), a.d_state.ptr<float>() + a.d_state.offset({b, h, 0, 0}));
    }
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      if (a.d_A.defined()) a.d_A.ptr<float>()[h] += pA[b * H + h];
      if (a.d_D.defined()) a.d_D.ptr<float>()[h] += pD[b * H + h];
      if (a.d_dt_bias.defined()) a.d_dt_bias.ptr<float>()[h] += pbias[b * H + h];
    }
  return Status::ok();
}

}  // namespace braid

// backends/cpu/mamba1_scan.cpp — Mamba1 selective scan and its one-token step
// (core/contracts/mamba1_scan.h; hf-models-spec §2.6 / §4.3; Gu & Dao 2023, Algorithm 2;
// the contract of mamba_ssm's `selective_scan_fn`, evaluated like its `selective_scan_ref`).
//
// For row b, channel d, state index n, token t < lengths[b]:
//   Δ        = softplus(dt[b,t,d] + dt_bias[d])                 (no softplus when !dt_softplus)
//   h[n]    ← exp(Δ·A[d,n]) · h[n] + (Δ·B[b,t,n]) · x[b,t,d]
//   y[b,t,d] = Σ_n h[n] · C[b,t,n] + D[d] · x[b,t,d]
//   y[b,t,d] ← y[b,t,d] · silu(z[b,t,d])                        (when z is present)
// h starts from state[b,d,:] (zero without a state) and is written back after the row's last
// valid token. Padding tokens (t ≥ lengths[b]) output zero and never touch h.
//
// A sequential recurrence per (b, d) in fp32 — the executable definition, not a parallel scan.
// The product order (Δ·B)·x, then h·C, then + D·x, then the gate, follows HF's slow path.
// Deliberate difference from HF 5.17: a state is continued for any T (HF restarts from zero
// when several tokens continue a cache, spec §6.5).
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"
#include "backends/cpu/fast/fast_paths.h"

namespace braid {
namespace {

// Δ for one (b, t, d): bias, then softplus unless the caller already applied it.
float mamba1_delta(const Mamba1ScanArgs& a, int64_t b, int64_t t, int64_t d) {
  const float v = *cpu::at(a.dt, {b, t, d}) + cpu::vec_or(a.dt_bias, d, 0.0f);
  return a.dt_softplus ? cpu::softplus(v) : v;
}

// D skip and z gate applied to the state readout y = Σ_n h·C of one (b, t, d).
float mamba1_output(const Mamba1ScanArgs& a, int64_t b, int64_t t, int64_t d, float y, float xv) {
  y += cpu::vec_or(a.D, d, 0.0f) * xv;
  if (a.z.defined()) y *= cpu::silu(*cpu::at(a.z, {b, t, d}));
  return y;
}

}  // namespace

Status CpuBackend::mamba1_scan(const Mamba1ScanArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32_scan("mamba1_scan", a));
  const int64_t B = a.x.dim(0), T = a.x.dim(1), Di = a.x.dim(2), N = a.A.dim(1);
  std::vector<int64_t> n;  // valid tokens per row
  BRAID_RETURN_IF_ERROR(cpu::read_lengths(a.lengths, B, T, n));
  if (opts_.fast_paths && fast::mamba1_scan(a, n)) return Status::ok();  // named fast path
  const float* A = a.A.ptr<float>();  // [Di, N], contiguous (validate)

#pragma omp parallel for collapse(2) if (B * T * Di * N >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < Di; ++d) {
      // h [N]: this channel's state, from `state` or zero.
      std::vector<float> h(static_cast<size_t>(N), 0.0f);
      float* st = a.state.defined() ? a.state.ptr<float>() + (b * Di + d) * N : nullptr;  // [N] of [B, Di, N]
      if (st) h.assign(st, st + N);

      for (int64_t t = 0; t < T; ++t) {
        float* y = a.y.ptr<float>() + (b * T + t) * Di + d;  // y contiguous [B, T, Di]
        if (t >= n[b]) {
          *y = 0.0f;  // padding: zero output, state untouched
          continue;
        }
        const float xv = *cpu::at(a.x, {b, t, d});
        const float delta = mamba1_delta(a, b, t, d);
        const float* Bt = cpu::at(a.Bm, {b, t, 0});  // [N]
        const float* Ct = cpu::at(a.Cm, {b, t, 0});  // [N]
        float acc = 0.0f;                             // Σ_n h[n]·C[n]
        for (int64_t s = 0; s < N; ++s) {
          h[s] = std::exp(delta * A[d * N + s]) * h[s] + (delta * Bt[s]) * xv;
          acc += h[s] * Ct[s];
        }
        *y = mamba1_output(a, b, t, d, acc, xv);
      }
      if (st) std::copy(h.begin(), h.end(), st);
    }
  return Status::ok();
}

Status CpuBackend::mamba1_step(const Mamba1ScanArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32_scan("mamba1_step", a));
  const int64_t B = a.x.dim(0), Di = a.x.dim(2), N = a.A.dim(1);
  if (opts_.fast_paths && fast::mamba1_scan(a, std::vector<int64_t>(B, 1))) return Status::ok();  // named fast path
  const float* A = a.A.ptr<float>();  // [Di, N]

  // One token (t = 0), updating state [B, Di, N] in place.
#pragma omp parallel for collapse(2) if (B * Di * N >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < Di; ++d) {
      float* h = a.state.ptr<float>() + (b * Di + d) * N;  // [N]
      const float xv = *cpu::at(a.x, {b, 0, d});
      const float delta = mamba1_delta(a, b, 0, d);
      const float* Bt = cpu::at(a.Bm, {b, 0, 0});  // [N]
      const float* Ct = cpu::at(a.Cm, {b, 0, 0});  // [N]
      float acc = 0.0f;
      for (int64_t s = 0; s < N; ++s) {
        const float dA = std::exp(delta * A[d * N + s]);  // decay of this state entry
        const float dBx = (delta * Bt[s]) * xv;          // input of this state entry
        h[s] = dA * h[s] + dBx;
        acc += h[s] * Ct[s];
      }
      a.y.ptr<float>()[b * Di + d] = mamba1_output(a, b, 0, d, acc, xv);
    }
  return Status::ok();
}

}  // namespace braid

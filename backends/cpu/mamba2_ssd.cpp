// backends/cpu/mamba2_ssd.cpp — Mamba2 state-space dual (SSD) scan in chunked form, and the
// sequential one-token step (core/contracts/mamba2_ssd.h; hf-models-spec §5.4–5.6;
// Dao & Gu 2024, "Transformers are SSMs", §6 and Listing 1 `ssd_minimal_discrete`; the
// contract of mamba_ssm's `mamba_chunk_scan_combined`).
//
// The recurrence, per row b, head h (group g = h / (H/G)), token t < lengths[b]:
//   Δ_t       = clamp(softplus(dt[t,h] + dt_bias[h]), dt_min, dt_max),   ã_t = Δ_t · A[h]
//   S[p,n]   ← exp(ã_t) · S[p,n] + Δ_t · B_t[g,n] · x_t[h,p]
//   y_t[h,p]  = Σ_n S[p,n] · C_t[g,n] + D[h] · x_t[h,p],   then · silu(z_t[h,p]) when z is present
//
// `mamba2_ssd` evaluates it chunk by chunk (Q tokens; the last chunk may be shorter). Inside
// a chunk of L tokens i, j ∈ [0, L), with segment decays
//   seg[i, j] = exp(Σ_{k=j+1..i} ã_k)   (j ≤ i),      in[i] = exp(Σ_{k=0..i} ã_k)
// and S the state entering the chunk:
//   Y_off[i]  = in[i] · (S · C_i)                                    inter-chunk term
//   Y_diag[i] = Σ_{j≤i} (C_i · B_j) · seg[i, j] · Δ_j · x_j           intra-chunk quadratic term
//   S         ← in[L−1] · S + Σ_j seg[L−1, j] · Δ_j · x_j ⊗ B_j       state passed to the next chunk
// For L = 4 the decay matrix seg (the paper's L = exp(segsum(ã))) is lower triangular:
//        j=0            j=1        j=2     j=3
//   i=0  1              ·          ·       ·
//   i=1  e^{ã1}         1          ·       ·
//   i=2  e^{ã1+ã2}      e^{ã2}     1       ·
//   i=3  e^{ã1+ã2+ã3}   e^{ã2+ã3}  e^{ã3}  1
// and in[i] = e^{ã0+…+ãi} is seg extended by one column to the state entering the chunk.
// in[i] and seg[L−1, j] are the "exp(cum_i)" and "exp(cum_last − cum_j)" of the paper. Each
// segment sum is accumulated directly rather than as a difference of two cumulative sums, so a
// long chunk loses no precision (HF's `segment_sum` does the same).
// Padding tokens t ≥ lengths[b] behave as Δ = 0 and x = 0 (no decay, no input; this is how HF
// pads T to a multiple of Q): the chunks stop at the last valid token and padding outputs zero.
// The four matrix products of a chunk go through gemm_nt; their K-major operands Xᵀ and Bᵀ
// are copied into scratch.
//
// `mamba2_step` is the sequential recurrence for one token, written independently so the
// chunked == sequential tests compare two formulations. Deliberate difference from HF 5.17:
// the Δ clamp applies in the step too (HF skips it in decode, spec §5.5).
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"
#include "backends/cpu/fast/fast_paths.h"

namespace braid {
namespace {

// Δ of head h at (b, t): bias, softplus, clamp to [dt_min, dt_max].
float mamba2_delta(const Mamba2SsdArgs& a, int64_t b, int64_t t, int64_t h) {
  const float v = *cpu::at(a.dt, {b, t, h}) + cpu::vec_or(a.dt_bias, h, 0.0f);
  return std::clamp(cpu::softplus(v), a.dt_min, a.dt_max);
}

// D skip and z gate on one output element, given the state readout y = Σ_n S·C.
float mamba2_output(const Mamba2SsdArgs& a, int64_t b, int64_t t, int64_t h, int64_t p, float y, float xv) {
  y += cpu::vec_or(a.D, h, 0.0f) * xv;
  if (a.z.defined()) y *= cpu::silu(*cpu::at(a.z, {b, t, h, p}));
  return y;
}

}  // namespace

Status CpuBackend::mamba2_ssd(const Mamba2SsdArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32_scan("mamba2_ssd", a));
  const int64_t B = a.x.dim(0), T = a.x.dim(1), H = a.x.dim(2), P = a.x.dim(3);
  const int64_t G = a.Bm.dim(2), N = a.Bm.dim(3);
  const int64_t Q = a.chunk_size;
  std::vector<int64_t> n;  // valid tokens per row
  BRAID_RETURN_IF_ERROR(cpu::read_lengths(a.lengths, B, T, n));
  if (opts_.fast_paths && fast::mamba2_ssd(a, n)) return Status::ok();  // named fast path
  const GemmImpl impl = options().gemm;

#pragma omp parallel for collapse(2) if (B * T * H * P * N >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / G);                                    // B/C group of head h
      const float A = a.A.ptr<float>()[h * a.A.stride[0]];
      float* y = a.y.ptr<float>() + ((b * T) * H + h) * P;             // y[b, 0, h, :], rows H·P apart
      const int64_t ldy = H * P;
      float* st = a.state.defined() ? a.state.ptr<float>() + (b * H + h) * P * N : nullptr;  // [P, N]
      std::vector<float> S(static_cast<size_t>(P * N), 0.0f);            // [P, N] state entering the chunk
      if (st) S.assign(st, st + P * N);

      for (int64_t t = n[b]; t < T; ++t) std::fill_n(y + t * ldy, P, 0.0f);  // padding outputs

      for (int64_t c0 = 0; c0 < n[b]; c0 += Q) {
        const int64_t L = std::min(Q, n[b] - c0);  // tokens in this chunk
        const float* Cc = cpu::at(a.Cm, {b, c0, g, 0});  // [L, N], rows Cm.stride[1] apart
        const float* Bc = cpu::at(a.Bm, {b, c0, g, 0});  // [L, N], rows Bm.stride[1] apart
        float* Yc = y + c0 * ldy;                         // [L, P], rows ldy apart

        // Stage 1: Δ_i and ã_i = Δ_i·A.
        std::vector<float> delta(static_cast<size_t>(L)), da(static_cast<size_t>(L));  // [L]
        for (int64_t i = 0; i < L; ++i) {
          delta[i] = mamba2_delta(a, b, c0 + i, h);
          da[i] = delta[i] * A;
        }
        // Stage 2: decays. in[i] = exp(ã_0 + … + ã_i); seg[i, j] = exp(ã_{j+1} + … + ã_i), j ≤ i.
        std::vector<float> in(static_cast<size_t>(L));        // [L]
        std::vector<float> seg(static_cast<size_t>(L * L), 0.0f);  // [L, L], lower triangle
        float cum = 0.0f;
        for (int64_t i = 0; i < L; ++i) {
          cum += da[i];
          in[i] = std::exp(cum);
          float sum = 0.0f;  // Σ_{k=j+1..i} ã_k, growing as j walks down from i
          seg[i * L + i] = 1.0f;
          for (int64_t j = i - 1; j >= 0; --j) {
            sum += da[j + 1];
            seg[i * L + j] = std::exp(sum);
          }
        }

        // Stage 3: inter-chunk term. Y = C·Sᵀ [L, P] = [L, N]·[P, N]ᵀ, row i scaled by in[i].
        gemm_nt(impl, L, P, N, 1.0f, Cc, a.Cm.stride[1], S.data(), N, 0.0f, Yc, ldy);
        for (int64_t i = 0; i < L; ++i)
          for (int64_t p = 0; p < P; ++p) Yc[i * ldy + p] *= in[i];

        // Stage 4: intra-chunk term. W[i, j] = (C_i·B_j)·seg[i, j]·Δ_j (j ≤ i), Y += W·X.
        std::vector<float> W(static_cast<size_t>(L * L));  // [L, L]; C·Bᵀ first
        gemm_nt(impl, L, L, N, 1.0f, Cc, a.Cm.stride[1], Bc, a.Bm.stride[1], 0.0f, W.data(), L);
        for (int64_t i = 0; i < L; ++i)
          for (int64_t j = 0; j < L; ++j) W[i * L + j] = j <= i ? W[i * L + j] * seg[i * L + j] * delta[j] : 0.0f;
        std::vector<float> xT(static_cast<size_t>(P * L));  // Xᵀ [P, L]
        for (int64_t j = 0; j < L; ++j) {
          const float* xr = cpu::at(a.x, {b, c0 + j, h, 0});  // [P]
          for (int64_t p = 0; p < P; ++p) xT[p * L + j] = xr[p];
        }
        gemm_nt(impl, L, P, L, 1.0f, W.data(), L, xT.data(), L, 1.0f, Yc, ldy);  // [L, P] += [L, L]·[P, L]ᵀ

        // Stage 5: D skip and z gate, in place on the chunk's outputs.
        for (int64_t i = 0; i < L; ++i)
          for (int64_t p = 0; p < P; ++p) Yc[i * ldy + p] = mamba2_output(a, b, c0 + i, h, p, Yc[i * ldy + p], xT[p * L + i]);

        // Stage 6: state passing. S ← in[L−1]·S + Xwᵀ·B, Xw[j, p] = seg[L−1, j]·Δ_j·x_j[p].
        std::vector<float> xwT(static_cast<size_t>(P * L));  // Xwᵀ [P, L]
        for (int64_t p = 0; p < P; ++p)
          for (int64_t j = 0; j < L; ++j) xwT[p * L + j] = seg[(L - 1) * L + j] * delta[j] * xT[p * L + j];
        std::vector<float> bT(static_cast<size_t>(N * L));  // Bᵀ [N, L]
        for (int64_t j = 0; j < L; ++j)
          for (int64_t s = 0; s < N; ++s) bT[s * L + j] = Bc[j * a.Bm.stride[1] + s];
        for (float& v : S) v *= in[L - 1];
        gemm_nt(impl, P, N, L, 1.0f, xwT.data(), L, bT.data(), L, 1.0f, S.data(), N);  // [P, N] += [P, L]·[N, L]ᵀ
      }
      if (st) std::copy(S.begin(), S.end(), st);
    }
  return Status::ok();
}

Status CpuBackend::mamba2_step(const Mamba2SsdArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32_scan("mamba2_step", a));
  const int64_t B = a.x.dim(0), H = a.x.dim(2), P = a.x.dim(3);
  const int64_t G = a.Bm.dim(2), N = a.Bm.dim(3);
  if (opts_.fast_paths && fast::mamba2_ssd(a, std::vector<int64_t>(B, 1))) return Status::ok();  // named fast path

  // One token (t = 0), updating state [B, H, P, N] in place.
#pragma omp parallel for collapse(2) if (B * H * P * N >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / G);
      const float delta = mamba2_delta(a, b, 0, h);
      const float dA = std::exp(delta * a.A.ptr<float>()[h * a.A.stride[0]]);  // scalar decay of head h
      const float* Bt = cpu::at(a.Bm, {b, 0, g, 0});                          // [N]
      const float* Ct = cpu::at(a.Cm, {b, 0, g, 0});                          // [N]
      const float* xr = cpu::at(a.x, {b, 0, h, 0});                           // [P]
      for (int64_t p = 0; p < P; ++p) {
        float* Sp = a.state.ptr<float>() + ((b * H + h) * P + p) * N;  // [N]
        float acc = 0.0f;                                               // Σ_n S·C
        for (int64_t s = 0; s < N; ++s) {
          Sp[s] = dA * Sp[s] + (delta * Bt[s]) * xr[p];
          acc += Sp[s] * Ct[s];
        }
        a.y.ptr<float>()[(b * H + h) * P + p] = mamba2_output(a, b, 0, h, p, acc, xr[p]);
      }
    }
  return Status::ok();
}

}  // namespace braid

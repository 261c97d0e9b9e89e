// backends/cpu/fast/mamba2_ssd.cpp — fast path of the Mamba2 SSD scan and its step
// (core/contracts/mamba2_ssd.h; the specification is backends/cpu/mamba2_ssd.cpp).
//
// Shapes: x, z, y [B, T, H, P]; dt [B, T, H]; B, C [B, T, G, N]; A, D, dt_bias [H];
// state [B, H, P, N]. Head h reads group g = h / (H/G).
//
// Formulation: the sequential recurrence S ← a_t·S + Δ_t·x_t ⊗ B_t (a_t = exp(Δ_t·A) is a
// scalar per head and token) with the state kept in rescaled form S = c·Ŝ, c = exp(λ). A token
// then costs two FMAs per state element instead of a multiply and two FMAs:
//   λ ← λ + Δ_t·A,   Ŝ[p, :] += (Δ_t·x_t[p] / c) · B_t,   y_t[p] = c · (Ŝ[p, :] · C_t)
// When |λ| would pass kMaxLogScale the token instead folds the scale back into the state
// (Ŝ ← c·Ŝ + Δ_t·x_t ⊗ B_t, λ ← 0), so 1/c stays within e^±30 and nothing overflows; the end
// of the row folds it once more before the state is written. Every term of Ŝ·C times c is a
// term of the plain recurrence's S·C, so the rounding is that of the reference step.
// This is the same function as the chunked reference up to fp32 rounding (the contract's
// "any Q" statement, §5.6); chunk_size is not used here.
//
// Loop order: (b, h) in parallel → pairs of tokens → pairs of rows p → N in 8-lane vectors.
// Two tokens per pass halve the loads and stores of Ŝ (P×N fp32 = 32 KB at P 64, N 128, one
// L1); two rows share each load of B_t and C_t. D skip and z gate run afterwards over the
// token's P outputs in 8-lane vectors. A decode step (T = 1 with a state) runs the folding
// update directly on the state, one pass, no scratch copy. Tails (odd P, odd token count, N % 8) use the same
// kernel with one row, one token or a masked vector.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_common.h"
#include "backends/cpu/fast/fast_paths.h"
#include "backends/cpu/fast/simd_avx2.h"

namespace braid::fast {

#ifdef BRAID_FAST_X86
namespace {

constexpr float kMaxLogScale = 30.0f;  // |λ| bound: 1/c ≤ e^30 ≈ 1e13, far from fp32 overflow

// One token of one head as the kernel sees it.
struct Tok {
  const float* x;   // [P]
  const float* Bt;  // [N]
  const float* Ct;  // [N]
  float* y;         // [P]
  float xs;         // Δ / c: the factor of x[p]·B in the update of Ŝ
  float c;          // readout scale
};

// Rows [p, p + R) of Ŝ [P, N] take TK tokens. kFold: Ŝ ← fold·Ŝ first (the token that resets λ).
template <int R, int TK, bool kFold>
BRAID_AVX2 void rows_tokens(float* S, int64_t N, int64_t p, const Tok* tk, float fold) {
  __m256 xs[TK][R], acc[TK][R];
  for (int k = 0; k < TK; ++k)
    for (int r = 0; r < R; ++r) {
      xs[k][r] = _mm256_set1_ps(tk[k].xs * tk[k].x[p + r]);
      acc[k][r] = _mm256_setzero_ps();
    }
  const __m256 fv = _mm256_set1_ps(fold);
  for (int64_t j = 0; j < N; j += 8) {
    const int w = static_cast<int>(std::min<int64_t>(8, N - j));
    __m256 s[R];
    for (int r = 0; r < R; ++r) {
      s[r] = load8(S + (p + r) * N + j, w);
      if constexpr (kFold) s[r] = _mm256_mul_ps(s[r], fv);
    }
    for (int k = 0; k < TK; ++k) {
      const __m256 bv = load8(tk[k].Bt + j, w), cv = load8(tk[k].Ct + j, w);
      for (int r = 0; r < R; ++r) {
        s[r] = _mm256_fmadd_ps(xs[k][r], bv, s[r]);
        acc[k][r] = _mm256_fmadd_ps(s[r], cv, acc[k][r]);
      }
    }
    for (int r = 0; r < R; ++r) store8(S + (p + r) * N + j, s[r], w);
  }
  for (int k = 0; k < TK; ++k)
    for (int r = 0; r < R; ++r) tk[k].y[p + r] = tk[k].c * hsum8(acc[k][r]);
}

template <int TK, bool kFold>
BRAID_AVX2 void all_rows(float* S, int64_t P, int64_t N, const Tok* tk, float fold) {
  int64_t p = 0;
  for (; p + 1 < P; p += 2) rows_tokens<2, TK, kFold>(S, N, p, tk, fold);
  if (p < P) rows_tokens<1, TK, kFold>(S, N, p, tk, fold);
}

// y ← (y + D·x) · silu(z) over the P outputs of one token.
BRAID_AVX2 void skip_and_gate(float* y, const float* x, const float* z, float D, int64_t P) {
  const __m256 dv = _mm256_set1_ps(D);
  for (int64_t p = 0; p < P; p += 8) {
    const int w = static_cast<int>(std::min<int64_t>(8, P - p));
    __m256 v = _mm256_fmadd_ps(dv, load8(x + p, w), load8(y + p, w));
    if (z) v = _mm256_mul_ps(v, silu8(load8(z + p, w)));
    store8(y + p, v, w);
  }
}

BRAID_AVX2 void scan_head(const Mamba2SsdArgs& a, int64_t b, int64_t h, int64_t len, float* S) {
  const int64_t T = a.x.dim(1), H = a.x.dim(2), P = a.x.dim(3), G = a.Bm.dim(2), N = a.Bm.dim(3);
  const int64_t g = h / (H / G);
  const float A = a.A.ptr<float>()[h * a.A.stride[0]];
  const float D = cpu::vec_or(a.D, h, 0.0f), bias = cpu::vec_or(a.dt_bias, h, 0.0f);
  float* st = a.state.defined() ? a.state.ptr<float>() + (b * H + h) * P * N : nullptr;
  auto token = [&](int64_t t, float delta, float c) {
    return Tok{a.x.ptr<float>() + b * a.x.stride[0] + t * a.x.stride[1] + h * a.x.stride[2],
               a.Bm.ptr<float>() + b * a.Bm.stride[0] + t * a.Bm.stride[1] + g * a.Bm.stride[2],
               a.Cm.ptr<float>() + b * a.Cm.stride[0] + t * a.Cm.stride[1] + g * a.Cm.stride[2],
               a.y.ptr<float>() + ((b * T + t) * H + h) * P, delta / c, c};
  };
  auto gate = [&](int64_t k) {
    skip_and_gate(a.y.ptr<float>() + ((b * T + k) * H + h) * P,
                  a.x.ptr<float>() + b * a.x.stride[0] + k * a.x.stride[1] + h * a.x.stride[2],
                  a.z.defined() ? cpu::at(a.z, {b, k, h, 0}) : nullptr, D, P);
  };
  if (T == 1 && len == 1 && st) {  // decode step: the folding update, in place on the state
    const float d0 = std::clamp(cpu::softplus(*cpu::at(a.dt, {b, 0, h}) + bias), a.dt_min, a.dt_max);
    const Tok tk = token(0, d0, 1.0f);
    all_rows<1, true>(st, P, N, &tk, std::exp(d0 * A));
    gate(0);
    return;
  }
  if (st) std::copy(st, st + P * N, S);
  else std::fill(S, S + P * N, 0.0f);
  float lam = 0.0f;  // λ: the true state is exp(λ)·Ŝ
  int64_t t = 0;
  while (t < len) {
    // Δ and λ of up to two tokens; a token whose λ leaves the bound is folded, alone.
    const float d0 = std::clamp(cpu::softplus(*cpu::at(a.dt, {b, t, h}) + bias), a.dt_min, a.dt_max);
    const float l0 = lam + d0 * A;
    int64_t done = 1;
    if (std::fabs(l0) > kMaxLogScale) {
      const Tok tk = token(t, d0, 1.0f);
      all_rows<1, true>(S, P, N, &tk, std::exp(l0));
      lam = 0.0f;
    } else {
      const float d1 = t + 1 < len ? std::clamp(cpu::softplus(*cpu::at(a.dt, {b, t + 1, h}) + bias), a.dt_min, a.dt_max) : 0.0f;
      const float l1 = l0 + d1 * A;
      if (t + 1 < len && std::fabs(l1) <= kMaxLogScale) {
        const Tok tk[2] = {token(t, d0, std::exp(l0)), token(t + 1, d1, std::exp(l1))};
        all_rows<2, false>(S, P, N, tk, 1.0f);
        lam = l1;
        done = 2;
      } else {
        const Tok tk = token(t, d0, std::exp(l0));
        all_rows<1, false>(S, P, N, &tk, 1.0f);
        lam = l0;
      }
    }
    for (int64_t k = t; k < t + done; ++k) gate(k);
    t += done;
  }
  for (int64_t k = len; k < T; ++k) std::fill_n(a.y.ptr<float>() + ((b * T + k) * H + h) * P, P, 0.0f);
  if (st) {
    const float c = std::exp(lam);
    for (int64_t i = 0; i < P * N; ++i) st[i] = c * S[i];
  }
}

bool unit_inner(const TensorView& v) { return !v.defined() || v.stride[v.ndim - 1] == 1; }

}  // namespace

bool mamba2_ssd(const Mamba2SsdArgs& a, const std::vector<int64_t>& lengths) {
  if (!cpu_has_avx2()) return false;
  for (const TensorView* v : {&a.x, &a.Bm, &a.Cm, &a.z})
    if (!unit_inner(*v)) return false;
  const int64_t B = a.x.dim(0), T = a.x.dim(1), H = a.x.dim(2), P = a.x.dim(3), N = a.Bm.dim(3);
#pragma omp parallel if (B * T * H * P * N >= cpu::kOmpMinWork)
  {
    std::vector<float> S(static_cast<size_t>(P * N));  // Ŝ [P, N] of the head in hand
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) scan_head(a, b, h, lengths[b], S.data());
  }
  return true;
}
#else
bool mamba2_ssd(const Mamba2SsdArgs&, const std::vector<int64_t>&) { return false; }
#endif

}  // namespace braid::fast

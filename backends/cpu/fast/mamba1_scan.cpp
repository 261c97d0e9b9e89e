// backends/cpu/fast/mamba1_scan.cpp — fast path of the Mamba1 selective scan and its step
// (core/contracts/mamba1_scan.h; the specification is backends/cpu/mamba1_scan.cpp).
//
// Shapes: x, dt, z, y [B, T, Di]; B, C [B, T, N]; A [Di, N]; state [B, Di, N].
// Vectorisation: 8 channels d per AVX2 register (the reference walks one channel at a time).
// Loop order: (b, block of 8 channels) in parallel → t → n. Per block the 8×N slices of A
// and of the state are transposed once into [N][8] scratch, so the inner loop over n does
//   h[n] ← exp(Δ·A[n]) · h[n] + (Δ·x) · B[t, n]       (8 lanes; B, C broadcast)
//   acc  += h[n] · C[t, n]
// with the vector exp of simd_avx2.h, then y = (acc + D·x) · silu(z). Δ = softplus(dt + bias)
// is vectorised too (softplus8). The channels past the last multiple of 8 run as one masked
// block. Differences from the reference are rounding only: the vector exp and softplus
// (≈2 ulp), and the product (Δ·x)·B instead of (Δ·B)·x.
// The step is this scan with T = 1 and lengths all 1 (the same recurrence on one token).
#include <algorithm>
#include <vector>

#include "backends/cpu/cpu_common.h"
#include "backends/cpu/fast/fast_paths.h"
#include "backends/cpu/fast/simd_avx2.h"

namespace braid::fast {

#ifdef BRAID_FAST_X86
namespace {

// Optional per-channel vector [Di] (unit stride checked by the caller): 8 lanes from d0, or `absent`.
BRAID_AVX2 __m256 lanes_or(const TensorView& v, int64_t d0, int w, float absent) {
  return v.defined() ? load8(v.ptr<float>() + d0, w) : _mm256_set1_ps(absent);
}

// One row b, channels [d0, d0 + w), w ≤ 8, every token of the row. hT and AT are [N][8] scratch.
BRAID_AVX2 void scan_block(const Mamba1ScanArgs& a, int64_t b, int64_t d0, int w, int64_t len, float* hT, float* AT) {
  const int64_t T = a.x.dim(1), Di = a.x.dim(2), N = a.A.dim(1);
  const float* A = a.A.ptr<float>();
  float* st = a.state.defined() ? a.state.ptr<float>() + b * Di * N : nullptr;  // [Di, N] of row b
  for (int64_t n = 0; n < N; ++n)
    for (int l = 0; l < 8; ++l) {
      AT[n * 8 + l] = l < w ? A[(d0 + l) * N + n] : 0.0f;
      hT[n * 8 + l] = (l < w && st) ? st[(d0 + l) * N + n] : 0.0f;
    }
  const __m256 bias = lanes_or(a.dt_bias, d0, w, 0.0f), Dv = lanes_or(a.D, d0, w, 0.0f);
  for (int64_t t = 0; t < T; ++t) {
    float* y = a.y.ptr<float>() + (b * T + t) * Di + d0;
    if (t >= len) {
      store8(y, _mm256_setzero_ps(), w);
      continue;
    }
    const __m256 xv = load8(a.x.ptr<float>() + b * a.x.stride[0] + t * a.x.stride[1] + d0, w);
    __m256 delta = _mm256_add_ps(load8(a.dt.ptr<float>() + b * a.dt.stride[0] + t * a.dt.stride[1] + d0, w), bias);
    if (a.dt_softplus) delta = softplus8(delta);
    const __m256 dx = _mm256_mul_ps(delta, xv);
    const float* Bt = a.Bm.ptr<float>() + b * a.Bm.stride[0] + t * a.Bm.stride[1];  // [N]
    const float* Ct = a.Cm.ptr<float>() + b * a.Cm.stride[0] + t * a.Cm.stride[1];  // [N]
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  // two chains hide FMA latency
    int64_t n = 0;
    for (; n + 1 < N; n += 2) {
      const __m256 dA0 = exp8(_mm256_mul_ps(delta, _mm256_load_ps(AT + n * 8)));
      const __m256 dA1 = exp8(_mm256_mul_ps(delta, _mm256_load_ps(AT + n * 8 + 8)));
      const __m256 h0 = _mm256_fmadd_ps(dA0, _mm256_load_ps(hT + n * 8), _mm256_mul_ps(dx, _mm256_set1_ps(Bt[n])));
      const __m256 h1 = _mm256_fmadd_ps(dA1, _mm256_load_ps(hT + n * 8 + 8), _mm256_mul_ps(dx, _mm256_set1_ps(Bt[n + 1])));
      _mm256_store_ps(hT + n * 8, h0);
      _mm256_store_ps(hT + n * 8 + 8, h1);
      acc0 = _mm256_fmadd_ps(h0, _mm256_set1_ps(Ct[n]), acc0);
      acc1 = _mm256_fmadd_ps(h1, _mm256_set1_ps(Ct[n + 1]), acc1);
    }
    if (n < N) {
      const __m256 dA = exp8(_mm256_mul_ps(delta, _mm256_load_ps(AT + n * 8)));
      const __m256 h = _mm256_fmadd_ps(dA, _mm256_load_ps(hT + n * 8), _mm256_mul_ps(dx, _mm256_set1_ps(Bt[n])));
      _mm256_store_ps(hT + n * 8, h);
      acc0 = _mm256_fmadd_ps(h, _mm256_set1_ps(Ct[n]), acc0);
    }
    __m256 out = _mm256_fmadd_ps(Dv, xv, _mm256_add_ps(acc0, acc1));
    if (a.z.defined()) out = _mm256_mul_ps(out, silu8(load8(a.z.ptr<float>() + b * a.z.stride[0] + t * a.z.stride[1] + d0, w)));
    store8(y, out, w);
  }
  if (st)
    for (int64_t n = 0; n < N; ++n)
      for (int l = 0; l < w; ++l) st[(d0 + l) * N + n] = hT[n * 8 + l];
}

bool unit_inner(const TensorView& v) { return !v.defined() || v.stride[v.ndim - 1] == 1; }

}  // namespace

bool mamba1_scan(const Mamba1ScanArgs& a, const std::vector<int64_t>& lengths) {
  if (!cpu_has_avx2()) return false;
  for (const TensorView* v : {&a.x, &a.dt, &a.dt_bias, &a.Bm, &a.Cm, &a.D, &a.z})
    if (!unit_inner(*v)) return false;
  const int64_t B = a.x.dim(0), T = a.x.dim(1), Di = a.x.dim(2), N = a.A.dim(1);
  const int64_t blocks = (Di + 7) / 8;
#pragma omp parallel if (B * T * Di * N >= cpu::kOmpMinWork)
  {
    // [N][8] scratch per thread, 32-byte aligned for the aligned loads of the inner loop.
    struct alignas(32) Lanes { float v[8]; };
    std::vector<Lanes> h(static_cast<size_t>(N)), At(static_cast<size_t>(N));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < blocks; ++k)
        scan_block(a, b, k * 8, static_cast<int>(std::min<int64_t>(8, Di - k * 8)), lengths[b],
                   reinterpret_cast<float*>(h.data()), reinterpret_cast<float*>(At.data()));
  }
  return true;
}
#else
bool mamba1_scan(const Mamba1ScanArgs&, const std::vector<int64_t>&) { return false; }
#endif

}  // namespace braid::fast

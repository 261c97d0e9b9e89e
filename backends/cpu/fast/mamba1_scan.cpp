// backends/cpu/fast/mamba1_scan.cpp — fast path of the Mamba1 selective scan and its step
// (core/contracts/mamba1_scan.h; the specification is backends/cpu/mamba1_scan.cpp).
//
// Shapes: x, dt, z, y [B, T, Di]; B, C [B, T, N]; A [Di, N]; state [B, Di, N].
// Vectorisation: 8 channels d per AVX2 register (the reference walks one channel at a time).
// Loop order: (b, block of 128 channels) in parallel → t → 8-channel vector → n. Per block
// the slices of A and of the state are transposed once into [vector][N][8] scratch (16 KB at
// N 16, in L1), so the inner loop over n does
//   h[n] ← exp(Δ·A[n]) · h[n] + (Δ·x) · B[t, n]       (8 lanes; B, C broadcast)
//   acc  += h[n] · C[t, n]
// with the vector exp of simd_avx2.h, then y = (acc + D·x) · silu(z). Δ = softplus(dt + bias)
// is vectorised too (softplus8). The channels past the last multiple of 8 run as one masked
// vector. Differences from the reference are rounding only: the vector exp and softplus
// (≈2 ulp), and the product (Δ·x)·B instead of (Δ·B)·x.
// The step (and any T = 1 call with a state and every row valid) takes step_block instead,
// which works on the state in place, vectorised over n.
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

constexpr int64_t kVecs = 16;  // 8-lane vectors per block: 128 channels, [kVecs][N][8] scratch

// One row b, channels [d0, d0 + nd), nd ≤ 8·kVecs, every token of the row. hT and AT are
// [kVecs][N][8] scratch: the block's state and A, 8 channels per vector.
// Tokens outside, vectors inside: each token reads one contiguous run of nd channels of x, dt,
// z and y (rows Di floats apart), so the block amortises a new page and cache line per row
// over nd·N state updates instead of 8·N.
BRAID_AVX2 void scan_block(const Mamba1ScanArgs& a, int64_t b, int64_t d0, int64_t nd, int64_t len, float* hT, float* AT) {
  const int64_t T = a.x.dim(1), Di = a.x.dim(2), N = a.A.dim(1);
  const int64_t nv = (nd + 7) / 8;
  const float* A = a.A.ptr<float>();
  float* st = a.state.defined() ? a.state.ptr<float>() + b * Di * N : nullptr;  // [Di, N] of row b
  for (int64_t v = 0; v < nv; ++v)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < 8; ++l) {
        const int64_t d = d0 + v * 8 + l;
        AT[(v * N + n) * 8 + l] = d < d0 + nd ? A[d * N + n] : 0.0f;
        hT[(v * N + n) * 8 + l] = (d < d0 + nd && st) ? st[d * N + n] : 0.0f;
      }
  for (int64_t t = 0; t < T; ++t) {
    float* yrow = a.y.ptr<float>() + (b * T + t) * Di + d0;
    const float* xrow = a.x.ptr<float>() + b * a.x.stride[0] + t * a.x.stride[1] + d0;
    const float* dtrow = a.dt.ptr<float>() + b * a.dt.stride[0] + t * a.dt.stride[1] + d0;
    const float* zrow = a.z.defined() ? a.z.ptr<float>() + b * a.z.stride[0] + t * a.z.stride[1] + d0 : nullptr;
    const float* Bt = a.Bm.ptr<float>() + b * a.Bm.stride[0] + t * a.Bm.stride[1];  // [N]
    const float* Ct = a.Cm.ptr<float>() + b * a.Cm.stride[0] + t * a.Cm.stride[1];  // [N]
    for (int64_t v = 0; v < nv; ++v) {
      const int w = static_cast<int>(std::min<int64_t>(8, nd - v * 8));
      if (t >= len) {
        store8(yrow + v * 8, _mm256_setzero_ps(), w);
        continue;
      }
      float* h = hT + v * N * 8;
      const float* Av = AT + v * N * 8;
      const __m256 xv = load8(xrow + v * 8, w);
      __m256 delta = _mm256_add_ps(load8(dtrow + v * 8, w), lanes_or(a.dt_bias, d0 + v * 8, w, 0.0f));
      if (a.dt_softplus) delta = softplus8(delta);
      const __m256 dx = _mm256_mul_ps(delta, xv);
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  // two chains hide FMA latency
      int64_t n = 0;
      for (; n + 1 < N; n += 2) {
        const __m256 dA0 = exp8(_mm256_mul_ps(delta, _mm256_load_ps(Av + n * 8)));
        const __m256 dA1 = exp8(_mm256_mul_ps(delta, _mm256_load_ps(Av + n * 8 + 8)));
        const __m256 h0 = _mm256_fmadd_ps(dA0, _mm256_load_ps(h + n * 8), _mm256_mul_ps(dx, _mm256_set1_ps(Bt[n])));
        const __m256 h1 = _mm256_fmadd_ps(dA1, _mm256_load_ps(h + n * 8 + 8), _mm256_mul_ps(dx, _mm256_set1_ps(Bt[n + 1])));
        _mm256_store_ps(h + n * 8, h0);
        _mm256_store_ps(h + n * 8 + 8, h1);
        acc0 = _mm256_fmadd_ps(h0, _mm256_set1_ps(Ct[n]), acc0);
        acc1 = _mm256_fmadd_ps(h1, _mm256_set1_ps(Ct[n + 1]), acc1);
      }
      if (n < N) {
        const __m256 dA = exp8(_mm256_mul_ps(delta, _mm256_load_ps(Av + n * 8)));
        const __m256 h0 = _mm256_fmadd_ps(dA, _mm256_load_ps(h + n * 8), _mm256_mul_ps(dx, _mm256_set1_ps(Bt[n])));
        _mm256_store_ps(h + n * 8, h0);
        acc0 = _mm256_fmadd_ps(h0, _mm256_set1_ps(Ct[n]), acc0);
      }
      __m256 out = _mm256_fmadd_ps(lanes_or(a.D, d0 + v * 8, w, 0.0f), xv, _mm256_add_ps(acc0, acc1));
      if (zrow) out = _mm256_mul_ps(out, silu8(load8(zrow + v * 8, w)));
      store8(yrow + v * 8, out, w);
    }
  }
  if (st)
    for (int64_t v = 0; v < nv; ++v)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t l = 0; l < std::min<int64_t>(8, nd - v * 8); ++l) st[(d0 + v * 8 + l) * N + n] = hT[(v * N + n) * 8 + l];
}

// One token (T = 1, every row valid) of row b, channels [d0, d0 + w), w ≤ 8, read and written
// in place in state [B, Di, N]: the decode step. Here a channel's N states are contiguous, so
// the n loop is vectorised instead (8 states per register, masked tail) and no transposed
// scratch is needed; Δ, the D skip and the gate stay 8 channels wide.
BRAID_AVX2 void step_block(const Mamba1ScanArgs& a, int64_t b, int64_t d0, int w) {
  const int64_t Di = a.x.dim(2), N = a.A.dim(1);
  const __m256 xv = load8(a.x.ptr<float>() + b * a.x.stride[0] + d0, w);
  __m256 delta = _mm256_add_ps(load8(a.dt.ptr<float>() + b * a.dt.stride[0] + d0, w), lanes_or(a.dt_bias, d0, w, 0.0f));
  if (a.dt_softplus) delta = softplus8(delta);
  alignas(32) float dl[8], dxl[8], yl[8];
  _mm256_store_ps(dl, delta);
  _mm256_store_ps(dxl, _mm256_mul_ps(delta, xv));
  const float* Bt = a.Bm.ptr<float>() + b * a.Bm.stride[0];  // [N]
  const float* Ct = a.Cm.ptr<float>() + b * a.Cm.stride[0];  // [N]
  for (int l = 0; l < w; ++l) {
    float* h = a.state.ptr<float>() + (b * Di + d0 + l) * N;  // [N]
    const float* Ar = a.A.ptr<float>() + (d0 + l) * N;        // [N]
    const __m256 dv = _mm256_set1_ps(dl[l]), dxv = _mm256_set1_ps(dxl[l]);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t n = 0; n < N; n += 8) {
      const int m = static_cast<int>(std::min<int64_t>(8, N - n));
      const __m256 hv = _mm256_fmadd_ps(exp8(_mm256_mul_ps(dv, load8(Ar + n, m))), load8(h + n, m),
                                        _mm256_mul_ps(dxv, load8(Bt + n, m)));
      store8(h + n, hv, m);
      acc = _mm256_fmadd_ps(hv, load8(Ct + n, m), acc);
    }
    yl[l] = hsum8(acc);
  }
  __m256 out = _mm256_fmadd_ps(lanes_or(a.D, d0, w, 0.0f), xv, load8(yl, w));
  if (a.z.defined()) out = _mm256_mul_ps(out, silu8(load8(a.z.ptr<float>() + b * a.z.stride[0] + d0, w)));
  store8(a.y.ptr<float>() + b * Di + d0, out, w);
}

bool unit_inner(const TensorView& v) { return !v.defined() || v.stride[v.ndim - 1] == 1; }

}  // namespace

bool mamba1_scan(const Mamba1ScanArgs& a, const std::vector<int64_t>& lengths) {
  if (!cpu_has_avx2()) return false;
  for (const TensorView* v : {&a.x, &a.dt, &a.dt_bias, &a.Bm, &a.Cm, &a.D, &a.z})
    if (!unit_inner(*v)) return false;
  const int64_t B = a.x.dim(0), T = a.x.dim(1), Di = a.x.dim(2), N = a.A.dim(1);
  const bool decode = T == 1 && a.state.defined() &&
                      std::all_of(lengths.begin(), lengths.end(), [](int64_t n) { return n == 1; });
  if (decode) {
#pragma omp parallel for collapse(2) schedule(static) if (B * Di * N >= cpu::kOmpMinWork)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d0 = 0; d0 < Di; d0 += 8) step_block(a, b, d0, static_cast<int>(std::min<int64_t>(8, Di - d0)));
    return true;
  }
  const int64_t width = 8 * kVecs, blocks = (Di + width - 1) / width;
#pragma omp parallel if (B * T * Di * N >= cpu::kOmpMinWork)
  {
    // [kVecs][N][8] scratch per thread, 32-byte aligned for the aligned loads of the inner loop.
    struct alignas(32) Lanes { float v[8]; };
    std::vector<Lanes> h(static_cast<size_t>(kVecs * N)), At(static_cast<size_t>(kVecs * N));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < blocks; ++k)
        scan_block(a, b, k * width, std::min(width, Di - k * width), lengths[b],
                   reinterpret_cast<float*>(h.data()), reinterpret_cast<float*>(At.data()));
  }
  return true;
}
#else
bool mamba1_scan(const Mamba1ScanArgs&, const std::vector<int64_t>&) { return false; }
#endif

}  // namespace braid::fast

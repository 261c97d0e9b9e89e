// backends/cpu/fast/conv1d.cpp — fast path of the causal depthwise conv1d (prefill)
// (core/contracts/conv1d.h; the specification is backends/cpu/conv1d.cpp).
//
// Shapes: x, y [B, T, C] (x rows may be a channel slice: unit inner stride); w [C, K];
// bias [C]; state [B, K−1, C] (contiguous).
// Vectorisation: 8 channels per AVX2 register; w is transposed once into wT [K, C] so that
// tap j of 8 channels is one load. Loop order: (b, t) in parallel (every output token is
// independent: its window is read from x, or from the state for times < 0) → the K taps' row
// pointers → channels in 8-lane vectors: acc = bias + Σ_j wT[j]·u[t − K + 1 + j], then SiLU
// with the vector exp. Rows are contiguous, so the hardware prefetcher streams x and y.
// The state update afterwards is the reference's, done a row of C channels at a time.
#include <algorithm>
#include <vector>

#include "backends/cpu/cpu_common.h"
#include "backends/cpu/fast/fast_paths.h"
#include "backends/cpu/fast/simd_avx2.h"

namespace braid::fast {

#ifdef BRAID_FAST_X86
namespace {

// Row pointer of input time tau ∈ [−(K−1), T) of row b: x, the state, or the zero row.
const float* input_row(const Conv1dArgs& a, int64_t b, int64_t tau, const float* zeros) {
  const int64_t K = a.w.dim(1);
  if (tau >= 0) return a.x.ptr<float>() + b * a.x.stride[0] + tau * a.x.stride[1];
  return a.state.defined() ? cpu::at(a.state, {b, K - 1 + tau, 0}) : zeros;
}

// One output row y[b, t, :] from the K input rows u[j] (oldest first).
BRAID_AVX2 void conv_row(const Conv1dArgs& a, const float* const* u, const float* wT, float* y) {
  const int64_t C = a.x.dim(2), K = a.w.dim(1);
  const float* bias = a.bias.defined() ? a.bias.ptr<float>() : nullptr;
  for (int64_t c = 0; c < C; c += 8) {
    const int w = static_cast<int>(std::min<int64_t>(8, C - c));
    __m256 acc = bias ? load8(bias + c, w) : _mm256_setzero_ps();
    for (int64_t j = 0; j < K; ++j) acc = _mm256_fmadd_ps(load8(wT + j * C + c, w), load8(u[j] + c, w), acc);
    store8(y + c, a.silu ? silu8(acc) : acc, w);
  }
}

// state ← the last K−1 inputs of (old state ++ x[b, 0 … len−1]), one row of C at a time
// (ascending rows read only rows ≥ their own, as in the reference).
void update_state(const Conv1dArgs& a, int64_t b, int64_t len) {
  const int64_t C = a.x.dim(2), K = a.w.dim(1);
  for (int64_t i = 0; i < K - 1; ++i) {
    const float* src = input_row(a, b, len + i - (K - 1), nullptr);
    float* dst = cpu::at(a.state, {b, i, 0});
    if (src != dst) std::copy(src, src + C, dst);
  }
}

}  // namespace

bool conv1d(const Conv1dArgs& a, const std::vector<int64_t>& lengths) {
  if (!cpu_has_avx2()) return false;
  for (const TensorView* v : {&a.x, &a.bias, &a.state})
    if (v->defined() && v->stride[v->ndim - 1] != 1) return false;
  const int64_t B = a.x.dim(0), T = a.x.dim(1), C = a.x.dim(2), K = a.w.dim(1);
  std::vector<float> wT(static_cast<size_t>(K * C)), zeros(static_cast<size_t>(C), 0.0f);  // wT [K, C]
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < K; ++j) wT[j * C + c] = *cpu::at(a.w, {c, j});
#pragma omp parallel if (B * T * C * K >= cpu::kOmpMinWork)
  {
    std::vector<const float*> u(static_cast<size_t>(K));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        float* y = a.y.ptr<float>() + (b * T + t) * C;
        if (t >= lengths[b]) {
          std::fill_n(y, C, 0.0f);
          continue;
        }
        for (int64_t j = 0; j < K; ++j) u[j] = input_row(a, b, t - K + 1 + j, zeros.data());
        conv_row(a, u.data(), wT.data(), y);
      }
  }
  if (a.state.defined())
    for (int64_t b = 0; b < B; ++b) update_state(a, b, lengths[b]);
  return true;
}
#else
bool conv1d(const Conv1dArgs&, const std::vector<int64_t>&) { return false; }
#endif

}  // namespace braid::fast

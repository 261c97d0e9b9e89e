// backends/cpu/cpu_common.h — small helpers shared by the CPU reference files (internal).
//
// Element access through a view's strides, the activation functions every mixer uses, the
// f32-only storage check of this backend, and the data-dependent `lengths` check. Nothing here
// computes a contract; each contract lives in its own file.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace braid::cpu {

// Work (roughly: multiply-adds) below which a loop stays serial. Waking an OpenMP team costs
// microseconds, and far more on an oversubscribed machine, which dwarfs the tiny loops of
// decode steps and unit tests. Each `#pragma omp parallel for` carries `if (work >= kOmpMinWork)`.
inline constexpr int64_t kOmpMinWork = 32768;

// Pointer to element `idx` of a float view, using the view's strides (elements).
inline float* at(const TensorView& v, std::initializer_list<int64_t> idx) { return v.ptr<float>() + v.offset(idx); }

// Element i of an optional 1-D float vector (strided), or `absent` when the vector is absent.
inline float vec_or(const TensorView& v, int64_t i, float absent) {
  return v.defined() ? v.ptr<float>()[i * v.stride[0]] : absent;
}

// Element `off` (an element offset) of an i32 or i64 index tensor, widened to int64.
inline int64_t index_at(const TensorView& v, int64_t off) {
  return v.dtype == DType::i64 ? v.ptr<int64_t>()[off] : static_cast<int64_t>(v.ptr<int32_t>()[off]);
}

// silu(v) = v · σ(v) = v / (1 + e^−v)
inline float silu(float v) { return v / (1.0f + std::exp(-v)); }

// softplus(v) = log(1 + e^v), returning v itself above PyTorch's threshold 20 (beta = 1).
inline float softplus(float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }

// row[0, n) ← softmax(row[0, n)) in fp32, max-subtracted (n ≥ 1). In place.
inline void softmax_inplace(float* row, int64_t n) {
  float mx = row[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, row[i]);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    row[i] = std::exp(row[i] - mx);
    sum += row[i];
  }
  for (int64_t i = 0; i < n; ++i) row[i] /= sum;
}

// This backend stores every float tensor as f32 (cpu_backend.h). Returns not_supported naming
// the first defined tensor of another float dtype; absent optional tensors are skipped.
using NamedView = std::pair<const TensorView*, const char*>;
Status require_f32(const char* contract, std::initializer_list<NamedView> views);

// Reads the optional `lengths` [B] (i32, any stride) into one count per row: T when absent.
// Returns invalid_argument naming the row when a length lies outside [0, T].
Status read_lengths(const TensorView& lengths, int64_t B, int64_t T, std::vector<int64_t>& out);

// The float inputs and output of a scan contract (Mamba1ScanArgs or Mamba2SsdArgs share
// these field names) must be f32 on this backend.
template <class ScanArgs>
Status require_f32_scan(const char* contract, const ScanArgs& a) {
  return require_f32(contract, {{&a.x, "x"},
                                {&a.dt, "dt"},
                                {&a.dt_bias, "dt_bias"},
                                {&a.A, "A"},
                                {&a.Bm, "B"},
                                {&a.Cm, "C"},
                                {&a.D, "D"},
                                {&a.z, "z"},
                                {&a.y, "y"}});
}

}  // namespace braid::cpu

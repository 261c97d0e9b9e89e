// Linear layer, PyTorch convention (weights stored [out, in]).
//   y[m, n] = Σ_k x[m, k] · w[n, k] + bias[n]
// The CPU backend routes this through its single GEMM helper (backends/cpu/gemm.h).
// Backward (training issue): d_x = d_y · w, d_w = d_yᵀ · x, d_bias = Σ_m d_y.
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct LinearArgs {
  TensorView x;     // [M..., K]  float, rows mergeable
  TensorView w;     // [N, K]     float, contiguous
  TensorView bias;  // [N]        float, optional
  TensorView y;     // [M..., N]  float, rows mergeable; must not alias x
};

Status validate(const LinearArgs& a);
Cost cost(const LinearArgs& a);  // x, w, bias read once, y written; 2·M·N·K matrix FLOPs

}  // namespace braid

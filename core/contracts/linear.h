// Linear layer, PyTorch convention (weights stored [out, in]).
//   y[m, n] = Σ_k x[m, k] · w[n, k] + bias[n]
// The CPU backend routes this through its single GEMM helper (backends/cpu/gemm.h).
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

// Backward: d_x = d_y · w (written, or added to d_x when accumulate_dx), d_w += d_yᵀ · x,
// d_bias += Σ_m d_y. Each gradient is optional (undefined = not wanted).
struct LinearBackwardArgs {
  LinearArgs fwd;      // the forward call (fwd.y may be undefined; it is not read)
  TensorView d_y;      // [M..., N]  float, rows mergeable
  TensorView d_x;      // [M..., K]  float, rows mergeable; must not alias d_y
  TensorView d_w;      // [N, K]     f32, contiguous, ACCUMULATED
  TensorView d_bias;   // [N]        f32, ACCUMULATED (only when fwd.bias is present)
  bool accumulate_dx = false;  // d_x += … instead of d_x = … (several projections of one input)
};

Status validate(const LinearBackwardArgs& a);
Cost cost(const LinearBackwardArgs& a);  // 2·M·N·K matrix FLOPs per wanted gradient of x and w

}  // namespace braid

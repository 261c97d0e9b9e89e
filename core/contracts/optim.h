// Optimiser primitives on flat f32 tensors: the AdamW update (torch.optim.AdamW, decoupled
// weight decay) and the statistics the trainer logs and clips by.
//
// adamw, per element, with g = grad·grad_scale and t = step (1-based):
//   param ← param − lr·weight_decay·param
//   m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²
//   param ← param − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + eps)
// `grad_scale` folds gradient clipping (max_norm / norm) and accumulation averaging into
// the update, so gradients are never rewritten.
//
// tensor_stats: out[0] = Σ x² (fp32 accumulation), out[1] = max |x| (a NaN anywhere makes
// both NaN, so a diverging run is visible).
#pragma once

#include <cstdint>

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct AdamwArgs {
  TensorView param;  // [n...]  f32, contiguous, updated in place (the master weights)
  TensorView grad;   // [n...]  f32, contiguous, same shape
  TensorView m;      // [n...]  f32, contiguous, first moment, updated in place
  TensorView v;      // [n...]  f32, contiguous, second moment, updated in place
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  float grad_scale = 1.0f;
  int64_t step = 1;  // t ≥ 1
};

struct TensorStatsArgs {
  TensorView x;    // [n...]  float, contiguous
  TensorView out;  // [2]     f32: Σ x², max |x|
};

Status validate(const AdamwArgs& a);
Cost cost(const AdamwArgs& a);  // param, m, v read and written, grad read; ≈12 FLOPs per element
Status validate(const TensorStatsArgs& a);
Cost cost(const TensorStatsArgs& a);  // x read; 3 FLOPs per element

}  // namespace braid

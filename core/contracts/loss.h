// Softmax cross-entropy over a vocabulary, fused with its gradient (the training loss; the
// evaluation metrics read the per-row losses and the argmax).
//   p = softmax(logits[m, :]) in fp32
//   losses[m]      = −log p[targets[m]]                   (0 where targets[m] < 0: ignored)
//   d_logits[m, :] = scale · (p − onehot(targets[m]))      (0 on ignored rows)
//   argmax[m]      = the first index of the largest logit
// `scale` is the upstream gradient of each counted row, e.g. 1/count for a mean loss.
// Source: torch.nn.functional.cross_entropy with ignore_index (HF's ForCausalLMLoss).
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct CrossEntropyArgs {
  TensorView logits;    // [M, V]  float, rows mergeable
  TensorView targets;   // [M]     i32, each in [0, V) or negative (ignored)
  TensorView losses;    // [M]     f32, written
  TensorView d_logits;  // [M, V]  float, written (optional); may alias logits
  TensorView argmax;    // [M]     i32, written (optional)
  float scale = 1.0f;
};

// Shapes and dtypes. Target ranges are data and are checked by the backend, which returns
// invalid_argument naming the first offending target.
Status validate(const CrossEntropyArgs& a);
Cost cost(const CrossEntropyArgs& a);  // logits read (twice with d_logits), d_logits written; one exp per logit

}  // namespace braid

// Causal depthwise conv1d with optional SiLU (hf-models-spec §1.3, the Mamba conv), plus its
// single-token update.
//   y[b, t, c] = act( bias[c] + Σ_{j<K} w[c, j] · u[b, t − K + 1 + j, c] )
// where u at negative times comes from `state` (the K−1 inputs before this call, oldest first)
// or is zero when there is no state. w[c, K−1] multiplies the current token.
//
// State [B, K−1, C] holds the last K−1 *inputs* of each row (channels innermost, so a step
// reads it coalesced). After the call it holds the last K−1 valid inputs: those of the
// previous state followed by x[b, 0 … lengths[b]−1]. Outputs at padding positions are zero.
//
// `conv1d` takes any T; `conv1d_step` is the T == 1 form and requires a state.
// Backward (training issue): d_x, d_w, d_bias, and d_state for the initial state.
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct Conv1dArgs {
  TensorView x;        // [B, T, C]    float, inner-contiguous (may be a channel slice)
  TensorView w;        // [C, K]       float (HF conv1d.weight [C, 1, K] viewed as [C, K])
  TensorView bias;     // [C]          float, optional
  TensorView state;    // [B, K−1, C]  float, optional for conv1d, required for conv1d_step
  TensorView lengths;  // [B]          i32, optional
  TensorView y;        // [B, T, C]    float, contiguous
  bool silu = true;
};

Status validate(const Conv1dArgs& a);
Cost cost(const Conv1dArgs& a);  // x read, y written, weights, state read and written when present (kernels.md §9.2: 2·B·L·C·s); 2·K FLOPs per output, one exp per SiLU
Status validate_step(const Conv1dArgs& a);  // also T == 1, state present, no lengths

}  // namespace braid

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

// Backward through the SiLU and the causal convolution. With s = pre-activation:
//   d_s = d_y ⊙ silu'(s)  (d_y when !silu);  d_bias[c] += Σ_{b,t} d_s
//   d_w[c, j] += Σ_{b,t} d_s[b,t,c] · u[b, t−K+1+j, c];  d_u[b, τ, c] = Σ_j d_s[b, τ+K−1−j, c]·w[c, j]
// d_x is d_u at τ ≥ 0; d_state is d_u at the K−1 negative times. Padding outputs carry no
// gradient, and d_x is zero at padding positions.
struct Conv1dBackwardArgs {
  Conv1dArgs fwd;      // the forward call; fwd.state is the state BEFORE it (or undefined = zeros)
  TensorView d_y;      // [B, T, C]    float
  TensorView d_x;      // [B, T, C]    float, written, inner-contiguous (may be a channel slice)
  TensorView d_w;      // [C, K]       f32, ACCUMULATED (optional)
  TensorView d_bias;   // [C]          f32, ACCUMULATED (optional; only when fwd.bias is present)
  TensorView d_state;  // [B, K−1, C]  f32, written (optional; gradient of the initial state)
};

Status validate(const Conv1dBackwardArgs& a);
Cost cost(const Conv1dBackwardArgs& a);  // x, d_y read, d_x written, weights; 4·K FLOPs per output

}  // namespace braid

// SwiGLU MLP (hf-models-spec §1.5; JambaMLP / BambaMLP / each MoE expert), no biases:
//   out = w_down · ( silu(w_gate · x) ⊙ (w_up · x) )
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct SwigluMlpArgs {
  TensorView x;       // [M..., D]  float, rows mergeable
  TensorView w_gate;  // [F, D]     float
  TensorView w_up;    // [F, D]     float
  TensorView w_down;  // [D, F]     float
  TensorView out;     // [M..., D]  float, contiguous; must not alias x
};

Status validate(const SwigluMlpArgs& a);
Cost cost(const SwigluMlpArgs& a);  // x, three weight matrices, out; 6·M·F·D matrix FLOPs

// Backward (a = w_gate·x, b = w_up·x, u = silu(a)⊙b recomputed):
//   d_u = w_downᵀ·d_out;  d_a = d_u⊙b⊙silu'(a);  d_b = d_u⊙silu(a)
//   d_x = w_gateᵀ·d_a + w_upᵀ·d_b;  d_w_down += d_out ⊗ u;  d_w_gate += d_a ⊗ x;  d_w_up += d_b ⊗ x
struct SwigluMlpBackwardArgs {
  SwigluMlpArgs fwd;   // the forward call (fwd.out may be undefined; it is not read)
  TensorView d_out;    // [M..., D]  float
  TensorView d_x;      // [M..., D]  float, written; must not alias d_out
  TensorView d_w_gate; // [F, D]     f32, ACCUMULATED
  TensorView d_w_up;   // [F, D]     f32, ACCUMULATED
  TensorView d_w_down; // [D, F]     f32, ACCUMULATED
};

Status validate(const SwigluMlpBackwardArgs& a);
Cost cost(const SwigluMlpBackwardArgs& a);  // 14·M·F·D matrix FLOPs (two forward GEMMs recomputed, five backward)

}  // namespace braid

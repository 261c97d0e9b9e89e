// SwiGLU MLP (hf-models-spec §1.5; JambaMLP / BambaMLP / each MoE expert), no biases:
//   out = w_down · ( silu(w_gate · x) ⊙ (w_up · x) )
// Backward (training issue): through the three GEMMs and the gate.
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

}  // namespace braid

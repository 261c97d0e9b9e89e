// Rotary position embedding, NeoX "rotate_half" convention on the first r dims of each head
// (hf-models-spec §1.6; full RoPE is r == P, Bamba's partial RoPE is r = P/2):
//   inv_freq[j] = theta^(-2j/r),  ang = pos · inv_freq[j]   (fp32),  j < r/2
//   x'[j]       = x[j]·cos(ang) − x[j + r/2]·sin(ang)
//   x'[j + r/2] = x[j + r/2]·cos(ang) + x[j]·sin(ang)
//   x'[r..P)    = x[r..P)
// Applied in place.
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct RotaryArgs {
  TensorView x;          // [B, T, Hx, P]  float, rotated in place (q or k)
  TensorView positions;  // [B, T]         i32 or i64, absolute position of each token
  int64_t rot_dim = 0;   // r: even, 0 < r ≤ P
  float theta = 10000.0f;
};

Status validate(const RotaryArgs& a);
Cost cost(const RotaryArgs& a);  // x read and written in place; 3 FLOPs per rotated element

// Backward uses the same Args: `rotary_backward` rotates the gradient held in x by −ang in
// place (the rotation is orthogonal, so its transpose is the inverse rotation).

}  // namespace braid

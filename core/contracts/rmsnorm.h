// RMSNorm, plain and gated.
//
// Plain (HF JambaRMSNorm / MambaRMSNorm, hf-models-spec §1.1):
//   out[m, :] = w ⊙ x[m, :] · rsqrt(mean_j x[m, j]² + eps)
// Gated (HF MambaRMSNormGated, §1.2; gate BEFORE the norm):
//   v = x ⊙ silu(z);  out = w ⊙ v · rsqrt(mean(v²) + eps)
// where the mean runs over groups of `group_size` channels. group_size == D (the default, 0)
// is HF transformers: one mean over all Di channels even when n_groups > 1. group_size == Di/G
// is mamba_ssm's per-group norm (RMSNormGated with group_size = Di / ngroups).
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct RmsNormArgs {
  TensorView x;    // [M..., D]  float, rows mergeable
  TensorView w;    // [D]        float
  TensorView z;    // [M..., D]  float, optional: gate (gated form when present)
  TensorView out;  // [M..., D]  float, same shape as x; may alias x
  float eps = 1e-6f;
  int64_t group_size = 0;  // channels per normalisation group; 0 means D
};

Status validate(const RmsNormArgs& a);
Cost cost(const RmsNormArgs& a);  // x (and z) read, out written; ≈4 FLOPs per element

// Backward of both forms, recomputing the per-group rsqrt r from x (and z):
//   plain:  d_x = r·(w⊙g) − x·r³·mean(x ⊙ w⊙g)          g = d_out, means per group
//   gated:  the same with v = x⊙silu(z) in place of x, then d_x = d_v⊙silu(z),
//           d_z = d_v⊙x⊙silu'(z), silu'(z) = σ(z)·(1 + z·(1 − σ(z)))
//   d_w += Σ_m g ⊙ v·r
struct RmsNormBackwardArgs {
  RmsNormArgs fwd;     // the forward call (fwd.out may be undefined; it is not read)
  TensorView d_out;    // [M..., D]  float
  TensorView d_x;      // [M..., D]  float, written (optional); must not alias fwd.x
  TensorView d_z;      // [M..., D]  float, written (optional; only for the gated form)
  TensorView d_w;      // [D]        f32, ACCUMULATED (optional)
};

Status validate(const RmsNormBackwardArgs& a);
Cost cost(const RmsNormBackwardArgs& a);  // x, z, d_out read, d_x, d_z written; ≈10 FLOPs per element

}  // namespace braid

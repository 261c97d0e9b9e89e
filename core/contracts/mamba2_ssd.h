// Mamba2 state-space dual (SSD) scan (hf-models-spec §5.4–5.6; Dao & Gu 2024, Listing 1;
// the contract of mamba_ssm's `mamba_chunk_scan_combined`), plus its single-token step.
//
// Heads h share a scalar decay; head h reads B/C group g(h) = floor(h / (H/G)).
// For row b, token t < lengths[b]:
//   Δ[t,h]      = clamp(softplus(dt[t,h] + dt_bias[h]), dt_min, dt_max)
//   S[h,p,n]   ← exp(Δ[t,h]·A[h]) · S[h,p,n] + Δ[t,h] · B[t,g(h),n] · x[t,h,p]
//   y[t,h,p]    = Σ_n S[h,p,n] · C[t,g(h),n] + D[h] · x[t,h,p]
//   y[t,h,p]   ← y[t,h,p] · silu(z[t,h,p])                   (when z is present)
// S starts from `state` when present (else 0) and ends holding each row's state after its
// last valid token; padding never touches it and padding outputs are zero. fp32 arithmetic.
//
// `mamba2_ssd` evaluates the recurrence in chunks of Q tokens (the SSD block decomposition:
// intra-chunk quadratic form plus inter-chunk state passing); `mamba2_step` is the sequential
// T == 1 form. Any Q gives the same function up to fp32 rounding (§5.6).
// The Δ clamp applies to both forms; HF 5.17 skips it in its decode path (§5.5), which only
// matters for a finite time_step_limit.
#pragma once

#include "core/cost.h"
#include <limits>

#include "core/tensor.h"

namespace braid {

struct Mamba2SsdArgs {
  TensorView x;        // [B, T, H, P]  float, rows mergeable per token (a slice of the conv output)
  TensorView dt;       // [B, T, H]     float, inner-contiguous (a slice of in_proj's output)
  TensorView dt_bias;  // [H]           float, optional
  TensorView A;        // [H]           f32, = −exp(A_log)
  TensorView Bm;       // [B, T, G, N]  float
  TensorView Cm;       // [B, T, G, N]  float
  TensorView D;        // [H]           float, optional
  TensorView z;        // [B, T, H, P]  float, optional gate
  TensorView state;    // [B, H, P, N]  f32, optional for the scan, required for the step
  TensorView lengths;  // [B]           i32, optional
  TensorView y;        // [B, T, H, P]  float, contiguous
  float dt_min = 0.0f;
  float dt_max = std::numeric_limits<float>::infinity();
  int64_t chunk_size = 256;  // Q
};

Status validate(const Mamba2SsdArgs& a);
Cost cost(const Mamba2SsdArgs& a);  // kernels.md §9.2: x, z, y, dt, B, C, state read+written when present; chunked matrix FLOPs 2·B·T·(Q·N·G + ½·Q·H·P + 2·H·P·N), one exp per (token, head)
Cost cost_step(const Mamba2SsdArgs& a);  // the sequential step: 4·B·H·P·N vector FLOPs, no matrix work
Status validate_step(const Mamba2SsdArgs& a);  // also T == 1, state present, no lengths

// Backward of the SSD by the reverse recurrence (the same adjoint as mamba1_scan_backward with
// a scalar decay per head), evaluated chunk by chunk with the chunk-start states recomputed
// (so memory is O(B·H·P·N·T/Q)). Δ's clamp passes no gradient where it is active. Gradients of
// B and C sum over the heads of each group. Padding tokens get zero gradients.
struct Mamba2SsdBackwardArgs {
  Mamba2SsdArgs fwd;   // the forward call; fwd.state is the state BEFORE it (or undefined = zeros)
  TensorView d_y;      // [B, T, H, P]  float
  TensorView d_x;      // [B, T, H, P]  float, written, rows mergeable per token
  TensorView d_dt;     // [B, T, H]     float, written: gradient of dt BEFORE bias, softplus and clamp
  TensorView d_Bm;     // [B, T, G, N]  float, written
  TensorView d_Cm;     // [B, T, G, N]  float, written
  TensorView d_z;      // [B, T, H, P]  float, written (required iff fwd.z is present)
  TensorView d_dt_bias;  // [H]         f32, ACCUMULATED (optional)
  TensorView d_A;      // [H]           f32, ACCUMULATED (optional)
  TensorView d_D;      // [H]           f32, ACCUMULATED (optional)
  TensorView d_state;  // [B, H, P, N]  f32, written (optional): gradient of the initial state
};

Status validate(const Mamba2SsdBackwardArgs& a);
Cost cost(const Mamba2SsdBackwardArgs& a);  // twice the forward's traffic and FLOPs plus the gradients

}  // namespace braid

// Mamba1 selective scan (hf-models-spec §2.6 and §4.3; Gu & Dao 2023, Algorithm 2; the
// contract of mamba_ssm's `selective_scan_fn`), plus its single-token step.
//
// For row b, channel d, state n, token t < lengths[b]:
//   Δ[t,d]   = softplus(dt[t,d] + dt_bias[d])              (no softplus when !dt_softplus)
//   h[d,n]  ← exp(Δ[t,d]·A[d,n]) · h[d,n] + Δ[t,d] · B[t,n] · x[t,d]
//   y[t,d]   = Σ_n h[d,n] · C[t,n] + D[d] · x[t,d]
//   y[t,d]  ← y[t,d] · silu(z[t,d])                          (when z is present)
// h starts from `state` when present (else 0). softplus(v) = v for v > 20, as PyTorch.
// After the call `state` holds h after each row's last valid token; padding tokens never
// touch it, and their outputs are zero. All recurrence arithmetic is fp32.
//
// `mamba1_scan` takes any T; `mamba1_step` is the T == 1 form (state required).
// braid continues from a state for any T: HF 5.17 restarts from zero when several tokens
// continue a cache (§6.5), which is wrong; braid does not copy that.
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct Mamba1ScanArgs {
  TensorView x;        // [B, T, Di]  float, inner-contiguous (conv output)
  TensorView dt;       // [B, T, Di]  float, inner-contiguous (dt_proj output, before bias and softplus)
  TensorView dt_bias;  // [Di]        float, optional
  TensorView A;        // [Di, N]     f32, = −exp(A_log)
  TensorView Bm;       // [B, T, N]   float, inner-contiguous (a slice of x_proj's output)
  TensorView Cm;       // [B, T, N]   float, inner-contiguous
  TensorView D;        // [Di]        float, optional skip
  TensorView z;        // [B, T, Di]  float, optional gate (a slice of in_proj's output)
  TensorView state;    // [B, Di, N]  f32, optional for the scan, required for the step
  TensorView lengths;  // [B]         i32, optional
  TensorView y;        // [B, T, Di]  float, contiguous
  bool dt_softplus = true;
};

Status validate(const Mamba1ScanArgs& a);
Cost cost(const Mamba1ScanArgs& a);  // kernels.md §9.2: x, dt, z, y, B, C, A, state read+written when present; 9·B·T·Di·N FLOPs, one exp per state update
Status validate_step(const Mamba1ScanArgs& a);  // also T == 1, state present, no lengths

// Backward by the reverse recurrence (the adjoint of the scan), per (b, d, n):
//   g ← d_y⊙silu(z) is the gradient of the ungated y;  λ[T_b] = 0
//   λ[t] = C[t]·g[t] + exp(Δ[t+1]·A)·λ[t+1]          (the gradient of h after token t)
//   d_x[t] += Δ[t]·B[t]·λ[t] (Σ_n) + D·g[t];  d_B[t] += Δ[t]·x[t]·λ[t] (Σ_d);  d_C[t] += h[t]·g[t] (Σ_d)
//   d_Δ[t] = Σ_n λ[t]·(A·exp(Δ[t]A)·h[t−1] + B[t]·x[t]);  d_A += Σ_t λ[t]·Δ[t]·exp(Δ[t]A)·h[t−1]
//   d_dt = d_Δ·σ(dt + dt_bias) (softplus'; 1 past the threshold 20);  d_state = λ before token 0 carried back once more
// h[t−1] is recomputed by a forward pass per chunk from checkpointed chunk-start states, so
// memory is O(B·Di·N·T/chunk) rather than O(B·Di·N·T). Padding tokens get zero gradients.
struct Mamba1ScanBackwardArgs {
  Mamba1ScanArgs fwd;  // the forward call; fwd.state is the state BEFORE it (or undefined = zeros)
  TensorView d_y;      // [B, T, Di]  float
  TensorView d_x;      // [B, T, Di]  float, written, inner-contiguous
  TensorView d_dt;     // [B, T, Di]  float, written: gradient of dt BEFORE bias and softplus
  TensorView d_Bm;     // [B, T, N]   float, written, inner-contiguous
  TensorView d_Cm;     // [B, T, N]   float, written, inner-contiguous
  TensorView d_z;      // [B, T, Di]  float, written (required iff fwd.z is present)
  TensorView d_dt_bias;  // [Di]      f32, ACCUMULATED (optional)
  TensorView d_A;      // [Di, N]     f32, ACCUMULATED (optional)
  TensorView d_D;      // [Di]        f32, ACCUMULATED (optional)
  TensorView d_state;  // [B, Di, N]  f32, written (optional): gradient of the initial state
};

Status validate(const Mamba1ScanBackwardArgs& a);
Cost cost(const Mamba1ScanBackwardArgs& a);  // the forward's traffic twice (recompute + adjoint) plus the gradients; 2× its FLOPs and exps

}  // namespace braid

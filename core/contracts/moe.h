// Mixture of experts: a router and the expert FFN (hf-models-spec §2.7, JambaSparseMoeBlock).
//
// moe_router, kind softmax_topk (HF Jamba/Mixtral order: softmax over ALL experts, then top-k,
// no renormalisation):
//   p = softmax(logits[m, :]) in fp32;  (weights, ids)[m] = the k largest p, descending.
//   Ties: the lower expert index ranks first (stable).
// With `renormalize`, weights are divided by their sum (Mixtral-style; off for Jamba).
//
// moe_experts:
//   out[m] = Σ_{i<k} weights[m,i] · down_e( silu(gate_e x[m]) ⊙ up_e x[m] ),  e = ids[m,i]
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

enum class RouterKind { softmax_topk };

struct MoeRouterArgs {
  TensorView logits;   // [M, X]  float (router linear output)
  TensorView weights;  // [M, k]  f32
  TensorView ids;      // [M, k]  i32
  RouterKind kind = RouterKind::softmax_topk;
  bool renormalize = false;
};

struct MoeExpertsArgs {
  TensorView x;        // [M, D]     float, rows mergeable
  TensorView w_gate;   // [X, F, D]  float
  TensorView w_up;     // [X, F, D]  float
  TensorView w_down;   // [X, D, F]  float
  TensorView ids;      // [M, k]     i32, each in [0, X)
  TensorView weights;  // [M, k]     f32
  TensorView out;      // [M, D]     float, contiguous, overwritten
};

Status validate(const MoeRouterArgs& a);
Cost cost(const MoeRouterArgs& a);  // logits read, weights and ids written; one exp per logit
Status validate(const MoeExpertsArgs& a);
Cost cost(const MoeExpertsArgs& a);  // x, out, routing, and the weights of min(X, M·k) experts; 6·M·k·F·D matrix FLOPs

// Router backward. With p = softmax(logits[m]) and the forward's top-k (weights, ids):
//   d_p[x] = Σ_i [ids[m,i] = x]·d_weights[m,i]  (through the renormalisation when set)
//            + d_probs[x]                        (optional extra gradient on every row's p:
//                                                 the load-balancing loss, see models/train)
//   d_logits[m] = p ⊙ (d_p − Σ_x p·d_p)
// The top-k selection itself is piecewise constant and passes no gradient.
struct MoeRouterBackwardArgs {
  MoeRouterArgs fwd;     // the forward call with its outputs (weights, ids)
  TensorView d_weights;  // [M, k]  f32
  TensorView d_probs;    // [X]     f32, optional
  TensorView d_logits;   // [M, X]  float, written
};

// Experts backward, per token m and slot i (e = ids[m,i], a = gate_e·x, b = up_e·x,
// u = silu(a)⊙b, o = down_e·u):
//   d_weights[m,i] = d_out[m]·o;  d_u = weights[m,i]·down_eᵀ·d_out[m]
//   d_a = d_u⊙b⊙silu'(a);  d_b = d_u⊙silu(a);  d_x[m] = Σ_i gate_eᵀ·d_a + up_eᵀ·d_b
//   d_w_down[e] += weights·d_out ⊗ u;  d_w_gate[e] += d_a ⊗ x;  d_w_up[e] += d_b ⊗ x
struct MoeExpertsBackwardArgs {
  MoeExpertsArgs fwd;    // the forward call (fwd.out may be undefined; it is not read)
  TensorView d_out;      // [M, D]     float
  TensorView d_x;        // [M, D]     float, written
  TensorView d_w_gate;   // [X, F, D]  f32, ACCUMULATED
  TensorView d_w_up;     // [X, F, D]  f32, ACCUMULATED
  TensorView d_w_down;   // [X, D, F]  f32, ACCUMULATED
  TensorView d_weights;  // [M, k]     f32, written
};

Status validate(const MoeRouterBackwardArgs& a);
Cost cost(const MoeRouterBackwardArgs& a);  // logits read (p recomputed), d_logits written
Status validate(const MoeExpertsBackwardArgs& a);
Cost cost(const MoeExpertsBackwardArgs& a);  // the forward's bytes twice plus the gradients; 2× its matrix FLOPs (recompute a, b) + 4·M·k·F·D

}  // namespace braid

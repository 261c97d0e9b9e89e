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
// Backward (training issue): router through the softmax; experts per assigned token.
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

}  // namespace braid

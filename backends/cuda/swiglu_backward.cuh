// backends/cuda/swiglu_backward.cuh — the SwiGLU backward middle shared by swiglu_mlp_backward
// and moe_experts_backward (internal to backends/cuda).
#pragma once

#include "backends/cuda/cuda_context.cuh"

namespace braid {

// For q < n, with a = gate pre-activation, b = up pre-activation, du = d_u (all fp32):
//   d_a[q] = du·b·silu'(a),  d_b[q] = du·silu(a),  u[q] = silu(a)·b
// written in storage dtype `t` (they are the next GEMMs' operands). Defined in swiglu_mlp_backward.cu.
void launch_swiglu_backward(CudaContext& ctx, const float* a, const float* b, const float* du, int64_t n, DType t,
                            void* d_a, void* d_b, void* u);

}  // namespace braid

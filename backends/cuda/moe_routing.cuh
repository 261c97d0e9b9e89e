// backends/cuda/moe_routing.cuh — the expert routing that moe_experts and its backward share
// (internal to backends/cuda; defined in moe.cu, which documents the algorithm).
#pragma once

#include <vector>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

// p[0, X) = softmax(l[0, X)) in fp32 for one router row, computed by one warp (lane = its
// lane): max, Σ exp(l − max), then divide — the CPU reference's order of operations. The
// router's forward and backward both call it, so the backward differentiates the very
// probabilities the forward ranked. Ends with __syncwarp (p is then visible to the warp).
template <class T>
__device__ __forceinline__ void warp_softmax_row(const T* l, int X, int lane, float* p) {
  float mx = -INFINITY;
  for (int e = lane; e < X; e += 32) mx = fmaxf(mx, to_f32(l[e]));
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int e = lane; e < X; e += 32) {
    const float ev = expf(to_f32(l[e]) - mx);
    p[e] = ev;
    sum += ev;
  }
  sum = warp_sum(sum);
  for (int e = lane; e < X; e += 32) p[e] /= sum;
  __syncwarp();
}

// Groups the (token m, slot i) pairs of ids [M, k] (i32) by expert with a stable counting sort:
// header [2 + X] i32 (scratch), slot_of [M·k] (the slot of pair m·k + i) and row_of [M·k] (the
// token gathered into each slot) on the device; counts[e] on the host. Synchronises once (the
// per-expert GEMM sizes are needed on the host). A bad id returns invalid_argument naming
// `contract` and the pair, with nothing written beyond the scratch.
Status route_to_experts(CudaContext& ctx, const TensorView& ids, int64_t X, const char* contract, int32_t* header,
                        int32_t* slot_of, int32_t* row_of, std::vector<int32_t>& counts);

// out[m, :] = Σ_{i<k} weights[m, i] · ye[slot_of[m·k + i], :] in increasing i (fp32 sums; weight 1
// when weights is null); ye [M·k, D] fp32, out [M, D] contiguous in storage dtype t.
Status launch_combine_slots(CudaContext& ctx, const float* ye, const int32_t* slot_of, const float* weights,
                            int64_t w_s0, int64_t w_s1, int64_t M, int64_t k, int64_t D, void* out, DType t);

}  // namespace braid

// backends/cuda/swiglu_mlp.cu — SwiGLU MLP without biases (core/contracts/swiglu_mlp.h;
// reference: backends/cpu/swiglu_mlp.cpp; hf-models-spec §1.5), and the silu·mul kernel the
// MoE experts share.
//
//   g = x · w_gateᵀ,  u = x · w_upᵀ          [M, F]   (two GEMMs, fp32 outputs)
//   h = silu(g) ⊙ u                           [M, F]   (one elementwise kernel, h in storage dtype)
//   out = h · w_downᵀ                         [M, D]   (one GEMM)
//
// g and u stay fp32 so that the gate is computed from unrounded products; h is rounded once
// to the storage dtype because it is the next GEMM's operand (bf16 storage: HF's activation
// dtype at that point too).
#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

template <class T>
__global__ void silu_mul_kernel(const float* gate, const float* up, T* hidden, int64_t n) {
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < n;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x)
    hidden[q] = from_f32<T>(silu_f32(gate[q]) * up[q]);
}

}  // namespace

void launch_silu_mul(CudaContext& ctx, const float* gate, const float* up, void* hidden, DType t, int64_t n) {
  if (n == 0) return;
  const unsigned grid = grid_for(ctx, n, 256);
  if (t == DType::bf16)
    silu_mul_kernel<<<grid, 256, 0, ctx.stream>>>(gate, up, static_cast<__nv_bfloat16*>(hidden), n);
  else
    silu_mul_kernel<<<grid, 256, 0, ctx.stream>>>(gate, up, static_cast<float*>(hidden), n);
  CUDA_CHECK_LAUNCH();
}

Status CudaBackend::swiglu_mlp(const SwigluMlpArgs& a) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype(
      "swiglu_mlp", {{&a.x, "x"}, {&a.w_gate, "w_gate"}, {&a.w_up, "w_up"}, {&a.w_down, "w_down"}, {&a.out, "out"}},
      st));
  const TensorView x = a.x.as_2d();  // [M, D], row stride x.stride[0]
  const int64_t M = x.dim(0), D = x.dim(1), F = a.w_gate.dim(0);
  if (M == 0 || D == 0) return Status::ok();
  ctx_->activate();
  CudaContext& ctx = *ctx_;

  // Workspace: g, u [M, F] fp32 and h [M, F] in storage dtype.
  WorkspaceLayout L;
  const size_t off_g = L.add(static_cast<size_t>(M * F) * sizeof(float));
  const size_t off_u = L.add(static_cast<size_t>(M * F) * sizeof(float));
  const size_t off_h = L.add(static_cast<size_t>(M * F) * dtype_size(st));
  void* ws = ctx.workspace_at_least(L.total());
  float* g = L.at<float>(ws, off_g);
  float* u = L.at<float>(ws, off_u);
  void* h = L.at<char>(ws, off_h);

  // Weights are inner-contiguous; their row strides are the GEMM's ldb (as the reference).
  BRAID_RETURN_IF_ERROR(gemm_nt(ctx, st, DType::f32, M, F, D, 1.0f, x.data, x.stride[0], a.w_gate.data,
                                a.w_gate.stride[0], 0.0f, g, F));
  BRAID_RETURN_IF_ERROR(
      gemm_nt(ctx, st, DType::f32, M, F, D, 1.0f, x.data, x.stride[0], a.w_up.data, a.w_up.stride[0], 0.0f, u, F));
  launch_silu_mul(ctx, g, u, h, st, M * F);
  // out = h · w_downᵀ   [M, D] = [M, F] · [D, F]ᵀ   (out contiguous)
  return gemm_nt(ctx, st, st, M, D, F, 1.0f, h, F, a.w_down.data, a.w_down.stride[0], 0.0f, a.out.data, D);
}

}  // namespace braid

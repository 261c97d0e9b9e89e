// backends/cuda/swiglu_mlp_backward.cu — backward of out = w_down·(silu(w_gate·x) ⊙ w_up·x)
// (core/contracts/swiglu_mlp.h; reference: backends/cpu/swiglu_mlp_backward.cpp), and the
// elementwise middle the MoE experts' backward shares.
//
//   a = x·w_gateᵀ, b = x·w_upᵀ (recomputed, fp32);  d_u = d_out·w_down (fp32)
//   d_a = d_u⊙b⊙silu'(a);  d_b = d_u⊙silu(a);  u = silu(a)⊙b        (storage dtype: GEMM operands)
//   d_w_down += d_outᵀ·u;  d_w_gate += d_aᵀ·x;  d_w_up += d_bᵀ·x   (fp32 outputs)
//   d_x = d_a·w_gate + d_b·w_up
#include "backends/cuda/cuda_context.cuh"
#include "backends/cuda/swiglu_backward.cuh"

namespace braid {

namespace {

// See launch_swiglu_backward (swiglu_backward.cuh).
template <class T>
__global__ void swiglu_backward_kernel(const float* a, const float* b, const float* du, int64_t n, T* d_a, T* d_b,
                                       T* u) {
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < n;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float av = a[q], bv = b[q], sig = 1.0f / (1.0f + expf(-av)), s = av * sig, d_u = du[q];
    d_a[q] = from_f32<T>(d_u * bv * sig * (1.0f + av * (1.0f - sig)));
    d_b[q] = from_f32<T>(d_u * s);
    u[q] = from_f32<T>(s * bv);
  }
}

}  // namespace

void launch_swiglu_backward(CudaContext& ctx, const float* a, const float* b, const float* du, int64_t n, DType t,
                            void* d_a, void* d_b, void* u) {
  if (n == 0) return;
  const unsigned grid = grid_for(ctx, n, 256);
  if (t == DType::bf16)
    swiglu_backward_kernel<<<grid, 256, 0, ctx.stream>>>(a, b, du, n, static_cast<__nv_bfloat16*>(d_a),
                                                         static_cast<__nv_bfloat16*>(d_b), static_cast<__nv_bfloat16*>(u));
  else
    swiglu_backward_kernel<<<grid, 256, 0, ctx.stream>>>(a, b, du, n, static_cast<float*>(d_a), static_cast<float*>(d_b),
                                                         static_cast<float*>(u));
  CUDA_CHECK_LAUNCH();
}

Status CudaBackend::swiglu_mlp_backward(const SwigluMlpBackwardArgs& a) {
  const SwigluMlpArgs& f = a.fwd;
  DType st, grad_st;
  BRAID_RETURN_IF_ERROR(storage_dtype("swiglu_mlp_backward", {{&f.x, "x"}, {&f.w_gate, "w_gate"}, {&f.w_up, "w_up"},
                                                              {&f.w_down, "w_down"}, {&a.d_out, "d_out"}, {&a.d_x, "d_x"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("swiglu_mlp_backward", {{&a.d_w_gate, "d_w_gate"}, {&a.d_w_up, "d_w_up"},
                                                              {&a.d_w_down, "d_w_down"}}, grad_st));
  const TensorView x = f.x.as_2d(), dout = a.d_out.as_2d(), dx = a.d_x.as_2d();  // [M, D]
  const int64_t M = x.dim(0), D = x.dim(1), F = f.w_gate.dim(0);
  if (M == 0 || D == 0) return Status::ok();
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  const size_t es = dtype_size(st), MF = static_cast<size_t>(M * F);
  WorkspaceLayout L;
  const size_t off_a = L.add(MF * sizeof(float)), off_b = L.add(MF * sizeof(float)), off_du = L.add(MF * sizeof(float));
  const size_t off_da = L.add(MF * es), off_db = L.add(MF * es), off_u = L.add(MF * es);
  void* ws = ctx.workspace_at_least(L.total());
  float *ga = L.at<float>(ws, off_a), *ub = L.at<float>(ws, off_b), *du = L.at<float>(ws, off_du);
  void *da = L.at<char>(ws, off_da), *db = L.at<char>(ws, off_db), *u = L.at<char>(ws, off_u);

  BRAID_RETURN_IF_ERROR(gemm_nt(ctx, st, DType::f32, M, F, D, 1.0f, x.data, x.stride[0], f.w_gate.data, D, 0.0f, ga, F));
  BRAID_RETURN_IF_ERROR(gemm_nt(ctx, st, DType::f32, M, F, D, 1.0f, x.data, x.stride[0], f.w_up.data, D, 0.0f, ub, F));
  BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, false, false, M, F, D, 1.0f, dout.data, dout.stride[0], f.w_down.data,
                             F, 0.0f, du, F));
  launch_swiglu_backward(ctx, ga, ub, du, M * F, st, da, db, u);
  BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, true, false, D, F, M, 1.0f, dout.data, dout.stride[0], u, F, 1.0f,
                             a.d_w_down.data, F));
  BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, true, false, F, D, M, 1.0f, da, F, x.data, x.stride[0], 1.0f,
                             a.d_w_gate.data, D));
  BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, true, false, F, D, M, 1.0f, db, F, x.data, x.stride[0], 1.0f,
                             a.d_w_up.data, D));
  BRAID_RETURN_IF_ERROR(gemm(ctx, st, st, false, false, M, D, F, 1.0f, da, F, f.w_gate.data, D, 0.0f, dx.data, dx.stride[0]));
  return gemm(ctx, st, st, false, false, M, D, F, 1.0f, db, F, f.w_up.data, D, 1.0f, dx.data, dx.stride[0]);
}

}  // namespace braid

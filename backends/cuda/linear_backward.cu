// backends/cuda/linear_backward.cu — backward of y = x·wᵀ + bias (core/contracts/linear.h;
// reference: backends/cpu/linear_backward.cpp):
//   d_x [M, K]  = d_y [M, N] · w [N, K]        (GEMM, beta 1 when accumulating; storage dtype)
//   d_w [N, K] += d_yᵀ [N, M] · x [M, K]        (GEMM with A transposed, beta 1; fp32 output)
//   d_bias [N] += Σ_m d_y[m, :]                 (launch_column_sum: fixed order)
#include "backends/cuda/cuda_context.cuh"

namespace braid {

Status CudaBackend::linear_backward(const LinearBackwardArgs& a) {
  DType st, grad_st;
  BRAID_RETURN_IF_ERROR(storage_dtype("linear_backward", {{&a.fwd.x, "x"}, {&a.fwd.w, "w"}, {&a.d_y, "d_y"}, {&a.d_x, "d_x"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("linear_backward", {{&a.d_w, "d_w"}, {&a.d_bias, "d_bias"}}, grad_st));
  const TensorView x = a.fwd.x.as_2d(), dy = a.d_y.as_2d();  // [M, K], [M, N]
  const int64_t M = x.dim(0), K = x.dim(1), N = a.fwd.w.dim(0);
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  if (a.d_x.defined()) {
    const TensorView dx = a.d_x.as_2d();
    BRAID_RETURN_IF_ERROR(gemm(ctx, st, st, false, false, M, K, N, 1.0f, dy.data, dy.stride[0], a.fwd.w.data, K,
                               a.accumulate_dx ? 1.0f : 0.0f, dx.data, dx.stride[0]));
  }
  if (a.d_w.defined())
    BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, true, false, N, K, M, 1.0f, dy.data, dy.stride[0], x.data,
                               x.stride[0], 1.0f, a.d_w.data, K));
  if (a.d_bias.defined()) {
    float* scratch = static_cast<float*>(ctx.workspace_at_least(sizeof(float) * column_sum_scratch_floats(M, N)));
    launch_column_sum(ctx, dy.data, st, M, N, dy.stride[0], a.d_bias.ptr<float>(), scratch);
  }
  return Status::ok();
}

}  // namespace braid

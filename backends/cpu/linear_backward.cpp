// backends/cpu/linear_backward.cpp — backward of y = x·wᵀ + bias (core/contracts/linear.h):
//   d_x [M, K]  = d_y [M, N] · w [N, K]          (gemm, beta 1 when accumulating)
//   d_w [N, K] += d_yᵀ [N, M] · x [M, K]          (gemm with A transposed, beta 1)
//   d_bias [N] += Σ_m d_y[m, :]
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"
#include "backends/cpu/gemm.h"

namespace braid {

Status CpuBackend::linear_backward(const LinearBackwardArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("linear_backward", {{&a.fwd.x, "x"}, {&a.fwd.w, "w"}, {&a.d_y, "d_y"}, {&a.d_x, "d_x"}}));
  const TensorView x = a.fwd.x.as_2d(), dy = a.d_y.as_2d();  // [M, K], [M, N]
  const int64_t M = x.dim(0), K = x.dim(1), N = a.fwd.w.dim(0);
  if (a.d_x.defined()) {
    const TensorView dx = a.d_x.as_2d();
    gemm(options().gemm, false, false, M, K, N, 1.0f, dy.ptr<float>(), dy.stride[0], a.fwd.w.ptr<float>(), K,
         a.accumulate_dx ? 1.0f : 0.0f, dx.ptr<float>(), dx.stride[0]);
  }
  if (a.d_w.defined())
    gemm(options().gemm, true, false, N, K, M, 1.0f, dy.ptr<float>(), dy.stride[0], x.ptr<float>(), x.stride[0], 1.0f,
         a.d_w.ptr<float>(), K);
  if (a.d_bias.defined()) {
    float* db = a.d_bias.ptr<float>();
    for (int64_t m = 0; m < M; ++m) {
      const float* r = dy.ptr<float>() + m * dy.stride[0];
      for (int64_t n = 0; n < N; ++n) db[n] += r[n];
    }
  }
  return Status::ok();
}

}  // namespace braid

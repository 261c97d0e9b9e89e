// backends/cpu/linear.cpp — linear layer, PyTorch convention (core/contracts/linear.h).
//
//   y[m, n] = Σ_k x[m, k] · w[n, k] + bias[n]          (torch.nn.functional.linear)
//
// One call of the GEMM helper on the [M, K] row view of x and the [N, K] weight — exactly the
// "NT" product gemm_nt computes — then the bias added row by row. x and y may be strided
// row views (e.g. a channel slice of a wider projection).
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::linear(const LinearArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("linear", {{&a.x, "x"}, {&a.w, "w"}, {&a.bias, "bias"}, {&a.y, "y"}}));
  const TensorView x = a.x.as_2d();  // [M, K], row stride x.stride[0]
  const TensorView y = a.y.as_2d();  // [M, N], row stride y.stride[0]
  const int64_t M = x.dim(0), K = x.dim(1), N = a.w.dim(0);
  // y = x · wᵀ   [M, N] = [M, K] · [N, K]ᵀ   (w is contiguous: ldb = K)
  gemm_nt(options().gemm, M, N, K, 1.0f, x.ptr<float>(), x.stride[0], a.w.ptr<float>(), K, 0.0f, y.ptr<float>(),
          y.stride[0]);
  if (a.bias.defined()) {
#pragma omp parallel for if (M * N >= cpu::kOmpMinWork)
    for (int64_t m = 0; m < M; ++m) {
      float* yr = y.ptr<float>() + m * y.stride[0];  // [N]
      for (int64_t n = 0; n < N; ++n) yr[n] += cpu::vec_or(a.bias, n, 0.0f);
    }
  }
  return Status::ok();
}

}  // namespace braid

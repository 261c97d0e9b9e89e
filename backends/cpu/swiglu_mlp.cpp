// backends/cpu/swiglu_mlp.cpp — SwiGLU MLP without biases (core/contracts/swiglu_mlp.h;
// hf-models-spec §1.5, HF JambaMLP / BambaMLP and each MoE expert).
//
//   g = x · w_gateᵀ,  u = x · w_upᵀ          [M, F]
//   out = (silu(g) ⊙ u) · w_downᵀ            [M, D]
//
// Three calls of gemm_nt on the [M, D] row view of x; the hidden [M, F] lives in scratch.
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::swiglu_mlp(const SwigluMlpArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32(
      "swiglu_mlp", {{&a.x, "x"}, {&a.w_gate, "w_gate"}, {&a.w_up, "w_up"}, {&a.w_down, "w_down"}, {&a.out, "out"}}));
  const TensorView x = a.x.as_2d();  // [M, D], row stride x.stride[0]
  const int64_t M = x.dim(0), D = x.dim(1), F = a.w_gate.dim(0);
  // Weights are inner-contiguous; their row strides are the GEMM's ldb.
  std::vector<float> gate(static_cast<size_t>(M * F)), up(static_cast<size_t>(M * F));  // [M, F]
  gemm_nt(options().gemm, M, F, D, 1.0f, x.ptr<float>(), x.stride[0], a.w_gate.ptr<float>(), a.w_gate.stride[0], 0.0f,
          gate.data(), F);
  gemm_nt(options().gemm, M, F, D, 1.0f, x.ptr<float>(), x.stride[0], a.w_up.ptr<float>(), a.w_up.stride[0], 0.0f,
          up.data(), F);
#pragma omp parallel for if (M * F >= cpu::kOmpMinWork)
  for (int64_t q = 0; q < M * F; ++q) gate[q] = cpu::silu(gate[q]) * up[q];  // hidden [M, F]
  // out = hidden · w_downᵀ   [M, D] = [M, F] · [D, F]ᵀ   (out contiguous)
  gemm_nt(options().gemm, M, D, F, 1.0f, gate.data(), F, a.w_down.ptr<float>(), a.w_down.stride[0], 0.0f,
          a.out.ptr<float>(), D);
  return Status::ok();
}

}  // namespace braid

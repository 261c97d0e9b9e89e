// backends/cpu/swiglu_mlp_backward.cpp — backward of out = w_down·(silu(w_gate·x) ⊙ w_up·x)
// (core/contracts/swiglu_mlp.h). The hidden activations a = x·w_gateᵀ and b = x·w_upᵀ are
// recomputed, then (all products through the GEMM helper):
//   u = silu(a)⊙b;  d_u = d_out·w_down;  d_a = d_u⊙b⊙silu'(a);  d_b = d_u⊙silu(a)
//   d_w_down += d_outᵀ·u;  d_w_gate += d_aᵀ·x;  d_w_up += d_bᵀ·x;  d_x = d_a·w_gate + d_b·w_up
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"
#include "backends/cpu/gemm.h"

namespace braid {

Status CpuBackend::swiglu_mlp_backward(const SwigluMlpBackwardArgs& a) {
  const SwigluMlpArgs& f = a.fwd;
  BRAID_RETURN_IF_ERROR(cpu::require_f32("swiglu_mlp_backward", {{&f.x, "x"}, {&f.w_gate, "w_gate"}, {&f.w_up, "w_up"},
                                                                 {&f.w_down, "w_down"}, {&a.d_out, "d_out"}, {&a.d_x, "d_x"}}));
  const TensorView x = f.x.as_2d(), dout = a.d_out.as_2d(), dx = a.d_x.as_2d();  // [M, D]
  const int64_t M = x.dim(0), D = x.dim(1), F = f.w_gate.dim(0);
  const GemmImpl gi = options().gemm;
  std::vector<float> ga(static_cast<size_t>(M * F)), ub(static_cast<size_t>(M * F)), du(static_cast<size_t>(M * F));
  gemm_nt(gi, M, F, D, 1.0f, x.ptr<float>(), x.stride[0], f.w_gate.ptr<float>(), D, 0.0f, ga.data(), F);  // a
  gemm_nt(gi, M, F, D, 1.0f, x.ptr<float>(), x.stride[0], f.w_up.ptr<float>(), D, 0.0f, ub.data(), F);    // b
  gemm(gi, false, false, M, F, D, 1.0f, dout.ptr<float>(), dout.stride[0], f.w_down.ptr<float>(), F, 0.0f, du.data(), F);
  // In place: ga ← d_a, ub ← d_b, du ← u (the hidden activation, for d_w_down).
#pragma omp parallel for if (M * F >= cpu::kOmpMinWork)
  for (int64_t i = 0; i < M * F; ++i) {
    const float av = ga[i], bv = ub[i], sig = 1.0f / (1.0f + std::exp(-av)), s = av * sig;
    const float d_u = du[i];
    ga[i] = d_u * bv * sig * (1.0f + av * (1.0f - sig));
    ub[i] = d_u * s;
    du[i] = s * bv;
  }
  gemm(gi, true, false, D, F, M, 1.0f, dout.ptr<float>(), dout.stride[0], du.data(), F, 1.0f, a.d_w_down.ptr<float>(), F);
  gemm(gi, true, false, F, D, M, 1.0f, ga.data(), F, x.ptr<float>(), x.stride[0], 1.0f, a.d_w_gate.ptr<float>(), D);
  gemm(gi, true, false, F, D, M, 1.0f, ub.data(), F, x.ptr<float>(), x.stride[0], 1.0f, a.d_w_up.ptr<float>(), D);
  gemm(gi, false, false, M, D, F, 1.0f, ga.data(), F, f.w_gate.ptr<float>(), D, 0.0f, dx.ptr<float>(), dx.stride[0]);
  gemm(gi, false, false, M, D, F, 1.0f, ub.data(), F, f.w_up.ptr<float>(), D, 1.0f, dx.ptr<float>(), dx.stride[0]);
  return Status::ok();
}

}  // namespace braid

// backends/cpu/rmsnorm.cpp — RMSNorm, plain and gated (core/contracts/rmsnorm.h).
//
// Plain (hf-models-spec §1.1, HF JambaRMSNorm / MambaRMSNorm):
//   out[m, j] = w[j] · ( x[m, j] · rsqrt(mean_{j' in group} x[m, j']² + eps) )
// Gated (§1.2, HF MambaRMSNormGated: the gate is applied BEFORE the norm):
//   v = x ⊙ silu(z);   out[m, j] = w[j] · ( v[m, j] · rsqrt(mean_{j' in group} v[m, j']² + eps) )
// Groups are consecutive runs of `group_size` channels; group_size 0 means one group of all D
// (HF). group_size = Di / G is mamba_ssm's per-group norm.
// The multiplication order (normalise, then weight) is HF's. out may alias x: within a group
// every element is read (sum of squares) before any element of it is written.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::rmsnorm(const RmsNormArgs& a) {
  BRAID_RETURN_IF_ERROR(
      cpu::require_f32("rmsnorm", {{&a.x, "x"}, {&a.w, "w"}, {&a.z, "z"}, {&a.out, "out"}}));
  const TensorView x = a.x.as_2d();                              // [M, D]
  const TensorView out = a.out.as_2d();                          // [M, D]
  const TensorView z = a.z.defined() ? a.z.as_2d() : TensorView();  // [M, D] or absent
  const int64_t M = x.dim(0), D = x.dim(1);
  const int64_t gs = a.group_size == 0 ? D : a.group_size;  // channels per group
  const bool gated = z.defined();

#pragma omp parallel for if (M * D >= cpu::kOmpMinWork)
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x.ptr<float>() + m * x.stride[0];                  // [D]
    const float* zr = gated ? z.ptr<float>() + m * z.stride[0] : nullptr;  // [D]
    float* orow = out.ptr<float>() + m * out.stride[0];                  // [D]
    // The normalised quantity: x itself, or x gated by silu(z).
    auto v = [&](int64_t j) { return gated ? xr[j] * cpu::silu(zr[j]) : xr[j]; };
    for (int64_t g0 = 0; g0 < D; g0 += gs) {
      float ss = 0.0f;  // Σ v² over the group, fp32
      for (int64_t j = g0; j < g0 + gs; ++j) ss += v(j) * v(j);
      const float r = 1.0f / std::sqrt(ss / static_cast<float>(gs) + a.eps);  // rsqrt(mean + eps)
      for (int64_t j = g0; j < g0 + gs; ++j) orow[j] = cpu::vec_or(a.w, j, 1.0f) * (v(j) * r);
    }
  }
  return Status::ok();
}

}  // namespace braid

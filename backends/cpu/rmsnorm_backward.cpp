// backends/cpu/rmsnorm_backward.cpp — backward of plain and gated RMSNorm (core/contracts/rmsnorm.h).
//
// Per row and group of gs channels, with v = x (plain) or x ⊙ silu(z) (gated), r = rsqrt(mean(v²) + eps),
// out = w ⊙ v · r and g = d_out:
//   d_v[j] = r · w[j]·g[j] − v[j] · r³ · (1/gs) · Σ_i w[i]·g[i]·v[i]
//   d_x = d_v (plain) or d_v ⊙ silu(z);  d_z = d_v ⊙ x ⊙ silu'(z),  silu'(z) = σ(z)·(1 + z·(1 − σ(z)))
//   d_w[j] += Σ_rows g[j] · v[j] · r
// Pass 1 (parallel over rows) writes d_x, d_z and keeps r per (row, group); pass 2 (parallel
// over channels) accumulates d_w, so no two threads add into one element.
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::rmsnorm_backward(const RmsNormBackwardArgs& a) {
  const RmsNormArgs& f = a.fwd;
  BRAID_RETURN_IF_ERROR(cpu::require_f32("rmsnorm_backward", {{&f.x, "x"}, {&f.w, "w"}, {&f.z, "z"}, {&a.d_out, "d_out"},
                                                              {&a.d_x, "d_x"}, {&a.d_z, "d_z"}}));
  const TensorView x = f.x.as_2d(), g = a.d_out.as_2d();  // [M, D]
  const TensorView z = f.z.defined() ? f.z.as_2d() : TensorView();
  const int64_t M = x.dim(0), D = x.dim(1), gs = f.group_size == 0 ? D : f.group_size, groups = D / gs;
  const bool gated = z.defined();
  auto xr = [&](int64_t m) { return x.ptr<float>() + m * x.stride[0]; };
  auto zr = [&](int64_t m) { return gated ? z.ptr<float>() + m * z.stride[0] : nullptr; };
  auto gr = [&](int64_t m) { return g.ptr<float>() + m * g.stride[0]; };
  auto v_of = [&](const float* xm, const float* zm, int64_t j) { return gated ? xm[j] * cpu::silu(zm[j]) : xm[j]; };
  std::vector<float> rs(static_cast<size_t>(M * groups));  // r per (row, group)

#pragma omp parallel for if (M * D >= cpu::kOmpMinWork)
  for (int64_t m = 0; m < M; ++m) {
    const float *xm = xr(m), *zm = zr(m), *gm = gr(m);
    for (int64_t q = 0; q < groups; ++q) {
      const int64_t j0 = q * gs;
      float ss = 0.0f, dot = 0.0f;  // Σ v², Σ w·g·v over the group
      for (int64_t j = j0; j < j0 + gs; ++j) {
        const float v = v_of(xm, zm, j);
        ss += v * v;
        dot += cpu::vec_or(f.w, j, 1.0f) * gm[j] * v;
      }
      const float r = 1.0f / std::sqrt(ss / static_cast<float>(gs) + f.eps);
      rs[m * groups + q] = r;
      const float coef = r * r * r * dot / static_cast<float>(gs);
      for (int64_t j = j0; j < j0 + gs; ++j) {
        const float v = v_of(xm, zm, j);
        const float dv = r * cpu::vec_or(f.w, j, 1.0f) * gm[j] - v * coef;
        if (!gated) {
          if (a.d_x.defined()) cpu::at(a.d_x.as_2d(), {m, j})[0] = dv;
          continue;
        }
        const float sig = 1.0f / (1.0f + std::exp(-zm[j]));
        if (a.d_x.defined()) cpu::at(a.d_x.as_2d(), {m, j})[0] = dv * zm[j] * sig;
        if (a.d_z.defined()) cpu::at(a.d_z.as_2d(), {m, j})[0] = dv * xm[j] * sig * (1.0f + zm[j] * (1.0f - sig));
      }
    }
  }
  if (a.d_w.defined()) {
    float* dw = a.d_w.ptr<float>();
#pragma omp parallel for if (M * D >= cpu::kOmpMinWork)
    for (int64_t j = 0; j < D; ++j) {
      float acc = 0.0f;
      for (int64_t m = 0; m < M; ++m) acc += gr(m)[j] * v_of(xr(m), zr(m), j) * rs[m * groups + j / gs];
      dw[j] += acc;
    }
  }
  return Status::ok();
}

}  // namespace braid
